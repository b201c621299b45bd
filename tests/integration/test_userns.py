"""Every sandbox in a user namespace of its own: root inside is an unprivileged
id outside, while the rootfs and the workspace keep their ownership."""
import os
import re
import uuid
from pathlib import Path

import pytest

from conftest import wait_until

FIRST_BASE = 1 << 30
RANGE = 65536


def host_ids(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    gid = int(re.search(r"^Gid:\s+(\d+)", status, re.M).group(1))
    return uid, gid


def test_root_inside_is_an_unprivileged_range_outside(lc):
    name = "u-" + uuid.uuid4().hex[:6]
    lc("create", "--name", name, check=True)
    out = lc("exec", name, "--", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map").stdout.decode().split()
    assert out[0] == "0", "root inside"
    inside, base, count = int(out[1]), int(out[2]), int(out[3])
    assert inside == 0 and count == RANGE and base >= FIRST_BASE and (base - FIRST_BASE) % RANGE == 0
    assert out[4:7] == out[1:4], "gids map like uids"
    # Seen from the host, the sandbox's processes are that id, not root.
    pid = int(__import__("json").loads(lc("inspect", name).stdout)["live"]["pid"])
    assert host_ids(pid) == (base, base)
    # The host's root is nobody here: /dev/null is the host's own node, owned
    # by the host's root, which this namespace does not map.
    assert lc("exec", name, "--", "stat", "-c", "%u", "/dev/null").stdout == b"65534\n"


def test_two_sandboxes_are_two_different_users(lc):
    lc("create", "--name", "first-user", check=True)
    lc("create", "--name", "second-user", check=True)
    maps = [lc("exec", n, "--", "cat", "/proc/self/uid_map").stdout.split()[1] for n in ("first-user", "second-user")]
    assert maps[0] != maps[1]


def test_the_rootfs_and_the_workspace_keep_their_ownership(lc, workspace):
    (workspace / "by-root").write_text("x\n")
    (workspace / "by-user").write_text("y\n")
    os.chown(workspace / "by-user", 1000, 1000)
    r = lc("run", str(workspace), "--", "/bin/sh", "-c",
           "stat -c '%u %n' / /bin/busybox /etc/passwd /workspace/by-root /workspace/by-user;"
           "echo new > /workspace/made-inside; mkdir /workspace/dir-inside; echo up > /root-file; stat -c '%u' /root-file")
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().split("\n")
    assert lines[0:5] == ["0 /", "0 /bin/busybox", "0 /etc/passwd", "0 /workspace/by-root", "1000 /workspace/by-user"]
    assert lines[5] == "0"
    # What the sandbox's root wrote to the workspace belongs to the host's root,
    # as it would without a user namespace.
    assert (workspace / "made-inside").stat().st_uid == 0
    assert (workspace / "dir-inside").stat().st_uid == 0


def test_the_rootfs_changes_belong_to_the_sandbox_range_on_the_host(lc):
    r = lc("run", "--keep", "--", "/bin/sh", "-c", "echo kept > /kept-file; cat /proc/self/uid_map")
    assert r.returncode == 0
    base = int(r.stdout.split()[1])
    kept = re.search(rb"sandbox kept at (\S+)", r.stderr).group(1).decode()
    try:
        assert os.stat(Path(kept) / "upper" / "kept-file").st_uid == base
    finally:
        sandbox_id = Path(kept).name
        lc("rm", sandbox_id, check=True)


def test_copies_into_a_sandbox_belong_to_its_root(lc, tmp_path):
    lc("create", "--name", "cp-owner", check=True)
    source = tmp_path / "copied"
    source.write_text("c\n")
    lc("cp", str(source), "cp-owner:/tmp/", check=True)
    assert lc("exec", "cp-owner", "--", "stat", "-c", "%u %g", "/tmp/copied").stdout == b"0 0\n"


def test_status_and_doctor_say_sandboxes_have_a_user_namespace(lc):
    # This machine's kernel (6.15 or later) can; an older one gets a warning
    # that says why, and sandboxes without one.
    assert "User namespaces: yes" in lc("system", "status", check=True).stdout.decode()
    doctor = lc("doctor").stdout.decode()
    assert re.search(r"OK +user namespace +each sandbox's root is an unprivileged host id", doctor), doctor
