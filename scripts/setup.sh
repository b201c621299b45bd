#!/usr/bin/env bash
# One command from a fresh Debian machine to a sandboxed hello:
# installs what is missing, builds hops, hops-cli, hopsd and hops-init, prepares $HOPS_HOME
# and the default rootfs, and runs a command in a sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ "$(id -u)" != 0 ]; then
  echo "hops: run this as root (sandboxes need namespaces and mounts): sudo $0" >&2
  exit 1
fi
scripts/install-deps.sh
# A release build with the Swift libraries linked in: every command and every
# sandbox starts several milliseconds faster than with shared ones.
swift build -c release --static-swift-stdlib
scripts/build-front.sh .build/release
hops=.build/release/hops
"$hops" init
"$hops" run /tmp -- /bin/echo "Hello from Hops!"
echo
echo "Hops is ready: $PWD/$hops run ./project -- make test"
