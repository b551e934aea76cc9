//! One planned API call ([`ApiRequest`]) and path encoding ([`seg`]).

use std::fmt;

/// The HTTP methods PVE's API uses (`pvesh get|create|set|delete` locally).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters whose values are secrets: never shown by `Debug`, and scrubbed
/// from any error the request produces.
const SECRET_PARAMS: [&str; 2] = ["password", "confirmation-password"];

/// One planned API call: what planners return and [`crate::Client::send`]
/// performs. `path` is relative to `/api2/json` with each variable segment
/// encoded by [`seg`]; GET and DELETE send `params` in the query string, POST
/// and PUT as a form body.
#[derive(Clone, PartialEq)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            method,
            path: path.into(),
            params: Vec::new(),
        }
    }
    pub fn get(path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(Method::Get, path)
    }
    pub fn post(path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(Method::Post, path)
    }
    pub fn put(path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(Method::Put, path)
    }
    pub fn delete(path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(Method::Delete, path)
    }
    /// Adds one parameter (a key may repeat; PVE then gets a list).
    pub fn param(mut self, key: impl Into<String>, value: impl ToString) -> ApiRequest {
        self.params.push((key.into(), value.to_string()));
        self
    }
    /// The value of a parameter, if given.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Values of secret parameters, to scrub from errors.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &str> {
        self.secret_params().map(|(_, v)| v)
    }
    /// The secret parameters (key, value): never on a command line.
    pub(crate) fn secret_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .filter(|(k, _)| SECRET_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| {
                let shown = if SECRET_PARAMS.contains(&k.as_str()) {
                    "********"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("params", &params)
            .finish()
    }
}

/// Percent-encodes one path segment (a user, group, role or token id).
/// `@` and `!` stay as they are: they are valid in a path segment and keep
/// paths such as `/access/users/joe@pve/token/ci` readable in logs.
pub fn seg(s: &str) -> String {
    encode(s, b"-_.~@!")
}

/// Percent-encodes everything but ASCII letters, digits and `keep`.
pub(crate) fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Undoes [`seg`] (for `pvesh`, which takes the path as it is).
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "tests/request.rs"]
mod tests;
