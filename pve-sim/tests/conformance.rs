//! Differential conformance: every scenario of `pve-sim/conformance/`
//! runs against pve-sim and the real PVE code (pve-oracle), on PVE 9.1 and
//! 8.4, started from the same user.cfg/token.cfg/domains.cfg; each answer
//! (status, reason phrase, body) and the resulting `user.cfg`,
//! `priv/token.cfg`, `priv/shadow.cfg`, `domains.cfg` and the realms' bind
//! passwords (`priv/realm/`) must be the same.
//!
//! Only what cannot be equal is normalised, all in [`normalise_body`],
//! [`HASH_ORDER`] and [`normalise_file`]: token secrets, password hashes,
//! tickets, CSRF tokens, and lists PVE builds in Perl hash order.
//! Differences that cannot be removed are listed with their reason in
//! [`KNOWN`] and [`oracle_install_path`] (and in the README's "Differences
//! from the real code"); anything else fails the test, printing both sides.
//!
//! Scenario files (JSON, one object; the comments are only here):
//!
//! ```json
//! {"description": "what users do here",
//!  "versions": ["9.1", "8.4"],            // optional, both by default
//!  "user_cfg": ["user:joe@pve:1:0::::::"], // optional: lines of the starting user.cfg
//!  "token_cfg": ["joe@pve!ci 0b7d..."],    // optional: lines of priv/token.cfg
//!  "domains_cfg": ["ldap: ld1", "\tserver1 x", ""], // optional: lines of domains.cfg
//!  "passwords": {"joe@pve": "joe-pass-1"}, // set first by root (PUT /access/password)
//!  "calls": [
//!    {"as": "root@pam", "method": "PUT", "path": "/access/acl",
//!     "params": {"path": "/", "roles": "PVEAuditor", "users": "joe@pve"}},
//!    {"as": "joe@pve", "method": "GET", "path": "/access/permissions"},
//!    {"as": "joe@pve!ci", "method": "GET", "path": "/access/users"},
//!    {"method": "GET", "path": "/version"}
//!  ]}
//! ```
//!
//! A call: `as` is who calls (absent: nobody; `user@realm`: a ticket from
//! logging in with the scenario's password, root's for root@pam, plus the
//! CSRF token on writes; `user@realm!token`: the token with its secret from
//! `token_cfg` or from the answer that created or regenerated it; a
//! user's first call may give its `password` for the login).
//! `params` (values: a string or a list for a repeated key) go into the query
//! string of GET/DELETE and a form body of PUT/POST; `json` sends a JSON
//! body instead, `body` + `content_type` any raw body; `query` is a raw query
//! string. `csrf`: `"none"` or `"wrong"` breaks the CSRF token; `secret`
//! overrides a token's secret; a parameter value `$ticket:USER` is the
//! ticket USER logged in with (to renew it); `headers` adds raw headers (a forged cookie,
//! a malformed token header); `versions` limits a call to some versions.
//! Paths are percent-encoded byte by byte beyond `[A-Za-z0-9/@!._~:-]`,
//! unless `raw_path` is true (then sent as written, e.g. `%F6`, or raw UTF-8)
//! or `latin1_path` is (then sent unencoded in Latin-1, one byte a
//! character). Header values go out as UTF-8, or in Latin-1 with
//! `latin1_headers` (how a client must send a token id such as `jöe@pve!ci`
//! for PVE to read it).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pve_test_support::http::{enc, enc_path, form, show_bytes, Latin1};
use pve_test_support::{require_oracle, Server, Sim};
use serde_json::{json, Value};

const ROOT_PASSWORD: &str = "conformance-root-pw";
const VERSIONS: [&str; 2] = ["9.1", "8.4"];

