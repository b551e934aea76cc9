//! A plain HTTPS/1.1 client for tests: one request per connection, the
//! bytes on the wire written here. It shares no code with the modules'
//! client (`crates/pve_api`), so what a test reads with it is what the
//! server says, not what our parser makes of it.
//!
//! ```no_run
//! use pve_test_support::Sim;
//! let sim = Sim::start("9.1");
//! // The `data` of a GET as root@pam, as the server sent it.
//! let user = sim.get("/access/users/root@pam");
//! assert_eq!(user["enable"], 1);
//! assert!(sim.logs_in("root@pam", &sim.root_password));
//! ```

use std::fs;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;

use crate::Sim;

/// Which parts of a request go out in Latin-1, one byte a character (when
/// every character fits; else as UTF-8): the target (a path PVE reads as
/// bytes) and the header values (how a client must send a token id such as
/// `jürgen@pve!ci` for PVE to read it). Both UTF-8 by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latin1 {
    pub target: bool,
    pub headers: bool,
}

/// An answer: status (0 when the connection closed without one), reason
/// phrase (bytes that are not UTF-8 shown as `\xNN`), body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn tls_config(ca_cert: &Path) -> Arc<ClientConfig> {
    let pem = fs::read(ca_cert).unwrap_or_else(|e| panic!("read {}: {e}", ca_cert.display()));
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut BufReader::new(pem.as_slice())) {
        roots.add(cert.expect("CA PEM")).expect("add the CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// `text` in Latin-1 when asked and every character fits, else UTF-8.
fn bytes(text: &str, latin1: bool) -> Vec<u8> {
    let one_byte_each: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
    match one_byte_each {
        Some(bytes) if latin1 => bytes,
        _ => text.as_bytes().to_vec(),
    }
}

fn parse_response(raw: &[u8]) -> Response {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Response {
            status: 0,
            reason: String::new(),
            body: Vec::new(),
        };
    };
    let head = show_bytes(&raw[..end]);
    let mut lines = head.split("\r\n");
    let mut status_line = lines.next().unwrap_or_default().splitn(3, ' ');
    status_line.next();
    let status = status_line.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let reason = status_line.next().unwrap_or_default().to_string();
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let rest = &raw[end + 4..];
    let body = match length {
        Some(n) => rest[..n.min(rest.len())].to_vec(),
        None => rest.to_vec(),
    };
    Response {
        status,
        reason,
        body,
    }
}

/// Bytes as text, each byte that is not part of UTF-8 as `\xNN`.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Form-encodes `params` (`%XX` for everything but unreserved characters).
pub fn form(params: &[(&str, &str)]) -> Vec<u8> {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// Percent-encodes every byte but the unreserved characters.
pub fn enc(s: &str) -> String {
    enc_except(s, b"-_.~")
}

/// Percent-encodes a path byte by byte beyond `[A-Za-z0-9/@!._~:-]`.
pub fn enc_path(s: &str) -> String {
    enc_except(s, b"/@!._~:-")
}

fn enc_except(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Sim {
    /// One request to this server, trusting only its CA, on a connection
    /// of its own: `target` is the path under `/api2/json` with its query,
    /// already encoded ([`enc_path`], [`form`]) unless sent as it is in
    /// Latin-1 ([`Latin1`]). A connection closed without an answer is
    /// status 0.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<(&str, Vec<u8>)>,
        latin1: Latin1,
    ) -> Response {
        let addr = self.url.trim_start_matches("https://");
        let sock =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("socket timeout");
        let name = ServerName::try_from("127.0.0.1".to_string()).expect("server name");
        let conn = ClientConnection::new(tls_config(&self.ca_cert), name).expect("TLS client");
        let mut stream = StreamOwned::new(conn, sock);
        let mut req = format!("{method} /api2/json").into_bytes();
        req.extend(bytes(target, latin1.target));
        req.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.extend_from_slice(format!("{k}: ").as_bytes());
            req.extend(bytes(v, latin1.headers));
            req.extend_from_slice(b"\r\n");
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
                bytes
            }
            None => Vec::new(),
        };
        req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(&body);
        if stream
            .write_all(&req)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return Response {
                status: 0,
                reason: String::new(),
                body: Vec::new(),
            };
        }
        let mut raw = Vec::new();
        // Both servers close after this answer; a TLS close without
        // close_notify still leaves what was read.
        let _ = stream.read_to_end(&mut raw);
        parse_response(&raw)
    }

    /// The `data` of `GET path` as root@pam, as the server sent it: `path`
    /// as PVE documents it (`/access/users/jürgen@pve`), a query after `?`
    /// already encoded. Panics, with the answer, unless it is a 200.
    pub fn get(&self, path: &str) -> Value {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let target = match query {
            "" => enc_path(path),
            q => format!("{}?{q}", enc_path(path)),
        };
        let ticket = self.root_ticket.get_or_init(|| {
            self.login("root@pam", &self.root_password)
                .unwrap_or_else(|r| panic!("root@pam cannot log in: {r:?}"))
        });
        let cookie = (
            "Cookie".to_string(),
            format!("PVEAuthCookie={}", enc(ticket)),
        );
        let r = self.request("GET", &target, &[cookie], None, Latin1::default());
        assert_eq!(
            r.status,
            200,
            "GET {path}: {} {} {}",
            r.reason,
            show_bytes(&r.body),
            self.stderr()
        );
        r.json()["data"].clone()
    }

    /// Whether `userid` logs in with `password` (`POST /access/ticket`
    /// answers 200 rather than 401; anything else panics).
    pub fn logs_in(&self, userid: &str, password: &str) -> bool {
        match self.login(userid, password) {
            Ok(_) => true,
            Err(r) if r.status == 401 => false,
            Err(r) => panic!("login of {userid}: {} {}", r.status, r.reason),
        }
    }

    /// Whether the whole token `user@realm!name=secret` authenticates: a
    /// `GET /version` with it (which needs no privilege) answers 200 rather
    /// than 401; anything else panics.
    pub fn token_authenticates(&self, api_token: &str) -> bool {
        let header = (
            "Authorization".to_string(),
            format!("PVEAPIToken={api_token}"),
        );
        let latin1 = Latin1 {
            target: false,
            headers: true,
        };
        let r = self.request("GET", "/version", &[header], None, latin1);
        match r.status {
            200 => true,
            401 => false,
            other => panic!("GET /version with a token: {other} {}", r.reason),
        }
    }

    /// The ticket of a password login, or the answer that refused it.
    /// A change as root@pam, the way a person makes one by hand (the web
    /// UI, pvesh): `method path` (as PVE documents it) with `params` as a
    /// form; the answer, whatever it is.
    pub fn root_write(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Response {
        let (ticket, csrf) = self
            .login_with_csrf("root@pam", &self.root_password)
            .unwrap_or_else(|r| panic!("root@pam cannot log in: {r:?}"));
        let headers = [
            (
                "Cookie".to_string(),
                format!("PVEAuthCookie={}", enc(&ticket)),
            ),
            ("CSRFPreventionToken".to_string(), csrf),
        ];
        let body = Some(("application/x-www-form-urlencoded", form(params)));
        self.request(method, &enc_path(path), &headers, body, Latin1::default())
    }

    fn login(&self, userid: &str, password: &str) -> Result<String, Response> {
        self.login_with_csrf(userid, password)
            .map(|(ticket, _)| ticket)
    }

    /// A ticket and its CSRF prevention token.
    fn login_with_csrf(&self, userid: &str, password: &str) -> Result<(String, String), Response> {
        let body = form(&[("username", userid), ("password", password)]);
        let r = self.request(
            "POST",
            "/access/ticket",
            &[],
            Some(("application/x-www-form-urlencoded", body)),
            Latin1::default(),
        );
        let data = &r.json()["data"];
        match (
            data["ticket"].as_str(),
            data["CSRFPreventionToken"].as_str(),
        ) {
            (Some(ticket), Some(csrf)) if r.status == 200 => Ok((ticket.into(), csrf.into())),
            _ => Err(r),
        }
    }
}
