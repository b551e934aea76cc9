//! pve_acl against pve-sim (PVE 9.1 and 8.4): the module binary run the way
//! Ansible runs it, the request log checked for what it sent.

use pve_test_support::{
    diff_view, module_under_test, msg, on_each_version, pve_file_bytes, with_api_token, Sim,
    UserCfg,
};
use serde_json::{json, Value};

const SECRET: &str = "5bd1c3e2-7a40-4c1b-9d0e-1f2a3b4c5d6e";

/// Users, groups, a custom role and a token to grant to.
const USER_CFG: &str = "user:root@pam:1:0:::root@localhost:::\n\
user:joe@pve:1:0::::::\n\
user:ann@pve:1:0::::::\n\
user:ci@pve:1:0::::::\n\
token:ci@pve!deploy:0:1::\n\
\n\
group:ops:joe@pve::\n\
group:auditors:ann@pve::\n\
\n\
role:Deploy:VM.Audit,VM.PowerMgmt:\n\
\n";

module_under_test!("pve_acl");

fn sim(version: &str) -> Sim {
    Sim::builder(version).user_cfg(USER_CFG).start()
}

/// Every ACL entry of the seeded principals, on any path, as the server
/// saved them (its user.cfg), in a fixed order (see [`sorted`]).
fn server_acl(sim: &Sim) -> Value {
    let seeded = ["joe@pve", "ann@pve", "ops", "auditors", "ci@pve!deploy"];
    sorted(&saved_acl(&sim.state(), &seeded, &[]))
}

/// The entries the server saved (its user.cfg) of these principals (user,
/// group or token ids), on these paths (any path when none): what the
/// module reports as `acl` for a task that names them.
fn saved_acl(state: &UserCfg, principals: &[&str], paths: &[&str]) -> Value {
    let named =
        |e: &Value, key: &str, names: &[&str]| names.contains(&e[key].as_str().unwrap_or_default());
    state
        .acl()
        .into_iter()
        .filter(|e| named(e, "ugid", principals) && (paths.is_empty() || named(e, "path", paths)))
        .collect()
}

/// ACL entries in a fixed order, to compare lists from different sources.
fn sorted(entries: &Value) -> Value {
    let mut list = entries.as_array().cloned().unwrap_or_default();
    list.sort_by_key(|e| e.to_string());
    Value::from(list)
}

fn e(path: &str, kind: &str, ugid: &str, role: &str, propagate: bool) -> Value {
    json!({"path": path, "type": kind, "ugid": ugid, "roleid": role, "propagate": propagate})
}

fn lifecycle(version: &str) {
    let sim = sim(version);
    let task = json!({"path": "/vms/100/", "roles": ["PVEVMUser", "Deploy"],
        "users": ["joe@pve"], "groups": ["ops"], "tokens": ["ci@pve!deploy"]});

    // Create: one GET of the ACL, the lists to check names, one PUT.
    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "added 6, changed 0 and removed 0 ACL entries");
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/acl",
            "GET /access/roles",
            "GET /access/users",
            "GET /access/groups",
            "PUT /access/acl"
        ]
    );
    assert_eq!(r["acl"].as_array().map(Vec::len), Some(6));
    assert_eq!(r["changes"].as_array().map(Vec::len), Some(6));
    assert!(r["acl"].as_array().is_some_and(|a| a.contains(&e(
        "/vms/100",
        "token",
        "ci@pve!deploy",
        "Deploy",
        true
    ))));
    assert_eq!(server_acl(&sim), sorted(&r["acl"]));

    // Second run, other order and spelling: exactly one GET.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "vms//100", "roleid": "Deploy,PVEVMUser",
            "users": ["joe@pve"], "groups": ["ops"], "tokens": ["ci@pve!deploy"]}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(r["msg"], "ACL entries unchanged");
    assert_eq!(r["changes"], json!([]));
    assert_eq!(sim.api_calls(), ["GET /access/acl"]);

    // Update: propagate off for the group only.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/vms/100", "role": ["PVEVMUser", "Deploy"], "groups": ["ops"], "propagate": false}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "added 0, changed 2 and removed 0 ACL entries");
    assert_eq!(sim.writes(), ["PUT /access/acl"]);
    assert_eq!(
        r["acl"],
        json!([
            e("/vms/100", "group", "ops", "Deploy", false),
            e("/vms/100", "group", "ops", "PVEVMUser", false)
        ])
    );

    // Absent: one role of two principals, one request.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/vms/100", "roles": ["Deploy"], "users": ["joe@pve"], "tokens": ["ci@pve!deploy"], "state": "absent"}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "added 0, changed 0 and removed 2 ACL entries");
    assert_eq!(sim.writes(), ["PUT /access/acl"]);
    let left = server_acl(&sim);
    assert_eq!(left.as_array().map(Vec::len), Some(4), "{left}");
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/vms/100", "roles": ["Deploy"], "users": ["joe@pve"], "state": "absent"}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/acl"]);
}