/// Differences that remain, with why. Each names a scenario file, the
/// version (`*`: both), and the call (`call N`) or file it concerns. Only
/// what pve-sim does not simulate: every other difference found was fixed
/// in pve-sim, and the scenarios avoid the few that cannot be (hash order,
/// random values; see the README).
struct Known {
    scenario: &'static str,
    version: &'static str,
    what: &'static str,
    reason: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        scenario: "15-not-simulated",
        version: "*",
        what: "call 0",
        reason: "TFA is not simulated: `GET /access/tfa` answers 501",
    },
    Known {
        scenario: "15-not-simulated",
        version: "*",
        what: "call 1",
        reason: "TFA is not simulated: `GET /access/users/{userid}/tfa` answers 501",
    },
    Known {
        scenario: "15-not-simulated",
        version: "*",
        what: "call 2",
        reason: "OpenID is not simulated: `GET /access/openid` answers 501",
    },
];

/// The one rewrite of the oracle's answers: Perl's `die` texts name the
/// file that died, and pve-oracle runs PVE's modules from its own `lib/<v>/`
/// where a PVE node has them in `/usr/share/perl5/` (what pve-sim says).
/// Only that directory prefix is replaced; file, line and message stay
/// compared.
fn oracle_install_path(text: &str, oracle: &Path, version: &str) -> String {
    let oracle = fs::canonicalize(oracle).unwrap_or_else(|_| oracle.to_path_buf());
    let lib = oracle.parent().unwrap_or(&oracle).join("lib").join(version);
    text.replace(&format!("{}/", lib.display()), "/usr/share/perl5/")
}

/// Lists PVE builds from a Perl hash (`keys %$h`), so their order differs
/// from run to run: sorted on both sides before comparing. (method, schema
/// path, how.)
const HASH_ORDER: &[(&str, &str, Sort)] = &[
    ("GET", "/access/roles", Sort::DataBy("roleid")),
    ("GET", "/access/groups", Sort::DataBy("groupid")),
    ("GET", "/access/groups/{groupid}", Sort::Members),
    (
        "GET",
        "/access/users/{userid}/token",
        Sort::DataBy("tokenid"),
    ),
    ("GET", "/access/domains", Sort::DataBy("realm")),
    // Paths come sorted; the entries of one path in hash order.
    ("GET", "/access/acl", Sort::AclWithinPath),
];

