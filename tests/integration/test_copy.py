"""hops cp: files and trees into and out of a running sandbox, and never beyond it."""
import os
import stat
import uuid
from pathlib import Path

import pytest


@pytest.fixture
def box(hops, tmp_path, monkeypatch):
    """A running sandbox whose workspace (and the test's current directory) is
    a temporary directory."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    hops("system", "start", check=True)
    name = "cp-" + uuid.uuid4().hex[:8]
    hops("create", "--name", name, str(workspace), check=True)
    yield name
    hops("rm", "-f", name)


def sh(hops, box, script):
    r = hops("exec", box, "--", "/bin/sh", "-c", script)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_copy_a_file_in_and_out(hops, box, tmp_path):
    source = tmp_path / "note.txt"
    source.write_bytes(b"hello\x00binary\xff\n" * 1000)
    os.chmod(source, 0o640)
    hops("cp", str(source), f"{box}:/tmp/", check=True)
    assert sh(hops, box, "stat -c '%s %a' /tmp/note.txt") == f"{source.stat().st_size} 640\n"
    # To a new name.
    hops("cp", str(source), f"{box}:/tmp/renamed", check=True)
    sh(hops, box, "cmp /tmp/note.txt /tmp/renamed")
    # Out, into a directory and to a name.
    out = tmp_path / "out"
    out.mkdir()
    hops("cp", f"{box}:/tmp/renamed", str(out), check=True)
    assert (out / "renamed").read_bytes() == source.read_bytes()
    hops("cp", f"{box}:/tmp/note.txt", str(out / "again.txt"), check=True)
    assert (out / "again.txt").read_bytes() == source.read_bytes()


def test_copy_a_tree_in_and_out_keeps_links_as_links(hops, box, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("a\n")
    (tree / "sub" / "deeper" / "b.bin").write_bytes(os.urandom(300_000))
    os.symlink("sub/deeper/b.bin", tree / "relative-link")
    os.chmod(tree / "sub", 0o750)
    hops("cp", str(tree), f"{box}:/root", check=True)
    listing = sh(hops, box, "cd /root/tree && find . | sort && readlink relative-link && stat -c %a sub")
    assert listing.split() == [".", "./a.txt", "./relative-link", "./sub", "./sub/deeper", "./sub/deeper/b.bin",
                               "sub/deeper/b.bin", "750"]
    back = tmp_path / "back"
    back.mkdir()
    hops("cp", f"{box}:/root/tree", str(back), check=True)
    assert (back / "tree" / "sub" / "deeper" / "b.bin").read_bytes() == (tree / "sub" / "deeper" / "b.bin").read_bytes()
    assert os.readlink(back / "tree" / "relative-link") == "sub/deeper/b.bin"
    # Relative paths inside the sandbox start at its working directory.
    hops("cp", str(tree / "a.txt"), f"{box}:relative.txt", check=True)
    assert sh(hops, box, "cat /workspace/relative.txt") == "a\n"
    assert (tmp_path / "workspace" / "relative.txt").read_text() == "a\n"


def test_copy_out_never_follows_a_symlink_out_of_the_sandbox(hops, box, tmp_path):
    # A file only the host has; the sandbox points links at it every way it can.
    secret = Path("/tmp") / f"hops-host-secret-{uuid.uuid4().hex}"
    secret.write_text("host-only secret\n")
    try:
        sh(hops, box, f"""
            ln -s {secret} /tmp/absolute
            ln -s ../../../../../..{secret} /tmp/dotdot
            mkdir -p /tmp/d && ln -s / /tmp/d/root
            ln -s /proc/1/root{secret} /tmp/magic
        """)
        out = tmp_path / "out"
        out.mkdir()
        # The link itself is copied, never what it points to.
        for link in ("absolute", "dotdot", "magic"):
            hops("cp", f"{box}:/tmp/{link}", str(out), check=True)
            assert (out / link).is_symlink()
        # Through a symlinked directory, the path resolves inside the sandbox,
        # where there is no such file.
        r = hops("cp", f"{box}:/tmp/d/root{secret}", str(out / "leak"))
        assert r.returncode == 125 and b"no " in r.stderr
        assert not (out / "leak").exists()
        r = hops("cp", f"{box}:/tmp/magic/x", str(out / "leak2"))
        assert r.returncode == 125
        for path in out.rglob("*"):
            if not path.is_symlink() and path.is_file():
                assert "host-only secret" not in path.read_text()
    finally:
        secret.unlink()


def test_copy_in_never_writes_through_a_symlink_out_of_the_sandbox(hops, box, tmp_path):
    host_dir = Path("/tmp") / f"hops-host-dir-{uuid.uuid4().hex}"
    host_dir.mkdir()
    target = host_dir / "victim"
    target.write_text("untouched\n")
    try:
        sh(hops, box, f"ln -s {host_dir} /tmp/evil-dir; ln -s {target} /tmp/evil-file")
        payload = tmp_path / "payload"
        payload.write_text("written by cp\n")
        # A symlinked destination directory resolves inside the sandbox (where
        # that directory does not exist), not on the host.
        r = hops("cp", str(payload), f"{box}:/tmp/evil-dir/")
        assert r.returncode == 125
        # Copying onto a symlink replaces the link, inside the sandbox.
        hops("cp", str(payload), f"{box}:/tmp/evil-file", check=True)
        assert sh(hops, box, "cat /tmp/evil-file; test ! -L /tmp/evil-file && echo replaced") == \
            "written by cp\nreplaced\n"
        assert target.read_text() == "untouched\n"
        assert sorted(p.name for p in host_dir.iterdir()) == ["victim"]
    finally:
        for p in host_dir.iterdir():
            p.unlink()
        host_dir.rmdir()


def test_copy_refuses_bad_requests(hops, box, tmp_path):
    r = hops("cp", str(tmp_path / "missing"), f"{box}:/tmp/")
    assert r.returncode == 125 and b"missing" in r.stderr
    r = hops("cp", "/etc/hostname", "/tmp/x")
    assert r.returncode == 125 and b"SANDBOX:PATH" in r.stderr
    r = hops("cp", f"{box}:/tmp/nothing-here", str(tmp_path))
    assert r.returncode == 125 and b"no /tmp/nothing-here" in r.stderr
    r = hops("cp", f"{box}:/proc", str(tmp_path))
    assert r.returncode == 125 and b"kernel filesystem" in r.stderr
    # A stopped sandbox cannot be copied to or from.
    hops("stop", box, check=True)
    r = hops("cp", "/etc/hostname", f"{box}:/tmp/")
    assert r.returncode == 125 and b"not running" in r.stderr
