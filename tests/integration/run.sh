#!/usr/bin/env bash
# The Ansible-level test suite: installs the built collection into a scratch
# collections path and runs, against fresh pve-sim instances,
#   - the docs checks of every module of modules/ (ansible-doc, check_docs.py:
#     docs against the binaries' printed specs; spec_docs_test.py),
#   - every ansible-test sanity test (validate-modules included),
#   - galaxy-importer on the tarball (every module and its docs),
#   - every target in tests/integration/targets/ (see targets/README.md),
#   - the molecule scenario (molecule/default) from the repo root,
#   - an AWX-style run with ansible-runner (tests/integration/awx/).
# Prints `N passed, M failed` last and exits non-zero on any failure.
#
# Usage: tests/integration/run.sh TARBALL [TARGET...]
#   (called by `make ansible-test`; needs PVE_SIM_BIN and the venv)
# Environment: PVE_SIM_BIN (default target/debug/pve-sim), VENV (default .venv),
#   PVE_TEST_SERVER=pve-oracle runs every target against the real PVE code
#   ($PVE_ORACLE, default ../shared/pve-oracle/pve-oracle) instead,
#   PVE_TEST_VERSIONS="9.1 8.4" runs every target, molecule and the AWX job
#   on each of these versions (default: a target's target.conf, else 9.1),
#   KEEP_WORK=1 keeps the scratch directory for a look at the logs.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/integration
tarball=${1:?usage: run.sh TARBALL [TARGET...]}
shift
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
only=("$@")

VENV=${VENV:-$root/.venv}
export PATH=$VENV/bin:$PATH
PY=$VENV/bin/python
export PVE_SIM_BIN=${PVE_SIM_BIN:-$root/target/debug/pve-sim}
[[ -x $PVE_SIM_BIN ]] || { echo "no pve-sim at $PVE_SIM_BIN (make sim)" >&2; exit 2; }
export PVE_TEST_SERVER=${PVE_TEST_SERVER:-pve-sim}
export PVE_ORACLE=${PVE_ORACLE:-$root/../shared/pve-oracle/pve-oracle}
case $PVE_TEST_SERVER in
  pve-sim) ;;
  pve-oracle) [[ -x $PVE_ORACLE ]] || { echo "no pve-oracle at $PVE_ORACLE (set PVE_ORACLE)" >&2; exit 2; } ;;
  *) echo "PVE_TEST_SERVER=$PVE_TEST_SERVER: expected pve-sim or pve-oracle" >&2; exit 2 ;;
esac
[[ -f $tarball ]] || { echo "no collection tarball at $tarball (make collection)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-it.XXXXXX")
# shellcheck source=tests/integration/lib.sh
source "$here/lib.sh"

cleanup() {
  sim_stop_all
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "scratch directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing from the caller's environment may reach the modules: the
# credentials tests set these themselves.
unset "${!PROXMOX_@}" ANSIBLE_VAULT_PASSWORD_FILE ANSIBLE_CONFIG 2>/dev/null || true

# An Ansible set up only for this run: the collection from the tarball and
# nowhere else, temp files in the scratch directory, no colour, and the venv's
# Python for the builtin modules the tests use (assert, copy, include_vars).
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_HOME=$WORK/ansible-home
export ANSIBLE_LOCAL_TEMP=$WORK/ansible-home/tmp
export ANSIBLE_REMOTE_TEMP=$WORK/remote-tmp
export ANSIBLE_INVENTORY=$WORK/inventory
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON:-$PY}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default
export ANSIBLE_CALLBACK_RESULT_FORMAT=json
export XDG_CACHE_HOME=$WORK/cache
printf 'localhost ansible_connection=local\n' >"$ANSIBLE_INVENTORY"

CURRENT=install
if ansible-galaxy collection install "$tarball" -p "$ANSIBLE_COLLECTIONS_PATH" >"$WORK/install.log" 2>&1; then
  ok "ansible-galaxy collection install $(basename "$tarball")"
