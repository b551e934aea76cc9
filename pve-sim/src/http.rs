//! The boundary between the transport (`crate::server`: TLS, HTTP/1.1 parsing,
//! faults, request log) and the API (`crate::api`: routing, schema checks,
//! auth, permissions, handlers). The transport turns bytes into a `Request`,
//! asks the API for a `Response`, and writes it back.

use std::collections::BTreeMap;

/// One parsed HTTP request, already split and decoded.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, ... exactly as sent.
    pub method: String,
    /// The URL-decoded path as sent, e.g. `/api2/json/access/users/joe@pve`
    /// (without query string).
    pub path: String,
    /// The query string as sent (between `?` and `#`): the API decodes it
    /// as PVE does, like a form body.
    pub query: Vec<u8>,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The raw body (at most 512 KiB; the transport answers larger bodies itself).
    pub body: Vec<u8>,
}

/// One HTTP response. `reason` is the status line's reason phrase, where PVE
/// puts its error text.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Extra headers (Content-Type is set from `content_type`).
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Answer no sooner than this after the request arrived (PVE delays 401s by 3 s).
    pub min_delay_ms: u64,
}

/// What the transport calls for every request. The API implements it; the
/// transport's tests use stand-ins.
pub trait Handler: Send + Sync + 'static {
    /// `auth_kind` of the request log ("ticket", "token", "none") is returned
    /// alongside the response.
    fn handle(&self, req: &Request) -> (Response, &'static str);
}