#[derive(Clone, Copy)]
enum Sort {
    DataBy(&'static str),
    Members,
    AclWithinPath,
}

#[test]
fn pve_sim_matches_the_real_pve_code() {
    let Some(oracle) = require_oracle("conformance") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {}", dir.display());
    let only = std::env::var("CONFORMANCE_ONLY").unwrap_or_default();

    let started = Instant::now();
    let mut scenarios: Vec<(String, Value)> = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        if !only.is_empty() && !name.contains(&only) {
            continue;
        }
        let text = fs::read_to_string(file).unwrap();
        let scenario: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        scenarios.push((name, scenario));
    }
    // The versions run side by side, one oracle each.
    let reports: Vec<Report> = std::thread::scope(|s| {
        let workers: Vec<_> = VERSIONS
            .iter()
            .map(|version| {
                let (scenarios, oracle) = (&scenarios, &oracle);
                s.spawn(move || {
                    let mut report = Report::default();
                    let keys = oracle_keys(version);
                    for (name, scenario) in scenarios {
                        if in_versions(&scenario["versions"], version) {
                            let run = Run {
                                name,
                                version,
                                oracle_bin: oracle,
                                keys: &keys,
                            };
                            run_scenario(&run, scenario, &mut report);
                        }
                    }
                    let _ = fs::remove_dir_all(&keys);
                    report
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a version's run panicked"))
            .collect()
    });
    let mut report = Report::default();
    for r in reports {
        report.runs += r.runs;
        report.calls += r.calls;
        report.known_seen += r.known_seen;
        report.seen.extend(r.seen);
        report.failures.extend(r.failures);
    }
    // A listed difference that no longer occurs is a stale list.
    for k in KNOWN {
        for version in VERSIONS
            .iter()
            .filter(|v| k.version == "*" || k.version == **v)
        {
            let ran = scenarios.iter().any(|(name, _)| name == k.scenario);
            let seen = report
                .seen
                .iter()
                .any(|(s, v, w)| s == k.scenario && v == version && w == k.what);
            if ran && !seen {
                report.failures.push(format!(
                    "[{} on {version}] {}: listed in KNOWN, but no such difference occurred: remove it",
                    k.scenario, k.what
                ));
            }
        }
    }
    println!(
        "conformance: {} scenario runs, {} calls, {} known differences, in {:.1}s",
        report.runs,
        report.calls,
        report.known_seen,
        started.elapsed().as_secs_f64()
    );
    if !report.failures.is_empty() {
        panic!(
            "{} unexplained difference(s) between pve-sim and pve-oracle:\n\n{}",
            report.failures.len(),
            report.failures.join("\n")
        );
    }
}

#[derive(Default)]
struct Report {
    runs: usize,
    calls: usize,
    known_seen: usize,
    /// (scenario, version, what) of the known differences that occurred.
    seen: Vec<(String, String, String)>,
    failures: Vec<String>,
}

impl Report {
    fn differ(&mut self, scenario: &str, version: &str, what: &str, detail: String) {
        let known = KNOWN.iter().find(|k| {
            k.scenario == scenario && (k.version == "*" || k.version == version) && k.what == what
        });
        match known {
            Some(k) => {
                self.known_seen += 1;
                self.seen
                    .push((scenario.to_string(), version.to_string(), what.to_string()));
                println!(
                    "[{scenario} on {version}] {what}: known difference: {}",
                    k.reason
                );
            }
            None => self
                .failures
                .push(format!("[{scenario} on {version}] {what}\n{detail}")),
        }
    }
}

fn in_versions(versions: &Value, version: &str) -> bool {
    match versions.as_array() {
        None => true,
        Some(list) => list.iter().any(|v| v == version),
    }
}

/// `["a", "b"]` or `"a\nb"` as file text with a final newline.
fn lines(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|l| format!("{}\n", l.as_str().expect("cfg lines are strings")))
                .collect(),
        ),
        other => panic!("cfg must be lines or text, got {other}"),
    }
}

/// A state directory holding only pve-oracle's certificates and keys (CA,
/// node certificate, CSRF and ticket keys), made once per version: making
/// them takes the oracle seconds at every start, and they change nothing
/// that is compared.
fn oracle_keys(version: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pve-conformance-keys-{version}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    let oracle = Sim::builder(version)
        .server(Server::PveOracle)
        .root_password(ROOT_PASSWORD)
        .state_dir(&dir)
        .start();
    // The first login makes the ticket signing key.
    let mut side = Side::new(&oracle, &Value::Null);
    let login = side.call(&json!({"as": "root@pam", "method": "GET", "path": "/version"}));
    assert_eq!(login.status, 200, "pve-oracle: {}", oracle.stderr());
    drop(oracle);
    for file in [
        "user.cfg",
        "priv/token.cfg",
        "priv/shadow.cfg",
        "priv/tfa.cfg",
    ] {
        let _ = fs::remove_file(dir.join(file));
    }
    let _ = fs::remove_dir_all(dir.join("priv/lock"));
    dir
}

/// A copy of a directory tree, symbolic links kept as links.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create a state directory");
    for entry in fs::read_dir(from)
        .expect("read the key directory")
        .flatten()
    {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let target = fs::read_link(&src).expect("read a link");
            std::os::unix::fs::symlink(target, &dst).expect("copy a link");
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).expect("copy a key file");
        }
    }
}

/// One scenario on one version.
struct Run<'a> {
    name: &'a str,
    version: &'a str,
    oracle_bin: &'a Path,
    keys: &'a Path,
}

