//! The HTTPS transport (our own HTTP/1.1 client, [`crate::wire`], over
//! rustls): one attempt of one request, classified so that the client knows
//! whether it may be repeated.

use crate::client::{Class, Failed};
use crate::connection::{Endpoint, TlsMode};
use crate::error::{is_lock_timeout, pve_text, ApiError, ErrorKind};
use crate::request::{encode, form, ApiRequest, Method};
use crate::tls::{self, Verifier};
use crate::wire::{self, Conn, ConnectError, ExchangeError, Request, Response};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use serde_json::Value;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    /// Resolved once, at the first connection.
    addrs: Mutex<Vec<SocketAddr>>,
    /// The kept-alive connection of the last GET, for the next GET. Writes
    /// always go on a new connection and never leave one here: when a
    /// reused connection fails, it is unknown whether the server got the
    /// request (it may have closed the idle connection, or died after
    /// applying it), and a write must never be sent again blindly. On a
    /// new connection such a failure means a real problem and comes back
    /// as one. The shared TLS configuration resumes the session, so the
    /// extra handshake is cheap.
    idle: Mutex<Option<Conn>>,
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

/// Either failure of one attempt.
enum Failure {
    Connect(ConnectError),
    Exchange(ExchangeError),
}

impl Http {
    pub fn new(endpoint: Endpoint, tls: &TlsMode, timeout: Duration) -> Result<Http, String> {
        let (config, verifier) = tls::client_config(tls)?;
        let server_name = ServerName::try_from(endpoint.host.clone()).map_err(|e| {
            format!(
                "api_host: '{}' cannot be checked against a certificate ({e})",
                endpoint.host
            )
        })?;
        Ok(Http {
            endpoint,
            config,
            server_name,
            addrs: Mutex::new(Vec::new()),
            idle: Mutex::new(None),
            verifier,
            timeout,
        })
    }

    /// One attempt: connecting, sending and the whole answer within
    /// `api_timeout`.
    pub fn attempt(&self, req: &ApiRequest, auth: &Auth) -> Result<Value, Failed> {
        let deadline = Instant::now() + self.timeout;
        let url = self.endpoint.url(&req.path);
        let mut target = url
            .strip_prefix(&format!("https://{}", self.endpoint.authority()))
            .unwrap_or(&url)
            .to_string();
        let body = match req.method {
            Method::Get | Method::Delete => {
                if !req.params.is_empty() {
                    target = format!("{target}?{}", form(&req.params));
                }
                None
            }
            Method::Post | Method::Put => Some(form(&req.params)),
        };
        let host = self.endpoint.authority();
        let mut headers = vec![
            ("Host", host.as_str()),
            (
                "User-Agent",
                concat!("pve.access/", env!("CARGO_PKG_VERSION")),
            ),
            ("Accept", "application/json"),
        ];
        let cookie;
        match auth {
            Auth::Anonymous => {}
            Auth::Token(header) => headers.push(("Authorization", header)),
            Auth::Ticket { ticket, csrf } => {
                // PVE URI-unescapes the cookie value. Escaping everything
                // but unreserved characters keeps the ticket's base64 '+'
                // intact whatever decoder the server uses.
                cookie = format!("PVEAuthCookie={}", encode(ticket, COOKIE_SAFE));
                headers.push(("Cookie", &cookie));
                if req.method != Method::Get {
                    headers.push(("CSRFPreventionToken", csrf));
                }
            }
        }
        let wire_req = Request {
            method: req.method.as_str(),
            target: &target,
            headers: &headers,
            form: body.as_deref(),
        };
        match self.exchange(&wire_req, req.method == Method::Get, deadline) {
            Ok(resp) if (200..300).contains(&resp.status) => self.body(req, &resp),
            Ok(resp) => Err(status_failure(req, &resp)),
            Err(Failure::Connect(e)) => Err(self.connect_failure(req, e)),
            Err(Failure::Exchange(e)) => Err(self.exchange_failure(req, e)),
        }
    }

