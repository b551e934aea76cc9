//! `pve-test-support`'s `Sim` against the real binary: what every other
//! crate's integration tests rely on.

mod transport_common;

use std::net::SocketAddr;
use std::sync::Once;

use pve_test_support::{sim_binary, Sim};
use serde_json::{json, Value};
use transport_common::*;

/// Point the support crate at the binary cargo built for these tests.
fn use_this_build() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("PVE_SIM_BIN").is_none() {
            std::env::set_var("PVE_SIM_BIN", env!("CARGO_BIN_EXE_pve-sim"));
        }
    });
}

fn addr(sim: &Sim) -> SocketAddr {
    sim.url.strip_prefix("https://").unwrap().parse().unwrap()
}

fn client(sim: &Sim) -> Stream {
    let ca = std::fs::read_to_string(&sim.ca_cert).unwrap();
    connect(&client_config(&ca), addr(sim))
}

#[test]
fn sim_starts_logs_requests_and_clears_them() {
    use_this_build();
    assert!(sim_binary().is_file());
    let sim = Sim::start("9.1");
    assert!(sim.url.starts_with("https://127.0.0.1:"));
    assert_eq!(sim.fingerprint.len(), 95);
    assert!(sim.ca_cert.is_file());
    assert!(sim.dir.is_dir());
    assert_eq!(sim.requests(), Vec::<Value>::new());

    let mut s = client(&sim);
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    let log = sim.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["path"], "/access/domains");
    assert_eq!(log[0]["status"], 200);

    sim.clear_requests();
    assert!(sim.requests().is_empty());
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    assert_eq!(sim.requests().len(), 1, "logging goes on after a clear");
}

#[test]
fn drop_kills_the_sim_and_removes_its_directory() {
    use_this_build();
    let sim = Sim::start("8.4");
    let (addr, dir) = (addr(&sim), sim.dir.clone());
    drop(sim);
    assert!(std::net::TcpStream::connect(addr).is_err());
    assert!(!dir.exists());
}

#[test]
fn builder_faults_reach_the_sim() {
    use_this_build();
    let sim = Sim::builder("9.0")
        .fault(json!({"path": "/access/domains", "status": 500, "reason": "injected", "times": 1}))
        .start();
    let mut s = client(&sim);
    let r = get(&mut s, "/api2/json/access/domains").resp();
    assert_eq!((r.status, r.reason.as_str()), (500, "injected"));
    assert_eq!(get(&mut s, "/api2/json/access/domains").resp().status, 200);
    assert_eq!(sim.requests()[0]["fault"], "status 500");
}

#[test]
fn a_sim_that_cannot_start_fails_with_its_stderr() {
    use_this_build();
    let err = std::panic::catch_unwind(|| Sim::start("7.0")).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("printed no ready line"), "{msg}");
    assert!(msg.contains("--pve-version 7.0"), "the sim's stderr: {msg}");
}

#[test]
fn args_adds_the_connection_options() {
    use_this_build();
    let sim = Sim::builder("9.1").root_password("Secret-1").start();
    let args = sim.args(json!({"userid": "joe@pve", "api_user": "admin@pve"}));
    assert_eq!(
        args,
        json!({
            "api_host": sim.url,
            "api_user": "admin@pve",
            "api_password": "Secret-1",
            "fingerprint": sim.fingerprint,
            "userid": "joe@pve",
        })
    );
    assert_eq!(sim.root_password, "Secret-1");
}

const USER_CFG: &str = "\
user:root@pam:1:0:::root@localhost:::
user:joe@pve:1:0:Joe:Doe:joe@example.com:::
token:joe@pve!ci:0:0::
acl:1:/:joe@pve:PVEAuditor:
";
const TOKEN_CFG: &str = "joe@pve!ci 6b1bd5c4-1b87-4c2c-9d4a-4fd6a1e7c0de\n";

#[test]
fn user_and_token_cfg_are_loaded() {
    use_this_build();
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .token_cfg(TOKEN_CFG)
        .start();
    let mut s = client(&sim);
    send(
        &mut s,
        b"GET /api2/json/access/permissions HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=joe@pve!ci=6b1bd5c4-1b87-4c2c-9d4a-4fd6a1e7c0de\r\n\r\n",
    );
    let r = read_response(&mut s).resp();
    assert_eq!(r.status, 200, "{}", sim.stderr());
    assert_eq!(r.json()["data"]["/"]["Sys.Audit"], 1);
    assert_eq!(sim.requests()[0]["auth"], "token");
}

#[test]
fn state_dir_survives_a_restart() {
    use_this_build();
    let dir = std::env::temp_dir().join(format!("pve-sim-support-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = Sim::builder("9.1").state_dir(&dir).start();
    let fingerprint = first.fingerprint.clone();
    drop(first);
    assert!(
        dir.join("pve-root-ca.pem").is_file(),
        "state dir is the caller's"
    );
    let second = Sim::builder("9.1").state_dir(&dir).start();
    assert_eq!(second.fingerprint, fingerprint);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_authentication_answers_at_once_unless_asked_otherwise() {
    use_this_build();
    let sim = Sim::start("9.1");
    let mut s = client(&sim);
    let start = std::time::Instant::now();
    let r = get(&mut s, "/api2/json/access/users").resp();
    assert_eq!(r.status, 401);
    let delay = std::env::var("PVE_SIM_AUTH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(start.elapsed() < std::time::Duration::from_millis(delay + 1500));
    assert!(start.elapsed() >= std::time::Duration::from_millis(delay));
}
