#!/usr/bin/env bash
# Checks the release module binaries are what we ship: statically linked (no
# ELF interpreter, so no libc needed on the target) and under the size budget
# (the binary is copied to the host on every task).
# Usage: scripts/check-binaries.sh DIR MODULE...
set -euo pipefail
dir=$1; shift
# 3 MB in decimal, the stricter reading of the budget.
limit=3000000
status=0
for m in "$@"; do
  bin="$dir/$m"
  if [[ ! -x $bin ]]; then echo "missing binary: $bin" >&2; status=1; continue; fi
  if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "$m: dynamically linked (has an ELF interpreter); build with crt-static" >&2; status=1
  fi
  size=$(stat -c %s "$bin")
  if (( size >= limit )); then
    echo "$m: $size bytes, over the 3 MB budget" >&2; status=1
  fi
  printf '%-22s %8d bytes  static\n' "$m" "$size"
done
exit $status
