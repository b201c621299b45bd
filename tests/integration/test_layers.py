"""Where a sandbox's writes to its root go: a plain run's into a tmpfs of its
own (in memory, charged to its memory cgroup, at most three quarters of its
memory limit, gone with it; the run has no directory on disk at all), a kept
or detached one's into its directory on the host's disk."""
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
        # Nothing of it on the host's disk: the run has no directory at all
        # (no layer, no record: the daemon holds a run's); its cgroup is
        # what names it on the host.
        assert not directory.exists()
        assert sandbox in hops.marked_cgroups()
        # Its pages are the sandbox's own (shmem, in its memory cgroup).
        stat = memory_stat(sandbox)
        shmem = stat.get("shmem", stat.get("total_shmem", 0))
        assert shmem >= 8 * MiB, stat
    finally:
        p.kill()
        p.wait()


def test_a_large_root_write_fails_as_on_a_full_disk_and_the_command_goes_on(hops):
    r = hops("run", "--memory", "64M", "--", "/bin/sh", "-c",
             GUARD + "dd if=/dev/zero of=/big bs=1M count=100 2>&1 | grep -c 'No space left'; ls -l /big; echo survived")
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "1" and lines[-1] == "survived", lines
    # At most three quarters of the limit.
    assert 40 * MiB <= int(lines[1].split()[4]) <= 48 * MiB, lines


def test_files_that_fill_the_memory_end_the_run_and_the_message_says_why(hops):
    # 40 MiB in the root's layer (under its 48 MiB cap) and 40 in /tmp: more
    # than the 64 MiB the sandbox has.
    r = hops("run", "--memory", "64M", "--", "/bin/sh", "-c",
             GUARD + "dd if=/dev/zero of=/big bs=1M count=40 2>/dev/null; dd if=/dev/zero of=/tmp/big bs=1M count=40; echo survived")
    assert r.returncode == 137, (r.stdout, r.stderr)
    assert b"survived" not in r.stdout
    assert b"hops: sandbox killed: out of memory (limit 64 MiB); files written to its root or /tmp are held in memory" in r.stderr


def test_the_layers_tmpfs_is_sized_for_each_runs_memory_limit(hops):
    # The first runs may come from the warm pool, made for the default
    # profile's 512 MiB: resized for the sandbox's own limit.
    for memory, expected in (("1G", 768 * MiB), ("256M", 192 * MiB), ("512M", 384 * MiB)):
        for _ in range(3):
            r = hops("run", "--memory", memory, "--", "/bin/sh", "-c", "stat -f -c '%b %S' /")
            assert r.returncode == 0, r.stderr
            blocks, size = map(int, r.stdout.split())
            assert blocks * size == expected, (memory, r.stdout)


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


def test_a_detached_run_writes_to_disk(hops):
    sandbox = hops("run", "-d", "--", "/bin/sh", "-c", "echo data > /written; exec sleep 30",
                   check=True).stdout.decode().strip()
    try:
        assert wait_until(lambda: (hops.home / "sandboxes" / sandbox / "upper" / "written").exists())
    finally:
        hops("rm", "-f", sandbox, check=True)


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


def test_a_created_sandboxs_overlays_are_on_disk_in_its_directory(hops, workspace):
    (workspace / "source").write_text("original\n")
    sandbox = hops("create", "--workspace-mode", "overlay", str(workspace), check=True).stdout.decode().strip()
    try:
        r = hops("exec", sandbox, "--", "/bin/sh", "-c", "echo changed > /workspace/source; echo root > /rootfile")
        assert r.returncode == 0, r.stderr
        directory = hops.home / "sandboxes" / sandbox
        # The root's layer in the directory, the workspace overlay's in mounts/1.
        assert (directory / "upper" / "rootfile").read_text() == "root\n"
        assert (directory / "mounts" / "1" / "upper" / "source").read_text() == "changed\n"
        assert (workspace / "source").read_text() == "original\n"
    finally:
        hops("rm", "-f", sandbox, check=True)
