//! The `pve-sim` binary: flags, the ready line, the certificate it serves
//! and trusts, the request log and faults given on the command line.

mod transport_common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pve_sim::server::{fingerprint, Identity};
use serde_json::{json, Value};
use transport_common::*;

const BIN: &str = env!("CARGO_BIN_EXE_pve-sim");

struct Running {
    child: Child,
    ready: Value,
    dir: PathBuf,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        let url = self.ready["url"].as_str().unwrap();
        url.strip_prefix("https://").unwrap().parse().unwrap()
    }

    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.ready["ca_cert"].as_str().unwrap()).unwrap()
    }

    fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("pve-sim-cli-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start the binary with `args` plus a listen address and request log in a
/// fresh directory; wait for the ready line (its raw text is checked too).
fn start(tag: &str, args: &[&str]) -> Running {
    let dir = temp_dir(tag);
    start_in(dir, args)
}

fn start_in(dir: PathBuf, args: &[&str]) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--request-log"])
        .arg(dir.join("requests.jsonl"))
        .args(args);
    // Keep the generated certificate inside the test's directory.
    if !args.contains(&"--state-dir") && !args.contains(&"--cert") {
        cmd.arg("--state-dir").arg(dir.join("state"));
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.ends_with('\n'), "one full line: {line:?}");
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let keys: Vec<&String> = ready.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "{line}");
    Running { child, ready, dir }
}

fn run_to_exit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn peer_fingerprint(stream: &Stream) -> String {
    fingerprint(&stream.conn.peer_certificates().unwrap()[0])
}

#[test]
fn ready_line_fingerprint_and_ca_cert() {
    let sim = start("ready", &[]);
    assert!(sim.ready["ca_cert"]
        .as_str()
        .unwrap()
        .starts_with(sim.dir.to_str().unwrap()));
    let url = sim.ready["url"].as_str().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_ne!(sim.addr().port(), 0);
    let fp = sim.ready["fingerprint"].as_str().unwrap();
    assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
    assert!(fp
        .chars()
        .all(|c| c == ':' || c.is_ascii_digit() || ('A'..='F').contains(&c)));

    // ca_cert is a trust anchor for both names; the served certificate is the
    // one fingerprinted.
    let client = client_config(&sim.ca_pem());
    for name in ["127.0.0.1", "localhost"] {
        let mut s = connect_as(&client, sim.addr(), name);
        assert_eq!(peer_fingerprint(&s), fp, "{name}");
        let r = get(&mut s, "/api2/json/access/domains").resp();
        assert_eq!(r.status, 200, "{name}");
    }
    // The served certificate is not the CA itself.
    let ca_der = rustls_pemfile::certs(&mut sim.ca_pem().as_bytes())
        .next()
        .unwrap()
        .unwrap();
    assert_ne!(fingerprint(&ca_der), fp);
}

#[test]
fn without_state_dir_the_ca_goes_to_a_fresh_temp_dir() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let ready: Value = serde_json::from_str(&line).unwrap();
    let ca = PathBuf::from(ready["ca_cert"].as_str().unwrap());
    let ca_dir = ca.parent().unwrap().to_path_buf();
    assert!(ca_dir.starts_with(std::env::temp_dir()), "{}", ca.display());
    assert!(ca_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("pve-sim-"));
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let _ = std::fs::remove_dir_all(&ca_dir);
}

#[test]
fn state_dir_keeps_the_generated_certificate() {
    let dir = temp_dir("state");
    let state = dir.join("state");
    let state_arg = state.to_str().unwrap().to_string();
    let first = {
        let sim = start_in(temp_dir("state-a"), &["--state-dir", &state_arg]);
        assert_eq!(
            Path::new(sim.ready["ca_cert"].as_str().unwrap()),
            std::path::absolute(state.join("pve-root-ca.pem")).unwrap()
        );
        sim.ready["fingerprint"].clone()
    };
    let sim = start_in(temp_dir("state-b"), &["--state-dir", &state_arg]);
    assert_eq!(sim.ready["fingerprint"], first);
    let mut s = connect(&client_config(&sim.ca_pem()), sim.addr());
    assert_eq!(peer_fingerprint(&s), first.as_str().unwrap());
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cert_and_key_files_are_served() {
    let dir = temp_dir("certfiles");
    let id = Identity::generate().unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, format!("{}{}", id.cert_pem, id.ca_pem)).unwrap();
    std::fs::write(&key, &id.key_pem).unwrap();
    let sim = start(
        "certfiles-run",
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(sim.ready["fingerprint"], id.fingerprint().unwrap());
    assert_eq!(
        Path::new(sim.ready["ca_cert"].as_str().unwrap()),
        std::fs::canonicalize(&cert).unwrap()
    );
    let mut s = connect(&client_config(&id.ca_pem), sim.addr());
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn request_log_and_command_line_faults() {
    let sim = start(
        "faults",
        &[
            "--fault",
            r#"{"method":"GET","path":"/access/users","status":503,"reason":"try later","times":1}"#,
        ],
    );
    let mut s = connect(&client_config(&sim.ca_pem()), sim.addr());
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    send(
        &mut s,
        b"GET /api2/json/access/users HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=root@pam!ci=00000000-0000-0000-0000-000000000000\r\n\r\n",
    );
    let r = read_response(&mut s).resp();
    assert_eq!((r.status, r.reason.as_str()), (503, "try later"));
    assert_eq!(r.json(), json!({"data": null, "message": "try later\n"}));

    let log = sim.log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0],
        json!({"ts": log[0]["ts"], "method": "GET", "path": "/access/domains", "status": 200, "auth": "none"})
    );
    assert_eq!(
        log[1],
        json!({"ts": log[1]["ts"], "method": "GET", "path": "/access/users", "status": 503, "auth": "token", "fault": "status 503"})
    );
}

#[test]
fn help_and_version() {
    let (code, out, _) = run_to_exit(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--listen",
        "--pve-version",
        "--root-password",
        "--cert",
        "--key",
        "--user-cfg",
        "--token-cfg",
        "--state-dir",
        "--request-log",
        "--fault",
        "--version",
    ] {
        assert!(out.contains(flag), "--help documents {flag}");
    }
    let (code, out, _) = run_to_exit(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("pve-sim {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "unknown option '--bogus'"),
        (&["--pve-version", "7.4"], "--pve-version 7.4"),
        (&["--fault", "{nope"], "--fault #1: not valid JSON"),
        (
            &[
                "--fault",
                r#"{"status":500}"#,
                "--fault",
                r#"{"path":"/x"}"#,
            ],
            "--fault #2: needs exactly one action",
        ),
        (
            &["--cert", "/nonexistent.pem"],
            "--cert and --key go together",
        ),
        (&["--listen", "not-an-address"], "--listen not-an-address"),
        (&["--listen"], "--listen needs a value"),
    ];
    for (args, want) in cases {
        let (code, out, err) = run_to_exit(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: no ready line: {out}");
    }
}

#[test]
fn start_up_failures_exit_1() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (code, out, err) = run_to_exit(&["--listen", &addr]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(out.is_empty());

    let (code, _, err) = run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--cert",
        "/nonexistent/cert.pem",
        "--key",
        "/nonexistent/key.pem",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/"), "{err}");
}
