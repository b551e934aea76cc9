//! A minimal LDAPv3 client: what PVE's realm sync asks of a directory
//! (Net::LDAP in `PVE::LDAP`): simple bind, subtree and base searches with
//! the paged-results control, the root DSE, over plain TCP, TLS from the
//! first byte (`ldaps`) or StartTLS. Errors read as Net::LDAP's `error`
//! does (the server's diagnostic text, else the result code's
//! description), and TLS failures as IO::Socket::SSL words the ones PVE's
//! task log shows, so a task log says what PVE's says.
//!
//! TLS is set up as `PVE::Auth::LDAP` asks Net::LDAP for it ([`Tls`]):
//! with `verify` off no certificate is checked at all; with it on, the
//! chain must lead to a CA of `capath` (a PEM file, or a directory of
//! OpenSSL hash links such as /etc/ssl/certs, the default) and the
//! certificate must name the server as the realm names it. One protocol
//! version is spoken, TLS 1.2 unless `sslversion` says 1.3.
//!
//! Why its own client: pve-sim is synchronous and threads per connection;
//! the `ldap3` crate is async (tokio) even behind its sync API, and the
//! operations above are a few hundred lines of BER; TLS is the rustls
//! pve-sim's HTTPS server uses.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, StreamOwned,
};

/// Net::LDAP's connect timeout as PVE sets it.
const TIMEOUT: Duration = Duration::from_secs(10);
const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
const START_TLS: &str = "1.3.6.1.4.1.1466.20037";
/// Where OpenSSL, and so PVE, looks for CAs when `capath` is not set.
const SYSTEM_CAS: &str = "/etc/ssl/certs";
/// What IO::Socket::SSL (OpenSSL 3) reports for a chain that leads to no
/// trusted CA, measured with PVE's sync; it says nothing more specific
/// (unknown CA, expired, ...), and neither does PVE's task log.
const VERIFY_FAILED: &str =
    "SSL connect attempt failed error:0A000086:SSL routines::certificate verify failed";
/// Net::LDAP's code for a filter it cannot encode (LDAP_FILTER_ERROR).
const FILTER_ERROR: u32 = 87;

/// A directory entry: its DN and attributes (names as the server sent
/// them, values as bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    /// The values of `name` (attribute names are case-insensitive).
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// The first value of `name`, as Net::LDAP's `get_value` in scalar context.
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).first().map(Vec::as_slice)
    }
}

/// A result code other than success, as Net::LDAP reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapError(pub String);

impl LdapError {
    fn result(code: u32, diagnostic: &str) -> LdapError {
        if diagnostic.is_empty() {
            LdapError(describe(code))
        } else {
            LdapError(diagnostic.to_string())
        }
    }
}

/// `Net::LDAP::Util::ldap_error_desc`.
fn describe(code: u32) -> String {
    let text = match code {
        1 => "Operations error",
        2 => "Protocol error",
        3 => "Timelimit exceeded",
        4 => "Sizelimit exceeded",
        7 => "Strong authentication not supported",
        8 => "Strong authentication required",
        10 => "Referral received",
        11 => "Admin limit exceeded",
        12 => "Critical extension not available",
        13 => "Confidentiality required",
        16 => "No such attribute",
        17 => "Undefined attribute type",
        18 => "Inappropriate matching",
        19 => "Constraint violation",
        21 => "Invalid syntax",
        32 => "No such object",
        34 => "Invalid DN syntax",
        48 => "Inappropriate authentication",
        49 => "Invalid credentials",
        50 => "Insufficient access",
        51 => "DSA is busy",
        52 => "DSA is unavailable",
        53 => "DSA is unwilling to perform",
        80 => "Unknown error",
        81 => "Can't contact LDAP server",
        84 => "Decoding error",
        85 => "Timed out",
        87 => "Bad search filter",
        _ => return format!("LDAP error code {code}(0x{code:02X})"),
    };
    text.to_string()
}

/// What is wrong with the bytes from the server: the connection is
/// unusable, as Net::LDAP then reports it.
fn broken(what: &str) -> LdapError {
    LdapError(format!("Can't contact LDAP server ({what})"))
}

