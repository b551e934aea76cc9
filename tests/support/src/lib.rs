//! Test support shared by the workspace's integration tests: start `pve-sim`
//! and run module binaries the way Ansible does.
//!
//! ```no_run
//! use pve_test_support::{module_binary, run_module, Sim};
//! use serde_json::json;
//!
//! let sim = Sim::builder("9.1")
//!     .fault(json!({"method": "PUT", "path": "/access/acl", "status": 500, "times": 1}))
//!     .start();
//! let bin = module_binary("pve_user", "target/debug/pve_user");
//! let run = run_module(&bin, &sim.args(json!({"userid": "joe@pve"})));
//! assert_eq!(run.code, 0, "{}", run.stderr);
//! assert_eq!(run.json["changed"], true);
//! assert_eq!(sim.requests().len(), 3);
//! ```
//!
//! `Sim` is the server a test runs against. `PVE_TEST_SERVER` picks it for
//! the whole run:
//!
//! - `pve-sim` (the default): the binary from `sim_binary()` (`$PVE_SIM_BIN`,
//!   which `make test` sets, else `<target>/debug/pve-sim`, which the tests
//!   build first: a bare `cargo test` works on a fresh clone);
//! - `pve-oracle`: the real PVE access-control code from `oracle_binary()`
//!   (`$PVE_ORACLE`, else `<workspace>/../shared/pve-oracle/pve-oracle`),
//!   which has pve-sim's command line, ready line and request log.
//!
//! What only pve-sim has is decided here and nowhere else: a test that
//! injects `--fault`s, asks for PVE 9.0 (no real 9.0 code is pinned) or
//! gives guests and storages for pools (pve-oracle has no pool API) runs on
//! pve-sim whatever the switch says ([`SimBuilder::start`]).
//!
//! Local mode (no `api_host`) runs against a [`LocalNode`] instead: the
//! real `pvesh` and `pveum` of pve-oracle on a state directory, one node per
//! version of [`LOCAL_VERSIONS`] from [`local_nodes`]. Tests that need the
//! real PVE code ask [`require_oracle`], the one rule for a missing oracle:
//! skipped (and said so), or failed when `PVE_REQUIRE_ORACLE=1`.
//! [`TestModule`] runs a module against either ([`Target`]).
//!
//! What a test asserts about the server it reads from the server, never
//! through the module under test: [`Sim::state`] (the `user.cfg` it saved)
//! and [`Sim::get`] (an API answer, over an HTTP client of this crate's
//! own, [`http`]). A module test file starts with [`module_under_test!`]
//! and runs its version-dependent bodies with [`on_each_version!`].
//!
//! Tests of LDAP realms sync from a real OpenLDAP server, [`ldap::Directory`]
//! (Debian's slapd, fetched by `make ldap`, loaded with
//! `tests/fixtures/ldap/directory.ldif`).
//!
//! Either runs on a free loopback port with its own temporary directory
//! (request log, state, the CA certificate, the server's stderr), and is
//! killed, its directory removed, on drop. Failed logins answer at once
//! unless the environment asks for PVE's delay. This crate is test-only:
//! failures panic with what went wrong.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Map;
/// The JSON value type of module args and results (for [`module_under_test`]).
pub use serde_json::Value;

mod state;
pub use state::UserCfg;
mod local;
pub use local::{local_nodes, HeldLock, LocalNode, LOCAL_VERSIONS};
mod build;
pub mod http;
pub mod ldap;
use build::cargo_build;

/// How long the sim may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one module run may take before it is killed.
const MODULE_TIMEOUT: Duration = Duration::from_secs(60);

/// The connection options' environment variables (`PROXMOX_*`). `run_module`
/// removes them so a developer's shell cannot change a test's outcome.
const CONNECTION_ENV: &[&str] = &[
    "PROXMOX_HOST",
    "PROXMOX_PORT",
    "PROXMOX_USER",
    "PROXMOX_PASSWORD",
    "PROXMOX_TOKEN_ID",
    "PROXMOX_TOKEN_SECRET",
    "PROXMOX_VE_API_TOKEN",
    "PROXMOX_VALIDATE_CERTS",
    "PROXMOX_CA_PATH",
    "PROXMOX_FINGERPRINT",
    "PROXMOX_API_TIMEOUT",
];

/// Which server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Our simulator, `pve-sim/`.
    PveSim,
    /// The real PVE code, `../shared/pve-oracle`.
    PveOracle,
}

