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
    /// slapd's own directory (config, database, log) inside `parent`.
    dir: PathBuf,
    parent: PathBuf,
}

impl Directory {
    /// A directory loaded with the fixture.
    pub fn start() -> Directory {
        Directory::start_with(&workspace_root().join("tests/fixtures/ldap/directory.ldif"))
    }

    /// A directory loaded with `ldif` (its suffix must be the fixture's,
    /// `dc=pve-access,dc=test`, with the bind account in it).
    pub fn start_with(ldif: &Path) -> Directory {
        let parent = unique_temp_dir("pve-access-ldap");
        let dir = parent.join("slapd");
        let out = slapd(&["start".as_ref(), dir.as_os_str(), ldif.as_os_str()]);
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
        let bind_password_file = PathBuf::from(text("bind_password_file"));
        Directory {
            url: text("url"),
            host: text("host"),
            port: ready["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or_else(|| panic!("scripts/slapd.sh start: no port in {ready}")),
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
        let out = slapd(&["search".as_ref(), self.dir.as_os_str(), filter.as_ref()]);
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

/// Runs `scripts/slapd.sh args`; panics with its stderr when it fails.
fn slapd(args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new(slapd_script())
        .args(args)
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