/// A failed read: the server closed the connection (Net::LDAP's
/// `Unexpected EOF`, measured with PVE's sync when a realm speaks plain
/// LDAP to an ldaps port), or another error of the connection.
fn read_error(e: &std::io::Error) -> LdapError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        LdapError("Unexpected EOF".to_string())
    } else {
        broken(&os_text(e))
    }
}

/// An OS error's text without Rust's `(os error N)`, as Perl's `$!` reads.
fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

// ---- BER ----

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

fn integer(tag: u8, v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(tag, &bytes[start..])
}

fn string(s: &[u8]) -> Vec<u8> {
    tlv(0x04, s)
}

fn seq(tag: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// One decoded element: its tag and contents.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// The element at the start of `buf` and what follows it.
fn read_tlv(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), LdapError> {
    let (&tag, rest) = buf.split_first().ok_or_else(|| broken("short message"))?;
    let (&first, mut rest) = rest.split_first().ok_or_else(|| broken("short message"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(broken("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(broken("short message"));
    }
    Ok((
        Tlv {
            tag,
            body: &rest[..len],
        },
        &rest[len..],
    ))
}

/// All elements of a constructed element's contents.
fn children(mut body: &[u8]) -> Result<Vec<Tlv<'_>>, LdapError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (t, rest) = read_tlv(body)?;
        out.push(t);
        body = rest;
    }
    Ok(out)
}

fn uint(t: Tlv) -> u32 {
    t.body
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

// ---- filters (RFC 4515 strings to RFC 4511 BER) ----

/// `filter` encoded; `Err` is Net::LDAP's answer to a filter it cannot
/// parse.
pub fn encode_filter(filter: &str) -> Result<Vec<u8>, LdapError> {
    let bad = || LdapError(describe(FILTER_ERROR));
    let (encoded, rest) = parse_filter(filter.trim().as_bytes()).ok_or_else(bad)?;
    if rest.is_empty() {
        Ok(encoded)
    } else {
        Err(bad())
    }
}

fn parse_filter(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let s = s.strip_prefix(b"(")?;
    let (encoded, rest) = match s.first()? {
        op @ (b'&' | b'|') => {
            let mut rest = &s[1..];
            let mut parts = Vec::new();
            while rest.first() == Some(&b'(') {
                let (part, r) = parse_filter(rest)?;
                parts.push(part);
                rest = r;
            }
            (seq(if *op == b'&' { 0xa0 } else { 0xa1 }, &parts), rest)
        }
        b'!' => {
            let (inner, rest) = parse_filter(&s[1..])?;
            (tlv(0xa2, &inner), rest)
        }
        _ => {
            let end = s.iter().position(|c| *c == b')')?;
            (parse_item(&s[..end])?, &s[end..])
        }
    };
    Some((encoded, rest.strip_prefix(b")")?))
}

fn parse_item(item: &[u8]) -> Option<Vec<u8>> {
    let eq = item.iter().position(|c| *c == b'=')?;
    let (attr, tag) = match item[..eq].last() {
        Some(b'~') => (&item[..eq - 1], 0xa8),
        Some(b'>') => (&item[..eq - 1], 0xa5),
        Some(b'<') => (&item[..eq - 1], 0xa6),
        _ => (&item[..eq], 0xa3),
    };
    if attr.is_empty()
        || !attr
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b';'))
    {
        return None;
    }
    let value = &item[eq + 1..];
    if tag != 0xa3 || !value.contains(&b'*') {
        return Some(seq(tag, &[string(attr), string(&unescape(value)?)]));
    }
    if value == b"*" {
        return Some(tlv(0x87, attr));
    }
    let pieces: Vec<&[u8]> = value.split(|c| *c == b'*').collect();
    let last = pieces.len() - 1;
    let mut subs = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if piece.is_empty() {
            continue;
        }
        let kind = match i {
            0 => 0x80,
            i if i == last => 0x82,
            _ => 0x81,
        };
        subs.push(tlv(kind, &unescape(piece)?));
    }
    Some(seq(0xa4, &[string(attr), seq(0x30, &subs)]))
}