impl Server {
    /// The server `PVE_TEST_SERVER` names (`pve-sim` when unset); panics on
    /// any other value, so a typo cannot silently test the wrong thing.
    pub fn from_env() -> Server {
        match std::env::var("PVE_TEST_SERVER").as_deref() {
            Err(_) | Ok("") | Ok("pve-sim") => Server::PveSim,
            Ok("pve-oracle") => Server::PveOracle,
            Ok(other) => panic!("PVE_TEST_SERVER={other:?}: expected pve-sim or pve-oracle"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Server::PveSim => "pve-sim",
            Server::PveOracle => "pve-oracle",
        }
    }
}

/// A running pve-sim or pve-oracle, killed on drop.
#[derive(Debug)]
pub struct Sim {
    /// The server this is.
    pub server: Server,
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// SHA-256 of the server certificate, `AB:CD:...`.
    pub fingerprint: String,
    /// PEM file of the CA that signed the server certificate.
    pub ca_cert: PathBuf,
    pub root_password: String,
    /// The sim's temporary directory (removed on drop).
    pub dir: PathBuf,
    /// Its `/etc/pve`: `user.cfg`, `priv/token.cfg`, ...
    pub state_dir: PathBuf,
    request_log: PathBuf,
    child: Child,
    /// root@pam's ticket for [`Sim::get`], from the first call.
    root_ticket: OnceLock<String>,
}

/// Options for `Sim`; `start()` launches it.
#[derive(Debug, Clone)]
pub struct SimBuilder {
    version: String,
    user_cfg: Option<String>,
    token_cfg: Option<String>,
    domains_cfg: Option<String>,
    faults: Vec<String>,
    state_dir: Option<PathBuf>,
    root_password: String,
    server: Option<Server>,
    launcher: Vec<String>,
    /// `--guests`, `--storages`: pve-sim only.
    inventory: Option<(String, String)>,
}

impl SimBuilder {
    /// Run on this server, whatever `PVE_TEST_SERVER` says (the
    /// differential tests start one of each).
    pub fn server(mut self, server: Server) -> SimBuilder {
        self.server = Some(server);
        self
    }

    /// The server `start()` will launch: pve-sim where the test needs what
    /// only pve-sim has (faults, PVE 9.0, pools: pve-oracle runs the
    /// access-control code, not pve-manager's pool API), else the one asked
    /// for.
    pub fn resolved_server(&self) -> Server {
        if !self.faults.is_empty() || self.version == "9.0" || self.inventory.is_some() {
            return Server::PveSim;
        }
        self.server.unwrap_or_else(Server::from_env)
    }

    /// Start from this user.cfg text (`--user-cfg`), written as PVE writes
    /// the file: see [`pve_file_bytes`].
    pub fn user_cfg(mut self, text: &str) -> SimBuilder {
        self.user_cfg = Some(text.to_string());
        self
    }

    /// Start with these token secrets (priv/token.cfg text, `--token-cfg`).
    pub fn token_cfg(mut self, text: &str) -> SimBuilder {
        self.token_cfg = Some(text.to_string());
        self
    }

    /// Start with this `domains.cfg` (the realms), written into the state
    /// directory before the server starts, as both read it from there.
    pub fn domains_cfg(mut self, text: &str) -> SimBuilder {
        self.domains_cfg = Some(text.to_string());
        self
    }

    /// Add a `--fault` rule: a JSON object (`json!({...})`) or its text.
    pub fn fault(mut self, rule: impl Into<Value>) -> SimBuilder {
        self.faults.push(match rule.into() {
            Value::String(text) => text,
            other => other.to_string(),
        });
        self
    }

    /// Keep the state in `path` (`--state-dir`) instead of the temporary
    /// directory, e.g. to restart a sim on the same state.
    pub fn state_dir(mut self, path: impl Into<PathBuf>) -> SimBuilder {
        self.state_dir = Some(path.into());
        self
    }

