"""Bad input: a clear message, exit code 125, and nothing left behind."""
from conftest import wait_until


def test_unknown_network_mode(hops):
    r = hops("run", "--network", "bogus", "--", "/bin/true")
    assert r.returncode == 125
    assert "bogus" in r.stderr.decode() and "disabled" in r.stderr.decode()


def test_network_options_need_their_mode(hops):
    r = hops("run", "--allow-net", "10.0.0.0/8", "--", "/bin/true")
    assert r.returncode == 125
    assert b"needs network" in r.stderr
    r = hops("run", "--network", "outbound", "--allow-net", "10.0.0.0/33", "--", "/bin/true")
    assert r.returncode == 125 and b"prefix length" in r.stderr
    r = hops("run", "--network", "full", "-p", "80", "--", "/bin/true")
    assert r.returncode == 125 and b"HOSTPORT:SANDBOXPORT" in r.stderr


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
