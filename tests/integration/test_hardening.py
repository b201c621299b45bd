"""The daemon under hostile clients: who may connect, how many sandboxes, how big a
request, and floods of input that must not exhaust it."""
import os
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import BIN, Hops, hops_init_pids, wait_until

NOBODY = 65534
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def speaks_to(path, uid, groups=()):
    """Connects as `uid` (with `groups`) and says whether the daemon answers the
    HTTP/2 preface with its SETTINGS (True) or closes the connection (False)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.setgroups(list(groups))
            os.setgid(groups[0] if groups else NOBODY)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect(str(path))
            except PermissionError:
                os.write(write, b"E")
                os._exit(0)
            try:
                # The daemon may close a refused connection before we even speak.
                s.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
                data = s.recv(64)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                data = b""
            os.write(write, b"Y" if data else b"N")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    return {b"Y": True, b"N": False, b"E": "no-access"}[answer]


def test_the_socket_refuses_other_users_even_when_they_can_reach_it(own_daemon):
    h = own_daemon()
    sock = h.home / "hops.sock"
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    assert speaks_to(sock, 0) is True
    # The file modes alone keep others out...
    assert speaks_to(sock, NOBODY) == "no-access"
    # ...and if someone loosens them, the peer check still does.
    os.chmod(h.home, 0o755)
    os.chmod(sock, 0o777)
    try:
        assert speaks_to(sock, NOBODY) is False
        assert b"refused a connection" in (h.home / "hopsd.log").read_bytes()
    finally:
        os.chmod(sock, 0o600)
        os.chmod(h.home, 0o700)


def test_a_socket_group_lets_its_members_in_and_no_one_else(own_daemon):
    group = 47_913  # a group id no one on this machine has
    h = own_daemon("--socket-group", str(group))
    sock = h.home / "hops.sock"
    assert sock.stat().st_gid == group and oct(sock.stat().st_mode & 0o777) == "0o660"
    assert h.home.stat().st_gid == group and oct(h.home.stat().st_mode & 0o777) == "0o710"
    assert speaks_to(sock, NOBODY, groups=(group,)) is True
    assert speaks_to(sock, NOBODY, groups=(NOBODY,)) == "no-access"


def test_an_unknown_socket_group_is_a_clear_error(tmp_path):
    r = subprocess.run([str(BIN / "hopsd"), "--foreground", "--home", str(tmp_path / "h"), "--socket-group", "no-such-group-here"],
                       capture_output=True, timeout=30)
    assert r.returncode == 125 and b"no group 'no-such-group-here'" in r.stderr


def test_a_flood_of_create_calls_meets_the_sandbox_limit(own_daemon):
    h = own_daemon("--max-sandboxes", "4")

    def create(_):
        return h("create", "--workspace-mode", "ro", str(h.home.parent), timeout=120)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(create, range(120)))
    created = [r for r in results if r.returncode == 0]
    refused = [r for r in results if r.returncode != 0]
    assert len(created) == 4
    assert all(r.returncode == 125 and b"too many sandboxes" in r.stderr and b"the limit is 4" in r.stderr
               for r in refused), {r.stderr for r in refused}
    # The daemon is fine, and a slot freed is a slot usable.
    assert len(h("ps", "-q", check=True).stdout.split()) == 4
    h("rm", "-f", created[0].stdout.decode().strip(), check=True)
    assert h("create", "--workspace-mode", "ro", str(h.home.parent)).returncode == 0


def test_a_command_too_long_is_refused(hops):
    arguments = ["x" * 120_000] * 10
    r = hops("run", "--", "/bin/true", *arguments)
    assert r.returncode == 125 and b"the command is longer than" in r.stderr


def test_stdin_that_is_never_read_does_not_fill_the_daemon(hops, tmp_path):
    hops("system", "start", check=True)
    pid = hops.daemon_pid()

    def resident():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    before = resident()
    # 512 MiB offered to a command that never reads: back-pressure must hold it
    # in the client, not in the daemon.
    feeder = subprocess.Popen(["head", "-c", str(512 << 20), "/dev/zero"], stdout=subprocess.PIPE)
    run = subprocess.Popen([str(BIN / "hops"), "run", "--", "/bin/sleep", "3"], stdin=feeder.stdout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=hops.env)
    feeder.stdout.close()
    peak = before
    while run.poll() is None:
        peak = max(peak, resident())
        time.sleep(0.05)
    feeder.kill()
    feeder.wait()
    assert run.returncode == 0, run.stderr.read()
    assert peak - before < 64 << 20, f"hopsd grew by {(peak - before) >> 20} MiB"
