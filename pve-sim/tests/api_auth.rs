//! Authentication: login and its failures, ticket lifetime and
//! renewal, CSRF tokens, API tokens, disabled/expired users and tokens, the
//! API-token restriction and the 401 hold-back.

mod api_common;

use std::collections::BTreeMap;

use api_common::*;
use pve_sim::api::Api;
use pve_sim::http::{Handler, Request};
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn with_joe() -> Sim {
    let s = sim("9.1");
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "joe@pve"), ("password", "joe-password")],
    );
    s
}

#[test]
fn root_login_shape() {
    let s = sim("9.1");
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "root@pam"), ("password", ROOT_PW)],
    );
    let d = r.ok();
    assert_eq!(d["username"], "root@pam");
    let ticket = d["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("PVE:root@pam:"), "{ticket}");
    let parts: Vec<&str> = ticket.splitn(4, ':').collect();
    assert_eq!(parts[2].len(), 8);
    assert!(parts[3].starts_with(':'));
    let csrf = d["CSRFPreventionToken"].as_str().unwrap();
    assert_eq!(&csrf[..8], parts[2]);
    let cap = d["cap"].as_object().unwrap();
    for k in ["vms", "access", "storage", "nodes", "sdn", "dc", "mapping"] {
        assert!(cap.contains_key(k), "{k}");
    }
    assert_eq!(cap["access"]["Permissions.Modify"], 1);
    assert_eq!(cap["dc"]["Sys.Audit"], 1);
    assert!(cap["access"].get("Realm.AllocateUser").is_none());
    // realm as separate parameter
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[
            ("username", "root"),
            ("realm", "pam"),
            ("password", ROOT_PW),
        ],
    );
    assert_eq!(r.ok()["username"], "root@pam");
}

#[test]
fn every_login_failure_is_the_same_401() {
    let s = with_joe();
    s.root_ok(
        "POST",
        "/access/users",
        &[
            ("userid", "off@pve"),
            ("password", "off-password"),
            ("enable", "0"),
        ],
    );
    s.root_ok(
        "POST",
        "/access/users",
        &[
            ("userid", "old@pve"),
            ("password", "old-password"),
            ("expire", "1000"),
        ],
    );
    s.root_ok("POST", "/access/users", &[("userid", "nopw@pve")]);
    let cases: &[&[(&str, &str)]] = &[
        &[("username", "root@pam"), ("password", "wrong")],
        &[("username", "joe@pve"), ("password", "wrong")],
        &[("username", "nobody@pve"), ("password", "x")],
        &[("username", "off@pve"), ("password", "off-password")],
        &[("username", "old@pve"), ("password", "old-password")],
        &[("username", "nopw@pve"), ("password", "x")],
        &[("username", "joe@nosuchrealm"), ("password", "x")],
        &[("username", "not a user"), ("password", "x")],
        &[
            ("username", "root@pam"),
            ("realm", "pam"),
            ("password", ROOT_PW),
        ],
        &[("username", "joe@pve"), ("password", "")],
    ];
    for params in cases {
        let r = s.call("POST", "/access/ticket", &Auth::None, params);
        r.status(401, "authentication failure");
        assert_eq!(
            r.body,
            json!({"data": null, "message": "authentication failure\n"}),
            "{params:?}"
        );
    }
    // a pam user other than root cannot log in
    s.root_ok("POST", "/access/users", &[("userid", "carol@pam")]);
    s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "carol@pam"), ("password", ROOT_PW)],
    )
    .status(401, "authentication failure");
    // schema errors are still 400
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "root@pam")],
    );
    r.status(400, "Parameter verification failed.");
    assert_eq!(
        r.error("password"),
        "property is missing and it is not optional"
    );
}

#[test]
fn pve_user_login_and_ticket_use() {
    let s = with_joe();
    let joe = s.login("joe@pve", "joe-password");
    let r = s.call("GET", "/access/users", &joe, &[]);
    assert_eq!(r.kind, "ticket");
    let users: Vec<&str> = r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userid"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["joe@pve"]);
}

#[test]
fn ticket_renewal_with_ticket_as_password() {
    let s = with_joe();
    let Auth::Ticket { ticket, .. } = s.login("joe@pve", "joe-password") else {
        unreachable!()
    };
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "joe@pve"), ("password", &ticket)],
    );
    assert_eq!(r.ok()["username"], "joe@pve");
    // a ticket of another (non-root) user is no password
    s.root_ok(
        "POST",
        "/access/users",
        &[("userid", "max@pve"), ("password", "max-password")],
    );
    s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "max@pve"), ("password", &ticket)],
    )
    .status(401, "authentication failure");
    // root's ticket works for anyone
    let Auth::Ticket { ticket: rt, .. } = s.root() else {
        unreachable!()
    };
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[("username", "max@pve"), ("password", &rt)],
    );
    assert_eq!(r.ok()["username"], "max@pve");
}

