# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh server).
# 1. tests.yml: the module's behaviour, the server read directly; then the
#    secrets of the tokens it created must be in no output or log.
# 2. examples/declarative_bootstrap.yml as its header says (connection and
#    vault password from the environment) on a fresh server: --check --diff
#    writes nothing, the real run writes a vault file per token, a rerun
#    changes nothing.
# 3. The EXAMPLES of the module's docs, in order, on a fresh server: they
#    run, and a second run of them changes nothing (but the pools example,
#    which pve_access_pools runs on a pve-sim with guests).
root=$(cd ../../../.. && pwd)
version=$SIM_VERSION

run_playbook_ok "pve-access-tests-$version" tests.yml
n=0
while IFS= read -r secret; do
  [[ -n $secret ]] || continue
  n=$((n + 1))
  expect "secret $n of the run is in no output or log" \
    eval '! grep -rqF -- "$secret" "$WORK/logs" "$SIM_DIR/stderr.log" "$SIM_LOG"'
done <"$SIM_DIR/secrets.txt"
expect "tests.yml handed over both new secrets to look for ($n)" test "$n" -eq 2

# fresh NAME: a server of its own for the next part (stopped by the next
# call or at the end).
fresh() {
  sim_stop
  CURRENT="pve_access@$version $1"
  sim_start "pve_access-$1-$version" "$version"
}

if fresh example; then
  vault_pw=$SIM_DIR/vault-pass
  random_secret >"$vault_pw"
  example=$root/examples/declarative_bootstrap.yml
  export PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_PASSWORD=$SIM_PW
  export ANSIBLE_VAULT_PASSWORD_FILE=$vault_pw PVE_TOKEN_VAULT_DIR=$SIM_DIR
  mark=$(log_mark)
  play "pve-access-example-check-$version" "$example" --check --diff
  expect "--check --diff succeeds" play_succeeded
  writes=$(writes_since "$mark")
  expect "check mode writes nothing${writes:+ (made: $writes)}" test -z "$writes"
  expect "the drift report names the objects" grep -qF "token 'packer@pve!packer' would be created" "$PLAY_OUT"
  expect "the diff is shown" grep -q -- '^+++ after' "$PLAY_OUT"
  play "pve-access-example-apply-$version" "$example"
  expect "the real run succeeds (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 2 ]]'
  for t in terraform_pve_terraform packer_pve_packer; do
    token=$(ansible-vault view --vault-password-file "$vault_pw" "$SIM_DIR/$t.vault.yml" 2>/dev/null |
      "$PY" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["pve_api_token"])' 2>/dev/null)
    expect "$t.vault.yml holds the token, vault-encrypted" \
      eval '[[ ${token%%=*} == "${t%%_*}@pve!${t##*_}" ]] && grep -qs "^\$ANSIBLE_VAULT" "$SIM_DIR/$t.vault.yml"'
    expect "its secret is in no output" eval '[[ -n ${token#*=} ]] && ! grep -qF -- "${token#*=}" "$PLAY_OUT"'
  done
  sum=$(cat "$SIM_DIR"/*.vault.yml | sha256sum)
  mark=$(log_mark)
  play "pve-access-example-again-$version" "$example"
  expect "a rerun changes nothing (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 0 ]]'
  writes=$(writes_since "$mark")
  expect "a rerun writes nothing${writes:+ (made: $writes)}" test -z "$writes"
  expect "a rerun leaves the vault files alone" eval '[[ $(cat "$SIM_DIR"/*.vault.yml | sha256sum) == "$sum" ]]'
  unset PROXMOX_HOST PROXMOX_FINGERPRINT PROXMOX_PASSWORD ANSIBLE_VAULT_PASSWORD_FILE PVE_TOKEN_VAULT_DIR
else
  not_ok "$PVE_TEST_SERVER $version starts"
fi

if fresh docs-examples; then
  vault_pw=$SIM_DIR/vault-pass
  random_secret >"$vault_pw"
  # The EXAMPLES as the tasks of a play, the connection in module_defaults.
  "$PY" - "$root/collection/plugins/modules/pve_access.yml" "$SIM_DIR/examples.yml" "$vault_pw" <<'EOF'
import sys, yaml
doc, out, vault_pw = sys.argv[1:]
play = {
    "name": "The EXAMPLES of pve_access",
    "hosts": "localhost",
    "gather_facts": False,
    "vars": {"vault_secret": "{{ lookup('ansible.builtin.file', '%s') }}" % vault_pw},
    "module_defaults": {"group/pve.access.pve": {
        "api_host": "{{ pve_url }}", "api_password": "{{ pve_password }}", "fingerprint": "{{ pve_fingerprint }}"}},
    # The pools example needs guests: pve_access_pools runs it (pve-sim only).
    "tasks": [t for t in yaml.safe_load(yaml.safe_load(open(doc))["EXAMPLES"])
              if "pools" not in t.get("pve.access.pve_access", {})],
}
yaml.safe_dump([play], open(out, "w"), sort_keys=False)
EOF
  play "pve-access-docs-examples-$version" "$SIM_DIR/examples.yml"
  expect "the docs' EXAMPLES run in order on an empty server" play_succeeded
  expect "... and keep both new tokens in vault files" eval '[[ $(ls "$SIM_DIR"/*.vault.yml 2>/dev/null | wc -l) -eq 2 ]]'
  play "pve-access-docs-examples-again-$version" "$SIM_DIR/examples.yml"
  expect "run again, they change nothing (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 0 ]]'
else
  not_ok "$PVE_TEST_SERVER $version starts"
fi
sim_stop
