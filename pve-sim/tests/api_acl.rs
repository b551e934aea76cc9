//! `/access/acl` and `/access/permissions`: entries and
//! their order, validation, visibility, delegation via VM.Allocate & co.,
//! lock-wrapped errors, and who may see whose permissions.

mod api_common;

use api_common::*;
use serde_json::json;

fn with_users() -> Sim {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "ops")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[
            ("userid", "joe@pve"),
            ("password", "joe-password"),
            ("groups", "ops"),
        ],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "eve@pve"), ("password", "eve-password")],
    );
    s
}

#[test]
fn add_list_delete() {
    let s = with_users();
    s.token("joe@pve", "ci", &[]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms//100/"),
            ("users", "joe@pve"),
            ("roles", "PVEVMUser,PVEAuditor"),
            ("propagate", "0"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/"), ("groups", "ops"), ("roles", "PVEAuditor")],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/storage"),
            ("tokens", "joe@pve!ci"),
            ("roles", "PVEDatastoreUser"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("users", "eve@pve"),
            ("groups", "ops"),
            ("roles", "PVEVMUser"),
        ],
    );
    assert_eq!(
        s.root_ok("GET", "/access/acl", &[]),
        json!([
            {"path": "/", "type": "group", "ugid": "ops", "roleid": "PVEAuditor", "propagate": 1},
            {"path": "/storage", "type": "token", "ugid": "joe@pve!ci", "roleid": "PVEDatastoreUser", "propagate": 1},
            {"path": "/vms", "type": "user", "ugid": "eve@pve", "roleid": "PVEVMUser", "propagate": 1},
            {"path": "/vms", "type": "group", "ugid": "ops", "roleid": "PVEVMUser", "propagate": 1},
            {"path": "/vms/100", "type": "user", "ugid": "joe@pve", "roleid": "PVEAuditor", "propagate": 0},
            {"path": "/vms/100", "type": "user", "ugid": "joe@pve", "roleid": "PVEVMUser", "propagate": 0}
        ])
    );
    // re-adding overwrites the flag; deleting ignores it
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("users", "joe@pve"),
            ("roles", "PVEVMUser"),
            ("delete", "1"),
        ],
    );
    let acl = s.root_ok("GET", "/access/acl", &[]);
    let last = &acl.as_array().unwrap()[4];
    assert_eq!(
        last,
        &json!({"path": "/vms/100", "type": "user", "ugid": "joe@pve", "roleid": "PVEAuditor", "propagate": 1})
    );
    assert_eq!(acl.as_array().unwrap().len(), 5);
    // deleting what is not there is a no-op; deleting on a path check_path refuses is allowed
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/users"),
            ("users", "eve@pve"),
            ("roles", "NoAccess"),
            ("delete", "1"),
        ],
    );
    // root@pam is never stored
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/"), ("users", "root@pam"), ("roles", "NoAccess")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/acl", &[])
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn update_errors() {
    let s = with_users();
    let root = s.root();
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[("path", "/"), ("roles", "PVEAuditor")],
    );
    r.status(400, "Parameter verification failed.");
    for k in ["users", "groups", "tokens"] {
        assert_eq!(
            r.error(k),
            "either 'users', 'groups' or 'tokens' is required."
        );
    }
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[
            ("path", "/users"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    assert_eq!(r.error("path"), "invalid ACL path '/users'");
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[
            ("path", "/vms/99"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    assert_eq!(r.error("path"), "invalid ACL path '/vms/99'");
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[
            ("path", "/a b"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    assert_eq!(r.error("path"), "invalid ACL path '/a b'");
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[("users", "joe@pve"), ("roles", "PVEAuditor")],
    );
    assert_eq!(
        r.error("path"),
        "property is missing and it is not optional"
    );
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[("path", "/"), ("users", "joe"), ("roles", "PVEAuditor")],
    );
    assert_eq!(
        r.error("users"),
        "invalid format - value 'joe' does not look like a valid user name\n"
    );
    let r = s.call(
        "PUT",
        "/access/acl",
        &root,
        &[
            ("path", "/"),
            ("tokens", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    assert_eq!(
        r.error("tokens"),
        "invalid format - value 'joe@pve' does not look like a valid token ID\n"
    );

    let put = |p: &[(&str, &str)]| s.call("PUT", "/access/acl", &root, p);
    put(&[("path", "/"), ("users", "joe@pve"), ("roles", "Nope")])
        .status(500, "ACL update failed: role 'Nope' does not exist");
    put(&[("path", "/"), ("users", "zz@pve"), ("roles", "PVEAuditor")])
        .status(500, "ACL update failed: user 'zz@pve' does not exist");
    put(&[("path", "/"), ("groups", "nope"), ("roles", "PVEAuditor")])
        .status(500, "ACL update failed: group 'nope' does not exist");
    put(&[
        ("path", "/"),
        ("tokens", "zz@pve!ci"),
        ("roles", "PVEAuditor"),
    ])
    .status(500, "ACL update failed: no such user ('zz@pve')");
    put(&[
        ("path", "/"),
        ("tokens", "joe@pve!ci"),
        ("roles", "PVEAuditor"),
    ])
    .status(
        500,
        "ACL update failed: no such token 'ci' for user 'joe@pve'",
    );
    // nothing was written by the failed requests
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
}

#[test]
fn permission_to_modify_acls() {
    let s = with_users();
    let joe = s.login("joe@pve", "joe-password");
    let put = |p: &[(&str, &str)]| s.call("PUT", "/access/acl", &joe, p);
    put(&[("path", "/"), ("users", "eve@pve"), ("roles", "PVEAuditor")])
        .status(403, "Permission check failed (/, Permissions.Modify)");
    put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "PVEAuditor"),
    ])
    .status(
        403,
        "Permission check failed (/vms/100, Permissions.Modify|VM.Allocate)",
    );
    put(&[
        ("path", "/storage/local"),
        ("users", "eve@pve"),
        ("roles", "PVEAuditor"),
    ])
    .status(
        403,
        "Permission check failed (/storage/local, Permissions.Modify|Datastore.Allocate)",
    );
    put(&[("users", "eve@pve"), ("roles", "PVEAuditor")])
        .status(403, "Permission check failed (/-, Permissions.Modify)");
    // an invalid path passes the check and fails in the method
    let r = put(&[
        ("path", "/a b"),
        ("users", "eve@pve"),
        ("roles", "PVEAuditor"),
    ]);
    assert_eq!(r.error("path"), "invalid ACL path '/a b'");
}

#[test]
fn delegation_via_vm_allocate() {
    let s = with_users();
    s.root_ok(
        "POST",
        "/access/roles",
        &[
            ("roleid", "VMOwner"),
            ("privs", "VM.Allocate,VM.Audit,VM.Console"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("users", "joe@pve"),
            ("roles", "VMOwner"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/200"),
            ("users", "joe@pve"),
            ("roles", "VMOwner"),
            ("propagate", "0"),
        ],
    );
    let joe = s.login("joe@pve", "joe-password");
    let put = |p: &[(&str, &str)]| s.call("PUT", "/access/acl", &joe, p);
    put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "PVEVMUser"),
    ])
    .status(500, "ACL update failed: 400 Parameter verification failed.");
    let r = put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "PVEVMUser"),
    ]);
    assert_eq!(
        r.message(),
        "ACL update failed: 400 Parameter verification failed.\nrole: Cannot add role 'PVEVMUser' - requires 'Permissions.Modify' or superset of privileges.\n"
    );
    assert!(r.body.get("errors").is_none());
    let r = put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "NoAccess"),
    ]);
    assert!(r
        .message()
        .ends_with("role: Cannot add role 'NoAccess' - requires 'Permissions.Modify'\n"));
    put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "PVEAuditor"),
    ])
    .status(500, "ACL update failed: 400 Parameter verification failed.");
    // a subset of its own privileges is fine
    s.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Viewer"), ("privs", "VM.Audit,VM.Console")],
    );
    put(&[
        ("path", "/vms/100"),
        ("users", "eve@pve"),
        ("roles", "Viewer"),
    ])
    .ok();
    // without propagation on its own grant, only propagate=0 grants
    let r = put(&[
        ("path", "/vms/200"),
        ("users", "eve@pve"),
        ("roles", "Viewer"),
    ]);
    assert!(r.message().ends_with(
        "role: Cannot add role 'Viewer' with propagation - requires 'Permissions.Modify' or propagated superset of privileges.\n"
    ));
    put(&[
        ("path", "/vms/200"),
        ("users", "eve@pve"),
        ("roles", "Viewer"),
        ("propagate", "0"),
    ])
    .ok();
    put(&[
        ("path", "/vms/200"),
        ("users", "eve@pve"),
        ("roles", "Viewer"),
        ("delete", "1"),
    ])
    .ok();
    // visibility: joe sees the ACLs of the VMs it may delegate on
    let acl = s.call("GET", "/access/acl", &joe, &[]);
    let paths: Vec<&str> = acl
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/vms/100", "/vms/100", "/vms/200"]);
    let eve = s.login("eve@pve", "eve-password");
    assert_eq!(s.call("GET", "/access/acl", &eve, &[]).ok(), &json!([]));
}

