#!/usr/bin/env bash
# Rebuilds the `hops` front in DIR (.build/release or .build/debug, after
# `swift build`) against musl instead of glibc, from the same sources.
#
# Why: every `hops run` starts this process, and a static glibc program
# spends a tenth of a millisecond of CPU before main probing the processor
# (CPUID for its string functions and cache sizes), more on a virtual
# machine, where each CPUID traps to the hypervisor. musl does none of it, and
# with the front's own arena (Sources/hops/arena.c) instead of musl's malloc,
# which maps and unmaps pages for small blocks, the front's CPU per start goes
# from 0.39 ms to 0.15 here.
#
# SwiftPM still builds its own (glibc) `hops`, which works the same; this
# replaces it when musl-gcc is there (install-deps.sh installs musl-tools).
#
#   scripts/build-front.sh .build/release
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/build-front.sh DIR}
if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "hops: musl-gcc not found: keeping the glibc front in $dir" >&2
  exit 0
fi
musl-gcc -std=gnu11 -O2 -static -Wall -Werror -DHOPS_FRONT_ARENA -ISources/CFront/include -ISources/CFront \
  -o "$dir/hops.musl" Sources/hops/*.c Sources/CFront/*.c
mv -f "$dir/hops.musl" "$dir/hops"