fn run_scenario(run: &Run, scenario: &Value, report: &mut Report) {
    let (name, version, oracle_bin) = (run.name, run.version, run.oracle_bin);
    report.runs += 1;
    let oracle_state = PathBuf::from(format!("{}-{name}", run.keys.display()));
    let _ = fs::remove_dir_all(&oracle_state);
    copy_tree(run.keys, &oracle_state);
    let start = |server: Server| {
        let mut b = Sim::builder(version)
            .server(server)
            .root_password(ROOT_PASSWORD);
        if server == Server::PveOracle {
            b = b.state_dir(&oracle_state);
        }
        if let Some(text) = lines(&scenario["user_cfg"]) {
            b = b.user_cfg(&text);
        }
        if let Some(text) = lines(&scenario["token_cfg"]) {
            b = b.token_cfg(&text);
        }
        if let Some(text) = lines(&scenario["domains_cfg"]) {
            b = b.domains_cfg(&text);
        }
        b.start()
    };
    let (sim, oracle) = std::thread::scope(|s| {
        let o = s.spawn(|| start(Server::PveOracle));
        let sim = start(Server::PveSim);
        (sim, o.join().expect("start pve-oracle"))
    });
    let mut sides = [Side::new(&sim, scenario), Side::new(&oracle, scenario)];

    let mut calls: Vec<Value> = Vec::new();
    if let Some(passwords) = scenario["passwords"].as_object() {
        for (user, pw) in passwords {
            calls.push(json!({"as": "root@pam", "method": "PUT", "path": "/access/password",
                              "params": {"userid": user, "password": pw, "confirmation-password": ROOT_PASSWORD}}));
        }
    }
    calls.extend(scenario["calls"].as_array().cloned().unwrap_or_default());

    for (i, call) in calls.iter().enumerate() {
        if !in_versions(&call["versions"], version) {
            continue;
        }
        report.calls += 1;
        let a = sides[0].call(call);
        let mut b = sides[1].call(call);
        b.reason = oracle_install_path(&b.reason, oracle_bin, version);
        b.body = oracle_install_path(&show_bytes(&b.body), oracle_bin, version).into_bytes();
        let label = format!("call {i}");
        // A login that fails on either side makes every later call of that
        // user an unauthenticated one: the scenario is broken, not compared.
        if a.login.is_some() || b.login.is_some() {
            report.differ(
                name,
                version,
                &label,
                format!(
                    "  {}\n  cannot log in: pve-sim: {:?}\n                 oracle:  {:?}",
                    describe(call),
                    a.login,
                    b.login
                ),
            );
            continue;
        }
        if std::env::var_os("CONFORMANCE_SHOW").is_some() {
            println!("[{name} on {version}] {label}: {} {}", b.status, b.reason);
        }
        let template = schema_path(call["path"].as_str().unwrap_or_default());
        let method = call["method"].as_str().unwrap_or_default();
        let (na, nb) = (
            a.normalised(method, &template),
            b.normalised(method, &template),
        );
        if (a.status, &a.reason, &na) != (b.status, &b.reason, &nb) {
            report.differ(
                name,
                version,
                &label,
                format!(
                    "  {}\n  pve-sim: {} {}\n           {}\n  oracle:  {} {}\n           {}{}",
                    describe(call),
                    a.status,
                    a.reason,
                    na,
                    b.status,
                    b.reason,
                    nb,
                    json_diff(&na, &nb)
                ),
            );
        }
    }

    for file in [
        "user.cfg",
        "priv/token.cfg",
        "priv/shadow.cfg",
        "domains.cfg",
        "priv/realm",
    ] {
        let read = |dir: &Path| match file {
            "priv/realm" => realm_passwords(&dir.join(file)),
            _ => normalise_file(file, &fs::read(dir.join(file)).unwrap_or_default()),
        };
        let (a, b) = (read(&sim.dir.join("state")), read(&oracle_state));
        if a != b {
            report.differ(
                name,
                version,
                file,
                format!(
                    "  {file} differs\n  --- pve-sim\n{}\n  --- oracle\n{}\n  lines only in pve-sim (-) or the oracle (+):\n{}",
                    indent(&a),
                    indent(&b),
                    line_diff(&a, &b)
                ),
            );
        }
    }
    drop(sides);
    drop(oracle);
    let _ = fs::remove_dir_all(&oracle_state);
}

/// The realms' bind passwords as `<file>: <content>` lines (test
/// passwords, shown to compare them).
fn realm_passwords(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            format!("{name}: {}\n", show_bytes(&fs::read(f).unwrap_or_default()))
        })
        .collect()
}

/// Where two JSON bodies differ, one line per differing place (at most
/// 20), after the full bodies: long answers differ in one corner.
fn json_diff(a: &str, b: &str) -> String {
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) else {
        return String::new();
    };
    let mut out = Vec::new();
    diff_at("", &a, &b, &mut out);
    out.truncate(20);
    out.iter()
        .map(|l| format!("\n    {l}"))
        .collect::<Vec<_>>()
        .concat()
}

