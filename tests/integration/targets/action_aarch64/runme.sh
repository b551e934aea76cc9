# shellcheck shell=bash
# Sourced by run.sh (subshell, this directory; lib.sh helpers; a fresh pve-sim).
# The action plugins on an aarch64 target: an SSH host whose whole userland
# is aarch64 code run by qemu-user (lib.sh's aarch64_root_start, the sshd's
# ChrootDirectory for pveaccess-arm), so it reports aarch64 as an ARM host
# does. Every module's aarch64 binary is chosen, copied into the cache there
# and run (emulated); the collection's x86_64 binaries are taken away for the
# run, so none of them can be doing the work.
ssh_user=pveaccess-arm
x86=$COLLECTION_DIR/binaries/linux-x86_64
arm=$COLLECTION_DIR/binaries/linux-aarch64
# The modules all.yml runs: every module but pve_pool, which needs a server
# with pools (pve-oracle, which these targets run against too, has none);
# its aarch64 binary runs its own tests under qemu in `make aarch64-test`.
mapfile -t MODULES < <(grep -o 'pve\.access\.pve_[a-z_]*' ../action_ssh/all.yml | sed 's/^pve\.access\.//' | sort -u)
put_back_x86() { [[ -d $WORK/linux-x86_64.away ]] && mv "$WORK/linux-x86_64.away" "$x86"; }
trap 'put_back_x86; sshd_stop; aarch64_root_stop' EXIT
if ! aarch64_root_start; then
  not_ok "an aarch64 userland under qemu-user is set up"
  return
fi
if ! SSHD_CHROOT=$AARCH64_ROOT sshd_start "$ssh_user"; then
  not_ok "a loopback sshd into the aarch64 userland starts"
  return
fi
inv=$SSHD_DIR/inventory
ssh_inventory "$inv" armhost
home=$(getent passwd "$ssh_user" | cut -d: -f6)
cache=$AARCH64_ROOT$home/.cache/pve.access
arm_play() { play "$@" -i "$inv" -e target=armhost; }
copies() { grep -c 'pve.access: copying' "$PLAY_OUT"; }

mv "$x86" "$WORK/linux-x86_64.away"
mark=$(log_mark)
arm_play arm-first ../action_ssh/all.yml -vvv
expect "every module on a target that reports aarch64 (changed=$RECAP_CHANGED)" \
  eval 'play_succeeded && [[ $RECAP_CHANGED -eq 6 ]]'
expect "the platform is asked once, and it is linux-aarch64" \
  eval '[[ $(grep -c "uname -s" "$PLAY_OUT") -eq 1 ]] && grep -q "pve.access: target .* is linux-aarch64" "$PLAY_OUT"'
for m in "${MODULES[@]}"; do
  e=$cache/$m-$(sha256sum "$arm/$m" | cut -d' ' -f1)
  expect "$m: the collection's aarch64 binary is the one cached and run there" \
    eval 'cmp -s "$e" "$arm/$m" && [[ $(readelf -h "$e" | sed -n "s/^ *Machine: *//p") == AArch64 ]]'
done
writes=$(writes_since "$mark")
for w in "POST /access/users 200" "POST /access/groups 200" "POST /access/roles 200" "PUT /access/acl 200"; do
  expect "the server got $w from the emulated modules" grep -qx "$w" <<<"$writes"
done

arm_play arm-again ../action_ssh/all.yml -vvv
expect "a second run changes nothing and copies nothing ($(copies) copies)" \
  eval 'play_succeeded && [[ $RECAP_CHANGED -eq 0 && $(copies) -eq 0 ]]'
put_back_x86
