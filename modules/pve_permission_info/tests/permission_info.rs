//! pve_permission_info against pve-sim (PVE 9.1 and 8.4): the module binary
//! run the way Ansible runs it, the request log checked for what it asked.

use pve_test_support::http::enc;
use pve_test_support::{module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

const SECRET: &str = "0f6a1b2c-3d4e-4f50-8a9b-0c1d2e3f4a5b";

/// joe (group ops: PVEVMUser on /vms; PVEDatastoreUser on /storage/local),
/// his tokens `ci` (privsep, PVEVMUser on /vms/100 only) and `full` (no
/// privsep), vmadmin (PVEVMAdmin on /vms) and auditor (PVEAuditor on /).
const USER_CFG: &str = "\
user:root@pam:1:0:::root@localhost:::
user:auditor@pve:1:0::::::
user:joe@pve:1:0::::::
token:joe@pve!ci:0:1::
token:joe@pve!full:0:0::
user:vmadmin@pve:1:0::::::

group:ops:joe@pve::

acl:1:/:auditor@pve:PVEAuditor:
acl:1:/storage/local:joe@pve:PVEDatastoreUser:
acl:1:/vms:@ops:PVEVMUser:
acl:1:/vms:vmadmin@pve:PVEVMAdmin:
acl:1:/vms/100:joe@pve!ci:PVEVMUser:
";

fn sim(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(USER_CFG)
        .token_cfg(&format!("joe@pve!full {SECRET}\n"))
        .start()
}

module_under_test!("pve_permission_info");

/// Runs the module, which must succeed without a change; its result.
fn read(sim: &Sim, args: Value) -> Value {
    let result = ok(sim, args);
    assert_eq!(result["changed"], false);
    result
}

/// What the server answers itself for `authid` (a user or token) on
/// `path` (`GET /access/permissions`, not through the module), in the
/// shape the module returns: `{path: {privilege: propagates}}`.
fn server_permissions(sim: &Sim, authid: &str, path: &str) -> Value {
    let answer = sim.get(&format!(
        "/access/permissions?userid={}&path={}",
        enc(authid),
        enc(path)
    ));
    let mut permissions = answer.clone();
    for privs in permissions
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        for propagate in privs
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            *propagate = Value::Bool(*propagate == 1);
        }
    }
    permissions
}

fn as_token(args: Value) -> Value {
    with_api_token(args, &format!("joe@pve!full={SECRET}"))
}

fn privs_at(v: &Value, path: &str) -> Vec<String> {
    let mut names: Vec<String> = v["permissions"][path]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn own_permissions_without_an_id() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = read(&sim, json!({}));
    assert_eq!(sim.api_calls(), ["GET /access/permissions"]);
    assert_eq!(privs_at(&r, "/").len(), 47, "root holds every privilege");
    assert_eq!(r["permissions"]["/"]["Sys.Modify"], true);
    assert!(r.get("missing").is_none());
    assert!(
        msg(&r).starts_with("permissions of user 'root@pam' (this login) on "),
        "{}",
        msg(&r)
    );

    assert_eq!(
        r["permissions"]["/"],
        server_permissions(&sim, "root@pam", "/")["/"]
    );

    // A token asks for itself.
    let r = read(&sim, as_token(json!({"path": "/vms/100"})));
    assert_eq!(
        msg(&r),
        "permissions of token 'joe@pve!full' (this login) on 1 path"
    );
    assert!(privs_at(&r, "/vms/100").contains(&"VM.Console".to_string()));
}

#[test]
fn one_path_of_a_user() {
    for (version, count) in [("9.1", 10), ("8.4", 6)] {
        let sim = sim(version);
        sim.clear_requests();
        let r = read(&sim, json!({"userid": "joe@pve", "path": "vms/100/"}));
        assert_eq!(sim.api_calls(), ["GET /access/permissions"], "{version}");
        let keys: Vec<&String> = r["permissions"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["/vms/100"], "{version}: normalised path");
        assert_eq!(
            privs_at(&r, "/vms/100").len(),
            count,
            "{version}: PVEVMUser"
        );
        assert_eq!(r["permissions"]["/vms/100"]["VM.Audit"], true);
        assert_eq!(
            r["permissions"],
            server_permissions(&sim, "joe@pve", "/vms/100"),
            "{version}"
        );
    }
}

