//! A small HTTP/1.1 client over rustls: one request and its answer on one
//! connection, everything within one deadline.
//!
//! Written by hand instead of with an HTTP library, because:
//! - PVE puts its error text into the reason phrase and writes it in
//!   Latin-1, with user ids as raw bytes (`500 no such user ('j\xfcrgen@pve')`);
//!   ureq 2 refuses any status line that is not ASCII, so such an answer
//!   became "broken". Here the reason is decoded as PVE encodes it.
//! - ureq 2 sends a request again by itself when a reused connection turns
//!   out to be closed, also a body-less write such as a DELETE; whether a
//!   write is ever sent twice must be decided by the client, which knows.
//! - Size: the module binaries are copied to the target on every task;
//!   without ureq, url and idna (with its Unicode tables) each is about
//!   230 KB smaller.
//!
//! Only what the PVE API needs: no redirects, no compression (we do not ask
//! for it), no proxies; bodies with `Content-Length`, chunked, or up to the
//! end of the connection.

use crate::request::latin1;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{self, BufRead, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Answers larger than this are refused rather than filling memory; the
/// largest PVE access-control answers are a few MB.
const MAX_BODY: u64 = 64 << 20;
/// The status line and the headers together.
const MAX_HEAD: u64 = 64 << 10;

/// Why no connection came about; nothing of the request was sent.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The host name did not resolve (or not within the deadline).
    Resolve(io::Error),
    /// No TCP connection: refused, unreachable, or no answer in time.
    Tcp(io::Error),
    /// The TLS handshake was refused: the certificate, or the protocol.
    Tls(rustls::Error),
    /// The TCP connection stood but the handshake did not complete: no
    /// answer in time, or the server closed the connection.
    Handshake(io::Error),
}

/// Why a sent request has no complete answer: it may or may not have
/// reached the server.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// A header value holds a control character; nothing was sent.
    BadHeader(&'static str),
    /// Timed out, reset or closed.
    Io(io::Error),
    /// What came back is not HTTP/1.x.
    Broken(String),
}

impl From<io::Error> for ExchangeError {
    fn from(e: io::Error) -> ExchangeError {
        ExchangeError::Io(e)
    }
}

impl ExchangeError {
    /// Whether the server closed the connection (rather than not answering
    /// in time, or answering nonsense): what a kept-alive connection that
    /// the server closed while it was idle gives.
    pub fn closed(&self) -> bool {
        matches!(self, ExchangeError::Io(e) if matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ))
    }
}

/// One request: `target` is the path with its query, `form` the body of a
/// POST or PUT.
pub(crate) struct Request<'a> {
    pub method: &'static str,
    pub target: &'a str,
    pub headers: &'a [(&'static str, &'a str)],
    pub form: Option<&'a str>,
}

/// One answer. `reason` is decoded as PVE writes it, Latin-1.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

/// The TCP socket under TLS, with the deadline of the current request:
/// every read and write waits at most until then.
struct Sock {
    tcp: TcpStream,
    deadline: Instant,
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::ErrorKind::TimedOut.into())
    } else {
        Ok(left)
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.read(buf)
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp
            .set_write_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Whether an I/O error is a timeout (the socket timeouts show as
/// `WouldBlock` on Linux).
pub(crate) fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// The addresses of `host`. The system resolver has no timeout of its own
/// that we control, so it runs on a thread we stop waiting for at the
/// deadline.
pub(crate) fn resolve(host: &str, port: u16, deadline: Instant) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let left = remaining(deadline)?;
    let (tx, rx) = mpsc::channel();
    let name = (host.to_string(), port);
    thread::Builder::new().spawn(move || {
        let _ = tx.send(name.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    })?;
    let addrs = rx
        .recv_timeout(left)
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the name has no address",
        ));
    }
    Ok(addrs)
}

/// A TLS connection to the server, usable for one request after another.
pub(crate) struct Conn {
    tls: StreamOwned<ClientConnection, Sock>,
}

