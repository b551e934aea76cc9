//! A real OpenLDAP directory for tests that sync a PVE LDAP realm:
//! `scripts/slapd.sh` (Debian's slapd, fetched by `make ldap`) on a free
//! loopback port, loaded with `tests/fixtures/ldap/directory.ldif` or an
//! LDIF of the test's own, and stopped, its directory removed, on drop.
//!
//! ```no_run
//! let dir = pve_test_support::ldap::Directory::start();
//! // a realm: server1 dir.host, port dir.port, base_dn dir.base_dn,
//! // bind_dn dir.bind_dn, password dir.bind_password
//! dir.modify("dn: uid=erin,ou=people,dc=pve-access,dc=test\nchangetype: delete\n");
//! assert!(!dir.search("(uid=erin)").contains("uid: erin"));
//!
//! // TLS too: StartTLS on dir.port, ldaps on tls.ldaps_port, a certificate
//! // for 127.0.0.1 and localhost from the CA in tls.ca_cert.
//! let dir = pve_test_support::ldap::Directory::start_with_tls();
//! let tls = dir.tls.as_ref().unwrap();
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{unique_temp_dir, workspace_root};

/// The fixture's users, as their `uid`s.
pub const FIXTURE_USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

/// A running slapd, stopped on drop.
#[derive(Debug)]
pub struct Directory {
    /// `ldap://127.0.0.1:PORT`
    pub url: String,
    pub host: String,
    pub port: u16,
    /// The suffix every entry is under, `dc=pve-access,dc=test`.
    pub base_dn: String,
    /// The service account a realm binds as (it may read everything; an
    /// anonymous client may read nothing).
    pub bind_dn: String,
    pub bind_password: String,
    /// The file that holds `bind_password` (for clients that read one).
    pub bind_password_file: PathBuf,
    /// What a directory started with TLS serves beyond `url`.
    pub tls: Option<Tls>,
    /// slapd's own directory (config, database, log) inside `parent`.
    dir: PathBuf,
    parent: PathBuf,
}

/// The TLS side of a [`Directory`]: StartTLS on its `port`, and ldaps.
#[derive(Debug)]
pub struct Tls {
    /// ldaps (TLS from the first byte) on 127.0.0.1.
    pub ldaps_port: u16,
    /// The PEM file of the throwaway CA that signed the server's
    /// certificate (for 127.0.0.1 and localhost).
    pub ca_cert: PathBuf,
}

impl Tls {
    /// That CA as an OpenSSL hashed directory (a hash link to `ca_cert`),
    /// as /etc/ssl/certs holds the system's CAs.
    pub fn ca_dir(&self) -> PathBuf {
        self.ca_cert.with_file_name("cas")
    }

    /// A CA that signed nothing this directory serves.
    pub fn other_ca(&self) -> PathBuf {
        self.ca_cert.with_file_name("other-ca.pem")
    }
}

impl Directory {
    /// A directory loaded with the fixture.
    pub fn start() -> Directory {
        Directory::launch(&fixture(), false)
    }

    /// A directory loaded with the fixture that serves TLS too (see [`Tls`]).
    pub fn start_with_tls() -> Directory {
        Directory::launch(&fixture(), true)
    }

    /// A directory loaded with `ldif` (its suffix must be the fixture's,
    /// `dc=pve-access,dc=test`, with the bind account in it).
    pub fn start_with(ldif: &Path) -> Directory {
        Directory::launch(ldif, false)
    }