#[test]
fn permissions_endpoint() {
    let s = with_users();
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/vms"), ("groups", "ops"), ("roles", "PVEVMUser")],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
            ("propagate", "0"),
        ],
    );
    let joe = s.login("joe@pve", "joe-password");
    let eve = s.login("eve@pve", "eve-password");
    let own = s.call("GET", "/access/permissions", &joe, &[]);
    let own = own.ok();
    assert_eq!(own["/vms"]["VM.Console"], 1);
    assert_eq!(own["/vms/100"]["VM.Audit"], 0);
    assert!(own["/vms/100"].get("VM.Console").is_none());
    assert!(
        own.get("/").is_none(),
        "paths without privileges are omitted"
    );
    let one = s.call("GET", "/access/permissions", &joe, &[("path", "/vms/101")]);
    assert_eq!(one.ok()["/vms/101"]["VM.PowerMgmt"], 1);
    let none = s.call("GET", "/access/permissions", &joe, &[("path", "/nodes")]);
    assert_eq!(none.ok(), &json!({"/nodes": {}}));
    // other users need Sys.Audit on /access
    s.call("GET", "/access/permissions", &eve, &[("userid", "joe@pve")])
        .status(403, "Permission check failed (/access, Sys.Audit)");
    s.call("GET", "/access/permissions", &joe, &[("userid", "joe@pve")])
        .ok();
    let r = s.call("GET", "/access/permissions", &joe, &[("userid", "joe")]);
    assert_eq!(r.error("userid"), "value does not match the regex pattern");
    // root sees everything and has everything
    let r = s.root_ok(
        "GET",
        "/access/permissions",
        &[("userid", "root@pam"), ("path", "/")],
    );
    assert_eq!(r["/"].as_object().unwrap().len(), 47);
    assert!(r["/"].as_object().unwrap().values().all(|v| v == 1));
    assert_eq!(
        s.root_ok("GET", "/access/permissions", &[("userid", "nobody@pve")]),
        json!({})
    );
}

