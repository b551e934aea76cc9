//! pve-http-server's request pipeline through `Api::handle`: method and
//! path rules, body rules, route lookup, parameter merging and conflicts,
//! the order of permission checks and validation, error shapes.

mod api_common;

use std::collections::BTreeMap;

use api_common::*;
use pve_sim::http::Request;
use serde_json::json;

fn raw(method: &str, path: &str) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        query: vec![],
        headers: BTreeMap::new(),
        body: vec![],
    }
}

#[test]
fn unknown_method_and_paths() {
    let s = sim("9.1");
    let r = s.send(raw("PATCH", "/api2/json/version"));
    r.status(501, "method 'PATCH' not available");
    assert!(r.raw.is_empty());

    let r = s.send(raw("GET", "/api2"));
    r.status(501, "no such uri");
    assert_eq!(r.raw, b"no such uri");

    let r = s.send(raw("GET", "/index.html"));
    r.status(500, "no such file '/index.html'");
}

#[test]
fn unknown_api_method_needs_auth_first_then_501() {
    let s = sim("9.1");
    s.call("GET", "/access/foo", &Auth::None, &[])
        .status(401, "No ticket");
    let root = s.root();
    let r = s.call("GET", "/access/foo", &root, &[]);
    r.status(501, "Method 'GET /access/foo' not implemented");
    assert_eq!(
        r.body,
        json!({"data": null, "message": "Method 'GET /access/foo' not implemented"})
    );
    s.call("PATCH", "/access/users", &root, &[])
        .status(501, "method 'PATCH' not available");
    s.call("DELETE", "/access/users", &root, &[])
        .status(501, "Method 'DELETE /access/users' not implemented");
    // a schema method the simulator does not implement
    s.call("GET", "/access/openid", &root, &[])
        .status(501, "Method 'GET /access/openid' not implemented");
    // other formats than json
    let mut req = raw("GET", "/api2/extjs/version");
    req.headers
        .insert("authorization".into(), "PVEAPIToken=x".into());
    s.send(req).status(401, "Authentication failed!");
}

#[test]
fn extra_slashes_route_like_pve() {
    let s = sim("9.1");
    let root = s.root();
    let r = s.call("GET", "//access///users/", &root, &[]);
    assert!(r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["userid"] == "root@pam"));
}

#[test]
fn body_only_on_put_and_post() {
    let s = sim("9.1");
    let Auth::Ticket { ticket, .. } = s.root() else {
        unreachable!()
    };
    let mut req = raw("GET", "/api2/json/version");
    req.headers
        .insert("cookie".into(), format!("PVEAuthCookie={}", enc(&ticket)));
    req.body = b"a=1".to_vec();
    let r = s.send(req.clone());
    r.status(501, "Unexpected content for method 'GET'");
    assert_eq!(r.raw, b"Unexpected content for method 'GET'");

    req.method = "DELETE".into();
    req.path = "/api2/json/access/users/x@pve".into();
    req.headers.insert("csrfpreventiontoken".into(), "x".into());
    // CSRF is checked before the body
    s.send(req)
        .status(401, "Permission denied - invalid csrf token");
}

#[test]
fn other_content_types_are_refused() {
    let s = sim("9.1");
    let Auth::Ticket { ticket, csrf } = s.root() else {
        unreachable!()
    };
    let mut req = raw("POST", "/api2/json/access/groups");
    req.headers
        .insert("cookie".into(), format!("PVEAuthCookie={}", enc(&ticket)));
    req.headers.insert("csrfpreventiontoken".into(), csrf);
    req.headers
        .insert("content-type".into(), "text/plain".into());
    req.body = b"groupid=g1".to_vec();
    s.send(req)
        .status(506, "upload 'Content-Type 'text/plain' not implemented");
}

#[test]
fn json_bodies_and_malformed_json() {
    let s = sim("9.1");
    let Auth::Ticket { ticket, csrf } = s.root() else {
        unreachable!()
    };
    let mut req = raw("POST", "/api2/json/access/users");
    req.headers
        .insert("cookie".into(), format!("PVEAuthCookie={}", enc(&ticket)));
    req.headers.insert("csrfpreventiontoken".into(), csrf);
    req.headers
        .insert("content-type".into(), "application/json".into());
    req.body = br#"{"userid":"j@pve","enable":false,"expire":5,"groups":[]}"#.to_vec();
    s.send(req.clone()).ok();
    let u = s.root_ok("GET", "/access/users/j@pve", &[]);
    assert_eq!(u["enable"], 0);
    assert_eq!(u["expire"], 5);

    req.body = br#"{"userid":"k@pve","enable":"true"}"#.to_vec();
    let r = s.send(req.clone());
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("enable"),
        "type check ('boolean') failed - got 'true'"
    );

    req.body = br#"{"userid":"k@pve","firstname":{"a":1}}"#.to_vec();
    let r = s.send(req.clone());
    assert_eq!(
        r.error("firstname"),
        "type check ('string') failed - got HASH"
    );

    req.body = b"{".to_vec();
    let r = s.send(req.clone());
    assert_eq!(r.status, 500);
    assert_eq!(
        r.reason,
        "'\"' expected, at character offset 1 (before \"(end of string)\") at /usr/share/perl5/PVE/APIServer/AnyEvent.pm line 934."
    );

    req.body = b"[1]".to_vec();
    let r = s.send(req);
    assert_eq!(r.status, 500);
    assert!(r.reason.starts_with("Not a HASH reference"));
}

