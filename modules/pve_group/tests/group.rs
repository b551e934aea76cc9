//! pve_group against pve-sim (PVE 9.1 and 8.4): the module binary run the
//! way Ansible runs it, the request log checked for what it sent.

use pve_test_support::{module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

const SECRET: &str = "5bd1c3e2-7a40-4c1b-9d0e-1f2a3b4c5d6e";

/// root@pam; alice (in dev), bob, and an auditor with a token `ro` that is
/// a member of `audit`.
const SEED: &str = "user:root@pam:1:0:::root@localhost:::\nuser:alice@pve:1:0::::::\nuser:auditor@pve:1:0::::::\ntoken:auditor@pve!ro:0:0::\nuser:bob@pve:1:0::::::\n\ngroup:audit:auditor@pve::\ngroup:dev:alice@pve::\n\nacl:1:/:@audit:PVEAuditor:\n";

module_under_test!("pve_group");

fn seeded(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(SEED)
        .token_cfg(&format!("auditor@pve!ro {SECRET}\n"))
        .start()
}

/// The group as the server saved it (its user.cfg), `{}` when missing.
fn server_group(sim: &Sim, groupid: &str) -> Value {
    sim.state().group(groupid).unwrap_or_else(|| json!({}))
}

fn with_token(args: Value) -> Value {
    with_api_token(args, &format!("auditor@pve!ro={SECRET}"))
}

fn lifecycle(version: &str) {
    let sim = seeded(version);

    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"groupid": "ops", "comment": "operators", "members": ["bob@pve", "alice@pve"]}),
    );
    assert_eq!(r["changed"], true);
    let want =
        json!({"groupid": "ops", "comment": "operators", "members": ["alice@pve", "bob@pve"]});
    assert_eq!(r["group"], want);
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/groups/ops",
            "GET /access/users",
            "POST /access/groups",
            "PUT /access/users/alice@pve",
            "PUT /access/users/bob@pve"
        ]
    );
    assert_eq!(server_group(&sim, "ops"), want);
    // alice kept her other group.
    assert_eq!(server_group(&sim, "dev")["members"], json!(["alice@pve"]));

    // Second run: one GET.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"groupid": "ops", "comment": "operators", "members": ["alice@pve", "bob@pve"]}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/groups/ops"]);

    // Comment alone; members left alone.
    let r = ok(&sim, json!({"name": "ops", "comment": ""}));
    assert_eq!(r["changed"], true);
    assert_eq!(r["group"]["comment"], json!(null));
    assert_eq!(
        server_group(&sim, "ops")["members"],
        json!(["alice@pve", "bob@pve"])
    );

    // Replace: alice leaves ops but stays in dev.
    let r = ok(&sim, json!({"group": "ops", "members": ["bob@pve"]}));
    assert_eq!(r["msg"], "group 'ops' updated: members (removed alice@pve)");
    assert_eq!(server_group(&sim, "ops")["members"], json!(["bob@pve"]));
    assert_eq!(server_group(&sim, "dev")["members"], json!(["alice@pve"]));
    // Append.
    let r = ok(
        &sim,
        json!({"groupid": "ops", "members": ["alice@pve"], "append": true}),
    );
    assert_eq!(r["group"]["members"], json!(["alice@pve", "bob@pve"]));
    assert_eq!(
        server_group(&sim, "ops")["members"],
        json!(["alice@pve", "bob@pve"])
    );
    // Emptied.
    let r = ok(&sim, json!({"groupid": "ops", "members": []}));
    assert_eq!(r["group"]["members"], json!([]));
    assert_eq!(server_group(&sim, "ops")["members"], json!([]));
    assert_eq!(server_group(&sim, "dev")["members"], json!(["alice@pve"]));

    // Absent, twice.
    sim.clear_requests();
    let r = ok(&sim, json!({"groupid": "ops", "state": "absent"}));
    assert_eq!(r["changed"], true);
    assert_eq!(
        sim.api_calls(),
        ["GET /access/groups/ops", "DELETE /access/groups/ops"]
    );
    sim.clear_requests();
    let r = ok(&sim, json!({"groupid": "ops", "state": "absent"}));
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/groups/ops"]);
}

on_each_version!(lifecycle);

#[test]
fn check_mode_predicts_the_real_run() {
    let sim = seeded("9.1");
    let steps = [
        json!({"groupid": "ops", "members": ["alice@pve"]}),
        json!({"groupid": "ops", "members": ["alice@pve"]}),
        json!({"groupid": "ops", "members": ["bob@pve"], "append": true, "comment": "c"}),
        json!({"groupid": "ops", "members": ["bob@pve"]}),
        json!({"groupid": "ops", "state": "absent"}),
    ];
    for step in steps {
        module().check_then_run(&sim, &step, &["group"], |s| s.group("ops"));
    }
}

