#!/usr/bin/env bash
# Fetches one pinned Debian package with apt and copies one file out of it,
# without installing the package: the test tools that run aarch64 code here
# (qemu-user-static's emulator, busybox-static's aarch64 userland).
# A package of another architecture than the machine's is looked up in
# package lists of its own, kept in DEST's directory (the machine's apt setup
# is not changed). Needs Debian's package lists: on a machine that has none
# yet, root refreshes them once.
# Usage: scripts/fetch-deb-file.sh PACKAGE VERSION ARCH PATH-IN-PACKAGE DEST
set -euo pipefail
pkg=$1 version=$2 arch=$3 file=$4 dest=$5
work=$(dirname "$dest")/apt
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
opts=()
if [[ $arch != "$(dpkg --print-architecture)" ]]; then
  opts=(-o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null)
  apt-get -q "${opts[@]}" update >"$work/update.log" 2>&1 ||
    { cat "$work/update.log" >&2; echo "cannot read Debian's $arch package lists" >&2; exit 1; }
fi
download() { (cd "$work/deb" && apt-get -q "${opts[@]}" download "$pkg:$arch=$version") >"$work/download.log" 2>&1; }
if ! download && [[ ${#opts[@]} -eq 0 && $(id -u) == 0 ]]; then
  apt-get -q update >/dev/null 2>&1 || true
  download || true
fi
deb=$(find "$work/deb" -name '*.deb' | head -n 1)
if [[ -z $deb ]]; then
  cat "$work/download.log" >&2
  echo "cannot download $pkg:$arch $version from Debian: if that version is gone from the archive, pin the one \`apt-cache policy $pkg\` offers (Makefile)" >&2
  exit 1
fi
dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./$file" >"$dest.tmp"
chmod 0755 "$dest.tmp"
mv "$dest.tmp" "$dest"
rm -rf "$work"
