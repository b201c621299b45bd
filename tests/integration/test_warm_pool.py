"""The daemon's warm pool: sandboxes' hops-init started ahead of need, in their
namespaces and cgroups, waiting for a plan. A launch takes one over; the pool
refills; nothing of it outlives the daemon, even one killed with SIGKILL."""
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, daemon_children, hops_init_pids, mount_points, wait_until


def warm_ids(h):
    """The warm pool's sandboxes: the cgroups marked as the home's that hold
    a hops-init waiting in the pool (a run's holds its hops-init, or nothing
    once it ended)."""
    return sorted(name for name in h.marked_cgroups()
                  if any(process_name(pid) == "hops-init-warm" for pid in cgroup_procs(name)))


def process_name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def scheduling_policy(pid):
    """Field 41 of /proc/<pid>/stat: 0 SCHED_OTHER, 5 SCHED_IDLE."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[38])


def start_run(h, *args):
    """A plain `hops run` (warm ones serve only runs thrown away at their
    exit) that sleeps; returns the client and the sandbox's id."""
    before = set(h.sandboxes())
    client = h.popen("run", *args, "--", "/bin/sh", "-c", "echo up; exec sleep 60")
    assert client.stdout.readline() == b"up\n"
    [sandbox_id] = set(h.sandboxes()) - before
    return client, sandbox_id


def end_run(h, client, sandbox_id):
    h("rm", "-f", sandbox_id, check=True)
    client.wait(timeout=30)


def process_state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def cgroup_dirs(sandbox_id):
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/hops/{sandbox_id}") if p.is_dir()] + \
        [p for p in Path("/sys/fs/cgroup").glob(f"hops/{sandbox_id}") if p.is_dir()]


def cgroup_procs(sandbox_id):
    pids = set()
    for directory in cgroup_dirs(sandbox_id):
        try:
            pids |= {int(line) for line in (directory / "cgroup.procs").read_text().split()}
        except FileNotFoundError:
            pass  # removed while we looked: its sandbox ended
    return pids


