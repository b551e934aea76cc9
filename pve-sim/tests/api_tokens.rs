//! API token endpoints: shapes and string-echo quirks,
//! update with `delete`/`regenerate`, removal, who may manage tokens.

mod api_common;

use api_common::*;
use serde_json::json;

fn with_joe(version: &str) -> Sim {
    let s = sim(version);
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    s
}

#[test]
fn generate_echoes_request_values_as_strings() {
    let s = with_joe("9.1");
    let d = s.root_ok("POST", "/access/users/joe@pve/token/ci", &[]);
    assert_eq!(d["full-tokenid"], "joe@pve!ci");
    assert_eq!(d["info"], json!({"privsep": 1}));
    let v = d["value"].as_str().unwrap();
    assert_eq!(v.len(), 36);
    assert_eq!(v.matches('-').count(), 4);

    let d = s.root_ok(
        "POST",
        "/access/users/joe@pve/token/ops",
        &[("privsep", "0"), ("expire", "0"), ("comment", "for ops")],
    );
    assert_eq!(
        d["info"],
        json!({"privsep": "0", "expire": "0", "comment": "for ops"})
    );
    let d = s.root_ok("POST", "/access/users/joe@pve/token/ee", &[("comment", "")]);
    assert_eq!(d["info"], json!({"privsep": 1}));

    // read back in parsed form
    let t = s.root_ok("GET", "/access/users/joe@pve/token/ops", &[]);
    assert_eq!(t, json!({"privsep": 0, "expire": 0, "comment": "for ops"}));
    let list = s.root_ok("GET", "/access/users/joe@pve/token", &[]);
    assert_eq!(
        list,
        json!([
            {"tokenid": "ci", "privsep": 1, "expire": 0},
            {"tokenid": "ee", "privsep": 1, "expire": 0},
            {"tokenid": "ops", "privsep": 0, "expire": 0, "comment": "for ops"}
        ])
    );
    let u = s.root_ok("GET", "/access/users/joe@pve", &[]);
    assert_eq!(u["tokens"]["ci"], json!({"privsep": 1, "expire": 0}));
}

#[test]
fn generate_errors() {
    let s = with_joe("9.1");
    let root = s.root();
    s.root_ok("POST", "/access/users/joe@pve/token/ci", &[]);
    let r = s.call("POST", "/access/users/joe@pve/token/ci", &root, &[]);
    r.status(400, "Parameter verification failed.");
    assert_eq!(r.error("tokenid"), "Token already exists.");
    s.call("POST", "/access/users/zz@pve/token/ci", &root, &[])
        .status(500, "no such user ('zz@pve')");
    let r = s.call("POST", "/access/users/joe@pve/token/1ci", &root, &[]);
    assert_eq!(r.error("tokenid"), "value does not match the regex pattern");
    let r = s.call(
        "POST",
        "/access/users/joe@pve/token/ci",
        &root,
        &[("privsep", "yes")],
    );
    assert_eq!(
        r.error("privsep"),
        "type check ('boolean') failed - got 'yes'"
    );
}

#[test]
fn read_and_delete_errors() {
    let s = with_joe("9.1");
    let root = s.root();
    s.call("GET", "/access/users/joe@pve/token/nope", &root, &[])
        .status(500, "no such token 'nope' for user 'joe@pve'");
    s.call("GET", "/access/users/zz@pve/token", &root, &[])
        .status(500, "no such user ('zz@pve')");
    s.call("DELETE", "/access/users/joe@pve/token/nope", &root, &[])
        .status(500, "no such token 'nope' for user 'joe@pve'");
    s.call("PUT", "/access/users/joe@pve/token/nope", &root, &[])
        .status(500, "no such token 'nope' for user 'joe@pve'");
    assert_eq!(
        s.root_ok("GET", "/access/users/joe@pve/token", &[]),
        json!([])
    );
}