    /// Start the server through `program args...` (which must end by
    /// exec'ing the server, given as its last arguments, so that killing
    /// the child kills the server): e.g. in a private mount namespace.
    pub fn launcher(mut self, program_and_args: &[&str]) -> SimBuilder {
        self.launcher = program_and_args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The cluster's guests and storages (`--guests 100,200:lxc --storages
    /// local`), which pools hold; a test that uses pools runs on pve-sim.
    pub fn inventory(mut self, guests: &str, storages: &str) -> SimBuilder {
        self.inventory = Some((guests.to_string(), storages.to_string()));
        self
    }

    pub fn root_password(mut self, password: &str) -> SimBuilder {
        self.root_password = password.to_string();
        self
    }

    pub fn start(self) -> Sim {
        let server = self.resolved_server();
        let binary = match server {
            Server::PveSim => sim_binary(),
            Server::PveOracle => oracle_binary().unwrap_or_else(|| {
                panic!(
                    "PVE_TEST_SERVER=pve-oracle, but there is no pve-oracle at {}: {ORACLE_HINT}",
                    default_oracle_path().display()
                )
            }),
        };
        let dir = unique_temp_dir("pve-sim-test");
        let request_log = dir.join("requests.jsonl");
        let state_dir = self.state_dir.clone().unwrap_or_else(|| dir.join("state"));
        let stderr_path = dir.join("sim.stderr");

        let mut cmd = match self.launcher.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&binary);
                cmd
            }
            None => Command::new(&binary),
        };
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--pve-version")
            .arg(&self.version)
            .arg("--root-password")
            .arg(&self.root_password)
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--request-log")
            .arg(&request_log);
        if let Some(text) = &self.user_cfg {
            let path = dir.join("user.cfg.in");
            fs::write(&path, pve_file_bytes(text)).expect("write user.cfg for the sim");
            cmd.arg("--user-cfg").arg(path);
        }
        if let Some(text) = &self.token_cfg {
            let path = dir.join("token.cfg.in");
            fs::write(&path, text).expect("write token.cfg for the sim");
            cmd.arg("--token-cfg").arg(path);
        }
        if let Some(text) = &self.domains_cfg {
            fs::create_dir_all(&state_dir).expect("create the state directory");
            fs::write(state_dir.join("domains.cfg"), pve_file_bytes(text))
                .expect("write domains.cfg for the sim");
        }
        for fault in &self.faults {
            cmd.arg("--fault").arg(fault);
        }
        if let Some((guests, storages)) = &self.inventory {
            cmd.arg("--guests")
                .arg(guests)
                .arg("--storages")
                .arg(storages);
        }
        // Failed logins are delayed 3 s as on PVE; tests do not wait for
        // that unless the environment asks for it (pve-oracle's default is 0).
        if std::env::var_os("PVE_SIM_AUTH_DELAY_MS").is_none() {
            cmd.env("PVE_SIM_AUTH_DELAY_MS", "0");
        }
        // The sim's stderr goes to a file: a pipe nobody reads would fill
        // up and block the sim.
        let stderr = fs::File::create(&stderr_path).expect("create the sim's stderr file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));

        let stdout = child.stdout.take().expect("the sim's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let ready = rx.recv_timeout(READY_TIMEOUT).unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(ready.trim()).ok();
        let field = |k: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (Some(url), Some(fingerprint), Some(ca_cert)) =
            (field("url"), field("fingerprint"), field("ca_cert"))
        else {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
            let _ = fs::remove_dir_all(&dir);
            panic!(
                "{} ({}) printed no ready line within {}s\nstdout: {ready:?}\nstderr:\n{stderr}",
                server.name(),
                binary.display(),
                READY_TIMEOUT.as_secs()
            );
        };
        Sim {
            server,
            url,
            fingerprint,
            ca_cert: PathBuf::from(ca_cert),
            root_password: self.root_password,
            dir,
            state_dir,
            request_log,
            child,
            root_ticket: OnceLock::new(),
        }
    }
}

impl Sim {
    /// A sim of this PVE version (`8.4`, `9.0`, `9.1`) with the default state.
    pub fn start(version: &str) -> Sim {
        Sim::builder(version).start()
    }

    pub fn builder(version: &str) -> SimBuilder {
        SimBuilder {
            version: version.to_string(),
            user_cfg: None,
            token_cfg: None,
            domains_cfg: None,
            faults: Vec::new(),
            state_dir: None,
            root_password: "pve-sim-test-root".to_string(),
            server: None,
            launcher: Vec::new(),
            inventory: None,
        }
    }

    /// The lines of a file of the server's state (`user.cfg`,
    /// `priv/token.cfg`) as stored: bytes, as PVE writes them (see
    /// [`pve_file_bytes`]).
    pub fn state_lines(&self, file: &str) -> Vec<Vec<u8>> {
        fs::read(self.dir.join("state").join(file))
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// The request-log lines so far: `{ts, method, path, status, auth, fault?}`.
    /// pve-oracle writes a path as PVE holds it, a non-ASCII user id as
    /// Latin-1 bytes: a line that is not UTF-8 is read as Latin-1.
    pub fn requests(&self) -> Vec<Value> {
        fs::read(&self.request_log)
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .map(|line| {
                String::from_utf8(line.to_vec())
                    .unwrap_or_else(|_| line.iter().map(|&b| char::from(b)).collect())
            })
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(&l).expect("request-log line is JSON"))
            .collect()
    }

    /// Forget the requests so far (the sim appends, so it continues at the start).
    pub fn clear_requests(&self) {
        fs::write(&self.request_log, "").expect("truncate the request log");
    }

