//! [`ApiError`]: what went wrong with one request, worded for a task's `msg`.

use serde_json::Value;
use std::fmt;

/// What kind of failure an [`ApiError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection options are wrong or incomplete; nothing was sent.
    Config,
    /// The server could not be reached or dropped the connection.
    Connect,
    /// The TLS handshake failed: certificate not trusted or not the pinned one.
    Tls,
    /// No answer within `api_timeout` (reads; a write becomes `OutcomeUnknown`).
    Timeout,
    /// The server answered with an error status (`status` is set).
    Http,
    /// A write was sent but its answer was lost: it may or may not have been
    /// applied. [`crate::Client::send_settled`] settles it by reading back.
    OutcomeUnknown,
    /// The answer could not be understood (not JSON, unexpected shape).
    Unexpected,
    /// The local backend's `pvesh` could not be run.
    Local,
}

/// A failed request. `Display` is `METHOD /path: STATUS text`, e.g.
/// `PUT /access/acl: 403 Permission check failed (/, Permissions.Modify)`;
/// configuration errors (empty `method`) are just the text.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub message: String,
    pub kind: ErrorKind,
}

impl ApiError {
    pub fn new(
        kind: ErrorKind,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            method: method.to_string(),
            path: path.to_string(),
            status,
            message: message.into(),
            kind,
        }
    }

    /// A problem with the connection options, found before connecting.
    pub fn config(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Config, "", "", None, message)
    }

    /// An answer that does not have the expected shape.
    pub fn unexpected(method: &str, path: &str, message: String) -> ApiError {
        ApiError::new(ErrorKind::Unexpected, method, path, None, message)
    }

    /// PVE's "not found" answers to reading one object: the 500s `no such
    /// user ('x')`, `group 'x' does not exist`, `no such token 'x' for user
    /// 'y'` (PVE has no 404 there; a 404 is accepted too).
    pub fn is_not_found(&self) -> bool {
        if self.kind != ErrorKind::Http || !matches!(self.status, Some(404 | 500)) {
            return false;
        }
        let m = self.message.to_ascii_lowercase();
        m.contains("no such user") || m.contains("no such token") || m.contains("does not exist")
    }

    /// Replaces every occurrence of each secret (password, token secret,
    /// ticket...) in the message. Very short values are left alone: they
    /// would garble the text and are no real secret.
    pub(crate) fn scrub<'a>(mut self, secrets: impl IntoIterator<Item = &'a str>) -> ApiError {
        for s in secrets {
            if s.len() >= 3 && self.message.contains(s) {
                self.message = self.message.replace(s, "********");
            }
        }
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.method.is_empty() {
            write!(f, "{} {}: ", self.method, self.path)?;
        }
        if let Some(status) = self.status {
            write!(f, "{status} ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for ansible_module::Failure {
    fn from(e: ApiError) -> ansible_module::Failure {
        let failure = ansible_module::Failure::new(e.to_string());
        match e.status {
            Some(status) => failure.with("status", status),
            None => failure,
        }
    }
}

/// The text of a PVE error answer: the `message` of the JSON body (complete,
/// also on PVE 9) or else the reason phrase (the message's first line), with
/// the body's per-parameter `errors` and any further message lines in
/// parentheses: `Parameter verification failed. (userid: invalid format - ...)`.
pub(crate) fn pve_text(reason: &str, body: &str) -> String {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or(reason);
    let mut details = Vec::new();
    if let Some(errors) = json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .and_then(Value::as_object)
    {
        let mut keys: Vec<&String> = errors.keys().collect();
        keys.sort();
        for key in keys {
            let text = match &errors[key.as_str()] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            details.push(format!("{key}: {}", one_line(&text)));
        }
    }
    with_details(message, details)
}

/// Joins a multi-line PVE message: first line, then the other lines in
/// parentheses. A line that only closes a parenthesis continues the line
/// before (PVE's "need proper ticket.\n)" quirk).
pub(crate) fn with_details(message: &str, extra: Vec<String>) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next().unwrap_or("").to_string();
    let mut details: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with(')') {
            match details.last_mut() {
                Some(d) => d.push_str(line),
                None => first.push_str(line),
            }
        } else {
            details.push(line.to_string());
        }
    }
    for d in extra {
        if !details.contains(&d) {
            details.push(d);
        }
    }
    if first.is_empty() {
        first = "(no error text)".to_string();
    }
    if details.is_empty() {
        first
    } else {
        format!("{first} ({})", details.join("; "))
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// PVE's answer when it could not take the cluster-wide lock of `user.cfg`
/// in time: the request was not applied and may be sent again. (A `got lock
/// timeout - aborting command` is different: the command ran too long under
/// the lock and may have been partly applied.)
pub(crate) fn is_lock_timeout(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("got lock request timeout")
        || (t.contains("can't lock file") && t.contains("got timeout"))
}

#[cfg(test)]
#[path = "tests/error.rs"]
mod tests;
