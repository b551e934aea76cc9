//! The client against a real HTTPS server (see `common`): TLS checks,
//! both kinds of authentication, retries, lost writes, error texts.

mod common;

use common::{Certs, Reply, Req, Server};
use pve_api::{ApiError, ApiRequest, Client, ErrorKind, Identity};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOCK_TIMEOUT: &str = "cfs-lock 'file-user_cfg' error: got lock request timeout";
const TOKEN: &str = "ci@pve!deploy";
const SECRET: &str = "0b7ac1f2-5d6e-4c1a-9e0f-123456789abc";

fn version(_: &Req) -> Reply {
    Reply::data(json!({"version": "9.1.1", "release": "9.1"}))
}

fn token_params(server: &Server, extra: Value) -> ansible_module::Params {
    let mut all = json!({"api_token_id": TOKEN, "api_token_secret": SECRET});
    if let (Value::Object(a), Value::Object(e)) = (&mut all, extra) {
        a.extend(e);
    }
    server.params(all)
}

fn connect_err(params: &ansible_module::Params) -> ApiError {
    match Client::connect(params) {
        Ok(c) => match c.get("/version") {
            Ok(v) => panic!("unexpectedly connected: {v}"),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

// ---- TLS -------------------------------------------------------------------

#[test]
fn pinned_fingerprint_is_accepted_in_any_notation() {
    let server = Server::start(version);
    for fp in [
        server.certs.fingerprint(),
        server.certs.fingerprint().replace(':', "").to_lowercase(),
    ] {
        let client = Client::connect(&token_params(&server, json!({"fingerprint": fp}))).unwrap();
        assert_eq!(client.get("/version").unwrap()["release"], "9.1");
    }
}

#[test]
fn pinned_fingerprint_ignores_name_chain_and_expiry() {
    let certs = Certs::new(&["other.example"], true);
    let server = Server::with_certs(certs, version);
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(client.get("/version").unwrap()["version"], "9.1.1");
}

#[test]
fn wrong_fingerprint_is_refused_with_both_fingerprints() {
    let server = Server::start(version);
    let wrong = "AB:".repeat(31) + "AB";
    let e = connect_err(&token_params(&server, json!({"fingerprint": wrong})));
    assert_eq!(e.kind, ErrorKind::Tls, "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("GET /version: the certificate of 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains(&format!("expected {wrong}")), "{text}");
    assert!(
        text.contains(&format!("presented {}", server.certs.fingerprint())),
        "{text}"
    );
    assert!(text.contains("update fingerprint"), "{text}");
    // a refused certificate is not retried
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn validate_certs_false_accepts_an_untrusted_certificate() {
    let server = Server::with_certs(Certs::new(&["other.example"], true), version);
    let params = token_params(
        &server,
        json!({"fingerprint": null, "validate_certs": false}),
    );
    let client = Client::connect(&params).unwrap();
    assert_eq!(client.get("/version").unwrap()["release"], "9.1");
}

#[test]
fn default_verification_refuses_a_private_ca() {
    let server = Server::start(version);
    let e = connect_err(&token_params(&server, json!({"fingerprint": null})));
    assert_eq!(e.kind, ErrorKind::Tls, "{e}");
    let text = e.to_string();
    assert!(text.contains("is not signed by a trusted CA"), "{text}");
    assert!(text.contains(&server.certs.fingerprint()), "{text}");
    for option in ["ca_path", "fingerprint", "validate_certs: false"] {
        assert!(text.contains(option), "{text}");
    }
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn ca_path_trusts_the_ca_for_the_names_of_the_certificate() {
    let server = Server::start(version);
    let ca = server.ca_file();
    for host in [
        format!("localhost:{}", server.port),
        format!("https://127.0.0.1:{}/api2/json", server.port),
    ] {
        let params = token_params(
            &server,
            json!({"fingerprint": null, "ca_path": ca, "api_host": host}),
        );
        let client = Client::connect(&params).unwrap();
        assert_eq!(client.get("/version").unwrap()["release"], "9.1", "{host}");
    }
}

#[test]
fn ca_path_still_checks_expiry_and_name() {
    let server = Server::with_certs(Certs::new(&["localhost"], true), version);
    let params = token_params(
        &server,
        json!({"fingerprint": null, "ca_path": server.ca_file(),
        "api_host": format!("localhost:{}", server.port)}),
    );
    let e = connect_err(&params);
    assert!(e.to_string().contains("has expired"), "{e}");

    let server = Server::with_certs(Certs::new(&["pve1.example"], false), version);
    let params = token_params(
        &server,
        json!({"fingerprint": null, "ca_path": server.ca_file()}),
    );
    let e = connect_err(&params);
    assert!(e.to_string().contains("not valid for that name"), "{e}");
}

#[test]
fn bad_tls_options_fail_before_connecting() {
    let server = Server::start(version);
    let e = Client::connect(&token_params(&server, json!({"fingerprint": "12:34"}))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.to_string()
            .starts_with("fingerprint must be the SHA-256 fingerprint"),
        "{e}"
    );
    let e = Client::connect(&token_params(
        &server,
        json!({"fingerprint": null, "ca_path": "/nonexistent/ca.pem"}),
    ))
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.to_string()
            .starts_with("ca_path: cannot read /nonexistent/ca.pem"),
        "{e}"
    );
    let e = Client::connect(&token_params(
        &server,
        json!({"api_host": "http://127.0.0.1"}),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("only served over HTTPS"), "{e}");
    assert_eq!(server.requests().len(), 0);
}

// ---- authentication --------------------------------------------------------

const TICKET: &str = "PVE:root@pam:6650A1B2::c2lnbmF0dXJl+/abc==";
const CSRF: &str = "6650A1B2:Y3NyZi10b2tlbg";

fn pve_with_login(req: &Req) -> Reply {
    if req.is("POST", "/access/ticket") {
        return if req.body == "username=root%40pam&password=s3cret%21pw" {
            Reply::data(
                json!({"username": "root@pam", "ticket": TICKET, "CSRFPreventionToken": CSRF}),
            )
        } else {
            Reply::error(401, "authentication failure")
        };
    }
    let cookie = req
        .header("Cookie")
        .and_then(|c| c.strip_prefix("PVEAuthCookie="));
    if cookie.map(common::unescape).as_deref() != Some(TICKET) {
        return Reply::Raw(401, "No ticket".into(), String::new());
    }
    if req.method != "GET" && req.header("CSRFPreventionToken") != Some(CSRF) {
        return Reply::Raw(
            401,
            "Permission denied - invalid csrf token".into(),
            String::new(),
        );
    }
    Reply::data(json!({"method": req.method, "path": req.path, "body": req.body}))
}

#[test]
fn password_login_sends_cookie_and_csrf_on_writes() {
    let server = Server::start(pve_with_login);
    let client = Client::connect(&server.params(json!({"api_password": "s3cret!pw"}))).unwrap();
    assert_eq!(client.identity(), &Identity::User("root@pam".into()));
    assert_eq!(
        client.get("/access/users").unwrap()["path"],
        "/access/users"
    );
    let put = ApiRequest::put("/access/users/joe@pve")
        .param("comment", "a b&c")
        .param("enable", 1);
    assert_eq!(
        client.send(&put).unwrap()["body"],
        "comment=a+b%26c&enable=1"
    );
    let del = ApiRequest::delete("/access/users/joe@pve/token/ci").param("x", "1");
    assert_eq!(
        client.send(&del).unwrap()["path"],
        "/access/users/joe@pve/token/ci?x=1"
    );
    assert_eq!(client.requests_made(), 4);

    let reqs = server.requests();
    assert_eq!(reqs[0].header("Cookie"), None);
    assert_eq!(
        reqs[0].header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        reqs[1].header("CSRFPreventionToken"),
        None,
        "no CSRF token on GET"
    );
    let cookie = reqs[1].header("Cookie").unwrap();
    assert!(
        cookie.starts_with("PVEAuthCookie=PVE%3Aroot%40pam%3A") && !cookie.contains('+'),
        "{cookie}"
    );
    assert_eq!(reqs[2].header("CSRFPreventionToken"), Some(CSRF));
    assert_eq!(reqs[3].header("CSRFPreventionToken"), Some(CSRF));
    assert!(reqs.iter().all(|r| r.header("Authorization").is_none()));
}

#[test]
fn failed_login_names_the_options_and_hides_the_password() {
    let server = Server::start(pve_with_login);
    let e = Client::connect(&server.params(json!({"api_password": "wrong-password"}))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "POST /access/ticket: 401 authentication failure (check api_user and api_password)"
    );
    assert_eq!((e.kind, e.status), (ErrorKind::Http, Some(401)));
    let failure: ansible_module::Failure = e.clone().into();
    assert_eq!(failure.extra["status"], 401);
    assert!(!format!("{e:?}").contains("wrong-password"));
    assert_eq!(
        server.count("POST", "/access/ticket"),
        1,
        "a 401 is not retried"
    );
}

#[test]
fn token_authorization_header() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let server = Server::start(move |req: &Req| {
        seen2
            .lock()
            .unwrap()
            .push(req.header("Authorization").map(str::to_string));
        Reply::data(json!(null))
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(
        client.identity(),
        &Identity::Token {
            owner: "ci@pve".into(),
            full: TOKEN.into(),
        }
    );
    client
        .send(&ApiRequest::put("/access/acl").param("path", "/"))
        .unwrap();
    // the bare name belongs to api_user; the whole token in api_token
    let bare = server
        .params(json!({"api_user": "joe@pve", "api_token_id": "ci", "api_token_secret": SECRET}));
    Client::connect(&bare).unwrap().get("/version").unwrap();
    let whole =
        server.params(json!({"api_token": format!("{TOKEN}={SECRET}"), "api_password": "pw"}));
    Client::connect(&whole).unwrap().get("/version").unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Some(format!("PVEAPIToken={TOKEN}={SECRET}")),
            Some(format!("PVEAPIToken=joe@pve!ci={SECRET}")),
            Some(format!("PVEAPIToken={TOKEN}={SECRET}")),
        ]
    );
    let reqs = server.requests();
    assert!(reqs
        .iter()
        .all(|r| r.header("Cookie").is_none() && r.header("CSRFPreventionToken").is_none()));
    assert_eq!(
        server.count("POST", "/access/ticket"),
        0,
        "no login with a token"
    );
}

#[test]
fn rejected_token_says_which_options_to_check() {
    let server =
        Server::start(|_: &Req| Reply::Raw(401, "Authentication failed!".into(), String::new()));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client.get("/version").unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /version: 401 Authentication failed! (check api_token_id and api_token_secret)"
    );
}

#[test]
fn check_login_is_sent_without_our_credentials() {
    let server = Server::start(|req: &Req| {
        if req.header("Authorization").is_some() {
            return Reply::error(403, "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.\n)");
        }
        if req.body.contains("password=right") {
            Reply::data(
                json!({"ticket": "PVE:joe@pve:X::Y", "CSRFPreventionToken": "X:Y", "username": "joe@pve"}),
            )
        } else {
            Reply::error(401, "authentication failure")
        }
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert!(client.check_login("joe@pve", "right").unwrap());
    assert!(!client.check_login("joe@pve", "wrong").unwrap());
}

// ---- errors ----------------------------------------------------------------

#[test]
fn error_texts_follow_pve() {
    let server = Server::start(|req: &Req| match req.path.as_str() {
        "/access/acl" => Reply::error(403, "Permission check failed (/, Permissions.Modify)"),
        "/access/users" => Reply::param_error(
            json!({"userid": "invalid format - value 'x' does not look like a valid user name\n"}),
        ),
        "/access/users/nobody@pve" => Reply::error(500, "no such user ('nobody@pve')"),
        _ => Reply::Raw(200, "OK".into(), "<html>not PVE</html>".into()),
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client
        .send(&ApiRequest::put("/access/acl").param("path", "/"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "PUT /access/acl: 403 Permission check failed (/, Permissions.Modify)"
    );
    let failure: ansible_module::Failure = e.into();
    assert_eq!(failure.extra["status"], 403);
    let e = client
        .send(&ApiRequest::post("/access/users").param("userid", "x"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "POST /access/users: 400 Parameter verification failed. (userid: invalid format - value 'x' does not look like a valid user name)"
    );
    let e = client.get("/access/users/nobody@pve").unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = client.get("/version").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unexpected);
    assert!(e.to_string().contains("not JSON"), "{e}");
}

#[test]
fn no_secret_in_any_error() {
    // A server that repeats the credentials it got in its error texts.
    let server = Server::start(|req: &Req| {
        if req.is("POST", "/access/ticket") {
            return Reply::data(
                json!({"username": "root@pam", "ticket": TICKET, "CSRFPreventionToken": CSRF}),
            );
        }
        let echo = format!(
            "{} {} {:?} {}",
            req.header("Authorization").unwrap_or(""),
            req.header("Cookie").unwrap_or(""),
            req.header("CSRFPreventionToken"),
            req.body
        );
        Reply::Raw(
            500,
            echo.clone(),
            json!({"data": null, "message": echo}).to_string(),
        )
    });
    let token = Client::connect(&token_params(&server, json!({}))).unwrap();
    let ticket = Client::connect(&server.params(json!({"api_password": "pw-secret-1"}))).unwrap();
    let change = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "new-secret-2")
        .param("confirmation-password", "pw-secret-1");
    for client in [&token, &ticket] {
        for e in [
            client.send(&change).unwrap_err(),
            client.get("/version").unwrap_err(),
        ] {
            for shown in [
                e.to_string(),
                format!("{e:?}"),
                format!("{client:?}"),
                format!("{change:?}"),
            ] {
                for secret in [
                    SECRET,
                    TICKET,
                    "c2lnbmF0dXJl",
                    CSRF,
                    "pw-secret-1",
                    "new-secret-2",
                ] {
                    assert!(!shown.contains(secret), "{secret} in {shown}");
                }
            }
            assert!(e.to_string().contains("********"), "{e}");
        }
    }
}

// ---- transport failures and retries ------------------------------------------

#[test]
fn refused_connection_says_what_to_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(version); // for its fingerprint only
    let params = token_params(&server, json!({"api_host": format!("127.0.0.1:{port}")}));
    let started = Instant::now();
    let e = connect_err(&params);
    assert_eq!(e.kind, ErrorKind::Connect);
    assert_eq!(
        e.to_string(),
        format!("GET /version: cannot connect to 127.0.0.1:{port} (connection refused); check api_host and api_port (tried 3 times)")
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "backoff 250 + 750 ms"
    );
}

#[test]
fn slow_server_times_out_within_api_timeout() {
    let server = Server::start(|_: &Req| {
        Reply::Late(Duration::from_millis(2500), Box::new(Reply::data(json!(1))))
    });
    let client = Client::connect(&token_params(&server, json!({"api_timeout": 1}))).unwrap();
    let started = Instant::now();
    let e = client.get("/version").unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.to_string().contains("within 1 s (api_timeout"), "{e}");
    assert!(e.to_string().ends_with("(tried 3 times)"), "{e}");
    assert_eq!(server.count("GET", "/version"), 3);
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

/// Answers the first `n` requests with `first`, then with `then`.
fn first_n(n: usize, first: fn() -> Reply, then: fn(&Req) -> Reply) -> impl Fn(&Req) -> Reply {
    let count = AtomicUsize::new(0);
    move |req: &Req| {
        if count.fetch_add(1, Ordering::SeqCst) < n {
            first()
        } else {
            then(req)
        }
    }
}

#[test]
fn get_is_retried_after_503_and_lock_timeout() {
    let server = Server::start(first_n(
        2,
        || Reply::error(503, "Service Unavailable"),
        version,
    ));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(client.get("/version").unwrap()["release"], "9.1");
    assert_eq!(
        (server.count("GET", "/version"), client.requests_made()),
        (3, 3)
    );

    let server = Server::start(first_n(2, || Reply::error(500, LOCK_TIMEOUT), version));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(client.get("/version").unwrap()["release"], "9.1");
    assert_eq!(server.count("GET", "/version"), 3);

    let server = Server::start(|_: &Req| Reply::error(503, "Service Unavailable"));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client.get("/version").unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /version: 503 Service Unavailable (tried 3 times)"
    );
    assert_eq!(server.count("GET", "/version"), 3);
}

#[test]
fn write_refused_by_the_cluster_lock_is_sent_again() {
    let server = Server::start(first_n(
        1,
        || Reply::error(500, &format!("ACL update failed: {LOCK_TIMEOUT}")),
        version,
    ));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    client
        .send(&ApiRequest::put("/access/acl").param("path", "/"))
        .unwrap();
    assert_eq!(server.count("PUT", "/access/acl"), 2);
}

#[test]
fn other_server_errors_are_not_retried() {
    let server = Server::start(|_: &Req| {
        Reply::error(500, "create user failed: user 'x@pve' already exists")
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    client.get("/version").unwrap_err();
    client.send(&ApiRequest::post("/access/users")).unwrap_err();
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn write_answered_with_503_is_not_sent_again() {
    let server = Server::start(|_: &Req| Reply::error(503, "Service Unavailable"));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client
        .send(&ApiRequest::post("/access/users").param("userid", "x@pve"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutcomeUnknown);
    assert_eq!(e.status, Some(503));
    assert!(
        e.to_string().contains("may or may not have been applied"),
        "{e}"
    );
    assert_eq!(server.count("POST", "/access/users"), 1);
}

/// A server whose first `drops` writes are dropped without an answer,
/// applying them or not; GET /state tells how many were applied.
fn dropping_server(drops: usize, apply_dropped: bool) -> (Server, Arc<AtomicUsize>) {
    let applied = Arc::new(AtomicUsize::new(0));
    let writes = AtomicUsize::new(0);
    let state = applied.clone();
    let server = Server::start(move |req: &Req| {
        if req.method == "GET" {
            return Reply::data(json!(state.load(Ordering::SeqCst)));
        }
        let n = writes.fetch_add(1, Ordering::SeqCst);
        if n < drops {
            if apply_dropped {
                state.fetch_add(1, Ordering::SeqCst);
            }
            return Reply::Drop;
        }
        state.fetch_add(1, Ordering::SeqCst);
        Reply::data(json!({"value": "new-secret"}))
    });
    (server, applied)
}

fn applied(c: &Client) -> Result<bool, ApiError> {
    Ok(c.get("/state")?.as_u64() == Some(1))
}

#[test]
fn dropped_write_is_not_sent_again_by_send() {
    let (server, _) = dropping_server(1, true);
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client
        .send(&ApiRequest::delete("/access/users/joe@pve/token/ci"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutcomeUnknown, "{e}");
    assert!(
        e.to_string()
            .starts_with("DELETE /access/users/joe@pve/token/ci: the connection to 127.0.0.1:"),
        "{e}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn send_settled_reads_back_instead_of_resending() {
    // applied before the connection dropped: read back, not sent again
    let (server, state) = dropping_server(1, true);
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let req = ApiRequest::post("/access/users/joe@pve/token/ci");
    assert_eq!(client.send_settled(&req, &applied).unwrap(), Value::Null);
    assert_eq!(server.count("POST", "/access/users/joe@pve/token/ci"), 1);
    assert_eq!(state.load(Ordering::SeqCst), 1);

    // not applied: sent again, and its answer is returned
    let (server, state) = dropping_server(1, false);
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(
        client.send_settled(&req, &applied).unwrap()["value"],
        "new-secret"
    );
    assert_eq!(server.count("POST", "/access/users/joe@pve/token/ci"), 2);
    assert_eq!(state.load(Ordering::SeqCst), 1);
    assert_eq!(client.requests_made(), 3);
}

#[test]
fn send_settled_gives_up_after_three_tries() {
    let (server, _) = dropping_server(usize::MAX, false);
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client
        .send_settled(&ApiRequest::put("/access/acl"), &applied)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutcomeUnknown);
    assert!(
        e.to_string().contains("not applied, also after 3 tries"),
        "{e}"
    );
    assert_eq!(server.count("PUT", "/access/acl"), 3);
}

#[test]
fn writes_never_reuse_a_connection() {
    let server = Server::start(|_: &Req| Reply::data(json!(null)));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    client.get("/a").unwrap();
    client.get("/b").unwrap();
    client.send(&ApiRequest::put("/c")).unwrap();
    client.send(&ApiRequest::delete("/d")).unwrap();
    client.get("/e").unwrap();
    let conns: Vec<usize> = server.requests().iter().map(|r| r.conn).collect();
    assert_eq!(conns[0], conns[1], "reads share a connection");
    assert_eq!(conns[4], conns[0]);
    assert!(
        conns[2] != conns[0] && conns[3] != conns[0] && conns[2] != conns[3],
        "{conns:?}"
    );
}

#[test]
fn missing_credentials_are_a_clear_config_error() {
    let server = Server::start(version);
    let e = Client::connect(&server.params(json!({}))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.to_string()
            .starts_with("no credentials for the PVE API: set api_password (or PROXMOX_PASSWORD)"),
        "{e}"
    );
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn dropped_delete_after_another_write_is_not_resent() {
    // A write on a reused connection that fails may or may not have been
    // applied (ureq 2 even repeated it silently): writes are never on one.
    let server = Server::start(first_n(
        1,
        || Reply::data(json!(null)),
        |_: &Req| Reply::Close,
    ));
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    client
        .send(&ApiRequest::delete("/access/users/a@pve"))
        .unwrap();
    let e = client
        .send(&ApiRequest::delete("/access/users/b@pve"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutcomeUnknown, "{e}");
    assert_eq!(server.count("DELETE", "/access/users/b@pve"), 1);
}

// ---- the HTTP/1.1 client itself ----------------------------------------------

#[test]
fn latin1_reason_phrase_is_pve_error_text() {
    // PVE 8.4 and 9.1 write the reason in Latin-1, with the id as raw bytes,
    // and may send no JSON message (the text is then the reason).
    let server = Server::start(|_: &Req| {
        Reply::Bytes(
            b"HTTP/1.1 500 no such user ('j\xfcrgen@pve')\r\nContent-Length: 13\r\n\r\n{\"data\":null}"
                .to_vec(),
        )
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    let e = client.get("/access/users/j%FCrgen@pve").unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /access/users/j%FCrgen@pve: 500 no such user ('jürgen@pve')"
    );
    assert!(e.is_not_found(), "{e}");
}

#[test]
fn chunked_answer_and_the_request_head() {
    let server = Server::start(|_: &Req| {
        Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\nc\r\na\":\"chunks\"}\r\n0\r\n\r\n"
                .to_vec(),
        )
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(client.get("/version").unwrap(), "chunks");
    assert_eq!(client.get("/version").unwrap(), "chunks");
    let reqs = server.requests();
    assert_eq!(reqs[0].conn, reqs[1].conn, "kept after a chunked answer");
    assert_eq!(
        reqs[0].header("Host"),
        Some(format!("127.0.0.1:{}", server.port).as_str())
    );
    assert_eq!(reqs[0].header("Accept"), Some("application/json"));
    assert!(reqs[0]
        .header("User-Agent")
        .is_some_and(|ua| ua.starts_with("pve.access/")));
}

#[test]
fn a_get_on_a_connection_the_server_closed_goes_on_a_new_one() {
    // A server closes an idle kept-alive connection when it likes; the GET
    // that finds it closed is sent on a new connection at once.
    let count = AtomicUsize::new(0);
    let server = Server::start(move |req: &Req| {
        if count.fetch_add(1, Ordering::SeqCst) == 1 {
            Reply::Close
        } else {
            Reply::data(json!(req.path))
        }
    });
    let client = Client::connect(&token_params(&server, json!({}))).unwrap();
    assert_eq!(client.get("/a").unwrap(), "/a");
    assert_eq!(client.get("/b").unwrap(), "/b");
    let conns: Vec<usize> = server.requests().iter().map(|r| r.conn).collect();
    assert_eq!(conns, [0, 0, 1]);
    assert_eq!(client.requests_made(), 2, "no retry of the client was used");
}

/// A port that accepts TCP connections (the kernel does, from the backlog)
/// and never says a word.
fn silent_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn a_hanging_tls_handshake_is_named_and_bounded_by_api_timeout() {
    let (_listener, port) = silent_port();
    let server = Server::start(version); // for its fingerprint only
    let params = token_params(
        &server,
        json!({"api_host": format!("127.0.0.1:{port}"), "api_timeout": 1}),
    );
    let started = Instant::now();
    let e = connect_err(&params);
    let took = started.elapsed();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert_eq!(
        e.to_string(),
        format!("GET /version: the TLS handshake with 127.0.0.1:{port} timed out: the connection was accepted, but no TLS answer came within 1 s (api_timeout); check that api_host and api_port name the PVE API (pveproxy, port 8006) (tried 3 times)")
    );
    // 3 tries of 1 s plus the pauses of 250 and 750 ms
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_millis(5500),
        "{took:?}"
    );
}

#[test]
fn a_trickling_answer_is_cut_at_api_timeout() {
    // Each read gets a byte in time; the attempt as a whole must not.
    let server = Server::start(|_: &Req| Reply::Trickle(Duration::from_millis(200)));
    let client = Client::connect(&token_params(&server, json!({"api_timeout": 1}))).unwrap();
    let started = Instant::now();
    let e = client.get("/version").unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("within 1 s (api_timeout"), "{e}");
    assert_eq!(server.count("GET", "/version"), 3);
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_millis(5500),
        "{took:?}"
    );
}

#[test]
fn a_line_break_in_the_token_secret_sends_nothing() {
    let server = Server::start(version);
    let client = Client::connect(&token_params(
        &server,
        json!({"api_token_secret": "abc\r\nX-Injected: 1"}),
    ))
    .unwrap();
    let e = client.get("/version").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("Authorization header"), "{e}");
    assert!(!e.to_string().contains("X-Injected"), "{e}");
    assert_eq!(server.requests().len(), 0);
}
