# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh server).
# Starts the tests' LDAP directory (scripts/slapd.sh), then runs site.yml:
# in check mode on the fresh server (writes nothing), for real, and again
# (changes nothing; its only writes are the syncs, a dry run and a real
# one, which PVE runs every time).
slapd=../../../../scripts/slapd.sh
ldap_dir=$SIM_DIR/ldap
if ! ldap=$("$slapd" start "$ldap_dir"); then
  not_ok "slapd starts (scripts/slapd.sh; make ldap)"
  return 0
fi
trap '"$slapd" stop "$ldap_dir"' EXIT
ldap_vars=$SIM_DIR/ldap-vars.json
"$PY" - "$ldap" >"$ldap_vars" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1])
print(json.dumps({"ldap_host": d["host"], "ldap_port": d["port"], "ldap_base_dn": d["base_dn"],
                  "ldap_bind_dn": d["bind_dn"], "ldap_bind_password_file": d["bind_password_file"]}))
PYEOF
bind_pw=$("$PY" -c 'import json, sys; print(open(json.load(open(sys.argv[1]))["ldap_bind_password_file"]).read().strip())' "$ldap_vars")

mark=$(log_mark)
play realm-sync-check site.yml -e "@$ldap_vars" -e first_run=true --check --diff
expect "check mode on a fresh server succeeds" play_succeeded
expect "check mode predicts changes (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -gt 0
writes=$(writes_since "$mark")
expect "check mode on a fresh server writes nothing${writes:+ (made: $writes)}" test -z "$writes"
expect "it assumes the realm an earlier task creates" \
  grep -q "realm 'dir' does not exist yet; assuming an earlier task creates it" "$PLAY_OUT"

play realm-sync-first site.yml -e "@$ldap_vars" -e first_run=true
expect "the first run succeeds (preview adds none, the sync adds the directory)" play_succeeded
# The realm, the preview, the sync, the pool, its ACL entry, the job.
expect "the first run changes (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -eq 6

mark=$(log_mark)
play realm-sync-again site.yml -e "@$ldap_vars" -e first_run=false
expect "the second run succeeds" play_succeeded
expect "the second run changes nothing (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -eq 0
writes=$(writes_since "$mark" | grep -v '^POST /access/domains/dir/sync 200$')
expect "the second run writes nothing but the syncs${writes:+ (made: $writes)}" test -z "$writes"
expect "no bind password in the output" eval '! grep -qF -- "$bind_pw" "$WORK"/logs/realm-sync-*.log'
