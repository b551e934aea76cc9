//! PVE's error shapes: how an exception raised anywhere in a request becomes
//! the HTTP status, the reason phrase and the JSON body a PVE client sees.
//!
//! PVE distinguishes three kinds of failure (pve-http-server's `AnyEvent.pm`
//! and `HTTPServer.pm`): `PVE::Exception`s
//! with a code (400 parameter errors with an `errors` hash, 403 permission
//! errors, 401 login failures), plain `die "text\n"` (always 500), and
//! exceptions re-thrown as strings by `lock_user_config` (500, prefixed with
//! the lock's message). [`ApiError`] models all three; [`ApiError::in_lock`]
//! performs the string conversion PVE's lock wrapper does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::http::Response;

/// `Content-Type` of every JSON answer (PVE's json formatter).
pub const JSON_CT: &str = "application/json;charset=UTF-8";

/// One failed request, as PVE would raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The full message, usually ending in `\n` (PVE keeps it verbatim in
    /// the body; the reason phrase is its first line).
    pub message: String,
    /// Per-parameter messages of a 400 (`raise_param_exc`).
    pub errors: Option<BTreeMap<String, String>>,
    /// Whether this was a `PVE::Exception` with a code (stringified as
    /// `"<code> <msg>"` when re-thrown by the lock wrapper) or a plain `die`.
    coded: bool,
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// `die "<text>\n"`: HTTP 500 with the text as reason phrase.
    pub fn die(text: impl Into<String>) -> ApiError {
        let mut message = text.into();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        ApiError {
            status: 500,
            message,
            errors: None,
            coded: false,
        }
    }

    /// `PVE::Exception->new("<text>", code => <status>)`; the text is kept as given.
    pub fn coded(status: u16, text: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: text.into(),
            errors: None,
            coded: true,
        }
    }

    /// `raise_param_exc({..})`: HTTP 400 `Parameter verification failed.`.
    pub fn param(errors: BTreeMap<String, String>) -> ApiError {
        ApiError {
            status: 400,
            message: "Parameter verification failed.\n".to_string(),
            errors: Some(errors),
            coded: true,
        }
    }

    /// `raise_param_exc({ key => msg })` for one parameter.
    pub fn param1(key: &str, msg: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(key.to_string(), msg.into());
        ApiError::param(errors)
    }

    /// `raise_perm_exc($what)`: HTTP 403 `Permission check failed (<what>)`.
    pub fn perm(what: Option<&str>) -> ApiError {
        let message = match what {
            Some(w) if !w.is_empty() => format!("Permission check failed ({w})\n"),
            _ => "Permission check failed\n".to_string(),
        };
        ApiError {
            status: 403,
            message,
            errors: None,
            coded: true,
        }
    }

    /// `raise_perm_exc("<path>, <privs>")` as produced by `check`/`check_any`.
    pub fn perm_path(path: &str, privs: &str) -> ApiError {
        ApiError::perm(Some(&format!("{path}, {privs}")))
    }

    /// The string `PVE::Exception::stringify` produces (what `"$err"` yields
    /// in Perl): `"<code> <msg>"` plus one `key: value` line per error.
    pub fn stringify(&self) -> String {
        let mut msg = if self.coded {
            format!("{} {}", self.status, self.message)
        } else {
            self.message.clone()
        };
        if !msg.ends_with('\n') {
            msg.push('\n');
        }
        if let Some(errors) = &self.errors {
            for (k, v) in errors {
                msg.push_str(&format!("{k}: {v}\n"));
            }
        }
        msg
    }

    /// What `lock_user_config($code, "<prefix>")` turns an error raised inside
    /// the lock into: a plain `die "<prefix>: $err"`, i.e. HTTP 500 without
    /// an `errors` hash.
    pub fn in_lock(self, prefix: &str) -> ApiError {
        ApiError::die(format!("{prefix}: {}", self.stringify()))
    }

    /// The HTTP response PVE's json formatter builds for this error.
    pub fn to_response(&self) -> Response {
        let mut body = Map::new();
        body.insert("data".to_string(), Value::Null);
        body.insert("message".to_string(), Value::String(self.message.clone()));
        if let Some(errors) = &self.errors {
            if !errors.is_empty() {
                let errs: Map<String, Value> = errors
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                body.insert("errors".to_string(), Value::Object(errs));
            }
        }
        json_response(self.status, &self.message, &Value::Object(body))
    }
}

