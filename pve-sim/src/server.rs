//! The transport: HTTPS (rustls, ring provider) and a small HTTP/1.1 server,
//! one thread per connection, in front of an `http::Handler` (the API).
//!
//! `serve(listener, tls, handler, faults, request_log)` runs forever. Each
//! connection is read with size limits and deadlines, parsed into a
//! `Request` (path URL-decoded as PVE does, query string and body raw for the
//! API), checked against the
//! injected faults (`crate::faults`), handed to the handler inside
//! `catch_unwind`, logged, and answered. Whatever a client sends, the server
//! answers it with a 4xx status or closes that connection; it never stops
//! serving the others.
//!
//! Choices, PVE-like where PVE has one:
//! * keep-alive: HTTP/1.1 keeps the connection unless `Connection: close`;
//!   HTTP/1.0 closes unless `Connection: keep-alive`. Every error the
//!   transport itself answers closes the connection.
//! * bodies need `Content-Length`; `Transfer-Encoding` (chunked) is answered
//!   `411 Length Required`. `Expect: 100-continue` is honoured.
//! * limits (`Limits::default()`): body 512 KiB → `413 Request Entity Too
//!   Large`; request line 8 KiB → `414 URI Too Long`; one header line 8 KiB,
//!   all headers 64 KiB or more than 100 of them → `431 Request Header Fields
//!   Too Large`; a request not complete within 10 s → `408 Request Timeout`;
//!   an idle keep-alive connection is closed after 15 s; at most 64
//!   connections are served at once, further ones wait in the listen backlog.
//! * methods other than GET/POST/PUT/DELETE → `501 method 'M' not available`
//!   (as PVE's HTTP server); malformed requests (bad request line, header
//!   syntax, missing Host on HTTP/1.1, truncated body) →
//!   `400 Bad Request`.
//! * a handler panic → `500 internal error` (needs panic=unwind, i.e. the
//!   debug build the tests use; the workspace's release profile aborts).
//!
//! Libraries: rustls for TLS, httparse for the header lines, httpdate for
//! `Date`. The rest is hand-written because no HTTP server library was found
//! to do what PVE does; hyper 1.x (the candidate that can set a reason
//! phrase, `hyper::ext::ReasonPhrase`, Latin-1 bytes included) was tried
//! against the transport tests' requests (tiny_http cannot: it always sends
//! the standard phrase of the status code):
//! * a request target with a Latin-1 byte (`/users/j\xf6e@pve`, which PVE
//!   reads as `jöe@pve`) is answered `400` before the service sees it, since
//!   httparse accepts only UTF-8 there. So the request line is read here
//!   (test `targets_and_headers_are_read_as_pve_reads_them`).
//! * hyper answers malformed heads itself: the request log (which records
//!   them) would learn of them only from the connection's error afterwards,
//!   and `HTTP/2.0` gets `400` instead of `505`.
//! * a client that stops halfway through its head is closed without the
//!   `408` the tests expect, and the body deadline, the 64-connection limit,
//!   the limits answered `414`/`431`/`411`/`413`/`501`, the faults and the
//!   request log would all still be written here, now as async code.
//! * it works: a custom reason phrase, header values as bytes, `drop`
//!   faults (a service error closes without an answer), `100-continue`.
//! * it brings tokio, hyper-util, http-body-util and tokio-rustls: a probe
//!   server alone was an 18 MB debug binary, and its dependencies took about
//!   3 minutes to build on this 2-core machine.
//!
//! So the glue would have been about as long as what it replaces (the head
//! parser and the response writer, about 150 lines), for a bigger, slower to
//! build simulator that reads paths differently from PVE.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};

use crate::faults::{Action, Faults};
use crate::http::{Handler, Request, Response};
use crate::perlstr::{chars_of_bytes, uri_unescape};

