"""Integration tests: the real `hops` and `hopsd` binaries against real sandboxes, as root.

Every test session uses its own HOPS_HOME under /tmp, so it never touches the user's
~/.hops, and the session ends by checking that nothing was left behind: no mount, no
hops-init process, no sandbox directory.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("HOPS_BIN", REPO / ".build" / "debug"))


class Hops:
    def __init__(self, home: Path):
        self.home = home
        # The daemon treats this file as the host's resolv.conf when it exists,
        # so network tests can point sandboxes at their own DNS server.
        # TMPDIR is the home's own, so a temporary file any hops program
        # leaves behind (Foundation puts downloads there) is caught at the end.
        (home / "tmp").mkdir(exist_ok=True)
        self.env = dict(os.environ, HOPS_HOME=str(home), HOPS_RESOLV_CONF=str(home / "test-resolv.conf"),
                        DOCKER_CONFIG=str(home / "docker"), TMPDIR=str(home / "tmp"))
        self.env.pop("HOPS_DAEMON", None)
        self.env.pop("HOPS_INIT", None)

    def __call__(self, *args, input=None, timeout=120, cwd=None, check=False):
        result = subprocess.run(
            [str(BIN / "hops"), *args],
            input=input,
            capture_output=True,
            timeout=timeout,
            env=self.env,
            cwd=cwd,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"hops {args} failed with {result.returncode}: {result.stderr.decode()}")
        return result

    def popen(self, *args, **kwargs):
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(
            [str(BIN / "hops"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            **kwargs,
        )

    def daemon_pid(self):
        try:
            return int((self.home / "hopsd.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def sandboxes(self):
        """The home's sandboxes: those with a directory (kept, detached,
        created, or with a resolv.conf), and, while its daemon runs, those it
        lists (a run thrown away at its exit has no directory)."""
        directory = self.home / "sandboxes"
        found = {p.name for p in directory.iterdir()} if directory.exists() else set()
        pid = self.daemon_pid()
        if pid and Path(f"/proc/{pid}").exists():
            r = self("ps", "-aq")
            if r.returncode == 0:
                found |= set(r.stdout.decode().split())
        return sorted(found)

    def marked_cgroups(self):
        """The names of the cgroups marked as this home's (runs, and the warm
        pool's sandboxes), in any hierarchy."""
        return marked_cgroups(self.home)


def marked_cgroups(home):
    names = set()
    for path in list(Path("/sys/fs/cgroup").glob("*/hops/*")) + list(Path("/sys/fs/cgroup").glob("hops/*")):
        for attribute in ("trusted.hops.home", "user.hops.home"):  # as SandboxCgroup marks them
            try:
                if os.getxattr(path, attribute) == str(home).encode():
                    names.add(path.name)
                break
            except OSError:
                pass
    return sorted(names)


