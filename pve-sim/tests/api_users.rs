//! `/access/users` and `/access/password`:
//! response shapes, side effects, delegated user administration and the
//! exact denials of callers with too few privileges.

mod api_common;

use api_common::*;
use serde_json::json;

/// joe administers the users of group `staff`; eve is in staff; bob is not.
fn delegated() -> Sim {
    let s = sim("9.1");
    for g in ["staff", "other"] {
        s.root_ok("POST", "/access/groups", &[("groupid", g)]);
    }
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "eve@pve"), ("groups", "staff")],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "bob@pve"), ("groups", "other")],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups/staff"),
            ("users", "joe@pve"),
            ("roles", "PVEUserAdmin"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/realm/pve"),
            ("users", "joe@pve"),
            ("roles", "PVEUserAdmin"),
        ],
    );
    s
}

#[test]
fn create_read_shapes_and_email_quirk() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "g1")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[
            ("userid", "joe@pve"),
            ("email", "joe@example.com"),
            ("firstname", "Joe"),
            ("lastname", "0"),
            ("groups", "g1"),
            ("expire", "0"),
        ],
    );
    let u = s.root_ok("GET", "/access/users/joe@pve", &[]);
    assert_eq!(
        u,
        json!({"enable": 1, "expire": 0, "email": "joe@example.com", "firstname": "Joe",
               "groups": ["g1"], "tokens": null})
    );
    s.root_ok(
        "PUT",
        "/access/users/joe@pve",
        &[("email", ""), ("comment", "c")],
    );
    let u = s.root_ok("GET", "/access/users/joe@pve", &[]);
    assert_eq!(u["email"], "", "empty email before a comment stays as \"\"");
    s.root_ok("PUT", "/access/users/joe@pve", &[("comment", "")]);
    let u = s.root_ok("GET", "/access/users/joe@pve", &[]);
    assert!(u.get("email").is_none(), "{u}");
    assert!(u.get("comment").is_none());

    let root = s.root();
    let r = s.call("POST", "/access/users", &root, &[("userid", "joe@pve")]);
    r.status(500, "create user failed: user 'joe@pve' already exists");
    let r = s.call(
        "POST",
        "/access/users",
        &root,
        &[("userid", "x@pve"), ("groups", "nope")],
    );
    r.status(500, "create user failed: no such group 'nope'");
    s.call("GET", "/access/users/x@pve", &root, &[])
        .status(500, "no such user ('x@pve')");
}

#[test]
fn field_validation() {
    let s = sim("9.1");
    let root = s.root();
    let r = s.call(
        "POST",
        "/access/users",
        &root,
        &[
            ("userid", "a@pve"),
            ("email", "bad"),
            ("keys", "a b"),
            ("expire", "-1"),
            ("password", "short"),
        ],
    );
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("email"),
        "invalid format - value does not look like a valid email address\n"
    );
    assert_eq!(r.error("keys"), "value does not match the regex pattern");
    assert_eq!(r.error("expire"), "value must have a minimum value of 0");
    assert_eq!(
        r.error("password"),
        "value must be at least 8 characters long"
    );
    let long = "x".repeat(1025);
    let r = s.call(
        "POST",
        "/access/users",
        &root,
        &[("userid", "a@pve"), ("firstname", &long)],
    );
    assert_eq!(
        r.error("firstname"),
        "value may only be 1024 characters long"
    );
    let r = s.call("POST", "/access/users", &root, &[("userid", "ab")]);
    assert_eq!(
        r.error("userid"),
        "invalid format - user name 'ab' is too short\n"
    );
    let r = s.call("POST", "/access/users", &root, &[]);
    assert_eq!(
        r.error("userid"),
        "property is missing and it is not optional"
    );
    let r = s.call("PUT", "/access/users/a@pve", &root, &[("append", "1")]);
    assert_eq!(r.error("groups"), "missing property required by 'append'");
}

