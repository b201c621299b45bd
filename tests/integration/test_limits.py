"""Resource limits: memory, processes, CPU, timeout, usage figures, and no cgroup left."""
import re
import time
from pathlib import Path

from conftest import read_line, wait_until

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '


def sandbox_cgroups(hops):
    """Every sandbox cgroup under Hops' parent, in any controller; those of the
    daemon's warm pool (not yet any sandbox's) are not counted."""
    # The daemon removes a sandbox's cgroups after its exit is told, so one
    # may vanish while this walks the tree: the walk then starts again.
    for _ in range(20):
        try:
            warm = set(hops.marked_cgroups()) - set(hops.sandboxes())
            found = []
            for parent in Path("/sys/fs/cgroup").glob("**/hops"):
                if parent.is_dir() and parent.parent.name != "hops":
                    found += [p for p in parent.iterdir() if p.is_dir() and p.name not in warm]
            return found
        except FileNotFoundError:
            time.sleep(0.01)
    raise AssertionError("the cgroup tree kept changing under the walk")


def usage(stderr: bytes):
    m = re.search(rb"wall ([\d.]+) s, CPU ([\d.]+) s, peak memory ([\d.]+) (\w+), peak processes (\d+)", stderr)
    assert m, stderr
    scale = {b"B": 1, b"KiB": 1024, b"MiB": 1 << 20, b"GiB": 1 << 30}
    return float(m[1]), float(m[2]), float(m[3]) * scale[m[4]], int(m[5])


def test_status_says_which_cgroups(hops):
    hops("system", "start", check=True)
    out = hops("system", "status").stdout.decode()
    assert re.search(r"Resource control: cgroup v[12] \(.*memory.*\)", out), out


def test_memory_hog_is_killed_with_137_and_the_oom_message(hops):
    r = hops("run", "--memory", "64M", "--", "/bin/sh", "-c", GUARD + "exec dd if=/dev/zero of=/dev/null bs=128M count=1")
    assert r.returncode == 137
    assert b"hops: sandbox killed: out of memory (limit 64 MiB)" in r.stderr
    assert wait_until(lambda: not sandbox_cgroups(hops))


def test_memory_below_the_limit_runs(hops):
    r = hops("run", "--memory", "64M", "--", "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo ok")
    assert (r.returncode, r.stdout) == (0, b"ok\n")


def test_fork_bomb_is_contained_and_the_host_can_start_another_sandbox(hops):
    bomb = hops.popen("run", "--max-processes", "32", "--timeout", "20s", "--", "/bin/sh", "-c",
                      GUARD + "echo started; b() { b | b & }; b; sleep 30")
    try:
        assert read_line(bomb.stdout) == b"started\n"
        time.sleep(1)
        # The bomb is at its limit; another sandbox starts at once all the same.
        r = hops("run", "--", "/bin/echo", "still here")
        assert (r.returncode, r.stdout) == (0, b"still here\n")
        assert "sleep 30" in hops("stats").stdout.decode()
    finally:
        bomb.kill()
        bomb.wait()
    assert wait_until(lambda: not sandbox_cgroups(hops))


def test_pids_limit_caps_the_process_count(hops):
    r = hops("run", "-v", "--max-processes", "10", "--", "/bin/sh", "-c",
             GUARD + "(for i in $(seq 30); do sleep 2 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#")
    count = int(r.stdout.decode().split()[-1])
    assert count <= 10
    _, _, _, peak = usage(r.stderr)
    assert 2 <= peak <= 10


def test_half_a_cpu_gets_about_half_the_wall_time(hops):
    r = hops("run", "-v", "--cpus", "0.5", "--timeout", "3s", "--", "/bin/sh", "-c", GUARD + "while :; do :; done")
    assert r.returncode == 124
    wall, cpu, _, _ = usage(r.stderr)
    assert 2.5 < wall < 10
    # Wide tolerance: this machine is noisy. Unlimited, the spin would take ~1.0.
    assert 0.3 < cpu / wall < 0.7, (cpu, wall)


def test_timeout_kills_the_whole_sandbox_with_124(hops):
    start = time.monotonic()
    r = hops("run", "--timeout", "1s", "--", "/bin/sh", "-c", GUARD + "sleep 100 & sleep 100")
    assert r.returncode == 124
    assert b"hops: sandbox killed: timed out after 1s" in r.stderr
    assert time.monotonic() - start < 60
    assert wait_until(lambda: hops.sandboxes() == [])


def test_usage_figures_are_present_and_plausible(hops):
    r = hops("run", "-v", "--", "/bin/sh", "-c", "dd if=/dev/zero bs=1M count=32 2>/dev/null | cat > /dev/null; sleep 0.3")
    assert r.returncode == 0
    wall, cpu, peak_memory, peak_processes = usage(r.stderr)
    assert wall >= 0.3
    assert 0 <= cpu < wall + 1
    assert 100 * 1024 < peak_memory < 512 << 20
    assert peak_processes >= 2


