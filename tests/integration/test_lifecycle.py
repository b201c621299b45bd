"""Long-lived sandboxes: create, exec, run -d, ps, logs, inspect, stats, stop, rm,
system prune, and what survives a daemon restart."""
import json
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import BIN, hops_init_pids, wait_until

import pexpect  # scripts/test.sh installs it when missing


def create(hops, *args):
    r = hops("create", *args)
    assert r.returncode == 0, r.stderr.decode()
    sandbox_id = r.stdout.decode().strip()
    assert len(sandbox_id) == 12 and all(c in "0123456789abcdef" for c in sandbox_id)
    return sandbox_id


def inspect(hops, ref):
    r = hops("inspect", ref)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def ps_rows(hops, *flags):
    lines = hops("ps", *flags, check=True).stdout.decode().splitlines()
    header, rows = lines[0], lines[1:]
    assert header.split() == ["ID", "NAME", "IMAGE", "STATE", "COMMAND", "CREATED", "CPU", "MEMORY"]
    return {row.split()[0]: row for row in rows}


# -- create and exec ----------------------------------------------------------


def test_create_then_exec_streams_output_and_exit_codes(lc, workspace):
    (workspace / "in.txt").write_text("from the host\n")
    sandbox_id = create(lc, "--name", "dev", str(workspace))
    r = lc("exec", "dev", "--", "/bin/sh", "-c", "cat in.txt; pwd; echo err >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == b"from the host\n/workspace\n"
    assert r.stderr == b"err\n"
    # By id and by unique id prefix too.
    assert lc("exec", sandbox_id, "--", "true").returncode == 0
    assert lc("exec", sandbox_id[:5], "--", "true").returncode == 0
    # State persists between execs: it is one sandbox.
    lc("exec", "dev", "--", "/bin/sh", "-c", "echo kept > /tmp/state", check=True)
    assert lc("exec", "dev", "--", "cat", "/tmp/state").stdout == b"kept\n"
    # stdin reaches the exec, with its end.
    assert lc("exec", "dev", "--", "/bin/cat", input=b"piped\n").stdout == b"piped\n"
    # Environment and working directory per exec.
    r = lc("exec", "-e", "GREETING=hi", "-w", "/tmp", "dev", "--", "/bin/sh", "-c", 'echo "$GREETING $(pwd)"')
    assert r.stdout == b"hi /tmp\n"
    # Not found, not executable: the run's codes and messages.
    r = lc("exec", "dev", "--", "no-such-command")
    assert r.returncode == 127
    assert b"no-such-command" in r.stderr and b"not found" in r.stderr
    assert lc("exec", "dev", "--", "/etc/passwd").returncode == 126


def test_exec_runs_inside_the_sandbox_restrictions(lc):
    create(lc, "--name", "jail", "--memory", "64M")
    # The same pid namespace as the sandbox (hops-init is 1), the same hostname,
    # the same reduced capabilities and no_new_privs.
    r = lc("exec", "jail", "--", "/bin/sh", "-c",
           "cat /proc/1/comm; hostname; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status")
    out = r.stdout.decode()
    assert "hops-init" in out and "hops\n" in out
    assert "NoNewPrivs:\t1" in out
    cap_eff = int(out.split("CapEff:\t")[1].split()[0], 16)
    assert not cap_eff & (1 << 21), "CAP_SYS_ADMIN must not be in an exec's set"
    # Its memory counts against the sandbox's limit.
    r = lc("exec", "jail", "--", "/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1")
    assert r.returncode == 137
    # The sandbox itself goes on.
    assert lc("exec", "jail", "--", "true").returncode == 0


def test_exec_into_a_stopped_sandbox_is_refused(lc):
    create(lc, "--name", "gone")
    lc("stop", "gone", check=True)
    r = lc("exec", "gone", "--", "true")
    assert r.returncode == 125
    assert b"gone is not running" in r.stderr and b"exited (0)" in r.stderr


def test_names_are_unique_and_unknown_references_are_clear(lc):
    first = create(lc, "--name", "twin")
    r = lc("create", "--name", "twin")
    assert r.returncode == 125
    assert b"'twin' is taken by sandbox " + first.encode() in r.stderr
    r = lc("run", "-d", "--name", "twin", "--", "true")
    assert r.returncode == 125 and b"taken" in r.stderr
    # Still taken once stopped; free again once removed.
    lc("stop", "twin", check=True)
    assert lc("create", "--name", "twin").returncode == 125
    lc("rm", "twin", check=True)
    create(lc, "--name", "twin")
    r = lc("exec", "nobody-has-this-name", "--", "true")
    assert r.returncode == 125 and b"no sandbox 'nobody-has-this-name'" in r.stderr
    r = lc("create", "--name", "bad/name")
    assert r.returncode == 125 and b"invalid sandbox name" in r.stderr


def test_exec_with_a_terminal(lc):
    create(lc, "--name", "term")
    env = dict(lc.env, TERM="xterm-hops")
    child = pexpect.spawn(str(BIN / "hops"), ["exec", "-it", "term", "--", "/bin/sh"], env=env,
                          dimensions=(30, 100), timeout=30, encoding="utf-8")
    child.expect(r"[#$] ")
    child.sendline("tty; stty size; echo $TERM; echo $((6*7))")
    child.expect(r"/dev/pts/\d+")
    child.expect_exact("30 100")
    child.expect_exact("xterm-hops")
    child.expect_exact("42")
    child.sendline("exit 6")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 6


# -- detached runs and logs ---------------------------------------------------


def test_detached_run_prints_its_id_and_keeps_its_output(lc):
    r = lc("run", "-d", "--name", "job", "--", "/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 5")
    assert r.returncode == 0, r.stderr.decode()
    sandbox_id = r.stdout.decode().strip()
    assert wait_until(lambda: "exited (5)" in ps_rows(lc, "-a").get(sandbox_id, ""))
    assert sandbox_id not in ps_rows(lc), "a stopped sandbox is not in plain ps"
    r = lc("logs", "job")
    assert r.returncode == 0
    assert r.stdout == b"out1\nout2\n"
    assert r.stderr == b"err1\n"
    info = inspect(lc, "job")
    assert info["state"] == "exited (5)" and info["running"] is False
    assert info["record"]["exitCode"] == 5 and info["record"]["kind"] == "detached"


def test_logs_follow_streams_until_the_sandbox_ends(lc):
    lc("run", "-d", "--name", "ticker", "--", "/bin/sh", "-c",
       "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done", check=True)
    follower = lc.popen("logs", "-f", "ticker")
    first = follower.stdout.readline()
    assert first == b"tick 1\n"
    out, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert out == b"tick 2\ntick 3\ntick 4\ntick 5\n"


def test_logs_are_bounded_and_keep_the_latest_output(lc):
    # 40 MiB of output, then a last line.
    lc("run", "-d", "--name", "loud", "--", "/bin/sh", "-c",
       "head -c 41943040 /dev/zero | tr '\\0' x; echo; echo the-end", check=True)
    assert wait_until(lambda: "exited (0)" in ps_rows(lc, "-a").get(inspect(lc, "loud")["id"], ""), timeout=120)
    directory = Path(inspect(lc, "loud")["directory"])
    on_disk = sum(p.stat().st_size for p in directory.glob("output.log*"))
    assert on_disk <= 2 * 8 * 1024 * 1024 + 4096, on_disk
    out = lc("logs", "loud").stdout
    assert out.endswith(b"x\nthe-end\n")
    assert 4 * 1024 * 1024 < len(out) <= 2 * 8 * 1024 * 1024


def test_logs_of_a_sandbox_that_was_not_detached_are_refused(lc):
    create(lc, "--name", "quiet")
    r = lc("logs", "quiet")
    assert r.returncode == 125
    assert b"has no log" in r.stderr and b"hops run -d" in r.stderr


def test_logs_survive_a_daemon_restart(lc):
    lc("run", "-d", "--name", "durable", "--", "/bin/sh", "-c", "echo written-before-restart; exit 7", check=True)
    assert wait_until(lambda: "exited (7)" in lc("ps", "-a").stdout.decode())
    lc("system", "restart", check=True)
    assert lc("logs", "durable").stdout == b"written-before-restart\n"
    assert "exited (7)" in lc("ps", "-a").stdout.decode()


# -- ps, inspect, stats ---------------------------------------------------------


def test_ps_inspect_and_stats_describe_running_sandboxes(lc, workspace):
    sandbox_id = create(lc, "--name", "described", "--memory", "96M", "--cpus", "1", str(workspace))
    row = ps_rows(lc)[sandbox_id]
    assert "described" in row and "default" in row and "running" in row and "(none)" in row
    info = inspect(lc, "described")
    assert info["id"] == sandbox_id and info["name"] == "described" and info["running"] is True
    assert info["live"]["pid"] > 0 and Path(f"/proc/{info['live']['pid']}").exists()
    record = info["record"]
    assert record["limits"]["memoryBytes"] == 96 * 1024 * 1024 and record["limits"]["cpus"] == 1
    assert record["network"] == "disabled" and record["workspace"] == str(workspace)
    assert record["kind"] == "created" and record["profile"] == "default"
    stats = lc("stats", check=True).stdout.decode()
    assert sandbox_id in stats and "described" in stats
    status = lc("system", "status", check=True).stdout.decode()
    assert "Sandboxes: 1 running, 0 stopped" in status and "Disk:" in status
    # Several at once give a JSON array.
    create(lc, "--name", "second")
    both = json.loads(lc("inspect", "described", "second", check=True).stdout)
    assert [d["name"] for d in both] == ["described", "second"]


# -- stop, rm, prune ------------------------------------------------------------


def test_stop_honours_the_grace_period_then_kills(lc):
    # The command ignores SIGTERM: stop must wait the grace period, then kill.
    lc("run", "-d", "--name", "stubborn", "--", "/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done", check=True)
    time.sleep(0.3)
    started = time.monotonic()
    lc("stop", "--time", "2", "stubborn", check=True)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 8, elapsed
    info = inspect(lc, "stubborn")
    assert info["record"]["exitCode"] == 137
    assert "still running 2s after SIGTERM" in info["record"]["exitMessage"]
    # A command that ends on SIGTERM stops at once, with 143.
    lc("run", "-d", "--name", "polite", "--", "/bin/sleep", "100", check=True)
    time.sleep(0.3)
    started = time.monotonic()
    lc("stop", "polite", check=True)
    assert time.monotonic() - started < 5
    assert inspect(lc, "polite")["record"]["exitCode"] == 143
    # Stopping what is stopped is fine.
    assert lc("stop", "polite").returncode == 0
    assert not hops_init_pids()


def test_stop_ends_every_process_of_a_created_sandbox(lc):
    create(lc, "--name", "busy")
    lc("exec", "busy", "--", "/bin/sh", "-c", "sleep 300 > /dev/null 2>&1 &", check=True)
    running = lc.popen("exec", "busy", "--", "/bin/sleep", "300")
    time.sleep(0.5)
    lc("stop", "--time", "5", "busy", check=True)
    assert running.wait(timeout=10) != 0
    assert "exited (0)" in ps_rows(lc, "-a")[inspect(lc, "busy")["id"]]
    assert not hops_init_pids()


def test_rm_refuses_a_running_sandbox_unless_forced(lc):
    sandbox_id = create(lc, "--name", "keepme")
    r = lc("rm", "keepme")
    assert r.returncode == 125 and b"is running" in r.stderr and b"rm -f" in r.stderr
    assert sandbox_id in lc.sandboxes()
    lc("rm", "-f", "keepme", check=True)
    assert sandbox_id not in lc.sandboxes()
    assert sandbox_id not in lc("ps", "-aq").stdout.decode()
    assert wait_until(lambda: not hops_init_pids())


def test_prune_removes_stopped_and_leaves_running(lc):
    running = create(lc, "--name", "alive")
    stopped = create(lc, "--name", "dead")
    lc("stop", "dead", check=True)
    lc("run", "-d", "--name", "done", "--", "true", check=True)
    assert wait_until(lambda: "exited (0)" in ps_rows(lc, "-a").get(inspect(lc, "done")["id"], ""))
    r = lc("system", "prune", check=True)
    assert stopped.encode() in r.stdout and b"Removed 2 stopped sandboxes" in r.stdout
    assert lc("ps", "-aq").stdout.decode().split() == [running]
    assert lc("exec", "alive", "--", "true").returncode == 0
    assert stopped not in lc.sandboxes()


# -- the daemon's restarts ------------------------------------------------------


def test_daemon_killed_with_running_sandboxes_then_ps_tells_the_truth(lc):
    created = create(lc, "--name", "was-idle")
    detached = lc("run", "-d", "--name", "was-busy", "--", "/bin/sh", "-c", "echo started; sleep 300",
                  check=True).stdout.decode().strip()
    finished = lc("run", "-d", "--name", "had-ended", "--", "/bin/sh", "-c", "exit 4", check=True).stdout.decode().strip()
    assert wait_until(lambda: "exited (4)" in ps_rows(lc, "-a").get(finished, ""))
    assert wait_until(lambda: b"started" in lc("logs", "was-busy").stdout)
    os.kill(lc.daemon_pid(), signal.SIGKILL)
    # The sandboxes end with their daemon (their control socket is their lifeline).
    assert wait_until(lambda: not hops_init_pids(), timeout=10)
    rows = ps_rows(lc, "-a")  # starts a new daemon
    assert "exited (137)" in rows[created] and "exited (137)" in rows[detached]
    assert "exited (4)" in rows[finished]
    assert ps_rows(lc) == {}, "nothing is running any more"
    info = inspect(lc, "was-busy")
    assert "hopsd stopped unexpectedly" in info["record"]["exitMessage"]
    assert lc("logs", "was-busy").stdout == b"started\n"
    r = lc("exec", "was-idle", "--", "true")
    assert r.returncode == 125 and b"not running" in r.stderr


def test_system_stop_marks_sandboxes_stopped(lc):
    create(lc, "--name", "at-shutdown")
    lc("system", "stop", check=True)
    assert wait_until(lambda: not hops_init_pids())
    info = inspect(lc, "at-shutdown")
    assert info["record"]["exitCode"] == 137
    assert "daemon is stopping" in info["record"]["exitMessage"]


def test_an_exec_whose_client_dies_is_killed_and_the_sandbox_stays(lc):
    create(lc, "--name", "survivor")
    client = lc.popen("exec", "survivor", "--", "/bin/sh", "-c", "echo ready; exec sleep 300")
    assert client.stdout.readline() == b"ready\n"
    client.kill()
    client.wait(timeout=10)
    # The exec's process goes; the sandbox (and its hops-init) stays.
    def sleepers():
        return lc("exec", "survivor", "--", "/bin/sh", "-c", "ps -o comm | grep -c '^sleep' || true").stdout.strip()
    assert wait_until(lambda: sleepers() == b"0", timeout=10)
    assert "running" in ps_rows(lc)[inspect(lc, "survivor")["id"]]


def test_a_detached_run_keeps_its_timeout(lc):
    lc("run", "-d", "--name", "bounded", "--timeout", "1s", "--", "/bin/sleep", "100", check=True)
    assert wait_until(lambda: "exited (124)" in ps_rows(lc, "-a").get(inspect(lc, "bounded")["id"], ""), timeout=15)
    assert "timed out after 1s" in inspect(lc, "bounded")["record"]["exitMessage"]