on_each_version!(lifecycle);

#[test]
fn many_entries_one_get_fewest_puts() {
    let sim = sim("9.1");
    let task = json!({"entries": [
        {"path": "/vms/100", "roles": ["PVEVMUser"], "groups": ["ops"]},
        {"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["ann@pve"]},
        {"path": "/vms/101", "roles": ["PVEVMUser"], "groups": ["ops"]},
        {"path": "/storage/local", "roleid": ["PVEDatastoreUser"], "groups": ["ops"], "propagate": false},
        {"path": "/", "role": "PVEAuditor", "groups": ["auditors"], "tokens": ["ci@pve!deploy"]},
    ]});
    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "added 6, changed 0 and removed 0 ACL entries");
    assert_eq!(sim.writes(), vec!["PUT /access/acl"; 4], "one per path");
    let reads = sim.api_calls();
    assert_eq!(
        reads.iter().filter(|c| *c == "GET /access/acl").count(),
        1,
        "{reads:?}"
    );
    sim.clear_requests();
    let r = ok(&sim, task);
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/acl"]);
}

#[test]
fn exclusive_touches_only_named_principals() {
    let sim = Sim::builder("9.1")
        .user_cfg(&format!(
            "{USER_CFG}acl:1:/:@auditors,joe@pve:PVEAuditor:\nacl:1:/vms/100:@auditors:PVEVMAdmin:\nacl:0:/storage/local:@auditors:PVEDatastoreUser:\n"
        ))
        .start();
    let task = json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["auditors"]}],
        "exclusive": true, "_ansible_diff": true});
    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "added 0, changed 0 and removed 2 ACL entries");
    assert_eq!(sim.writes(), ["PUT /access/acl", "PUT /access/acl"]);
    assert_eq!(
        r["acl"],
        json!([e("/", "group", "auditors", "PVEAuditor", true)])
    );
    assert_eq!(
        diff_view(&r, "before")["acl"].as_array().map(Vec::len),
        Some(3)
    );
    // joe@pve, not named, keeps his entry.
    assert_eq!(
        server_acl(&sim),
        sorted(&json!([
            e("/", "user", "joe@pve", "PVEAuditor", true),
            e("/", "group", "auditors", "PVEAuditor", true)
        ]))
    );
    sim.clear_requests();
    assert_eq!(ok(&sim, task)["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/acl"]);
}

#[test]
fn check_mode_predicts_the_real_run() {
    let sim = sim("9.1");
    // Each task, with the principals and paths it names (exclusive: any path).
    let steps = [
        (
            json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "groups": ["ops"]}),
            ["joe@pve", "ops"],
            &["/"][..],
        ),
        (
            json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "groups": ["ops"]}),
            ["joe@pve", "ops"],
            &["/"],
        ),
        (
            json!({"path": "/", "roles": ["PVEAuditor"], "groups": ["ops"], "propagate": false}),
            ["ops", "ops"],
            &["/"],
        ),
        (
            json!({"entries": [{"path": "/vms/100", "roles": ["Deploy"], "groups": ["ops"]}], "exclusive": true}),
            ["ops", "ops"],
            &[],
        ),
        (
            json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "state": "absent"}),
            ["joe@pve", "joe@pve"],
            &["/"],
        ),
    ];
    for (step, principals, paths) in steps {
        module().check_then_run(&sim, &step, &["acl", "changes"], |s| {
            Some(saved_acl(s, &principals, paths))
        });
    }
}

#[test]
fn diff_mode() {
    let sim = sim("9.1");
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "_ansible_diff": true}),
    );
    assert_eq!(
        json!({"before": diff_view(&r, "before"), "after": diff_view(&r, "after")}),
        json!({"before": {"acl": []}, "after": {"acl": [e("/", "user", "joe@pve", "PVEAuditor", true)]}})
    );
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "state": "absent", "_ansible_diff": true}),
    );
    assert_eq!(
        json!({"before": diff_view(&r, "before"), "after": diff_view(&r, "after")}),
        json!({"before": {"acl": [e("/", "user", "joe@pve", "PVEAuditor", true)]}, "after": {"acl": []}})
    );
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "state": "absent"}),
    );
    assert!(r.get("diff").is_none());
}