def test_stats_shows_a_running_sandbox(hops):
    p = hops.popen("run", "--", "/bin/sh", "-c", "echo ready; exec sleep 30")
    try:
        assert read_line(p.stdout) == b"ready\n"
        out = hops("stats").stdout.decode()
        assert "sleep 30" in out and "ID" in out.splitlines()[0]
    finally:
        p.kill()
        p.wait()


def test_limits_in_a_profile_are_enforced(hops, tmp_path):
    profile = tmp_path / "small.toml"
    profile.write_text('[capabilities.resource_limits]\nmemory_bytes = "48M"\ntimeout = "2s"\n')
    r = hops("run", "--policy-file", str(profile), "--", "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=96M count=1")
    assert r.returncode == 137 and b"limit 48 MiB" in r.stderr
    r = hops("run", "--policy-file", str(profile), "--", "/bin/sleep", "10")
    assert r.returncode == 124
    # Flags override the profile's limits.
    r = hops("run", "--policy-file", str(profile), "--memory", "256M", "--", "/bin/sh", "-c",
             "dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo ok")
    assert (r.returncode, r.stdout) == (0, b"ok\n")


def test_no_sandbox_cgroup_is_left(hops):
    hops("run", "--", "/bin/true", check=True)
    assert wait_until(lambda: not sandbox_cgroups(hops)), sandbox_cgroups(hops)


def test_cpuset_pins_the_sandbox(hops):
    r = hops("run", "--cpuset", "1", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == b"1"
    r = hops("run", "--cpuset", "0-63", "--", "/bin/true")
    assert r.returncode == 125 and b"does not exist on this host" in r.stderr
    r = hops("run", "--cpuset", "a-b", "--", "/bin/true")
    assert r.returncode == 125 and b"is not a CPU list" in r.stderr


def test_limits_out_of_range_are_refused(hops):
    for flags, expected in [
        (["--max-processes", "0"], b"out of range"),
        (["--timeout", "0s"], b"out of range"),
        (["--timeout", "soon"], b"invalid duration"),
        (["--memory", "100T"], b"more than this host has"),
    ]:
        r = hops("run", *flags, "--", "/bin/true")
        assert r.returncode == 125 and expected in r.stderr, (flags, r.stderr)


def cgroup_limits(sandbox_id):
    """The limits the kernel holds for a sandbox's cgroup, on v1 or v2:
    (memory bytes or None, CPU quota in microseconds or None, max processes or None)."""
    unified = Path("/sys/fs/cgroup/hops") / sandbox_id
    if (unified / "memory.max").exists():
        memory = (unified / "memory.max").read_text().strip()
        quota = (unified / "cpu.max").read_text().split()[0]
        pids = (unified / "pids.max").read_text().strip()
        return (None if memory == "max" else int(memory), None if quota == "max" else int(quota),
                None if pids == "max" else int(pids))
    root = Path("/sys/fs/cgroup")
    memory = int((root / "memory/hops" / sandbox_id / "memory.limit_in_bytes").read_text())
    cpu = next(d for d in (root / "cpu/hops", root / "cpu,cpuacct/hops") if d.is_dir()) / sandbox_id
    quota = int((cpu / "cpu.cfs_quota_us").read_text())
    pids = (root / "pids/hops" / sandbox_id / "pids.max").read_text().strip()
    memsw = root / "memory/hops" / sandbox_id / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        assert int(memsw.read_text()) == memory, "memory+swap is capped like memory"
    # v1 writes "unlimited" as the largest page-aligned value.
    return (None if memory >= 1 << 62 else memory, None if quota == -1 else quota,
            None if pids == "max" else int(pids))


def limits_of_a_running_sandbox(hops, *flags):
    before = set(hops("ps", "-q").stdout.decode().split())
    p = hops.popen("run", *flags, "--", "/bin/sh", "-c", GUARD + "echo up; sleep 30")
    try:
        assert read_line(p.stdout) == b"up\n"
        (sandbox_id,) = set(hops("ps", "-q").stdout.decode().split()) - before
        return cgroup_limits(sandbox_id)
    finally:
        p.kill()
        p.wait()


def test_a_warm_sandbox_gets_exactly_the_limits_asked_for(hops, tmp_path):
    """Warm cgroups are made with the default profile's limits and a launch
    writes only what differs: raised, lowered and lifted limits must all land."""
    hops("system", "start", check=True)
    assert limits_of_a_running_sandbox(hops) == (512 << 20, 200_000, 100)
    # Above the default: on v1, memory+swap has to be raised first.
    assert limits_of_a_running_sandbox(hops, "--memory", "1G", "--cpus", "0.5", "--max-processes", "300") \
        == (1 << 30, 50_000, 300)
    assert limits_of_a_running_sandbox(hops, "--memory", "100M") == (100 << 20, 200_000, 100)
    # A profile without CPU and process limits lifts the default ones.
    profile = tmp_path / "memory-only.toml"
    profile.write_text('[capabilities.resource_limits]\nmemory_bytes = "48M"\n')
    assert limits_of_a_running_sandbox(hops, "--policy-file", str(profile)) == (48 << 20, None, None)
    # And the next plain run has the defaults again.
    assert limits_of_a_running_sandbox(hops) == (512 << 20, 200_000, 100)
