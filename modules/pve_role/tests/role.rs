//! pve_role against pve-sim (PVE 9.1 and 8.4): the module binary run the way
//! Ansible runs it, the request log checked for what it sent.

use pve_test_support::{diff_view, module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

const SECRET: &str = "5bd1c3e2-7a40-4c1b-9d0e-1f2a3b4c5d6e";

module_under_test!("pve_role");

/// The custom role as the server saved it (its user.cfg), in the shape
/// the module returns, `{}` when missing.
fn server_role(sim: &Sim, roleid: &str) -> Value {
    sim.state().role(roleid).unwrap_or_else(|| json!({}))
}

fn lifecycle(version: &str) {
    let sim = Sim::start(version);

    // Create.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"roleid": "Monitoring", "privs": ["VM.Audit", "Sys.Audit"]}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(
        r["role"],
        json!({"roleid": "Monitoring", "privs": ["Sys.Audit", "VM.Audit"], "special": false})
    );
    assert_eq!(
        r["msg"],
        "role 'Monitoring' created with Sys.Audit, VM.Audit"
    );
    assert_eq!(sim.api_calls(), ["GET /access/roles", "POST /access/roles"]);

    // Second run, other order: one GET, nothing else.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"roleid": "Monitoring", "privs": "Sys.Audit, VM.Audit"}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(r["msg"], "role 'Monitoring' unchanged");
    assert_eq!(sim.api_calls(), ["GET /access/roles"]);

    // Replace.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"name": "Monitoring", "privileges": ["VM.Audit", "Datastore.Audit"]}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(
        r["msg"],
        "role 'Monitoring' updated: added Datastore.Audit; removed Sys.Audit"
    );
    assert_eq!(
        sim.api_calls(),
        ["GET /access/roles", "PUT /access/roles/Monitoring"]
    );
    assert_eq!(
        server_role(&sim, "Monitoring")["privs"],
        json!(["Datastore.Audit", "VM.Audit"])
    );

    // Append.
    let r = ok(
        &sim,
        json!({"role": "Monitoring", "privs": ["Sys.Audit", "VM.Audit"], "append": true}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "role 'Monitoring' updated: added Sys.Audit");
    let want = json!(["Datastore.Audit", "Sys.Audit", "VM.Audit"]);
    assert_eq!(r["role"]["privs"], want);
    assert_eq!(server_role(&sim, "Monitoring")["privs"], want);
    let r = ok(
        &sim,
        json!({"roleid": "Monitoring", "privs": ["Sys.Audit"], "append": true}),
    );
    assert_eq!(r["changed"], false);

    // Emptied by an empty list.
    let r = ok(&sim, json!({"roleid": "Monitoring", "privs": []}));
    assert_eq!(r["changed"], true);
    assert_eq!(server_role(&sim, "Monitoring")["privs"], json!([]));

    // Absent, twice.
    sim.clear_requests();
    let r = ok(&sim, json!({"roleid": "Monitoring", "state": "absent"}));
    assert_eq!(r["changed"], true);
    assert_eq!(r["role"], json!({}));
    assert_eq!(
        sim.api_calls(),
        ["GET /access/roles", "DELETE /access/roles/Monitoring"]
    );
    sim.clear_requests();
    let r = ok(&sim, json!({"roleid": "Monitoring", "state": "absent"}));
    assert_eq!(r["changed"], false);
    assert_eq!(r["msg"], "role 'Monitoring' does not exist");
    assert_eq!(sim.api_calls(), ["GET /access/roles"]);
}

on_each_version!(lifecycle);

#[test]
fn check_mode_predicts_the_real_run() {
    let sim = Sim::start("9.1");
    let steps = [
        json!({"roleid": "ops", "privs": ["VM.Audit", "VM.Console"]}),
        json!({"roleid": "ops", "privs": ["VM.Audit", "VM.Console"]}),
        json!({"roleid": "ops", "privs": ["VM.PowerMgmt"], "append": true}),
        json!({"roleid": "ops", "privs": ["Sys.Audit"]}),
        json!({"roleid": "ops", "state": "absent"}),
    ];
    for step in steps {
        module().check_then_run(&sim, &step, &["role"], |s| s.role("ops"));
    }
}

#[test]
fn diff_mode() {
    let sim = Sim::start("9.1");
    let r = ok(
        &sim,
        json!({"roleid": "ops", "privs": ["VM.Audit"], "_ansible_diff": true}),
    );
    assert_eq!(
        json!({"before": diff_view(&r, "before"), "after": diff_view(&r, "after")}),
        json!({"before": {}, "after": {"roleid": "ops", "privs": ["VM.Audit"], "special": false}})
    );
    let r = ok(
        &sim,
        json!({"roleid": "ops", "privs": ["Sys.Audit"], "_ansible_diff": true}),
    );
    assert_eq!(diff_view(&r, "before")["privs"], json!(["VM.Audit"]));
    assert_eq!(diff_view(&r, "after")["privs"], json!(["Sys.Audit"]));
    let r = ok(
        &sim,
        json!({"roleid": "ops", "state": "absent", "_ansible_diff": true}),
    );
    assert_eq!(diff_view(&r, "after"), json!({}));
    assert_eq!(diff_view(&r, "before")["roleid"], "ops");
    // Without diff mode: no diff key.
    let r = ok(&sim, json!({"roleid": "ops"}));
    assert!(r.get("diff").is_none());
}

