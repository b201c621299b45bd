"""Direct runs: `hops run` without a terminal passes its own stdin, stdout and
stderr to the daemon on $HOPS_HOME/run-2.sock, and the sandbox's command uses them
as they are. Also the daemon's side of that protocol under a hostile client:
what it refuses to hand a sandbox, and who may connect at all."""
import array
import hashlib
import json
import os
import socket
import struct
import subprocess

from conftest import BIN, wait_until


def direct_runs(hops):
    """How many runs the daemon has logged as direct so far."""
    log = hops.home / "hopsd.log"
    return log.read_text().count("direct=true") if log.exists() else 0


def test_a_piped_run_goes_direct_and_its_command_holds_our_very_pipe(hops):
    hops("system", "start", check=True)
    before = direct_runs(hops)
    read, write = os.pipe()
    try:
        p = subprocess.run([str(BIN / "hops"), "run", "--", "/bin/sh", "-c", "readlink /proc/self/fd/1"],
                           stdin=subprocess.DEVNULL, stdout=write, stderr=subprocess.PIPE, env=hops.env, timeout=60)
        os.close(write)
        write = -1
        out = os.read(read, 4096)
        assert p.returncode == 0, p.stderr
        # The command's stdout is the pipe we made, not a relay of the daemon's.
        assert out.strip() == f"pipe:[{os.fstat(read).st_ino}]".encode()
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
    assert direct_runs(hops) == before + 1


