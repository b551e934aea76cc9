# shellcheck shell=bash
# Helpers for tests/integration/run.sh and the targets' runme.sh files
# (sourced, not run). They start pve-sim, run playbooks, read the PLAY RECAP
# and pve-sim's request log, and count passed and failed checks.
#
# Needs: WORK (scratch dir), PY (python with PyYAML), PVE_SIM_BIN, and with
# PVE_TEST_SERVER=pve-oracle, PVE_ORACLE (the real PVE code, which has
# pve-sim's command line, ready line and request log).

PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
FAILURES=()
SIM_PIDS=()
CURRENT=${CURRENT:-setup}

random_secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# ok / not_ok DESCRIPTION: record one check of the current target.
ok() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s: %s\n' "$CURRENT" "$1"
}
not_ok() {
  FAILED=$((FAILED + 1))
  FAILURES+=("$CURRENT: $1")
  printf 'FAIL %s: %s\n' "$CURRENT" "$1"
  if [[ -n ${PLAY_OUT:-} && -f $PLAY_OUT ]]; then
    printf '     (last lines of %s)\n' "$PLAY_OUT"
    tail -n 30 "$PLAY_OUT" | sed 's/^/     | /'
  fi
}
# expect DESCRIPTION COMMAND...: ok when the command succeeds.
expect() {
  local desc=$1
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# sim_start NAME VERSION [PVE-SIM ARGS...]: start a fresh server of the
# kind PVE_TEST_SERVER names (pve-sim by default) and wait for its ready
# line. Sets SIM_DIR SIM_URL SIM_FP SIM_CA SIM_PW SIM_LOG SIM_PID SIM_VERSION
# SIM_VARS (an extra-vars file for the playbooks).
sim_start() {
  local name=$1 version=$2 bin=$PVE_SIM_BIN
  shift 2
  [[ ${PVE_TEST_SERVER:-pve-sim} == pve-oracle ]] && bin=$PVE_ORACLE
  SIM_DIR=$WORK/sim/$name
  rm -rf "$SIM_DIR"
  mkdir -p "$SIM_DIR"
  SIM_PW=$(random_secret)
  SIM_LOG=$SIM_DIR/requests.jsonl
  SIM_VERSION=$version
  # The server's redirection happens in the background job: the file must
  # exist before the wait below reads it.
  : >"$SIM_DIR/ready.json"
  "$bin" --listen 127.0.0.1:0 --pve-version "$version" --root-password "$SIM_PW" \
    --request-log "$SIM_LOG" "$@" >"$SIM_DIR/ready.json" 2>"$SIM_DIR/stderr.log" &
  SIM_PID=$!
  SIM_PIDS+=("$SIM_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    if [[ $(wc -l <"$SIM_DIR/ready.json") -ge 1 ]]; then break; fi
    if ! kill -0 "$SIM_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ $(wc -l <"$SIM_DIR/ready.json") -lt 1 ]]; then
    echo "$bin did not become ready:" >&2
    cat "$SIM_DIR/stderr.log" >&2
    return 1
  fi
  # One JSON line: {"url": ..., "fingerprint": ..., "ca_cert": ...}; the
  # extra-vars file gives playbooks the connection and the request log.
  "$PY" - "$SIM_DIR" "$SIM_PW" "$SIM_LOG" "$version" <<'EOF' >"$SIM_DIR/env.sh"
import json, shlex, sys
d, pw, log, version = sys.argv[1:]
ready = json.loads(open(f"{d}/ready.json").readline())
vars_ = {"pve_url": ready["url"], "pve_fingerprint": ready["fingerprint"], "pve_ca_cert": ready["ca_cert"],
         "pve_password": pw, "pve_request_log": log, "pve_version": version, "pve_work_dir": d}
json.dump(vars_, open(f"{d}/vars.json", "w"))
for k, v in (("SIM_URL", ready["url"]), ("SIM_FP", ready["fingerprint"]), ("SIM_CA", ready["ca_cert"])):
    print(f"{k}={shlex.quote(v)}")
EOF
  # shellcheck disable=SC1091
  source "$SIM_DIR/env.sh"
  SIM_VARS=$SIM_DIR/vars.json
}

sim_stop() {
  if [[ -n ${SIM_PID:-} ]]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=
  fi
}

sim_stop_all() {
  local p
  for p in "${SIM_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${SIM_PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
}

# log_mark: the number of request-log lines so far.
log_mark() { if [[ -f $SIM_LOG ]]; then wc -l <"$SIM_LOG"; else echo 0; fi; }

# writes_since MARK: write requests (POST/PUT/DELETE) after MARK, not
# counting logins (POST /access/ticket), one "METHOD PATH STATUS" a line.
writes_since() {
  "$PY" - "$SIM_LOG" "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
for line in lines:
    r = json.loads(line)
    if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/access/ticket":
        print(r["method"], r["path"], r["status"])
EOF
}

# requests_since MARK: the number of requests after MARK.
requests_since() { echo $(($(log_mark) - $1)); }

# play LABEL PLAYBOOK [ANSIBLE-PLAYBOOK ARGS...]: run a playbook with the
# current simulator's vars. Sets PLAY_RC PLAY_OUT and, from the PLAY RECAP
# of localhost, RECAP_OK RECAP_CHANGED RECAP_FAILED RECAP_UNREACHABLE
# (-1 when there is no recap).
play() {
  local label=$1 playbook=$2
  shift 2
  PLAY_OUT=$WORK/logs/$label.log
  mkdir -p "$WORK/logs"
  local extra=()
  [[ -n ${SIM_VARS:-} ]] && extra=(-e "@$SIM_VARS")
  ansible-playbook "${extra[@]}" "$playbook" "$@" >"$PLAY_OUT" 2>&1
  PLAY_RC=$?
  recap "$PLAY_OUT"
}

# recap FILE: parse the last PLAY RECAP line of a run's output.
recap() {
  local line
  line=$(grep -E '^[A-Za-z0-9_.-]+ +: ok=' "$1" | tail -n 1)
  if [[ -z $line ]]; then
    RECAP_OK=-1 RECAP_CHANGED=-1 RECAP_FAILED=-1 RECAP_UNREACHABLE=-1
    return
  fi
  RECAP_OK=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
  RECAP_CHANGED=$(sed -E 's/.* changed=([0-9]+).*/\1/' <<<"$line")
  RECAP_FAILED=$(sed -E 's/.* failed=([0-9]+).*/\1/' <<<"$line")
  RECAP_UNREACHABLE=$(sed -E 's/.* unreachable=([0-9]+).*/\1/' <<<"$line")
}

play_succeeded() { [[ $PLAY_RC -eq 0 && $RECAP_FAILED -eq 0 && $RECAP_UNREACHABLE -eq 0 ]]; }

# converge_protocol LABEL PLAYBOOK: the checks every converging playbook
# gets, on a simulator where its prerequisites exist:
#   1. --check --diff: succeeds, predicts changes, writes nothing, shows diffs
#   2. the real run: succeeds, changes exactly what the check predicted
#   3. a second run: changed=0
#   4. --check on the converged state: changed=0, writes nothing
converge_protocol() {
  local label=$1 playbook=$2 mark writes predicted
  mark=$(log_mark)
  play "$label-check" "$playbook" --check --diff
  expect "check mode run succeeds" play_succeeded
  predicted=$RECAP_CHANGED
  expect "check mode predicts changes (changed=$predicted)" test "$predicted" -gt 0
  writes=$(writes_since "$mark")
  expect "check mode makes no write request${writes:+ (made: $writes)}" test -z "$writes"
  expect "diff mode shows before and after" grep -q -- '^--- before' "$PLAY_OUT"
  expect "diff mode output has +++ after" grep -q -- '^+++ after' "$PLAY_OUT"

  play "$label-apply" "$playbook"
  expect "first run succeeds" play_succeeded
  expect "first run changes what check mode predicted (changed=$RECAP_CHANGED, predicted $predicted)" \
    test "$RECAP_CHANGED" -eq "$predicted"

  mark=$(log_mark)
  play "$label-again" "$playbook"
  expect "second run succeeds" play_succeeded
  expect "second run reports changed=0 (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -eq 0
  writes=$(writes_since "$mark")
  expect "second run makes no write request${writes:+ (made: $writes)}" test -z "$writes"

  mark=$(log_mark)
  play "$label-recheck" "$playbook" --check --diff
  expect "check mode on the converged state succeeds" play_succeeded
  expect "check mode on the converged state reports changed=0 (changed=$RECAP_CHANGED)" test "$RECAP_CHANGED" -eq 0
  writes=$(writes_since "$mark")
  expect "check mode on the converged state writes nothing${writes:+ (made: $writes)}" test -z "$writes"
}

# run_playbook_ok LABEL PLAYBOOK [ARGS...]: a playbook of asserts must pass.
run_playbook_ok() {
  local label=$1 playbook=$2
  shift 2
  play "$label" "$playbook" "$@"
  expect "$(basename "$playbook") passes (ok=$RECAP_OK changed=$RECAP_CHANGED failed=$RECAP_FAILED)" play_succeeded
}

# --- an sshd on loopback, for the action plugins' SSH tests -----------------
# sshd_start USER: a throwaway sshd on 127.0.0.1 (a free port, its own
# host key, a throwaway client key authorised for USER only, no password
# logins), with Debian's openssh-server installed first if it is missing,
# and USER created (non-root, with passwordless sudo for `become`) if it
# does not exist. With SSHD_CHROOT set (a root-owned directory tree, such as
# aarch64_root_start's), USER's sessions are confined to it (ChrootDirectory),
# their home directory made there. Sets SSHD_PORT SSHD_KEY SSHD_PID SSHD_USER
# SSHD_DIR; sshd_stop stops it and removes what sshd_start added to the system.
SSHD_ADDED=()
sshd_start() {
  SSHD_USER=$1
  # Its own directory, not the scratch one (0700, with the servers' secrets):
  # sshd reads the authorised keys as USER, so this one is 0711.
  SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pve-access-sshd.XXXXXX") || return 1
  chmod 0711 "$SSHD_DIR"
  if [[ ! -x /usr/sbin/sshd ]] || ! command -v sudo >/dev/null; then
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server sudo; } \
      >"$SSHD_DIR/apt.log" 2>&1 || { echo "cannot install openssh-server (see $SSHD_DIR/apt.log)" >&2; return 1; }
  fi
  if ! id "$SSHD_USER" >/dev/null 2>&1; then
    # "*": no password, yet not locked (sshd refuses a locked account).
    useradd --create-home --shell /bin/sh --password "*" "$SSHD_USER" || return 1
    SSHD_ADDED+=("user")
  else
    # Left by a run that was killed: the targets start from an empty cache.
    rm -rf "$(getent passwd "$SSHD_USER" | cut -d: -f6)/.cache/pve.access"
  fi
  if command -v sudo >/dev/null && [[ ! -e /etc/sudoers.d/$SSHD_USER ]]; then
    printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$SSHD_USER" >"/etc/sudoers.d/$SSHD_USER"
    chmod 0440 "/etc/sudoers.d/$SSHD_USER"
    SSHD_ADDED+=("sudoers")
  fi
  local chroot_line=
  if [[ -n ${SSHD_CHROOT:-} ]]; then
    local home
    home=$(getent passwd "$SSHD_USER" | cut -d: -f6)
    install -d -m 0700 -o "$SSHD_USER" "$SSHD_CHROOT$home" || return 1
    chroot_line="ChrootDirectory $SSHD_CHROOT"
  fi
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_key" || return 1
  ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/client_key" || return 1
  SSHD_KEY=$SSHD_DIR/client_key
  # With StrictModes off the authorised keys may stay here, out of the home.
  install -m 0644 "$SSHD_DIR/client_key.pub" "$SSHD_DIR/authorized_keys"
  SSHD_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$SSHD_DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $SSHD_USER
UsePAM no
MaxStartups 50
MaxSessions 50
Subsystem sftp internal-sftp
$chroot_line
CONF
  /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" &
  SSHD_PID=$!
  local i
  for ((i = 0; i < 50; i++)); do
    ssh -q -i "$SSHD_KEY" -p "$SSHD_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
      -o UserKnownHostsFile=/dev/null "$SSHD_USER@127.0.0.1" true 2>/dev/null && return 0
    kill -0 "$SSHD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "sshd did not start (see $SSHD_DIR/sshd.log)" >&2
  return 1
}

# ssh_inventory FILE [HOSTNAME]: an inventory of the sshd as one host.
ssh_inventory() {
  cat >"$1" <<INV
${2:-sshhost} ansible_host=127.0.0.1 ansible_port=$SSHD_PORT ansible_user=$SSHD_USER ansible_connection=ssh ansible_ssh_private_key_file=$SSHD_KEY ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlPath=$SSHD_DIR/cp-%C'
INV
}

sshd_stop() {
  # Ansible's ControlPersist masters (ours, in SSHD_DIR) end their sessions.
  local sock
  for sock in "${SSHD_DIR:-/nonexistent}"/cp-*; do
    [[ -S $sock ]] && ssh -q -O exit -o ControlPath="$sock" sshhost 2>/dev/null
  done
  if [[ -n ${SSHD_PID:-} ]]; then
    kill "$SSHD_PID" 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
    SSHD_PID=
  fi
  local what
  for what in "${SSHD_ADDED[@]}"; do
    case $what in
      user) userdel --remove "$SSHD_USER" 2>/dev/null || true ;;
      sudoers) rm -f "/etc/sudoers.d/$SSHD_USER" ;;
    esac
  done
  SSHD_ADDED=()
  [[ ${KEEP_WORK:-0} == 1 || -z ${SSHD_DIR:-} ]] || rm -rf "$SSHD_DIR"
}