def test_warm_sandboxes_wait_in_their_namespaces_and_cgroups(own_daemon):
    h = own_daemon("--warm-sandboxes", "3")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 3)
    assert wait_until(lambda: len(daemon_children(process.pid, "hops-init-warm")) == 3)
    # A refill starts its batch, prepares each one's root, then moves the batch
    # into their cgroups: ready once every one is in its own.
    assert wait_until(lambda: all(len(cgroup_procs(w)) == 1 for w in warm_ids(h)))
    for warm_id in warm_ids(h):
        procs = cgroup_procs(warm_id)
        assert len(procs) == 1, f"warm {warm_id} should sit alone in its cgroup, has {procs}"
        pid = procs.pop()
        assert pid in daemon_children(process.pid, "hops-init-warm")
        # It waits at idle priority: it takes no CPU time a launch wants.
        assert scheduling_policy(pid) == 5
        # Its own namespaces, not the host's.
        for ns in ("mnt", "pid", "net", "user", "uts", "ipc"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    # Warm sandboxes are nobody's: not listed, not counted as running.
    assert h("ps", "-aq").stdout == b""


def test_a_launch_takes_a_warm_one_and_the_pool_refills(own_daemon):
    h = own_daemon("--warm-sandboxes", "2")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
    before = set(warm_ids(h))
    client, sandbox_id = start_run(h, "--memory", "96M")
    assert sandbox_id in before, "the sandbox should be a warm one, taken over"
    assert sandbox_id not in warm_ids(h)
    # A run thrown away at its exit writes nothing to disk: no directory;
    # its cgroup says whose it is.
    assert not (h.home / "sandboxes" / sandbox_id).exists()
    assert sandbox_id in h.marked_cgroups()
    # Its limits were written when it was taken.
    memory = [d for d in cgroup_dirs(sandbox_id) if (d / "memory.limit_in_bytes").exists() or (d / "memory.max").exists()]
    if memory:
        limit_file = memory[0] / ("memory.limit_in_bytes" if (memory[0] / "memory.limit_in_bytes").exists() else "memory.max")
        assert int(limit_file.read_text()) == 96 << 20
    # It runs its command as hops-init (no longer warm), and the pool is full again.
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
    assert len(daemon_children(process.pid, "hops-init")) == 1
    # Taken, it is scheduled like any process again.
    assert scheduling_policy(daemon_children(process.pid, "hops-init")[0]) == 0
    assert h("exec", sandbox_id, "--", "/bin/sh", "-c", "echo $$").stdout.strip() != b""
    # Sandboxes from the pool behave as any: output, exit code, isolation.
    r = h("run", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, b"out\n", b"err\n")
    r = h("run", "--", "/bin/cat", "/proc/1/cmdline")
    assert r.stdout.split(b"\0")[0] == b"hops-init"
    end_run(h, client, sandbox_id)
    assert wait_until(lambda: cgroup_dirs(sandbox_id) == [])


def test_warm_ones_hold_the_default_rootfs_ready_and_serve_no_other(own_daemon, tmp_path):
    h = own_daemon("--warm-sandboxes", "2")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
    # Each has built the part of the tree no plan changes: the root, /proc,
    # /dev, /sys, /tmp and the masks, in its own mount namespace only, and
    # has pivoted into it: nothing of the host's mounts is left in its view.
    host_root = os.stat("/")
    for pid in daemon_children(process.pid, "hops-init-warm"):
        assert wait_until(lambda: "/sys/firmware" in mount_points(pid)), mount_points(pid)
        points = mount_points(pid)
        for point in ("/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/tmp", "/proc/keys"):
            assert point in points, (point, points)
        assert "/workspace" not in points, "the workspace is the plan's, not the pool's"
        assert not any(p.startswith("/sys/fs/cgroup") for p in points), points
        root = os.stat(f"/proc/{pid}/root")
        assert (root.st_dev, root.st_ino) != (host_root.st_dev, host_root.st_ino)
    before = set(warm_ids(h))

    # A sandbox on another rootfs starts on the spot; the warm ones stay.
    tree = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(h.home / "images" / "rootfs" / "default" / "rootfs"), str(tree)], check=True)
    (tree / "marker").write_text("the other rootfs\n")
    h("rootfs", "create", "other", "--from", str(tree), check=True)
    r = h("run", "--rootfs", "other", "--", "/bin/cat", "/marker")
    assert (r.returncode, r.stdout) == (0, b"the other rootfs\n"), r.stderr
    # (No warm one was even taken: each stands on the default rootfs.)
    assert set(warm_ids(h)) == before
    # The default rootfs still comes from the pool, with everything in place,
    # and with the sandbox's own workspace and limits on top.
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "file").write_text("mine\n")
    client, sandbox_id = start_run(h, "--memory", "64M", str(tmp_path / "ws"))
    assert sandbox_id in before
    r = h("exec", sandbox_id, "--", "/bin/sh", "-c",
          "cat /workspace/file; test -e /marker || echo no-marker; ls /dev/null /dev/pts/ptmx >/dev/null && echo dev;"
          "echo 1 > /proc/sys/kernel/sysrq 2>/dev/null || echo proc-sys-read-only")
    assert r.stdout == b"mine\nno-marker\ndev\nproc-sys-read-only\n", r.stderr
    end_run(h, client, sandbox_id)


def test_a_replaced_default_rootfs_is_not_served_from_the_pool(own_daemon, tmp_path):
    h = own_daemon("--warm-sandboxes", "2")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
    assert wait_until(lambda: all("/sys/firmware" in mount_points(p) for p in daemon_children(process.pid, "hops-init-warm")))
    before = set(warm_ids(h))
    # The default rootfs replaced by another tree of that name.
    tree = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(h.home / "images" / "rootfs" / "default" / "rootfs"), str(tree)], check=True)
    (tree / "marker").write_text("the new default\n")
    h("rootfs", "rm", "default", check=True)
    h("rootfs", "create", "default", "--from", str(tree), check=True)
    # The warm ones hold the old one: the run must not be one of them.
    client, sandbox_id = start_run(h)
    assert sandbox_id not in before
    r = h("exec", sandbox_id, "--", "/bin/cat", "/marker")
    assert (r.returncode, r.stdout) == (0, b"the new default\n"), r.stderr
    end_run(h, client, sandbox_id)
    # The pool refills with warm ones on the new default.
    assert wait_until(lambda: len(set(warm_ids(h)) - before) == 2)
    r = h("run", "--", "/bin/cat", "/marker")
    assert (r.returncode, r.stdout) == (0, b"the new default\n"), r.stderr


