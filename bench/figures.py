#!/usr/bin/env python3
"""The figures issue 10 asks for beyond start-up latency, side by side with
bubblewrap and crun on the same rootfs, in one run, as ratios:

- sequential throughput (sandboxes per second, /bin/true one after another);
- 50 sandboxes, 10 at a time (wall time);
- streaming: 1 GiB through `hops run -- cat` against a plain pipe through cat;
- memory: the daemon's resident size idle and with 50 sandboxes running sleep,
  and the per-sandbox cost outside the sandbox's own cgroup against bwrap's;
- disk: what a sandbox that writes nothing adds.

Called by bench/run.sh with the paths it set up; prints a table.
"""
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

hops, rootfs, bundle, home = sys.argv[1:5]
env = dict(os.environ, HOPS_HOME=home)
SEQUENTIAL = 50
CONCURRENT_TOTAL, CONCURRENCY = 50, 10
# Throughput is measured in rounds, each tool once a round in shuffled order,
# and the medians reported: this machine's speed changes from one second to
# the next, and a single pass let a slow spell fall on one tool only.
THROUGHPUT_ROUNDS = int(os.environ.get("THROUGHPUT_ROUNDS", "7"))

bwrap = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev",
         "--tmpfs", "/tmp"]


def hops_true():
    return [hops, "run", "/tmp", "--", "/bin/true"]


def crun_true():
    return ["crun", "run", "--bundle", bundle, "hops-bench-" + uuid.uuid4().hex[:12]]


def run(command):
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                   check=True)


def sequential(make):
    started = time.monotonic()
    for _ in range(SEQUENTIAL):
        run(make())
    return SEQUENTIAL / (time.monotonic() - started)


def concurrent(make):
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(lambda _: run(make()), range(CONCURRENT_TOTAL)))
    return (time.monotonic() - started) * 1000


def throughput():
    """Medians over THROUGHPUT_ROUNDS interleaved rounds: (sequential, concurrent) per tool."""
    tools = {"hops": hops_true, "bwrap": lambda: bwrap + ["/bin/true"], "crun": crun_true}
    seq = {name: [] for name in tools}
    conc = {name: [] for name in tools}
    for _ in range(THROUGHPUT_ROUNDS):
        order = list(tools)
        random.shuffle(order)
        for name in order:
            seq[name].append(sequential(tools[name]))
        random.shuffle(order)
        for name in order:
            conc[name].append(concurrent(tools[name]))
    return ({name: statistics.median(v) for name, v in seq.items()},
            {name: statistics.median(v) for name, v in conc.items()})


def rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def uss(pid):
    """Memory only this process holds (private pages): what one more of it costs.
    RSS would count the executable's pages that every copy shares."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1]) * 1024
    return total


def warm_pids():
    """The daemon's warm hops-inits (its pool), waiting for a plan."""
    daemon = Path(home, "hopsd.pid").read_text().strip()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "(hops-init-warm)" in stat and stat.rsplit(")", 1)[1].split()[1] == daemon:
            pids.append(int(entry.name))
    return pids


def streaming():
    size = 1 << 30
    def through(command):
        started = time.monotonic()
        feeder = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
        sink = subprocess.run(command, stdin=feeder.stdout, stdout=subprocess.DEVNULL, env=env, check=True)
        feeder.wait()
        return size / (time.monotonic() - started) / (1 << 20)
    # Pipe speed here swings with where the scheduler puts the two ends: three
    # rounds, each plain then sandboxed, and the median of each.
    plain, sandboxed = [], []
    for _ in range(3):
        plain.append(through(["cat"]))
        sandboxed.append(through([hops, "run", "/tmp", "--", "/bin/cat"]))
    return statistics.median(plain), statistics.median(sandboxed)