#[test]
fn verify_mode_with_path_and_privs() {
    let s = with_joe();
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("users", "joe@pve"),
            ("roles", "PVEVMUser"),
        ],
    );
    let ok = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[
            ("username", "joe@pve"),
            ("password", "joe-password"),
            ("path", "/vms/100"),
            ("privs", "VM.Console"),
        ],
    );
    let d = ok.ok();
    assert_eq!(d["username"], "joe@pve");
    assert!(d.get("ticket").is_none());
    assert!(d.get("cap").is_some());
    s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[
            ("username", "joe@pve"),
            ("password", "joe-password"),
            ("path", "/vms/100"),
            ("privs", "VM.Allocate"),
        ],
    )
    .status(401, "authentication failure");
    let r = s.call(
        "POST",
        "/access/ticket",
        &Auth::None,
        &[
            ("username", "joe@pve"),
            ("password", "joe-password"),
            ("path", "/vms/100"),
        ],
    );
    assert_eq!(r.error("privs"), "missing property required by 'path'");
}

#[test]
fn no_credentials_bad_and_expired_tickets() {
    let s = with_joe();
    let r = s.call("GET", "/access/users", &Auth::None, &[]);
    r.status(401, "No ticket");
    assert!(r.raw.is_empty());
    assert_eq!(r.content_type, "");
    let bad = Auth::Ticket {
        ticket: "PVE:root@pam:00000000::AAAA".into(),
        csrf: String::new(),
    };
    s.call("GET", "/access/users", &bad, &[])
        .status(401, "Authentication failed!");
    let t = now();
    let old = Auth::Ticket {
        ticket: s.api.assemble_ticket("joe@pve", t - 7200).unwrap(),
        csrf: s.api.assemble_csrf("joe@pve", t - 7200).unwrap(),
    };
    s.call("GET", "/access/users", &old, &[])
        .status(401, "Authentication failed!");
    let nearly = Auth::Ticket {
        ticket: s.api.assemble_ticket("joe@pve", t - 7000).unwrap(),
        csrf: s.api.assemble_csrf("joe@pve", t - 7000).unwrap(),
    };
    s.call("GET", "/access/users", &nearly, &[]).ok();
    // another simulator's ticket
    let other = sim("9.1");
    let foreign = other.ticket_for("root@pam");
    s.call("GET", "/access/users", &foreign, &[])
        .status(401, "Authentication failed!");
}

#[test]
fn ticket_of_disabled_expired_or_deleted_user_fails() {
    let s = with_joe();
    let joe = s.login("joe@pve", "joe-password");
    s.call("GET", "/version", &joe, &[]).ok();
    s.root_ok("PUT", "/access/users/joe@pve", &[("enable", "0")]);
    s.call("GET", "/version", &joe, &[])
        .status(401, "Authentication failed!");
    s.root_ok(
        "PUT",
        "/access/users/joe@pve",
        &[("enable", "1"), ("expire", "1000")],
    );
    s.call("GET", "/version", &joe, &[])
        .status(401, "Authentication failed!");
    s.root_ok("PUT", "/access/users/joe@pve", &[("expire", "0")]);
    s.call("GET", "/version", &joe, &[]).ok();
    s.root_ok("DELETE", "/access/users/joe@pve", &[]);
    s.call("GET", "/version", &joe, &[])
        .status(401, "Authentication failed!");
}

#[test]
fn csrf_is_required_for_ticket_writes_only() {
    let s = with_joe();
    let Auth::Ticket { ticket, csrf } = s.login("joe@pve", "joe-password") else {
        unreachable!()
    };
    let mut headers = BTreeMap::new();
    headers.insert(
        "cookie".to_string(),
        format!("PVEAuthCookie={}", enc(&ticket)),
    );
    let req = Request {
        method: "PUT".into(),
        path: "/api2/json/access/users/joe@pve".into(),
        query: vec![],
        headers: headers.clone(),
        body: b"comment=x".to_vec(),
    };
    let r = s.send(req.clone());
    r.status(401, "Permission denied - invalid csrf token");
    assert!(r.raw.is_empty());
    // a CSRF token of another user
    let mut wrong = req.clone();
    wrong.headers.insert(
        "csrfpreventiontoken".into(),
        s.api.assemble_csrf("root@pam", now()).unwrap(),
    );
    s.send(wrong)
        .status(401, "Permission denied - invalid csrf token");
    // the ticket in the Authorization header works as well
    let mut alt = req.clone();
    alt.headers.remove("cookie");
    alt.headers
        .insert("authorization".into(), format!("PVEAuthCookie={ticket}"));
    alt.headers
        .insert("csrfpreventiontoken".into(), csrf.clone());
    // joe may not modify users: the request got past authentication
    s.send(alt)
        .status(403, "Permission check failed (/access/groups, User.Modify)");
}

