//! `/access/groups` and `/access/roles`.

mod api_common;

use api_common::*;
use serde_json::json;

#[test]
fn group_lifecycle() {
    let s = sim("9.1");
    let root = s.root();
    s.root_ok(
        "POST",
        "/access/groups",
        &[("groupid", "ops"), ("comment", "Ops team")],
    );
    s.root_ok("POST", "/access/groups", &[("groupid", "empty")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "b@pve"), ("groups", "ops")],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "a@pve"), ("groups", "ops")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/groups", &[]),
        json!([{"groupid": "empty", "users": ""},
               {"groupid": "ops", "comment": "Ops team", "users": "a@pve,b@pve"}])
    );
    assert_eq!(
        s.root_ok("GET", "/access/groups/ops", &[]),
        json!({"members": ["a@pve", "b@pve"], "comment": "Ops team"})
    );
    s.call("POST", "/access/groups", &root, &[("groupid", "ops")])
        .status(500, "create group failed: group 'ops' already exists");
    s.root_ok("PUT", "/access/groups/ops", &[("comment", "")]);
    assert_eq!(
        s.root_ok("GET", "/access/groups/ops", &[]),
        json!({"members": ["a@pve", "b@pve"]})
    );
    s.call("PUT", "/access/groups/nope", &root, &[("comment", "x")])
        .status(500, "update group failed: group 'nope' does not exist");
    s.call("GET", "/access/groups/nope", &root, &[])
        .status(500, "group 'nope' does not exist");
    let r = s.call("POST", "/access/groups", &root, &[("groupid", "bad name")]);
    assert_eq!(
        r.error("groupid"),
        "invalid format - group name 'bad name' contains invalid characters\n"
    );
    // PUT cannot change membership
    let r = s.call("PUT", "/access/groups/ops", &root, &[("users", "a@pve")]);
    assert!(r.error("users").starts_with("property is not defined"));

    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/vms"), ("groups", "ops"), ("roles", "PVEVMUser")],
    );
    s.root_ok("DELETE", "/access/groups/ops", &[]);
    assert_eq!(
        s.root_ok("GET", "/access/users/a@pve", &[])["groups"],
        json!([])
    );
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
    s.call("DELETE", "/access/groups/ops", &root, &[])
        .status(500, "delete group failed: group 'ops' does not exist");
}

#[test]
fn group_permissions() {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    s.root_ok("POST", "/access/groups", &[("groupid", "g1")]);
    s.root_ok("POST", "/access/groups", &[("groupid", "g2")]);
    let joe = s.login("joe@pve", "joe-password");
    assert_eq!(s.call("GET", "/access/groups", &joe, &[]).ok(), &json!([]));
    s.call("POST", "/access/groups", &joe, &[("groupid", "g3")])
        .status(
            403,
            "Permission check failed (/access/groups, Group.Allocate)",
        );
    s.call("GET", "/access/groups/g1", &joe, &[]).status(
        403,
        "Permission check failed (/access/groups, Sys.Audit|Group.Allocate)",
    );
    s.call("DELETE", "/access/groups/g1", &joe, &[]).status(
        403,
        "Permission check failed (/access/groups, Group.Allocate)",
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups/g2"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    let list = s.call("GET", "/access/groups", &joe, &[]);
    assert_eq!(list.ok(), &json!([{"groupid": "g2", "users": ""}]));
}

#[test]
fn role_lifecycle() {
    let s = sim("9.1");
    let root = s.root();
    s.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Ops"), ("privs", "VM.Audit,VM.Console")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/roles/Ops", &[]),
        json!({"VM.Audit": 1, "VM.Console": 1})
    );
    let roles = s.root_ok("GET", "/access/roles", &[]);
    let ops = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roleid"] == "Ops")
        .unwrap();
    assert_eq!(
        ops,
        &json!({"roleid": "Ops", "privs": "VM.Audit,VM.Console", "special": 0})
    );
    let admin = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roleid"] == "NoAccess")
        .unwrap();
    assert_eq!(
        admin,
        &json!({"roleid": "NoAccess", "privs": "", "special": 1})
    );
    assert_eq!(roles.as_array().unwrap().len(), 18);
    assert_eq!(s.root_ok("GET", "/access/roles/NoAccess", &[]), json!({}));

    s.root_ok(
        "PUT",
        "/access/roles/Ops",
        &[("privs", "Sys.Audit"), ("append", "1")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/roles/Ops", &[]),
        json!({"Sys.Audit": 1, "VM.Audit": 1, "VM.Console": 1})
    );
    s.root_ok("PUT", "/access/roles/Ops", &[("privs", "VM.Audit")]);
    assert_eq!(
        s.root_ok("GET", "/access/roles/Ops", &[]),
        json!({"VM.Audit": 1})
    );
    s.root_ok("PUT", "/access/roles/Ops", &[]);
    assert_eq!(s.root_ok("GET", "/access/roles/Ops", &[]), json!({}));

    let r = s.call("POST", "/access/roles", &root, &[("roleid", "pveOps")]);
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("roleid"),
        "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"
    );
    s.call("POST", "/access/roles", &root, &[("roleid", "Ops")])
        .status(500, "create role failed: role 'Ops' already exists");
    s.call(
        "POST",
        "/access/roles",
        &root,
        &[("roleid", "Administrator")],
    )
    .status(
        500,
        "create role failed: role 'Administrator' already exists",
    );
    let r = s.call(
        "POST",
        "/access/roles",
        &root,
        &[("roleid", "X1"), ("privs", "VM.Audit,Bogus")],
    );
    assert_eq!(
        r.error("privs"),
        "invalid format - invalid privilege 'Bogus'\n"
    );
    s.call(
        "PUT",
        "/access/roles/PVEAdmin",
        &root,
        &[("privs", "VM.Audit")],
    )
    .status(500, "auto-generated role 'PVEAdmin' cannot be modified");
    s.call("DELETE", "/access/roles/NoAccess", &root, &[])
        .status(500, "auto-generated role 'NoAccess' cannot be deleted");
    s.call("PUT", "/access/roles/Nope", &root, &[])
        .status(500, "update role failed: role 'Nope' does not exist");
    s.call("GET", "/access/roles/Nope", &root, &[])
        .status(500, "role 'Nope' does not exist");

    // deleting a role in use drops its ACL entries; re-creating it does not revive them
    s.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Tmp"), ("privs", "VM.Audit")],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("users", "root@pam,"),
            ("groups", ""),
            ("roles", "Tmp"),
        ],
    );
    s.root_ok("POST", "/access/users", &[("userid", "a@pve")]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/vms"), ("users", "a@pve"), ("roles", "Tmp")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/acl", &[])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.root_ok("DELETE", "/access/roles/Tmp", &[]);
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
    s.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Tmp"), ("privs", "VM.Audit")],
    );
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
    s.call("DELETE", "/access/roles/Gone", &root, &[])
        .status(500, "delete role failed: role 'Gone' does not exist");
}

#[test]
fn role_permissions() {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    let joe = s.login("joe@pve", "joe-password");
    s.call("GET", "/access/roles", &joe, &[]).ok();
    s.call("GET", "/access/roles/PVEAdmin", &joe, &[]).ok();
    s.call("POST", "/access/roles", &joe, &[("roleid", "X1")])
        .status(403, "Permission check failed (/access, Sys.Modify)");
    s.call("PUT", "/access/roles/X1", &joe, &[])
        .status(403, "Permission check failed (/access, Sys.Modify)");
    s.call("DELETE", "/access/roles/X1", &joe, &[])
        .status(403, "Permission check failed (/access, Sys.Modify)");
}