    /// Module arguments for a task against this sim: `api_host`, `api_user`
    /// (`root@pam`), `api_password` and `fingerprint` first, then
    /// `module_args` over them (a `null` there removes a connection option).
    pub fn args(&self, module_args: Value) -> Value {
        let mut args = Map::new();
        args.insert("api_host".into(), Value::from(self.url.clone()));
        args.insert("api_user".into(), Value::from("root@pam"));
        args.insert(
            "api_password".into(),
            Value::from(self.root_password.clone()),
        );
        args.insert("fingerprint".into(), Value::from(self.fingerprint.clone()));
        match module_args {
            Value::Object(m) => args.extend(m),
            Value::Null => {}
            other => panic!("module args must be a JSON object, got {other}"),
        }
        Value::Object(args)
    }

    /// The API requests so far as `METHOD path`, without the logins
    /// (`/access/ticket`).
    pub fn api_calls(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r["path"] != "/access/ticket")
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap_or(""),
                    r["path"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// How many of [`Sim::api_calls`] are `call` (`METHOD path`), or, for
    /// a bare method (`PUT`), of that method.
    pub fn count_calls(&self, call: &str) -> usize {
        let method = format!("{call} ");
        self.api_calls()
            .iter()
            .filter(|c| *c == call || c.starts_with(&method))
            .count()
    }

    /// The writes among [`Sim::api_calls`] (everything but GET).
    pub fn writes(&self) -> Vec<String> {
        self.api_calls()
            .into_iter()
            .filter(|c| !c.starts_with("GET "))
            .collect()
    }

    /// The access configuration as the server saved it (its `user.cfg`),
    /// read directly: see [`UserCfg`].
    pub fn state(&self) -> UserCfg {
        let path = self.state_dir.join("user.cfg");
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        UserCfg::parse(&bytes)
    }

    /// Whether the saved `user.cfg` (`--state-dir`) holds this exact line:
    /// the server's state read directly, not through a module.
    pub fn user_cfg_has(&self, line: &str) -> bool {
        fs::read_to_string(self.state_dir.join("user.cfg"))
            .unwrap_or_default()
            .lines()
            .any(|l| l == line)
    }

    /// The sim's stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("sim.stderr")).unwrap_or_default()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Where [`TestModule`] runs a module: a server ([`Sim`], over HTTPS) or a
/// node's own pvesh ([`LocalNode`], local mode).
pub trait Target {
    /// Runs `binary` with the module options `args` plus what connects it
    /// to this target.
    fn run(&self, binary: &Path, args: &Value) -> ModuleRun;
    /// The writes since the last [`Target::clear_requests`], as `METHOD path`.
    fn writes(&self) -> Vec<String>;
    fn clear_requests(&self);
    /// What the target printed, for failure messages.
    fn stderr(&self) -> String;
    /// The access configuration as the server saved it (its `user.cfg`),
    /// read directly: see [`UserCfg`].
    fn state(&self) -> UserCfg;
}

impl Target for Sim {
    fn run(&self, binary: &Path, args: &Value) -> ModuleRun {
        run_module(binary, &self.args(args.clone()))
    }
    fn writes(&self) -> Vec<String> {
        Sim::writes(self)
    }
    fn clear_requests(&self) {
        Sim::clear_requests(self)
    }
    fn stderr(&self) -> String {
        Sim::stderr(self)
    }
    fn state(&self) -> UserCfg {
        Sim::state(self)
    }
}

/// The pve-sim binary: `$PVE_SIM_BIN`, which must exist (`make test` sets
/// it), else `<target>/debug/pve-sim`, built first (tests/support/src/build.rs).
pub fn sim_binary() -> PathBuf {
    match std::env::var_os("PVE_SIM_BIN") {
        Some(p) if !p.is_empty() => {
            let path = PathBuf::from(p);
            assert!(
                path.is_file(),
                "PVE_SIM_BIN={}: no such binary: run `make sim` (or unset PVE_SIM_BIN to have \
                 the tests build it)",
                path.display()
            );
            path
        }
        _ => {
            cargo_build("pve-sim");
            target_dir().join("debug/pve-sim")
        }
    }
}

/// What to do when the real PVE code is wanted and missing.
pub const ORACLE_HINT: &str = "set PVE_ORACLE to the pve-oracle program \
(see ../shared/pve-oracle/README.md; its Debian packages come from its deps.sh)";

/// `<workspace>/../shared/pve-oracle/pve-oracle`, where a checkout beside
/// `shared/` finds it.
fn default_oracle_path() -> PathBuf {
    match std::env::var_os("PVE_ORACLE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("../shared/pve-oracle/pve-oracle"),
    }
}

/// The pve-oracle program (`$PVE_ORACLE`, else
/// `<workspace>/../shared/pve-oracle/pve-oracle`), or `None` when there is
/// none. Its `bin/pvesh` is the real pvesh.
pub fn oracle_binary() -> Option<PathBuf> {
    let path = default_oracle_path();
    path.is_file().then_some(path)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the workspace's `target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => PathBuf::from(t),
        _ => workspace_root().join("target"),
    }
}

/// A module binary for tests that run several modules:
/// `$PVE_ACCESS_MODULES_DIR/<name>` (the release binaries `make test`
/// ships), else the debug build, built first (tests/support/src/build.rs).
pub fn built_module(name: &str) -> PathBuf {
    if modules_dir().is_none() {
        cargo_build(name);
    }
    let path = module_binary(
        name,
        &target_dir().join("debug").join(name).to_string_lossy(),
    );
    assert!(path.is_file(), "no binary of {name} at {}", path.display());
    path
}

/// The pve-oracle program for a test that cannot run without the real PVE
/// code (such as local mode, which needs its real `pvesh`), or `None`: the
/// test then returns early and passes, after printing that `test` was
/// skipped and why. With `PVE_REQUIRE_ORACLE=1` (CI, where the oracle is
/// installed) a missing oracle fails the test instead, so a broken setup
/// cannot pass unnoticed. The one place that decides this rule.
///
/// ```no_run
/// let Some(oracle) = pve_test_support::require_oracle("pve_role local mode") else {
///     return;
/// };
/// ```
pub fn require_oracle(test: &str) -> Option<PathBuf> {
    if let Some(path) = oracle_binary() {
        return Some(path);
    }
    let missing = format!(
        "{test}: no pve-oracle at {}: {ORACLE_HINT}",
        default_oracle_path().display()
    );
    if std::env::var("PVE_REQUIRE_ORACLE").as_deref() == Ok("1") {
        panic!("{missing} (PVE_REQUIRE_ORACLE=1)");
    }
    eprintln!("skipped: {missing}");
    None
}

/// tests/support is two levels below the workspace root.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// A module binary: `$PVE_ACCESS_MODULES_DIR/<name>` when that variable is
/// set (the release binaries `make test` ships), else `fallback` (usually
/// `env!("CARGO_BIN_EXE_<name>")`).
pub fn module_binary(name: &str, fallback: &str) -> PathBuf {
    match modules_dir() {
        Some(dir) => dir.join(name),
        None => PathBuf::from(fallback),
    }
}

/// `$PVE_ACCESS_MODULES_DIR`, when set.
fn modules_dir() -> Option<PathBuf> {
    std::env::var_os("PVE_ACCESS_MODULES_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// Module args that log in with a whole API token (`user@realm!name=secret`)
/// instead of root's password.
pub fn with_api_token(args: Value, api_token: &str) -> Value {
    let mut a = args;
    a["api_user"] = Value::Null;
    a["api_password"] = Value::Null;
    a["api_token"] = Value::from(api_token);
    a
}

/// The modules of the collection: the crates in `modules/`, the one list
/// of them (the workspace, the Makefile and the collection build read it too).
pub fn modules() -> Vec<String> {
    let dir = workspace_root().join("modules");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let entry = entry.ok()?;
            entry
                .path()
                .join("Cargo.toml")
                .is_file()
                .then(|| entry.file_name().into_string().ok())?
        })
        .collect();
    names.sort();
    names
}

/// A PVE configuration text as PVE writes it: Perl prints its strings as
/// Latin-1 bytes, unless one holds a character beyond U+00FF, and then the
/// whole text as UTF-8. So `jürgen@pve` is stored as `j\xfcrgen@pve`.
pub fn pve_file_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(c).ok())
        .collect::<Option<Vec<u8>>>()
        .unwrap_or_else(|| text.as_bytes().to_vec())
}

