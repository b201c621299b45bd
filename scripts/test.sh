#!/usr/bin/env bash
# Runs every test: the unit tests (swift test) and the integration tests, which
# drive the real hops and hopsd against real sandboxes and so need root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ "$(id -u)" != 0 ]; then
  echo "hops: the integration tests need root: sudo $0" >&2
  exit 1
fi
scripts/install-deps.sh

# A Python with pytest: the one on PATH if it has it, else Debian's.
python=python3
if ! "$python" -c 'import pytest' 2>/dev/null; then
  if ! /usr/bin/python3 -c 'import pytest' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pytest >/dev/null
  fi
  python=/usr/bin/python3
fi
# pexpect drives the CLI through a pseudo-terminal in the interactive tests.
if ! "$python" -c 'import pexpect' 2>/dev/null; then
  if [ "$python" = /usr/bin/python3 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pexpect >/dev/null
  else
    "$python" -m pip install -q pexpect
  fi
fi

# Tools the image tests build, convert and serve images with: umoci, skopeo, a
# registry (docker-registry) and htpasswd for its basic auth (apache2-utils).
for pair in umoci:umoci skopeo:skopeo docker-registry:docker-registry htpasswd:apache2-utils; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pair#*:}" >/dev/null
  fi
done

echo "== build"
swift build --build-tests
scripts/build-front.sh .build/debug
echo "== unit tests"
swift test --skip-build
echo "== integration tests"
"$python" -m pytest -q -p no:cacheprovider tests/integration "$@"
