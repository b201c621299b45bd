#!/usr/bin/env bash
# Installs the Debian packages Hops needs to build and run, when they are missing.
# Idempotent; run as root.
set -euo pipefail

packages=(
  busybox-static   # the default rootfs when no Alpine tarball is at hand
  zlib1g-dev       # gzip tarball import (links libz)
  libssl-dev       # SHA-256 of image blobs (links libcrypto)
  tar              # used by tests to make archives
  iproute2         # network modes: the bridge's set-up
  nftables         # network modes: libnftables, which hopsd loads to set what sandboxes may reach
  libseccomp-dev   # the sandboxes' seccomp filter, compiled by the daemon (links libseccomp)
  libcurl4-openssl-dev  # image pulls (FoundationNetworking, linked statically, links libcurl)
  musl-tools       # the hops front, built against musl (scripts/build-front.sh)
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hops: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "hops: swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "hops: Swift 6 is required (https://swift.org/install); install it and re-run" >&2
    exit 1
  fi
fi