#[test]
fn validation_failures_write_nothing() {
    let sim = sim("8.4");
    let bad_names = json!({"path": "/", "roles": ["PVEAuditor", "Nope"], "users": ["joe@pve", "ghost@pve"],
        "groups": ["nogroup"], "tokens": ["ci@pve!gone"]});
    for (task, want) in [
        (
            json!({"path": "/users", "roles": ["PVEAuditor"], "users": ["joe@pve"]}),
            "invalid ACL path '/users'",
        ),
        (
            json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"]},
                {"path": "/vms/99", "roles": ["PVEAuditor"], "users": ["joe@pve"]}]}),
            "entries[1]: invalid ACL path '/vms/99'",
        ),
        (
            json!({"path": "/", "roles": ["PVENope"], "users": ["joe@pve"]}),
            "ACL not changed: role 'PVENope' does not exist",
        ),
        (
            json!({"path": "/sdn/fabrics/f1", "roles": ["PVEAuditor"], "users": ["joe@pve"]}),
            "this server runs PVE 8.4",
        ),
        (
            json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"], "entries": []}),
            "mutually exclusive",
        ),
        (
            json!({"entries": [{"path": "/", "users": ["joe@pve"]}]}),
            "missing required arguments: roles found in entries",
        ),
    ] {
        for check_mode in [false, true] {
            sim.clear_requests();
            let mut args = task.clone();
            args["_ansible_check_mode"] = json!(check_mode);
            let r = fail(&sim, args);
            let msg = msg(&r);
            assert!(msg.contains(want), "{task}: {msg}");
            assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
        }
    }
    // Names that do not exist: refused by a real run (check mode assumes an
    // earlier task creates them: check_mode_on_an_empty_server).
    sim.clear_requests();
    let r = fail(&sim, bad_names);
    let msg = msg(&r);
    for name in [
        "role 'Nope'",
        "user 'ghost@pve'",
        "group 'nogroup'",
        "token 'ci@pve!gone'",
    ] {
        assert!(msg.contains(name), "{msg}");
    }
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert_eq!(server_acl(&sim), json!([]));
}

#[test]
fn newer_paths_are_accepted_by_newer_servers() {
    let sim = sim("9.1");
    let r = ok(
        &sim,
        json!({"path": "/sdn/fabrics/f1", "roles": ["PVEAuditor"], "users": ["joe@pve"]}),
    );
    assert_eq!(r["changed"], true);
}

/// A server seeded with [`USER_CFG`] and then `extra` (user.cfg lines),
/// where `token` (defined there) has the secret [`SECRET`].
fn seeded_with_token(version: &str, extra: &str, token: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(&format!("{USER_CFG}{extra}"))
        .token_cfg(&format!("{token} {SECRET}\n"))
        .start()
}

/// Arguments that log in with a token instead of root's password.
fn as_token(args: Value, token: &str) -> Value {
    with_api_token(args, &format!("{token}={SECRET}"))
}

#[test]
fn permission_denied_shows_pves_words() {
    let sim = seeded_with_token(
        "9.1",
        "token:ann@pve!ro:0:0::\nacl:1:/:ann@pve:PVEAuditor:\n",
        "ann@pve!ro",
    );
    sim.clear_requests();
    let r = fail(
        &sim,
        as_token(
            json!({"path": "/vms/100", "roles": ["PVEVMUser"], "groups": ["ops"]}),
            "ann@pve!ro",
        ),
    );
    let msg = msg(&r);
    assert!(
        msg.contains("PUT /access/acl: 403 Permission check failed (/vms/100, Permissions.Modify"),
        "{msg}"
    );
    assert!(
        msg.contains(". changing ACL entries on '/vms/100' needs Permissions.Modify there"),
        "{msg}"
    );
    assert!(msg.contains("Nothing was changed"), "{msg}");
    assert!(!msg.contains(SECRET));
    assert_eq!(r["status"], 403);
    assert_eq!(r["changed"], false);
}