def hops_init_pids(name="hops-init"):
    """Host pids of every process whose command name is `name`: hops-init, the
    PID 1 of sandboxes; or hops-init-warm, one waiting in the daemon's warm pool
    (not yet any sandbox's, and not a leak while its daemon runs)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if f"({name})" in stat and stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def mounts_under(path: Path):
    with open("/proc/self/mounts") as f:
        return [line for line in f if str(path) in line]


def wait_until(predicate, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def read_line(stream, timeout=30.0):
    """Reads one line from a Popen pipe, failing the test instead of hanging forever."""
    import select

    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "timed out waiting for output"
    return stream.readline()


@pytest.fixture(scope="session")
def hops():
    assert os.geteuid() == 0, "integration tests need root"
    assert (BIN / "hops").exists(), f"build first: {BIN / 'hops'} is missing"
    home = Path(tempfile.mkdtemp(prefix="hops-test-"))
    h = Hops(home)
    yield h
    h("system", "stop")
    assert wait_until(lambda: h.daemon_pid() is None or not Path(f"/proc/{h.daemon_pid()}").exists())
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout if shutil.which("nft") else ""
    leftovers = {
        "network links naming hops": [l.split(":")[1].strip() for l in links.splitlines() if "hops" in l],
        "nftables tables naming hops": [l for l in tables.splitlines() if "hops" in l],
        "sandbox cgroups": [str(p) for p in Path("/sys/fs/cgroup").glob("*/hops/*") if p.is_dir()]
        + [str(p) for p in Path("/sys/fs/cgroup").glob("hops/*") if p.is_dir()],
        "hops-init processes": hops_init_pids(),
        "warm hops-init processes": hops_init_pids("hops-init-warm"),
        "hops-init zygotes": hops_init_pids("hops-zygote"),
        "sandbox directories": h.sandboxes(),
        "cgroups marked as the home's": marked_cgroups(home),
        "temporary files": sorted(p.name for p in (home / "tmp").iterdir()),
    }
    shutil.rmtree(home, ignore_errors=True)
    assert not any(leftovers.values()), f"left behind: {leftovers}"


@pytest.fixture
def own_daemon():
    """A daemon of the test's own, in its own home, with the flags and
    environment given: `own_daemon(*flags, env=None)` returns its Hops, whose
    `process` is the daemon. At the end every sandbox it made is removed, it
    is stopped, and nothing of it (warm pool included) is left."""
    started = []

    def start(*flags, env=None, wrapper=()):
        """`wrapper`: a command line that ends by exec'ing its arguments (the
        daemon's), to start it somewhere else (another mount namespace)."""
        home = Path(tempfile.mkdtemp(prefix="hops-own-"))
        h = Hops(home)
        h.env.update(env or {})
        h.process = subprocess.Popen([*wrapper, str(BIN / "hopsd"), "--home", str(home), *flags], env=h.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert wait_until(lambda: (home / "hops.sock").exists() and h("system", "status").returncode == 0, timeout=20)
        started.append(h)
        return h

    yield start
    zygotes = [pid for h in started for pid in daemon_children(h.process.pid, "hops-zygote")]
    for h in started:
        ids = h("ps", "-aq").stdout.decode().split()
        if ids:
            h("rm", "-f", *ids)
        h("system", "stop")
        h.process.wait(timeout=30)
        assert not h.marked_cgroups(), f"cgroups of the daemon's outlived it: {h.marked_cgroups()}"
        assert not any((h.home / "tmp").iterdir()), f"temporary files left: {list((h.home / 'tmp').iterdir())}"
        shutil.rmtree(h.home, ignore_errors=True)
    assert wait_until(lambda: not hops_init_pids())
    assert wait_until(lambda: not any(daemon_children(h.process.pid, "hops-init-warm") for h in started))
    assert wait_until(lambda: not [pid for pid in zygotes if Path(f"/proc/{pid}").exists()]), "a zygote outlived its daemon"


def mount_points(pid):
    """The mount points in `pid`'s mount namespace, as it sees them."""
    return [line.split()[4] for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]


def daemon_children(daemon_pid, name):
    """A daemon's child processes called `name` (another daemon, the test
    session's, may keep a pool of its own)."""
    children = []
    for pid in hops_init_pids(name):
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == daemon_pid:
                children.append(pid)
        except (OSError, ValueError):
            continue
    return children


@pytest.fixture
def workspace(tmp_path):
    return tmp_path


@pytest.fixture(autouse=True)
def no_leaks_per_test(request):
    """After each test that used the daemon, every non-kept sandbox must be gone."""
    yield
    if "hops" not in request.fixturenames:
        return
    h = request.getfixturevalue("hops")
    kept = set()
    for name in h.sandboxes():
        # A run's directory may be going right now: its exit is told first.
        try:
            text = (h.home / "sandboxes" / name / "state.json").read_text()
        except FileNotFoundError:
            continue
        if json.loads(text).get("keep"):
            kept.add(name)
    assert wait_until(lambda: set(h.sandboxes()) <= kept), f"sandbox directories left: {h.sandboxes()}"
    assert wait_until(lambda: not hops_init_pids()), f"hops-init processes left: {hops_init_pids()}"
    assert not mounts_under(h.home), "mounts left under HOPS_HOME"


@pytest.fixture
def lc(hops, tmp_path, monkeypatch):
    """The daemon, and at the end of the test every sandbox it made removed.
    The test runs in a temporary directory: sandboxes created without a PATH
    show the current directory at /workspace."""
    monkeypatch.chdir(tmp_path)
    hops("system", "start", check=True)
    yield hops
    ids = hops("ps", "-aq").stdout.decode().split()
    if ids:
        hops("rm", "-f", *ids)
