#!/usr/bin/env bash
# Fetches pinned Debian packages of the machine's architecture with apt and
# unpacks them whole into one directory, without installing them (apt's
# setup and dpkg's database are not touched): OpenLDAP's slapd and its
# clients for the tests' directory server (scripts/slapd.sh). Needs Debian's
# package lists: on a machine that has none yet, root refreshes them once.
# Usage: scripts/fetch-debs.sh DEST PACKAGE=VERSION...
set -euo pipefail
dest=$1
shift
work=$dest.fetch
rm -rf "$work" "$dest"
mkdir -p "$work/deb" "$work/root"
download() { (cd "$work/deb" && apt-get -q download "$@") >"$work/download.log" 2>&1; }
if ! download "$@"; then
  if [[ $(id -u) == 0 ]]; then
    apt-get -q update >/dev/null 2>&1 || true
  fi
  download "$@" || {
    cat "$work/download.log" >&2
    echo "cannot download $* from Debian: if a version is gone from the archive, pin the one \`apt-cache policy PACKAGE\` offers (Makefile)" >&2
    exit 1
  }
fi
for deb in "$work"/deb/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
mv "$work/root" "$dest"
rm -rf "$work"