#[test]
fn validation_failures_write_nothing() {
    let sim = seeded("8.4");
    for (task, want) in [
        (
            json!({"groupid": "bad group"}),
            "contains invalid characters",
        ),
        (
            json!({"groupid": "ops", "members": ["alice"]}),
            "does not look like a valid user name",
        ),
        (
            json!({"groupid": "ops", "members": ["alice@pve", "ghost@pve"]}),
            "user 'ghost@pve' does not exist",
        ),
    ] {
        sim.clear_requests();
        let r = fail(&sim, task.clone());
        assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
    }
    assert_eq!(server_group(&sim, "ops"), json!({}));
}

#[test]
fn own_membership_is_protected() {
    let sim = seeded("9.1");
    // The auditor's token: refused before any write (it could not write anyway).
    for task in [
        json!({"groupid": "audit", "state": "absent"}),
        json!({"groupid": "audit", "members": ["bob@pve"]}),
    ] {
        sim.clear_requests();
        let r = fail(&sim, with_token(task.clone()));
        assert!(msg(&r).starts_with("refusing to"), "{task}: {}", msg(&r));
        assert!(msg(&r).contains("allow_self_lockout: true"), "{}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new());
    }
}

#[test]
fn permission_denied_shows_pves_words() {
    let sim = seeded("9.1");
    let r = fail(&sim, with_token(json!({"groupid": "ops"})));
    let m = msg(&r);
    assert!(
        m.contains(
            "POST /access/groups: 403 Permission check failed (/access/groups, Group.Allocate)"
        ),
        "{m}"
    );
    assert!(!m.contains(SECRET));
    assert_eq!(r["status"], 403);
}

#[test]
fn transient_lock_timeouts_are_retried() {
    let sim = Sim::builder("9.1")
        .user_cfg(SEED)
        .fault(json!({"method": "PUT", "path": "/access/users/*", "status": 500,
                      "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}))
        .start();
    let r = ok(
        &sim,
        json!({"groupid": "dev", "members": ["bob@pve"], "append": true}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(sim.count_calls("PUT"), 3, "{:?}", sim.api_calls());
    assert_eq!(
        server_group(&sim, "dev")["members"],
        json!(["alice@pve", "bob@pve"])
    );
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let sim = Sim::builder("9.1")
        .user_cfg(SEED)
        .fault(json!({"method": "POST", "path": "/access/groups", "drop": "after", "times": 1}))
        .fault(json!({"method": "PUT", "path": "/access/users/*", "drop": "after", "times": 2}))
        .fault(json!({"method": "DELETE", "path": "/access/groups/*", "drop": "after", "times": 1}))
        .start();
    for (task, write) in [
        (
            json!({"groupid": "ops", "members": ["bob@pve"]}),
            "POST /access/groups",
        ),
        (
            json!({"groupid": "ops", "members": ["alice@pve"]}),
            "PUT /access/users/alice@pve",
        ),
        (
            json!({"groupid": "ops", "state": "absent"}),
            "DELETE /access/groups/ops",
        ),
    ] {
        sim.clear_requests();
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], true, "{task}");
        let calls = sim.api_calls();
        assert_eq!(
            calls.iter().filter(|c| *c == write).count(),
            1,
            "{task}: {calls:?}"
        );
    }
    assert_eq!(server_group(&sim, "ops"), json!({}));
    assert_eq!(server_group(&sim, "dev")["members"], json!(["alice@pve"]));
}

fn check_mode_on_an_empty_server(version: &str) {
    let empty = Sim::start(version);
    let ready = Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\nuser:alice@pve:1:0::::::\n")
        .start();
    let args = json!({"groupid": "ops", "comment": "operators", "members": ["alice@pve"]});
    let (predicted, refused, _) = module().assumes_then_refuses(
        &empty,
        Some(&ready),
        &args,
        &["user 'alice@pve'"],
        &["group"],
    );
    assert_eq!(
        predicted["msg"],
        "group 'ops' would be created with members alice@pve"
    );
    assert_eq!(
        msg(&refused),
        "group 'ops' not changed: user 'alice@pve' does not exist (or is not visible to this login); create it first, e.g. with pve.access.pve_user"
    );
    assert!(ready.user_cfg_has("group:ops:alice@pve:operators:"));
}

on_each_version!(check_mode_on_an_empty_server);