#[test]
fn api_tokens() {
    let s = with_joe();
    s.root_ok(
        "PUT",
        "/access/acl",
        &[("path", "/"), ("users", "joe@pve"), ("roles", "PVEAuditor")],
    );
    let tok = s.token("joe@pve", "ci", &[("privsep", "0")]);
    let r = s.call("GET", "/access/users", &tok, &[]);
    assert_eq!(r.kind, "token");
    r.ok();
    // the space form of the header
    let Auth::Token(value) = &tok else {
        unreachable!()
    };
    let mut headers = BTreeMap::new();
    headers.insert("authorization".to_string(), format!("PVEAPIToken {value}"));
    let req = Request {
        method: "GET".into(),
        path: "/api2/json/version".into(),
        query: vec![],
        headers,
        body: vec![],
    };
    s.send(req).ok();
    // a token is never its owner ("self")
    s.call(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &tok,
        &[("comment", "self")],
    )
    .status(403, "Permission check failed");
    // tokens need no CSRF token for writes
    let root_tok = s.token("root@pam", "admin", &[("privsep", "0")]);
    s.call("POST", "/access/groups", &root_tok, &[("groupid", "g1")])
        .ok();

    let (id, secret) = value.rsplit_once('=').unwrap();
    let wrong = Auth::Token(format!("{id}={}x", secret));
    let r = s.call("GET", "/version", &wrong, &[]);
    r.status(401, "Authentication failed!");
    assert_eq!(r.kind, "token");
    for bad in [
        "joe@pve!ci",
        "joe@pve!nope=abc",
        "nobody@pve!ci=abc",
        "garbage=abc",
    ] {
        s.call("GET", "/version", &Auth::Token(bad.into()), &[])
            .status(401, "Authentication failed!");
    }
}

#[test]
fn token_expiry_and_owner_state() {
    let s = with_joe();
    let expired = s.token("joe@pve", "old", &[("expire", "1000")]);
    s.call("GET", "/version", &expired, &[])
        .status(401, "Authentication failed!");
    let tok = s.token("joe@pve", "ci", &[]);
    s.call("GET", "/version", &tok, &[]).ok();
    s.root_ok("PUT", "/access/users/joe@pve", &[("enable", "0")]);
    s.call("GET", "/version", &tok, &[])
        .status(401, "Authentication failed!");
    s.root_ok(
        "PUT",
        "/access/users/joe@pve",
        &[("enable", "1"), ("expire", "1000")],
    );
    s.call("GET", "/version", &tok, &[])
        .status(401, "Authentication failed!");
    s.root_ok("PUT", "/access/users/joe@pve", &[("expire", "0")]);
    s.call("GET", "/version", &tok, &[]).ok();
    s.root_ok("DELETE", "/access/users/joe@pve/token/ci", &[]);
    s.call("GET", "/version", &tok, &[])
        .status(401, "Authentication failed!");
}

#[test]
fn tokens_refused_where_allowtoken_is_0() {
    let s = with_joe();
    let tok = s.token("joe@pve", "ci", &[]);
    let r = s.call(
        "PUT",
        "/access/password",
        &tok,
        &[
            ("userid", "joe@pve"),
            ("password", "new-password"),
            ("confirmation-password", "joe-password"),
        ],
    );
    r.status(
        403,
        "Permission check failed (URI '/access/password' not available with API token, need proper ticket.",
    );
    assert_eq!(
        r.message(),
        "Permission check failed (URI '/access/password' not available with API token, need proper ticket.\n)\n"
    );
    // POST /access/ticket needs no authentication, but a token header is refused
    let r = s.call(
        "POST",
        "/access/ticket",
        &tok,
        &[("username", "joe@pve"), ("password", "joe-password")],
    );
    r.status(
        403,
        "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.",
    );
}

#[test]
fn unauthorized_answers_are_held_back() {
    let s = sim("9.1");
    let api = Api::new(s.store.clone(), ROOT_PW.into()).with_auth_delay_ms(1234);
    let req = Request {
        method: "GET".into(),
        path: "/api2/json/access/users".into(),
        query: vec![],
        headers: BTreeMap::new(),
        body: vec![],
    };
    let (r, kind) = api.handle(&req);
    assert_eq!((r.status, r.min_delay_ms, kind), (401, 1234, "none"));
    let login = Request {
        method: "POST".into(),
        path: "/api2/json/access/ticket".into(),
        query: vec![],
        headers: BTreeMap::new(),
        body: b"username=root@pam&password=nope".to_vec(),
    };
    let (r, _) = api.handle(&login);
    assert_eq!((r.status, r.min_delay_ms), (401, 1234));
    let ok = Request {
        body: format!("username=root@pam&password={ROOT_PW}").into_bytes(),
        ..login
    };
    let (r, _) = api.handle(&ok);
    assert_eq!((r.status, r.min_delay_ms), (200, 0));
}