#[test]
fn index_full_and_filters() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "g1")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "a@pve"), ("groups", "g1")],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "b@pve"), ("enable", "0")],
    );
    s.root_ok("POST", "/access/users", &[("userid", "c@ldap1")]);
    s.root_ok(
        "POST",
        "/access/users/a@pve/token/t2",
        &[("comment", "two")],
    );
    s.root_ok("POST", "/access/users/a@pve/token/t1", &[]);
    let all = s.root_ok("GET", "/access/users", &[]);
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a@pve", "b@pve", "c@ldap1", "root@pam"]);
    assert_eq!(
        all[0],
        json!({"userid": "a@pve", "enable": 1, "expire": 0, "realm-type": "pve"})
    );
    assert!(all[2].get("realm-type").is_none(), "no such realm");
    let full = s.root_ok("GET", "/access/users", &[("full", "1")]);
    assert_eq!(full[0]["groups"], "g1");
    assert_eq!(
        full[0]["tokens"],
        json!([{"tokenid": "t1", "privsep": 1, "expire": 0},
               {"tokenid": "t2", "privsep": 1, "expire": 0, "comment": "two"}])
    );
    assert_eq!(full[1]["groups"], "");
    assert_eq!(full[1]["tokens"], json!(null));
    let enabled = s.root_ok("GET", "/access/users", &[("enabled", "1")]);
    assert!(enabled
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["userid"] != "b@pve"));
    let disabled = s.root_ok("GET", "/access/users", &[("enabled", "0")]);
    assert_eq!(disabled.as_array().unwrap().len(), 1);
}

#[test]
fn index_visibility() {
    let s = delegated();
    let joe = s.login("joe@pve", "joe-password");
    let r = s.call("GET", "/access/users", &joe, &[]);
    let ids: Vec<&str> = r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["eve@pve", "joe@pve"]);
    // a token never counts as its owner
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups/staff"),
            ("users", "joe@pve"),
            ("delete", "1"),
            ("roles", "PVEUserAdmin"),
        ],
    );
    let tok = s.token("joe@pve", "ci", &[]);
    assert_eq!(s.call("GET", "/access/users", &tok, &[]).ok(), &json!([]));
}

#[test]
fn update_groups_replace_and_append() {
    let s = sim("9.1");
    for g in ["g1", "g2", "g3"] {
        s.root_ok("POST", "/access/groups", &[("groupid", g)]);
    }
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "a@pve"), ("groups", "g1,g2")],
    );
    s.root_ok(
        "PUT",
        "/access/users/a@pve",
        &[("groups", "g3"), ("append", "1")],
    );
    assert_eq!(
        s.root_ok("GET", "/access/users/a@pve", &[])["groups"],
        json!(["g1", "g2", "g3"])
    );
    s.root_ok("PUT", "/access/users/a@pve", &[("groups", "g2")]);
    assert_eq!(
        s.root_ok("GET", "/access/users/a@pve", &[])["groups"],
        json!(["g2"])
    );
    s.root_ok("PUT", "/access/users/a@pve", &[("groups", "")]);
    assert_eq!(
        s.root_ok("GET", "/access/users/a@pve", &[])["groups"],
        json!([])
    );
    let root = s.root();
    s.call("PUT", "/access/users/a@pve", &root, &[("groups", "nope")])
        .status(500, "update user failed: no such group 'nope'");
    s.call("PUT", "/access/users/zz@pve", &root, &[("comment", "x")])
        .status(500, "update user failed: no such user ('zz@pve')");
    s.root_ok(
        "PUT",
        "/access/users/a@pve",
        &[
            ("enable", "0"),
            ("expire", "4102444800"),
            ("firstname", "A"),
        ],
    );
    let u = s.root_ok("GET", "/access/users/a@pve", &[]);
    assert_eq!(
        (
            u["enable"].clone(),
            u["expire"].clone(),
            u["firstname"].clone()
        ),
        (json!(0), json!(4102444800u64), json!("A"))
    );
}