impl Conn {
    /// Connects to the first address that answers and completes the TLS
    /// handshake (certificate checks included), all before `deadline`.
    pub fn open(
        addrs: &[SocketAddr],
        name: &ServerName<'static>,
        config: &Arc<ClientConfig>,
        deadline: Instant,
    ) -> Result<Conn, ConnectError> {
        let mut last = io::Error::from(io::ErrorKind::NotFound);
        let mut tcp = None;
        for addr in addrs {
            let left = remaining(deadline).map_err(ConnectError::Tcp)?;
            match TcpStream::connect_timeout(addr, left) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or(ConnectError::Tcp(last))?;
        // The request goes out in one write; waiting to fill a packet
        // would only delay it.
        tcp.set_nodelay(true).map_err(ConnectError::Tcp)?;
        let mut sock = Sock { tcp, deadline };
        let mut conn =
            ClientConnection::new(config.clone(), name.clone()).map_err(ConnectError::Tls)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).map_err(|e| {
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => ConnectError::Tls(tls.clone()),
                    None => ConnectError::Handshake(e),
                }
            })?;
        }
        Ok(Conn {
            tls: StreamOwned::new(conn, sock),
        })
    }

    /// Sends `req` and reads the whole answer before `deadline`. With
    /// `Ok`, the flag says whether the connection may carry another request.
    pub fn exchange(
        &mut self,
        req: &Request<'_>,
        deadline: Instant,
    ) -> Result<(Response, bool), ExchangeError> {
        let message = message(req)?;
        self.tls.sock.deadline = deadline;
        self.tls.write_all(&message)?;
        self.tls.flush()?;
        read_answer(&mut self.tls)
    }
}

/// Reads one answer. With `Ok`, the flag says whether the connection may
/// carry another request.
fn read_answer(r: &mut impl BufRead) -> Result<(Response, bool), ExchangeError> {
    loop {
        let head = read_head(r)?;
        // An interim answer (100 Continue and the like) precedes the real one.
        if (100..200).contains(&head.status) {
            continue;
        }
        let (body, keep) = if matches!(head.status, 204 | 304) {
            (Vec::new(), head.keep_alive)
        } else if head.chunked {
            (chunked(r)?, head.keep_alive)
        } else if let Some(len) = head.length {
            (exactly(r, len)?, head.keep_alive)
        } else {
            (to_end(r)?, false)
        };
        let resp = Response {
            status: head.status,
            reason: head.reason,
            body,
        };
        return Ok((resp, keep));
    }
}