/// The release binary of a module, as it ships: `$PVE_ACCESS_MODULES_DIR/<name>`,
/// else the target directory's release build, built first with `make
/// modules` (tests/support/src/build.rs).
pub fn release_module(name: &str) -> PathBuf {
    let path = match modules_dir() {
        Some(dir) => dir.join(name),
        None => {
            build::make_modules();
            target_dir()
                .join("x86_64-unknown-linux-musl/release")
                .join(name)
        }
    };
    assert!(
        path.is_file(),
        "no release binary of {name} at {}: run `make modules`",
        path.display()
    );
    path
}

/// A list sorted (by its JSON text), anything else as it is.
fn in_any_order(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items = items.clone();
            items.sort_by_key(Value::to_string);
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// A result's `msg` (empty when there is none).
pub fn msg(result: &Value) -> &str {
    result["msg"].as_str().unwrap_or_default()
}

/// Defines, in a module's test file, `module()`: the module under test (its
/// binary from `$PVE_ACCESS_MODULES_DIR`, else the one cargo built for the
/// test), and `ok(target, args)` / `fail(target, args)`, which run it and
/// assert success / a failure without a change ([`TestModule::ok`],
/// [`TestModule::fail`]).
///
/// ```ignore
/// pve_test_support::module_under_test!("pve_user");
/// ```
#[macro_export]
macro_rules! module_under_test {
    ($name:literal) => {
        fn module() -> $crate::TestModule {
            $crate::TestModule::new($name, env!(concat!("CARGO_BIN_EXE_", $name)))
        }

        #[allow(dead_code)]
        fn ok(target: &impl $crate::Target, args: $crate::Value) -> $crate::Value {
            module().ok(target, args)
        }

        #[allow(dead_code)]
        fn fail(target: &impl $crate::Target, args: $crate::Value) -> $crate::Value {
            module().fail(target, args)
        }
    };
}

/// One test per PVE version a test body runs on (9.1 and 8.4, as pinned in
/// pve-oracle): for each `body`, a function `fn body(version: &str)`, the
/// tests `body::pve91` and `body::pve84`, so a failure names the version.
///
/// ```ignore
/// fn lifecycle(version: &str) { /* ... */ }
/// pve_test_support::on_each_version!(lifecycle);
/// ```
#[macro_export]
macro_rules! on_each_version {
    ($($body:ident),+ $(,)?) => {
        $(
            mod $body {
                #[test]
                fn pve91() {
                    super::$body("9.1");
                }

                #[test]
                fn pve84() {
                    super::$body("8.4");
                }
            }
        )+
    };
}

/// One side (`before` or `after`) of a result's diff, read back from the
/// text the module shows (`Null` when there is none).
pub fn diff_view(result: &Value, side: &str) -> Value {
    result["diff"][side]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null)
}