#[test]
fn vm_monitor_valid_on_pve84() {
    let sim = Sim::start("8.4");
    let r = ok(
        &sim,
        json!({"roleid": "mon", "privs": ["VM.Monitor", "VM.Audit"]}),
    );
    assert_eq!(r["role"]["privs"], json!(["VM.Audit", "VM.Monitor"]));
    assert_eq!(
        server_role(&sim, "mon")["privs"],
        json!(["VM.Audit", "VM.Monitor"])
    );
}

#[test]
fn vm_monitor_refused_on_pve91_with_the_explanation() {
    let sim = Sim::start("9.1");
    for check_mode in [true, false] {
        sim.clear_requests();
        let r = fail(
            &sim,
            json!({"roleid": "mon", "privs": ["VM.Monitor", "VM.Audit"], "_ansible_check_mode": check_mode}),
        );
        let msg = msg(&r);
        assert!(
            msg.starts_with("role 'mon' not changed: unknown privilege 'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access): PVE 9.1"),
            "{msg}"
        );
        assert!(msg.contains("unknown_privs: warn"), "{msg}");
        assert_eq!(
            sim.api_calls(),
            ["GET /access/roles", "GET /version"],
            "nothing written"
        );
    }
    assert_eq!(server_role(&sim, "mon"), json!({}));
}

#[test]
fn typos_are_named_with_the_closest_privileges() {
    let sim = Sim::start("9.1");
    ok(&sim, json!({"roleid": "ops", "privs": ["VM.Audit"]}));
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"roleid": "ops", "privs": ["VM.Config.cpu", "VM.Audti"], "append": true}),
    );
    let text = msg(&r);
    assert!(
        text.contains(
            "'VM.Config.cpu' (did you mean VM.Config.CPU?), 'VM.Audti' (did you mean VM.Audit?)"
        ),
        "{text}"
    );
    assert!(text.contains("PVE 9.1"), "{text}");
    assert_eq!(sim.writes(), Vec::<String>::new());
    // Renamed privileges of old releases.
    let r = fail(
        &sim,
        json!({"roleid": "ops", "privs": "Qemu.Config.Disk Datastore.Browse"}),
    );
    let text = msg(&r);
    assert!(
        text.contains("'Qemu.Config.Disk' (Qemu.* privileges are called VM.* in PVE; did you mean VM.Config.Disk?)"),
        "{text}"
    );
    assert!(
        text.contains("'Datastore.Browse' (PVE has no Datastore.Browse"),
        "{text}"
    );
}

#[test]
fn unknown_privs_warn_for_playbooks_shared_by_pve8_and_pve9() {
    let task = json!({
        "roleid": "Monitoring",
        "privs": ["Sys.Audit", "VM.Monitor", "VM.GuestAgent.Audit"],
        "unknown_privs": "warn",
    });
    for (version, kept, dropped) in [
        (
            "9.1",
            json!(["Sys.Audit", "VM.GuestAgent.Audit"]),
            "VM.Monitor",
        ),
        (
            "8.4",
            json!(["Sys.Audit", "VM.Monitor"]),
            "VM.GuestAgent.Audit",
        ),
    ] {
        let sim = Sim::start(version);
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], true, "{version}");
        assert_eq!(r["role"]["privs"], kept, "{version}");
        assert_eq!(server_role(&sim, "Monitoring")["privs"], kept, "{version}");
        let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
        assert_eq!(warnings.len(), 1, "{version}: {warnings:?}");
        let w = warnings[0].as_str().unwrap_or_default();
        assert!(w.contains(&format!("'{dropped}' (")), "{version}: {w}");
        // Converged: the second run changes nothing and still says why.
        sim.clear_requests();
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], false, "{version}");
        assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1));
        assert_eq!(sim.api_calls(), ["GET /access/roles"], "{version}");
    }
}