    /// Sends `req` on the kept connection if `reuse` and there is one, else
    /// on a new one. A kept connection the server has closed in the
    /// meantime is replaced by a new one at once: that is why only GETs
    /// may reuse one.
    fn exchange(
        &self,
        req: &Request<'_>,
        reuse: bool,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = if reuse { idle.take() } else { None };
        drop(idle);
        if let Some(mut conn) = kept {
            match conn.exchange(req, deadline) {
                Ok((resp, keep)) => return Ok(self.keep(resp, keep.then_some(conn))),
                Err(e) if e.closed() => {}
                Err(e) => return Err(Failure::Exchange(e)),
            }
        }
        let mut conn = self.open(deadline).map_err(Failure::Connect)?;
        let (resp, keep) = conn.exchange(req, deadline).map_err(Failure::Exchange)?;
        Ok(self.keep(resp, (keep && reuse).then_some(conn)))
    }

    fn keep(&self, resp: Response, conn: Option<Conn>) -> Response {
        if let Some(conn) = conn {
            *self.idle.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn);
        }
        resp
    }

    fn open(&self, deadline: Instant) -> Result<Conn, ConnectError> {
        let mut addrs = self.addrs.lock().unwrap_or_else(PoisonError::into_inner);
        if addrs.is_empty() {
            *addrs = wire::resolve(&self.endpoint.host, self.endpoint.port, deadline)
                .map_err(ConnectError::Resolve)?;
        }
        Conn::open(&addrs, &self.server_name, &self.config, deadline)
    }

    fn body(&self, req: &ApiRequest, resp: &Response) -> Result<Value, Failed> {
        let json: Value = serde_json::from_slice(&resp.body).map_err(|e| Failed {
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

    /// Nothing of the request was sent.
    fn connect_failure(&self, req: &ApiRequest, e: ConnectError) -> Failed {
        let authority = self.endpoint.authority();
        let secs = self.timeout.as_secs();
        match e {
            ConnectError::Resolve(e) => {
                let why = if wire::timed_out(&e) {
                    format!("no answer within {secs} s")
                } else {
                    e.to_string()
                };
                self.failed(
                    req,
                    ErrorKind::Connect,
                    Class::Final,
                    format!(
                        "cannot resolve the host name {} ({why}): check api_host",
                        self.endpoint.host
                    ),
                )
            }
            ConnectError::Tls(e) => {
                let msg = tls::handshake_error(&e, &self.verifier, &authority);
                self.failed(req, ErrorKind::Tls, Class::Final, msg)
            }
            ConnectError::Handshake(e) if wire::timed_out(&e) => self.failed(
                req,
                ErrorKind::Timeout,
                Class::NotSent,
                format!(
                    "the TLS handshake with {authority} timed out: the connection was accepted, but no TLS answer came within {secs} s (api_timeout); check that api_host and api_port name the PVE API (pveproxy, port 8006)"
                ),
            ),
            ConnectError::Tcp(e) | ConnectError::Handshake(e) => {
                let why = match e.kind() {
                    io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                    _ if wire::timed_out(&e) => format!("no answer within {secs} s"),
                    _ => e.to_string(),
                };
                self.failed(
                    req,
                    ErrorKind::Connect,
                    Class::NotSent,
                    format!("cannot connect to {authority} ({why}); check api_host and api_port"),
                )
            }
        }
    }

    /// The request went out (or partly): what happened to it is unknown.
    fn exchange_failure(&self, req: &ApiRequest, e: ExchangeError) -> Failed {
        let authority = self.endpoint.authority();
        match e {
            ExchangeError::BadHeader(name) => self.failed(
                req,
                ErrorKind::Config,
                Class::Final,
                format!("the {name} header would hold a control character (a line break in api_token_secret?); nothing was sent"),
            ),
            ExchangeError::Io(e) if wire::timed_out(&e) => self.failed(
                req,
                ErrorKind::Timeout,
                Class::Unknown,
                format!(
                    "no answer from {authority} within {} s (api_timeout; raise it if the server is just slow)",
                    self.timeout.as_secs()
                ),
            ),
            ExchangeError::Io(e) => self.failed(
                req,
                ErrorKind::Connect,
                Class::Unknown,
                format!("the connection to {authority} was closed before the answer came ({e})"),
            ),
            ExchangeError::Broken(detail) => self.failed(
                req,
                ErrorKind::Connect,
                Class::Unknown,
                format!("{authority} sent a broken answer ({detail})"),
            ),
        }
    }
}

fn status_failure(req: &ApiRequest, resp: &Response) -> Failed {
    let code = resp.status;
    let text = pve_text(&resp.reason, &String::from_utf8_lossy(&resp.body));
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
