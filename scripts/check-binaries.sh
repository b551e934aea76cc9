#!/usr/bin/env bash
# Checks the release module binaries of one platform are what we ship:
# statically linked (no ELF interpreter, so no libc needed on the target),
# built for that platform's processor (a binary in the wrong binaries/
# directory would fail on the target with "Exec format error"), and under
# the size budget (the binary is copied to the host once per version).
# Usage: scripts/check-binaries.sh ARCH DIR MODULE...   (ARCH: x86_64 or aarch64)
set -euo pipefail
arch=$1 dir=$2
shift 2
case $arch in
  x86_64) machine='Advanced Micro Devices X86-64' ;;
  aarch64) machine='AArch64' ;;
  *) echo "check-binaries.sh: unknown ARCH $arch (x86_64 or aarch64)" >&2; exit 2 ;;
esac
# 3 MB in decimal, the stricter reading of the budget.
limit=3000000
status=0
for m in "$@"; do
  bin="$dir/$m"
  if [[ ! -x $bin ]]; then echo "missing binary: $bin" >&2; status=1; continue; fi
  if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "$m ($arch): dynamically linked (has an ELF interpreter); build it static" >&2; status=1
  fi
  got=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
  if [[ $got != "$machine" ]]; then
    echo "$m ($arch): built for $got, not $arch" >&2; status=1
  fi
  size=$(stat -c %s "$bin")
  if (( size >= limit )); then
    echo "$m ($arch): $size bytes, over the 3 MB budget" >&2; status=1
  fi
  printf '%-22s %-8s %8d bytes  static\n' "$m" "$arch" "$size"
done
exit $status
