#!/usr/bin/env bash
# make docs: the collection's docs site, HTML, from the built tarball (the
# docs a user installs): antsibull-docs writes the RST of every module and
# role, Sphinx builds build/docs/html with warnings as errors. Offline: see
# docs/site/conf.py for how links to the Ansible docs are resolved.
# Usage: scripts/build-docs.sh TARBALL   (needs .venv-docs, `make docs-venv`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=${1:?usage: scripts/build-docs.sh TARBALL}
export PATH=$root/.venv-docs/bin:$PATH
out=$root/build/docs
work=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection install --force "$tarball" -p "$work/collections" >/dev/null
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False

rm -rf "$out"
mkdir -p "$out/rst"
chmod og-w "$out/rst" # antsibull-docs wants its destination readable by itself only
antsibull-docs --config-file "$root/docs/site/antsibull-docs.cfg" collection \
  --use-current --cleanup everything --dest-dir "$out/rst" pve.access >"$work/antsibull.log" 2>&1 ||
  { cat "$work/antsibull.log" >&2; exit 1; }
cp "$root/docs/site/index.rst" "$out/rst/"
sphinx-build -M html "$out/rst" "$out" -q -c "$root/docs/site" -W --keep-going
echo "docs site: $out/html/index.html"
