#!/usr/bin/env bash
# make bench: benchmarks, apart from the tests. Everything is measured in one
# run against one pve-sim, and reported with the ratios that matter:
#   1. module run time: each module binary run directly (as Ansible runs it:
#      MODULE ARGS_FILE) for a no-op and for a change, median of N runs;
#   2. requests per run, from pve-sim's request log (token and password auth);
#   3. per-task time under ansible-playbook: pve.access.pve_user (no-op) vs.
#      ansible.builtin.ping (a trivial builtin Python module) vs.
#      ansible.builtin.debug (no module transfer at all);
#   4. binary sizes (each module for x86_64 and aarch64, all of each, the
#      collection tarball) and the aarch64 binaries' no-op run time under
#      qemu-user ($PVE_ACCESS_QEMU_AARCH64, which the Makefile fetches;
#      emulated on this x86_64 machine: it shows they work, not ARM speed);
#   5. local mode (no api_host), when pve-oracle is there ($PVE_ORACLE, else
#      ../shared/pve-oracle/pve-oracle): each module's no-op task through the
#      real pvesh, its time and its pvesh/pveum runs, against the HTTPS no-op.
#   6. the audit at scale (bench_audit): pve_access_info against a pve-sim
#      seeded with 5,000 users, 1,250 tokens, 100 groups and 10,000 ACL
#      entries, median of BENCH_AUDIT_RUNS runs (goal: under 2 s);
#   7. speed (bench_speed): per-task time of a no-op pve.access.pve_user
#      (its action plugin) on the local connection and over SSH (a loopback
#      sshd started here, stopped at the end), side by side with its floors
#      under plain Ansible (a tiny static binary module, ansible.builtin.ping,
#      pipelined over SSH) and its peer, community.proxmox.proxmox_user (the
#      community `ansible` package, pinned, in .venv-bench-peer).
#   8. one declaration (bench_access): pve_access for the Terraform and
#      Packer runbooks (requests of a no-op, per-run time under
#      ansible-playbook against single-module tasks) and for 1,000 users and
#      3,000 ACL entries (no-op run time), each against its goal.
# Usage: scripts/bench.sh TARBALL
#   (env: BENCH_RUNS=30, BENCH_TASKS=20, BENCH_ROUNDS=5, BENCH_LOCAL_RUNS=5,
#    BENCH_AUDIT_RUNS=5, BENCH_SPEED_ONLY=1, BENCH_AUDIT_ONLY=1, BENCH_ACCESS_ONLY=1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(cd "$(dirname "${1:?usage: scripts/bench.sh TARBALL}")" && pwd)/$(basename "$1")
VENV=${VENV:-$root/.venv}
export PATH=$VENV/bin:$PATH
PY=$VENV/bin/python
PVE_SIM_BIN=${PVE_SIM_BIN:-$root/target/debug/pve-sim}
export BENCH_RUNS=${BENCH_RUNS:-30} BENCH_TASKS=${BENCH_TASKS:-20}
export BENCH_LOCAL_RUNS=${BENCH_LOCAL_RUNS:-5} BENCH_AUDIT_RUNS=${BENCH_AUDIT_RUNS:-5}
oracle=${PVE_ORACLE:-$root/../shared/pve-oracle/pve-oracle}
export BENCH_ORACLE_BIN=
[[ -f $oracle ]] && BENCH_ORACLE_BIN=$(cd "$(dirname "$oracle")/bin" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-bench.XXXXXX")
sim_pid=
cleanup() {
  # The sim dies of the TERM (status 143): that is the expected end.
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && { wait "$sim_pid" 2>/dev/null || true; }
  [[ -n ${SSHD_PID:-} ]] && sshd_stop
  [[ -n ${seeded_pid:-} ]] && seeded_stop
  [[ -d $work/ldap ]] && "$root/scripts/slapd.sh" stop "$work/ldap" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

root_pw=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
"$PVE_SIM_BIN" --listen 127.0.0.1:0 --pve-version 9.1 --root-password "$root_pw" \
  --guests 100,101,102 --storages local,local-lvm \
  --request-log "$work/requests.jsonl" >"$work/ready.json" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do
  [[ -s $work/ready.json ]] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
  sleep 0.1
done

export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_HOME=$work/ansible-home ANSIBLE_REMOTE_TEMP=$work/remote-tmp
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON:-$PY}
ansible-galaxy collection install "$tarball" -p "$ANSIBLE_COLLECTIONS_PATH" >/dev/null

export BENCH_WORK=$work BENCH_ROOT_PW=$root_pw BENCH_TARBALL=$tarball
# pve_realm_sync's workload syncs from a real directory (the tests' slapd).
BENCH_LDAP=$("$root/scripts/slapd.sh" start "$work/ldap")
export BENCH_LDAP

# 7. speed: the action plugins against their floors and peer, local and SSH.
bench_speed() {
  local peer=$root/.venv-bench-peer tiny=$work/library/tiny
  if [[ ! -x $peer/bin/ansible-playbook || $root/scripts/bench-peer-requirements.txt -nt $peer/.stamp ]]; then
    echo "creating the peer's virtual environment ($peer)..."
    # The system Python: the SSH user must be able to run it (and proxmoxer).
    /usr/bin/python3 -m venv "$peer" && "$peer/bin/pip" install --quiet --disable-pip-version-check \
      -r "$root/scripts/bench-peer-requirements.txt" && touch "$peer/.stamp" || return 1
  fi
  # The floor for binary modules: the smallest static module we have, the
  # ansible_module crate's selftest (argument parsing and one JSON result).
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release --locked \
    --target x86_64-unknown-linux-gnu -p ansible_module --bin ansible-module-selftest || return 1
  mkdir -p "$work/library"
  install -m 0755 "$root/target/x86_64-unknown-linux-gnu/release/ansible-module-selftest" "$tiny"
  # shellcheck source=tests/integration/lib.sh
  WORK=$work source "$root/tests/integration/lib.sh"
  # A user with a plain /bin/sh: root's shell start-up here (pyenv) would
  # add half a second to every remote command.
  sshd_start pveaccess-bench || return 1
  ssh_inventory "$work/ssh-inventory" sshhost
  BENCH_PEER=$peer BENCH_TINY=$tiny BENCH_SSH_INVENTORY=$work/ssh-inventory "$PY" - <<'PYEOF'
import json, os, statistics, subprocess, time

work, ntasks, rounds = os.environ["BENCH_WORK"], int(os.environ["BENCH_TASKS"]), int(os.environ.get("BENCH_ROUNDS", "5"))
ready = json.loads(open(f"{work}/ready.json").readline())
url, fp = ready["url"], ready["fingerprint"]
host, port = url.removeprefix("https://").rsplit(":", 1)
mods = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/binaries/linux-x86_64"
peer, tiny = os.environ["BENCH_PEER"], os.environ["BENCH_TINY"]
args = {"api_host": url, "fingerprint": fp, "api_user": "root@pam", "api_password": os.environ["BENCH_ROOT_PW"],
        "tokenid": "root@pam!speed", "privsep": False}
out = subprocess.run([f"{mods}/pve_token", "-"], input=json.dumps(args), capture_output=True, text=True).stdout
token = json.loads(out)["api_token"]
tid, secret = token.split("=", 1)
subprocess.run([f"{mods}/pve_user", "-"], check=True, capture_output=True, text=True,
               input=json.dumps({"api_host": url, "fingerprint": fp, "api_token": token, "userid": "speed@pve", "comment": "speed"}))
# Connection options in the task, for both: over SSH the controller's
# environment does not reach the module.
pve_task = ("pve.access.pve_user: {userid: speed@pve, comment: speed, api_host: '%s', fingerprint: '%s', api_token: '%s'}"
            % (url, fp, token))
peer_task = ("community.proxmox.proxmox_user: {userid: speed@pve, comment: speed, api_host: %s, api_port: %s, "
             "api_user: root@pam, api_token_id: %s, api_token_secret: %s, validate_certs: false}"
             % (host, port, tid.split("!")[1], secret))
CASES = [  # label, task, ansible-playbook of which venv, extra environment
    ("pve.access.pve_user (no-op)", pve_task, None, {}),
    ("tiny static binary module", "tiny: {name: x}", None, {"ANSIBLE_LIBRARY": os.path.dirname(tiny)}),
    ("ansible.builtin.ping", "ansible.builtin.ping:", None, {}),
    ("ansible.builtin.ping, pipelining", "ansible.builtin.ping:", None, {"ANSIBLE_PIPELINING": "True"}),
    ("community.proxmox.proxmox_user", peer_task, peer, {"ANSIBLE_PIPELINING": "True"}),
]


def time_play(hosts, inventory, task, venv, env, n):
    path = f"{work}/speed-play.yml"
    with open(path, "w") as f:
        f.write(f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n")
        f.write(("    - " + task + "\n") * n)
    e = dict(os.environ, **env)
    if venv:
        e["PATH"] = f"{venv}/bin:" + e["PATH"]
        e.pop("ANSIBLE_COLLECTIONS_PATH")
        e["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "True"
        e["ANSIBLE_PYTHON_INTERPRETER"] = f"{venv}/bin/python"
    playbook = f"{venv}/bin/ansible-playbook" if venv else "ansible-playbook"
    t0 = time.perf_counter()
    p = subprocess.run([playbook, "-i", inventory, path], capture_output=True, text=True, env=e)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"bench play failed ({task[:40]}...):\n{p.stdout[-1500:]}{p.stderr[-1500:]}")
    return dt


def per_task(hosts, inventory, task, venv, env):
    samples = []
    for _ in range(rounds):
        one = time_play(hosts, inventory, task, venv, env, 1)
        many = time_play(hosts, inventory, task, venv, env, ntasks + 1)
        samples.append((many - one) / ntasks)
    return statistics.median(samples)


local_inv = f"{work}/local-inventory"
with open(local_inv, "w") as f:
    f.write("localhost ansible_connection=local\n")  # the interpreter: ANSIBLE_PYTHON_INTERPRETER
ssh_inv = os.environ["BENCH_SSH_INVENTORY"]
print(f"\n7. speed: per-task time ((T[{ntasks + 1} tasks] - T[1 task]) / {ntasks}, median of {rounds} rounds)")
print(f"{'task':36} {'local':>10} {'SSH (loopback)':>15}")
res = {}
for label, task, venv, env in CASES:
    loc = per_task("localhost", local_inv, task, venv, env)
    ssh = per_task("sshhost", ssh_inv, task, venv, dict(env, ANSIBLE_REMOTE_TEMP="~/.ansible/tmp",
                   ANSIBLE_PYTHON_INTERPRETER=f"{venv}/bin/python" if venv else "/usr/bin/python3"))
    res[label] = (loc, ssh)
    print(f"{label:36} {loc * 1000:8.1f}ms {ssh * 1000:13.1f}ms")
me, tiny_t, ping, ping_p, peer_t = (res[c[0]] for c in CASES)
print("\nratios (goal)")
print(f"local: pve_user / tiny binary module          {me[0] / tiny_t[0]:.2f}  (<= 0.80)")
print(f"local: pve_user / community.proxmox           {me[0] / peer_t[0]:.2f}")
print(f"SSH:   pve_user / ping with pipelining         {me[1] / ping_p[1]:.2f}  (<= 1.00)")
print(f"SSH:   pve_user / tiny binary module          {me[1] / tiny_t[1]:.2f}  (<= 1.30)")
print(f"SSH:   pve_user / community.proxmox           {me[1] / peer_t[1]:.2f}")
PYEOF
  local rc=$?
  sshd_stop
  return $rc
}

# seeded_sim DIR: a pve-sim of its own on DIR/user.cfg (which has the line
# token:root@pam!bench), its request log in DIR; sets seeded_pid and
# seeded_token (that token, with a new secret). seeded_stop stops it.
seeded_sim() {
  local dir=$1 secret
  secret=$("$PY" -c 'import uuid; print(uuid.uuid4())')
  echo "root@pam!bench $secret" >"$dir/token.cfg"
  "$PVE_SIM_BIN" --listen 127.0.0.1:0 --pve-version 9.1 --root-password "$root_pw" --user-cfg "$dir/user.cfg" \
    --token-cfg "$dir/token.cfg" --request-log "$dir/requests.jsonl" >"$dir/ready.json" 2>"$dir/sim.log" &
  seeded_pid=$!
  seeded_token="root@pam!bench=$secret"
  for _ in $(seq 100); do
    [[ -s $dir/ready.json ]] && break
    sleep 0.1
  done
}
seeded_stop() {
  kill "$seeded_pid" 2>/dev/null && { wait "$seeded_pid" 2>/dev/null || true; }
  seeded_pid=
}

# 6. the audit at scale: a pve-sim of its own, seeded from a generated user.cfg.
bench_audit() {
  local dir=$work/audit rc
  mkdir -p "$dir"
  "$PY" - "$dir" <<'PYEOF' || return 1
import random, sys
d = sys.argv[1]
random.seed(7)
USERS, ACL = 5000, 10000
realm = lambda i: "pam" if i % 5 == 0 else "pve"
lines = ["user:root@pam:1:0:::root@localhost:::", "token:root@pam!bench:0:0::"]
tokens = []
for i in range(USERS):
    u = f"u{i:05d}@{realm(i)}"
    # Some disabled, a third with an expiry; every fourth has a token, some
    # expiring, half without privilege separation.
    lines.append(f"user:{u}:{0 if i % 17 == 0 else 1}:{0 if i % 3 else 1900000000 + i}:F{i}:L{i}:u{i}@example.com:user {i}::")
    if i % 4 == 0:
        tokens.append(f"{u}!t{i % 3}")
        lines.append(f"token:{tokens[-1]}:{0 if i % 8 else 1900000000 + i * 100}:{i % 2}:token {i}:")
groups = [f"g{j:03d}" for j in range(100)]
lines.append("")
for j, g in enumerate(groups):
    lines.append(f"group:{g}:{','.join(f'u{i:05d}@{realm(i)}' for i in range(j, USERS, 100))}::")
lines.append("")
lines += [f"role:Custom{r}:Sys.Audit,VM.Audit:" for r in range(20)]
lines.append("")
roles = ["PVEAuditor", "PVEVMUser", "PVEVMAdmin", "PVEDatastoreUser"] + [f"Custom{r}" for r in range(15)]
paths = ["/", "/vms", "/storage", "/nodes/n1"] + [f"/vms/{100 + k}" for k in range(3000)]
acl = set()
while len(acl) < ACL:
    kind = random.choice("ugt")
    i = random.randrange(USERS)
    who = {"u": f"u{i:05d}@{realm(i)}", "g": "@" + random.choice(groups), "t": random.choice(tokens)}[kind]
    acl.add((random.choice(paths), who, random.choice(roles)))
lines += [f"acl:1:{p}:{w}:{r}:" for p, w, r in sorted(acl)]
open(f"{d}/user.cfg", "w").write("\n".join(lines) + "\n")
PYEOF
  seeded_sim "$dir"
  rc=0
  BENCH_AUDIT_DIR=$dir BENCH_AUDIT_TOKEN=$seeded_token "$PY" - <<'PYEOF' || rc=$?
import json, os, statistics, subprocess, time
d, runs = os.environ["BENCH_AUDIT_DIR"], int(os.environ["BENCH_AUDIT_RUNS"])
ready = json.loads(open(f"{d}/ready.json").readline())
mods = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/binaries/linux-x86_64"
args = json.dumps({"api_host": ready["url"], "fingerprint": ready["fingerprint"], "api_token": os.environ["BENCH_AUDIT_TOKEN"]})
times = []
for _ in range(runs):
    before = sum(1 for _ in open(f"{d}/requests.jsonl")) if os.path.exists(f"{d}/requests.jsonl") else 0
    t0 = time.perf_counter()
    p = subprocess.run([f"{mods}/pve_access_info", "-"], input=args, capture_output=True, text=True)
    times.append(time.perf_counter() - t0)
    result = json.loads(p.stdout)
    if result.get("failed"):
        raise SystemExit(f"pve_access_info failed: {result.get('msg')}")
    requests = sum(1 for _ in open(f"{d}/requests.jsonl")) - before
print(f"\n6. the audit at scale: pve_access_info, token auth, median of {runs} runs")
print(result["msg"][:200])
print(f"run time {statistics.median(times):.2f} s (goal < 2 s), {requests} requests, result {len(p.stdout) / 1e6:.1f} MB")
PYEOF
  seeded_stop
  return $rc
}

# 8. one declaration (bench_access): the issue's numbers for pve_access.
#  a. The Terraform and Packer runbooks together (2 users, 2 roles, 4 ACL
#     entries, 2 tokens) as one pve_access task on the main pve-sim: the
#     requests of a no-op rerun (goal: one GET per kind, no write), and its
#     time under ansible-playbook against the same state as the runbooks'
#     single-module tasks (goal: at least 5 times less). Per copy of the
#     tasks: (T[N+1 copies] - T[1 copy]) / N, best of 3, as section 3, so
#     that ansible-playbook's own start-up is not counted.
#  b. 1,000 users and 3,000 ACL entries declared against a pve-sim that
#     already holds them: the no-op run (goal: under 2 s).
bench_access() {
  local dir=$work/access rc=0
  mkdir -p "$dir"
  BENCH_ACCESS_DIR=$dir "$PY" - <<'PYEOF' || return 1
import json, os, statistics, subprocess, time

work, d, ntasks = os.environ["BENCH_WORK"], os.environ["BENCH_ACCESS_DIR"], int(os.environ["BENCH_TASKS"])
ready = json.loads(open(f"{work}/ready.json").readline())
url, fp = ready["url"], ready["fingerprint"]
log = f"{work}/requests.jsonl"
mods = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/binaries/linux-x86_64"


def module(name, args):
    p = subprocess.run([f"{mods}/{name}", "-"], input=json.dumps(dict(args, api_host=url, fingerprint=fp)),
                       capture_output=True, text=True)
    result = json.loads(p.stdout)
    if result.get("failed"):
        raise SystemExit(f"{name} failed: {result.get('msg')}")
    return result


token = module("pve_token", {"api_user": "root@pam", "api_password": os.environ["BENCH_ROOT_PW"],
                             "tokenid": "root@pam!access", "privsep": False}).get("api_token")
tf_privs = ["Datastore.AllocateSpace", "Datastore.Audit", "Sys.Audit", "VM.Allocate", "VM.Audit", "VM.Clone",
            "VM.Config.Disk", "VM.Config.Memory", "VM.PowerMgmt"]
pk_privs = ["VM.Allocate", "VM.Audit", "VM.Config.CDROM", "VM.Config.Disk", "VM.Config.Network", "VM.PowerMgmt"]
users = [{"userid": "terraform@pve", "comment": "Terraform"}, {"userid": "packer@pve", "comment": "Packer"}]
roles = [{"roleid": "TerraformRole", "privs": tf_privs}, {"roleid": "PackerRole", "privs": pk_privs}]
acl = [{"path": "/", "roles": ["TerraformRole"], "users": ["terraform@pve"]},
       {"path": "/vms", "roles": ["PackerRole"], "users": ["packer@pve"]},
       {"path": "/vms", "roles": ["PackerRole"], "tokens": ["packer@pve!packer"]},
       {"path": "/storage", "roles": ["PVEDatastoreUser"], "tokens": ["packer@pve!packer"]}]
tokens = [{"userid": "terraform@pve", "tokenid": "terraform", "privsep": False},
          {"userid": "packer@pve", "tokenid": "packer", "privsep": True}]
declaration = {"users": users, "roles": roles, "acl": acl, "tokens": tokens}
module("pve_access", dict(declaration, api_token=token))

with open(log) as f:
    mark = sum(1 for _ in f)
result = module("pve_access", dict(declaration, api_token=token))
with open(log) as f:
    requests = [json.loads(line) for line in f.readlines()[mark:]]
gets = [r["path"] for r in requests if r["method"] == "GET"]
writes = [f"{r['method']} {r['path']}" for r in requests if r["method"] != "GET"]
one_get_per_kind = len(gets) == len(set(gets)) and not writes and not result["changed"]
print("\n8. one declaration: pve_access")
print("a. the Terraform and Packer runbooks together (2 users, 2 roles, 4 ACL entries, 2 tokens), one task")
print(f"no-op rerun: {len(requests)} requests: {', '.join('GET ' + g for g in gets)}; {len(writes)} writes"
      f" (goal: one GET per kind, no write): {'PASS' if one_get_per_kind else 'FAIL'}")

# The same state as the runbooks write it, one single-module task per step.
flow = json.dumps
single = ([f"pve.access.pve_user: {flow(u)}" for u in users] + [f"pve.access.pve_role: {flow(r)}" for r in roles]
          + [f"pve.access.pve_acl: {flow(e)}" for e in acl] + [f"pve.access.pve_token: {flow(t)}" for t in tokens])
declared = [f"pve.access.pve_access: {flow(declaration)}"]


def time_play(tasks, copies):
    path = f"{d}/play.yml"
    with open(path, "w") as f:
        f.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
        f.write("".join(f"    - {t}\n" for t in tasks) * copies)
    t0 = time.perf_counter()
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", path], capture_output=True, text=True,
                       env=dict(os.environ, PROXMOX_HOST=url, PROXMOX_FINGERPRINT=fp, PROXMOX_VE_API_TOKEN=token))
    if p.returncode != 0 or "changed=0" not in p.stdout:
        raise SystemExit(f"the no-op play failed or changed something:\n{p.stdout[-1500:]}{p.stderr[-1500:]}")
    return time.perf_counter() - t0


per_copy, whole = {}, {}
for label, tasks in (("single-module tasks (10)", single), ("one pve_access task", declared)):
    one = min(time_play(tasks, 1) for _ in range(3))
    many = min(time_play(tasks, ntasks + 1) for _ in range(3))
    per_copy[label], whole[label] = (many - one) / ntasks, one
    print(f"{label:26} {per_copy[label] * 1000:8.1f} ms per no-op run of the state"
          f" (the whole play, ansible-playbook's start-up included: {one:.2f} s)")
ratio = per_copy["single-module tasks (10)"] / per_copy["one pve_access task"]
print(f"single-module tasks / pve_access: {ratio:.1f}x (goal >= 5x): {'PASS' if ratio >= 5 else 'FAIL'}")
PYEOF

  # b. a server that already holds what is declared.
  "$PY" - "$dir" <<'PYEOF' || return 1
import json, sys
d = sys.argv[1]
USERS, ACL = 1000, 3000
users = [f"d{i:04d}@pve" for i in range(USERS)]
roles = ["PVEVMUser", "PVEAuditor", "PVEDatastoreUser"]
acl = [(f"/vms/{100 + k // 3}", users[k % USERS], roles[k % 3]) for k in range(ACL)]
lines = ["user:root@pam:1:0:::root@localhost:::", "token:root@pam!bench:0:0::"]
lines += [f"user:{u}:1:0:::{u.split('@')[0]}@example.com:declared::" for u in users]
lines.append("")
lines += [f"acl:1:{p}:{u}:{r}:" for p, u, r in acl]
open(f"{d}/user.cfg", "w").write("\n".join(lines) + "\n")
declaration = {"users": [{"userid": u, "email": f"{u.split('@')[0]}@example.com", "comment": "declared"} for u in users],
               "acl": [{"path": p, "users": [u], "roles": [r]} for p, u, r in acl]}
json.dump(declaration, open(f"{d}/declaration.json", "w"))
PYEOF
  seeded_sim "$dir"
  BENCH_ACCESS_DIR=$dir BENCH_ACCESS_TOKEN=$seeded_token "$PY" - <<'PYEOF' || rc=$?
import json, os, statistics, subprocess, time
d, runs = os.environ["BENCH_ACCESS_DIR"], int(os.environ["BENCH_AUDIT_RUNS"])
ready = json.loads(open(f"{d}/ready.json").readline())
mods = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/binaries/linux-x86_64"
args = json.load(open(f"{d}/declaration.json"))
args.update(api_host=ready["url"], fingerprint=ready["fingerprint"], api_token=os.environ["BENCH_ACCESS_TOKEN"])
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.run([f"{mods}/pve_access", "-"], input=json.dumps(args), capture_output=True, text=True)
    times.append(time.perf_counter() - t0)
    result = json.loads(p.stdout)
    if result.get("failed") or result.get("changed"):
        raise SystemExit(f"pve_access at scale: not a no-op: {result.get('msg')} {result.get('changes', [])[:5]}")
t = statistics.median(times)
print(f"b. 1,000 users and 3,000 ACL entries declared, already on the server: no-op run {t:.2f} s,"
      f" median of {runs} (goal < 2 s): {'PASS' if t < 2 else 'FAIL'}; {result['msg']}")
PYEOF
  seeded_stop
  return $rc
}

if [[ ${BENCH_ACCESS_ONLY:-0} == 1 ]]; then
  bench_access
  exit
fi
if [[ ${BENCH_SPEED_ONLY:-0} == 1 ]]; then
  bench_speed
  exit
fi
if [[ ${BENCH_AUDIT_ONLY:-0} == 1 ]]; then
  bench_audit
  exit
fi
"$PY" - <<'PYEOF'
import json, os, statistics, subprocess, tempfile, time

work = os.environ["BENCH_WORK"]
runs, ntasks = int(os.environ["BENCH_RUNS"]), int(os.environ["BENCH_TASKS"])
ready = json.loads(open(f"{work}/ready.json").readline())
url, fp, pw = ready["url"], ready["fingerprint"], os.environ["BENCH_ROOT_PW"]
log = f"{work}/requests.jsonl"
bins = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/binaries"
mods = f"{bins}/linux-x86_64"
# Every module the collection ships (the build takes them from modules/).
MODULES = sorted(os.listdir(mods))
conn_pw = {"api_host": url, "fingerprint": fp, "api_user": "root@pam", "api_password": pw}


def log_lines():
    with open(log) as f:
        return sum(1 for _ in f)


def run_module(name, args, check=False, env=None, runner=()):
    """Run a module binary as Ansible does (under `runner`, an emulator, if
    given); return (seconds, result, requests)."""
    full = dict(args, _ansible_check_mode=check, _ansible_diff=False, _ansible_no_log=False,
                _ansible_verbosity=0, _ansible_module_name=f"pve.access.{name}")
    with tempfile.NamedTemporaryFile("w", dir=work, suffix=".json", delete=False) as f:
        json.dump(full, f)
    before = log_lines()
    t0 = time.perf_counter()
    p = subprocess.run([*runner, f"{mods}/{name}" if not runner else f"{bins}/linux-aarch64/{name}", f.name],
                       capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    os.unlink(f.name)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        result = {"failed": True, "msg": f"not JSON: {p.stdout[:200]!r} {p.stderr[:200]!r}"}
    return dt, result, log_lines() - before


def must(name, args, check=False, env=None, runner=()):
    dt, result, n = run_module(name, args, check, env, runner)
    if result.get("failed"):
        raise SystemExit(f"{name} failed: {result.get('msg')}")
    return dt, result, n


# State for the no-op runs, and a token for token-authenticated runs.
must("pve_user", dict(conn_pw, userid="bench@pve", comment="bench"))
must("pve_group", dict(conn_pw, groupid="bench", members=["bench@pve"]))
must("pve_role", dict(conn_pw, roleid="Bench", privs=["VM.Audit", "Sys.Audit"]))
must("pve_acl", dict(conn_pw, path="/", roles=["Bench"], users=["bench@pve"]))
_, tok, _ = must("pve_token", dict(conn_pw, tokenid="root@pam!bench", privsep=False))
conn_tok = {"api_host": url, "fingerprint": fp, "api_token": tok["api_token"]}
must("pve_token", dict(conn_pw, tokenid="bench@pve!tk"))
must("pve_pool", dict(conn_pw, poolid="bench", vms=[100], storage=["local"]))
bench_realm = dict(realm="bench", type="ldap", server1="ldap.example.com", base_dn="dc=example,dc=com", user_attr="uid")
must("pve_realm", dict(conn_pw, **bench_realm))
ldap = json.loads(os.environ["BENCH_LDAP"])
with open(ldap["bind_password_file"]) as f:
    bench_directory = dict(type="ldap", server1=ldap["host"], port=ldap["port"], base_dn=f"ou=people,{ldap['base_dn']}",
                           user_attr="uid", bind_dn=ldap["bind_dn"], password=f.read().strip())
must("pve_realm", dict(conn_pw, realm="benchsync", **bench_directory))
must("pve_realm_sync", dict(conn_pw, realm="benchsync", scope="users"))


def create_ldap_realm(realm):
    """An LDAP realm for the realm-sync jobs (no module of this branch makes one)."""
    import ssl, urllib.parse, urllib.request
    ctx = ssl.create_default_context(cafile=ready["ca_cert"])
    def post(path, params, headers=None):
        req = urllib.request.Request(f"{url}/api2/json{path}", urllib.parse.urlencode(params).encode(),
                                     headers or {})
        with urllib.request.urlopen(req, context=ctx) as r:
            return json.load(r)["data"]
    login = post("/access/ticket", {"username": "root@pam", "password": pw})
    post("/access/domains", {"realm": realm, "type": "ldap", "base_dn": "dc=bench", "server1": "127.0.0.1",
                             "user_attr": "uid"},
         {"Cookie": f"PVEAuthCookie={login['ticket']}", "CSRFPreventionToken": login["CSRFPreventionToken"]})


if "pve_realm_sync_job" in MODULES:
    create_ldap_realm("benchdir")
    must("pve_realm_sync_job", dict(conn_pw, id="bench", realm="benchdir", schedule="daily", scope="users"))

noop = {
    "pve_user": dict(userid="bench@pve", comment="bench"),
    "pve_group": dict(groupid="bench", members=["bench@pve"]),
    "pve_role": dict(roleid="Bench", privs=["VM.Audit", "Sys.Audit"]),
    "pve_acl": dict(path="/", roles=["Bench"], users=["bench@pve"]),
    "pve_token": dict(tokenid="bench@pve!tk"),
    "pve_realm": bench_realm,
    "pve_realm_sync": dict(realm="benchsync", scope="users"),
    "pve_permission_info": dict(userid="bench@pve", path="/"),
    "pve_access_info": dict(),
    "pve_pool": dict(poolid="bench", vms=[100], storage=["local"]),
    "pve_access": dict(users=[{"userid": "bench@pve", "comment": "bench"}],
                       groups=[{"groupid": "bench", "members": ["bench@pve"]}],
                       roles=[{"roleid": "Bench", "privs": ["VM.Audit", "Sys.Audit"]}],
                       acl=[{"path": "/", "roles": ["Bench"], "users": ["bench@pve"]}],
                       tokens=[{"tokenid": "bench@pve!tk"}]),
    "pve_realm_sync_job": dict(id="bench", realm="benchdir", schedule="daily", scope="users"),
}

# The modules with a workload here are timed; the others are only sized.
TIMED = [m for m in noop if m in MODULES]  # in noop's order: each needs the ones before
print(f"pve.access benchmarks: {runs} runs per figure, pve-sim 9.1 on {url}\n")
for name in sorted(set(MODULES) - set(TIMED)):
    print(f"{name}: not timed, no workload for it in scripts/bench.sh (noop, and a change below)")
print("1-2. module run time (binary run directly, median) and requests per run")
print(f"{'module':22} {'no-op token':>12} {'req':>4} {'no-op passwd':>13} {'req':>4} {'change':>9} {'req':>4}")
medians = {}
for name in TIMED:
    t_tok, t_pw = [], []
    for _ in range(runs):
        dt, r, n_tok = must(name, dict(conn_tok, **noop[name]))
        t_tok.append(dt)
        dt, r, n_pw = must(name, dict(conn_pw, **noop[name]))
        t_pw.append(dt)
    # A change: create then delete a resource of the module's kind.
    changes, n_change = [], 0
    for i in range(min(runs, 10)):
        if name == "pve_user":
            dt, _, n_change = must(name, dict(conn_tok, userid=f"b{i}@pve"))
            must(name, dict(conn_tok, userid=f"b{i}@pve", state="absent"))
        elif name == "pve_group":
            dt, _, n_change = must(name, dict(conn_tok, groupid=f"b{i}"))
            must(name, dict(conn_tok, groupid=f"b{i}", state="absent"))
        elif name == "pve_role":
            dt, _, n_change = must(name, dict(conn_tok, roleid=f"B{i}", privs=["VM.Audit"]))
            must(name, dict(conn_tok, roleid=f"B{i}", state="absent"))
        elif name == "pve_acl":
            dt, _, n_change = must(name, dict(conn_tok, path=f"/vms/{100 + i}", roles=["Bench"], users=["bench@pve"]))
            must(name, dict(conn_tok, path=f"/vms/{100 + i}", roles=["Bench"], users=["bench@pve"], state="absent"))
        elif name == "pve_token":
            dt, _, n_change = must(name, dict(conn_tok, tokenid=f"bench@pve!b{i}"))
            must(name, dict(conn_tok, tokenid=f"bench@pve!b{i}", state="absent"))
        elif name == "pve_pool":  # a pool with a guest: the members are checked, then added
            dt, _, n_change = must(name, dict(conn_tok, poolid=f"b{i}", vms=[101]))
            must(name, dict(conn_tok, poolid=f"b{i}", state="absent", remove_members=True))
        elif name == "pve_access":  # a user and its ACL entry in one task; then the user goes, and they with it
            dt, _, n_change = must(name, dict(conn_tok, users=[{"userid": f"a{i}@pve"}],
                                              acl=[{"path": f"/vms/{200 + i}", "roles": ["Bench"], "users": [f"a{i}@pve"]}]))
            must(name, dict(conn_tok, users=[{"userid": f"a{i}@pve", "state": "absent"}]))
        elif name == "pve_realm":
            dt, _, n_change = must(name, dict(conn_tok, **dict(bench_realm, realm=f"b{i}")))
            must(name, dict(conn_tok, realm=f"b{i}", state="absent"))
        elif name == "pve_realm_sync":  # the first sync of a new realm adds the directory's users
            must("pve_realm", dict(conn_tok, realm=f"s{i}", **bench_directory))
            dt, _, n_change = must(name, dict(conn_tok, realm=f"s{i}", scope="users"))
            must("pve_realm", dict(conn_tok, realm=f"s{i}", state="absent"))
        elif name == "pve_realm_sync_job":  # the realm's type is read, then the job created
            dt, _, n_change = must(name, dict(conn_tok, id=f"b{i}", realm="benchdir", schedule="hourly", scope="both"))
            must(name, dict(conn_tok, id=f"b{i}", state="absent"))
        elif name == "pve_permission_info":
            dt, _, n_change = must(name, dict(conn_tok, userid="bench@pve", require={"/": ["VM.Audit"]}))
        elif name.endswith("_info"):  # an info module changes nothing: its run again
            dt, _, n_change = must(name, dict(conn_tok, **noop[name]))
        else:
            raise SystemExit(f"{name}: no change workload in scripts/bench.sh: add one beside its noop")
        changes.append(dt)
    medians[name] = statistics.median(t_tok)
    print(f"{name:22} {statistics.median(t_tok) * 1000:10.1f}ms {n_tok:4d} {statistics.median(t_pw) * 1000:11.1f}ms {n_pw:4d}"
          f" {statistics.median(changes) * 1000:7.1f}ms {n_change:4d}")


def time_play(task, n):
    path = f"{work}/play.yml"
    with open(path, "w") as f:
        f.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
        f.write(("    - " + task + "\n") * n)
    t0 = time.perf_counter()
    subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", path], check=True,
                   capture_output=True, env=dict(os.environ, PROXMOX_HOST=url, PROXMOX_FINGERPRINT=fp,
                                                 PROXMOX_VE_API_TOKEN=tok["api_token"]))
    return time.perf_counter() - t0


print(f"\n3. per-task time under ansible-playbook ((T[{ntasks + 1} tasks] - T[1 task]) / {ntasks}, best of 3)")
tasks = {
    "pve.access.pve_user (no-op)": "pve.access.pve_user: {userid: bench@pve, comment: bench}",
    "ansible.builtin.ping": "ansible.builtin.ping:",
    "ansible.builtin.debug": "ansible.builtin.debug: {msg: x}",
}
per_task = {}
for label, task in tasks.items():
    one = min(time_play(task, 1) for _ in range(3))
    many = min(time_play(task, ntasks + 1) for _ in range(3))
    per_task[label] = (many - one) / ntasks
    print(f"{label:32} {per_task[label] * 1000:8.1f}ms per task")

print("\n4. sizes (static musl binaries) and the aarch64 binaries under qemu-user")
qemu = os.environ.get("PVE_ACCESS_QEMU_AARCH64", "")
if not os.access(qemu, os.X_OK):
    raise SystemExit(f"no qemu-aarch64-static at {qemu!r} (PVE_ACCESS_QEMU_AARCH64; make bench fetches it)")
arches = ("x86_64", "aarch64")
sizes = {(m, a): os.path.getsize(f"{bins}/linux-{a}/{m}") for m in MODULES for a in arches}
qemu_runs = max(3, runs // 3)
print(f"{'module':22} {'x86_64':>11} {'aarch64':>11} {'aarch64 no-op, emulated':>24}")
emulated = {}
for m in MODULES:
    emulated[m] = statistics.median(must(m, dict(conn_tok, **noop[m]), runner=(qemu,))[0] for _ in range(qemu_runs))
    print(f"{m:22} {sizes[m, 'x86_64']:>11,} {sizes[m, 'aarch64']:>11,} {emulated[m] * 1000:21.0f} ms")
for a in arches:
    print(f"{'all, ' + a:22} {sum(sizes[m, a] for m in MODULES):>11,} bytes")
print(f"{'collection tarball':22} {os.path.getsize(os.environ['BENCH_TARBALL']):>11,} bytes")

print("\nratios")
user_task = per_task["pve.access.pve_user (no-op)"]
print(f"pve_user task / ansible.builtin.ping task:          {user_task / per_task['ansible.builtin.ping']:.2f}")
print(f"pve_user task / ansible.builtin.debug task:         {user_task / per_task['ansible.builtin.debug']:.2f}")
print(f"pve_user module run / pve_user task (module share): {medians['pve_user'] / user_task:.2f}")
print(f"largest binary / 3 MB budget:                        {max(sizes.values()) / 3_000_000:.2f}")
print(f"aarch64 no-op under qemu / x86_64 no-op (emulation):  {statistics.mean(emulated[m] / medians[m] for m in MODULES):.0f}x")

oracle_bin = os.environ["BENCH_ORACLE_BIN"]
if not oracle_bin:
    print("\n5. local mode: skipped (no pve-oracle; set PVE_ORACLE)")
    raise SystemExit(0)
# A node: the real pvesh and pveum on a state directory, behind wrappers that
# count their runs.
state, wrap, runs_log = f"{work}/node-etc-pve", f"{work}/node-bin", f"{work}/node-runs"
os.makedirs(wrap)
for prog in ("pvesh", "pveum"):
    with open(f"{wrap}/{prog}", "w") as f:
        f.write(f"#!/bin/sh\necho {prog} >> '{runs_log}'\n"
                f"PVE_ORACLE_ETC='{state}' PVE_ORACLE_VERSION=9.1 exec '{oracle_bin}/{prog}' \"$@\"\n")
    os.chmod(f"{wrap}/{prog}", 0o755)
local_env = dict(os.environ, PATH=f"{wrap}:{os.environ['PATH']}")
for var in ("PROXMOX_HOST", "PROXMOX_VE_API_TOKEN", "PROXMOX_PASSWORD", "PROXMOX_TOKEN_ID",
            "PROXMOX_TOKEN_SECRET", "PROXMOX_USER"):
    local_env.pop(var, None)


def local_runs():
    try:
        with open(runs_log) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def local(name, args):
    before = local_runs()
    dt, result, _ = must(name, args, env=local_env)
    return dt, result, local_runs() - before


local_runs_n = int(os.environ["BENCH_LOCAL_RUNS"])
# pve-oracle's pvesh serves PVE's access-control API only: pools (/pools)
# and realm-sync jobs (/cluster) have no local run here.
LOCAL = [m for m in TIMED if m not in ("pve_pool", "pve_realm_sync_job")]
# The state the local no-ops expect (the checking modules need none).
for name in LOCAL:
    if not name.endswith("_info"):
        local(name, noop[name])
print(f"\n5. local mode (no api_host, the real pvesh of pve-oracle 9.1), no-op task, median of {local_runs_n}")
print(f"{'module':22} {'no-op':>9} {'pvesh runs':>11} {'per run':>9} {'vs HTTPS token':>15}")
local_medians, local_calls = {}, {}
for name in LOCAL:
    times, calls = [], 0
    for _ in range(local_runs_n):
        dt, r, calls = local(name, noop[name])
        if r.get("changed"):
            raise SystemExit(f"{name}: the local no-op changed something: {r.get('msg')}")
        times.append(dt)
    local_medians[name], local_calls[name] = statistics.median(times), calls
    print(f"{name:22} {local_medians[name] * 1000:7.0f}ms {calls:11d} {local_medians[name] / calls * 1000:7.0f}ms"
          f" {local_medians[name] / medians[name]:14.0f}x")
print(f"a no-op task: {statistics.mean(local_medians.values()) * 1000:.0f} ms and "
      f"{statistics.mean(local_calls.values()):.1f} pvesh runs on average (module run time; "
      f"ansible-playbook adds its per-task time of section 3)")
PYEOF

bench_audit
bench_access
bench_speed