/// One line, up to and without its line end; `what` names it in errors.
fn line(r: &mut impl BufRead, limit: u64, what: &str) -> Result<Vec<u8>, ExchangeError> {
    let mut line = Vec::new();
    r.take(limit).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(if (line.len() as u64) < limit {
            io::Error::from(io::ErrorKind::UnexpectedEof).into()
        } else {
            ExchangeError::Broken(format!("{what} is too long"))
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

fn read_head(r: &mut impl BufRead) -> Result<Head, ExchangeError> {
    let mut head = parse_status(&line(r, MAX_HEAD, "the status line")?)?;
    let mut budget = MAX_HEAD;
    loop {
        let line = line(r, budget, "the head")?;
        budget = budget.saturating_sub(line.len() as u64 + 2);
        if line.is_empty() {
            return Ok(head);
        }
        head.header(&line)?;
    }
}

fn exactly(r: &mut impl BufRead, len: u64) -> Result<Vec<u8>, ExchangeError> {
    if len > MAX_BODY {
        return Err(too_large());
    }
    let mut body = Vec::new();
    r.take(len).read_to_end(&mut body)?;
    if (body.len() as u64) < len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(body)
}

fn chunked(r: &mut impl BufRead) -> Result<Vec<u8>, ExchangeError> {
    let mut body = Vec::new();
    loop {
        let size_line = line(r, 1024, "a chunk size")?;
        let size = size_line.split(|b| *b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .ok()
            .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| ExchangeError::Broken("a chunk size is not a number".into()))?;
        if size == 0 {
            // Trailer fields, up to the empty line.
            while !line(r, MAX_HEAD, "a trailer")?.is_empty() {}
            return Ok(body);
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(too_large());
        }
        body.extend(exactly(r, size)?);
        match line(r, 2, "a chunk end") {
            Ok(end) if end.is_empty() => {}
            Err(ExchangeError::Io(e)) => return Err(e.into()),
            _ => {
                return Err(ExchangeError::Broken(
                    "a chunk is longer than its size".into(),
                ))
            }
        }
    }
}

fn to_end(r: &mut impl BufRead) -> Result<Vec<u8>, ExchangeError> {
    let mut body = Vec::new();
    match r.take(MAX_BODY + 1).read_to_end(&mut body) {
        Ok(_) => {}
        // Without a length, the end of the connection ends the body,
        // with or without TLS close_notify.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.into()),
    }
    if body.len() as u64 > MAX_BODY {
        return Err(too_large());
    }
    Ok(body)
}

fn too_large() -> ExchangeError {
    ExchangeError::Broken(format!("the answer is larger than {} MiB", MAX_BODY >> 20))
}

/// The request as sent: head and form body. Header values are Latin-1, as
/// PVE reads them: the token id in `Authorization` may hold `ü`.
fn message(req: &Request<'_>) -> Result<Vec<u8>, ExchangeError> {
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method, req.target).into_bytes();
    let length = req.form.map(|f| f.len().to_string());
    let form_headers = match (&req.form, &length) {
        (Some(_), Some(len)) => vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", len.as_str()),
        ],
        _ => Vec::new(),
    };
    for (name, value) in req.headers.iter().chain(&form_headers) {
        let value = latin1(value);
        // A line break would end the header and start another.
        if value.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
            return Err(ExchangeError::BadHeader(name));
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(req.form.unwrap_or_default().as_bytes());
    Ok(out)
}

/// What the head of an answer says about the body and the connection.
struct Head {
    status: u16,
    reason: String,
    chunked: bool,
    length: Option<u64>,
    keep_alive: bool,
}

/// Bytes as Latin-1 text: each byte is the character of that code point.
fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn parse_status(line: &[u8]) -> Result<Head, ExchangeError> {
    let text = from_latin1(line);
    let broken = || {
        let shown: String = text.chars().take(40).collect();
        ExchangeError::Broken(format!("not an HTTP/1.x status line: '{shown}'"))
    };
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let minor = version.strip_prefix("HTTP/1.").ok_or_else(broken)?;
    let code = parts.next().unwrap_or_default();
    let status = match code.parse::<u16>() {
        Ok(s) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => return Err(broken()),
    };
    Ok(Head {
        status,
        reason: parts.next().unwrap_or_default().trim().to_string(),
        chunked: false,
        length: None,
        // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it.
        keep_alive: minor != "0",
    })
}

impl Head {
    fn header(&mut self, line: &[u8]) -> Result<(), ExchangeError> {
        let text = from_latin1(line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(ExchangeError::Broken("a header line without ':'".into()));
        };
        let value = value.trim();
        let has = |token: &str| {
            value
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case(token))
        };
        if name.eq_ignore_ascii_case("Content-Length") {
            let len = value
                .parse::<u64>()
                .map_err(|_| ExchangeError::Broken(format!("Content-Length '{value}'")))?;
            if self.length.is_some_and(|l| l != len) {
                return Err(ExchangeError::Broken(
                    "two different Content-Lengths".into(),
                ));
            }
            self.length = Some(len);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            self.chunked = has("chunked");
        } else if name.eq_ignore_ascii_case("Connection") {
            if has("close") {
                self.keep_alive = false;
            } else if has("keep-alive") {
                self.keep_alive = true;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests/wire.rs"]
mod tests;