/// `\XX` escapes of a filter value.
fn unescape(v: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' {
            let hex = std::str::from_utf8(v.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if v[i] == b'(' {
            return None;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    Some(out)
}

// ---- TLS ----

/// How a realm reaches its directory: PVE's `mode` (or the deprecated
/// `secure`); [`Tls`] holds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// TLS from the first byte.
    Ldaps,
    /// The StartTLS extended operation after connecting, before the bind.
    StartTls,
}

/// The TLS settings of a realm, as `PVE::Auth::LDAP` hands them to
/// Net::LDAP.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    pub verify: bool,
    /// A CA file, or a directory of hash links; unset: the system's CAs.
    pub capath: Option<String>,
    /// `tlsv1_2` (PVE's default) or `tlsv1_3`.
    pub sslversion: Option<String>,
}

impl Tls {
    /// A rustls client configuration for these settings.
    fn config(&self) -> Result<Arc<ClientConfig>, LdapError> {
        let failed = |what: String| LdapError(format!("SSL connect attempt failed: {what}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // IO::Socket::SSL's SSL_version names one version, not a minimum:
        // PVE with its default tlsv1_2 talks TLS 1.2 to a directory that
        // offers 1.3 (measured).
        let version = match self.sslversion.as_deref().unwrap_or("tlsv1_2") {
            "tlsv1_2" => &rustls::version::TLS12,
            "tlsv1_3" => &rustls::version::TLS13,
            other => {
                return Err(failed(format!(
                    "pve-sim speaks TLS 1.2 and 1.3 only, not sslversion '{other}' (PVE's OpenSSL refuses it too); set sslversion to tlsv1_2 or tlsv1_3"
                )))
            }
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])
            .map_err(|e| failed(e.to_string()))?;
        let config = if self.verify {
            // An empty store (no CA in capath) fails every chain, as OpenSSL's.
            let store = ca_store(self.capath.as_deref().unwrap_or(SYSTEM_CAS))?;
            builder.with_root_certificates(store)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        };
        Ok(Arc::new(config.with_no_client_auth()))
    }
}

/// The CAs of `capath` as OpenSSL reads it for Net::LDAP: every
/// certificate of a file; of a directory, those of the files named as
/// `c_rehash` names its links (`<8 hex digits>.<n>`), as OpenSSL finds
/// nothing else there (measured: a directory holding just `ca.pem` fails
/// like a wrong CA). What cannot be read is named as IO::Socket::SSL names
/// it (measured for a file).
fn ca_store(capath: &str) -> Result<RootCertStore, LdapError> {
    let path = Path::new(capath);
    let files: Vec<_> = if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| {
            LdapError(format!(
                "SSL_ca_path {capath} can't be used: {}",
                os_text(&e)
            ))
        })?;
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(hash_link)
            })
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    let mut store = RootCertStore::empty();
    for file in files {
        let pem = std::fs::read(&file).map_err(|e| {
            LdapError(format!(
                "SSL_ca_file {} can't be used: {}",
                file.display(),
                os_text(&e)
            ))
        })?;
        let mut reader = pem.as_slice();
        store.add_parsable_certificates(rustls_pemfile::certs(&mut reader).filter_map(Result::ok));
    }
    Ok(store)
}

