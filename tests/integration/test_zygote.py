"""The hops-init zygote: the daemon starts one `hops-init --zygote`, which forks
each sandbox's hops-init (the daemon its parent) instead of the daemon spawning
and exec'ing one. Killed, it is not needed: hops-init is spawned again, and
nothing is left."""
import os
import signal
from pathlib import Path

from conftest import daemon_children, mount_points, read_line, wait_until

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '


ZYGOTE_ARGUMENTS = b"--zygote\0--minimal-mounts\0"


def forked_by_the_zygote(pid):
    """A forked hops-init keeps the zygote's argument area, its arguments
    blanked out; an exec'd one has just `hops-init`."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert cmdline.startswith(b"hops-init\0"), cmdline
    return cmdline == b"hops-init\0" + b"\0" * len(ZYGOTE_ARGUMENTS)


def code_mappings(pid):
    """(fields, anonymous huge KiB) of each executable mapping of `pid` but the
    kernel's own ([vdso] and the like)."""
    found, current = [], None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            current = fields if fields[1] == "r-xp" and not fields[-1].startswith("[") else None
        elif current and fields[0] == "AnonHugePages:":
            found.append((current, int(fields[1])))
    return found


def huge_pages_possible():
    return "[never]" not in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()


def with_a_running_init(h, check):
    """Runs `check(pid)` on the hops-init of a sandbox running `sleep` under
    `h`'s daemon (its only one), then ends the sandbox."""
    p = h.popen("run", "--", "/bin/sh", "-c", GUARD + "echo up; sleep 30")
    try:
        assert read_line(p.stdout) == b"up\n"
        (pid,) = daemon_children(h.process.pid, "hops-init")
        check(pid)
    finally:
        p.kill()
        p.wait()


def spawned(pid):
    assert not forked_by_the_zygote(pid)


def test_sandboxes_come_from_the_zygote_and_do_without_it(own_daemon):
    h = own_daemon("--warm-sandboxes", "0")
    (zygote,) = daemon_children(h.process.pid, "hops-zygote")
    assert Path(f"/proc/{zygote}/cmdline").read_bytes() == b"hops-init\0" + ZYGOTE_ARGUMENTS
    # With user namespaces it keeps only the mounts its children use before
    # their pivot (each child's namespace starts as a copy of its); the
    # host's are untouched.
    assert sorted(mount_points(zygote)) == ["/", "/dev", "/proc", "/sys"]
    assert "/sys/fs/cgroup" in mount_points(os.getpid())
    # Its code's 2 MiB-aligned part is on anonymous huge pages (THP allows it
    # here): an anonymous executable mapping wholly on them, the rest of the
    # code still the file's.
    if huge_pages_possible():
        code = code_mappings(zygote)
        huge = [(m, kib) for m, kib in code if len(m) == 5 and kib > 0]
        assert len(huge) == 1, code
        (start, end), kib = [int(x, 16) for x in huge[0][0][0].split("-")], huge[0][1]
        assert start % (2 << 20) == 0 and kib * 1024 == end - start and kib >= 2048, huge
        assert any(m[-1].endswith("/hops-init") for m, _ in code), code

    def forked(pid):
        assert forked_by_the_zygote(pid)
        # In its own namespaces, none of them the zygote's.
        for ns in ("mnt", "pid", "net", "ipc", "uts", "user"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/{zygote}/ns/{ns}"), ns
        # Nothing of the zygote's is open in it (its channel least of all):
        # only its streams, its control socket and what it opened itself.
        channel = os.readlink(f"/proc/{zygote}/fd/3")
        assert channel.startswith("socket:"), channel
        opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        assert channel not in opened, opened
        assert Path(f"/proc/{pid}/comm").read_text() == "hops-init\n"
        # It starts with the zygote's code mapped, the huge pages shared.
        if huge_pages_possible():
            assert [kib for m, kib in code_mappings(pid) if len(m) == 5] == [kib for _, kib in huge]

    with_a_running_init(h, forked)
    r = h("run", "--", "/bin/echo", "hello")
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr

    # Killed from outside: the next sandboxes start without it.
    os.kill(zygote, signal.SIGKILL)
    # Reaped at once by the daemon, not left a zombie until the next request.
    assert wait_until(lambda: not Path(f"/proc/{zygote}").exists()), "the killed zygote was not reaped"
    with_a_running_init(h, spawned)
    r = h("run", "--", "/bin/echo", "still")
    assert (r.returncode, r.stdout) == (0, b"still\n"), r.stderr


def test_without_the_zygote_hops_init_is_spawned(own_daemon):
    h = own_daemon("--warm-sandboxes", "0", env={"HOPS_NO_ZYGOTE": "1"})
    assert daemon_children(h.process.pid, "hops-zygote") == []
    with_a_running_init(h, spawned)


def test_zygote_code_can_stay_on_the_files_pages(own_daemon):
    """HOPS_ZYGOTE_CODE_FROM_FILE=1 (for a profiler, which names functions
    only in a file's mappings): no anonymous code, and sandboxes run."""
    h = own_daemon("--warm-sandboxes", "0", env={"HOPS_ZYGOTE_CODE_FROM_FILE": "1"})
    (zygote,) = daemon_children(h.process.pid, "hops-zygote")
    assert Path(f"/proc/{zygote}/cmdline").read_bytes() == b"hops-init\0" + ZYGOTE_ARGUMENTS + b"--code-from-file\0"
    code = code_mappings(zygote)
    assert code and all(m[-1].endswith("/hops-init") for m, _ in code), code
    r = h("run", "--", "/bin/echo", "hello")
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr


def test_the_mounts_a_root_was_built_from_are_not_in_view(own_daemon):
    """The daemon hands hops-init the mounts the root overlay was built from
    (its lower layer, the tmpfs of its writable layer), which it stacks
    beneath the root before its pivot: they go with the old root. A sandbox
    started on the spot and one from the warm pool see the same mounts, each
    mount point once."""
    def points_of(h):
        found = []
        with_a_running_init(h, lambda pid: found.extend(mount_points(pid)))
        return found

    cold = points_of(own_daemon("--warm-sandboxes", "0"))
    h = own_daemon("--warm-sandboxes", "1")
    # Its one warm hops-init has built the root ahead (the masks are in place).
    assert wait_until(lambda: any("/sys/firmware" in mount_points(pid)
                                  for pid in daemon_children(h.process.pid, "hops-init-warm")))
    warm = points_of(h)
    for points in (cold, warm):
        assert points.count("/") == 1 and len(points) == len(set(points)), points
        assert "/workspace" in points and "/tmp" in points, points
    assert sorted(cold) == sorted(warm)