/// A module under test, with the assertions every module's tests make.
///
/// ```no_run
/// use pve_test_support::{Sim, TestModule};
/// use serde_json::json;
///
/// let module = TestModule::new("pve_role", "target/debug/pve_role");
/// let sim = Sim::start("9.1");
/// let result = module.ok(&sim, json!({"roleid": "Ops", "privs": ["VM.Audit"]}));
/// assert_eq!(result["changed"], true);
/// let failure = module.fail(&sim, json!({"roleid": "PVEOps"}));
/// assert!(failure["msg"].as_str().unwrap().contains("PVE"));
/// ```
#[derive(Debug, Clone)]
pub struct TestModule {
    binary: PathBuf,
}

impl TestModule {
    /// The binary `module_binary(name, fallback)` finds.
    pub fn new(name: &str, fallback: &str) -> TestModule {
        TestModule {
            binary: module_binary(name, fallback),
        }
    }

    /// Runs the module against `sim` (a [`Sim`] or a [`LocalNode`]) with
    /// `args` plus what connects it there.
    pub fn run(&self, sim: &impl Target, args: Value) -> ModuleRun {
        sim.run(&self.binary, &args)
    }

    /// Runs the module and asserts it succeeded; its result.
    pub fn ok(&self, sim: &impl Target, args: Value) -> Value {
        let r = self.run(sim, args.clone());
        assert_eq!(
            r.code,
            0,
            "{args}: {}\nstderr: {}\nsim: {}",
            r.stdout,
            r.stderr,
            sim.stderr()
        );
        r.json
    }

    /// Runs `args` in check mode, then for real (both in diff mode), and
    /// asserts what every module promises: the check run writes nothing and
    /// predicts the real one (same `changed`, `diff` and values under
    /// `keys`), and a predicted change says what "would" happen. Then the
    /// server itself is asked: `saved` reads, from the state the server
    /// saved, what the module reports under `keys[0]` (the user, the role,
    /// ...; `None` when gone, which a module reports as `{}`), and it must
    /// be the same (lists in any order). Returns (predicted, done).
    pub fn check_then_run(
        &self,
        sim: &impl Target,
        args: &Value,
        keys: &[&str],
        saved: impl FnOnce(&UserCfg) -> Option<Value>,
    ) -> (Value, Value) {
        let mut check = args.clone();
        check["_ansible_check_mode"] = Value::Bool(true);
        check["_ansible_diff"] = Value::Bool(true);
        sim.clear_requests();
        let predicted = self.ok(sim, check);
        assert_eq!(
            sim.writes(),
            Vec::<String>::new(),
            "{args}: check mode wrote"
        );
        let mut real = args.clone();
        real["_ansible_diff"] = Value::Bool(true);
        let done = self.ok(sim, real);
        for key in ["changed", "diff"].iter().chain(keys) {
            assert_eq!(
                predicted[key], done[key],
                "{args}: check mode predicted another {key}"
            );
        }
        if done["changed"] == true {
            let msg = predicted["msg"].as_str().unwrap_or_default();
            assert!(msg.contains("would "), "{args}: check mode msg {msg:?}");
        }
        let key = keys.first().expect("the key of what the module reports");
        assert_eq!(
            in_any_order(&done[key]),
            in_any_order(&saved(&sim.state()).unwrap_or_else(|| Value::Object(Map::new()))),
            "{args}: the module's {key} is not what the server saved"
        );
        (predicted, done)
    }