#[test]
fn update_9x_comment_delete_and_errors() {
    let s = with_joe("9.1");
    let root = s.root();
    s.root_ok(
        "POST",
        "/access/users/joe@pve/token/ci",
        &[("comment", "c1")],
    );
    let d = s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("privsep", "0"), ("expire", "4102444800")],
    );
    assert_eq!(
        d,
        json!({"privsep": "0", "expire": "4102444800", "comment": "c1"})
    );
    let d = s.root_ok("PUT", "/access/users/joe@pve/token/ci", &[]);
    assert_eq!(
        d,
        json!({"privsep": 0, "expire": 4102444800u64, "comment": "c1"})
    );
    let d = s.root_ok("PUT", "/access/users/joe@pve/token/ci", &[("comment", "")]);
    assert_eq!(d, json!({"privsep": 0, "expire": 4102444800u64}));
    s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("comment", "c2")],
    );
    let d = s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("delete", "comment")],
    );
    assert!(d.get("comment").is_none());
    let r = s.call(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &root,
        &[("delete", "privsep")],
    );
    r.status(
        500,
        "updating token info failed: 400 Parameter verification failed.",
    );
    assert_eq!(
        r.message(),
        "updating token info failed: 400 Parameter verification failed.\ndelete: unknown option 'privsep'\n"
    );
    assert!(r.body.get("errors").is_none());
    let r = s.call(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &root,
        &[("delete", "1x")],
    );
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("delete"),
        "invalid format - invalid configuration ID '1x'\n"
    );
}

#[test]
fn regenerate_replaces_secret_and_keeps_acls() {
    let s = with_joe("9.1");
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/"), ("users", "joe@pve"), ("roles", "PVEAuditor")],
    );
    let old = s.token("joe@pve", "ci", &[]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("tokens", "joe@pve!ci"),
            ("roles", "PVEAuditor"),
        ],
    );
    let d = s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("regenerate", "1")],
    );
    assert_eq!(d["full-tokenid"], "joe@pve!ci");
    let new = Auth::Token(format!("joe@pve!ci={}", d["value"].as_str().unwrap()));
    assert_eq!(d["privsep"], 1);
    s.call("GET", "/version", &old, &[])
        .status(401, "Authentication failed!");
    let r = s.call("GET", "/access/permissions", &new, &[("path", "/vms")]);
    assert!(r.ok()["/vms"].get("VM.Audit").is_some());
    let d = s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("regenerate", "0")],
    );
    assert!(d.get("value").is_none());
    let acl = s.root_ok("GET", "/access/acl", &[]);
    assert!(acl
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ugid"] == "joe@pve!ci"));
}

#[test]
fn delete_token_drops_its_acls() {
    let s = with_joe("9.1");
    s.token("joe@pve", "ci", &[]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("tokens", "joe@pve!ci"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.root_ok("DELETE", "/access/users/joe@pve/token/ci", &[]);
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
    // a new token of the same name does not inherit them
    s.token("joe@pve", "ci", &[]);
    assert_eq!(s.root_ok("GET", "/access/acl", &[]), json!([]));
}

#[test]
fn who_may_manage_tokens() {
    let s = with_joe("9.1");
    s.root_ok("POST", "/access/users", &[("userid", "eve@pve")]);
    let joe = s.login("joe@pve", "joe-password");
    // own tokens: yes
    let d = s.call("POST", "/access/users/joe@pve/token/mine", &joe, &[]);
    d.ok();
    s.call("GET", "/access/users/joe@pve/token", &joe, &[]).ok();
    s.call(
        "PUT",
        "/access/users/joe@pve/token/mine",
        &joe,
        &[("comment", "x")],
    )
    .ok();
    s.call("DELETE", "/access/users/joe@pve/token/mine", &joe, &[])
        .ok();
    // others': no; Sys.Audit is not enough
    s.call("GET", "/access/users/eve@pve/token", &joe, &[])
        .status(403, "Permission check failed");
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups"),
            ("users", "joe@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.call("POST", "/access/users/eve@pve/token/xx", &joe, &[])
        .status(403, "Permission check failed");
    // a missing user is a plain 403 for non-root callers
    s.call("GET", "/access/users/zz@pve/token", &joe, &[])
        .status(403, "Permission check failed");
    // User.Modify on /access/groups: yes
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/access/groups"),
            ("users", "joe@pve"),
            ("roles", "PVEUserAdmin"),
        ],
    );
    s.call("POST", "/access/users/eve@pve/token/xx", &joe, &[])
        .ok();
}