def memory():
    daemon = int(Path(home, "hopsd.pid").read_text())
    time.sleep(1)
    idle = rss(daemon)
    warm = warm_pids()
    warm_uss = sum(uss(pid) for pid in warm)
    ids = [subprocess.run([hops, "run", "-d", "/tmp", "--", "/bin/sleep", "120"], env=env, capture_output=True,
                          check=True).stdout.decode().strip() for _ in range(50)]
    time.sleep(1)
    busy = rss(daemon)
    inits = [int(json.loads(subprocess.run([hops, "inspect", i], env=env, capture_output=True).stdout)["live"]["pid"])
             for i in ids]
    # Outside the sandbox's cgroup: what the daemon grew by. hops-init is the
    # sandbox's PID 1 and sits in its cgroup (it is charged there).
    outside = max(0, busy - idle) / 50
    init = sum(uss(pid) for pid in inits) / 50
    subprocess.run([hops, "rm", "-f", *ids], env=env, stdout=subprocess.DEVNULL)
    # bwrap's own process is what it costs outside the sandbox.
    sleepers = [subprocess.Popen(bwrap + ["/bin/sleep", "120"]) for _ in range(50)]
    time.sleep(1)
    bwrap_outside = sum(uss(p.pid) for p in sleepers) / 50
    for p in sleepers:
        p.kill()
        p.wait()
    return idle, busy, outside, init, bwrap_outside, len(warm), warm_uss


def disk():
    """What a created sandbox (its layers on disk) and a run (its layers in
    memory) add to the host's disk, writing nothing themselves."""
    sandbox = subprocess.run([hops, "create", "/tmp"], env=env, capture_output=True, check=True).stdout.decode().strip()
    created = int(subprocess.run(["du", "-sb", f"{home}/sandboxes/{sandbox}"], capture_output=True).stdout.split()[0])
    subprocess.run([hops, "rm", "-f", sandbox], env=env, stdout=subprocess.DEVNULL)
    run = subprocess.Popen([hops, "run", "/tmp", "--", "/bin/sh", "-c", "echo up; exec sleep 5"], env=env,
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    run.stdout.readline()
    # A plain run has no directory at all: whatever the home's sandboxes
    # directory holds beyond itself while it runs is what it added.
    sandboxes = Path(home, "sandboxes")
    running = sum(int(subprocess.run(["du", "-sb", str(p)], capture_output=True).stdout.split()[0])
                  for p in sandboxes.iterdir())
    run.kill()
    run.wait()
    return created, running


def main():
    rows = []
    seq, conc = throughput()
    rows.append(("sequential /bin/true (sandboxes/s)", seq["hops"], seq["bwrap"], seq["crun"], "higher is better"))
    rows.append((f"{CONCURRENT_TOTAL} at {CONCURRENCY} at once (ms wall)", conc["hops"], conc["bwrap"], conc["crun"], "lower is better"))
    print(f"{'figure':40s} {'hops':>10s} {'bwrap':>10s} {'crun':>10s} {'hops/bwrap':>11s} {'hops/crun':>10s}")
    for name, h, b, c, note in rows:
        print(f"{name:40s} {h:10.1f} {b:10.1f} {c:10.1f} {h / b:11.2f} {h / c:10.2f}  ({note})")
    plain, sandboxed = streaming()
    print(f"{'1 GiB through cat (MiB/s)':40s} {sandboxed:10.0f} {'':>10s} {'':>10s}  plain pipe {plain:.0f} MiB/s, ratio {sandboxed / plain:.2f} (goal >= 0.5)")
    idle, busy, outside, init, bwrap_per, warm, warm_uss = memory()
    print(f"{'hopsd resident, idle / 50 sleeping (MiB)':40s} {idle / (1 << 20):10.1f} {busy / (1 << 20):10.1f}")
    print(f"{'per sandbox outside its cgroup (KiB)':40s} {outside / 1024:10.0f} {bwrap_per / 1024:10.0f} {'':>10s} {outside / bwrap_per:11.2f}  (daemon growth; bwrap's own process, private memory)")
    print(f"{'per sandbox with its hops-init (KiB)':40s} {(outside + init) / 1024:10.0f} {bwrap_per / 1024:10.0f} {'':>10s} {(outside + init) / bwrap_per:11.2f}  (hops-init is PID 1 inside the cgroup; private memory)")
    print(f"{'warm pool (hops-init waiting)':40s} {warm:10d} {warm_uss / 1024:10.0f} KiB private in all")
    created, running = disk()
    print(f"{'disk of a sandbox that writes nothing':40s} {created / 1024:10.1f} KiB (hops create: layers on disk)")
    print(f"{'disk of a run that writes nothing':40s} {running / 1024:10.1f} KiB (hops run: layers in memory, no directory)")


main()
