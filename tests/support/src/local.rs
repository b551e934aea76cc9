//! [`LocalNode`]: a Proxmox VE node for local mode (no `api_host`), made of
//! the real `pvesh` and `pveum` of pve-oracle on a state directory that
//! plays `/etc/pve`.

use std::cell::Cell;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{
    require_oracle, run_module_env, unique_temp_dir, ModuleRun, Server, Sim, Target, UserCfg,
};

/// The PVE versions local mode is tested on (pve-oracle ships both).
pub const LOCAL_VERSIONS: [&str; 2] = ["9.1", "8.4"];

/// The programs of a node that local mode runs.
const PROGRAMS: [&str; 2] = ["pvesh", "pveum"];

/// One [`LocalNode`] per version of [`LOCAL_VERSIONS`], or none when the
/// oracle is missing ([`require_oracle`] decides: skipped, or failed with
/// `PVE_REQUIRE_ORACLE=1`).
///
/// ```no_run
/// use pve_test_support::{local_nodes, TestModule};
/// use serde_json::json;
///
/// let module = TestModule::new("pve_role", "target/debug/pve_role");
/// for node in local_nodes("pve_role local mode") {
///     module.ok(&node, json!({"roleid": "Ops", "privs": ["VM.Audit"]}));
///     assert!(node.read("user.cfg").contains("role:Ops:VM.Audit:"));
///     node.assert_no_secret_in_argv(&[]);
/// }
/// ```
pub fn local_nodes(test: &str) -> Vec<LocalNode> {
    match require_oracle(test) {
        Some(oracle) => LOCAL_VERSIONS
            .iter()
            .map(|v| LocalNode::new(&oracle, v))
            .collect(),
        None => Vec::new(),
    }
}

/// A node for local mode: a state directory (the node's `/etc/pve`) and a
/// directory that goes first in a module's PATH, holding `pvesh` and `pveum`
/// wrappers that record their arguments, then run pve-oracle's real ones
/// on the state (`PVE_ORACLE_ETC`, `PVE_ORACLE_VERSION`). A pve-oracle
/// server can work on the same state at the same time ([`LocalNode::server`]),
/// for what a test checks over HTTP. Removed on drop.
#[derive(Debug)]
pub struct LocalNode {
    /// `9.1` or `8.4`.
    pub version: String,
    /// The `/etc/pve` look-alike; tests read it directly.
    pub state: PathBuf,
    /// The directory put first in PATH.
    pub bin: PathBuf,
    dir: PathBuf,
    calls: PathBuf,
    /// Runs recorded before the last `clear_requests`.
    cleared: Cell<usize>,
}

impl LocalNode {
    /// A node of PVE `version` with a new state directory (laid out by the
    /// first pvesh run: root@pam, the pam and pve realms).
    pub fn new(oracle: &Path, version: &str) -> LocalNode {
        let dir = unique_temp_dir("pve-local-node");
        let (state, bin, calls) = (dir.join("etc-pve"), dir.join("bin"), dir.join("calls"));
        for d in [&state, &bin, &calls] {
            fs::create_dir_all(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
        }
        let oracle_bin = oracle
            .parent()
            .map(|p| p.join("bin"))
            .unwrap_or_else(|| PathBuf::from("bin"));
        let node = LocalNode {
            version: version.to_string(),
            state,
            bin,
            dir,
            calls,
            cleared: Cell::new(0),
        };
        for program in PROGRAMS {
            let real = oracle_bin.join(program);
            assert!(real.is_file(), "no {} beside pve-oracle", real.display());
            node.program(
                program,
                &format!(
                    "PVE_ORACLE_ETC='{}' PVE_ORACLE_VERSION='{version}' exec '{}' \"$@\"",
                    node.state.display(),
                    real.display()
                ),
            );
        }
        node
    }

    /// Makes `name` (`pvesh`, `pveum`) record its arguments and then run the
    /// shell code `body`: the real program (as [`LocalNode::new`] does), or
    /// a failure PVE cannot be made to produce.
    pub fn program(&self, name: &str, body: &str) {
        let path = self.bin.join(name);
        fs::write(
            &path,
            format!(
                "#!/bin/sh\n# {name} of a test's LocalNode: records its arguments, then runs.\n\
                 printf '%s\\0' {name} \"$@\" > '{}/'\"$(date +%s%N)-$$\"\n{body}\n",
                self.calls.display()
            ),
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .expect("make the program executable");
    }
    /// Starts from this user.cfg (before the first run, as a node would have it).
    pub fn user_cfg(self, text: &str) -> LocalNode {
        self.write("user.cfg", text);
        self
    }

    /// Starts with these token secrets (priv/token.cfg).
    pub fn token_cfg(self, text: &str) -> LocalNode {
        self.write("priv/token.cfg", text);
        self
    }

    /// Writes a file of the state directory.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.state.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create a state directory");
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// A file of the state directory (`user.cfg`, `priv/token.cfg`,
    /// `priv/shadow.cfg`), empty when missing.
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.state.join(rel)).unwrap_or_default()
    }

