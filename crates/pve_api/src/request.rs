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
const SECRET_PARAMS: [&str; 3] = ["password", "confirmation-password", "client-key"];

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

impl ApiRequest {
    /// The parameters with every secret value masked.
    fn shown_params(&self) -> Vec<(&str, &str)> {
        self.params
            .iter()
            .map(|(k, v)| {
                let shown = if SECRET_PARAMS.contains(&k.as_str()) {
                    "********"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect()
    }
}

/// `PUT /access/users/joe@pve comment=x&enable=1`, secrets masked.
impl fmt::Display for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        let params: Vec<String> = self
            .shown_params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !params.is_empty() {
            write!(f, " {}", params.join("&"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.shown_params();
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("params", &params)
            .finish()
    }
}

/// Percent-encodes one path segment (a user, group, role or token id) the
/// way PVE decodes it: pveproxy turns `%XX` in the path into the byte XX and
/// takes each byte as one character (Latin-1), never as UTF-8. So `ü` is
/// sent as `%FC`; `%C3%BC` would reach PVE as `Ã¼`. Characters beyond
/// U+00FF have no such byte: they are sent as UTF-8, which PVE garbles (user
/// ids with them are refused before, see [`crate::ids::parse_userid`]).
/// `@` and `!` stay as they are: they are valid in a path segment and keep
/// paths such as `/access/users/joe@pve/token/ci` readable in logs.
pub fn seg(s: &str) -> String {
    encode(s, b"-_.~@!")
}

/// Percent-encodes everything but ASCII letters, digits and `keep`;
/// characters up to U+00FF as their one Latin-1 byte, as PVE reads paths
/// and cookies.
pub(crate) fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in latin1(s) {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Text as PVE takes the bytes of URL paths, cookies and headers: one byte
/// per character up to U+00FF (Latin-1). A character beyond has no such
/// byte and becomes its UTF-8 bytes, which PVE reads as other characters.
pub(crate) fn latin1(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut utf8 = [0u8; 4];
    for c in s.chars() {
        match u8::try_from(c) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
        }
    }
    out
}

/// `application/x-www-form-urlencoded`, for the query of GET and DELETE and
/// the body of POST and PUT: UTF-8, as PVE decodes parameters; a space is
/// `+`.
pub(crate) fn form(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        for (j, text) in [key, value].into_iter().enumerate() {
            if j > 0 {
                out.push('=');
            }
            for b in text.bytes() {
                match b {
                    b' ' => out.push('+'),
                    b'*' | b'-' | b'.' | b'_' => out.push(char::from(b)),
                    _ if b.is_ascii_alphanumeric() => out.push(char::from(b)),
                    _ => push_escaped(&mut out, b),
                }
            }
        }
    }
    out
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The path as PVE sees it after pveproxy decoded it: `%XX` becomes the
/// character U+00XX. This undoes [`seg`], and gives `pvesh` (which takes the
/// path as text) what the API would have seen.
pub(crate) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let hex = rest
            .get(i + 1..i + 3)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 3..];
            }
            _ => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "tests/request.rs"]
mod tests;
