//! A minimal HTTPS/1.1 client for the transport tests: raw bytes over a
//! rustls connection that trusts a given CA, and a response reader that
//! tells an answer, a closed connection and a timeout apart.

#![allow(dead_code)] // each test file uses a different part of it

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

pub type Stream = StreamOwned<ClientConnection, TcpStream>;

pub fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut BufReader::new(ca_pem.as_bytes())) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Connect and complete the TLS handshake, verifying the server as `name`.
pub fn connect_as(config: &Arc<ClientConfig>, addr: SocketAddr, name: &str) -> Stream {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let server_name = ServerName::try_from(name.to_string()).unwrap();
    let conn = ClientConnection::new(config.clone(), server_name).unwrap();
    let mut stream = StreamOwned::new(conn, sock);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).unwrap();
    }
    stream
}

pub fn connect(config: &Arc<ClientConfig>, addr: SocketAddr) -> Stream {
    connect_as(config, addr, "127.0.0.1")
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub reason: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What came back for a request.
#[derive(Debug)]
pub enum Got {
    Response(Resp),
    /// The connection ended before a complete response.
    Closed,
}

impl Got {
    pub fn resp(self) -> Resp {
        match self {
            Got::Response(r) => r,
            Got::Closed => panic!("connection closed without a response"),
        }
    }
}

pub fn send(stream: &mut Stream, bytes: &[u8]) {
    stream.write_all(bytes).unwrap();
    stream.flush().unwrap();
}

/// Read one response; `Closed` on EOF, reset or TLS error before it is complete.
pub fn read_response(stream: &mut Stream) -> Got {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => return Got::Closed,
        }
    }
    let text = String::from_utf8(raw).unwrap();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let resp = Resp {
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    if status == 100 {
        return Got::Response(resp);
    }
    let len: usize = resp
        .header("content-length")
        .expect("Content-Length")
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    if stream.read_exact(&mut body).is_err() {
        return Got::Closed;
    }
    Got::Response(Resp { body, ..resp })
}

/// True when the server closes the connection (EOF or reset) with nothing more to read.
pub fn is_closed(stream: &mut Stream) -> bool {
    let mut buf = [0u8; 1];
    !matches!(stream.read(&mut buf), Ok(n) if n > 0)
}

pub fn get(stream: &mut Stream, path: &str) -> Got {
    send(
        stream,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    );
    read_response(stream)
}

pub fn request(stream: &mut Stream, method: &str, path: &str, headers: &str, body: &[u8]) -> Got {
    let mut bytes = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    send(stream, &bytes);
    read_response(stream)
}