#[test]
fn delete_user_side_effects() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "g1")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[
            ("userid", "a@pve"),
            ("groups", "g1"),
            ("password", "a-password"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/vms"), ("users", "a@pve"), ("roles", "PVEVMUser")],
    );
    let tok = s.token("a@pve", "ci", &[]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("tokens", "a@pve!ci"),
            ("roles", "PVEVMUser"),
        ],
    );
    s.root_ok("DELETE", "/access/users/a@pve", &[]);
    assert_eq!(
        s.root_ok("GET", "/access/groups/g1", &[])["members"],
        json!([])
    );
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
    s.call("GET", "/version", &tok, &[])
        .status(401, "Authentication failed!");
    // re-created without a password: the old one is gone
    s.root_ok("POST", "/access/users", &[("userid", "a@pve")]);
    s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "a@pve"), ("password", "a-password")],
    )
    .status(401, "authentication failure");
    // root deleting a missing user succeeds; root@pam comes back
    s.root_ok("DELETE", "/access/users/nobody@pve", &[]);
    s.root_ok("DELETE", "/access/users/root@pam", &[]);
    assert_eq!(s.root_ok("GET", "/access/users/root@pam", &[])["enable"], 1);
}

#[test]
fn delegated_user_administration() {
    let s = delegated();
    let joe = s.login("joe@pve", "joe-password");
    // create: needs groups it controls
    s.call("POST", "/access/users", &joe, &[("userid", "new@pve")])
        .status(403, "Permission check failed (/access/groups, User.Modify)");
    s.call(
        "POST",
        "/access/users",
        &joe,
        &[("userid", "new@pve"), ("groups", "other")],
    )
    .status(
        403,
        "Permission check failed (/access/groups/other, User.Modify)",
    );
    s.call(
        "POST",
        "/access/users",
        &joe,
        &[("userid", "new@pve"), ("groups", "staff")],
    )
    .ok();
    s.call(
        "POST",
        "/access/users",
        &joe,
        &[("userid", "new@pam"), ("groups", "staff")],
    )
    .status(
        403,
        "Permission check failed (/access/realm/pam, Realm.AllocateUser)",
    );
    // read
    s.call("GET", "/access/users/eve@pve", &joe, &[]).ok();
    s.call("GET", "/access/users/bob@pve", &joe, &[])
        .status(403, "Permission check failed");
    s.call("GET", "/access/users/zz@pve", &joe, &[])
        .status(500, "no such user ('zz@pve')");
    // update: must pass groups it controls and the user must be in one
    s.call("PUT", "/access/users/eve@pve", &joe, &[("comment", "x")])
        .status(403, "Permission check failed (/access/groups, User.Modify)");
    s.call(
        "PUT",
        "/access/users/eve@pve",
        &joe,
        &[("comment", "x"), ("groups", "staff")],
    )
    .ok();
    s.call("PUT", "/access/users/bob@pve", &joe, &[("groups", "staff")])
        .status(403, "Permission check failed");
    s.call("PUT", "/access/users/zz@pve", &joe, &[("groups", "staff")])
        .status(500, "no such user ('zz@pve')");
    // delete
    s.call("DELETE", "/access/users/bob@pve", &joe, &[])
        .status(403, "Permission check failed");
    s.call("DELETE", "/access/users/eve@pve", &joe, &[]).ok();
    s.call("DELETE", "/access/users/eve@pve", &joe, &[])
        .status(500, "no such user ('eve@pve')");
}

#[test]
fn users_without_privileges_are_denied() {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "max@pve"), ("password", "max-password")],
    );
    s.root_ok("POST", "/access/users", &[("userid", "eve@pve")]);
    let max = s.login("max@pve", "max-password");
    s.call("POST", "/access/users", &max, &[("userid", "new@pve")])
        .status(
            403,
            "Permission check failed (/access/realm/pve, Realm.AllocateUser)",
        );
    s.call("GET", "/access/users/eve@pve", &max, &[])
        .status(403, "Permission check failed");
    s.call("GET", "/access/users/max@pve", &max, &[])
        .status(403, "Permission check failed");
    s.call("DELETE", "/access/users/eve@pve", &max, &[]).status(
        403,
        "Permission check failed (/access/realm/pve, Realm.AllocateUser)",
    );
    // Sys.Audit lets read, not modify
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups"),
            ("users", "max@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.call("GET", "/access/users/eve@pve", &max, &[]).ok();
    s.call("PUT", "/access/users/eve@pve", &max, &[("comment", "x")])
        .status(403, "Permission check failed (/access/groups, User.Modify)");
}