/// Sizes, counts and deadlines of the transport.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    pub max_body: usize,
    pub max_request_line: usize,
    pub max_header_line: usize,
    /// All header lines together (request line excluded).
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// For the TLS handshake, then for each request from its first byte to its
    /// last body byte.
    pub request_timeout: Duration,
    /// Between two requests of a keep-alive connection.
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 64,
            max_body: 512 * 1024,
            max_request_line: 8 * 1024,
            max_header_line: 8 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The server's certificate: PEM texts as they are read from or written to
/// files. `cert_pem` is the chain served (leaf first), `ca_pem` what a client
/// should trust.
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl std::fmt::Debug for Identity {
    // The private key stays out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert_pem", &self.cert_pem)
            .field("ca_pem", &self.ca_pem)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A fresh CA and a leaf for `localhost`, `127.0.0.1` and `::1` signed by
    /// it. A CA apart from the leaf because webpki (rustls) refuses a CA
    /// certificate as the server's own, and a leaf as a trust anchor only
    /// works when it is self-signed; clients given `ca_pem` verify either name.
    pub fn generate() -> Result<Identity, String> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let err = |e: rcgen::Error| format!("cannot generate the TLS certificate: {e}");

        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "pve-sim Root CA");
        ca.distinguished_name
            .push(DnType::OrganizationName, "pve-sim");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().map_err(err)?;
        let mut leaf = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .map_err(err)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.distinguished_name
            .push(DnType::OrganizationName, "pve-sim");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;

        Ok(Identity {
            cert_pem: leaf_cert.pem(),
            key_pem: leaf_key.serialize_pem(),
            ca_pem: ca_cert.pem(),
        })
    }

    /// The certificates of `cert_pem`, leaf first.
    pub fn chain(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        let chain = rustls_pemfile::certs(&mut BufReader::new(self.cert_pem.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the certificate: {e}"))?;
        if chain.is_empty() {
            return Err("the certificate file holds no PEM certificate".to_string());
        }
        Ok(chain)
    }

    /// SHA-256 of the leaf certificate, as PVE shows it (`AB:CD:...`).
    pub fn fingerprint(&self) -> Result<String, String> {
        let chain = self.chain()?;
        Ok(fingerprint(&chain[0]))
    }

    /// A rustls server configuration serving this certificate (ring provider,
    /// TLS 1.2 and 1.3, ALPN `http/1.1`).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, String> {
        let chain = self.chain()?;
        let key: PrivateKeyDer<'static> =
            rustls_pemfile::private_key(&mut BufReader::new(self.key_pem.as_bytes()))
                .map_err(|e| format!("cannot read the private key: {e}"))?
                .ok_or("the key file holds no PEM private key")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// SHA-256 of a DER certificate: upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `--request-log`: one JSON line per request, appended and flushed before
/// the answer goes out, so a client that got its answer finds the line.
#[derive(Debug)]
pub struct RequestLog {
    file: Mutex<File>,
}

impl RequestLog {
    pub fn open(path: &Path) -> io::Result<RequestLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(RequestLog {
            file: Mutex::new(file),
        })
    }

    fn record(&self, method: &str, path: &str, status: u16, auth: &str, fault: Option<&Action>) {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut entry = json!({
            "ts": ts, "method": method, "path": path, "status": status, "auth": auth,
        });
        if let (Some(a), Value::Object(m)) = (fault, &mut entry) {
            m.insert("fault".into(), Value::String(a.label()));
        }
        let line = format!("{entry}\n");
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk must not take the server down; the line is lost.
        let _ = file.write_all(line.as_bytes()).and_then(|()| file.flush());
    }
}

/// Serve HTTPS on `listener` forever with the default `Limits`.
pub fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    handler: Arc<dyn Handler>,
    faults: Faults,
    request_log: Option<RequestLog>,
) -> ! {
    serve_with(
        listener,
        tls,
        handler,
        faults,
        request_log,
        Limits::default(),
    )
}

