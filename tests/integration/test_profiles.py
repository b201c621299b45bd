"""Profiles: the profile commands, and every key's effect inside a real sandbox."""
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '
BUILTINS = ["default", "minimal", "untrusted", "development", "build", "ci", "network-allowed"]


def write_profile(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(textwrap.dedent(body))
    return path


def run_with(hops, profile_path, script, *flags, workspace=None):
    args = ["run", "--policy-file", str(profile_path), *flags]
    if workspace:
        args.append(str(workspace))
    r = hops(*args, "--", "/bin/sh", "-c", GUARD + script)
    assert b"NOT-IN-SANDBOX" not in r.stdout
    return r


# --- the commands ---------------------------------------------------------------

def test_list_shows_builtins_with_descriptions(hops):
    r = hops("profile", "list")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    for name in BUILTINS:
        line = next(l for l in out.splitlines() if l.split()[0] == name)
        assert "built-in" in line and len(line.split()) > 3


def test_user_profile_shadows_builtin_and_list_says_so(hops):
    path = write_profile(hops.home / "profiles", "minimal", 'description = "my minimal"\n')
    try:
        out = hops("profile", "list").stdout.decode()
        line = next(l for l in out.splitlines() if l.startswith("minimal "))
        assert "my minimal" in line and str(path) in line and "shadows built-in" in line
        assert b"my minimal" in hops("profile", "show", "minimal").stdout
    finally:
        path.unlink()


def test_show_prints_the_effective_toml(hops):
    r = hops("profile", "show", "untrusted")
    assert r.returncode == 0
    out = r.stdout.decode()
    for expected in ('name = "untrusted"', 'workspace_mode = "overlay"', 'network = "disabled"',
                     '[capabilities.resource_limits]', 'denied_paths = ["/etc/shadow", "/etc/gshadow"]',
                     'PATH = "/usr/local/sbin'):
        assert expected in out


def test_create_from_template_writes_a_usable_profile(hops):
    r = hops("profile", "create", "myprof", "--template", "untrusted")
    path = hops.home / "profiles" / "myprof.toml"
    try:
        assert r.returncode == 0, r.stderr
        assert path.exists()
        assert hops("profile", "validate", str(path)).stdout == b"valid\n"
        r = hops("run", "--profile", "myprof", "--", "/bin/hostname")
        assert (r.returncode, r.stdout) == (0, b"untrusted\n")
        # Creating it again is refused without --force.
        r = hops("profile", "create", "myprof", "--template", "untrusted")
        assert r.returncode == 125 and b"already exists" in r.stderr
    finally:
        path.unlink(missing_ok=True)


def test_validate_lists_every_problem_with_file_and_key(hops, tmp_path):
    good = write_profile(tmp_path, "good", '[sandbox]\nhostname = "ok"\n')
    r = hops("profile", "validate", str(good))
    assert (r.returncode, r.stdout) == (0, b"valid\n")
    bad = write_profile(tmp_path, "bad", """
        colour = "red"
        [capabilities]
        network = "wifi"
        [capabilities.resource_limits]
        memory_bytes = "lots"
        """)
    r = hops("profile", "validate", str(bad))
    assert r.returncode == 1
    out = r.stdout.decode()
    assert f"{bad}: colour: unknown key" in out
    assert f"{bad}: capabilities.network: unknown network mode 'wifi'" in out
    assert f"{bad}: capabilities.resource_limits.memory_bytes: invalid size 'lots'" in out


def test_malformed_toml_names_the_line(hops, tmp_path):
    bad = write_profile(tmp_path, "broken", '[sandbox]\nhostname = "unterminated\n')
    r = hops("profile", "validate", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2: malformed TOML".encode() in r.stdout


def test_run_refuses_an_invalid_profile_before_starting(hops, tmp_path):
    bad = write_profile(tmp_path, "bad", '[capabilities]\nnetwork = "wifi"\n')
    r = hops("run", "--policy-file", str(bad), "--", "/bin/true")
    assert r.returncode == 125
    assert b"capabilities.network" in r.stderr
    assert hops.sandboxes() == []


def test_config_is_an_alias_of_policy_file(hops, tmp_path):
    path = write_profile(tmp_path, "named", '[sandbox]\nhostname = "from-config"\n')
    r = hops("run", "--config", str(path), "--", "/bin/hostname")
    assert r.stdout == b"from-config\n"


def test_unknown_profile_is_refused_with_the_known_ones(hops):
    r = hops("run", "--profile", "nosuch", "--", "/bin/true")
    assert r.returncode == 125
    assert b"no profile named 'nosuch'" in r.stderr and b"untrusted" in r.stderr


# --- each key, inside a real sandbox -----------------------------------------

def test_read_only_bind_cannot_be_written(hops, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "file").write_text("original\n")
    profile = write_profile(tmp_path, "p", f"""
        [[sandbox.mounts]]
        type = "bind"
        source = "{data}"
        destination = "/data"
        mode = "ro"
        """)
    r = run_with(hops, profile, "cat /data/file; echo changed > /data/file && echo WROTE; touch /data/new && echo WROTE; echo end")
    assert r.stdout.decode().split() == ["original", "end"]
    assert (data / "file").read_text() == "original\n" and not (data / "new").exists()


def test_read_write_bind_writes_through(hops, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    profile = write_profile(tmp_path, "p", f"""
        [[sandbox.mounts]]
        type = "bind"
        source = "{data}"
        destination = "/srv/data"
        mode = "rw"
        """)
    r = run_with(hops, profile, "echo hello > /srv/data/out")
    assert r.returncode == 0, r.stderr
    assert (data / "out").read_text() == "hello\n"


def test_denied_file_inside_an_allowed_directory_cannot_be_read(hops, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "public.txt").write_text("public")
    (shared / "secret.txt").write_text("top secret")
    (shared / "private").mkdir()
    (shared / "private" / "key").write_text("private key")
    profile = write_profile(tmp_path, "p", f"""
        [capabilities]
        allowed_paths = ["{shared}"]
        denied_paths = ["{shared}/secret.txt", "{shared}/private"]
        """)
    r = run_with(hops, profile, f"cat {shared}/public.txt; echo; cat {shared}/secret.txt; echo; ls -A {shared}/private; cat {shared}/private/key; echo end")
    out = r.stdout.decode()
    assert "public" in out and "end" in out
    assert "top secret" not in out and "private key" not in out


def test_denied_path_in_the_image_is_masked(hops, tmp_path):
    profile = write_profile(tmp_path, "p", '[capabilities]\ndenied_paths = ["/etc/passwd", "/usr/sbin"]\n')
    r = run_with(hops, profile, "wc -c < /etc/passwd; ls /usr/sbin | wc -l")
    assert r.stdout.decode().split() == ["0", "0"]


def test_allowed_paths_are_read_only_without_write(hops, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "f").write_text("x\n")
    profile = write_profile(tmp_path, "p", f"""
        [capabilities]
        filesystem = ["read", "execute"]
        allowed_paths = ["{shared}"]
        """)
    r = run_with(hops, profile, f"cat {shared}/f; touch {shared}/g && echo WROTE; touch /workspace/g && echo WROTE-WS; echo end",
                 workspace=tmp_path)
    assert r.stdout.decode().split() == ["x", "end"]
    assert not (shared / "g").exists() and not (tmp_path / "g").exists()


def test_without_execute_the_workspace_is_noexec(hops, tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    profile = write_profile(tmp_path, "p", '[capabilities]\nfilesystem = ["read", "write"]\n')
    r = hops("run", "--policy-file", str(profile), str(tmp_path), "--", "/workspace/run.sh")
    assert r.returncode == 126
    # With execute it runs.
    r = hops("run", str(tmp_path), "--", "/workspace/run.sh")
    assert (r.returncode, r.stdout) == (0, b"ran\n")


def test_tmpfs_size_is_enforced(hops, tmp_path):
    profile = write_profile(tmp_path, "p", """
        [[sandbox.mounts]]
        type = "tmpfs"
        destination = "/scratch"
        options = ["size=1m", "mode=1777"]
        """)
    r = run_with(hops, profile, "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1; echo rc=$?; stat -c %a /scratch")
    out = r.stdout.decode()
    assert "No space left on device" in out and "rc=1" in out
    assert out.split()[-1] == "1777"


def test_overlay_mount_leaves_the_host_directory_unchanged(hops, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("original")
    (data / "gone.txt").write_text("still here")
    profile = write_profile(tmp_path, "p", f"""
        [[sandbox.mounts]]
        type = "overlay"
        source = "{data}"
        destination = "/data"
        """)
    r = run_with(hops, profile, "echo changed > /data/keep.txt; rm /data/gone.txt; echo new > /data/new.txt; cat /data/keep.txt; ls /data")
    assert r.stdout.decode().split() == ["changed", "keep.txt", "new.txt"]
    assert sorted(p.name for p in data.iterdir()) == ["gone.txt", "keep.txt"]
    assert (data / "keep.txt").read_text() == "original"


def test_workspace_modes(hops, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "f").write_text("host\n")
    r = hops("run", "--workspace-mode", "overlay", str(ws), "--", "/bin/sh", "-c", "echo sandbox > f; echo new > g; cat f")
    assert (r.returncode, r.stdout) == (0, b"sandbox\n")
    assert (ws / "f").read_text() == "host\n" and not (ws / "g").exists()
    r = hops("run", "--workspace-mode", "ro", str(ws), "--", "/bin/sh", "-c", "cat f; echo x > f && echo WROTE; echo end")
    assert r.stdout == b"host\nend\n"
    r = hops("run", "--workspace-mode", "rw", str(ws), "--", "/bin/sh", "-c", "echo sandbox > f")
    assert (ws / "f").read_text() == "sandbox\n"
    r = hops("run", "--workspace-mode", "sideways", "--", "/bin/true")
    assert r.returncode == 125 and b"rw, ro, overlay" in r.stderr


def test_untrusted_profile_keeps_the_host_workspace_untouched(hops, tmp_path):
    (tmp_path / "f").write_text("host")
    r = hops("run", "--profile", "untrusted", str(tmp_path), "--", "/bin/sh", "-c",
             "echo evil > /workspace/f; cat /workspace/f; wc -c < /etc/shadow 2>/dev/null || echo no-shadow")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split()[0] == "evil"
    assert (tmp_path / "f").read_text() == "host"


def test_environment_and_hostname_come_from_the_profile(hops, tmp_path):
    profile = write_profile(tmp_path, "p", """
        [sandbox]
        hostname = "profiled"
        working_directory = "/tmp"
        [sandbox.environment]
        GREETING = "from profile"
        PATH = "/bin:/usr/bin"
        """)
    r = run_with(hops, profile, 'hostname; pwd; echo "$GREETING"; echo "$PATH"; echo "$HOSTNAME"')
    assert r.stdout.decode().splitlines() == ["profiled", "/tmp", "from profile", "/bin:/usr/bin", "profiled"]


def test_flags_override_the_profile(hops, tmp_path):
    profile = write_profile(tmp_path, "p", """
        [capabilities]
        network = "disabled"
        [sandbox]
        hostname = "profiled"
        [sandbox.environment]
        GREETING = "from profile"
        """)
    r = run_with(hops, profile, 'hostname; echo "$GREETING"; cat /sys/class/net/lo/flags',
                 "--hostname", "flagged", "-e", "GREETING=from flag", "--network", "loopback")
    lines = r.stdout.decode().split()
    assert lines[:3] == ["flagged", "from", "flag"]
    assert int(lines[3], 16) & 1 == 1, "lo should be up with --network loopback"


def test_loopback_mode_lets_local_servers_work(hops):
    r = hops("run", "--network", "loopback", "--", "/bin/sh", "-c",
             GUARD + "nc -l -p 8080 > /tmp/got & sleep 0.3; echo over-loopback | nc -w 2 127.0.0.1 8080; sleep 0.3; cat /tmp/got")
    assert r.stdout.decode().strip().endswith("over-loopback"), r.stdout
    r = hops("run", "--", "/bin/sh", "-c", GUARD + "cat /sys/class/net/lo/flags")
    assert int(r.stdout.decode(), 16) & 1 == 0, "lo must stay down with the network disabled"


def test_limits_parse_and_validate(hops):
    r = hops("run", "--cpus", "0.5", "--memory", "1.5G", "--max-processes", "64", "--verbose", "--", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert b"0.5 CPUs" in r.stderr and b"1536M memory" in r.stderr and b"64 processes" in r.stderr
    r = hops("run", "--memory", "12Q", "--", "/bin/true")
    assert r.returncode == 125 and b"12Q" in r.stderr
    r = hops("run", "--cpus", "999", "--", "/bin/true")
    assert r.returncode == 125 and b"more than this host has" in r.stderr
    r = hops("run", "--memory", "1K", "--", "/bin/true")
    assert r.returncode == 125 and b"below the minimum" in r.stderr