/// `0a1b2c3d.0`: the name of one of OpenSSL's hash links.
fn hash_link(name: &str) -> bool {
    name.split_once('.').is_some_and(|(hash, n)| {
        hash.len() == 8
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Accepts any certificate: PVE's documented behaviour with `verify` off
/// (its default), Net::LDAP's `verify => 'none'`. The handshake's
/// signature is still checked, as OpenSSL does.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A failed handshake as PVE's task log words it (IO::Socket::SSL's
/// texts, measured): a certificate not for this host, a chain to no
/// trusted CA, else rustls' own description.
fn handshake_error(e: &std::io::Error) -> LdapError {
    let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    LdapError(match tls {
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => "hostname verification failed".to_string(),
        Some(rustls::Error::InvalidCertificate(_)) => VERIFY_FAILED.to_string(),
        Some(other) => format!("SSL connect attempt failed: {other}"),
        None => format!("SSL connect attempt failed: {}", os_text(e)),
    })
}

/// A TLS client on `sock`, its handshake done, the server's certificate
/// checked for `host` (an IP address or a DNS name, as the realm names the
/// server).
fn tls_handshake(
    sock: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<Box<StreamOwned<ClientConnection, TcpStream>>, LdapError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| LdapError(format!("SSL connect attempt failed: {host}: {e}")))?;
    let conn = ClientConnection::new(config, name)
        .map_err(|e| LdapError(format!("SSL connect attempt failed: {e}")))?;
    let mut stream = Box::new(StreamOwned::new(conn, sock));
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| handshake_error(&e))?;
    }
    Ok(stream)
}

/// The bytes under the LDAP messages.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

// ---- the connection ----

/// An LDAP session over TCP, or TLS over TCP.
pub struct Connection {
    stream: Stream,
    next_id: i64,
}

impl Connection {
    /// Connects to the first of `servers` that answers on `port` (Net::LDAP
    /// tries each in turn; with `ldaps` a server whose handshake fails
    /// counts as not answering), then, for StartTLS, secures that one
    /// connection; the error is the last one's.
    pub fn connect(
        servers: &[&str],
        port: u16,
        security: Security,
        tls: &Tls,
    ) -> Result<Connection, LdapError> {
        let config = match security {
            Security::Plain => None,
            Security::Ldaps | Security::StartTls => Some(tls.config()?),
        };
        let mut last = LdapError("no server given".to_string());
        for server in servers {
            let host = server.trim_start_matches('[').trim_end_matches(']');
            let addrs = match (host, port).to_socket_addrs() {
                Ok(a) => a.collect::<Vec<_>>(),
                Err(e) => {
                    last = LdapError(os_text(&e));
                    continue;
                }
            };
            for addr in addrs {
                let sock = match TcpStream::connect_timeout(&addr, TIMEOUT) {
                    Ok(sock) => sock,
                    Err(e) => {
                        last = LdapError(os_text(&e));
                        continue;
                    }
                };
                let _ = sock.set_read_timeout(Some(TIMEOUT * 12));
                let stream = match (&config, security) {
                    (Some(config), Security::Ldaps) => {
                        match tls_handshake(sock, host, config.clone()) {
                            Ok(tls) => Stream::Tls(tls),
                            Err(e) => {
                                last = e;
                                continue;
                            }
                        }
                    }
                    _ => Stream::Plain(sock),
                };
                let mut conn = Connection { stream, next_id: 1 };
                if let (Some(config), Security::StartTls) = (config, security) {
                    conn.start_tls(host, config)?;
                }
                return Ok(conn);
            }
        }
        Err(last)
    }

    /// The StartTLS extended operation, then the handshake on the same
    /// socket. A refusal is the server's diagnostic (slapd without TLS:
    /// `unsupported extended operation`), as Net::LDAP's `start_tls`
    /// reports it.
    fn start_tls(&mut self, host: &str, config: Arc<ClientConfig>) -> Result<(), LdapError> {
        let id = self.send(tlv(0x77, &tlv(0x80, START_TLS.as_bytes())), None)?;
        loop {
            let msg = self.receive()?;
            let (id_got, op, _) = split_message(&msg)?;
            if id_got == id && op.tag == 0x78 {
                result(op)?;
                break;
            }
        }
        let Stream::Plain(sock) = &self.stream else {
            return Err(LdapError("TLS already started".to_string()));
        };
        let sock = sock.try_clone().map_err(|e| broken(&os_text(&e)))?;
        self.stream = Stream::Tls(tls_handshake(sock, host, config)?);
        Ok(())
    }

