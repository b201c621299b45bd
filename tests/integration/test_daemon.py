"""hopsd's life: status, start, stop, restart, auto-start, crash recovery."""
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

from conftest import BIN, read_line, wait_until, hops_init_pids


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_status_reports_the_running_daemon(hops):
    hops("system", "start", check=True)
    r = hops("system", "status")
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "Hops daemon: running" in out
    assert f"PID: {hops.daemon_pid()}" in out
    for key in ("Uptime:", "Started:", "Sandboxes: 0 running", "Version:"):
        assert key in out


def test_socket_is_owner_only_in_an_owner_only_directory(hops):
    hops("system", "start", check=True)
    assert stat.S_IMODE(os.stat(hops.home).st_mode) == 0o700
    sock = os.stat(hops.home / "hops.sock")
    assert stat.S_ISSOCK(sock.st_mode)
    assert stat.S_IMODE(sock.st_mode) == 0o600


def test_stop_then_status_then_start(hops):
    hops("system", "start", check=True)
    pid = hops.daemon_pid()
    r = hops("system", "stop")
    assert r.returncode == 0 and b"stopped" in r.stdout
    assert wait_until(lambda: not pid_alive(pid))
    assert not (hops.home / "hops.sock").exists()
    assert not (hops.home / "hopsd.pid").exists()
    r = hops("system", "status")
    assert r.returncode == 1 and b"not running" in r.stdout
    r = hops("system", "start")
    assert r.returncode == 0 and b"started" in r.stdout
    assert hops("system", "status").returncode == 0


def test_restart_gives_a_new_daemon(hops):
    hops("system", "start", check=True)
    before = hops.daemon_pid()
    r = hops("system", "restart")
    assert r.returncode == 0, r.stderr
    after = hops.daemon_pid()
    assert after and after != before
    assert not pid_alive(before)


def test_start_twice_is_refused_politely(hops):
    hops("system", "start", check=True)
    r = hops("system", "start")
    assert r.returncode == 0 and b"already running" in r.stdout
    # A second daemon started by hand refuses to run beside the first.
    from conftest import BIN
    import subprocess

    d = subprocess.run([str(BIN / "hopsd"), "--foreground", "--home", str(hops.home)],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert d.returncode != 0
    assert b"already running" in d.stderr


def test_run_auto_starts_the_daemon(hops):
    hops("system", "stop")
    assert hops("system", "status").returncode == 1
    r = hops("run", "--", "/bin/echo", "auto")
    assert r.returncode == 0 and r.stdout == b"auto\n"
    assert hops("system", "status").returncode == 0


def test_no_auto_start_says_so(hops):
    hops("system", "stop")
    r = hops("run", "--no-auto-start", "--", "/bin/true")
    assert r.returncode == 125
    assert b"not running" in r.stderr and b"hops system start" in r.stderr
    assert hops("system", "status").returncode == 1


def test_a_daemon_that_cannot_start_says_why(hops, tmp_path):
    """A home the daemon cannot make (its parent is missing): `hops` shows the
    daemon's own reason, which it gave before it had a log to write to, and
    nothing is made."""
    home = tmp_path / "missing" / "home"
    env = dict(hops.env, HOPS_HOME=str(home))
    r = subprocess.run([str(BIN / "hops"), "run", "--", "/bin/true"], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 125, r.stderr
    assert f"hopsd exited during start-up: cannot create {home}".encode() in r.stderr, r.stderr
    assert b"check that its parent exists" in r.stderr, r.stderr
    assert not (tmp_path / "missing").exists()
    # A reason found once the log is open reaches `hops` too, and is logged once.
    (tmp_path / "missing").mkdir()
    home.mkdir()
    r = subprocess.run([str(BIN / "hops"), "run", "--", "/bin/true"], env=dict(env, HOPS_MAX_SANDBOXES="0"),
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 125, r.stderr
    assert b"hopsd exited during start-up: --max-sandboxes must be at least 1" in r.stderr, r.stderr
    assert (home / "hopsd.log").read_text().count("--max-sandboxes must be at least 1") == 1


def test_stop_ends_running_sandboxes(hops):
    hops("system", "start", check=True)
    p = hops.popen("run", "--", "/bin/sh", "-c", "echo ready; exec sleep 100")
    assert read_line(p.stdout) == b"ready\n"
    assert hops("system", "stop").returncode == 0
    code = p.wait(timeout=30)
    assert code == 137
    assert b"daemon is stopping" in p.stderr.read()
    assert wait_until(lambda: not hops_init_pids())
    assert hops.sandboxes() == []


def test_sigterm_stops_the_daemon_cleanly(hops):
    hops("system", "start", check=True)
    pid = hops.daemon_pid()
    os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(pid))
    assert not (hops.home / "hops.sock").exists()


def test_daemon_killed_mid_run_next_daemon_cleans_up(hops):
    hops("system", "start", check=True)
    p = hops.popen("run", "--", "/bin/sh", "-c", "echo ready; exec sleep 100")
    assert read_line(p.stdout) == b"ready\n"
    [sandbox_id] = hops.sandboxes()
    os.kill(hops.daemon_pid(), signal.SIGKILL)
    # The client learns its daemon is gone and says so.
    assert p.wait(timeout=30) == 125
    assert b"hopsd" in p.stderr.read()
    # hops-init notices its daemon is gone and ends the sandbox by itself.
    assert wait_until(lambda: not hops_init_pids())
    # What is left of the run is its cgroup, marked as this home's (it has
    # no directory), and of the warm pool theirs.
    assert sandbox_id in hops.marked_cgroups()
    # The stale pid file and socket do not stop the next daemon, which removes
    # what the dead one left.
    assert (hops.home / "hopsd.pid").exists()
    r = hops("system", "start")
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: hops.sandboxes() == [])
    assert sandbox_id not in hops.marked_cgroups()
    assert hops("run", "--", "/bin/true").returncode == 0


def test_daemon_log_file_records_runs(hops):
    hops("run", "--", "/bin/true", check=True)
    log = (hops.home / "hopsd.log").read_text()
    assert "sandbox started" in log and "sandbox ended" in log


def test_a_removed_sandboxes_directory_is_made_again(own_daemon):
    # No pool, so nothing of the daemon's is in the directory when it goes.
    h = own_daemon(env={"HOPS_WARM_SANDBOXES": "0"})
    assert h("run", "--", "/bin/true").returncode == 0
    # (The run leaves the daemon's list just after its exit is told.)
    assert wait_until(lambda: h.sandboxes() == [])
    shutil.rmtree(h.home / "sandboxes")
    r = h("run", "--", "/bin/echo", "again")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"again\n", b"")
    # A plain run needs no directory; a kept one does, and gets it.
    r = h("run", "--keep", "--", "/bin/echo", "kept")
    assert (r.returncode, r.stdout) == (0, b"kept\n"), r.stderr
    assert (h.home / "sandboxes").is_dir() and len(h.sandboxes()) == 1