#[test]
fn requirements_met() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = read(
        &sim,
        json!({"userid": "joe@pve", "require": {
            "/vms/101": ["VM.Audit", "VM.Console"],
            "/storage/local": "Datastore.AllocateSpace, Datastore.Audit",
        }, "_ansible_check_mode": true}),
    );
    assert_eq!(r["missing"], json!({}));
    assert_eq!(
        msg(&r),
        "user 'joe@pve' holds every required privilege (4 on 2 paths)"
    );
    // Neither path is in PVE's default set: each is asked for on its own.
    assert_eq!(
        sim.api_calls(),
        ["GET /access/permissions", "GET /access/permissions"]
    );
    assert!(privs_at(&r, "/vms/101").contains(&"VM.Console".to_string()));

    // A privilege-separated token: only its own ACL, within its owner's.
    sim.clear_requests();
    let task =
        json!({"tokenid": "joe@pve!ci", "require": {"/vms/100": ["VM.Audit", "VM.Console"]}});
    let r = read(&sim, task);
    assert_eq!(r["missing"], json!({}));
    assert_eq!(sim.api_calls(), ["GET /access/permissions"]);
    let r = fail(
        &sim,
        json!({"tokenid": "joe@pve!ci", "require": {"/vms/101": ["VM.Audit"]}}),
    );
    assert_eq!(r["missing"], json!({"/vms/101": ["VM.Audit"]}));
    assert_eq!(r["permissions"], json!({"/vms/101": {}}));
}

#[test]
fn missing_privileges_fail_and_are_named() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"userid": "joe@pve", "require": {
            "/vms/100": ["VM.Audit", "VM.Allocate", "VM.Migrate"],
            "/storage/local": ["Datastore.Audit", "Datastore.Allocate"],
        }}),
    );
    assert_eq!(
        msg(&r),
        "user 'joe@pve' lacks required privileges: /storage/local: Datastore.Allocate; /vms/100: VM.Allocate, VM.Migrate"
    );
    assert_eq!(
        r["missing"],
        json!({"/storage/local": ["Datastore.Allocate"], "/vms/100": ["VM.Allocate", "VM.Migrate"]})
    );
    assert_eq!(r["permissions"]["/storage/local"]["Datastore.Audit"], true);
    // The privilege names are read to tell typos apart; no version needed.
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/permissions",
            "GET /access/permissions",
            "GET /access/roles/Administrator"
        ]
    );
}

#[test]
fn typos_in_requirements_are_explained() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"userid": "vmadmin@pve", "require": {"/vms/100": ["VM.Config.cpu", "VM.Audit"]}}),
    );
    assert!(
        msg(&r).starts_with("user 'vmadmin@pve' lacks a required privilege: /vms/100: VM.Config.cpu. Some names cannot be held because they are not privileges: unknown privilege 'VM.Config.cpu' (did you mean VM.Config.CPU?): PVE 9.1"),
        "{}",
        msg(&r)
    );
    assert_eq!(
        sim.api_calls().last().map(String::as_str),
        Some("GET /version")
    );
}

#[test]
fn vm_monitor_held_on_pve84_and_explained_on_pve91() {
    let task =
        json!({"userid": "vmadmin@pve", "require": {"/vms/100": ["VM.Monitor", "VM.Audit"]}});
    let sim84 = sim("8.4");
    let r = read(&sim84, task.clone());
    assert_eq!(r["missing"], json!({}));
    let sim91 = sim("9.1");
    let r = fail(&sim91, task);
    assert_eq!(r["missing"], json!({"/vms/100": ["VM.Monitor"]}));
    assert!(
        msg(&r).contains("'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access): PVE 9.1"),
        "{}",
        msg(&r)
    );
}

#[test]
fn paths_pve_always_reports_take_one_query() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = read(
        &sim,
        json!({"userid": "auditor@pve", "require": {
            "/": ["Sys.Audit"], "/vms": ["VM.Audit"], "/storage": ["Datastore.Audit"]}}),
    );
    assert_eq!(sim.api_calls(), ["GET /access/permissions"]);
    let keys: Vec<&String> = r["permissions"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["/", "/storage", "/vms"]);
    // Nothing held on one of them: reported as missing all the same.
    let r = fail(
        &sim,
        json!({"userid": "joe@pve", "require": {"/": ["Sys.Audit"], "/vms": ["VM.Audit"]}}),
    );
    assert_eq!(r["missing"], json!({"/": ["Sys.Audit"]}));
    assert_eq!(r["permissions"]["/"], json!({}));
}

