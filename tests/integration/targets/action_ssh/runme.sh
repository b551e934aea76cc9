# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh pve-sim).
# The action plugins over a real SSH connection: a throwaway sshd on
# loopback, a non-root user (pveaccess-it) with sudo for `become`. Every
# module: the first run copies its binary into the user's cache, later runs
# reuse it in one remote command per task, a changed binary is replaced, a
# tampered cache entry is refused (never run) and replaced; check, diff,
# no_log, become, async, the task's environment, delegate_to and the cache
# turned off behave.
ssh_user=pveaccess-it
# The modules all.yml runs, once each.
mapfile -t MODULES < <(grep -o 'pve\.access\.pve_[a-z_]*' all.yml | sed 's/^pve\.access\.//' | sort -u)
declare -A old
trap sshd_stop EXIT
if ! sshd_start "$ssh_user"; then
  not_ok "a loopback sshd starts"
  return
fi
inv=$SSHD_DIR/inventory
ssh_inventory "$inv"
home=$(getent passwd "$ssh_user" | cut -d: -f6)
cache=$home/.cache/pve.access
bin=$COLLECTION_DIR/binaries/linux-x86_64
# Only async needs Python on the target (async_wrapper): the system one.
ssh_play() { play "$@" -i "$inv" -e ansible_python_interpreter=/usr/bin/python3 -e "ansible_remote_tmp=~/.ansible/tmp"; }
entry() { echo "$cache/$1-$(sha256sum "$bin/$1" | cut -d' ' -f1)"; }
execs() { grep -c 'SSH: EXEC' "$PLAY_OUT"; }
copies() { grep -c 'pve.access: copying' "$PLAY_OUT"; }

ssh_play ssh-first all.yml -vvv
expect "first run over SSH succeeds (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 6 ]]'
expect "first run copies each of the ${#MODULES[@]} binaries once ($(copies) copies)" test "$(copies)" -eq "${#MODULES[@]}"
for m in "${MODULES[@]}"; do
  e=$(entry "$m")
  expect "$m: cached as $e, mode 0555, owned by $ssh_user" \
    eval '[[ $(stat -c "%a %U" "$e" 2>/dev/null) == "555 $ssh_user" ]]'
done
expect "the cache directory is mode 0755, owned by $ssh_user" \
  eval '[[ $(stat -c "%a %U" "$cache" 2>/dev/null) == "755 $ssh_user" ]]'
expect "the root password is not in the -vvv output" eval '! grep -qF -- "$SIM_PW" "$PLAY_OUT"'
expect "the platform is asked once (uname)" test "$(grep -c 'uname -s' "$PLAY_OUT")" -eq 1

