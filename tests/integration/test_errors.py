"""Bad input: a clear message, exit code 125, and nothing left behind."""
from conftest import wait_until


def test_unknown_network_mode(hops):
    r = hops("run", "--network", "bogus", "--", "/bin/true")
    assert r.returncode == 125
    assert "bogus" in r.stderr.decode() and "disabled" in r.stderr.decode()


def test_unimplemented_network_mode_is_refused_not_faked(hops):
    r = hops("run", "--network", "outbound", "--", "/bin/true")
    assert r.returncode == 125
    assert "outbound" in r.stderr.decode()


def test_missing_workspace(hops):
    r = hops("run", "/no/such/dir", "--", "/bin/true")
    assert r.returncode == 125
    assert "/no/such/dir" in r.stderr.decode()


def test_unknown_rootfs(hops):
    r = hops("run", "--rootfs", "nosuch", "--", "/bin/true")
    assert r.returncode == 125
    assert "nosuch" in r.stderr.decode() and "hops rootfs list" in r.stderr.decode()


def test_missing_command(hops):
    r = hops("run", "/tmp")
    assert r.returncode != 0
    assert "after --" in r.stderr.decode()


def test_bad_env(hops):
    r = hops("run", "-e", "NOEQUALS", "--", "/bin/true")
    assert r.returncode == 125
    assert "NAME=VALUE" in r.stderr.decode()


def test_missing_working_directory(hops):
    r = hops("run", "-w", "/nope", "--", "/bin/true")
    assert r.returncode == 125
    assert "/nope" in r.stderr.decode()
    assert wait_until(lambda: hops.sandboxes() == [])