    /// The lines of user.cfg that start with `prefix` (`user:joe@pve:`).
    pub fn cfg_lines(&self, prefix: &str) -> Vec<String> {
        self.read("user.cfg")
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    /// A pve-oracle server on the same state, e.g. to log in over HTTPS
    /// with a password or token that local mode set.
    pub fn server(&self) -> Sim {
        Sim::builder(&self.version)
            .server(Server::PveOracle)
            .state_dir(&self.state)
            .start()
    }

    /// Holds the cluster lock `name` (`file-user_cfg`) as a writer that
    /// died holding it would: `priv/lock/<name>`, released on drop.
    pub fn hold_lock(&self, name: &str) -> HeldLock {
        let path = self.state.join("priv/lock").join(name);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        HeldLock(path)
    }

    /// Every pvesh/pveum run so far, in order: the program, then its
    /// arguments.
    pub fn all_calls(&self) -> Vec<Vec<String>> {
        let mut names: Vec<PathBuf> = fs::read_dir(&self.calls)
            .expect("read the calls directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                // Each argument ends in a NUL.
                let bytes = fs::read(p).expect("read a recorded call");
                let bytes = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
                bytes
                    .split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect()
    }

    /// Forget the runs so far ([`LocalNode::calls`] starts anew; the
    /// secrets check still sees them).
    pub fn clear_requests(&self) {
        self.cleared.set(self.all_calls().len());
    }

    /// The writes among [`LocalNode::api_calls`] (everything but GET).
    pub fn writes(&self) -> Vec<String> {
        self.api_calls()
            .into_iter()
            .filter(|c| !c.starts_with("GET "))
            .collect()
    }

    /// The runs since the last [`LocalNode::clear_requests`].
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.all_calls().split_off(self.cleared.get())
    }

    /// [`LocalNode::calls`] as the API calls they make, `METHOD path` (as
    /// [`Sim::api_calls`], without the login checks `pveum ticket`).
    pub fn api_calls(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter_map(|argv| {
                let arg = |i: usize| argv.get(i).map(String::as_str).unwrap_or("");
                let method = match (arg(0), arg(1)) {
                    ("pvesh", "get") => "GET",
                    ("pvesh", "create") => "POST",
                    ("pvesh", "set") => "PUT",
                    ("pvesh", "delete") => "DELETE",
                    ("pveum", "passwd") => return Some("PUT /access/password".to_string()),
                    ("pveum", "ticket") => return None,
                    other => panic!("unexpected run {other:?}: {argv:?}"),
                };
                Some(format!("{method} {}", arg(2)))
            })
            .collect()
    }

    /// Asserts that no pvesh/pveum run had a secret among its arguments
    /// (where every user of a node can read it): none of `secrets`, and no
    /// token secret of the node (priv/token.cfg).
    pub fn assert_no_secret_in_argv(&self, secrets: &[&str]) {
        let tokens = self.read("priv/token.cfg");
        let token_secrets = tokens.lines().filter_map(|l| l.split_whitespace().nth(1));
        let all: Vec<&str> = secrets.iter().copied().chain(token_secrets).collect();
        for argv in self.all_calls() {
            for secret in &all {
                assert!(
                    !argv.iter().any(|a| a.contains(secret)),
                    "a secret is on the command line of {argv:?}"
                );
            }
        }
    }
}

impl Target for LocalNode {
    fn run(&self, binary: &Path, args: &Value) -> ModuleRun {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(self.bin.clone()).chain(std::env::split_paths(&path));
        let path = std::env::join_paths(dirs).expect("a PATH");
        run_module_env(binary, args, &[("PATH", &path.to_string_lossy())])
    }
    fn writes(&self) -> Vec<String> {
        LocalNode::writes(self)
    }
    fn clear_requests(&self) {
        LocalNode::clear_requests(self)
    }
    fn stderr(&self) -> String {
        format!(
            "(local node, PVE {}: {})",
            self.version,
            self.state.display()
        )
    }
    fn state(&self) -> UserCfg {
        UserCfg::parse(&fs::read(self.state.join("user.cfg")).unwrap_or_default())
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A cluster lock held by a test ([`LocalNode::hold_lock`]).
#[derive(Debug)]
pub struct HeldLock(PathBuf);

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}