/// `200 OK` with `{"data": <data>}` and the result attributes an endpoint
/// set beside it (`total`).
pub fn ok_response_with(data: Value, mut attribs: Map<String, Value>) -> Response {
    attribs.insert("data".to_string(), data);
    json_response(200, "OK", &Value::Object(attribs))
}

/// A JSON response whose reason phrase is derived from `message` the way
/// pve-http-server does it (first line; CR left in it degrades the answer to
/// `400 Bad Request` with an empty body).
fn json_response(status: u16, message: &str, body: &Value) -> Response {
    let (status, reason, body) = match reason_phrase(status, message) {
        Some(reason) => (status, reason, serde_json::to_vec(body).unwrap_or_default()),
        None => (400, "Bad Request".to_string(), Vec::new()),
    };
    Response {
        status,
        reason,
        headers: Vec::new(),
        content_type: if body.is_empty() { "" } else { JSON_CT },
        body,
        min_delay_ms: 0,
    }
}

/// A plain-text answer as pve-http-server's `error()` sends it: the message
/// is both the reason phrase and the body, and there is no Content-Type.
pub fn text_response(status: u16, message: &str) -> Response {
    match reason_phrase(status, message) {
        Some(reason) => Response {
            status,
            reason,
            headers: Vec::new(),
            content_type: "",
            body: message.as_bytes().to_vec(),
            min_delay_ms: 0,
        },
        None => bad_request(),
    }
}

/// An answer with a reason phrase and no body at all (authentication
/// failures, unsupported methods).
pub fn empty_response(status: u16, message: &str) -> Response {
    match reason_phrase(status, message) {
        Some(reason) => Response {
            status,
            reason,
            headers: Vec::new(),
            content_type: "",
            body: Vec::new(),
            min_delay_ms: 0,
        },
        None => bad_request(),
    }
}

fn bad_request() -> Response {
    Response {
        status: 400,
        reason: "Bad Request".to_string(),
        headers: Vec::new(),
        content_type: "",
        body: Vec::new(),
        min_delay_ms: 0,
    }
}

/// The first line of `message`, or the standard phrase when it is empty;
/// `None` when a carriage return is left in it.
fn reason_phrase(status: u16, message: &str) -> Option<String> {
    let first = message.split('\n').next().unwrap_or_default();
    if first.contains('\r') {
        return None;
    }
    if first.is_empty() {
        return Some(standard_reason(status).to_string());
    }
    Some(first.to_string())
}

/// HTTP's standard reason phrases for the statuses the simulator uses.
fn standard_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        506 => "Variant Also Negotiates",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_wrapping_of_a_param_exception_loses_errors() {
        let e = ApiError::param1(
            "role",
            "Cannot add role 'NoAccess' - requires 'Permissions.Modify'",
        )
        .in_lock("ACL update failed");
        assert_eq!(e.status, 500);
        assert_eq!(
            e.message,
            "ACL update failed: 400 Parameter verification failed.\nrole: Cannot add role 'NoAccess' - requires 'Permissions.Modify'\n"
        );
        assert!(e.errors.is_none());
        let r = e.to_response();
        assert_eq!(
            r.reason,
            "ACL update failed: 400 Parameter verification failed."
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(body.get("errors").is_none());
    }

    #[test]
    fn plain_die_in_lock_keeps_text() {
        let e = ApiError::die("role 'x' does not exist").in_lock("ACL update failed");
        assert_eq!(e.message, "ACL update failed: role 'x' does not exist\n");
    }

    #[test]
    fn perm_with_newline_quirk() {
        let e = ApiError::perm(Some(
            "URI '/access/password' not available with API token, need proper ticket.\n",
        ));
        let r = e.to_response();
        assert_eq!(r.status, 403);
        assert_eq!(
            r.reason,
            "Permission check failed (URI '/access/password' not available with API token, need proper ticket."
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body["message"],
            "Permission check failed (URI '/access/password' not available with API token, need proper ticket.\n)\n"
        );
    }

    #[test]
    fn carriage_return_degrades_to_400() {
        let r = ApiError::die("user 'a\rb' already exists").to_response();
        assert_eq!(r.status, 400);
        assert!(r.body.is_empty());
    }
}