else
  cat "$WORK/install.log"
  not_ok "ansible-galaxy collection install $(basename "$tarball")"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
COLLECTION_DIR=$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pve/access
# The modules: one crate each in modules/ (check_docs.py checks that the
# collection has exactly these).
MODULES=()
for d in "$root"/modules/*/; do MODULES+=("$(basename "$d")"); done

# With no target named, everything runs; against pve-oracle the checks that
# do not talk to a server (docs, sanity) are left to the pve-sim run.
selected() {
  local name=$1 t
  if [[ ${#only[@]} -eq 0 ]]; then
    [[ $PVE_TEST_SERVER == pve-oracle && ($name == docs || $name == sanity || $name == galaxy) ]] && return 1
    return 0
  fi
  for t in "${only[@]}"; do [[ $t == "$name" ]] && return 0; done
  return 1
}

# --- docs -------------------------------------------------------------------
if selected docs; then
  CURRENT=docs
  PLAY_OUT=$WORK/logs/docs.log
  mkdir -p "$WORK/logs"
  "$PY" "$here/check_docs.py" "$ANSIBLE_COLLECTIONS_PATH" >"$PLAY_OUT" 2>&1
  rc=$?
  expect "module docs match the binaries' specs ($(tail -n 1 "$PLAY_OUT"))" test "$rc" -eq 0
  grep '^FAIL' "$PLAY_OUT" | sed 's/^/     /'
  "$PY" "$here/spec_docs_test.py" >"$WORK/logs/spec_docs_test.log" 2>&1
  rc=$?
  expect "the docs check finds each kind of drift ($(tail -n 1 "$WORK/logs/spec_docs_test.log"))" test "$rc" -eq 0
  grep '^FAIL' "$WORK/logs/spec_docs_test.log" | sed 's/^/     /'
  expect "README.md shipped in the collection" test -s "$COLLECTION_DIR/README.md"
  PLAY_OUT=
fi

# --- ansible-test sanity ----------------------------------------------------
# Every sanity test, none skipped: validate-modules compares
# each module's docs with the argument spec of its generated
# plugins/modules/<m>.py, which is the binary's own (--print-spec).
# ansible-test builds a virtualenv per test and bootstraps pip in it with a
# script from ci-files.testing.ansible.com, unreachable here; sanity/get_pip.py
# stands in for it (Python's own pip, then the configured package index).
# Its home (the venvs, built once) is .ansible-test-home, kept between runs.
if selected sanity; then
  CURRENT=sanity
  sanity_dir=$WORK/sanity/ansible_collections/pve/access
  mkdir -p "$sanity_dir" "$WORK/logs"
  tar xzf "$tarball" -C "$sanity_dir"
  PLAY_OUT=$WORK/logs/sanity.log
  py_version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  sanity_home=${ANSIBLE_TEST_HOME:-$root/.ansible-test-home}
  pip_version=$("$PY" -c 'from types import SimpleNamespace as N
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(N(version="'"$py_version"'"))["pip"].replace(".", "_"))')
  mkdir -p "$sanity_home/.ansible/test/cache"
  cp "$here/sanity/get_pip.py" "$sanity_home/.ansible/test/cache/get_pip_$pip_version.py"
  (cd "$sanity_dir" && HOME=$sanity_home ansible-test sanity --python "$py_version" --color no) >"$PLAY_OUT" 2>&1
  rc=$?
  expect "ansible-test sanity passes, every test ($(grep -c '^Running sanity test' "$PLAY_OUT") tests)" \
    test "$rc" -eq 0
  grep -E '^(ERROR|FATAL)' "$PLAY_OUT" | sed 's/^/     /'
  # Automation Hub refuses skipped sanity tests (`!skip` in an ignore file).
  expect "no sanity test is skipped (!skip) in tests/sanity/ignore-*.txt" \
    eval '! grep -Rqs -- "!skip" "$sanity_dir/tests/sanity"'
  PLAY_OUT=
fi

# --- galaxy-importer ----------------------------------------------------------
# What Galaxy and Automation Hub run on upload, offline (ansible-lint without
# downloads, no ansible-test container), in its own pinned venv
# (galaxy/requirements.txt): it must find every module with its docs.
if selected galaxy; then
  CURRENT=galaxy
  PLAY_OUT=$WORK/logs/galaxy-importer.log
  importer=${IMPORTER_VENV:-$root/.venv-importer}
  if [[ ! -x $importer/bin/python || $here/galaxy/requirements.txt -nt $importer/.stamp ]]; then
    python3 -m venv "$importer" && "$importer/bin/pip" install --quiet --disable-pip-version-check \
      -r "$here/galaxy/requirements.txt" && touch "$importer/.stamp"
  fi >"$WORK/logs/galaxy-venv.log" 2>&1
  # It writes importer_result.json into the current directory: the scratch one.
  (cd "$WORK" && PATH=$importer/bin:$PATH GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT=True GALAXY_IMPORTER_RUN_ANSIBLE_TEST=False \
    GALAXY_IMPORTER_CHECK_CHANGELOG=False GALAXY_IMPORTER_TMP_ROOT_DIR=$WORK \
    "$importer/bin/python" -m galaxy_importer.main --print-result "$tarball") >"$PLAY_OUT" 2>&1
  rc=$?
  expect "galaxy-importer imports the tarball" test "$rc" -eq 0
  "$PY" - "$PLAY_OUT" "${MODULES[@]}" >"$WORK/logs/galaxy-modules.txt" 2>&1 <<'PYEOF'
import json, sys
text = open(sys.argv[1]).read()
result = json.loads(text[text.index("\n{") + 1:])
docs = {d["doc_strings"]["doc"]["module"]: d for d in result.get("docs_blob", {}).get("contents", [])
        if d.get("content_type") == "module" and (d.get("doc_strings") or {}).get("doc")}
for m in sys.argv[2:]:
    doc = docs.get(m, {}).get("doc_strings", {})
    ok = bool(doc.get("doc", {}).get("options")) and bool(doc.get("examples")) and bool(doc.get("return"))
    print(("ok" if ok else "missing"), m)
PYEOF
  for m in "${MODULES[@]}"; do
    expect "galaxy-importer lists $m with its options, examples and returns" grep -qx "ok $m" "$WORK/logs/galaxy-modules.txt"
  done
  PLAY_OUT=
fi

# --- targets ----------------------------------------------------------------
# A target is a directory with any of:
#   target.conf   bash: PVE_VERSIONS="9.1 8.4" (default 9.1); SIM_ARGS=(...),
#                 more pve-sim flags (--guests, --storages); SIM_ONLY="why",
#                 a target pve-oracle cannot serve: skipped against it, saying why
#   prepare.yml   run once first; must succeed (creates prerequisites)
#   converge.yml  converge_protocol: check/diff, apply, idempotence, recheck
#   tests.yml     task-level asserts; must succeed
#   runme.sh      sourced instead of the above, with lib.sh's helpers
run_target() {
  local dir=$1 name version
  name=$(basename "$dir")
  PVE_VERSIONS=9.1
  SIM_ARGS=()
  SIM_ONLY=
  # shellcheck disable=SC1091
  [[ -f $dir/target.conf ]] && source "$dir/target.conf"
  [[ -n ${PVE_TEST_VERSIONS:-} ]] && PVE_VERSIONS=$PVE_TEST_VERSIONS
  if [[ -n $SIM_ONLY && $PVE_TEST_SERVER == pve-oracle ]]; then
    echo "skip $name against pve-oracle: $SIM_ONLY (the pve-sim run covers it)"
    return 0
  fi
  for version in $PVE_VERSIONS; do
    CURRENT="$name@$version"
    PLAY_OUT=
    if ! sim_start "$name-$version" "$version" "${SIM_ARGS[@]}"; then
      not_ok "$PVE_TEST_SERVER $version starts"
      continue
    fi
    if [[ -f $dir/runme.sh ]]; then
      # shellcheck disable=SC1090,SC1091
      (cd "$dir" && source ./runme.sh) >"$WORK/logs/$name-$version.runme.log" 2>&1
      # runme.sh runs in a subshell; it reports through its output.
      collect_runme "$WORK/logs/$name-$version.runme.log"
    else
      if [[ -f $dir/prepare.yml ]]; then
        play "$name-$version-prepare" "$dir/prepare.yml"
        expect "prepare.yml succeeds" play_succeeded
      fi
      [[ -f $dir/converge.yml ]] && converge_protocol "$name-$version-converge" "$dir/converge.yml"
      [[ -f $dir/tests.yml ]] && run_playbook_ok "$name-$version-tests" "$dir/tests.yml"
    fi
    sim_stop
  done
}

# A runme.sh prints the same ok/FAIL lines as lib.sh; count them here.
collect_runme() {
  local log=$1 n_ok n_fail
  cat "$log"
  n_ok=$(grep -c '^ok   ' "$log")
  n_fail=$(grep -c '^FAIL ' "$log")
  PASSED=$((PASSED + n_ok))
  FAILED=$((FAILED + n_fail))
  while IFS= read -r line; do FAILURES+=("${line#FAIL }"); done < <(grep '^FAIL ' "$log")
  if [[ $n_ok -eq 0 && $n_fail -eq 0 ]]; then
    not_ok "runme.sh reported no checks (see $log)"
  fi
}

mkdir -p "$WORK/logs"
export WORK PY
echo "server: $PVE_TEST_SERVER"
for dir in "$here"/targets/*/; do
  dir=${dir%/}
  selected "$(basename "$dir")" || continue
  run_target "$dir"