#[test]
fn a_delegating_login_names_users_it_cannot_list() {
    // dele@pve may change permissions under /vms only: PVE shows it no
    // other user, group or token in the lists.
    let sim = seeded_with_token(
        "8.4",
        "user:dele@pve:1:0::::::\ntoken:dele@pve!ci:0:0::\nrole:Delegate:Permissions.Modify,VM.Audit:\nacl:1:/vms:dele@pve:Delegate:\n",
        "dele@pve!ci",
    );
    let task = json!({"path": "/vms/100", "roles": ["PVEVMUser"],
        "users": ["joe@pve"], "groups": ["ops"], "tokens": ["ci@pve!deploy"]});
    let r = ok(&sim, as_token(task.clone(), "dele@pve!ci"));
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(sim.writes(), ["PUT /access/acl"]);
    assert_eq!(ok(&sim, as_token(task, "dele@pve!ci"))["changed"], false);

    // A user that really does not exist is still caught before any write.
    sim.clear_requests();
    let r = fail(
        &sim,
        as_token(
            json!({"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["ghost@pve"]}),
            "dele@pve!ci",
        ),
    );
    let msg = msg(&r);
    assert!(msg.contains("user 'ghost@pve' does not exist"), "{msg}");
    assert_eq!(sim.writes(), Vec::<String>::new());
}

#[test]
fn self_lockout_is_refused() {
    let sim = seeded_with_token(
        "9.1",
        "user:admin@pve:1:0::::::\ntoken:admin@pve!ci:0:1::\nacl:1:/:admin@pve:Administrator:\nacl:1:/:admin@pve!ci:Administrator:\n",
        "admin@pve!ci",
    );
    // The token may not remove its own entry, nor its owner's.
    for task in [
        json!({"path": "/", "roles": ["Administrator"], "tokens": ["admin@pve!ci"], "state": "absent"}),
        json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "state": "absent"}),
        json!({"entries": [{"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["admin@pve"]}], "exclusive": true}),
    ] {
        sim.clear_requests();
        let r = fail(&sim, as_token(task.clone(), "admin@pve!ci"));
        let msg = msg(&r);
        assert!(msg.starts_with("refusing to remove"), "{task}: {msg}");
        assert!(msg.contains("allow_self_lockout: true"), "{msg}");
        assert_eq!(sim.writes(), Vec::<String>::new());
    }
    // Someone else's entry is fine; and with allow_self_lockout, its own.
    let r = ok(
        &sim,
        as_token(
            json!({"path": "/", "roles": ["PVEAuditor"], "users": ["joe@pve"]}),
            "admin@pve!ci",
        ),
    );
    assert_eq!(r["changed"], true);
    let r = ok(
        &sim,
        as_token(
            json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "state": "absent", "allow_self_lockout": true}),
            "admin@pve!ci",
        ),
    );
    assert_eq!(r["changed"], true);
}

#[test]
fn transient_lock_timeouts_are_retried() {
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .fault(r#"{"method":"PUT","path":"/access/acl","status":500,"reason":"cfs-lock 'file-user_cfg' error: got lock request timeout","times":2}"#)
        .start();
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["PVEAuditor"], "groups": ["ops"]}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(sim.writes(), vec!["PUT /access/acl"; 3]);
    assert_eq!(
        server_acl(&sim),
        json!([e("/", "group", "ops", "PVEAuditor", true)])
    );
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .fault(json!({"method": "PUT", "path": "/access/acl", "drop": "after", "times": 1}))
        .start();
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["PVEAuditor"], "groups": ["ops"]}),
    );
    assert_eq!(r["changed"], true);
    let calls = sim.api_calls();
    assert_eq!(
        sim.writes(),
        ["PUT /access/acl"],
        "the write was re-sent: {calls:?}"
    );
    assert_eq!(
        calls.last().map(String::as_str),
        Some("GET /access/acl"),
        "{calls:?}"
    );
    assert_eq!(
        server_acl(&sim),
        json!([e("/", "group", "ops", "PVEAuditor", true)])
    );
}

#[test]
fn a_failure_half_way_reports_what_was_done() {
    let sim = seeded_with_token(
        "9.1",
        "token:ann@pve!ro:0:0::\nacl:1:/:ann@pve:PVEAuditor:\nacl:1:/vms/100:ann@pve:Administrator:\n",
        "ann@pve!ro",
    );
    // A failure after a write: not `fail()`, which expects no change.
    let run = module().run(
        &sim,
        as_token(
            json!({"entries": [
                {"path": "/vms/100", "roles": ["PVEVMUser"], "groups": ["ops"]},
                {"path": "/vms/101", "roles": ["PVEVMUser"], "groups": ["ops"]}]}),
            "ann@pve!ro",
        ),
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let r = run.json;
    assert_eq!(r["failed"], true);
    let msg = msg(&r);
    assert!(
        msg.starts_with("PUT /access/acl: 403 Permission check failed (/vms/101, "),
        "{msg}"
    );
    assert!(
        msg.contains("Done before it: grant PVEVMUser on '/vms/100' for group 'ops'. Not done: grant PVEVMUser on '/vms/101' for group 'ops'"),
        "{msg}"
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["status"], 403);
    // The first request stayed applied, the second did not happen.
    let ops: Vec<Value> = server_acl(&sim)
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["ugid"] == "ops")
        .cloned()
        .collect();
    assert_eq!(ops, [e("/vms/100", "group", "ops", "PVEVMUser", true)]);
}

