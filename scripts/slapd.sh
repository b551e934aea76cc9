#!/usr/bin/env bash
# A throwaway OpenLDAP directory for the tests: Debian's slapd, unpacked by
# `make ldap` (not installed), run as the current user on a free loopback
# port from a fresh directory, loaded with an LDIF (by default the tests'
# tests/fixtures/ldap/directory.ldif).
#
#   scripts/slapd.sh start DIR [LDIF]   start it; prints one JSON line:
#       {"url","host","port","base_dn","bind_dn","bind_password_file","pid"}
#       With SLAPD_TLS=1 it serves TLS too: a throwaway CA and a server
#       certificate for 127.0.0.1 and localhost made in DIR (openssl), the
#       ldap:// port allowing StartTLS and an ldaps:// port; the JSON line
#       then also has "ldaps_port" and "ca_cert" (the CA's PEM file). Beside
#       ca_cert: cas/, the CA as an OpenSSL hashed directory (a CApath), and
#       other-ca.pem, a CA that signed nothing here (for a wrong-CA test).
#   scripts/slapd.sh modify DIR         ldapmodify as the directory's admin,
#                                       LDIF changes on stdin
#   scripts/slapd.sh search DIR [ARGS]  ldapsearch as the admin (LDIF out)
#   scripts/slapd.sh client DIR TOOL [ARGS]
#                                       an ldap-utils TOOL (ldapsearch, ...)
#                                       on this server, binding as ARGS say
#   scripts/slapd.sh stop DIR           stop it and wait until it is gone
#
# `client` trusts DIR's CA, so -ZZ works.
# DIR must not exist for `start` (it holds the config, the database, the
# log and the password files; `stop` leaves it for the caller to remove).
# No password is printed: the realm's bind password is in the file named
# `bind_password_file`, the admin's in DIR/admin-password.
# $PVE_ACCESS_OPENLDAP names the unpacked packages (`make ldap` prints it;
# the Makefile exports it); without it this runs `make ldap` first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
base_dn=dc=pve-access,dc=test
bind_dn=cn=pve-sync,ou=services,$base_dn
admin_dn=cn=admin,$base_dn