#[test]
fn query_merges_over_body_and_dc_is_dropped() {
    let s = sim("9.1");
    let root = s.root();
    let Auth::Ticket { ticket, csrf } = &root else {
        unreachable!()
    };
    let mut req = raw("POST", "/api2/json/access/groups");
    req.headers
        .insert("cookie".into(), format!("PVEAuthCookie={}", enc(ticket)));
    req.headers
        .insert("csrfpreventiontoken".into(), csrf.clone());
    req.body = b"groupid=frombody&comment=c".to_vec();
    req.query = b"groupid=fromquery&_dc=123".to_vec();
    s.send(req).ok();
    let g = s.root_ok("GET", "/access/groups/fromquery", &[]);
    assert_eq!(g["comment"], "c");
}

#[test]
fn repeated_form_keys_become_lists() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "g1")]);
    s.root_ok("POST", "/access/groups", &[("groupid", "g2")]);
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "a@pve"), ("groups", "g1"), ("groups", "g2")],
    );
    let u = s.root_ok("GET", "/access/users/a@pve", &[]);
    assert_eq!(u["groups"], json!(["g1", "g2"]));
    // a repeated key for a non-list parameter is a type error
    let root = s.root();
    let r = s.call(
        "PUT",
        "/access/users/a@pve",
        &root,
        &[("comment", "x"), ("comment", "y")],
    );
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("comment"),
        "type check ('string') failed - got ARRAY"
    );
}

#[test]
fn uri_parameter_conflicts() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/users", &[("userid", "a@pve")]);
    let root = s.root();
    let r = s.call("PUT", "/access/users/a@pve", &root, &[("userid", "b@pve")]);
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("userid"),
        "duplicate parameter (already defined in URI) with conflicting values!"
    );
    // the same value is fine
    s.call(
        "PUT",
        "/access/users/a@pve",
        &root,
        &[("userid", "a@pve"), ("comment", "x")],
    )
    .ok();
}

#[test]
fn error_body_shapes() {
    let s = sim("9.1");
    let root = s.root();
    let r = s.call(
        "POST",
        "/access/users",
        &root,
        &[("userid", "x@pve"), ("bogus", "1")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, "application/json;charset=UTF-8");
    assert_eq!(
        r.body,
        json!({
            "data": null,
            "message": "Parameter verification failed.\n",
            "errors": {"bogus": "property is not defined in schema and the schema does not allow additional properties"}
        })
    );
    let r = s.call("GET", "/access/users/nobody@pve", &root, &[]);
    r.status(500, "no such user ('nobody@pve')");
    assert_eq!(
        r.body,
        json!({"data": null, "message": "no such user ('nobody@pve')\n"})
    );
}

#[test]
fn permission_check_runs_before_validation() {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    let joe = s.login("joe@pve", "joe-password");
    // root: the invalid userid is a schema error
    let root = s.root();
    let r = s.call("GET", "/access/users/bad", &root, &[]);
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("userid"),
        "invalid format - value 'bad' does not look like a valid user name\n"
    );
    // non-root: the permission check dies first with the plain message
    let r = s.call("GET", "/access/users/bad", &joe, &[]);
    r.status(500, "value 'bad' does not look like a valid user name");
    // and a role ID refusal comes after the permission check
    s.call("POST", "/access/roles", &joe, &[("roleid", "PVEx")])
        .status(403, "Permission check failed (/access, Sys.Modify)");
}

#[test]
fn version_and_index() {
    let s = sim("9.1");
    let root = s.root();
    let v = s.call("GET", "/version", &root, &[]);
    assert_eq!(v.ok()["release"], "9.1");
    assert!(v.ok()["version"].as_str().unwrap().starts_with("9.1."));
    let v8 = sim("8.4");
    let root8 = v8.root();
    assert_eq!(
        v8.call("GET", "/version", &root8, &[]).ok()["release"],
        "8.4"
    );
    let idx = s.call("GET", "/access", &root, &[]);
    let dirs: Vec<&str> = idx
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["subdir"].as_str().unwrap())
        .collect();
    assert_eq!(
        dirs,
        ["users", "groups", "roles", "acl", "domains", "openid", "tfa", "ticket", "password"]
    );
    // domains need no authentication
    let d = s.call("GET", "/access/domains", &Auth::None, &[]);
    assert_eq!(
        d.ok(),
        &json!([
            {"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
            {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}
        ])
    );
    assert_eq!(d.kind, "none");
    assert_eq!(
        s.call("GET", "/access/ticket", &Auth::None, &[]).ok(),
        &json!(null)
    );
}

#[test]
fn authentication_exemptions_compare_the_exact_uri() {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    let joe = s.login("joe@pve", "joe-password");
    // `/access/ticket/` is not exempt: it needs credentials, and a 'world'
    // method called with credentials fails the permission check
    s.call("GET", "/access/ticket/", &Auth::None, &[])
        .status(401, "No ticket");
    s.call("GET", "/access/ticket/", &joe, &[])
        .status(403, "Permission check failed");
    s.call("GET", "/access/ticket", &joe, &[]).ok();
}