# --- an aarch64 host, emulated ------------------------------------------------
# aarch64_root_start: a directory tree whose whole userland is aarch64 code
# (busybox-static of arm64: sh, uname, id, stat, sha256sum, mv, ...), for
# sshd_start's SSHD_CHROOT. Every program there runs under qemu-user, through
# a binfmt_misc handler for aarch64 ELF files: the machine's own if it has
# one with flags F and P, else one registered here with qemu-aarch64-static
# and removed by aarch64_root_stop. F: the kernel keeps the emulator open, so
# it runs inside the chroot too; P: a program keeps its argv[0], which
# busybox needs (it re-executes itself by applet name), and which Debian's
# qemu takes from its third argument when it is started as *-binfmt-P.
# So `uname -m`
# there says aarch64, as on an ARM host. Needs root, PVE_ACCESS_QEMU_AARCH64
# and PVE_ACCESS_BUSYBOX_AARCH64 (the Makefile fetches both, pinned). Sets
# AARCH64_ROOT (the tree) in AARCH64_DIR.
AARCH64_MAGIC='7f454c460201010000000000000000000200b700'
AARCH64_HANDLER=
aarch64_root_start() {
  local qemu=${PVE_ACCESS_QEMU_AARCH64:-} busybox=${PVE_ACCESS_BUSYBOX_AARCH64:-} f found= applet
  if [[ ! -x $qemu || ! -x $busybox ]]; then
    echo "no qemu-aarch64-static or aarch64 busybox (PVE_ACCESS_QEMU_AARCH64, PVE_ACCESS_BUSYBOX_AARCH64: make ansible-test fetches them)" >&2
    return 1
  fi
  local bm=/proc/sys/fs/binfmt_misc
  mountpoint -q "$bm" || mount -t binfmt_misc binfmt_misc "$bm" || return 1
  for f in "$bm"/*; do
    [[ -f $f && $f != "$bm/register" && $f != "$bm/status" ]] || continue
    grep -qx enabled "$f" && grep -q "^magic $AARCH64_MAGIC" "$f" && grep -Eq '^flags: *([A-Z]*F[A-Z]*P|[A-Z]*P[A-Z]*F)' "$f" && found=$f
  done
  # Not under /tmp: sshd wants every directory up to a chroot root-owned and
  # writable by root only.
  AARCH64_DIR=$(mktemp -d /run/pve-access-aarch64.XXXXXX) || return 1
  chmod 0755 "$AARCH64_DIR"
  AARCH64_ROOT=$AARCH64_DIR/root
  if [[ -z $found ]]; then
    AARCH64_HANDLER=$bm/pve-access-aarch64
    [[ -e $AARCH64_HANDLER ]] && echo -1 >"$AARCH64_HANDLER"
    ln -s "$qemu" "$AARCH64_DIR/aarch64-binfmt-P"
    printf ':pve-access-aarch64:M::%s:%s:%s:PF' \
      '\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00' \
      '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' \
      "$AARCH64_DIR/aarch64-binfmt-P" >"$bm/register" || { AARCH64_HANDLER=; return 1; }
  fi
  mkdir -p -m 0755 "$AARCH64_ROOT/bin" "$AARCH64_ROOT/home"
  install -d -m 1777 "$AARCH64_ROOT/tmp"
  install -m 0755 "$busybox" "$AARCH64_ROOT/bin/busybox"
  for applet in $("$AARCH64_ROOT/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$AARCH64_ROOT/bin/$applet"
  done
  [[ -x $AARCH64_ROOT/bin/sh && $("$AARCH64_ROOT/bin/uname" -m) == aarch64 ]]
}

aarch64_root_stop() {
  if [[ -n $AARCH64_HANDLER && -e $AARCH64_HANDLER ]]; then echo -1 >"$AARCH64_HANDLER"; fi
  AARCH64_HANDLER=
  [[ -z ${AARCH64_DIR:-} || ${KEEP_WORK:-0} == 1 ]] || rm -rf "$AARCH64_DIR"
}