inodes=$(for m in "${MODULES[@]}"; do stat -c %i "$(entry "$m")"; done)
ssh_play ssh-again all.yml -vvv
expect "second run succeeds with changed=0 (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 0 ]]'
expect "second run copies nothing ($(copies) copies)" test "$(copies)" -eq 0
expect "second run: one remote command per task, plus the platform once ($(execs) commands)" \
  test "$(execs)" -eq $((${#MODULES[@]} + 1))
expect "second run reuses the cached files" test "$inodes" = "$(for m in "${MODULES[@]}"; do stat -c %i "$(entry "$m")"; done)"
token_secret=$(grep -o '"secret": "[^"*]*"' "$WORK/logs/ssh-first.log" | head -n 1)
expect "no_log: the token secret is in no output" test -z "$token_secret"

# A new build of every module: new entries replace the old ones.
for m in "${MODULES[@]}"; do
  old[$m]=$(entry "$m")
  cp "$bin/$m" "$SSHD_DIR/$m.orig"
  printf '\0' >>"$bin/$m"
done
ssh_play ssh-changed all.yml -vvv
expect "changed binaries: the run succeeds" play_succeeded
expect "each changed binary is copied again, once ($(copies) copies)" test "$(copies)" -eq "${#MODULES[@]}"
for m in "${MODULES[@]}"; do
  expect "$m: the changed binary's entry is there, the old one is gone" \
    eval '[[ -f $(entry "$m") && ! -e ${old[$m]} ]]'
  cp "$SSHD_DIR/$m.orig" "$bin/$m"
done

# Tampered entries (same name, other content) are never run, and replaced.
# (The entries of the original binaries are back first: a normal run.)
ssh_play ssh-restored all.yml
for m in "${MODULES[@]}"; do
  e=$(entry "$m")
  chmod u+w "$e"
  printf '#!/bin/sh\ntouch %s\necho "{\\"changed\\": false}"\n' "$home/tampered-$m-ran" >"$e"
  chmod 0555 "$e"
done
ssh_play ssh-tampered all.yml -vvv
expect "tampered entries: the run succeeds" play_succeeded
expect "every tampered entry is refused with a warning ($(grep -c 'refused (hash mismatch)' "$PLAY_OUT") warnings)" \
  test "$(grep -c 'refused (hash mismatch)' "$PLAY_OUT")" -eq "${#MODULES[@]}"
for m in "${MODULES[@]}"; do
  expect "$m: the tampered entry was never run" test ! -e "$home/tampered-$m-ran"
  expect "$m: the tampered entry is replaced by the real binary" cmp -s "$(entry "$m")" "$bin/$m"
done

# An entry writable by others is refused too.
e=$(entry pve_role)
chmod 0777 "$e"
ssh_play ssh-mode all.yml -vvv
expect "an entry writable by others is refused and replaced" \
  eval 'play_succeeded && grep -q "refused (writable by others)" "$PLAY_OUT" && [[ $(stat -c %a "$e") == 555 ]]'

# Check and diff mode over SSH: predictions, no write.
mark=$(log_mark)
ssh_play ssh-check all.yml --check --diff -e comment=changed
expect "check mode over SSH predicts the change (changed=$RECAP_CHANGED)" eval 'play_succeeded && [[ $RECAP_CHANGED -eq 1 ]]'
expect "diff mode over SSH shows before and after" grep -q -- '^+++ after' "$PLAY_OUT"
writes=$(writes_since "$mark")
expect "check mode over SSH writes nothing${writes:+ (made: $writes)}" test -z "$writes"

# become (sudo to root) and async.
root_cache=$(getent passwd root | cut -d: -f6)/.cache/pve.access
touch "$SSHD_DIR/before-become"
ssh_play ssh-become become.yml -vvv
expect "become and async over SSH work" play_succeeded
expect "become ran the module through sudo" grep -q 'sudo -H -S -n' "$PLAY_OUT"
expect "become used the connecting user's cache, not root's" \
  eval '[[ -z $(find "$root_cache" -newer "$SSHD_DIR/before-become" 2>/dev/null) ]]'

# The task's environment reaches the module (over standard input, never on
# the command line), and delegate_to runs it on the controller, in place.
ssh_play ssh-env env_delegate.yml -vvv
expect "environment and delegate_to over SSH work" play_succeeded
expect "the environment's password is on no remote command line" \
  eval '! grep "SSH: EXEC" "$PLAY_OUT" | grep -qF -- "$SIM_PW"'
expect "the delegated task ran on the controller, in place" \
  grep -q "pve.access: running $COLLECTION_DIR/binaries/linux-x86_64/pve_user in place" "$PLAY_OUT"

# The cache turned off: Ansible's own way, a copy per task.
ssh_play ssh-nocache all.yml -vvv -e pve_access_binary_cache=false -e suffix=3
expect "pve_access_binary_cache=false: the plays work the classic way" \
  eval 'play_succeeded && [[ $RECAP_CHANGED -eq 6 ]] && grep -q "PUT .*AnsiballZ_pve_user\|AnsiballZ_pve_user" "$PLAY_OUT"'

# The binary alone, in a library/ directory, is still a binary module.
mkdir -p "$SSHD_DIR/library"
cp "$bin/pve_user" "$SSHD_DIR/library/pve_user"
ANSIBLE_LIBRARY=$SSHD_DIR/library ssh_play ssh-library library.yml -vvv
expect "the binary copied into a library/ runs as a plain binary module (Ansible copies it per task)" \
  eval 'play_succeeded && grep -q "AnsiballZ_pve_user" "$PLAY_OUT" && [[ $(copies) -eq 0 ]]'

# Another platform: refused at once, nothing run or copied, no request made.
mark=$(log_mark)
ssh_play ssh-platform platform.yml -vvv -e "target_key=ssh://$ssh_user@127.0.0.1:$SSHD_PORT"
expect "a target of another platform (linux-riscv64) fails at once, naming it and what to do" play_succeeded
expect "... without running or copying anything ($(requests_since "$mark") requests)" \
  eval '[[ $(requests_since "$mark") -eq 0 && $(copies) -eq 0 ]] && ! grep -q "SSH: EXEC" "$PLAY_OUT"'

# The local connection runs the binaries where the collection is: no copy.
play local-in-place all.yml -vvv -e target=localhost -e suffix=4
expect "local connection: the plays succeed, each binary run in place ($(grep -c 'running .* in place' "$PLAY_OUT") runs)" \
  eval 'play_succeeded && [[ $(grep -c "pve.access: running $COLLECTION_DIR/binaries/linux-x86_64/pve_.* in place" "$PLAY_OUT") -eq ${#MODULES[@]} ]]'
expect "local connection: nothing copied" eval '[[ $(copies) -eq 0 ]] && ! grep -q "PUT " "$PLAY_OUT"'

sshd_stop
trap - EXIT
