//! The HTTPS transport (ureq 2 over rustls): one attempt of one request,
//! classified so that the client knows whether it may be repeated.

use crate::client::{Class, Failed};
use crate::connection::{Endpoint, TlsMode};
use crate::error::{is_lock_timeout, pve_text, ApiError, ErrorKind};
use crate::request::{encode, ApiRequest, Method};
use crate::tls::{self, Connector, HandshakeFailed, Verifier};
use serde_json::Value;
use std::error::Error as _;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What authenticates a request. `Debug` shows no secret.
pub(crate) enum Auth {
    /// Only for the login itself.
    Anonymous,
    /// The whole `Authorization` header value `PVEAPIToken=ID=SECRET`.
    Token(String),
    /// `PVEAuthCookie` plus, on writes, the `CSRFPreventionToken` header.
    Ticket { ticket: String, csrf: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::Anonymous => "Anonymous",
            Auth::Token(_) => "Token(********)",
            Auth::Ticket { .. } => "Ticket(********)",
        })
    }
}

/// Characters of the ticket sent unescaped in the cookie.
pub(crate) const COOKIE_SAFE: &[u8] = b"-_.~";

pub(crate) struct Http {
    pub endpoint: Endpoint,
    /// GETs: connections are kept and reused.
    reads: ureq::Agent,
    /// Writes: a new connection each time, never a pooled one. ureq 2
    /// silently sends a request again when a *reused* connection turns out
    /// to be closed (for a DELETE without body, say), and a write must never
    /// be repeated blindly: the server may have applied it before the
    /// connection died. A fresh connection is never re-sent by ureq, so any
    /// write is sent exactly once per attempt and an unclear outcome comes
    /// back to us. The shared TLS configuration resumes the session, so
    /// the extra handshake is cheap.
    writes: ureq::Agent,
    verifier: Arc<Verifier>,
    timeout: Duration,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("url", &self.endpoint.url(""))
            .field("tls", &self.verifier)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Http {
    pub fn new(endpoint: Endpoint, tls: &TlsMode, timeout: Duration) -> Result<Http, String> {
        let (config, verifier) = tls::client_config(tls)?;
        let agent = |idle: usize| {
            ureq::AgentBuilder::new()
                .tls_connector(Arc::new(Connector(config.clone())))
                .timeout(timeout)
                .redirects(0)
                .max_idle_connections(idle)
                .max_idle_connections_per_host(idle)
                .user_agent(concat!("pve.access/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Http {
            endpoint,
            reads: agent(4),
            writes: agent(0),
            verifier,
            timeout,
        })
    }

    pub fn attempt(&self, req: &ApiRequest, auth: &Auth) -> Result<Value, Failed> {
        let url = self.endpoint.url(&req.path);
        let agent = match req.method {
            Method::Get => &self.reads,
            _ => &self.writes,
        };
        let mut r = agent
            .request(req.method.as_str(), &url)
            .set("Accept", "application/json");
        match auth {
            Auth::Anonymous => {}
            Auth::Token(header) => r = r.set("Authorization", header),
            Auth::Ticket { ticket, csrf } => {
                // PVE URI-unescapes the cookie value. Escaping everything
                // but unreserved characters keeps the ticket's base64 '+'
                // intact whatever decoder the server uses.
                r = r.set(
                    "Cookie",
                    &format!("PVEAuthCookie={}", encode(ticket, COOKIE_SAFE)),
                );
                if req.method != Method::Get {
                    r = r.set("CSRFPreventionToken", csrf);
                }
            }
        }
        let result = match req.method {
            Method::Get | Method::Delete => {
                for (k, v) in &req.params {
                    r = r.query(k, v);
                }
                r.call()
            }
            Method::Post | Method::Put => {
                let form: Vec<(&str, &str)> = req
                    .params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                r.send_form(&form)
            }
        };
        match result {
            Ok(resp) if (200..300).contains(&resp.status()) => self.body(req, resp),
            Ok(resp) => Err(status_failure(req, resp.status(), resp)),
            Err(ureq::Error::Status(code, resp)) => Err(status_failure(req, code, resp)),
            Err(ureq::Error::Transport(t)) => Err(self.transport_failure(req, &t)),
        }
    }

    fn body(&self, req: &ApiRequest, resp: ureq::Response) -> Result<Value, Failed> {
        let text = resp.into_string().map_err(|e| self.io_failure(req, &e))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| Failed {
            err: ApiError::unexpected(
                req.method.as_str(),
                &req.path,
                format!(
                    "the answer is not JSON ({e}); is {} the PVE API?",
                    self.endpoint.url("")
                ),
            ),
            class: Class::Final,
        })?;
        Ok(json.get("data").cloned().unwrap_or(Value::Null))
    }

    fn failed(&self, req: &ApiRequest, kind: ErrorKind, class: Class, msg: String) -> Failed {
        Failed {
            err: ApiError::new(kind, req.method.as_str(), &req.path, None, msg),
            class,
        }
    }

    fn transport_failure(&self, req: &ApiRequest, t: &ureq::Transport) -> Failed {
        let authority = self.endpoint.authority();
        let outer = t.source().and_then(|e| e.downcast_ref::<io::Error>());
        let handshake = outer
            .and_then(io::Error::get_ref)
            .and_then(|e| e.downcast_ref::<HandshakeFailed>());
        let io_err = handshake.map(|h| &h.0).or(outer);
        let tls_err = io_err
            .and_then(io::Error::get_ref)
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        let detail = io_err.map_or_else(|| t.to_string(), ToString::to_string);
        match t.kind() {
            ureq::ErrorKind::Dns => self.failed(
                req,
                ErrorKind::Connect,
                Class::Final,
                format!(
                    "cannot resolve the host name {} ({detail}): check api_host",
                    self.endpoint.host
                ),
            ),
            // Nothing was sent: the TCP connect or the TLS handshake failed.
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Io
                if handshake.is_some() || t.kind() == ureq::ErrorKind::ConnectionFailed =>
            {
                if let Some(e) = tls_err {
                    let msg = tls::handshake_error(e, &self.verifier, &authority);
                    return self.failed(req, ErrorKind::Tls, Class::Final, msg);
                }
                let why = match io_err.map(io::Error::kind) {
                    Some(io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
                    Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                        format!("no answer within {} s", self.timeout.as_secs())
                    }
                    _ => detail,
                };
                self.failed(
                    req,
                    ErrorKind::Connect,
                    Class::NotSent,
                    format!("cannot connect to {authority} ({why}); check api_host and api_port"),
                )
            }
            ureq::ErrorKind::Io | ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => {
                match io_err {
                    Some(e) => self.io_failure(req, e),
                    None => self.failed(
                        req,
                        ErrorKind::Connect,
                        Class::Unknown,
                        format!("{authority} sent a broken answer ({detail})"),
                    ),
                }
            }
            _ => self.failed(
                req,
                ErrorKind::Connect,
                Class::Final,
                format!("{authority}: {detail}"),
            ),
        }
    }

    /// The request went out (or partly): what happened to it is unknown.
    fn io_failure(&self, req: &ApiRequest, e: &io::Error) -> Failed {
        let authority = self.endpoint.authority();
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.failed(
                req,
                ErrorKind::Timeout,
                Class::Unknown,
                format!(
                    "no answer from {authority} within {} s (api_timeout; raise it if the server is just slow)",
                    self.timeout.as_secs()
                ),
            ),
            _ => self.failed(
                req,
                ErrorKind::Connect,
                Class::Unknown,
                format!("the connection to {authority} was closed before the answer came ({e})"),
            ),
        }
    }
}

fn status_failure(req: &ApiRequest, code: u16, resp: ureq::Response) -> Failed {
    let reason = resp.status_text().to_string();
    let body = resp.into_string().unwrap_or_default();
    let text = pve_text(&reason, &body);
    let class = match code {
        // pveproxy could not get an answer from the API daemon, or the
        // service is restarting: it may or may not have run the request.
        502 | 503 | 595 => Class::Unknown,
        500 if is_lock_timeout(&text) => Class::NotApplied,
        _ => Class::Final,
    };
    Failed {
        err: ApiError::new(
            ErrorKind::Http,
            req.method.as_str(),
            &req.path,
            Some(code),
            text,
        ),
        class,
    }
}
