#!/usr/bin/perl
# Runs realm-sync job calls through the real PVE code of pve-oracle, which
# does not route /cluster: PVE's own PVE::API2::Jobs::RealmSync (in the
# oracle's lib/) is mounted under /rsjobs of the oracle's reduced API, and
# jobs.cfg is registered with PVE's own job registry. Nothing of PVE is
# copied here; the oracle's modules are loaded from $PVE_ORACLE's directory.
#
#   scripts/oracle-sync-jobs.pl 9.1 < calls.json
#
# calls.json: [[METHOD, "/rsjobs/<id>", {params}, "user@realm" (default
# root@pam)], ...]. The state is fresh: user.cfg with root@pam and
# au@pve (PVEAuditor on /), domains.cfg with an ldap realm `dir`. Prints
# one JSON line per call: the call, status, reason, body (decoded) and, after
# a write, `jobs.cfg` as the real code left it.
# Listing jobs dies in the oracle (its calendar-event stub). See
# docs/realm-sync-jobs.md for what it measured.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $ver = shift // '9.1';
my $oracle = $ENV{PVE_ORACLE} // dirname(__FILE__) . "/../../shared/pve-oracle/pve-oracle";
my $root = dirname($oracle);
die "no pve-oracle code for $ver at $root/lib/$ver\n" if !-d "$root/lib/$ver";
$ENV{PVE_ORACLE_ETC} = tempdir('oracle-sync-jobs-XXXXXX', TMPDIR => 1, CLEANUP => 1) . "/etc";
unshift @INC, "$root/oracle-lib", "$root/stubs", "$root/lib/$ver";
$SIG{__WARN__} = sub { print STDERR $_[0] if $_[0] !~ /^Use of uninitialized/ };
require PVE::OracleEnv;
require JSON;
require PVE::Oracle;
PVE::Oracle::init_state(root_password => 'unused');
my $etc = PVE::Oracle::etc();
PVE::Tools::file_set_contents("$etc/domains.cfg",
    "ldap: dir\n\tbase_dn dc=x\n\tserver1 127.0.0.1\n\tuser_attr uid\n\npve: pve\n\npam: pam\n\n");
PVE::Tools::file_set_contents("$etc/user.cfg",
    "user:root\@pam:1:0::::::\nuser:au\@pve:1:0::::::\nacl:1:/:au\@pve:PVEAuditor:\n");
require PVE::Jobs::RealmSync;
PVE::Jobs::RealmSync->register();
PVE::Job::Registry->init();
PVE::Cluster::cfs_register_file('jobs.cfg',
    sub { PVE::Job::Registry->parse_config(@_) }, sub { PVE::Job::Registry->write_config(@_) });
require PVE::API2::Jobs::RealmSync;
require PVE::API2;
PVE::API2->register_method({ subclass => 'PVE::API2::Jobs::RealmSync', path => 'rsjobs' });

my $calls = JSON::decode_json(do { local $/; <STDIN> });
my $json = JSON->new->canonical->utf8;
for my $c (@$calls) {
    my ($method, $path, $params, $as) = @$c;
    my $r = PVE::Oracle::dispatch($method, $path, $params, $as // "root\@pam");
    my $body = eval { $json->decode($r->{body}) } // $r->{body};
    my $out = { call => $c, status => $r->{status}, reason => $r->{reason}, body => $body };
    if ($method ne 'GET') {
        my $f = "$etc/jobs.cfg";
        $out->{'jobs.cfg'} = -e $f ? PVE::Tools::file_get_contents($f) : undef;
    }
    print $json->encode($out), "\n";
}