fn diff_at(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if x.contains_key(k) != y.contains_key(k) {
                    let side = if x.contains_key(k) {
                        "pve-sim"
                    } else {
                        "oracle"
                    };
                    out.push(format!(
                        "{at}/{k}: only in {side}: {}",
                        if x.contains_key(k) { va } else { vb }
                    ));
                } else {
                    diff_at(&format!("{at}/{k}"), va, vb, out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff_at(&format!("{at}/{i}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for v in x.iter().filter(|v| !y.contains(v)) {
                out.push(format!("{at}[]: only in pve-sim: {}", short(v)));
            }
            for v in y.iter().filter(|v| !x.contains(v)) {
                out.push(format!("{at}[]: only in oracle: {}", short(v)));
            }
        }
        _ if a != b => out.push(format!("{at}: pve-sim {} | oracle {}", short(a), short(b))),
        _ => {}
    }
}

/// A value cut to 300 characters for the difference lines.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// The lines one file has and the other lacks.
fn line_diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let only_a = la
        .iter()
        .filter(|l| !lb.contains(l))
        .map(|l| format!("    -{l}"));
    let only_b = lb
        .iter()
        .filter(|l| !la.contains(l))
        .map(|l| format!("    +{l}"));
    only_a.chain(only_b).collect::<Vec<_>>().join("\n")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    |{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn describe(call: &Value) -> String {
    let mut c = call.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("versions");
    }
    c.to_string()
}

/// The API schema's path template of a concrete path (`{userid}` etc.), to
/// find the normalisations of an endpoint.
fn schema_path(path: &str) -> String {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let named: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| match (parts.get(1), i) {
            (Some(&"users"), 2) => "{userid}".into(),
            (Some(&"users"), 4) => "{tokenid}".into(),
            (Some(&"groups"), 2) => "{groupid}".into(),
            (Some(&"roles"), 2) => "{roleid}".into(),
            _ => p.to_string(),
        })
        .collect();
    format!("/{}", named.join("/"))
}

/// One server's side of a scenario: its connection settings and the
/// credentials it handed out.
struct Side<'a> {
    sim: &'a Sim,
    passwords: BTreeMap<String, String>,
    tickets: BTreeMap<String, (String, String)>,
    secrets: BTreeMap<String, String>,
}

/// A normalised answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: String,
    body: Vec<u8>,
    /// The status of the login this call needed first, if one was made and failed.
    login: Option<(u16, String)>,
}

impl Answer {
    /// The body as compared: normalised JSON text, else the raw text.
    fn normalised(&self, method: &str, template: &str) -> String {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(mut v) => {
                normalise_body(&mut v);
                sort_hash_order(method, template, &mut v);
                v.to_string()
            }
            Err(_) => show_bytes(&self.body),
        }
    }
}