    fn send(&mut self, op: Vec<u8>, controls: Option<Vec<u8>>) -> Result<i64, LdapError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut parts = vec![integer(0x02, id), op];
        parts.extend(controls);
        self.stream
            .write_all(&seq(0x30, &parts))
            .and_then(|()| self.stream.flush())
            .map_err(|e| broken(&os_text(&e)))?;
        Ok(id)
    }

    /// The next whole message from the server.
    fn receive(&mut self) -> Result<Vec<u8>, LdapError> {
        let mut head = [0u8; 2];
        self.stream
            .read_exact(&mut head)
            .map_err(|e| read_error(&e))?;
        let mut len_bytes = Vec::new();
        let len = if head[1] < 0x80 {
            usize::from(head[1])
        } else {
            let n = usize::from(head[1] & 0x7f);
            if n == 0 || n > 4 {
                return Err(broken("bad length"));
            }
            len_bytes.resize(n, 0);
            self.stream
                .read_exact(&mut len_bytes)
                .map_err(|e| read_error(&e))?;
            len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .map_err(|e| read_error(&e))?;
        let mut msg = head.to_vec();
        msg.extend(len_bytes);
        msg.extend(body);
        Ok(msg)
    }

    /// A simple bind; anonymous with an empty DN and password.
    pub fn bind(&mut self, dn: &str, password: &str) -> Result<(), LdapError> {
        let op = seq(
            0x60,
            &[
                integer(0x02, 3),
                string(dn.as_bytes()),
                tlv(0x80, password.as_bytes()),
            ],
        );
        let id = self.send(op, None)?;
        loop {
            let msg = self.receive()?;
            let (id_got, op, _) = split_message(&msg)?;
            if id_got == id && op.tag == 0x61 {
                return result(op);
            }
        }
    }

    /// A search of `base` (`subtree`: the whole tree under it, else the
    /// base alone) for `filter`, reading `attrs`, in pages of `page` entries
    /// when given (the paged-results control, as PVE asks for it).
    pub fn search(
        &mut self,
        base: &str,
        subtree: bool,
        filter: &str,
        attrs: &[&str],
        page: Option<i64>,
    ) -> Result<Vec<Entry>, LdapError> {
        let filter = encode_filter(filter)?;
        let attr_list: Vec<Vec<u8>> = attrs.iter().map(|a| string(a.as_bytes())).collect();
        let mut entries = Vec::new();
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            let op = seq(
                0x63,
                &[
                    string(base.as_bytes()),
                    integer(0x0a, if subtree { 2 } else { 0 }),
                    integer(0x0a, 0),
                    integer(0x02, 0),
                    integer(0x02, 0),
                    tlv(0x01, &[0]),
                    filter.clone(),
                    seq(0x30, &attr_list),
                ],
            );
            let controls = page.map(|size| {
                let value = seq(0x30, &[integer(0x02, size), string(&cookie)]);
                seq(
                    0xa0,
                    &[seq(
                        0x30,
                        &[string(PAGED_RESULTS.as_bytes()), string(&value)],
                    )],
                )
            });
            let id = self.send(op, controls)?;
            loop {
                let msg = self.receive()?;
                let (id_got, op, controls) = split_message(&msg)?;
                if id_got != id {
                    continue;
                }
                match op.tag {
                    0x64 => entries.push(entry(op)?),
                    0x65 => {
                        result(op)?;
                        cookie = paged_cookie(controls)?;
                        break;
                    }
                    _ => {}
                }
            }
            if page.is_none() || cookie.is_empty() {
                return Ok(entries);
            }
        }
    }

    /// `Net::LDAP::root_dse`: the first value of `attr` in the root DSE.
    pub fn root_dse(&mut self, attr: &str) -> Result<Option<String>, LdapError> {
        let entries = self.search("", false, "(objectClass=*)", &[attr], None)?;
        Ok(entries
            .first()
            .and_then(|e| e.first(attr))
            .map(|v| String::from_utf8_lossy(v).into_owned()))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // An unbind, as Net::LDAP sends when the object goes.
        let _ = self.send(tlv(0x42, &[]), None);
    }
}