#[test]
fn builtin_roles_are_never_changed() {
    let sim = Sim::start("9.1");
    // Deleting one is refused before any request.
    sim.clear_requests();
    let r = fail(&sim, json!({"roleid": "PVEVMUser", "state": "absent"}));
    assert!(
        msg(&r)
            .starts_with("role 'PVEVMUser' is built in (PVE generates it) and cannot be deleted"),
        "{}",
        r["msg"]
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());

    // Reading it, or stating exactly its privileges, is fine.
    let r = ok(&sim, json!({"roleid": "PVEAuditor"}));
    assert_eq!(r["changed"], false);
    assert_eq!(r["role"]["special"], true);
    let privs = r["role"]["privs"].clone();
    assert!(privs.as_array().is_some_and(|a| a.len() == 7), "{privs}");
    let r = ok(&sim, json!({"roleid": "PVEAuditor", "privs": privs}));
    assert_eq!(r["changed"], false);

    // Changing it is refused, without a write.
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"roleid": "PVEAuditor", "privs": ["VM.Console"], "append": true}),
    );
    assert!(
        msg(&r).contains("cannot be changed: create a custom role"),
        "{}",
        r["msg"]
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
}

#[test]
fn pve_prefix_is_reserved_for_new_roles() {
    let sim = Sim::builder("9.1")
        .user_cfg("user:root@pam:1:0:::root@localhost:::\n\nrole:PVEOldCustom:VM.Audit:\n\n")
        .start();
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"roleid": "pveMonitoring", "privs": ["VM.Audit"]}),
    );
    assert!(
        msg(&r).starts_with("cannot create role 'pveMonitoring': role ids starting with 'PVE'"),
        "{}",
        r["msg"]
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    // A custom role of an older release with such a name is still managed.
    let r = ok(
        &sim,
        json!({"roleid": "PVEOldCustom", "privs": ["VM.Audit", "Sys.Audit"]}),
    );
    assert_eq!(r["changed"], true);
    let r = ok(&sim, json!({"roleid": "PVEOldCustom", "state": "absent"}));
    assert_eq!(r["changed"], true);
}

#[test]
fn invalid_role_id_fails_before_any_request() {
    let sim = Sim::start("9.1");
    sim.clear_requests();
    let r = fail(&sim, json!({"roleid": "my role"}));
    assert!(
        msg(&r).contains("role name 'my role' contains invalid characters"),
        "{}",
        r["msg"]
    );
    assert!(sim.requests().is_empty());
}

#[test]
fn permission_denied_shows_pves_words() {
    // A token (privsep off) whose owner may only audit.
    let sim = Sim::builder("9.1")
        .user_cfg(
            "user:root@pam:1:0:::root@localhost:::\nuser:auditor@pve:1:0::::::\ntoken:auditor@pve!ro:0:0::\n\nacl:1:/:auditor@pve:PVEAuditor:\n",
        )
        .token_cfg(&format!("auditor@pve!ro {SECRET}\n"))
        .start();
    let token = |args: Value| with_api_token(args, &format!("auditor@pve!ro={SECRET}"));
    let r = fail(&sim, token(json!({"roleid": "ops", "privs": ["VM.Audit"]})));
    let msg = msg(&r);
    assert!(
        msg.contains("POST /access/roles: 403 Permission check failed (/access, Sys.Modify)"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET));
    assert_eq!(r["status"], 403);
    // Reading is allowed to everyone.
    let r = ok(&sim, token(json!({"roleid": "PVEAuditor"})));
    assert_eq!(r["role"]["special"], true);
}

#[test]
fn transient_lock_timeouts_are_retried() {
    let sim = Sim::builder("9.1")
        .fault(json!({"method": "POST", "path": "/access/roles", "status": 500,
                      "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}))
        .start();
    let r = ok(&sim, json!({"roleid": "ops", "privs": ["VM.Audit"]}));
    assert_eq!(r["changed"], true);
    let posts = sim.count_calls("POST /access/roles");
    assert_eq!(posts, 3, "{:?}", sim.api_calls());
    assert_eq!(server_role(&sim, "ops")["privs"], json!(["VM.Audit"]));
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let sim = Sim::builder("9.1")
        .fault(json!({"method": "POST", "path": "/access/roles", "drop": "after", "times": 1}))
        .fault(json!({"method": "PUT", "path": "/access/roles/*", "drop": "after", "times": 1}))
        .fault(json!({"method": "DELETE", "path": "/access/roles/*", "drop": "after", "times": 1}))
        .start();
    for (task, method) in [
        (json!({"roleid": "ops", "privs": ["VM.Audit"]}), "POST"),
        (
            json!({"roleid": "ops", "privs": ["Sys.Audit"], "append": true}),
            "PUT",
        ),
        (json!({"roleid": "ops", "state": "absent"}), "DELETE"),
    ] {
        sim.clear_requests();
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], true, "{task}");
        let calls = sim.api_calls();
        let sent = calls.iter().filter(|c| c.starts_with(method)).count();
        assert_eq!(sent, 1, "{task}: the write was re-sent: {calls:?}");
        assert_eq!(
            calls.last().map(String::as_str),
            Some("GET /access/roles/ops"),
            "{task}: settled by reading the role back"
        );
    }
    assert_eq!(server_role(&sim, "ops"), json!({}));
}
