# shellcheck shell=bash
# Sourced by run.sh (in a subshell, in this directory) with lib.sh's helpers
# and a fresh pve-sim (SIM_URL, SIM_FP, SIM_CA, SIM_PW, SIM_LOG).
# The plays get no connection options: only PROXMOX_* variables.

# The harness must not hand the playbooks their connection as variables.
SIM_VARS_SAVED=$SIM_VARS
SIM_VARS=
common=(-e "pve_request_log=$SIM_LOG")
secret_file=$SIM_DIR/token-secret

export PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_USER=root@pam PROXMOX_PASSWORD=$SIM_PW
play env-bootstrap bootstrap.yml "${common[@]}" -e "secret_file=$secret_file"
expect "PROXMOX_HOST/USER/PASSWORD/FINGERPRINT: the bootstrap succeeds (changed=$RECAP_CHANGED)" \
  eval 'play_succeeded && [[ $RECAP_CHANGED -ge 4 ]]'
secret=$(cat "$secret_file" 2>/dev/null)
expect "the token secret reached the harness" test -n "$secret"
expect "the root password is not in the output" eval '! grep -qF -- "$SIM_PW" "$PLAY_OUT"'
unset PROXMOX_PASSWORD PROXMOX_USER

export PROXMOX_TOKEN_ID='awx@pve!job' PROXMOX_TOKEN_SECRET=$secret
play env-token-id use.yml "${common[@]}" -e who=a1@pve -e how=token_id -e expected_auth=token
expect "PROXMOX_TOKEN_ID (full) + PROXMOX_TOKEN_SECRET" play_succeeded
unset PROXMOX_TOKEN_ID PROXMOX_TOKEN_SECRET

export PROXMOX_USER=awx@pve PROXMOX_TOKEN_ID=job PROXMOX_TOKEN_SECRET=$secret
play env-token-bare use.yml "${common[@]}" -e who=a2@pve -e how=bare -e expected_auth=token
expect "PROXMOX_USER + bare PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET" play_succeeded
unset PROXMOX_USER PROXMOX_TOKEN_ID PROXMOX_TOKEN_SECRET

export PROXMOX_VE_API_TOKEN="awx@pve!job=$secret"
play env-api-token use.yml "${common[@]}" -e who=a3@pve -e how=api_token -e expected_auth=token
expect "PROXMOX_VE_API_TOKEN (the Terraform bpg provider's variable)" play_succeeded
expect "the secret is not in the output" eval '! grep -qF -- "$secret" "$PLAY_OUT"'

# A host without a port, the port and the CA from the environment.
port=${SIM_URL##*:}
export PROXMOX_HOST=127.0.0.1 PROXMOX_PORT=$port PROXMOX_CA_PATH=$SIM_CA PROXMOX_VALIDATE_CERTS=true
unset PROXMOX_FINGERPRINT
play env-port-ca use.yml "${common[@]}" -e who=a4@pve -e how=port_ca -e expected_auth=token
expect "PROXMOX_PORT + PROXMOX_CA_PATH + PROXMOX_VALIDATE_CERTS" play_succeeded
unset PROXMOX_PORT PROXMOX_CA_PATH PROXMOX_VALIDATE_CERTS

# A token wins over a password when the environment has both.
export PROXMOX_HOST=$SIM_URL PROXMOX_FINGERPRINT=$SIM_FP PROXMOX_USER=root@pam PROXMOX_PASSWORD=$SIM_PW
play env-both use.yml "${common[@]}" -e who=a5@pve -e how=both -e expected_auth=token
expect "with a password and a token in the environment, the token is used" play_succeeded
unset PROXMOX_VE_API_TOKEN PROXMOX_USER PROXMOX_PASSWORD

# A wrong fingerprint from the environment is refused.
export PROXMOX_FINGERPRINT=$(printf '00:%.0s' {1..31})00 PROXMOX_VE_API_TOKEN="awx@pve!job=$secret"
play env-wrong-fp use.yml "${common[@]}" -e who=a6@pve -e how=wrong -e expected_auth=token
expect "a wrong PROXMOX_FINGERPRINT fails the task" eval '[[ $PLAY_RC -ne 0 && $RECAP_FAILED -ge 1 ]]'
expect "the failure names the fingerprint" grep -qi 'fingerprint' "$PLAY_OUT"
unset PROXMOX_FINGERPRINT PROXMOX_VE_API_TOKEN PROXMOX_HOST

SIM_VARS=$SIM_VARS_SAVED
