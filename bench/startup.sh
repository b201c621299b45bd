#!/usr/bin/env bash
# Start-up latency of `hops run -- /bin/true` (daemon warm, network disabled, the
# default profile's limits) side by side with bubblewrap and crun on the same
# BusyBox rootfs, in one interleaved run, with ratios. Also: the added cost of
# explicit limits and of each network mode, the full command line alone
# (`hops-cli --version`: what every command but the common run starts) and one
# gRPC round trip (`hops-cli ps -q`), so the report shows where the time goes.
#
#   sudo bench/startup.sh            # RUNS=60 WARMUP=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
. scripts/env.sh
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
RUNS=${RUNS:-60}
WARMUP=${WARMUP:-5}
work=${HOPS_BENCH_DIR:-/tmp/hops-bench}
mkdir -p "$work"

scripts/install-deps.sh
for pkg in bubblewrap crun gcc; do
  dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }
done

# crun refuses a v1/v2 hybrid host while a controller (hugetlb here) sits on the
# cgroup2 tree; giving each such controller its own v1 hierarchy lets it run.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mkdir -p "/sys/fs/cgroup/$c" 2>/dev/null || { mount -o remount,rw /sys/fs/cgroup; mkdir -p "/sys/fs/cgroup/$c"; }
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
fi

swift build -c release --static-swift-stdlib >/dev/null
scripts/build-front.sh .build/release
bin=$PWD/.build/release
export HOPS_HOME="$work/home"
"$bin/hops" system stop >/dev/null 2>&1 || true
"$bin/hops" init >/dev/null
rootfs="$HOPS_HOME/images/rootfs/default/rootfs"

# One crun bundle on the same rootfs, read-only, /bin/true, no terminal.
bundle="$work/crun-bundle"
rm -rf "$bundle" && mkdir -p "$bundle"
(cd "$bundle" && crun spec)
python3 - "$bundle/config.json" "$rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["root"] = {"path": rootfs, "readonly": True}
spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]})
json.dump(spec, open(path, "w"))
PY

# One interleaved run: each round starts every command once, in turn, so a
# noisy spell of this machine weighs on all of them alike (bench/interleave.c).
gcc -O2 -o "$work/interleave" "$repo/bench/interleave.c"
cat >"$work/commands" <<COMMANDS
$bin/hops run /tmp -- /bin/true
$bin/hops run --memory 256M --cpus 1 /tmp -- /bin/true
$bin/hops run --network loopback /tmp -- /bin/true
$bin/hops run --network outbound /tmp -- /bin/true
$bin/hops run --network full /tmp -- /bin/true
bwrap --unshare-all --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev --tmpfs /tmp /bin/true
crun run --bundle $bundle hops-bench-crun
$bin/hops-cli --version
$bin/hops-cli ps -q
COMMANDS
cd /tmp
"$work/interleave" "$RUNS" "$WARMUP" "$work/commands" >"$work/startup.txt"

python3 - "$work/startup.txt" <<'PY'
import statistics, sys
names = ["hops run", "hops run --memory 256M --cpus 1", "hops run --network loopback", "hops run --network outbound",
         "hops run --network full", "bwrap", "crun", "hops-cli --version (full CLI only)", "hops-cli ps -q (full CLI + gRPC)"]
lines = open(sys.argv[1]).read().splitlines()
median = {name: statistics.median(float(x) for x in line.split()) for name, line in zip(names, lines)}
bwrap, crun = median["bwrap"], median["crun"]
print(f"{'command':36s} {'median ms':>10s} {'x bwrap':>8s} {'x crun':>8s}")
for name, ms in median.items():
    print(f"{name:36s} {ms:10.2f} {ms / bwrap:8.2f} {ms / crun:8.2f}")
PY

# bench/run.sh: the other figures too (throughput, concurrency, streaming,
# memory, disk), with the same daemon and peers.
if [ "${FIGURES:-0}" = 1 ]; then
  echo
  python3 "$repo/bench/figures.py" "$bin/hops" "$rootfs" "$bundle" "$HOPS_HOME"
fi
"$bin/hops" system stop >/dev/null
