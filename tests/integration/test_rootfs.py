"""hops init and hops rootfs create | list | rm, and running on a named rootfs."""
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path


def test_init_is_idempotent(hops):
    r = hops("init")
    assert r.returncode == 0, r.stderr
    r = hops("init")
    assert r.returncode == 0
    assert b"already present" in r.stdout
    assert (hops.home / "images" / "rootfs" / "default" / "rootfs" / "bin" / "busybox").exists()


def test_busybox_rootfs_has_the_expected_userland(hops):
    r = hops("run", "/tmp", "--", "/bin/ls", "/bin/")
    assert r.returncode == 0
    names = r.stdout.decode().split()
    for applet in ("busybox", "sh", "ls", "cat", "echo", "mkdir"):
        assert applet in names
    r = hops("run", "--", "/bin/cat", "/etc/passwd", "/etc/group", "/etc/hosts")
    assert b"root:x:0:0" in r.stdout and b"localhost" in r.stdout


def make_rootfs_tarball(hops, path: Path, marker: str, mode="w:gz"):
    """A rootfs tarball made from the default rootfs plus a marker file."""
    source = hops.home / "images" / "rootfs" / "default" / "rootfs"
    with tarfile.open(path, mode) as tar:
        tar.add(source, arcname=".")
        data = marker.encode()
        info = tarfile.TarInfo("./etc/marker")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_create_from_tarball_run_list_and_remove(hops, tmp_path):
    hops("init", check=True)
    tarball = tmp_path / "custom.tar.gz"
    make_rootfs_tarball(hops, tarball, "from-tarball")
    r = hops("rootfs", "create", "custom", "--from", str(tarball))
    assert r.returncode == 0, r.stderr
    try:
        r = hops("rootfs", "list")
        assert b"custom" in r.stdout and str(tarball).encode() in r.stdout
        r = hops("run", "--rootfs", "custom", "--", "/bin/cat", "/etc/marker")
        assert (r.returncode, r.stdout) == (0, b"from-tarball")
        # Same name again is refused without --replace.
        r = hops("rootfs", "create", "custom", "--from", str(tarball))
        assert r.returncode == 125 and b"already exists" in r.stderr
    finally:
        r = hops("rootfs", "rm", "custom")
    assert r.returncode == 0
    assert b"custom" not in hops("rootfs", "list").stdout
    assert hops("run", "--rootfs", "custom", "--", "/bin/true").returncode == 125


def test_create_from_directory(hops, tmp_path):
    hops("init", check=True)
    tree = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(hops.home / "images/rootfs/default/rootfs"), str(tree)], check=True)
    (tree / "etc" / "marker").write_text("from-dir")
    r = hops("rootfs", "create", "fromdir", "--from", str(tree))
    assert r.returncode == 0, r.stderr
    try:
        r = hops("run", "--rootfs", "fromdir", "--", "/bin/cat", "/etc/marker")
        assert r.stdout == b"from-dir"
    finally:
        hops("rootfs", "rm", "fromdir")


def test_tarball_with_entries_outside_the_rootfs_is_refused(hops, tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        data = b"escaped"
        info = tarfile.TarInfo("../../escaped-file")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    r = hops("rootfs", "create", "evil", "--from", str(evil))
    assert r.returncode == 125
    assert b"outside the rootfs" in r.stderr
    assert b"evil" not in hops("rootfs", "list").stdout
    assert not (hops.home / "images" / "escaped-file").exists()
    leftovers = [p.name for p in (hops.home / "images" / "rootfs").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_alpine_tarball_in_home_becomes_the_default(tmp_path):
    """hops init imports $HOPS_HOME/alpine-minirootfs.tar.gz when it exists (a fresh home)."""
    import shutil
    from conftest import Hops, BIN

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    h = Hops(home)
    try:
        # A stand-in minirootfs with the same layout: busybox plus /etc/alpine-release.
        root = tmp_path / "mini"
        (root / "bin").mkdir(parents=True)
        (root / "etc").mkdir()
        shutil.copy("/bin/busybox", root / "bin" / "busybox")
        for applet in ("sh", "cat", "echo"):
            os.symlink("busybox", root / "bin" / applet)
        (root / "etc" / "alpine-release").write_text("3.20.0\n")
        with tarfile.open(home / "alpine-minirootfs.tar.gz", "w:gz") as tar:
            tar.add(root, arcname=".")
        r = h("init")
        assert r.returncode == 0, r.stderr
        assert b"alpine-minirootfs.tar.gz" in r.stdout
        r = h("run", "--", "/bin/cat", "/etc/alpine-release")
        assert r.stdout == b"3.20.0\n"
    finally:
        h("system", "stop")
        shutil.rmtree(home, ignore_errors=True)


def test_bad_rootfs_names_are_refused(hops):
    r = hops("rootfs", "create", "../x", "--from", "/tmp")
    assert r.returncode == 125 and b"invalid rootfs name" in r.stderr
    r = hops("rootfs", "rm", "nosuch")
    assert r.returncode == 125 and b"no rootfs named" in r.stderr


def test_original_hops_create_rootfs_command_still_works(hops):
    """The original quick start's one-time set-up command is an alias of hops init."""
    import subprocess
    from conftest import BIN

    r = subprocess.run([str(BIN / "hops-create-rootfs")], capture_output=True, env=hops.env,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"Default rootfs:" in r.stdout