done

# --- molecule ---------------------------------------------------------------
if selected molecule; then
  for version in ${PVE_TEST_VERSIONS:-9.1}; do
    CURRENT=molecule@$version
    if sim_start "molecule-$version" "$version"; then
      vault_pw=$WORK/molecule-vault-pass
      random_secret >"$vault_pw"
      PLAY_OUT=$WORK/logs/molecule-$version.log
      (
        cd "$root" &&
          PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_USER=root@pam PROXMOX_PASSWORD=$SIM_PW \
            ANSIBLE_VAULT_PASSWORD_FILE=$vault_pw MOLECULE_EPHEMERAL_DIRECTORY=$WORK/molecule-$version \
            molecule test -s default
      ) >"$PLAY_OUT" 2>&1
      rc=$?
      expect "molecule test (syntax, converge, idempotence, verify) passes" test "$rc" -eq 0
      for step in converge idempotence verify; do
        expect "molecule step $step executed successfully" grep -Eq "$step.*Executed: .*Successful" "$PLAY_OUT"
      done
      sim_stop
    else
      not_ok "$PVE_TEST_SERVER starts for molecule"
    fi
    PLAY_OUT=
  done
fi

# --- ansible-runner (AWX-style) ------------------------------------------------
if selected awx; then
  for AWX_VERSION in ${PVE_TEST_VERSIONS:-9.1}; do
    CURRENT=awx@$AWX_VERSION
    # shellcheck source=tests/integration/awx/run-awx.sh
    source "$here/awx/run-awx.sh"
  done
fi

echo
if [[ $FAILED -gt 0 ]]; then
  echo "Failed checks:"
  printf '  %s\n' "${FAILURES[@]}"
  [[ ${KEEP_WORK:-0} == 1 ]] || echo "(KEEP_WORK=1 keeps the logs in the scratch directory)"
fi
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