def test_sandboxes_that_need_a_cpuset_start_on_the_spot(own_daemon):
    h = own_daemon("--warm-sandboxes", "2")
    assert wait_until(lambda: len(warm_ids(h)) == 2)
    before = set(warm_ids(h))
    cpuset_available = any(Path("/sys/fs/cgroup").glob("cpuset")) or "cpuset" in (
        Path("/sys/fs/cgroup/cgroup.controllers").read_text() if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "")
    if not cpuset_available:
        pytest.skip("no cpuset controller here")
    client, sandbox_id = start_run(h, "--cpuset", "0")
    assert sandbox_id not in before
    assert set(warm_ids(h)) == before, "the pool was not touched"
    end_run(h, client, sandbox_id)
    # A detached run, whose layers are on disk, is not served from the pool either.
    sandbox_id = h("run", "-d", "--", "/bin/sleep", "30", check=True).stdout.decode().strip()
    assert sandbox_id not in before
    assert set(warm_ids(h)) == before, "the pool was not touched"
    h("rm", "-f", sandbox_id, check=True)


def test_no_pool_when_told(own_daemon):
    h = own_daemon(env={"HOPS_WARM_SANDBOXES": "0"})
    process = h.process
    r = h("run", "--", "/bin/echo", "cold")
    assert (r.returncode, r.stdout) == (0, b"cold\n")
    assert warm_ids(h) == []
    assert daemon_children(process.pid, "hops-init-warm") == []


def test_a_bad_pool_size_is_refused():
    home = Path(tempfile.mkdtemp(prefix="hops-pool-"))
    try:
        r = subprocess.run([str(BIN / "hopsd"), "--home", str(home), "--foreground", "--warm-sandboxes", "100"],
                           capture_output=True, timeout=30)
        assert r.returncode == 125
        assert b"--warm-sandboxes must be between 0 and 64" in r.stderr
        assert not (home / "hops.sock").exists()
    finally:
        subprocess.run(["rm", "-rf", str(home)])


def test_a_killed_daemon_leaves_no_warm_sandbox_behind(own_daemon):
    h = own_daemon("--warm-sandboxes", "3")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 3 and len(daemon_children(process.pid, "hops-init-warm")) == 3)
    ids = warm_ids(h)
    pids = daemon_children(process.pid, "hops-init-warm")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    # Their control socket closed: each warm hops-init ends by itself.
    assert wait_until(lambda: not set(pids) & set(hops_init_pids("hops-init-warm")))
    # The next daemon removes their directories and cgroups before it makes its own.
    nxt = subprocess.Popen([str(BIN / "hopsd"), "--home", str(h.home), "--warm-sandboxes", "0"], env=h.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: h("system", "status").returncode == 0, timeout=20)
        assert warm_ids(h) == []
        for warm_id in ids:
            assert cgroup_dirs(warm_id) == [], f"cgroup of warm {warm_id} left"
    finally:
        h("system", "stop")
        nxt.wait(timeout=30)


def test_a_warm_one_that_died_is_skipped_and_a_refused_run_uses_none(own_daemon):
    h = own_daemon("--warm-sandboxes", "2")
    process = h.process
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
    # A run refused before it starts (no such rootfs) leaves the pool as it was.
    before = warm_ids(h)
    r = h("run", "--rootfs", "no-such-rootfs", "--", "/bin/true")
    assert r.returncode == 125 and b"no-such-rootfs" in r.stderr
    assert set(warm_ids(h)) == set(before), "the refused run touched the warm pool"
    # A warm hops-init killed from outside is not handed to a run.
    victim = daemon_children(process.pid, "hops-init-warm")[0]
    os.kill(victim, signal.SIGKILL)
    # Dead, that is: a warm hops-init runs at idle priority (and may still be
    # preparing its root), so a busy machine can keep it from dying at once.
    assert wait_until(lambda: process_state(victim) in ("Z", None))
    for _ in range(3):
        r = h("run", "--", "/bin/echo", "fine")
        assert (r.returncode, r.stdout) == (0, b"fine\n"), r.stderr
    assert wait_until(lambda: len(warm_ids(h)) == 2 and len(daemon_children(process.pid, "hops-init-warm")) == 2)
