#!/usr/bin/env bash
# One command from a fresh Debian machine to a sandboxed hello:
# installs what is missing, builds hops, hopsd and hops-init, prepares $HOPS_HOME
# and the default rootfs, and runs a command in a sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ "$(id -u)" != 0 ]; then
  echo "hops: run this as root (sandboxes need namespaces and mounts): sudo $0" >&2
  exit 1
fi
scripts/install-deps.sh
swift build
hops=.build/debug/hops
"$hops" init
"$hops" run /tmp -- /bin/echo "Hello from Hops!"
echo
echo "Hops is ready: $PWD/$hops run ./project -- make test"
