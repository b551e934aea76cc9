# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh server).
# prepare.yml, then tests.yml (the module and the access_report role), then
# examples/access_report.yml as its header says to run it: the connection
# from PROXMOX_* variables only, the report where report_file says.
play access-info-prepare prepare.yml
expect "prepare.yml succeeds" play_succeeded
run_playbook_ok access-info-tests tests.yml

report=$SIM_DIR/example-report.md
PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_USER=root@pam PROXMOX_PASSWORD=$SIM_PW \
  play access-info-example ../../../../examples/access_report.yml -e "report_file=$report"
expect "examples/access_report.yml succeeds with the PROXMOX_* connection" play_succeeded
expect "it wrote the report, the high finding first" \
  grep -q '^| high | token_privsep_admin | ai-admin@pve!tf |' "$report"
expect "the play says where the report is" grep -q "see $report" "$PLAY_OUT"
expect "no password in the output" eval '! grep -qF -- "$SIM_PW" "$PLAY_OUT"'

PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_USER=root@pam PROXMOX_PASSWORD=$SIM_PW \
  play access-info-example-gate ../../../../examples/access_report.yml -e "report_file=$report.gate" \
  -e '{"fail_on": ["high"]}'
expect "with fail_on [high] the example fails" eval '[[ $PLAY_RC -ne 0 && $RECAP_FAILED -eq 1 ]]'
expect "... naming the finding, after writing the report" \
  eval 'grep -q "1 finding matched fail_on: \[high\] token_privsep_admin" "$PLAY_OUT" && test -s "$report.gate"'