#[test]
fn permission_denied_shows_pves_words() {
    let sim = sim("9.1");
    let r = fail(&sim, as_token(json!({"userid": "auditor@pve"})));
    assert!(
        msg(&r)
            .contains("GET /access/permissions: 403 Permission check failed (/access, Sys.Audit)"),
        "{}",
        msg(&r)
    );
    assert_eq!(r["status"], 403);
    assert!(!msg(&r).contains(SECRET));
}

#[test]
fn unknown_ids_get_a_warning() {
    let sim = sim("9.1");
    let r = read(&sim, json!({"userid": "nobody@pve", "path": "/"}));
    assert_eq!(r["permissions"], json!({"/": {}}));
    let w = r["warnings"][0].as_str().unwrap_or_default();
    assert!(
        w.starts_with("PVE reports no privileges on '/' for 'nobody@pve'"),
        "{w}"
    );
}

#[test]
fn invalid_options_fail_before_any_request() {
    let sim = sim("9.1");
    sim.clear_requests();
    for (args, text) in [
        (
            json!({"path": "/vms/1 00"}),
            "path: invalid ACL path '/vms/1 00'",
        ),
        (
            json!({"tokenid": "ci"}),
            "tokenid: 'ci' is not a full token id",
        ),
        (
            json!({"userid": "joe"}),
            "userid: value 'joe' does not look like a valid user name",
        ),
        (
            json!({"require": {"/": 5}}),
            "require: '/': expected a list of privilege names",
        ),
        (
            json!({"userid": "joe@pve", "tokenid": "joe@pve!ci"}),
            "parameters are mutually exclusive: userid|tokenid",
        ),
    ] {
        let r = fail(&sim, args.clone());
        assert!(msg(&r).contains(text), "{args}: {}", msg(&r));
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn transient_faults_are_retried() {
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .fault(json!({"method": "GET", "path": "/access/permissions", "status": 503, "times": 2}))
        .start();
    let r = read(
        &sim,
        json!({"userid": "joe@pve", "require": {"/vms/100": ["VM.Audit"]}}),
    );
    assert_eq!(r["missing"], json!({}));
    assert_eq!(
        sim.api_calls()
            .iter()
            .filter(|c| c.as_str() == "GET /access/permissions")
            .count(),
        3
    );
}

fn check_mode_on_an_empty_server(version: &str) {
    let empty = Sim::start(version);
    let ready = sim(version);
    for (args, subject) in [
        (
            json!({"tokenid": "joe@pve!full", "require": {"/vms": ["VM.Audit"]}}),
            "token 'joe@pve!full'",
        ),
        (
            json!({"userid": "joe@pve", "require": {"/vms": ["VM.Audit"]}}),
            "user 'joe@pve'",
        ),
    ] {
        let (predicted, refused, _) =
            module().assumes_then_refuses(&empty, Some(&ready), &args, &[subject], &[]);
        assert_eq!(
            msg(&predicted),
            format!("{subject} does not exist yet: its permissions are checked in the real run")
        );
        // The real run reports what PVE answers for an id it does not know:
        // nothing; a required privilege is missing.
        assert!(
            msg(&refused).starts_with(&format!(
                "{subject} lacks a required privilege: /vms: VM.Audit"
            )),
            "{refused}"
        );
    }
    // A subject that exists is checked in check mode as in a real run.
    let mut args = json!({"userid": "auditor@pve", "require": {"/vms": ["VM.Allocate"]},
        "_ansible_check_mode": true});
    let f = fail(&ready, args.clone());
    assert!(
        msg(&f).starts_with("user 'auditor@pve' lacks a required privilege"),
        "{f}"
    );
    args["require"] = json!({"/vms": ["VM.Audit"]});
    let r = read(&ready, args);
    assert!(r.get("warnings").is_none(), "{r}");
}

on_each_version!(check_mode_on_an_empty_server);