#[test]
fn permissions_of_tokens() {
    let s = with_users();
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("users", "joe@pve"),
            ("roles", "PVEVMAdmin"),
        ],
    );
    let sep = s.token("joe@pve", "sep", &[]);
    let full = s.token("joe@pve", "full", &[("privsep", "0")]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("tokens", "joe@pve!sep"),
            ("roles", "PVEAuditor"),
        ],
    );
    let joe = s.login("joe@pve", "joe-password");
    // privsep token: token ∩ owner
    let r = s.call("GET", "/access/permissions", &sep, &[("path", "/vms")]);
    assert_eq!(
        r.ok(),
        &json!({"/vms": {"VM.Audit": 1, "VM.GuestAgent.Audit": 1}})
    );
    // non-privsep: the owner's
    let r = s.call("GET", "/access/permissions", &full, &[("path", "/vms")]);
    assert_eq!(r.ok()["/vms"].as_object().unwrap().len(), 23);
    // a user may query its own tokens, a token only itself
    s.call(
        "GET",
        "/access/permissions",
        &joe,
        &[("userid", "joe@pve!sep")],
    )
    .ok();
    s.call(
        "GET",
        "/access/permissions",
        &sep,
        &[("userid", "joe@pve!sep")],
    )
    .ok();
    s.call("GET", "/access/permissions", &sep, &[("userid", "joe@pve")])
        .status(403, "Permission check failed (/access, Sys.Audit)");
    s.call(
        "GET",
        "/access/permissions",
        &sep,
        &[("userid", "joe@pve!full")],
    )
    .status(403, "Permission check failed (/access, Sys.Audit)");
}
