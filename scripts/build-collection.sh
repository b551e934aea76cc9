#!/usr/bin/env bash
# Assembles the collection from collection/, galaxy.yml and the release
# binaries in a staging directory, then lets ansible-galaxy build the tarball.
# Staging keeps Rust sources and build output out of the tarball by
# construction (galaxy.yml's `manifest:` would silently drop extensionless
# binaries; we use neither it nor a long build_ignore list).
#
# Layout of the built collection, for each module M (the list: MODULE...,
# which the Makefile takes from modules/):
#   plugins/modules/M.py      the docs of collection/plugins/modules/M.yml and
#                             the binary's argument spec (M --print-spec), for
#                             ansible-doc, galaxy-importer and ansible-test
#   plugins/action/M.py       runs the binary (plugins/plugin_utils/binary_module.py)
#   meta/runtime.yml          the action group pve lists M
#   binaries/linux-x86_64/M   the static module binary, where the module loader
#                             does not look (binaries/<os>-<arch>/ for others;
#                             not bin/, which ansible-test takes for Python)
# The first three are written by scripts/collection-plugins.py.
# Usage: scripts/build-collection.sh RELEASE_DIR MODULE...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
release=$1; shift
stage=$root/build/collection
rm -rf "$stage"
mkdir -p "$stage"
cp -r "$root/collection/." "$stage/"
cp "$root/galaxy.yml" "$stage/"
rm -f "$stage"/plugins/modules/*.yml
mkdir -p "$stage/binaries/linux-x86_64"
for m in "$@"; do
  install -m 0755 "$root/$release/$m" "$stage/binaries/linux-x86_64/$m"
done
"$root/.venv/bin/python" "$root/scripts/collection-plugins.py" "$root/collection" "$stage" "$@"
"$root/.venv/bin/ansible-galaxy" collection build "$stage" --output-path "$root/build" --force