def test_direct_runs_carry_streams_exit_codes_and_files(hops, tmp_path):
    data = os.urandom(8 << 20)
    r = hops("run", "--", "/bin/sh", "-c", "sha256sum; echo done >&2; exit 3", input=data)
    assert r.returncode == 3
    assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()
    assert r.stderr == b"done\n"
    # stdout redirected to a file of ours.
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        p = subprocess.run([str(BIN / "hops"), "run", "--", "/bin/echo", "to a file"], stdin=subprocess.DEVNULL,
                           stdout=f, stderr=subprocess.PIPE, env=hops.env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == b"to a file\n"
    # A closed stdin reads as empty.
    p = subprocess.run(f"exec 0<&-; {BIN / 'hops'} run -- /bin/cat; echo rc=$?", shell=True, capture_output=True,
                       env=hops.env, timeout=60)
    assert p.stdout == b"rc=0\n", p.stderr


def test_a_connected_socket_is_a_stream_the_command_may_use(hops):
    ours, theirs = socket.socketpair()
    try:
        p = subprocess.run([str(BIN / "hops"), "run", "--", "/bin/echo", "over a socket"], stdin=subprocess.DEVNULL,
                           stdout=theirs.fileno(), stderr=subprocess.PIPE, env=hops.env, timeout=60)
        theirs.close()
        assert p.returncode == 0, p.stderr
        ours.settimeout(10)
        assert ours.recv(4096) == b"over a socket\n"
    finally:
        ours.close()


def test_errors_of_a_direct_run_read_as_before(hops):
    r = hops("run", "--", "/no/such/program")
    assert r.returncode == 127 and b"/no/such/program" in r.stderr
    r = hops("run", "--name", "bad name!", "--", "/bin/true")
    assert r.returncode == 125 and r.stderr.startswith(b"hops: ")


# -- the protocol, spoken by hand -----------------------------------------------


def frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


def request(*argv: str, **flags) -> bytes:
    """DirectRunInput.request: the flags of `hops run /tmp -- argv`, plain or with `flags`."""
    settings = {"allowNet": [], "publish": [], "environment": [], "keep": False, **flags}
    return json.dumps({"request": {"_0": {"settings": settings, "workspace": "/tmp", "command": list(argv)}}}).encode()


def exchange(hops, payload: bytes, fds):
    """Sends one frame with `fds` and returns what the daemon answered."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(hops.home / "run-2.sock"))
    try:
        s.sendmsg([frame(payload)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return answer
            answer += chunk
    finally:
        s.close()


def test_the_daemon_refuses_streams_that_lead_out_of_the_sandbox(hops, tmp_path):
    hops("system", "start", check=True)
    null = os.open("/dev/null", os.O_RDWR)
    directory = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    path_only = os.open(str(tmp_path), os.O_PATH)
    master, slave = os.openpty()
    try:
        # A directory: fchdir/openat("..") on it would lead out of the root.
        answer = exchange(hops, request("/bin/true"), [null, directory, null])
        assert b"stdout cannot be given to a sandbox: it is a directory" in answer
        answer = exchange(hops, request("/bin/true"), [path_only, null, null])
        assert b"stdin cannot be given to a sandbox" in answer
        # A terminal: TIOCSTI would type into the user's shell.
        answer = exchange(hops, request("/bin/true"), [null, null, slave])
        assert b"stderr cannot be given to a sandbox: it is a terminal" in answer
        # A socket that is not a connected stream: it would reach the host's network.
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(str(tmp_path / "listening.sock"))
        listening.listen(1)
        unconnected = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            answer = exchange(hops, request("/bin/true"), [udp.fileno(), null, null])
            assert b"stdin cannot be given to a sandbox: it is a socket that is not a stream" in answer
            answer = exchange(hops, request("/bin/true"), [null, listening.fileno(), null])
            assert b"stdout cannot be given to a sandbox: it is a listening socket" in answer
            answer = exchange(hops, request("/bin/true"), [null, null, unconnected.fileno()])
            assert b"stderr cannot be given to a sandbox: it is a socket that is not connected" in answer
        finally:
            udp.close()
            listening.close()
            unconnected.close()
        # Not three streams (four, say: none of them is kept), or no request first.
        answer = exchange(hops, request("/bin/true"), [null, null, null, null])
        assert b"exactly its stdin, stdout and stderr" in answer
        answer = exchange(hops, request("/bin/true"), [null, null])
        assert b"exactly its stdin, stdout and stderr" in answer
        answer = exchange(hops, b'{"signal": {"_0": 2}}', [null, null, null])
        assert b"must be its request" in answer
        answer = exchange(hops, b"not json", [null, null, null])
        assert b"must be its request" in answer
        # And the daemon is fine afterwards, with nothing left behind.
        assert hops("run", "--", "/bin/true").returncode == 0
    finally:
        for fd in (null, directory, path_only, master, slave):
            os.close(fd)


def test_the_daemon_builds_the_policy_from_the_flags_it_is_sent(hops):
    hops("system", "start", check=True)
    null = os.open("/dev/null", os.O_RDWR)
    read, write = os.pipe()
    try:
        script = "hostname; echo $FROM"
        answer = exchange(hops, request("/bin/sh", "-c", script, hostname="handmade", environment=["FROM=flags"]),
                          [null, write, null])
        os.close(write)
        write = -1
        assert b'"exit"' in answer and b'"code":0' in answer, answer
        assert os.read(read, 4096) == b"handmade\nflags\n"
        # Flags are checked there as they are in the CLI.
        answer = exchange(hops, request("/bin/true", memory="lots"), [null, null, null])
        assert b"error" in answer and b"lots" in answer, answer
        # A policy file is read by the client, never by the daemon: a request
        # that names one without its text is refused.
        answer = exchange(hops, request("/bin/true", policyFile="/etc/shadow"), [null, null, null])
        assert b"did not come with the request" in answer, answer
    finally:
        for fd in (null, read, write):
            if fd >= 0:
                os.close(fd)


def test_only_the_daemons_user_may_connect_to_the_direct_socket(hops):
    hops("system", "start", check=True)
    sock = hops.home / "run-2.sock"
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    os.chmod(hops.home, 0o755)
    os.chmod(sock, 0o777)
    try:
        r_fd, w_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r_fd)
                os.setgid(65534)
                os.setuid(65534)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(str(sock))
                null = os.open("/dev/null", os.O_RDWR)
                try:
                    s.sendmsg([frame(request("/bin/true"))],
                              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [null] * 3))])
                    answer = s.recv(65536)
                except (BrokenPipeError, ConnectionResetError):
                    answer = b""  # closed before or while we spoke
                os.write(w_fd, b"closed" if answer == b"" else b"answered")
            except Exception as error:  # noqa: BLE001 - the child reports, never raises
                os.write(w_fd, f"error {error}".encode())
            finally:
                os._exit(0)
        os.close(w_fd)
        os.waitpid(pid, 0)
        verdict = os.read(r_fd, 4096)
        os.close(r_fd)
        assert verdict == b"closed", verdict
        assert wait_until(lambda: "refused a direct run" in (hops.home / "hopsd.log").read_text())
    finally:
        os.chmod(sock, 0o600)
        os.chmod(hops.home, 0o700)
