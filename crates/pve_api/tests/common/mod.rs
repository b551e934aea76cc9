//! A tiny HTTPS/1.1 server for the client's tests: each test gives a
//! handler that answers (or delays, or drops) every request, and can read
//! back what the client sent.

#![allow(dead_code)] // each test file uses a different part

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A CA and a server certificate signed by it.
pub struct Certs {
    pub ca_pem: String,
    pub leaf: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Certs {
    pub fn new(names: &[&str], expired: bool) -> Certs {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "pve_api test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf = CertificateParams::new(names).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "pve node");
        if expired {
            leaf.not_before = rcgen::date_time_ymd(2000, 1, 1);
            leaf.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let leaf = leaf.signed_by(&key, &issuer).unwrap();
        Certs {
            ca_pem: ca_cert.pem(),
            leaf: leaf.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// `AB:CD:...` of the server certificate.
    pub fn fingerprint(&self) -> String {
        ring::digest::digest(&ring::digest::SHA256, &self.leaf)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// What the client sent.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// Path below `/api2/json`, with the query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Which TCP connection (numbered from 0) carried it.
    pub conn: usize,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

pub enum Reply {
    /// Status, reason phrase, body.
    Raw(u16, String, String),
    /// Answer after a pause.
    Late(Duration, Box<Reply>),
    /// Close the connection without answering, abruptly (no TLS
    /// close_notify), as if the node died.
    Drop,
    /// Close the connection without answering, cleanly, as a server does
    /// with an idle keep-alive connection.
    Close,
    /// The whole answer as sent, byte for byte (PVE writes its reason
    /// phrases in Latin-1); the connection stays open.
    Bytes(Vec<u8>),
    /// A status line, then a header line every interval, never ending.
    Trickle(Duration),
}

impl Reply {
    pub fn data(v: Value) -> Reply {
        Reply::Raw(200, "OK".into(), json!({ "data": v }).to_string())
    }
    /// A PVE-style error: the reason is the message's first line.
    pub fn error(status: u16, message: &str) -> Reply {
        let reason = message.lines().next().unwrap_or("").to_string();
        Reply::Raw(
            status,
            reason,
            json!({"data": null, "message": format!("{message}\n")}).to_string(),
        )
    }
    pub fn param_error(errors: Value) -> Reply {
        Reply::Raw(
            400,
            "Parameter verification failed.".into(),
            json!({"data": null, "errors": errors, "message": "Parameter verification failed.\n"})
                .to_string(),
        )
    }
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

pub struct Server {
    pub port: u16,
    pub certs: Arc<Certs>,
    requests: Arc<Mutex<Vec<Req>>>,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

impl Server {
    pub fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
        Server::with_certs(Certs::new(&["localhost", "127.0.0.1"], false), handler)
    }

    pub fn with_certs(
        certs: Certs,
        handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let certs = Arc::new(certs);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certs.leaf.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certs.key_der.clone())),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let requests = requests.clone();
            thread::spawn(move || {
                for (conn, stream) in listener.incoming().enumerate() {
                    let Ok(stream) = stream else { continue };
                    let (config, requests, handler) =
                        (config.clone(), requests.clone(), handler.clone());
                    thread::spawn(move || serve(stream, config, conn, &requests, &*handler));
                }
            });
        }
        let dir = std::env::temp_dir().join(format!(
            "pve_api_test_{}_{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Server {
            port,
            certs,
            requests,
            dir,
        }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is(method, path))
            .count()
    }

    /// The CA certificate as a file, for `ca_path`.
    pub fn ca_file(&self) -> String {
        let path = self.dir.join("ca.pem");
        std::fs::write(&path, &self.certs.ca_pem).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// Connection parameters as a module would have them after validation,
    /// pinned to this server's certificate; `extra` overrides or adds.
    pub fn params(&self, extra: Value) -> ansible_module::Params {
        let mut m = Map::new();
        m.insert("api_host".into(), json!(format!("127.0.0.1:{}", self.port)));
        m.insert("api_port".into(), json!(8006));
        m.insert("api_user".into(), json!("root@pam"));
        m.insert("validate_certs".into(), json!(true));
        m.insert("api_timeout".into(), json!(10));
        m.insert("fingerprint".into(), json!(self.certs.fingerprint()));
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                m.insert(k, v);
            }
        }
        ansible_module::Params::from_map(m)
    }
}

fn serve(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    conn: usize,
    requests: &Mutex<Vec<Req>>,
    handler: &Handler,
) {
    let Ok(session) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(session, tcp);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(req) = read_request(&mut tls, &mut buf, conn) else {
            return;
        };
        requests.lock().unwrap().push(req.clone());
        let mut reply = handler(&req);
        while let Reply::Late(pause, inner) = reply {
            thread::sleep(pause);
            reply = *inner;
        }
        match reply {
            Reply::Drop => {
                let _ = tls.sock.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Close => {
                tls.conn.send_close_notify();
                while tls.conn.wants_write() {
                    if tls.conn.write_tls(&mut tls.sock).is_err() {
                        break;
                    }
                }
                let _ = tls.sock.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Raw(status, reason, body) => {
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if tls.write_all(head.as_bytes()).is_err()
                    || tls.write_all(body.as_bytes()).is_err()
                    || tls.flush().is_err()
                {
                    return;
                }
            }
            Reply::Bytes(bytes) => {
                if tls.write_all(&bytes).is_err() || tls.flush().is_err() {
                    return;
                }
            }
            Reply::Trickle(every) => {
                let mut line: &[u8] = b"HTTP/1.1 200 OK\r\n";
                while tls.write_all(line).is_ok() && tls.flush().is_ok() {
                    thread::sleep(every);
                    line = b"X-Wait: 1\r\n";
                }
                return;
            }
            Reply::Late(..) => return,
        }
    }
}

fn read_request(stream: &mut impl Read, buf: &mut Vec<u8>, conn: usize) -> Option<Req> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[body_start..body_start + len]).into_owned();
    buf.drain(..body_start + len);
    Some(Req {
        method,
        path: target
            .strip_prefix("/api2/json")
            .unwrap_or(&target)
            .to_string(),
        headers,
        body,
        conn,
    })
}

/// Percent-decoding as Perl's `uri_unescape` does it (`+` stays `+`).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