/// A message's id, operation and controls (`[0]`).
fn split_message(msg: &[u8]) -> Result<(i64, Tlv<'_>, Option<Tlv<'_>>), LdapError> {
    let (outer, _) = read_tlv(msg)?;
    let parts = children(outer.body)?;
    let (Some(id), Some(op)) = (parts.first(), parts.get(1)) else {
        return Err(broken("bad message"));
    };
    let controls = parts.get(2).copied().filter(|c| c.tag == 0xa0);
    Ok((i64::from(uint(*id)), *op, controls))
}

/// An LDAPResult: `Ok` for success.
fn result(op: Tlv) -> Result<(), LdapError> {
    let parts = children(op.body)?;
    let code = parts.first().map_or(80, |t| uint(*t));
    if code == 0 {
        return Ok(());
    }
    let text = parts
        .get(2)
        .map(|t| String::from_utf8_lossy(t.body).into_owned())
        .unwrap_or_default();
    Err(LdapError::result(code, &text))
}

fn entry(op: Tlv) -> Result<Entry, LdapError> {
    let parts = children(op.body)?;
    let dn = parts
        .first()
        .map(|t| String::from_utf8_lossy(t.body).into_owned())
        .unwrap_or_default();
    let mut attrs = Vec::new();
    if let Some(list) = parts.get(1) {
        for attr in children(list.body)? {
            let fields = children(attr.body)?;
            let Some(name) = fields.first() else {
                continue;
            };
            let values = match fields.get(1) {
                Some(set) => children(set.body)?
                    .into_iter()
                    .map(|v| v.body.to_vec())
                    .collect(),
                None => Vec::new(),
            };
            attrs.push((String::from_utf8_lossy(name.body).into_owned(), values));
        }
    }
    Ok(Entry { dn, attrs })
}