#[test]
fn password_change_rules() {
    let s = delegated();
    let joe = s.login("joe@pve", "joe-password");
    let root = s.root();
    // self, with the confirmation password
    let r = s.call(
        "PUT",
        "/access/password",
        &joe,
        &[("userid", "joe@pve"), ("password", "joe-new-password")],
    );
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("confirmation-password"),
        "password is required to modify user"
    );
    s.call(
        "PUT",
        "/access/password",
        &joe,
        &[
            ("userid", "joe@pve"),
            ("password", "joe-new-password"),
            ("confirmation-password", "wrong-pw"),
        ],
    )
    .status(500, "invalid credentials");
    s.call(
        "PUT",
        "/access/password",
        &joe,
        &[
            ("userid", "joe@pve"),
            ("password", "joe-new-password"),
            ("confirmation-password", "joe-password"),
        ],
    )
    .ok();
    let joe = s.login("joe@pve", "joe-new-password");
    // another user of a group joe administers
    s.call(
        "PUT",
        "/access/password",
        &joe,
        &[
            ("userid", "eve@pve"),
            ("password", "eve-password"),
            ("confirmation-password", "joe-new-password"),
        ],
    )
    .ok();
    s.login("eve@pve", "eve-password");
    // a user outside joe's groups; root; non-existent
    s.call(
        "PUT",
        "/access/password",
        &joe,
        &[
            ("userid", "bob@pve"),
            ("password", "bob-password"),
            ("confirmation-password", "joe-new-password"),
        ],
    )
    .status(403, "Permission check failed");
    s.call(
        "PUT",
        "/access/password",
        &joe,
        &[
            ("userid", "root@pam"),
            ("password", "root-password"),
            ("confirmation-password", "joe-new-password"),
        ],
    )
    .status(
        403,
        "Permission check failed (/access/realm/pam, Realm.AllocateUser)",
    );
    s.call(
        "PUT",
        "/access/password",
        &root,
        &[("userid", "zz@pve"), ("password", "whatever-pw")],
    )
    .status(500, "no such user ('zz@pve')");
    // root needs no confirmation; short passwords are refused
    let r = s.call(
        "PUT",
        "/access/password",
        &root,
        &[("userid", "bob@pve"), ("password", "short")],
    );
    assert_eq!(
        r.error("password"),
        "value must be at least 8 characters long"
    );
    s.call(
        "PUT",
        "/access/password",
        &root,
        &[("userid", "bob@pve"), ("password", "bob-password")],
    )
    .ok();
    s.login("bob@pve", "bob-password");
    // root's own PAM password
    s.call(
        "PUT",
        "/access/password",
        &root,
        &[("userid", "root@pam"), ("password", "new-root-pw")],
    )
    .ok();
    s.login("root@pam", "new-root-pw");
    // other pam users have no Linux account in the simulator
    s.root_ok("POST", "/access/users", &[("userid", "carol@pam")]);
    let r = s.call(
        "PUT",
        "/access/password",
        &root,
        &[("userid", "carol@pam"), ("password", "carol-password")],
    );
    assert_eq!(r.status, 500);
    assert!(
        r.reason.starts_with("change password failed"),
        "{}",
        r.reason
    );
}

#[test]
fn create_with_password_realm_rules_and_early_password() {
    let s = sim("9.1");
    let root = s.root();
    s.call(
        "POST",
        "/access/users",
        &root,
        &[("userid", "a@ldap1"), ("password", "a-password")],
    )
    .status(
        500,
        "create user failed: auth domain 'ldap1' does not exist",
    );
    s.call("POST", "/access/users", &root, &[("userid", "a@ldap1")])
        .ok();
    // the password is stored before the groups are checked and stays
    s.call(
        "POST",
        "/access/users",
        &root,
        &[
            ("userid", "b@pve"),
            ("password", "b-password"),
            ("groups", "nope"),
        ],
    )
    .status(500, "create user failed: no such group 'nope'");
    s.call("GET", "/access/users/b@pve", &root, &[])
        .status(500, "no such user ('b@pve')");
    s.root_ok("POST", "/access/users", &[("userid", "b@pve")]);
    s.login("b@pve", "b-password");
}