impl<'a> Side<'a> {
    fn new(sim: &'a Sim, scenario: &Value) -> Side<'a> {
        let mut passwords = BTreeMap::new();
        passwords.insert("root@pam".to_string(), ROOT_PASSWORD.to_string());
        if let Some(p) = scenario["passwords"].as_object() {
            for (u, pw) in p {
                passwords.insert(u.clone(), pw.as_str().unwrap_or_default().to_string());
            }
        }
        let mut secrets = BTreeMap::new();
        for line in lines(&scenario["token_cfg"]).unwrap_or_default().lines() {
            if let Some((id, secret)) = line.split_once(' ') {
                secrets.insert(id.to_string(), secret.trim().to_string());
            }
        }
        Side {
            sim,
            passwords,
            tickets: BTreeMap::new(),
            secrets,
        }
    }

    fn call(&mut self, call: &Value) -> Answer {
        let method = call["method"].as_str().expect("call without method");
        let path = call["path"].as_str().expect("call without path");
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut login = None;
        match call["as"].as_str() {
            None => {}
            Some(who) if who.contains('!') => {
                let secret = call["secret"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| self.secrets.get(who).cloned())
                    .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
                headers.push((
                    "Authorization".into(),
                    format!("PVEAPIToken={who}={secret}"),
                ));
            }
            Some(who) => {
                if !self.tickets.contains_key(who) {
                    let pw = call["password"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| self.passwords.get(who).cloned())
                        .unwrap_or_default();
                    // Each request on a fresh connection (pve-oracle
                    // closes after errors).
                    let r = self.sim.request(
                        "POST",
                        "/access/ticket",
                        &[],
                        Some((
                            "application/x-www-form-urlencoded",
                            form(&[("username", who), ("password", &pw)]),
                        )),
                        Latin1::default(),
                    );
                    match serde_json::from_slice::<Value>(&r.body) {
                        Ok(v) if r.status == 200 => {
                            let d = &v["data"];
                            self.tickets.insert(
                                who.to_string(),
                                (
                                    d["ticket"].as_str().unwrap_or_default().into(),
                                    d["CSRFPreventionToken"].as_str().unwrap_or_default().into(),
                                ),
                            );
                        }
                        _ => login = Some((r.status, r.reason)),
                    }
                }
                if let Some((ticket, csrf)) = self.tickets.get(who) {
                    headers.push(("Cookie".into(), format!("PVEAuthCookie={}", enc(ticket))));
                    if method != "GET" {
                        match call["csrf"].as_str() {
                            Some("none") => {}
                            Some("wrong") => {
                                headers.push(("CSRFPreventionToken".into(), format!("{csrf}x")))
                            }
                            _ => headers.push(("CSRFPreventionToken".into(), csrf.clone())),
                        }
                    }
                }
            }
        }

        if let Some(extra) = call["headers"].as_object() {
            for (k, v) in extra {
                headers.push((k.clone(), scalar(v)));
            }
        }
        let value = |v: &Value| {
            let text = scalar(v);
            match text.strip_prefix("$ticket:") {
                Some(user) => self.tickets.get(user).map_or(text.clone(), |t| t.0.clone()),
                None => text,
            }
        };
        let params: Vec<(String, String)> = match &call["params"] {
            Value::Object(m) => m
                .iter()
                .flat_map(|(k, v)| match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| (k.clone(), value(i)))
                        .collect::<Vec<_>>(),
                    other => vec![(k.clone(), value(other))],
                })
                .collect(),
            _ => Vec::new(),
        };
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut query = call["query"].as_str().unwrap_or_default().to_string();
        let body = if let Some(raw) = call["body"].as_str() {
            let ct = call["content_type"]
                .as_str()
                .unwrap_or("application/x-www-form-urlencoded");
            Some((ct, raw.as_bytes().to_vec()))
        } else if !call["json"].is_null() {
            Some(("application/json", call["json"].to_string().into_bytes()))
        } else if method == "GET" || method == "DELETE" {
            if !pairs.is_empty() {
                let q = String::from_utf8(form(&pairs)).unwrap_or_default();
                query = if query.is_empty() {
                    q
                } else {
                    format!("{query}&{q}")
                };
            }
            None
        } else if pairs.is_empty() {
            None
        } else {
            Some(("application/x-www-form-urlencoded", form(&pairs)))
        };
        let path = if call["raw_path"] == true || call["latin1_path"] == true {
            path.to_string()
        } else {
            enc_path(path)
        };
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let latin1 = Latin1 {
            target: call["latin1_path"] == true,
            headers: call["latin1_headers"] == true,
        };
        let r = self.sim.request(method, &target, &headers, body, latin1);
        let (status, reason, body) = (r.status, r.reason, r.body);
        if status == 200 {
            self.learn_secret(&body);
        }
        Answer {
            status,
            reason,
            body,
            login,
        }
    }

    /// Token secrets from an answer that created or regenerated a token.
    fn learn_secret(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        if let (Some(id), Some(value)) = (
            v["data"]["full-tokenid"].as_str(),
            v["data"]["value"].as_str(),
        ) {
            self.secrets.insert(id.to_string(), value.to_string());
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Secrets, tickets and CSRF tokens differ by nature; their presence is
/// what is compared.
fn normalise_body(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let is_token = m.contains_key("full-tokenid");
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "ticket" if x.is_string() => *x = json!("<ticket>"),
                    "CSRFPreventionToken" if x.is_string() => *x = json!("<csrf>"),
                    "value" if is_token && x.is_string() => *x = json!("<secret>"),
                    _ => normalise_body(x),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_body),
        _ => {}
    }
}

