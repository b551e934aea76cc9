#!/usr/bin/env bash
# make bench: benchmarks, apart from the tests. Everything is measured in one
# run against one pve-sim, and reported with the ratios that matter:
#   1. module run time: each module binary run directly (as Ansible runs it:
#      MODULE ARGS_FILE) for a no-op and for a change, median of N runs;
#   2. requests per run, from pve-sim's request log (token and password auth);
#   3. per-task time under ansible-playbook: pve.access.pve_user (no-op) vs.
#      ansible.builtin.ping (a trivial builtin Python module) vs.
#      ansible.builtin.debug (no module transfer at all);
#   4. binary sizes (each module, all six, the collection tarball);
#   5. local mode (no api_host), when pve-oracle is there ($PVE_ORACLE, else
#      ../shared/pve-oracle/pve-oracle): each module's no-op task through the
#      real pvesh, its time and its pvesh/pveum runs, against the HTTPS no-op.
# Usage: scripts/bench.sh TARBALL   (env: BENCH_RUNS=30, BENCH_TASKS=20,
#                                   BENCH_LOCAL_RUNS=5)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(cd "$(dirname "${1:?usage: scripts/bench.sh TARBALL}")" && pwd)/$(basename "$1")
VENV=${VENV:-$root/.venv}
export PATH=$VENV/bin:$PATH
PY=$VENV/bin/python
PVE_SIM_BIN=${PVE_SIM_BIN:-$root/target/debug/pve-sim}
export BENCH_RUNS=${BENCH_RUNS:-30} BENCH_TASKS=${BENCH_TASKS:-20}
export BENCH_LOCAL_RUNS=${BENCH_LOCAL_RUNS:-5}
oracle=${PVE_ORACLE:-$root/../shared/pve-oracle/pve-oracle}
export BENCH_ORACLE_BIN=
[[ -f $oracle ]] && BENCH_ORACLE_BIN=$(cd "$(dirname "$oracle")/bin" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-bench.XXXXXX")
sim_pid=
cleanup() {
  # The sim dies of the TERM (status 143): that is the expected end.
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && { wait "$sim_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

root_pw=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
"$PVE_SIM_BIN" --listen 127.0.0.1:0 --pve-version 9.1 --root-password "$root_pw" \
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
"$PY" - <<'PYEOF'
import json, os, statistics, subprocess, tempfile, time

work = os.environ["BENCH_WORK"]
runs, ntasks = int(os.environ["BENCH_RUNS"]), int(os.environ["BENCH_TASKS"])
ready = json.loads(open(f"{work}/ready.json").readline())
url, fp, pw = ready["url"], ready["fingerprint"], os.environ["BENCH_ROOT_PW"]
log = f"{work}/requests.jsonl"
mods = f"{os.environ['ANSIBLE_COLLECTIONS_PATH']}/ansible_collections/pve/access/plugins/modules"
MODULES = ["pve_user", "pve_group", "pve_role", "pve_acl", "pve_token", "pve_permission_info"]
conn_pw = {"api_host": url, "fingerprint": fp, "api_user": "root@pam", "api_password": pw}


def log_lines():
    with open(log) as f:
        return sum(1 for _ in f)


def run_module(name, args, check=False, env=None):
    """Run a module binary as Ansible does; return (seconds, result, requests)."""
    full = dict(args, _ansible_check_mode=check, _ansible_diff=False, _ansible_no_log=False,
                _ansible_verbosity=0, _ansible_module_name=f"pve.access.{name}")
    with tempfile.NamedTemporaryFile("w", dir=work, suffix=".json", delete=False) as f:
        json.dump(full, f)
    before = log_lines()
    t0 = time.perf_counter()
    p = subprocess.run([f"{mods}/{name}", f.name], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    os.unlink(f.name)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        result = {"failed": True, "msg": f"not JSON: {p.stdout[:200]!r} {p.stderr[:200]!r}"}
    return dt, result, log_lines() - before


def must(name, args, check=False, env=None):
    dt, result, n = run_module(name, args, check, env)
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

noop = {
    "pve_user": dict(userid="bench@pve", comment="bench"),
    "pve_group": dict(groupid="bench", members=["bench@pve"]),
    "pve_role": dict(roleid="Bench", privs=["VM.Audit", "Sys.Audit"]),
    "pve_acl": dict(path="/", roles=["Bench"], users=["bench@pve"]),
    "pve_token": dict(tokenid="bench@pve!tk"),
    "pve_permission_info": dict(userid="bench@pve", path="/"),
}

print(f"pve.access benchmarks: {runs} runs per figure, pve-sim 9.1 on {url}\n")
print("1-2. module run time (binary run directly, median) and requests per run")
print(f"{'module':22} {'no-op token':>12} {'req':>4} {'no-op passwd':>13} {'req':>4} {'change':>9} {'req':>4}")
medians = {}
for name in MODULES:
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
        else:
            dt, _, n_change = must(name, dict(conn_tok, userid="bench@pve", require={"/": ["VM.Audit"]}))
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

print("\n4. sizes")
sizes = {m: os.path.getsize(f"{mods}/{m}") for m in MODULES}
for m in MODULES:
    print(f"{m:22} {sizes[m]:>11,} bytes")
total = sum(sizes.values())
print(f"{'all six':22} {total:>11,} bytes")
print(f"{'collection tarball':22} {os.path.getsize(os.environ['BENCH_TARBALL']):>11,} bytes")

print("\nratios")
user_task = per_task["pve.access.pve_user (no-op)"]
print(f"pve_user task / ansible.builtin.ping task:          {user_task / per_task['ansible.builtin.ping']:.2f}")
print(f"pve_user task / ansible.builtin.debug task:         {user_task / per_task['ansible.builtin.debug']:.2f}")
print(f"pve_user module run / pve_user task (module share): {medians['pve_user'] / user_task:.2f}")
print(f"largest binary / 3 MB budget:                        {max(sizes.values()) / 3_000_000:.2f}")

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
for name, args in [("pve_user", noop["pve_user"]), ("pve_group", noop["pve_group"]),
                   ("pve_role", noop["pve_role"]), ("pve_acl", noop["pve_acl"]),
                   ("pve_token", noop["pve_token"])]:
    local(name, args)
print(f"\n5. local mode (no api_host, the real pvesh of pve-oracle 9.1), no-op task, median of {local_runs_n}")
print(f"{'module':22} {'no-op':>9} {'pvesh runs':>11} {'per run':>9} {'vs HTTPS token':>15}")
local_medians, local_calls = {}, {}
for name in MODULES:
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
