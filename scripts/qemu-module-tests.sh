#!/usr/bin/env bash
# Runs each module's integration tests (modules/<m>/tests/*.rs, all but
# local.rs, whose local mode needs the real PVE code's pvesh) against pve-sim
# with the module binaries of another processor, under qemu-user: the tests
# find the binaries through PVE_ACCESS_MODULES_DIR, here a directory of
# wrappers that run `qemu-aarch64-static BINARY ARGS...`, so each test runs
# exactly the binary the collection ships, emulated.
# Usage: scripts/qemu-module-tests.sh DIR MODULE...
#   (DIR: the aarch64 release binaries; env: PVE_ACCESS_QEMU_AARCH64, the
#    emulator, which `make aarch64-test` fetches, pinned)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "$1" && pwd)
shift
qemu=${PVE_ACCESS_QEMU_AARCH64:?set PVE_ACCESS_QEMU_AARCH64 to qemu-aarch64-static (make aarch64-test fetches it)}
wrappers=$root/target/qemu-aarch64
rm -rf "$wrappers"
mkdir -p "$wrappers"
for m in "$@"; do
  [[ -x $dir/$m ]] || { echo "no aarch64 binary of $m in $dir (make modules)" >&2; exit 1; }
  printf '#!/bin/sh\nexec %q %q "$@"\n' "$qemu" "$dir/$m" >"$wrappers/$m"
  chmod 0755 "$wrappers/$m"
done
# The emulated binary answers, or this is not a qemu run worth its name.
out=$("$wrappers/$1" /dev/null 2>&1 || true)
[[ $out == *'"failed":true'* ]] || { echo "the aarch64 $1 does not run under $qemu: $out" >&2; exit 1; }
for m in "$@"; do
  tests=()
  for t in "$root/modules/$m/tests"/*.rs; do
    t=$(basename "$t" .rs)
    [[ $t == local ]] || tests+=(--test "$t")
  done
  echo "== $m (aarch64 under qemu-user): ${tests[*]//--test /}"
  PVE_TEST_SERVER=pve-sim PVE_ACCESS_MODULES_DIR=$wrappers cargo test --locked -p "$m" "${tests[@]}"
done
