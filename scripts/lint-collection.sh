#!/usr/bin/env bash
# The collection as the Ansible ecosystem's tools see it, on the built
# tarball: the plugin docs (antsibull-docs lint-collection-docs), the
# changelog fragments (antsibull-changelog lint), the role and the examples
# (ansible-lint, offline, production profile), what an execution
# environment needs (ansible-builder introspect: nothing) and that the
# example EE definition makes a build context, and the docs site
# (scripts/build-docs.sh). Prints `N passed, M failed`.
# Usage: scripts/lint-collection.sh TARBALL   (needs .venv-docs)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(cd "$(dirname "${1:?usage: scripts/lint-collection.sh TARBALL}")" && pwd)/$(basename "$1")
export PATH=$root/.venv-docs/bin:$PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() {
  local desc=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   collection-lint: $desc"
  else
    failed=$((failed + 1))
    echo "FAIL collection-lint: $desc"
    tail -n 40 "$work/out" | sed 's/^/     | /'
  fi
}

ansible-galaxy collection install --force "$tarball" -p "$work/collections" >/dev/null
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_HOME=$work/ansible-home XDG_CACHE_HOME=$work/cache NO_COLOR=1
col=$work/collections/ansible_collections/pve/access

check "antsibull-docs lint-collection-docs --plugin-docs" \
  bash -c "cd '$col' && antsibull-docs lint-collection-docs --plugin-docs ."
check "antsibull-changelog lint (changelogs/fragments)" \
  bash -c "cd '$root' && antsibull-changelog lint"
# ansible-lint runs in the installed collection (which it then recognises
# as such, and through which pve.access.* resolves), the examples copied
# into it; it must find the role's and the examples' files.
# (ansible-lint takes the config file's directory as the project: the
# config goes there too).
cp -r "$root/examples" "$col/examples"
cp "$root/.ansible-lint" "$col/"
check "ansible-lint (production profile) on the role and the examples" \
  bash -c "cd '$col' && ansible-lint --offline --profile production roles examples 2>&1 |
    tee /dev/stderr | grep -Eq 'Passed.* in [1-9][0-9]* files processed'"
check "ansible-builder introspect: the collection needs no Python or system packages" \
  bash -c "ansible-builder introspect '$work/collections' | tee /dev/stderr | grep -qx 'python: \[\]' &&
    ansible-builder introspect '$work/collections' | grep -qx 'system: \[\]'"
check "ansible-builder create: examples/execution-environment.yml makes a build context" \
  ansible-builder create -f "$root/examples/execution-environment.yml" -c "$work/ee-context"
check "make docs: the docs site builds with warnings as errors" \
  "$root/scripts/build-docs.sh" "$tarball"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