/// The cookie of a paged-results response control; empty when the server
/// sent none (the last page).
fn paged_cookie(controls: Option<Tlv>) -> Result<Vec<u8>, LdapError> {
    let Some(controls) = controls else {
        return Ok(Vec::new());
    };
    for control in children(controls.body)? {
        let fields = children(control.body)?;
        if fields.first().map(|t| t.body) != Some(PAGED_RESULTS.as_bytes()) {
            continue;
        }
        let Some(value) = fields.iter().skip(1).find(|t| t.tag == 0x04) else {
            continue;
        };
        let (inner, _) = read_tlv(value.body)?;
        let parts = children(inner.body)?;
        return Ok(parts.get(1).map(|c| c.body.to_vec()).unwrap_or_default());
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_encode_as_rfc_4511_says() {
        assert_eq!(
            encode_filter("(uid=*)").unwrap(),
            [0x87, 3, b'u', b'i', b'd']
        );
        assert_eq!(
            encode_filter("(cn=a\\2ab)").unwrap(),
            [0xa3, 9, 0x04, 2, b'c', b'n', 0x04, 3, b'a', b'*', b'b']
        );
        assert_eq!(
            encode_filter("(&(a=*)(!(b>=1)))").unwrap(),
            [0xa0, 13, 0x87, 1, b'a', 0xa2, 8, 0xa5, 6, 0x04, 1, b'b', 0x04, 1, b'1']
        );
        assert_eq!(
            encode_filter("(cn=ab*c*)").unwrap(),
            [0xa4, 13, 0x04, 2, b'c', b'n', 0x30, 7, 0x80, 2, b'a', b'b', 0x81, 1, b'c']
        );
        for bad in [
            "uid=x",
            "(uid=x",
            "(=x)",
            "(a=b)(c=d)",
            "(a=\\zz)",
            "(a=b(c)",
        ] {
            assert_eq!(
                encode_filter(bad),
                Err(LdapError("Bad search filter".to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn ca_directories_are_read_by_their_hash_links() {
        for name in ["0a1b2c3d.0", "ABCDEF01.12"] {
            assert!(hash_link(name), "{name}");
        }
        for name in [
            "ca.pem",
            "0a1b2c3d",
            "0a1b2c3d.",
            "0a1b2c3g.0",
            "0a1b2c3d.pem",
        ] {
            assert!(!hash_link(name), "{name}");
        }
    }

    /// Against a server that offers TLS 1.2 and 1.3 (pve-sim's own HTTPS
    /// configuration), as slapd does.
    #[test]
    fn sslversion_is_the_one_version_spoken() {
        use rustls::ProtocolVersion::{TLSv1_2, TLSv1_3};
        let identity = crate::server::Identity::generate().expect("a certificate");
        let server = identity.server_config().expect("a server configuration");
        let negotiated = |sslversion: Option<&str>| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
            let addr = listener.local_addr().expect("the address");
            let server = server.clone();
            let serving = std::thread::spawn(move || {
                let (mut sock, _) = listener.accept().expect("accept");
                let mut conn = rustls::ServerConnection::new(server).expect("a TLS server");
                while conn.is_handshaking() {
                    if conn.complete_io(&mut sock).is_err() {
                        break;
                    }
                }
            });
            let tls = Tls {
                sslversion: sslversion.map(String::from),
                ..Tls::default()
            };
            let sock = TcpStream::connect(addr).expect("connect");
            let stream = tls_handshake(sock, "127.0.0.1", tls.config().expect("a client"))
                .expect("a handshake");
            let _ = serving.join();
            stream.conn.protocol_version()
        };
        assert_eq!(negotiated(None), Some(TLSv1_2));
        assert_eq!(negotiated(Some("tlsv1_2")), Some(TLSv1_2));
        assert_eq!(negotiated(Some("tlsv1_3")), Some(TLSv1_3));
        let old = Tls {
            sslversion: Some("tlsv1_1".to_string()),
            ..Tls::default()
        };
        assert!(old.config().is_err());
    }

    #[test]
    fn handshake_failures_read_as_pves_task_log() {
        let failing = |e: rustls::Error| {
            handshake_error(&std::io::Error::new(std::io::ErrorKind::InvalidData, e)).0
        };
        assert_eq!(
            failing(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName
            )),
            "hostname verification failed"
        );
        assert_eq!(
            failing(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            )),
            VERIFY_FAILED
        );
        assert_eq!(
            failing(rustls::Error::InvalidCertificate(CertificateError::Expired)),
            VERIFY_FAILED
        );
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        assert_eq!(handshake_error(&eof).0, "SSL connect attempt failed: eof");
    }

    #[test]
    fn ber_lengths_and_integers() {
        assert_eq!(integer(0x02, 0), [0x02, 1, 0]);
        assert_eq!(integer(0x02, 128), [0x02, 2, 0, 128]);
        assert_eq!(integer(0x02, 900), [0x02, 2, 0x03, 0x84]);
        assert_eq!(integer(0x02, -1), [0x02, 1, 0xff]);
        let long = tlv(0x04, &[7; 300]);
        assert_eq!(&long[..4], [0x04, 0x82, 0x01, 0x2c]);
        let (t, rest) = read_tlv(&long).unwrap();
        assert_eq!((t.tag, t.body.len(), rest.len()), (0x04, 300, 0));
        assert!(read_tlv(&[0x04, 5, 1]).is_err());
    }

    #[test]
    fn results_read_as_net_ldap_reports_them() {
        let done = |code: u8, text: &str| {
            seq(
                0x65,
                &[tlv(0x0a, &[code]), string(b""), string(text.as_bytes())],
            )
        };
        let msg = done(49, "");
        let (t, _) = read_tlv(&msg).unwrap();
        assert_eq!(result(t), Err(LdapError("Invalid credentials".to_string())));
        let msg = done(32, "");
        assert_eq!(
            result(read_tlv(&msg).unwrap().0),
            Err(LdapError("No such object".to_string()))
        );
        let msg = done(53, "no anonymous bind");
        assert_eq!(
            result(read_tlv(&msg).unwrap().0),
            Err(LdapError("no anonymous bind".to_string()))
        );
        assert_eq!(describe(200), "LDAP error code 200(0xC8)");
        assert_eq!(result(read_tlv(&done(0, "")).unwrap().0), Ok(()));
    }
}
