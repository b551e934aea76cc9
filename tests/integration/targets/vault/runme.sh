# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh pve-sim).
# The vault workflow end to end at -vvv: the token's secret must be in the
# vault file and nowhere else — not in any output, log or temp file.
vault_pw=$SIM_DIR/vault-pass
vault_file=$SIM_DIR/pve_token.vault.yml
random_secret >"$vault_pw"
export ANSIBLE_LOG_PATH=$WORK/logs/vault-ansible.log

play vault-write write.yml -vvv -e "vault_password_file=$vault_pw" -e "vault_file=$vault_file"
expect "play 1 (identity, token into the vault) succeeds (changed=$RECAP_CHANGED)" \
  eval 'play_succeeded && [[ $RECAP_CHANGED -eq 5 ]]'
write_out=$PLAY_OUT
expect "the vault file is vault-encrypted" grep -qs '^\$ANSIBLE_VAULT;1\.[12];AES256' "$vault_file"
expect "the vault file is mode 0600" test "$(stat -c %a "$vault_file" 2>/dev/null)" = 600

plain=$(ansible-vault view --vault-password-file "$vault_pw" "$vault_file" 2>/dev/null)
api_token=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["pve_api_token"])' <<<"$plain" 2>/dev/null)
secret=${api_token#*=}
expect "ansible-vault view shows pve_api_token as robot@pve!vault=UUID" \
  eval '[[ $api_token =~ ^robot@pve!vault=[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$ ]]'

play vault-use use.yml -vvv --vault-password-file "$vault_pw" -e "vault_file=$vault_file"
expect "play 2 (vault loaded with --vault-password-file, user made with the token) succeeds" play_succeeded
use_out=$PLAY_OUT

sum_before=$(sha256sum "$vault_file" 2>/dev/null)
play vault-write-again write.yml -vvv -e "vault_password_file=$vault_pw" -e "vault_file=$vault_file"
expect "play 1 again: changed=0 (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 0 ]]'
expect "play 1 again leaves the vault file as it was" \
  eval '[[ -n $sum_before && $(sha256sum "$vault_file" 2>/dev/null) == "$sum_before" ]]'

again_out=$PLAY_OUT

wrong_pw=$SIM_DIR/wrong-pass
random_secret >"$wrong_pw"
play vault-wrong-password use.yml --vault-password-file "$wrong_pw" -e "vault_file=$vault_file"
expect "play 2 with a wrong vault password fails to decrypt" grep -q 'Decryption failed' "$PLAY_OUT"

if [[ -n $secret && $secret != "$api_token" ]]; then
  for f in "$write_out" "$use_out" "$again_out" "$ANSIBLE_LOG_PATH" "$SIM_LOG" "$SIM_DIR/stderr.log"; do
    expect "the secret is not in $(basename "$f")" eval '! grep -qF -- "$secret" "$f"'
  done
  leaks=$(grep -rlF -- "$secret" "$WORK" 2>/dev/null | grep -vF "$vault_file" || true)
  expect "the secret is in no file of the run but the vault file${leaks:+ (found in: $leaks)}" test -z "$leaks"
  expect "the -vvv output shows the censored results" grep -q "censored" "$write_out"
else
  not_ok "no secret to look for (the vault file could not be read)"
fi
unset ANSIBLE_LOG_PATH
