#!/usr/bin/env bash
# Every figure of the performance issue in one run: start-up latency (with the
# network modes and limits, the CLI alone and one gRPC call), then sequential
# throughput, 50 sandboxes 10 at a time, 1 GiB streamed, the daemon's memory
# idle and with 50 sandboxes, the per-sandbox cost outside its cgroup, and the
# disk a sandbox adds; each against bubblewrap and crun on the same rootfs.
#
#   sudo bench/run.sh
set -euo pipefail
FIGURES=1 exec "$(dirname "$0")/startup.sh" "$@"
