"""hops doctor: checks the host and says what to fix."""
import os


def test_doctor_checks_this_host(hops):
    hops("system", "start", check=True)
    hops("init", check=True)
    r = hops("doctor")
    assert r.returncode == 0, r.stdout
    lines = {line.split()[1] if line.split()[1] != "network" else "network": line
             for line in r.stdout.decode().splitlines() if not line.startswith("      ")}
    for name in ("kernel", "root", "namespaces", "cgroups", "overlay", "busybox", "HOPS_HOME", "daemon"):
        assert lines[name].startswith("OK"), lines[name]
    assert "cgroup v" in lines["cgroups"]


def test_doctor_warns_and_says_the_fix(hops):
    hops("system", "stop")
    os.chmod(hops.home, 0o755)
    try:
        r = hops("doctor")
        out = r.stdout.decode()
        assert r.returncode == 0  # warnings only
        assert "WARN  daemon" in out and "fix: hops system start" in out
        assert "WARN  HOPS_HOME" in out and f"fix: chmod 700 {hops.home}" in out
    finally:
        os.chmod(hops.home, 0o700)