fn sort_hash_order(method: &str, template: &str, v: &mut Value) {
    let Some((_, _, how)) = HASH_ORDER
        .iter()
        .find(|(m, p, _)| *m == method && *p == template)
    else {
        return;
    };
    let key = |e: &Value| e.to_string();
    match how {
        Sort::DataBy(field) => {
            if let Some(items) = v["data"].as_array_mut() {
                items.sort_by_key(|e| (e[*field].to_string(), key(e)));
            }
        }
        Sort::Members => {
            if let Some(items) = v["data"]["members"].as_array_mut() {
                items.sort_by_key(key);
            }
        }
        Sort::AclWithinPath => {
            if let Some(items) = v["data"].as_array_mut() {
                let mut start = 0;
                while start < items.len() {
                    let path = items[start]["path"].clone();
                    let end = items[start..]
                        .iter()
                        .position(|e| e["path"] != path)
                        .map_or(items.len(), |n| start + n);
                    items[start..end].sort_by_key(key);
                    start = end;
                }
            }
        }
    }
}

/// token.cfg secrets and shadow.cfg hashes differ by nature; the files are
/// compared byte for byte otherwise, but for the order of shadow.cfg.
fn normalise_file(name: &str, bytes: &[u8]) -> String {
    let text = show_bytes(bytes);
    match name {
        "priv/token.cfg" => text
            .lines()
            .map(|l| match l.split_once(' ') {
                Some((id, _)) => format!("{id} <secret>\n"),
                None => format!("{l}\n"),
            })
            .collect(),
        // PVE writes shadow.cfg in hash order (`keys %{$cfg->{users}}`).
        "priv/shadow.cfg" => {
            let mut lines: Vec<String> = text
                .lines()
                .map(|l| match l.split_once(':') {
                    Some((user, _)) => format!("{user}:<hash>:\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            lines.sort();
            lines.concat()
        }
        _ => text,
    }
}

/// Text as is, each byte that is not UTF-8 as `\xNN` (PVE writes Latin-1
/// in places), so no difference is lost in showing it.
/// The normalisations hide only what they name.
#[test]
fn normalisation_hides_only_secrets_and_hash_order() {
    let mut v = json!({"data": {"full-tokenid": "a@pve!t", "value": "s1", "info": {"value": "kept"},
                                "ticket": "PVE:x", "CSRFPreventionToken": "c", "username": "a@pve"}});
    normalise_body(&mut v);
    assert_eq!(
        v,
        json!({"data": {"full-tokenid": "a@pve!t", "value": "<secret>", "info": {"value": "kept"},
                        "ticket": "<ticket>", "CSRFPreventionToken": "<csrf>", "username": "a@pve"}})
    );

    let mut acl = json!({"data": [
        {"path": "/", "ugid": "b"}, {"path": "/", "ugid": "a"},
        {"path": "/vms", "ugid": "z"}, {"path": "/access", "ugid": "y"}]});
    sort_hash_order("GET", "/access/acl", &mut acl);
    let order: Vec<&str> = acl["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ugid"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["a", "b", "z", "y"], "paths keep their order");

    let mut users = json!({"data": [{"userid": "b"}, {"userid": "a"}]});
    sort_hash_order("GET", "/access/users", &mut users);
    assert_eq!(
        users["data"][0]["userid"], "b",
        "a sorted list is compared as sent"
    );

    assert_eq!(
        schema_path("/access/users/joe@pve/token/ci"),
        "/access/users/{userid}/token/{tokenid}"
    );
    assert_eq!(
        normalise_file("priv/shadow.cfg", b"b:$5$x:\na:$5$y:\n"),
        "a:<hash>:\nb:<hash>:\n"
    );
    assert_eq!(
        normalise_file("user.cfg", b"user:j\xf6e@pve:1:0:\n"),
        "user:j\\xF6e@pve:1:0:\n"
    );
}
