use super::*;

fn http(method: &str, path: &str, status: u16, message: &str) -> ApiError {
    ApiError::new(ErrorKind::Http, method, path, Some(status), message)
}

#[test]
fn display_names_request_status_and_text() {
    let e = http(
        "PUT",
        "/access/acl",
        403,
        &pve_text(
            "Permission check failed (/, Permissions.Modify)",
            r#"{"data":null,"message":"Permission check failed (/, Permissions.Modify)\n"}"#,
        ),
    );
    assert_eq!(
        e.to_string(),
        "PUT /access/acl: 403 Permission check failed (/, Permissions.Modify)"
    );
    assert_eq!(
        ApiError::config("api_host: bad").to_string(),
        "api_host: bad"
    );
}

#[test]
fn parameter_errors_are_listed() {
    let body = r#"{"data":null,"errors":{"userid":"invalid format - value 'x' does not look like a valid user name\n","email":"value does not look like a valid email address"},"message":"Parameter verification failed.\n"}"#;
    let e = http(
        "POST",
        "/access/users",
        400,
        &pve_text("Parameter verification failed.", body),
    );
    assert_eq!(
            e.to_string(),
            "POST /access/users: 400 Parameter verification failed. (email: value does not look like a valid email address; userid: invalid format - value 'x' does not look like a valid user name)"
        );
}

#[test]
fn old_pve_bodies_and_empty_bodies_use_the_reason() {
    assert_eq!(
        pve_text(
            "Parameter verification failed.",
            r#"{"data":null,"errors":{"privs":"bad"}}"#
        ),
        "Parameter verification failed. (privs: bad)"
    );
    assert_eq!(pve_text("No ticket", ""), "No ticket");
    assert_eq!(pve_text("", "<html>"), "(no error text)");
}

#[test]
fn multi_line_messages_keep_their_details() {
    let body = r#"{"data":null,"message":"ACL update failed: 400 Parameter verification failed.\nrole: Cannot add role 'X' - no such role\n"}"#;
    assert_eq!(
            pve_text("ACL update failed: 400 Parameter verification failed.", body),
            "ACL update failed: 400 Parameter verification failed. (role: Cannot add role 'X' - no such role)"
        );
    let body = r#"{"data":null,"message":"Permission check failed (URI '/access/password' not available with API token, need proper ticket.\n)\n"}"#;
    assert_eq!(
            pve_text("Permission check failed (URI '/access/password' not available with API token, need proper ticket.", body),
            "Permission check failed (URI '/access/password' not available with API token, need proper ticket.)"
        );
}

#[test]
fn not_found_is_recognised() {
    for m in [
        "no such user ('joe@pve')",
        "group 'ops' does not exist",
        "role 'X' does not exist",
        "no such token 'ci' for user 'joe@pve'",
    ] {
        assert!(http("GET", "/x", 500, m).is_not_found(), "{m}");
    }
    assert!(!http("GET", "/x", 500, "got lock request timeout").is_not_found());
    assert!(!http("GET", "/x", 403, "no such user").is_not_found());
    let mut e = http("GET", "/x", 500, "no such user ('joe@pve')");
    e.kind = ErrorKind::Timeout;
    assert!(!e.is_not_found());
}

#[test]
fn failure_has_msg_and_status() {
    let f: ansible_module::Failure = http("GET", "/version", 401, "No ticket").into();
    assert_eq!(f.msg, "GET /version: 401 No ticket");
    assert_eq!(f.extra["status"], 401);
    let f: ansible_module::Failure = ApiError::config("no credentials").into();
    assert_eq!(f.msg, "no credentials");
    assert!(!f.extra.contains_key("status"));
}

#[test]
fn scrub_removes_secrets() {
    let e = http("POST", "/access/ticket", 500, "bad password hunter2 for x")
        .scrub(["hunter2", "", "ab"]);
    assert_eq!(e.message, "bad password ******** for x");
}

#[test]
fn lock_timeouts_are_told_apart() {
    assert!(is_lock_timeout(
        "ACL update failed: cfs-lock 'file-user_cfg' error: got lock request timeout"
    ));
    assert!(is_lock_timeout(
        "can't lock file '/var/lock/x.lck' - got timeout"
    ));
    assert!(!is_lock_timeout(
        "cfs-lock 'file-user_cfg' error: got lock timeout - aborting command"
    ));
    assert!(!is_lock_timeout("no such user ('x')"));
}
