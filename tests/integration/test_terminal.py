"""Interactive sessions: the real CLI driven through a pseudo-terminal (pexpect)."""
import os
import subprocess

import pytest

from conftest import BIN, wait_until, hops_init_pids

import pexpect  # scripts/test.sh installs it when missing

PROMPT = "hops-prompt> "


def spawn(hops, *args, rows=24, cols=80):
    env = dict(hops.env, TERM="xterm-hops")
    child = pexpect.spawn(str(BIN / "hops"), list(args), env=env, dimensions=(rows, cols), timeout=30, encoding="utf-8")
    return child


def start_shell(hops, *flags):
    child = spawn(hops, "run", *flags, "--", "/bin/sh")
    child.expect(r"[#$] ")
    child.sendline(f"PS1='{PROMPT}'")
    child.expect_exact(PROMPT)
    child.expect_exact(PROMPT)
    return child


def test_prompt_commands_and_exit_code(hops):
    child = start_shell(hops, "-it")
    child.sendline("echo $((6*7)); tty; echo $TERM")
    child.expect_exact("42")
    child.expect(r"/dev/pts/\d+")
    child.expect_exact("xterm-hops")
    child.expect_exact(PROMPT)
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_interactive_is_the_default_from_a_terminal(hops):
    child = start_shell(hops)
    child.sendline("tty")
    child.expect(r"/dev/pts/\d+")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_interrupts_the_foreground_job_not_the_shell(hops):
    child = start_shell(hops, "-it")
    child.sendline("sleep 100; echo after-sleep-$?")
    child.expect_exact("sleep 100")
    import time
    time.sleep(0.5)
    child.sendcontrol("c")
    child.expect_exact(PROMPT)
    child.sendline("echo still-alive")
    child.expect_exact("still-alive")
    child.sendline("exit 0")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_d_ends_the_shell(hops):
    child = start_shell(hops, "-it")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_resize_reaches_the_program(hops):
    child = start_shell(hops, "-it")
    child.sendline("stty size")
    child.expect_exact("24 80")
    child.setwinsize(40, 120)
    import time
    time.sleep(0.5)
    child.sendline("stty size")
    child.expect_exact("40 120")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_local_terminal_settings_are_restored(hops, tmp_path):
    """Run hops inside a shell on the pty, and compare stty -g before and after."""
    before, after = tmp_path / "before", tmp_path / "after"
    script = f"stty -g > {before}; {BIN / 'hops'} run -it -- /bin/sh -c 'exit 3'; echo rc=$?; stty -g > {after}"
    child = pexpect.spawn("/bin/sh", ["-c", script], env=hops.env, timeout=30, encoding="utf-8")
    child.expect_exact("rc=3")
    child.expect(pexpect.EOF)
    assert before.read_text() == after.read_text()
    # Also when the sandbox is killed from outside (the run ends with 137).
    script = f"{BIN / 'hops'} run -it -- /bin/sh -c 'kill -9 $$'; echo rc=$?; stty -g > {after}"
    child = pexpect.spawn("/bin/sh", ["-c", script], env=hops.env, timeout=30, encoding="utf-8")
    child.expect_exact("rc=137")
    child.expect(pexpect.EOF)
    assert before.read_text() == after.read_text()


def test_full_screen_output_arrives(hops):
    child = spawn(hops, "run", "-it", "--", "/bin/sh", "-c", "printf '\\033[2J\\033[5;10Hplaced'; sleep 0.2")
    child.expect_exact("\x1b[5;10Hplaced")
    child.expect(pexpect.EOF)


def test_piped_input_gets_no_terminal(hops):
    r = hops("run", "--", "/bin/sh", "-c", "tty; read line; echo got-$line", input=b"x\n")
    assert r.stdout.decode().splitlines() == ["not a tty", "got-x"]


def test_t_without_a_terminal_is_refused(hops):
    r = hops("run", "-t", "--", "/bin/true", input=b"")
    assert r.returncode == 125
    assert b"-t needs a terminal" in r.stderr


def test_i_keeps_stdin_open_without_a_terminal(hops):
    r = hops("run", "-i", "--", "/bin/sh", "-c", "tty; cat", input=b"data\n")
    assert r.stdout == b"not a tty\ndata\n"


def test_no_interactive_from_a_terminal(hops):
    child = spawn(hops, "run", "--no-interactive", "--", "/bin/sh", "-c", "tty; cat; echo eof-seen")
    child.expect_exact("not a tty")
    child.expect_exact("eof-seen")
    child.expect(pexpect.EOF)


def test_nothing_is_left_after_interactive_runs(hops):
    child = start_shell(hops, "-it")
    child.sendline("sleep 1000 &")
    child.expect_exact(PROMPT)
    child.terminate(force=True)
    assert wait_until(lambda: not hops_init_pids())
    assert wait_until(lambda: hops.sandboxes() == [])
