"""The baseline containment of issue 2: namespaces, masked /proc, read-only /sys,
no network, reduced capabilities. Every hostile step first checks it runs inside a
sandbox (PID 1 is hops-init) and does nothing otherwise."""
import os
import subprocess
import tempfile
from pathlib import Path

from conftest import read_line

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '


def run_sh(hops, script):
    r = hops("run", "--", "/bin/sh", "-c", GUARD + script)
    assert b"NOT-IN-SANDBOX" not in r.stdout
    return r


def test_pid_namespace_init_is_hops_init(hops):
    r = run_sh(hops, "ps -o pid,comm | tail -n +2")
    lines = [line.split() for line in r.stdout.decode().splitlines()]
    assert lines[0] == ["1", "hops-init"]
    # Only hops-init, the shell and its pipeline: no host process is visible.
    assert len(lines) <= 4
    names = {line[1] for line in lines}
    assert not names & {"hopsd", "systemd", "init", "sshd", "pytest", "python3"}


def test_hostname_is_the_sandbox_s(hops):
    r = run_sh(hops, "hostname")
    assert r.stdout == b"hops\n"


def test_network_disabled_means_no_usable_interface(hops):
    r = run_sh(hops, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip link 2>/dev/null | grep -c UP || true")
    lines = r.stdout.decode().split()
    assert lines[0] == "lo"
    assert lines[-1] == "0"  # not even lo is up


def test_host_files_outside_the_workspace_are_invisible(hops):
    with tempfile.TemporaryDirectory(prefix="hops-secret-") as secret:
        Path(secret, "secret.txt").write_text("host secret")
        r = run_sh(hops, f"cat {secret}/secret.txt 2>&1; ls /root; echo end")
        assert b"host secret" not in r.stdout


def test_proc_sys_and_sys_are_read_only(hops):
    # Write back the value that is already there: harmless even if it worked.
    r = run_sh(hops, "v=$(cat /proc/sys/kernel/printk_ratelimit); echo $v > /proc/sys/kernel/printk_ratelimit && echo WROTE; "
               "touch /sys/x 2>/dev/null && echo WROTE-SYS; echo done")
    assert b"WROTE" not in r.stdout
    assert b"done" in r.stdout


def test_sensitive_proc_files_are_masked(hops):
    r = run_sh(hops, "for f in /proc/sysrq-trigger /proc/timer_list /proc/keys /proc/kcore; do "
               "[ -e $f ] && [ -s $f ] && echo LEAK:$f; done; echo done")
    assert b"LEAK" not in r.stdout, r.stdout
    assert b"done" in r.stdout


def test_mount_is_refused(hops):
    r = run_sh(hops, "mount -t tmpfs none /mnt && echo MOUNTED; echo done")
    assert b"MOUNTED" not in r.stdout


def test_capabilities_are_cut(hops):
    r = run_sh(hops, "grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status; grep NoNewPrivs /proc/self/status")
    caps = dict(line.split(":\t") for line in r.stdout.decode().splitlines())
    eff = int(caps["CapEff"], 16)
    assert eff & (1 << 21) == 0, "CAP_SYS_ADMIN kept"
    assert eff & (1 << 19) == 0, "CAP_SYS_PTRACE kept"
    assert eff & (1 << 16) == 0, "CAP_SYS_MODULE kept"
    assert int(caps["CapBnd"], 16) == eff
    assert int(caps["CapAmb"], 16) == 0
    assert caps["NoNewPrivs"].strip() == "1"


def test_minimal_dev(hops):
    r = run_sh(hops, "ls /dev")
    names = set(r.stdout.decode().split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm"} <= names
    assert not any(n.startswith(("sd", "vd", "nvme", "mem", "kmsg")) for n in names)


def test_tmp_is_a_private_tmpfs(hops):
    r = run_sh(hops, "grep ' /tmp ' /proc/mounts | cut -d' ' -f3; echo x > /tmp/f && cat /tmp/f")
    assert r.stdout.decode().split() == ["tmpfs", "x"]


def test_kill_of_the_own_process_group_stays_inside(hops):
    hops("system", "start", check=True)
    daemon = hops.daemon_pid()
    r = run_sh(hops, "kill -9 0; echo survived")
    assert r.returncode == 137
    # The daemon is in another session and process group: it is untouched.
    assert hops.daemon_pid() == daemon
    assert hops("run", "--", "/bin/true").returncode == 0


def test_rootfs_symlinks_cannot_redirect_sandbox_mounts(hops, tmp_path):
    import subprocess

    hops("init", check=True)
    tree = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(hops.home / "images/rootfs/default/rootfs"), str(tree)], check=True)
    (tree / "workspace").rmdir()
    (tree / "workspace").symlink_to(".")
    r = hops("rootfs", "create", "linked", "--from", str(tree))
    assert r.returncode == 0, r.stderr
    try:
        r = hops("run", "--rootfs", "linked", "--", "/bin/true")
        assert r.returncode == 125
        assert b"not a directory" in r.stderr
    finally:
        hops("rootfs", "rm", "linked")


def test_no_mount_of_a_sandbox_reaches_a_host_whose_root_is_shared(own_daemon, tmp_path):
    """systemd makes / shared; a copy of a shared mount (the idmapped
    workspace, the root's layers) would be its peer, and every mount made on
    it in a sandbox would show up on the host, a policy's mount below
    /workspace on the host's own workspace directory. The daemon runs here in
    a mount namespace of its own whose / is shared, which stands for such a
    host: its mounts stay as they were while sandboxes (warm and started on
    the spot) run with a mount below their workspace."""
    h = own_daemon("--warm-sandboxes", "1", wrapper=[
        "unshare", "--mount", "--", "sh", "-c", 'mount --make-rshared / && exec "$0" "$@"'])
    host_view = Path(f"/proc/{h.process.pid}/mountinfo")
    root_line = next(line for line in host_view.read_text().splitlines() if line.split()[4] == "/")
    assert "shared:" in root_line, root_line
    before = sorted(line.split()[4] for line in host_view.read_text().splitlines())
    policy = tmp_path / "policy.toml"
    policy.write_text('[[sandbox.mounts]]\nsource = "tmpfs"\ndestination = "/workspace/sub"\ntype = "tmpfs"\nmode = "rw"\n')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    # The first takes the warm one; the next start on the spot (the refill
    # may not be ready) or take the refill: both paths.
    for _ in range(3):
        p = h.popen("run", "--policy-file", str(policy), str(workspace), "--", "/bin/sh", "-c",
                    "echo x > /workspace/sub/file; grep -c ' /workspace/sub ' /proc/self/mountinfo; read line",
                    stdin=subprocess.PIPE)
        assert read_line(p.stdout) == b"1\n"
        # While it runs: nothing of it in the daemon's (the host's) view.
        assert sorted(line.split()[4] for line in host_view.read_text().splitlines()) == before
        # (The mount point is made in the workspace; what is written on the
        # mount stays in the sandbox's tmpfs.)
        assert [entry.name for entry in workspace.iterdir()] == ["sub"] and not any((workspace / "sub").iterdir())
        p.stdin.write(b"done\n")
        p.stdin.flush()
        assert p.wait(timeout=30) == 0
    assert sorted(line.split()[4] for line in host_view.read_text().splitlines()) == before