usage() {
  echo "usage: $0 start DIR [LDIF] | modify DIR | search DIR [ARGS] | client DIR TOOL [ARGS] | stop DIR" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
cmd=$1 dir=$2
shift 2

openldap=${PVE_ACCESS_OPENLDAP:-}
if [[ -z $openldap ]]; then
  # Tests start directories in parallel: one fetch at a time.
  mkdir -p "$repo/.tools"
  openldap=$(flock "$repo/.tools/.ldap.lock" make -s --no-print-directory -C "$repo" ldap | tail -n 1)
fi
if [[ ! -x $openldap/usr/sbin/slapd ]]; then
  echo "no slapd in $openldap: run \`make ldap\` (it fetches Debian's slapd into .tools/)" >&2
  exit 1
fi
multiarch=$(uname -m)-linux-gnu
export LD_LIBRARY_PATH=$openldap/usr/lib/$multiarch:$openldap/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The clients read DIR/ldap.conf (the CA to trust, with SLAPD_TLS=1), not
# the machine's ldap.conf nor the user's ldaprc (LDAPNOINIT, which would
# keep them out too, keeps out every setting, the CA's as well).
export LDAPRC=pve-access-no-ldaprc

url() { sed -n 's/^url=//p' "$dir/endpoint"; }
# An ldap-utils TOOL on URL, or on DIR's ldap:// one when URL is empty;
# as_admin takes URL from $at.
client_at() {
  local url=$1 tool=$2
  shift 2
  [[ $tool == ldap[a-z]* && -x $openldap/usr/bin/$tool ]] || { echo "no ldap-utils tool $tool" >&2; exit 2; }
  LDAPCONF=$dir/ldap.conf "$openldap/usr/bin/$tool" -H "${url:-$(url)}" "$@"
}
client() { client_at "" "$@"; }
as_admin() { client_at "${at:-}" "$1" -x -D "$admin_dn" -y "$dir/admin-password" "${@:2}"; }

# A CA and a certificate it signs for 127.0.0.1 and localhost, in DIR/tls:
# what a directory with a certificate of its company's CA looks like to a
# client that is given (or not) that CA.
make_certs() {
  command -v openssl >/dev/null || { echo "SLAPD_TLS=1 needs the openssl command" >&2; exit 1; }
  local tls=$dir/tls
  mkdir -p "$tls"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=pve-access test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr"
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
      extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
      -CAcreateserial -days 2 -extfile "$tls/server.ext" -out "$tls/server.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=pve-access unrelated CA" -keyout "$tls/other-ca.key" -out "$tls/other-ca.pem"
    mkdir "$tls/cas"
    ln -s ../ca.pem "$tls/cas/$(openssl x509 -hash -noout -in "$tls/ca.pem").0"
  ) >"$tls/openssl.log" 2>&1 || { cat "$tls/openssl.log" >&2; echo "openssl could not make the test certificates" >&2; exit 1; }
  chmod 644 "$tls/ca.pem" "$tls/other-ca.pem"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local ldif=${1:-$repo/tests/fixtures/ldap/directory.ldif}
  [[ ! -e $dir ]] || { echo "$dir exists: give start a new directory" >&2; exit 1; }
  [[ -r $ldif ]] || { echo "cannot read the LDIF $ldif" >&2; exit 1; }
  mkdir -p "$dir/db"
  dir=$(cd "$dir" && pwd)
  (umask 077 && printf %s "$(head -c 18 /dev/urandom | base64)" >"$dir/admin-password")
  # -y sends a file's every byte: no newline at the end.
  (umask 077 && printf %s "$(sed -n "/^dn: $bind_dn\$/,/^\$/s/^userPassword: //p" "$ldif")" >"$dir/bind-password")
  local schema=$openldap/etc/ldap/schema
  # What an Active Directory realm needs beyond LDAP, as far as slapd can
  # give it: AD's classes and attributes (OpenLDAP's msuser.schema: user,
  # group, sAMAccountName, ...) and the root DSE's defaultNamingContext,
  # where PVE looks for the base when an AD realm has no base_dn. slapd
  # knows no such attribute, so it is declared (an OID of OpenLDAP's
  # experimental arc) and served from a root DSE file.
  cat >"$dir/ad.schema" <<SCHEMA
attributetype ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'defaultNamingContext'
  EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
SCHEMA
  printf 'dn:\ndefaultNamingContext: %s\n' "$base_dn" >"$dir/rootdse.ldif"
  cat >"$dir/slapd.conf" <<CONF
include $schema/core.schema
include $schema/cosine.schema
include $schema/inetorgperson.schema
include $schema/nis.schema
include $schema/msuser.schema
include $dir/ad.schema
modulepath $openldap/usr/lib/ldap
moduleload back_mdb
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
rootDSE $dir/rootdse.ldif
database mdb
maxsize 67108864
suffix "$base_dn"
rootdn "$admin_dn"
rootpw "$(cat "$dir/admin-password")"
directory $dir/db
# As a real directory would: no anonymous reads, the realm's account reads.
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="$bind_dn" read by self read by * none
CONF
  local tls=${SLAPD_TLS:-}
  : >"$dir/ldap.conf"
  if [[ $tls == 1 ]]; then
    make_certs
    echo "TLS_CACERT $dir/tls/ca.pem" >"$dir/ldap.conf"
    # slapd.conf wants its global TLS settings before the first database.
    sed -i "/^rootDSE /a TLSCACertificateFile $dir/tls/ca.pem\\nTLSCertificateFile $dir/tls/server.pem\\nTLSCertificateKeyFile $dir/tls/server.key" "$dir/slapd.conf"
  fi
  chmod 600 "$dir/slapd.conf"
  "$openldap/usr/sbin/slapadd" -q -f "$dir/slapd.conf" -l "$ldif" >"$dir/slapadd.log" 2>&1 ||
    { cat "$dir/slapadd.log" >&2; echo "slapadd could not load $ldif" >&2; exit 1; }
  local port ldaps_port urls extra attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "url=ldap://127.0.0.1:$port" >"$dir/endpoint"
    urls="ldap://127.0.0.1:$port/" extra=
    if [[ $tls == 1 ]]; then
      ldaps_port=$(free_port)
      urls+=" ldaps://127.0.0.1:$ldaps_port/"
      extra=$(printf ', "ldaps_port": %s, "ca_cert": "%s"' "$ldaps_port" "$dir/tls/ca.pem")
    fi
    # -d 0 keeps it in the foreground (its pid is the child's), logging nothing.
    "$openldap/usr/sbin/slapd" -d 0 -f "$dir/slapd.conf" -h "$urls" >"$dir/slapd.log" 2>&1 &
    local pid=$!
    local i
    for i in $(seq 100); do
      if as_admin ldapwhoami >/dev/null 2>&1 &&
        { [[ $tls != 1 ]] || at=ldaps://127.0.0.1:$ldaps_port as_admin ldapwhoami >/dev/null 2>&1; }; then
        printf '{"url": "ldap://127.0.0.1:%s", "host": "127.0.0.1", "port": %s, "base_dn": "%s", "bind_dn": "%s", "bind_password_file": "%s", "pid": %s%s}\n' \
          "$port" "$port" "$base_dn" "$bind_dn" "$dir/bind-password" "$pid" "$extra"
        disown "$pid"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  cat "$dir/slapd.log" >&2
  echo "slapd did not start (5 attempts on free loopback ports); its log is above" >&2
  exit 1
}

stop() {
  [[ -f $dir/slapd.pid ]] || return 0
  local pid
  pid=$(cat "$dir/slapd.pid")
  kill "$pid" 2>/dev/null || { rm -f "$dir/slapd.pid"; return 0; }
  local i
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
}

case $cmd in
  start) start "$@" ;;
  modify) as_admin ldapmodify "$@" ;;
  search) as_admin ldapsearch -LLL -b "$base_dn" "$@" ;;
  client) [[ $# -ge 1 ]] || usage; client "$@" ;;
  stop) stop ;;
  *) usage ;;
esac
