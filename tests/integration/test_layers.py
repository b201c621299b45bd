"""Where a sandbox's writes to its root go: a plain run's into a tmpfs of its
own (in memory, charged to its memory cgroup, gone with it), a kept one's into
its directory on the host's disk."""
import json
from pathlib import Path

from conftest import read_line, wait_until

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '
MiB = 1 << 20


def memory_stat(sandbox_id):
    """The sandbox's memory cgroup's memory.stat (v1 or v2) as a dict."""
    for path in Path("/sys/fs/cgroup").glob(f"**/hops/{sandbox_id}/memory.stat"):
        return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}
    raise AssertionError(f"no memory cgroup for sandbox {sandbox_id}")


def test_a_runs_writes_are_in_memory_charged_to_it_and_not_on_disk(hops):
    p = hops.popen("run", "--", "/bin/sh", "-c",
                   GUARD + "dd if=/dev/zero of=/written bs=1M count=8 2>/dev/null && echo ready && exec sleep 30")
    try:
        assert read_line(p.stdout) == b"ready\n"
        [sandbox] = hops.sandboxes()
        directory = hops.home / "sandboxes" / sandbox
        pid = json.loads(hops("inspect", sandbox, check=True).stdout)["live"]["pid"]
        # The host sees the file only through the sandbox's own root.
        written = Path(f"/proc/{pid}/root/written")
        assert written.stat().st_size == 8 * MiB
        # Nothing of it in the sandbox's directory: no layer there, no record
        # either (the daemon holds a run's).
        assert list(directory.rglob("*")) == []
        # Its pages are the sandbox's own (shmem, in its memory cgroup).
        stat = memory_stat(sandbox)
        shmem = stat.get("shmem", stat.get("total_shmem", 0))
        assert shmem >= 8 * MiB, stat
    finally:
        p.kill()
        p.wait()


def test_root_writes_count_toward_the_memory_limit_and_the_message_says_so(hops):
    r = hops("run", "--memory", "64M", "--", "/bin/sh", "-c",
             GUARD + "dd if=/dev/zero of=/big bs=1M count=100; echo survived")
    assert r.returncode == 137, (r.stdout, r.stderr)
    assert b"survived" not in r.stdout
    assert b"hops: sandbox killed: out of memory (limit 64 MiB); files written to its root or /tmp are held in memory" in r.stderr


def test_a_kept_run_writes_to_disk_past_its_memory_limit(hops):
    r = hops("run", "--keep", "--memory", "64M", "--", "/bin/sh", "-c",
             GUARD + "dd if=/dev/zero of=/big bs=1M count=100 2>/dev/null && echo done")
    kept = [name for name in hops.sandboxes()]
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"done\n"
        [sandbox] = kept
        assert (hops.home / "sandboxes" / sandbox / "upper" / "big").stat().st_size == 100 * MiB
    finally:
        for name in kept:
            hops("rm", name, check=True)
    assert wait_until(lambda: hops.sandboxes() == [])


def test_a_workspace_overlay_of_a_run_is_in_memory_too(hops, workspace):
    (workspace / "source").write_text("original\n")
    r = hops("run", "--workspace-mode", "overlay", str(workspace), "--", "/bin/sh", "-c",
             GUARD + "echo changed > /workspace/source && cat /workspace/source && ls /workspace"
             " && grep ' /workspace ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[:2] == ["changed", "source"]
    # The overlay's upper layer is not in the sandbox's directory on the host.
    [mount] = lines[2:]
    assert " - overlay " in mount and "upperdir=" in mount and str(hops.home) not in mount, mount
    assert (workspace / "source").read_text() == "original\n"