    fn launch(ldif: &Path, tls: bool) -> Directory {
        let parent = unique_temp_dir("pve-access-ldap");
        let dir = parent.join("slapd");
        let out = slapd(&["start".as_ref(), dir.as_os_str(), ldif.as_os_str()], tls);
        let ready: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "scripts/slapd.sh start printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let text = |key: &str| {
            ready[key]
                .as_str()
                .unwrap_or_else(|| panic!("scripts/slapd.sh start: no {key} in {ready}"))
                .to_string()
        };
        let port = |key: &str| {
            ready[key]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or_else(|| panic!("scripts/slapd.sh start: no {key} in {ready}"))
        };
        let bind_password_file = PathBuf::from(text("bind_password_file"));
        Directory {
            url: text("url"),
            host: text("host"),
            port: port("port"),
            tls: tls.then(|| Tls {
                ldaps_port: port("ldaps_port"),
                ca_cert: PathBuf::from(text("ca_cert")),
            }),
            base_dn: text("base_dn"),
            bind_dn: text("bind_dn"),
            bind_password: fs::read_to_string(&bind_password_file)
                .unwrap_or_else(|e| panic!("read {}: {e}", bind_password_file.display())),
            bind_password_file,
            dir,
            parent,
        }
    }

    /// Applies LDIF changes (`changetype: add|modify|delete`) as the
    /// directory's admin; panics with ldapmodify's error when one fails.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new(slapd_script())
            .arg("modify")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run scripts/slapd.sh modify");
        child
            .stdin
            .take()
            .expect("ldapmodify's stdin")
            .write_all(ldif.as_bytes())
            .expect("write the LDIF to ldapmodify");
        let out = child.wait_with_output().expect("wait for ldapmodify");
        assert!(
            out.status.success(),
            "ldapmodify failed on\n{ldif}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The entries under the base that match `filter`, as LDIF text.
    pub fn search(&self, filter: &str) -> String {
        let out = slapd(
            &["search".as_ref(), self.dir.as_os_str(), filter.as_ref()],
            false,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs an ldap-utils `tool` (`ldapsearch`, `ldapwhoami`, ...) on this
    /// server with `args` (which say how it binds), as a client of the
    /// directory would; its exit status is the caller's to judge.
    pub fn client(&self, tool: &str, args: &[&str]) -> Output {
        Command::new(slapd_script())
            .arg("client")
            .arg(&self.dir)
            .arg(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/slapd.sh client")
    }
}

impl Directory {
    /// The realm properties (domains.cfg names, values as `pvesh` takes
    /// them) that reach this TLS directory, or `no_tls`, as `case` says;
    /// the bind account and base are the caller's.
    pub fn tls_realm(&self, no_tls: &Directory, case: &expected::TlsCase) -> Vec<(String, String)> {
        use expected::{Ca, Port};
        let tls = self.tls.as_ref().expect("a directory started with TLS");
        let port = match case.port {
            Port::Ldap => self.port,
            Port::Ldaps => tls.ldaps_port,
            Port::NoTls => no_tls.port,
        };
        let mut props = vec![
            ("server1", case.server.clone().unwrap_or(self.host.clone())),
            ("port", port.to_string()),
        ];
        if case.mode == "secure" {
            props.push(("secure", "1".to_string()));
        } else {
            props.push(("mode", case.mode.to_string()));
        }
        if let Some(ca) = case.verify {
            props.push(("verify", "1".to_string()));
            let capath = match ca {
                Ca::System => None,
                Ca::File => Some(tls.ca_cert.clone()),
                Ca::HashedDir => Some(tls.ca_dir()),
                Ca::PlainDir => tls.ca_cert.parent().map(Path::to_path_buf),
                Ca::Other => Some(tls.other_ca()),
            };
            props.extend(capath.map(|p| ("capath", p.to_string_lossy().into_owned())));
        }
        props.extend(case.sslversion.map(|v| ("sslversion", v.to_string())));
        props.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        let _ = Command::new(slapd_script())
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = fs::remove_dir_all(&self.parent);
    }
}

fn slapd_script() -> PathBuf {
    workspace_root().join("scripts/slapd.sh")
}

fn fixture() -> PathBuf {
    workspace_root().join("tests/fixtures/ldap/directory.ldif")
}

/// Runs `scripts/slapd.sh args` (`SLAPD_TLS=1` with `tls`); panics with
/// its stderr when it fails.
fn slapd(args: &[&std::ffi::OsStr], tls: bool) -> Output {
    let out = Command::new(slapd_script())
        .args(args)
        .env("SLAPD_TLS", if tls { "1" } else { "" })
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/slapd.sh");
    assert!(
        out.status.success(),
        "scripts/slapd.sh {} failed: {}",
        args.first()
            .map_or(String::new(), |a| a.to_string_lossy().into_owned()),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What PVE's realm sync makes of the fixture: the expectations measured
/// with the real code (`tests/realm_sync.rs`, pve-oracle) that pve-sim's
/// sync is held to as well (`pve-sim/tests/realm_sync.rs`).
pub mod expected {
    /// The realm the tests sync.
    pub const REALM: &str = "dir";
    pub const PEOPLE: &str = "ou=people,dc=pve-access,dc=test";
    pub const GROUPS: &str = "ou=groups,dc=pve-access,dc=test";
    /// What a realm must map to sync names and e-mail addresses at all: PVE
    /// reads LDAP attributes named like its own fields unless told otherwise.
    pub const SYNC_ATTRIBUTES: &str = "email=mail,firstname=givenName,lastname=sn";

    /// Users of the realm, then groups: the fixture as PVE syncs it (with
    /// `SYNC_ATTRIBUTES`).
    pub const FIRST_SYNC: &[&str] = &[
        "user:alice@dir:1:0:Alice:Archer:alice@pve-access.test:::",
        "user:bob@dir:1:0:Bob:Baker:bob@pve-access.test:::",
        "user:carol@dir:1:0:Carol:Carter:carol@pve-access.test:::",
        "user:dave@dir:1:0:Dave:Dyer::::",
        "user:erin@dir:1:0::Evans:erin@pve-access.test:::",
        "group:admins-dir:alice@dir,bob@dir::",
        "group:operators-dir:bob@dir,carol@dir,dave@dir::",
    ];

    /// The log of a dry run of scope `both` on the fixture and a realm that
    /// has synced nothing yet.
    pub const FIRST_DRY_RUN: &str = "(dry test run) starting sync for realm dir\n\
         got data from server, updating users and groups\n\
         syncing users (remove-vanished opts: none)\n\
         adding user 'alice@dir'\n\
         adding user 'bob@dir'\n\
         adding user 'carol@dir'\n\
         adding user 'dave@dir'\n\
         adding user 'erin@dir'\n\
         syncing groups (remove-vanished opts: none)\n\
         adding group 'admins-dir'\n\
         adding group 'operators-dir'\n\
         \n\
         NOTE: Dry test run, changes were NOT written to the configuration.\n";

    /// The log of a sync of scope `groups` on the fixture.
    pub const GROUPS_SYNC: &str = "starting sync for realm dir\n\
         got data from server, updating groups\n\
         syncing groups (remove-vanished opts: none)\n\
         adding group 'admins-dir'\n\
         adding group 'operators-dir'\n\
         successfully updated groups configuration\n";

    /// What IO::Socket::SSL (OpenSSL 3) reports, and so PVE's task log
    /// says, when the directory's certificate chain leads to no CA it trusts.
    pub const CERTIFICATE_VERIFY_FAILED: &str =
        "SSL connect attempt failed error:0A000086:SSL routines::certificate verify failed";

    /// Where a TLS case's realm connects to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Port {
        /// The ldap:// port of the TLS directory (StartTLS allowed).
        Ldap,
        /// Its ldaps:// port.
        Ldaps,
        /// The ldap:// port of a directory without TLS.
        NoTls,
    }

    /// The CAs a verifying realm is given (`capath`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Ca {
        /// No `capath`: the system's CAs, which do not include the test CA.
        System,
        /// The test CA's PEM file.
        File,
        /// The test CA as an OpenSSL hashed directory.
        HashedDir,
        /// A directory with the CA's PEM file but no hash links.
        PlainDir,
        /// A CA that signed nothing there.
        Other,
    }

    /// One way of reaching a TLS directory, and what PVE's sync (a dry run
    /// of scope `users`) makes of it, measured with pve-oracle (9.1, 8.4).
    #[derive(Debug, Clone)]
    pub struct TlsCase {
        pub name: &'static str,
        /// `mode` of the realm; `secure` sets the deprecated `secure 1`
        /// instead.
        pub mode: &'static str,
        pub port: Port,
        /// `verify 1` with these CAs; `None`: no `verify` (PVE's default, off).
        pub verify: Option<Ca>,
        /// `server1`, when not the directory's `host` (127.0.0.1).
        pub server: Option<String>,
        pub sslversion: Option<&'static str>,
        /// The task's error; `None`: the sync works.
        pub error: Option<&'static str>,
    }

    /// The cases measured.
    pub fn tls_cases() -> Vec<TlsCase> {
        let case = |name, mode, port, verify, error| TlsCase {
            name,
            mode,
            port,
            verify,
            server: None,
            sslversion: None,
            error,
        };
        let verify_failed = Some(CERTIFICATE_VERIFY_FAILED);
        let mut cases = vec![
            case("ldaps", "ldaps", Port::Ldaps, None, None),
            case("starttls", "ldap+starttls", Port::Ldap, None, None),
            case("secure", "secure", Port::Ldaps, None, None),
            case("ldaps, CA file", "ldaps", Port::Ldaps, Some(Ca::File), None),
            case(
                "starttls, CA file",
                "ldap+starttls",
                Port::Ldap,
                Some(Ca::File),
                None,
            ),
            case(
                "ldaps, hashed CA directory",
                "ldaps",
                Port::Ldaps,
                Some(Ca::HashedDir),
                None,
            ),
            // OpenSSL finds CAs in a directory by their hash links only.
            case(
                "ldaps, CA directory without hash links",
                "ldaps",
                Port::Ldaps,
                Some(Ca::PlainDir),
                verify_failed,
            ),
            case(
                "ldaps, system CAs",
                "ldaps",
                Port::Ldaps,
                Some(Ca::System),
                verify_failed,
            ),
            case(
                "ldaps, wrong CA",
                "ldaps",
                Port::Ldaps,
                Some(Ca::Other),
                verify_failed,
            ),
            case(
                "starttls, wrong CA",
                "ldap+starttls",
                Port::Ldap,
                Some(Ca::Other),
                verify_failed,
            ),
            case(
                "starttls, no TLS on the server",
                "ldap+starttls",
                Port::NoTls,
                None,
                Some("unsupported extended operation"),
            ),
            case(
                "plain ldap to the ldaps port",
                "ldap",
                Port::Ldaps,
                None,
                Some("ldap bind failed: Unexpected EOF"),
            ),
            TlsCase {
                server: Some("localhost".to_string()),
                ..case(
                    "ldaps, CA file, by name",
                    "ldaps",
                    Port::Ldaps,
                    Some(Ca::File),
                    None,
                )
            },
            TlsCase {
                sslversion: Some("tlsv1_3"),
                ..case("ldaps, TLS 1.3", "ldaps", Port::Ldaps, None, None)
            },
        ];
        // Only where the machine has a name for 127.0.0.1 that the
        // certificate is not for.
        if let Some(alias) = loopback_alias() {
            cases.push(TlsCase {
                server: Some(alias),
                ..case(
                    "ldaps, CA file, a name the certificate is not for",
                    "ldaps",
                    Port::Ldaps,
                    Some(Ca::File),
                    Some("hostname verification failed"),
                )
            });
        }
        cases
    }

    /// Another name of 127.0.0.1 in /etc/hosts than `localhost`.
    fn loopback_alias() -> Option<String> {
        let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
        hosts.lines().find_map(|line| {
            let mut fields = line.split('#').next()?.split_whitespace();
            (fields.next()? == "127.0.0.1")
                .then(|| fields.find(|n| !n.starts_with("localhost")))
                .flatten()
                .map(str::to_string)
        })
    }

    /// The log of a dry run of scope `users` on the fixture, for a realm
    /// `realm` that has synced nothing yet.
    pub fn users_dry_run(realm: &str) -> String {
        let adding: String = super::FIXTURE_USERS
            .iter()
            .map(|u| format!("adding user '{u}@{realm}'\n"))
            .collect();
        format!(
            "(dry test run) starting sync for realm {realm}\n\
             got data from server, updating users\n\
             syncing users (remove-vanished opts: none)\n\
             {adding}\n\
             NOTE: Dry test run, changes were NOT written to the configuration.\n"
        )
    }

    /// The directory after people came and went: bob's mail changed, erin
    /// and the admins group are gone, frank and the devs group are new.
    pub const DIRECTORY_CHANGES: &str = include_str!("../../fixtures/ldap/changes.ldif");

    /// The lines of user.cfg that are about this realm's users and groups,
    /// and the ACL, sorted: what a sync may change.
    pub fn synced_lines(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| {
                l.contains(&format!("@{REALM}"))
                    || l.contains(&format!("-{REALM}:"))
                    || l.starts_with("acl:")
            })
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    /// `text` sorted, as [`synced_lines`] are.
    pub fn sorted(text: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = text.iter().map(|l| l.to_string()).collect();
        lines.sort();
        lines
    }

    /// One `remove-vanished` option applied after [`DIRECTORY_CHANGES`], to
    /// a realm synced from the fixture to which an admin then added a
    /// comment to carol (`local note`), disabled dave, gave bob a token
    /// `ci` (privsep 1), granted `PVEAuditor` on `/vms` to erin@dir and on
    /// `/` to `@admins-dir`, and made root@pam a member of operators-dir.
    pub struct Vanished {
        pub option: &'static str,
        pub enable_new: bool,
        /// The task log of the sync (scope `both`).
        pub log: String,
        /// The task log of its dry run.
        pub dry_log: String,
        /// [`synced_lines`] of user.cfg afterwards.
        pub lines: Vec<String>,
    }

    /// The cases PVE was measured with, one per option.
    pub fn vanished_cases() -> Vec<Vanished> {
        let common = [
            "user:alice@dir:1:0:Alice:Archer:alice@pve-access.test:::",
            "user:bob@dir:1:0:Bob:Baker:bob@changed.test:::",
            "token:bob@dir!ci:0:1::",
            "user:dave@dir:0:0:Dave:Dyer::::",
            "group:devs-dir:frank@dir::",
            // A synced group's members are the directory's, whatever the
            // option: root@pam, added locally, is dropped; the comment goes
            // only with `properties`.
            "group:operators-dir:bob@dir,carol@dir,dave@dir::",
        ];
        let erin = "user:erin@dir:1:0::Evans:erin@pve-access.test:::";
        let admins = "group:admins-dir:alice@dir,bob@dir::";
        let acl = [
            "acl:1:/:@admins-dir:PVEAuditor:",
            "acl:1:/vms:erin@dir:PVEAuditor:",
        ];
        let carol = "user:carol@dir:1:0:Carol:Carter:carol@pve-access.test:local note::";
        let carol_plain = "user:carol@dir:1:0:Carol:Carter:carol@pve-access.test:::";
        let frank_enabled = "user:frank@dir:1:0:Frank:Fox:frank@pve-access.test:::";
        let frank_disabled = "user:frank@dir:0:0:Frank:Fox:frank@pve-access.test:::";
        let remove_erin = "deleting outdated existing users first\nremove user 'erin@dir'\n";
        let purge_erin = "purge users 'erin@dir' ACL entries\n";
        let remove_admins = "deleting outdated existing groups first\nremove group 'admins-dir'\n";
        let purge_admins = "purge groups 'admins-dir' ACL entries\n";
        let all_users = format!("{remove_erin}{purge_erin}");
        let all_groups = format!("{remove_admins}{purge_admins}");
        // Per option: whether new users are enabled, the user.cfg lines that
        // differ between the options, and the log: what it says of the
        // vanished users, the verb for the users and groups that stay, what
        // it says of the vanished groups.
        type Case<'a> = (&'static str, bool, Vec<&'a str>, [&'a str; 3]);
        let cases: [Case; 5] = [
            (
                "none",
                false,
                vec![erin, admins, acl[0], acl[1], carol, frank_disabled],
                ["", "updating", ""],
            ),
            (
                "acl",
                true,
                vec![erin, admins, carol, frank_enabled],
                [purge_erin, "updating", purge_admins],
            ),
            // The entries go, their ACL entries stay behind (PVE then ignores
            // them with a warning when it reads user.cfg).
            (
                "entry",
                true,
                vec![acl[0], acl[1], carol, frank_enabled],
                [remove_erin, "updating", remove_admins],
            ),
            // Local properties go (the comment), but not enable and tokens.
            (
                "properties",
                true,
                vec![erin, admins, acl[0], acl[1], carol_plain, frank_enabled],
                ["", "overwriting", ""],
            ),
            (
                "acl;entry;properties",
                true,
                vec![carol_plain, frank_enabled],
                [&all_users, "overwriting", &all_groups],
            ),
        ];
        let out = cases
            .into_iter()
            .map(
                |(option, enable_new, specific, [vanished_users, verb, vanished_groups])| {
                    let stay: String = ["alice", "bob", "carol", "dave"]
                        .iter()
                        .map(|u| format!("{verb} user '{u}@dir'\n"))
                        .collect();
                    let body = format!(
                        "got data from server, updating users and groups\n\
                         syncing users (remove-vanished opts: {option})\n\
                         {vanished_users}{stay}adding user 'frank@dir'\n\
                         syncing groups (remove-vanished opts: {option})\n\
                         {vanished_groups}adding group 'devs-dir'\n\
                         {verb} group 'operators-dir'\n"
                    );
                    let mut lines: Vec<&str> = common.to_vec();
                    lines.extend(specific);
                    Vanished {
                        option,
                        enable_new,
                        log: format!(
                            "starting sync for realm dir\n{body}successfully updated users and groups configuration\n"
                        ),
                        dry_log: format!(
                            "(dry test run) starting sync for realm dir\n{body}\nNOTE: Dry test run, changes were NOT written to the configuration.\n"
                        ),
                        lines: sorted(&lines),
                    }
                },
            )
            .collect();
        out
    }
}
