# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh pve-sim).
# The converge protocol on changes to existing resources, then what the
# --check --diff output shows, then task-level diff assertions.
play check_diff-prepare prepare.yml
expect "prepare.yml (identity v1) succeeds" play_succeeded

converge_protocol check_diff-converge converge.yml
check_log=$WORK/logs/check_diff-converge-check.log
recap "$check_log"
expect "check mode predicted one change per task (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -eq 7
for pattern in '^-.*"comment": "v1"' '^\+.*"comment": "v2"' '^-.*"email": "v1@example.com"' \
  '^\+.*"VM.PowerMgmt"' '^-.*"VM.Console"' '^-.*"enable": true' '^\+.*"enable": false' \
  '^\+.*"privsep": false' '^\+.*/vms/101'; do
  expect "the --diff output shows /$pattern/" grep -Eq -- "$pattern" "$check_log"
done

play check_diff-tests tests.yml
expect "tests.yml passes (failed=$RECAP_FAILED)" play_succeeded
