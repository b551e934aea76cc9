# shellcheck shell=bash
# Sourced by tests/integration/run.sh: an AWX-style job with ansible-runner.
# Copies this private data dir template to the scratch directory, writes
# env/envvars with the PROXMOX_* credentials (as an AWX custom credential
# injects them), runs `ansible-runner run DIR -p playbook.yml` twice and
# checks the status, the changes (from the job events) and that the password
# is in no artifact. AWX_VERSION: the PVE version to run against.
awx_template=$here/awx
if sim_start "awx-$AWX_VERSION" "$AWX_VERSION"; then
  awx_dir=$WORK/awx-$AWX_VERSION
  rm -rf "$awx_dir"
  cp -r "$awx_template" "$awx_dir"
  rm -f "$awx_dir/run-awx.sh"
  "$PY" - "$awx_dir/env/envvars" <<PYEOF
import sys, yaml
yaml.safe_dump({
    "PROXMOX_HOST": "$SIM_URL",
    "PROXMOX_FINGERPRINT": "$SIM_FP",
    "PROXMOX_USER": "root@pam",
    "PROXMOX_PASSWORD": "$SIM_PW",
    "ANSIBLE_COLLECTIONS_PATH": "$ANSIBLE_COLLECTIONS_PATH",
}, open(sys.argv[1], "w"), default_flow_style=False)
PYEOF
  chmod 0600 "$awx_dir/env/envvars"

  # awx_job IDENT: run one job; sets AWX_STATUS AWX_RC AWX_CHANGED AWX_FAILED
  awx_job() {
    local ident=$1
    PLAY_OUT=$WORK/logs/awx-$ident.log
    ansible-runner run "$awx_dir" -p playbook.yml --ident "$ident" >"$PLAY_OUT" 2>&1
    AWX_RC=$?
    local artifacts=$awx_dir/artifacts/$ident
    AWX_STATUS=$(cat "$artifacts/status" 2>/dev/null || echo missing)
    read -r AWX_CHANGED AWX_FAILED < <("$PY" - "$artifacts/job_events" <<'PYEOF'
import glob, json, sys
# The PLAY RECAP as an event: changed tasks per host (a no_log task's own
# event hides its result, "changed" included).
changed = failed = 0
for path in glob.glob(sys.argv[1] + "/*.json"):
    event = json.load(open(path))
    if event.get("event") == "playbook_on_stats":
        data = event.get("event_data", {})
        changed = sum((data.get("changed") or {}).values())
        failed = sum((data.get("failures") or {}).values()) + sum((data.get("dark") or {}).values())
print(changed, failed)
PYEOF
    )
  }

  awx_job job1
  expect "ansible-runner job 1: status successful (status=$AWX_STATUS, rc=$AWX_RC)" \
    eval '[[ $AWX_STATUS == successful && $AWX_RC -eq 0 ]]'
  # Users, group, role, ACL, token changed; the permission check did not.
  expect "job 1 changed users, group, role, ACL and token (changed tasks: $AWX_CHANGED, failed: $AWX_FAILED)" \
    eval '[[ $AWX_CHANGED -eq 5 && $AWX_FAILED -eq 0 ]]'

  awx_job job2
  expect "ansible-runner job 2: status successful (status=$AWX_STATUS)" test "$AWX_STATUS" = successful
  expect "job 2 changed nothing (changed tasks: $AWX_CHANGED)" test "$AWX_CHANGED" -eq 0

  # artifacts/*/command is ansible-runner's own record of the environment it
  # was given (AWX keeps job_env apart, redacted); what the job produced is
  # stdout and the job events.
  leaks=$(grep -rlF -- "$SIM_PW" "$awx_dir"/artifacts/*/stdout "$awx_dir"/artifacts/*/job_events 2>/dev/null || true)
  expect "the injected password is in no job output (stdout, job events)${leaks:+ (found in: $leaks)}" test -z "$leaks"
  sim_stop
else
  not_ok "$PVE_TEST_SERVER starts for the AWX job"
fi
PLAY_OUT=
