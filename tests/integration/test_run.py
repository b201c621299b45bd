"""`hops run`: output, streams, exit codes, stdin, PATH, workspace, --verbose, --keep."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import read_line, wait_until, hops_init_pids


def test_hello_from_hops(hops):
    r = hops("run", "/tmp", "--", "/bin/echo", "Hello from Hops!")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello from Hops!\n"
    assert r.stderr == b""


def test_workspace_is_the_given_directory(hops, workspace):
    (workspace / "marker.txt").write_text("from the host\n")
    r = hops("run", str(workspace), "--", "/bin/sh", "-c", "uname -s; pwd; ls; cat marker.txt; echo made > new.txt")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == ["Linux", "/workspace", "marker.txt", "from the host"]
    # The workspace is bind-mounted read-write: the file lands on the host.
    assert (workspace / "new.txt").read_text() == "made\n"


def test_default_workspace_is_the_current_directory(hops, workspace):
    (workspace / "here.txt").write_text("x")
    r = hops("run", "--", "/bin/ls", cwd=workspace)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"here.txt\n"


def test_stdout_and_stderr_apart_and_exit_code(hops):
    r = hops("run", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"


def test_stdin_reaches_the_command_and_eof_too(hops):
    r = hops("run", "--", "/bin/cat", input=b"hi\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"
    # cat ends only on end-of-file, so 'done' proves EOF arrived.
    r = hops("run", "--", "/bin/sh", "-c", "cat; echo done", input=b"line1\nline2\n")
    assert r.stdout == b"line1\nline2\ndone\n"


def test_large_stdin_round_trips(hops):
    data = os.urandom(3 * 1024 * 1024)
    r = hops("run", "--", "/bin/cat", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_output_streams_before_the_command_ends(hops):
    p = hops.popen("run", "--", "/bin/sh", "-c", "echo a; sleep 2; echo b")
    try:
        assert read_line(p.stdout) == b"a\n"
        # 'a' arrived while the command still sleeps: nothing was buffered to the end.
        assert p.poll() is None
        assert read_line(p.stdout) == b"b\n"
        assert p.wait(timeout=30) == 0
    finally:
        p.kill()
        p.wait()


def test_bare_names_resolve_through_path_inside(hops):
    r = hops("run", "--", "echo", "hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"


def test_command_not_found_is_127_and_names_it(hops):
    r = hops("run", "--", "no-such-command")
    assert r.returncode == 127
    err = r.stderr.decode()
    assert "no-such-command" in err and "PATH=" in err


def test_not_executable_is_126(hops, workspace):
    (workspace / "data.txt").write_text("not a program")
    r = hops("run", str(workspace), "--", "/workspace/data.txt")
    assert r.returncode == 126
    assert "data.txt" in r.stderr.decode()


def test_missing_absolute_path_is_127(hops):
    r = hops("run", "--", "/bin/no-such-binary")
    assert r.returncode == 127
    assert "/bin/no-such-binary" in r.stderr.decode()


def test_signal_exit_code_is_128_plus_n(hops):
    r = hops("run", "--", "/bin/sh", "-c", "kill -TERM $$")
    assert r.returncode == 143
    r = hops("run", "--", "/bin/sh", "-c", "kill -KILL $$")
    assert r.returncode == 137


def _start_sleeper(hops, *flags):
    p = hops.popen("run", *flags, "--", "/bin/sh", "-c", "echo ready; exec sleep 100")
    assert read_line(p.stdout) == b"ready\n"
    return p


# Plain: the `hops` front runs it. --verbose: the front hands it to hops-cli,
# a process with threads of its own, which catches signals another way.
@pytest.mark.parametrize("flags", [(), ("--verbose",)], ids=["front", "hops-cli"])
def test_ctrl_c_reaches_the_sandbox(hops, flags):
    p = _start_sleeper(hops, *flags)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == 130


@pytest.mark.parametrize("flags", [(), ("--verbose",)], ids=["front", "hops-cli"])
def test_sigterm_reaches_the_sandbox(hops, flags):
    p = _start_sleeper(hops, *flags)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 143


def test_verbose_says_root_command_network_then_runs(hops):
    r = hops("run", "--verbose", "/tmp", "--", "/bin/echo", "test")
    assert r.returncode == 0
    assert r.stdout == b"test\n"
    err = r.stderr.decode()
    for expected in ("Root: /tmp", "Command: /bin/echo test", "Network: disabled"):
        assert expected in err


def test_keep_keeps_the_files_and_says_where(hops):
    r = hops("run", "--keep", "--", "/bin/touch", "/x")
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "kept at " in err
    kept = Path(err.split("kept at ")[1].split()[0])
    try:
        assert (kept / "upper" / "x").exists()
        assert kept.parent == hops.home / "sandboxes"
    finally:
        hops("rm", kept.name, check=True)
    assert not kept.exists()


def test_without_keep_nothing_of_the_sandbox_stays(hops):
    r = hops("run", "--", "/bin/touch", "/x")
    assert r.returncode == 0
    assert wait_until(lambda: hops.sandboxes() == [])


def test_writes_to_the_rootfs_do_not_reach_the_image(hops):
    r = hops("run", "--", "/bin/sh", "-c", "echo changed > /etc/hostname")
    assert r.returncode == 0, r.stderr
    r = hops("run", "--", "/bin/cat", "/etc/hostname")
    assert r.stdout == b"hops\n"


def test_two_runs_at_once(hops):
    a = hops.popen("run", "--", "/bin/sh", "-c", "for i in 1 2 3; do echo A$i; sleep 0.3; done")
    b = hops.popen("run", "--", "/bin/sh", "-c", "for i in 1 2 3; do echo B$i; sleep 0.3; done; exit 5")
    out_a, _ = a.communicate(timeout=60)
    out_b, _ = b.communicate(timeout=60)
    assert (a.returncode, out_a) == (0, b"A1\nA2\nA3\n")
    assert (b.returncode, out_b) == (5, b"B1\nB2\nB3\n")


def test_client_killed_mid_run_takes_its_sandbox_down(hops):
    p = _start_sleeper(hops)
    assert hops_init_pids(), "the sandbox should be running"
    p.kill()
    p.wait()
    assert wait_until(lambda: not hops_init_pids()), "the sandbox outlived its client"
    assert wait_until(lambda: hops.sandboxes() == [])


def test_environment_is_sane_and_does_not_leak_the_host(hops):
    env = dict(hops.env, SECRET_TOKEN="do-not-leak", TERM="xterm-test")
    r = subprocess.run(
        [hops_binary(), "run", "--", "/usr/bin/env"],
        capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60,
    )
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in out
    assert "HOME=/root" in out
    assert "TERM=xterm-test" in out
    assert "SECRET_TOKEN" not in out


def test_env_flag_sets_variables(hops):
    r = hops("run", "-e", "GREETING=hello world", "--", "/bin/sh", "-c", 'echo "$GREETING"')
    assert r.stdout == b"hello world\n"


def hops_binary():
    from conftest import BIN

    return str(BIN / "hops")


def test_ctrl_c_reaches_a_command_that_does_not_read_its_stdin(hops):
    """Signals do not queue behind stdin the command never reads."""
    p = hops.popen("run", "--", "/bin/sh", "-c", "echo ready; exec sleep 100", stdin=subprocess.PIPE)
    try:
        assert read_line(p.stdout) == b"ready\n"
        import threading

        def flood():
            try:
                for _ in range(64):
                    p.stdin.write(b"x" * (1 << 20))
            except (BrokenPipeError, OSError):
                pass

        threading.Thread(target=flood, daemon=True).start()
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 130
    finally:
        p.kill()
        p.wait()


def test_nothing_of_the_sandbox_runs_once_the_run_returns(hops, workspace):
    # The exit is told as soon as the command ends, before hops-init and the
    # namespaces are torn down: what the command left running in the
    # background must be dead by then, not a moment later. A writer appends
    # to a workspace file in a loop, and a sleeper with a unique argument
    # stands for any other process left behind.
    script = (
        "(while :; do echo x >> ticks; done) & "
        "sleep 4747 & "
        "while [ ! -s ticks ]; do :; done; exit 7"
    )
    r = hops("run", str(workspace), "--", "/bin/sh", "-c", script)
    assert r.returncode == 7, r.stderr
    size = (workspace / "ticks").stat().st_size
    assert size > 0
    sleepers = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == b"sleep\x004747\x00"]
    assert sleepers == []
    time.sleep(0.3)
    assert (workspace / "ticks").stat().st_size == size


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
