//! Retries and lost writes against pve-sim's injected faults (`--fault`):
//! the same failures a busy PVE cluster produces, seen from the client.

use pve_api::{access, ApiRequest, Client};
use pve_test_support::Sim;
use serde_json::{json, Value};
use std::time::Instant;

/// The connection options a module would have after option parsing.
fn params(sim: &Sim, extra: Value) -> ansible_module::Params {
    let mut all = json!({"validate_certs": true, "api_timeout": 10});
    if let (Value::Object(all), Value::Object(given)) = (&mut all, sim.args(extra)) {
        all.extend(given);
    }
    match all {
        Value::Object(m) => ansible_module::Params::from_map(m),
        _ => unreachable!("built as an object"),
    }
}

fn client(sim: &Sim) -> Client {
    let params = params(sim, json!({}));
    match Client::connect(&params) {
        Ok(c) => c,
        Err(e) => panic!("connect to pve-sim: {e}\n{}", sim.stderr()),
    }
}

/// `METHOD path` of each logged request to `path` (relative to /api2/json).
fn sent(sim: &Sim, path: &str) -> Vec<String> {
    sim.requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(path)))
        .map(|r| format!("{} {}", r["method"].as_str().unwrap_or("?"), r["status"]))
        .collect()
}

#[test]
fn lock_timeouts_on_a_write_are_retried_until_it_lands() {
    let sim = Sim::builder("9.1")
        .fault(
            json!({"method": "PUT", "path": "/access/acl", "status": 500,
            "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}),
        )
        .start();
    let c = client(&sim);
    c.send(&ApiRequest::post("/access/groups").param("groupid", "ops"))
        .expect("create the group");
    let req = ApiRequest::put("/access/acl")
        .param("path", "/")
        .param("roles", "PVEAuditor")
        .param("groups", "ops");
    c.send(&req).expect("the third try succeeds");
    assert_eq!(sent(&sim, "/access/acl"), ["PUT 500", "PUT 500", "PUT 200"]);
    let acl = access::list_acl(&c).expect("read ACL");
    assert!(
        acl.iter()
            .any(|e| e.path == "/" && e.roleid == "PVEAuditor"),
        "{acl:?}"
    );
}

#[test]
fn a_slow_read_is_retried_after_the_timeout() {
    let sim = Sim::builder("9.1")
        .fault(json!({"method": "GET", "path": "/access/roles", "delay_ms": 5000, "times": 1}))
        .start();
    let params = params(&sim, json!({"api_timeout": 1}));
    let c = Client::connect(&params).expect("connect");
    let started = Instant::now();
    let roles = access::list_roles(&c).expect("the second GET answers at once");
    assert!(roles.iter().any(|r| r.roleid == "Administrator"));
    assert!(
        started.elapsed().as_secs() < 5,
        "waited for the slow answer"
    );
}

#[test]
fn a_lost_answer_to_a_create_is_settled_by_reading_back_not_by_resending() {
    let sim = Sim::builder("8.4")
        .fault(json!({"method": "POST", "path": "/access/groups", "drop": "after", "times": 1}))
        .start();
    let c = client(&sim);
    let req = ApiRequest::post("/access/groups").param("groupid", "ops");
    let result = c
        .send_settled(&req, &|c| Ok(access::get_group(c, "ops")?.is_some()))
        .expect("settled by the read-back");
    assert_eq!(result, Value::Null);
    let posts: Vec<_> = sent(&sim, "/access/groups")
        .into_iter()
        .filter(|r| r.starts_with("POST"))
        .collect();
    assert_eq!(posts.len(), 1, "the create was sent again: {posts:?}");
}

#[test]
fn a_create_dropped_before_it_ran_is_sent_again_after_the_read_back() {
    let sim = Sim::builder("9.1")
        .fault(json!({"method": "POST", "path": "/access/groups", "drop": "before", "times": 1}))
        .start();
    let c = client(&sim);
    let req = ApiRequest::post("/access/groups").param("groupid", "ops");
    c.send_settled(&req, &|c| Ok(access::get_group(c, "ops")?.is_some()))
        .expect("sent again once the read-back shows it missing");
    assert!(access::get_group(&c, "ops").expect("read").is_some());
}
