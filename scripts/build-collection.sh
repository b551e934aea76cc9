#!/usr/bin/env bash
# Assembles the collection from collection/, galaxy.yml and the release
# binaries in a staging directory, then lets ansible-galaxy build the tarball.
# Staging keeps Rust sources and build output out of the tarball by
# construction (galaxy.yml's `manifest:` would silently drop extensionless
# binaries; we use neither it nor a long build_ignore list).
# Usage: scripts/build-collection.sh RELEASE_DIR MODULE...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
release=$1; shift
stage=$root/build/collection
rm -rf "$stage"
mkdir -p "$stage"
cp -r "$root/collection/." "$stage/"
cp "$root/galaxy.yml" "$stage/"
cp -r "$root/changelogs" "$stage/"
for m in "$@"; do
  [[ -f $root/collection/plugins/modules/$m.yml ]] || { echo "no documentation for $m (collection/plugins/modules/$m.yml)" >&2; exit 1; }
  install -m 0755 "$root/$release/$m" "$stage/plugins/modules/$m"
done
"$root/.venv/bin/ansible-galaxy" collection build "$stage" --output-path "$root/build" --force