/// `serve` with other limits (tests use short deadlines).
pub fn serve_with(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    handler: Arc<dyn Handler>,
    faults: Faults,
    request_log: Option<RequestLog>,
    limits: Limits,
) -> ! {
    let shared = Arc::new(Shared {
        handler,
        faults,
        log: request_log,
        limits,
        slots: Slots::default(),
    });
    loop {
        let slot = Slots::acquire(&shared);
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: wait instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let tls = tls.clone();
        let conn_shared = shared.clone();
        // If the thread cannot be started the closure (stream and slot) is
        // dropped, which closes the connection and frees the slot.
        let _ = std::thread::Builder::new()
            .name("pve-sim-conn".into())
            .spawn(move || {
                let _slot = slot;
                serve_connection(stream, tls, &conn_shared);
            });
    }
}

struct Shared {
    handler: Arc<dyn Handler>,
    faults: Faults,
    log: Option<RequestLog>,
    limits: Limits,
    slots: Slots,
}

/// Counting semaphore bounding the connection threads.
#[derive(Default)]
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
}

struct Slot(Arc<Shared>);

impl Slots {
    fn acquire(shared: &Arc<Shared>) -> Slot {
        let slots = &shared.slots;
        let mut used = slots.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used >= shared.limits.max_connections.max(1) {
            used = slots.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += 1;
        Slot(shared.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let slots = &self.0.slots;
        let mut used = slots.used.lock().unwrap_or_else(|p| p.into_inner());
        *used = used.saturating_sub(1);
        slots.freed.notify_one();
    }
}

/// An error the transport answers itself, closing the connection afterwards.
#[derive(Debug)]
struct HttpError {
    status: u16,
    reason: String,
}

fn http_error(status: u16, reason: impl Into<String>) -> HttpError {
    HttpError {
        status,
        reason: reason.into(),
    }
}

fn bad_request() -> HttpError {
    http_error(400, "Bad Request")
}

enum ReadError {
    Timeout,
    Closed,
}

type Tls = StreamOwned<ServerConnection, TcpStream>;

/// One client connection and the bytes read from it but not used yet
/// (the next pipelined request).
struct Conn {
    tls: Tls,
    buf: Vec<u8>,
}

impl Conn {
    /// Read once more into `buf`, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        self.tls
            .sock
            .set_read_timeout(Some(left))
            .map_err(|_| ReadError::Closed)?;
        let mut chunk = [0u8; 16 * 1024];
        match self.tls.read(&mut chunk) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(ReadError::Timeout)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadError::Closed),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    /// Close after a last answer: TLS close_notify, then read and discard
    /// what the client may still be sending for a moment, so that the kernel
    /// does not reset the connection before the client has read the answer.
    fn close_gracefully(mut self, linger: bool) {
        self.tls.conn.send_close_notify();
        let _ = self.tls.flush();
        let _ = self.tls.sock.shutdown(Shutdown::Write);
        if linger {
            let until = Instant::now() + Duration::from_secs(2);
            let mut drained = 0usize;
            let mut chunk = [0u8; 16 * 1024];
            while drained < 4 * 1024 * 1024 {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() || self.tls.sock.set_read_timeout(Some(left)).is_err() {
                    break;
                }
                match self.tls.sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        }
    }

    /// Close as a lost connection looks to a client: no answer, no close_notify.
    fn abort(self) {
        let _ = self.tls.sock.shutdown(Shutdown::Both);
    }
}

fn serve_connection(sock: TcpStream, tls: Arc<ServerConfig>, shared: &Shared) {
    let limits = &shared.limits;
    let _ = sock.set_nodelay(true);
    if sock.set_write_timeout(Some(limits.write_timeout)).is_err() {
        return;
    }
    let Ok(server) = ServerConnection::new(tls) else {
        return;
    };
    let mut conn = Conn {
        tls: StreamOwned::new(server, sock),
        buf: Vec::new(),
    };
    let mut first = true;
    loop {
        let wait = if first {
            limits.request_timeout
        } else {
            limits.idle_timeout
        };
        first = false;
        let head = match read_head(&mut conn, limits, wait) {
            Ok(Some(head)) => head,
            Ok(None) => return conn.close_gracefully(false),
            Err(e) => return answer_error(conn, shared, "", "", e),
        };
        let arrived = Instant::now();
        let (method, target) = (head.method.clone(), head.target.clone());
        let (request, keep_alive) = match read_request(&mut conn, limits, head) {
            Ok(r) => r,
            Err(e) => {
                let path = target.split(|b| *b == b'?').next().unwrap_or_default();
                let path = chars_of_bytes(path);
                return answer_error(conn, shared, &method, &path, e);
            }
        };
        match respond(&mut conn, shared, &request, arrived, keep_alive) {
            Outcome::KeepAlive => continue,
            Outcome::Close => return conn.close_gracefully(false),
            Outcome::Abort => return conn.abort(),
        }
    }
}

enum Outcome {
    KeepAlive,
    Close,
    Abort,
}

/// The path relative to `/api2/json`, when it is an API path.
fn api_relative(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api2/json")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The credentials a request carries, for the log of requests the API never
/// saw (a fault answered them).
fn auth_from_headers(req: &Request) -> &'static str {
    let cookie = req.headers.get("cookie").map(String::as_str).unwrap_or("");
    let authorization = req
        .headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or("");
    if cookie.contains("PVEAuthCookie=") || authorization.starts_with("PVEAuthCookie") {
        "ticket"
    } else if authorization.starts_with("PVEAPIToken") {
        "token"
    } else {
        "none"
    }
}

fn respond(
    conn: &mut Conn,
    shared: &Shared,
    req: &Request,
    arrived: Instant,
    keep_alive: bool,
) -> Outcome {
    let rel = api_relative(&req.path);
    let log_path = rel.unwrap_or(&req.path);
    let fault = rel.and_then(|r| shared.faults.check(&req.method, r));
    let log = |status: u16, auth: &str| {
        if let Some(l) = &shared.log {
            l.record(&req.method, log_path, status, auth, fault.as_ref());
        }
    };
    let (response, auth) = match &fault {
        Some(Action::Status {
            status,
            reason,
            message,
        }) => (error_json(*status, reason, message), auth_from_headers(req)),
        Some(Action::DropBefore) => {
            log(0, auth_from_headers(req));
            return Outcome::Abort;
        }
        Some(Action::DropAfter) => {
            let (_, auth) = call_handler(shared, req);
            log(0, auth);
            return Outcome::Abort;
        }
        Some(Action::Delay(ms)) => {
            std::thread::sleep(Duration::from_millis(*ms));
            call_handler(shared, req)
        }
        None => call_handler(shared, req),
    };
    let response = sanitize(response);
    log(response.status, auth);
    let wait = Duration::from_millis(response.min_delay_ms).saturating_sub(arrived.elapsed());
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
    if conn
        .send(&serialize(&response, keep_alive, SystemTime::now()))
        .is_err()
    {
        return Outcome::Abort;
    }
    if keep_alive {
        Outcome::KeepAlive
    } else {
        Outcome::Close
    }
}

fn call_handler(shared: &Shared, req: &Request) -> (Response, &'static str) {
    match catch_unwind(AssertUnwindSafe(|| shared.handler.handle(req))) {
        Ok(r) => r,
        Err(_) => (
            error_json(500, "internal error", "internal error\n"),
            auth_from_headers(req),
        ),
    }
}

/// PVE's error shape: reason phrase plus `{"data":null,"message":...}`.
fn error_json(status: u16, reason: &str, message: &str) -> Response {
    Response {
        status,
        reason: reason.to_string(),
        headers: Vec::new(),
        content_type: "application/json;charset=UTF-8",
        body: json!({"data": null, "message": message})
            .to_string()
            .into_bytes(),
        min_delay_ms: 0,
    }
}

/// PVE answers a reason phrase that still holds a line break with a bare
/// `400 Bad Request`; the same protects the status line here.
fn sanitize(mut r: Response) -> Response {
    if r.reason.contains(['\r', '\n']) || !(100..=999).contains(&r.status) {
        r.status = 400;
        r.reason = "Bad Request".to_string();
        r.headers.clear();
        r.content_type = "";
        r.body.clear();
    }
    r
}

fn answer_error(mut conn: Conn, shared: &Shared, method: &str, path: &str, e: HttpError) {
    if let Some(l) = &shared.log {
        l.record(
            method,
            api_relative(path).unwrap_or(path),
            e.status,
            "none",
            None,
        );
    }
    let response = Response {
        status: e.status,
        reason: e.reason,
        headers: Vec::new(),
        content_type: "",
        body: Vec::new(),
        min_delay_ms: 0,
    };
    if conn
        .send(&serialize(&response, false, SystemTime::now()))
        .is_ok()
    {
        conn.close_gracefully(true);
    } else {
        conn.abort();
    }
}

const MANAGED_HEADERS: &[&str] = &["content-type", "content-length", "connection", "date"];

fn serialize(r: &Response, keep_alive: bool, now: SystemTime) -> Vec<u8> {
    // The reason phrase goes out as Perl prints it (Latin-1 when it can).
    let mut out = format!("HTTP/1.1 {} ", r.status).into_bytes();
    out.extend(crate::perlstr::bytes_of_text(&r.reason));
    let mut head = String::from("\r\n");
    head.push_str("Cache-Control: max-age=0\r\n");
    head.push_str(if keep_alive {
        "Connection: Keep-Alive\r\n"
    } else {
        "Connection: close\r\n"
    });
    head.push_str(&format!("Date: {}\r\n", httpdate::fmt_http_date(now)));
    head.push_str("Pragma: no-cache\r\n");
    head.push_str("Server: pve-api-daemon/3.0\r\n");
    if !r.content_type.is_empty() {
        head.push_str(&format!("Content-Type: {}\r\n", r.content_type));
    }
    head.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
    for (name, value) in &r.headers {
        let lower = name.to_ascii_lowercase();
        if MANAGED_HEADERS.contains(&lower.as_str())
            || !is_token(name)
            || value.contains(['\r', '\n'])
        {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.extend(head.into_bytes());
    out.extend_from_slice(&r.body);
    out
}

/// The request line and headers, not yet interpreted.
#[derive(Debug)]
struct Head {
    method: String,
    /// As sent: PVE decodes it byte for byte.
    target: Vec<u8>,
    http10: bool,
    headers: BTreeMap<String, String>,
}

/// Wait up to `wait` for the next request to start, then up to
/// `request_timeout` for its head. `Ok(None)`: the client closed or stayed
/// idle between requests, which needs no answer.
fn read_head(conn: &mut Conn, limits: &Limits, wait: Duration) -> Result<Option<Head>, HttpError> {
    let mut deadline = Instant::now() + wait;
    let mut started = false;
    loop {
        // Empty lines before a request line are allowed (RFC 9112 2.2).
        let blank = conn
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        conn.buf.drain(..blank);
        if !conn.buf.is_empty() && !started {
            started = true;
            deadline = Instant::now() + limits.request_timeout;
        }
        if let Some(head) = parse_head(&mut conn.buf, limits)? {
            return Ok(Some(head));
        }
        if conn.buf.len() > limits.max_request_line + limits.max_header_bytes {
            return Err(http_error(431, "Request Header Fields Too Large"));
        }
        match conn.fill(deadline) {
            Ok(()) => {}
            Err(_) if conn.buf.is_empty() => return Ok(None),
            Err(ReadError::Timeout) => return Err(http_error(408, "Request Timeout")),
            Err(ReadError::Closed) => return Err(bad_request()),
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parse the head at the start of `buf` and remove it from there; `Ok(None)`
/// while it is incomplete.
///
/// Byte for byte, as PVE's Perl server reads the head: a header value is a
/// string of bytes, so a token id sent in Latin-1 (`j\xfcrgen@pve!ci`) names
/// the user `jürgen@pve`, and one sent in UTF-8 a garbled name. The header
/// lines are httparse's (it hands values over as bytes); the request line is
/// read here because httparse refuses a target that is not UTF-8, and PVE
/// takes `GET /api2/json/access/users/j\xf6e@pve` (one Latin-1 byte) as
/// `jöe@pve`.
fn parse_head(buf: &mut Vec<u8>, limits: &Limits) -> Result<Option<Head>, HttpError> {
    let Some(line_end) = buf.iter().position(|b| *b == b'\n') else {
        if buf.len() > limits.max_request_line {
            return Err(http_error(414, "URI Too Long"));
        }
        return Ok(None);
    };
    let line = &buf[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > limits.max_request_line {
        return Err(http_error(414, "URI Too Long"));
    }
    let (method, target, http10) = parse_request_line(line)?;

    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let (used, lines) = match httparse::parse_headers(&buf[line_end + 1..], &mut slots) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(http_error(431, "Request Header Fields Too Large"))
        }
        // Folded continuation lines are obsolete and refused (RFC 9112 5.2).
        Err(_) => return Err(bad_request()),
    };
    if used > limits.max_header_bytes
        || lines
            .iter()
            .any(|h| h.name.len() + 2 + h.value.len() > limits.max_header_line)
    {
        return Err(http_error(431, "Request Header Fields Too Large"));
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for h in lines {
        let (name, value) = (h.name.to_ascii_lowercase(), chars_of_bytes(h.value));
        match headers.get_mut(&name) {
            None => {
                headers.insert(name, value);
            }
            Some(old) if name == "content-length" => {
                if *old != value {
                    return Err(bad_request());
                }
            }
            Some(old) => {
                old.push_str(if name == "cookie" { "; " } else { ", " });
                old.push_str(&value);
            }
        }
    }
    buf.drain(..line_end + 1 + used);
    Ok(Some(Head {
        method,
        target,
        http10,
        headers,
    }))
}

/// Method, target and whether it is HTTP/1.0.
fn parse_request_line(line: &[u8]) -> Result<(String, Vec<u8>, bool), HttpError> {
    let parts: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(bad_request());
    };
    let method = std::str::from_utf8(method)
        .ok()
        .filter(|m| is_token(m))
        .ok_or_else(bad_request)?;
    if target.is_empty() || target.iter().any(|b| *b <= b' ' || *b == 0x7f) {
        return Err(bad_request());
    }
    let http10 = match *version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(http_error(505, "HTTP Version Not Supported"))
        }
        _ => return Err(bad_request()),
    };
    Ok((method.to_string(), target.to_vec(), http10))
}

/// Check and decode the head, read the body. Returns the request and
/// whether the connection stays open after the answer.
fn read_request(
    conn: &mut Conn,
    limits: &Limits,
    head: Head,
) -> Result<(Request, bool), HttpError> {
    if !matches!(head.method.as_str(), "GET" | "POST" | "PUT" | "DELETE") {
        return Err(http_error(
            501,
            format!("method '{}' not available", head.method),
        ));
    }
    if !head.http10 && !head.headers.contains_key("host") {
        return Err(bad_request());
    }
    let (path, query) = split_target(&head.target)?;

    if head.headers.contains_key("transfer-encoding") {
        return Err(http_error(411, "Length Required"));
    }
    let length = match head.headers.get("content-length") {
        None => 0,
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            // Too many digits to parse is too large as well.
            v.parse::<usize>().unwrap_or(usize::MAX)
        }
        Some(_) => return Err(bad_request()),
    };
    if length > limits.max_body {
        return Err(http_error(413, "Request Entity Too Large"));
    }
    if let Some(expect) = head.headers.get("expect") {
        if !expect.eq_ignore_ascii_case("100-continue") {
            return Err(http_error(417, "Expectation Failed"));
        }
        if length > conn.buf.len() && conn.send(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Err(bad_request());
        }
    }
    let deadline = Instant::now() + limits.request_timeout;
    while conn.buf.len() < length {
        match conn.fill(deadline) {
            Ok(()) => {}
            Err(ReadError::Timeout) => return Err(http_error(408, "Request Timeout")),
            Err(ReadError::Closed) => return Err(bad_request()),
        }
    }
    let body: Vec<u8> = conn.buf.drain(..length).collect();

    let connection = head
        .headers
        .get("connection")
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
    let keep_alive = if head.http10 {
        has("keep-alive")
    } else {
        !has("close")
    };
    Ok((
        Request {
            method: head.method,
            path,
            query,
            headers: head.headers,
            body,
        },
        keep_alive,
    ))
}

/// Split a request target into the decoded path and the raw query string.
fn split_target(target: &[u8]) -> Result<(String, Vec<u8>), HttpError> {
    // absolute-form (`https://host:8006/api2/json/...`), as proxies send it.
    let origin = match target
        .strip_prefix(b"https://")
        .or_else(|| target.strip_prefix(b"http://"))
    {
        Some(rest) => rest
            .iter()
            .position(|b| *b == b'/')
            .map_or(&b"/"[..], |i| &rest[i..]),
        None => target,
    };
    if !origin.starts_with(b"/") {
        return Err(bad_request());
    }
    let (origin, _fragment) = split(origin, b'#');
    let (raw_path, query) = split(origin, b'?');
    // PVE unescapes the path but never decodes it as UTF-8: each byte is one
    // character (`/users/j%C3%B6e@pve` names `jÃ¶e@pve`, `j%F6e@pve` and a raw
    // `j\xf6e@pve` `jöe@pve`).
    Ok((chars_of_bytes(&uri_unescape(raw_path)), query.to_vec()))
}

/// What comes before and after the first `at` (all and nothing without one).
fn split(s: &[u8], at: u8) -> (&[u8], &[u8]) {
    match s.iter().position(|b| *b == at) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let (p, q) = split_target(b"/api2/json/access/users?full=1&x=a+b#top").unwrap();
        assert_eq!(
            (p.as_str(), &q[..]),
            ("/api2/json/access/users", &b"full=1&x=a+b"[..])
        );
        let (p, q) = split_target(b"https://pve:8006/api2/json/version").unwrap();
        assert_eq!((p.as_str(), q.len()), ("/api2/json/version", 0));
        assert!(split_target(b"api2/json").is_err());
        let (p, _) = split_target(b"/u/j%C3%B6e/j%F6e/j\xf6e/a+b%zz%4").unwrap();
        assert_eq!(p, "/u/j\u{c3}\u{b6}e/j\u{f6}e/j\u{f6}e/a+b%zz%4");
    }

    #[test]
    fn head_parsing() {
        let l = Limits::default();
        let parse = |b: &[u8]| parse_head(&mut b.to_vec(), &l);
        let mut buf = b"GET /x HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: b=2\r\nX-A:  v \r\nX-L: j\xfcrgen\r\n\r\nBODY".to_vec();
        let h = parse_head(&mut buf, &l).unwrap().unwrap();
        assert_eq!(h.method, "GET");
        assert!(!h.http10);
        assert_eq!(h.headers["cookie"], "a=1; b=2");
        assert_eq!(h.headers["x-a"], "v");
        assert_eq!(h.headers["x-l"], "j\u{fc}rgen", "a byte is a character");
        assert_eq!(buf, b"BODY", "the head is consumed, the body left");
        let h = parse(b"GET /u/j\xf6e HTTP/1.0\nA: b\n\n").unwrap().unwrap();
        assert_eq!((&h.target[..], h.http10), (&b"/u/j\xf6e"[..], true));
        for partial in [&b"GET / HTTP/1.1"[..], b"GET / HTTP/1.1\r\nA: b\r\n"] {
            assert!(parse(partial).unwrap().is_none());
        }
        let err = |b: &[u8]| parse(b).unwrap_err().status;
        assert_eq!(err(b"GET /x\r\n\r\n"), 400);
        assert_eq!(err(b"GET  /x HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(err(b"GET /x HTTQ/1.1\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/1.1\r\n folded: x\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/1.1\r\nA: b\x01c\r\n\r\n"), 400);
        assert_eq!(err(b"GET /x HTTP/1.1\r\nA: b\x7fc\r\n\r\n"), 400);
        assert_eq!(
            err(b"GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(err(b"\xff\xfe /x HTTP/1.1\r\n\r\n"), 400);
        let many: String = (0..101).map(|i| format!("h{i}: v\r\n")).collect();
        assert_eq!(err(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()), 431);
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(8 * 1024));
        assert_eq!(err(long.as_bytes()), 431);
        assert_eq!(
            err(format!("GET /{} HTTP/1.1", "a".repeat(8 * 1024)).as_bytes()),
            414
        );
    }

    #[test]
    fn responses_are_serialized_and_sanitized() {
        let r = Response {
            status: 500,
            reason: "no such user ('x@pve')".into(),
            headers: vec![
                ("X-Ok".into(), "1".into()),
                ("Content-Length".into(), "99".into()),
                ("X-Bad".into(), "a\r\nInjected: 1".into()),
            ],
            content_type: "application/json;charset=UTF-8",
            body: b"{}".to_vec(),
            min_delay_ms: 0,
        };
        let text = String::from_utf8(serialize(&sanitize(r), true, UNIX_EPOCH)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 500 no such user ('x@pve')\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 2\r\n"));
        assert!(text.contains("\r\nConnection: Keep-Alive\r\n"));
        assert!(text.contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
        assert!(text.contains("\r\nX-Ok: 1\r\n"));
        assert!(!text.contains("Injected"));
        assert!(!text.contains("99"));
        assert!(text.ends_with("\r\n\r\n{}"));

        let two_lines = Response {
            status: 500,
            reason: "line one\nline two".into(),
            headers: vec![],
            content_type: "application/json;charset=UTF-8",
            body: b"{\"data\":null}".to_vec(),
            min_delay_ms: 0,
        };
        let text = String::from_utf8(serialize(&sanitize(two_lines), false, UNIX_EPOCH)).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Length: 0\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
    }

    #[test]
    fn api_paths_and_auth_kinds() {
        assert_eq!(api_relative("/api2/json/access/acl"), Some("/access/acl"));
        assert_eq!(api_relative("/api2/json"), Some(""));
        assert_eq!(api_relative("/api2/jsonx"), None);
        assert_eq!(api_relative("/api2/extjs/access"), None);
        let with = |k: &str, v: &str| Request {
            headers: [(k.to_string(), v.to_string())].into_iter().collect(),
            ..Request::default()
        };
        assert_eq!(
            auth_from_headers(&with("cookie", "a=b; PVEAuthCookie=PVE:x")),
            "ticket"
        );
        assert_eq!(
            auth_from_headers(&with("authorization", "PVEAPIToken=a@pve!t=s")),
            "token"
        );
        assert_eq!(auth_from_headers(&with("authorization", "Basic x")), "none");
        assert_eq!(auth_from_headers(&Request::default()), "none");
    }

    #[test]
    fn fingerprint_format() {
        let f = fingerprint(b"abc");
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(f.starts_with("BA:78:16:BF:8F:01:CF:EA"), "{f}");
    }

    #[test]
    fn generated_identity_serves() {
        let id = Identity::generate().unwrap();
        assert!(id.server_config().is_ok());
        assert_ne!(id.cert_pem, id.ca_pem);
        assert_eq!(
            id.fingerprint().unwrap(),
            fingerprint(&id.chain().unwrap()[0])
        );
        assert!(!format!("{id:?}").contains("PRIVATE KEY"));
    }
}
