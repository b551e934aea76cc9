# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers).
# Check mode on an EMPTY cluster: each runbook runs with --check --diff on
# a fresh server where nothing it creates exists yet, then for real on the
# same server. Check mode must succeed, write nothing, name each object it
# assumes an earlier task creates, and predict `changed` of every pve.access
# task exactly (the task_outcomes callback records both runs).
export ANSIBLE_CALLBACK_PLUGINS=$PWD/callback_plugins
export ANSIBLE_CALLBACKS_ENABLED=task_outcomes
ANSIBLE_VAULT_PASSWORD_FILE=$WORK/check_empty-vault-pass
export ANSIBLE_VAULT_PASSWORD_FILE
random_secret >"$ANSIBLE_VAULT_PASSWORD_FILE"
root=$(cd ../../../.. && pwd)

# runbook NAME PLAYBOOK ASSUMED... : the protocol on a fresh server.
# ASSUMED are the objects (`role 'X'`) check mode must say it assumes.
runbook() {
  local name=$1 playbook=$2 label mark writes a rc
  shift 2
  label=check_empty-$name-$SIM_VERSION
  if ! sim_start "$label" "$SIM_VERSION"; then
    not_ok "$name: $PVE_TEST_SERVER $SIM_VERSION starts"
    return
  fi
  CURRENT="check_empty@$SIM_VERSION $name"
  # examples/bootstrap.yml reads its connection from the environment.
  export PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_PASSWORD=$SIM_PW
  export PVE_TOKEN_VAULT_FILE=$SIM_DIR/token.vault.yml
  mark=$(log_mark)
  TASK_OUTCOMES_FILE=$SIM_DIR/check.jsonl play "$label-check" "$playbook" --check --diff
  expect "--check --diff on an empty server succeeds" play_succeeded
  writes=$(writes_since "$mark")
  expect "check mode makes no write request${writes:+ (made: $writes)}" test -z "$writes"
  for a in "$@"; do
    expect "check mode says: $a does not exist yet; assuming an earlier task creates it" \
      grep -qF "$a does not exist yet; assuming an earlier task creates it" "$SIM_DIR/check.jsonl"
  done
  if [[ $name == netbox ]]; then
    expect "the diff shows non-ASCII text as it is" grep -qF '"comment": "NetBox – Inventar für das Büro (read only)"' "$PLAY_OUT"
    expect "the diff has no \\u escapes" test -z "$(grep -F '\u' "$PLAY_OUT")"
  fi
  TASK_OUTCOMES_FILE=$SIM_DIR/real.jsonl play "$label-apply" "$playbook"
  expect "the real run succeeds" play_succeeded
  PLAY_OUT=$WORK/logs/$label-compare.log
  "$PY" compare.py "$SIM_DIR/check.jsonl" "$SIM_DIR/real.jsonl" >"$PLAY_OUT" 2>&1
  rc=$?
  expect "check mode predicted changed of every task ($(tail -n 1 "$PLAY_OUT"))" test "$rc" -eq 0
  PLAY_OUT=
  sim_stop
}

runbook terraform terraform.yml "role 'TerraformRole'" "user 'terraform@pve'" \
  "token 'terraform@pve!terraform'"
runbook netbox netbox.yml "group 'readonly'" "user 'netbox@pve'" "token 'netbox@pve!netbox'"
runbook packer packer.yml "role 'PackerRole'" "user 'packer@pve'" "token 'packer@pve!packer'"
runbook bootstrap_identity role.yml "role 'TerraformRole'" "user 'terraform@pve'"
# The README's example as shipped: its privileges are PVE 9's.
if [[ $SIM_VERSION == 9.* ]]; then
  runbook examples-bootstrap "$root/examples/bootstrap.yml" \
    "role 'TerraformRole'" "user 'terraform@pve'"
fi
