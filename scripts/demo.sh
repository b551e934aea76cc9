#!/usr/bin/env bash
# make demo: start pve-sim, install the collection tarball, run the example
# bootstrap playbook (user, role, ACL, token, secret into a vault file, a
# check with the new token) twice, then a second playbook that loads the vault
# file and works with the token alone; print what happened.
# Usage: scripts/demo.sh TARBALL   (PVE_SIM_BIN: the simulator binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=${1:?usage: scripts/demo.sh TARBALL}
VENV=${VENV:-$root/.venv}
export PATH=$VENV/bin:$PATH
PY=$VENV/bin/python
PVE_SIM_BIN=${PVE_SIM_BIN:-$root/target/debug/pve-sim}

work=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-demo.XXXXXX")
sim_pid=
cleanup() {
  # The sim dies of the TERM (status 143): that is the expected end.
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && { wait "$sim_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting pve-sim (PVE 9.1)"
root_pw=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
log=$work/requests.jsonl
"$PVE_SIM_BIN" --listen 127.0.0.1:0 --pve-version 9.1 --root-password "$root_pw" \
  --request-log "$log" >"$work/ready.json" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do
  [[ -s $work/ready.json && $(wc -l <"$work/ready.json") -ge 1 ]] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
  sleep 0.1
done
read -r url fingerprint < <("$PY" -c 'import json, sys; r = json.loads(open(sys.argv[1]).readline()); print(r["url"], r["fingerprint"])' "$work/ready.json")
echo "pve-sim at $url (certificate $fingerprint)"

say "Installing $(basename "$tarball")"
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_HOME=$work/ansible-home ANSIBLE_REMOTE_TEMP=$work/remote-tmp
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON:-$PY}
ansible-galaxy collection install "$tarball" -p "$ANSIBLE_COLLECTIONS_PATH" | tail -n 1

# What an operator (or an AWX credential) provides: where the cluster is,
# how to trust it, an admin login, and the vault password.
vault_pass=$work/vault-pass
"$PY" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$vault_pass"
vault_file=$work/pve_token.vault.yml
export PROXMOX_HOST=$url PROXMOX_FINGERPRINT=$fingerprint PROXMOX_USER=root@pam PROXMOX_PASSWORD=$root_pw
export ANSIBLE_VAULT_PASSWORD_FILE=$vault_pass PVE_TOKEN_VAULT_FILE=$vault_file

recap_changed() { sed -nE 's/^localhost +: .* changed=([0-9]+) .*/\1/p' "$1" | tail -n 1; }

say "examples/bootstrap.yml (first run)"
mark1=$(wc -l <"$log")
ansible-playbook -i localhost, -c local "$root/examples/bootstrap.yml" | tee "$work/run1.out"
mark2=$(wc -l <"$log")

say "examples/bootstrap.yml (second run: nothing to do)"
ansible-playbook -i localhost, -c local "$root/examples/bootstrap.yml" | tee "$work/run2.out"
mark3=$(wc -l <"$log")

say "examples/use_token.yml (a later run: only the vaulted token)"
unset PROXMOX_PASSWORD PROXMOX_USER ANSIBLE_VAULT_PASSWORD_FILE
ansible-playbook -i localhost, -c local --vault-password-file "$vault_pass" "$root/examples/use_token.yml" | tee "$work/run3.out"

say "Summary"
secret=$(ansible-vault view --vault-password-file "$vault_pass" "$vault_file" |
  "$PY" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["pve_api_token"].split("=", 1)[1])')
leaked=no
for f in "$work"/run*.out "$log" "$work/sim.log"; do
  grep -qF -- "$secret" "$f" && leaked="yes, in $(basename "$f")"
done
"$PY" - "$log" "$mark1" "$mark2" "$mark3" <<PYEOF
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
m1, m2, m3 = map(int, sys.argv[2:5])
def describe(rs):
    by = collections.Counter(r["method"] for r in rs)
    auth = collections.Counter(r["auth"] for r in rs)
    return f"{len(rs)} request{'' if len(rs) == 1 else 's'} ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))}; auth: {', '.join(f'{k} {v}' for k, v in sorted(auth.items()))})"
import yaml
privs = yaml.safe_load(open("$root/examples/bootstrap.yml"))[0]["vars"]["terraform_privs"]
print(f"created:           user terraform@pve, role TerraformRole ({len(privs)} privileges), ACL / TerraformRole,")
print("                   token terraform@pve!terraform (privilege separation off)")
print(f"first run:         changed=$(recap_changed "$work/run1.out"), {describe(lines[m1:m2])}")
print(f"second run:        changed=$(recap_changed "$work/run2.out"), {describe(lines[m2:m3])}")
print(f"token-only run:    changed=$(recap_changed "$work/run3.out"), {describe(lines[m3:])}")
PYEOF
echo "vault file:        $(head -c 40 "$vault_file" | head -n 1) ... ($(wc -l <"$vault_file") lines, mode $(stat -c %a "$vault_file"))"
echo "secret elsewhere:  $leaked (searched the three runs' output and pve-sim's logs)"
[[ $leaked == no ]]