/// The role, user, group and token the empty-server tests reference.
const READY_CFG: &str = "user:root@pam:1:0:::root@localhost:::\n\
user:terraform@pve:1:0::::::\n\
token:terraform@pve!tf:0:1::\n\
\n\
group:ops:::\n\
\n\
role:TerraformRole:VM.Audit:\n\
\n";

fn check_mode_on_an_empty_server(version: &str) {
    let empty = Sim::start(version);
    let ready = Sim::builder(version).user_cfg(READY_CFG).start();
    let args = json!({"path": "/", "roles": ["TerraformRole"], "users": ["terraform@pve"],
        "groups": ["ops"], "tokens": ["terraform@pve!tf"]});
    let (predicted, refused, done) = module().assumes_then_refuses(
        &empty,
        Some(&ready),
        &args,
        &[
            "role 'TerraformRole'",
            "user 'terraform@pve'",
            "group 'ops'",
            "token 'terraform@pve!tf'",
        ],
        &["acl", "changes"],
    );
    assert_eq!(
        predicted["msg"],
        "would add 3, change 0 and remove 0 ACL entries"
    );
    assert_eq!(
        refused["msg"],
        "ACL not changed: role 'TerraformRole' does not exist (create it first, e.g. with pve.access.pve_role); user 'terraform@pve' does not exist (create it first, e.g. with pve.access.pve_user, or fix the name); group 'ops' does not exist (create it first, e.g. with pve.access.pve_group, or fix the name); token 'terraform@pve!tf' does not exist (create it first, e.g. with pve.access.pve_token, or fix the name). Nothing was written"
    );
    assert_eq!(done["changed"], true);
    assert!(ready.user_cfg_has("acl:1:/:@ops,terraform@pve,terraform@pve!tf:TerraformRole:"));
    // Built-in roles and their reserved prefix are known without the
    // server's list: no earlier task can create a missing one.
    let f = fail(
        &empty,
        json!({"path": "/", "roles": ["PVEMine"], "users": ["root@pam", "terraform@pve"],
            "_ansible_check_mode": true}),
    );
    assert!(
        f["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("ACL not changed: role 'PVEMine' does not exist")),
        "{f}"
    );
}

on_each_version!(check_mode_on_an_empty_server);

#[test]
fn a_root_pam_only_task_still_checks_its_roles() {
    let sim = sim("9.1");
    let task = json!({"path": "/", "roles": ["Deploy", "Deplyo"], "users": ["root@pam"]});
    let f = fail(&sim, task.clone());
    assert_eq!(
        f["msg"],
        "ACL not changed: role 'Deplyo' does not exist (create it first, e.g. with pve.access.pve_role). Nothing was written"
    );
    let mut check = task;
    check["_ansible_check_mode"] = json!(true);
    let r = ok(&sim, check);
    assert_eq!(r["changed"], false);
    assert!(
        r["warnings"].as_array().is_some_and(|w| w.contains(&json!(
            "role 'Deplyo' does not exist yet; assuming an earlier task creates it"
        ))),
        "{r}"
    );
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"path": "/", "roles": ["Deploy"], "users": ["root@pam"]}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/acl", "GET /access/roles"]);
}

// ---- non-ASCII user ids ------------------------------------------------------

fn latin1_user(version: &str) {
    let seed = "user:root@pam:1:0:::root@localhost:::\nuser:jürgen@pve:1:0::::::\n";
    let sim = Sim::builder(version).user_cfg(seed).start();
    let acl_lines = || {
        sim.state_lines("user.cfg")
            .into_iter()
            .filter(|l| l.starts_with(b"acl:"))
            .collect::<Vec<_>>()
    };
    let task = json!({"path": "/vms", "roles": ["PVEAuditor"], "users": ["jürgen@pve"]});

    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true, "{r}");
    // PVE keeps it in Latin-1: j\xfcrgen
    assert_eq!(
        acl_lines(),
        [pve_file_bytes("acl:1:/vms:jürgen@pve:PVEAuditor:")]
    );

    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(sim.writes(), Vec::<String>::new());

    let mut gone = task;
    gone["state"] = json!("absent");
    let r = ok(&sim, gone);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(acl_lines(), Vec::<Vec<u8>>::new());
}

on_each_version!(latin1_user);