    /// The promise of check mode on a server where what the task references
    /// does not exist yet (the rule of `pve_api::assume`):
    /// `args` in check mode on `empty` succeeds without a write and warns
    /// once for each of `assumed` (`role 'X'`, ...) that it assumes an
    /// earlier task creates it; the real run on `empty` refuses, also
    /// without a write; and on `ready`, where those objects exist, the real
    /// run does what check mode predicted (`changed`, `diff` and the values
    /// under `keys`). Returns (predicted, refused, done).
    pub fn assumes_then_refuses(
        &self,
        empty: &Sim,
        ready: Option<&Sim>,
        args: &Value,
        assumed: &[&str],
        keys: &[&str],
    ) -> (Value, Value, Value) {
        let mut check = args.clone();
        check["_ansible_check_mode"] = Value::Bool(true);
        check["_ansible_diff"] = Value::Bool(true);
        empty.clear_requests();
        let predicted = self.ok(empty, check);
        assert_eq!(
            empty.writes(),
            Vec::<String>::new(),
            "{args}: check mode wrote"
        );
        let warnings: Vec<&str> = predicted["warnings"]
            .as_array()
            .map(|w| w.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expected: Vec<String> = assumed
            .iter()
            .map(|a| format!("{a} does not exist yet; assuming an earlier task creates it"))
            .collect();
        let assumptions: Vec<&str> = warnings
            .iter()
            .copied()
            .filter(|w| w.ends_with("; assuming an earlier task creates it"))
            .collect();
        assert_eq!(
            assumptions, expected,
            "{args}: check mode warnings {warnings:?}"
        );
        let mut real = args.clone();
        real["_ansible_diff"] = Value::Bool(true);
        let refused = self.fail(empty, real.clone());
        assert_eq!(
            empty.writes(),
            Vec::<String>::new(),
            "{args}: a refused run wrote"
        );
        let done = match ready {
            Some(ready) => {
                let done = self.ok(ready, real);
                for key in ["changed", "diff"].iter().chain(keys) {
                    assert_eq!(
                        predicted[key], done[key],
                        "{args}: check mode predicted another {key}"
                    );
                }
                done
            }
            None => Value::Null,
        };
        (predicted, refused, done)
    }

    /// Runs the module and asserts it failed without a change; its result.
    pub fn fail(&self, sim: &impl Target, args: Value) -> Value {
        let r = self.run(sim, args.clone());
        assert_eq!(r.code, 1, "{args}: expected a failure, got {}", r.stdout);
        assert_eq!(r.json["failed"], true, "{}", r.stdout);
        assert_eq!(r.json["changed"], false, "{}", r.stdout);
        r.json
    }
}

/// One module run.
#[derive(Debug, Clone)]
pub struct ModuleRun {
    /// The one JSON object printed on stdout, or `Null` when stdout is
    /// anything else (nothing, two objects, text around it, not an object).
    pub json: Value,
    /// Exit code; -1 when killed by a signal or the timeout.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run a binary module as Ansible does (`MODULE ARGS_FILE`), without the
/// `PROXMOX_*` connection variables of the caller's environment; killed after 60 s.
pub fn run_module(binary: &Path, args: &Value) -> ModuleRun {
    run_module_env(binary, args, &[])
}

/// `run_module` with extra environment variables (e.g. to test the
/// `PROXMOX_*` fallbacks).
pub fn run_module_env(binary: &Path, args: &Value, env: &[(&str, &str)]) -> ModuleRun {
    run_with_args_file(binary, args.to_string().as_bytes(), env)
}

/// Runs a module with an args file of any content (broken JSON, binary
/// junk), to test that it still answers with one JSON object.
pub fn run_module_raw(binary: &Path, args_file_content: &[u8]) -> ModuleRun {
    run_with_args_file(binary, args_file_content, &[])
}

fn run_with_args_file(binary: &Path, content: &[u8], env: &[(&str, &str)]) -> ModuleRun {
    let dir = unique_temp_dir("pve-module-run");
    let args_file = dir.join("args.json");
    fs::write(&args_file, content).expect("write the args file");
    let mut cmd = Command::new(binary);
    cmd.arg(&args_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in CONNECTION_ENV {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));

    let out = read_all_in_background(child.stdout.take().expect("stdout"));
    let err = read_all_in_background(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + MODULE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the module") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap_or_default();
    let mut stderr = err.join().unwrap_or_default();
    if status.is_none() {
        stderr.push_str(&format!(
            "\n[run_module: killed after {}s]",
            MODULE_TIMEOUT.as_secs()
        ));
    }
    let _ = fs::remove_dir_all(&dir);
    ModuleRun {
        json: single_json_object(&stdout),
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn read_all_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The value when `text` is exactly one JSON object (surrounding whitespace
/// allowed), else `Null`.
fn single_json_object(text: &str) -> Value {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match (values.next(), values.next()) {
        (Some(Ok(v @ Value::Object(_))), None) => v,
        _ => Value::Null,
    }
}

/// A new, empty directory under the system temp dir.
fn unique_temp_dir(prefix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(unix)]
    fn script(body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = unique_temp_dir("pve-support-script");
        let path = dir.join("module.sh");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn one_json_object_or_null() {
        assert_eq!(single_json_object(" {\"a\": 1}\n"), json!({"a": 1}));
        assert_eq!(single_json_object(""), Value::Null);
        assert_eq!(single_json_object("{\"a\":1}{\"b\":2}"), Value::Null);
        assert_eq!(single_json_object("[1]"), Value::Null);
        assert_eq!(single_json_object("warning\n{\"a\":1}"), Value::Null);
        assert_eq!(single_json_object("{\"a\":1} trailing"), Value::Null);
    }

    #[cfg(unix)]
    #[test]
    fn run_module_passes_the_args_file_and_collects_output() {
        // The script echoes its args file and reports the env it saw.
        let bin = script(
            "cat \"$1\"; echo \"host=${PROXMOX_HOST:-unset} extra=${EXTRA:-unset}\" >&2; exit 3",
        );
        let args = json!({"userid": "joe@pve", "_ansible_check_mode": true});
        let run = run_module_env(&bin, &args, &[("EXTRA", "x")]);
        assert_eq!(run.code, 3);
        assert_eq!(run.json, args);
        assert_eq!(run.stderr.trim(), "host=unset extra=x");

        let noisy = script("echo '{}'; echo '{}'");
        let run = run_module(&noisy, &json!({}));
        assert_eq!((run.code, run.json.clone()), (0, Value::Null));
        assert_eq!(run.stdout, "{}\n{}\n");
        let _ = fs::remove_dir_all(bin.parent().unwrap());
        let _ = fs::remove_dir_all(noisy.parent().unwrap());
    }

    #[test]
    fn module_binary_prefers_the_modules_dir() {
        // Only this test touches the variable in this process.
        std::env::set_var("PVE_ACCESS_MODULES_DIR", "/opt/mods");
        assert_eq!(
            module_binary("pve_user", "/fallback/pve_user"),
            PathBuf::from("/opt/mods/pve_user")
        );
        std::env::remove_var("PVE_ACCESS_MODULES_DIR");
        assert_eq!(
            module_binary("pve_user", "/fallback/pve_user"),
            PathBuf::from("/fallback/pve_user")
        );
    }

    #[test]
    fn pve_files_are_latin1_unless_a_character_is_beyond() {
        assert_eq!(pve_file_bytes("user:jürgen@pve:"), b"user:j\xfcrgen@pve:");
        assert_eq!(pve_file_bytes("ü€"), "ü€".as_bytes());
    }

    #[test]
    fn builder_faults_accept_json_and_text() {
        let b = Sim::builder("9.1")
            .fault(json!({"status": 500, "times": 1}))
            .fault(r#"{"drop":"after"}"#);
        assert_eq!(
            b.faults,
            vec![r#"{"status":500,"times":1}"#, r#"{"drop":"after"}"#]
        );
    }

    #[cfg(unix)]
    #[test]
    fn missing_oracle_skips_unless_required() {
        // Only this test touches these variables in this process.
        std::env::set_var("PVE_ORACLE", "/nonexistent/pve-oracle");
        std::env::remove_var("PVE_REQUIRE_ORACLE");
        assert_eq!(require_oracle("t"), None);
        std::env::set_var("PVE_REQUIRE_ORACLE", "1");
        let required = std::panic::catch_unwind(|| require_oracle("t"));
        std::env::remove_var("PVE_REQUIRE_ORACLE");
        let script = script("exit 0");
        std::env::set_var("PVE_ORACLE", &script);
        assert_eq!(require_oracle("t"), Some(script.clone()));
        std::env::remove_var("PVE_ORACLE");
        let _ = fs::remove_dir_all(script.parent().unwrap());
        let message = required.expect_err("a required oracle that is missing panics");
        let message = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("PVE_REQUIRE_ORACLE=1"), "{message}");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
