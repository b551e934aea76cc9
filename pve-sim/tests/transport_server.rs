//! The transport in-process: `server::serve_with` on 127.0.0.1:0 in front of
//! a stand-in handler, driven by a raw TLS client, so every byte the server
//! receives and sends is under the test's control.

mod transport_common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pve_sim::faults::Faults;
use pve_sim::http::{Handler, Request, Response};
use pve_sim::server::{self, Identity, Limits, RequestLog};
use serde_json::{json, Value};
use transport_common::*;

/// Echoes what the transport parsed; `/panic` panics, `/slow` asks for a
/// 300 ms minimum delay. Counts its calls.
#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
}

impl Handler for Echo {
    fn handle(&self, req: &Request) -> (Response, &'static str) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if req.path.ends_with("/panic") {
            panic!("stand-in handler panics on purpose");
        }
        let body = json!({
            "method": req.method,
            "path": req.path,
            "query": String::from_utf8_lossy(&req.query),
            "headers": req.headers,
            "body": String::from_utf8_lossy(&req.body),
            "body_len": req.body.len(),
        });
        let auth = if req.headers.contains_key("authorization") {
            "token"
        } else {
            "none"
        };
        (
            Response {
                status: 200,
                reason: "OK".into(),
                headers: vec![("X-Stand-In".into(), "echo".into())],
                content_type: "application/json;charset=UTF-8",
                body: body.to_string().into_bytes(),
                min_delay_ms: if req.path.ends_with("/slow") { 300 } else { 0 },
            },
            auth,
        )
    }
}

struct TestServer {
    addr: SocketAddr,
    client: Arc<rustls::ClientConfig>,
    echo: Arc<Echo>,
    log: PathBuf,
}

impl TestServer {
    fn start(faults: &[&str], limits: Limits) -> TestServer {
        let id = Identity::generate().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = std::env::temp_dir().join(format!(
            "pve-sim-transport-{}-{}.log",
            std::process::id(),
            addr.port()
        ));
        let _ = std::fs::remove_file(&log);
        let request_log = RequestLog::open(&log).unwrap();
        let echo = Arc::new(Echo::default());
        let handler: Arc<dyn Handler> = echo.clone();
        let faults = Faults::parse_all(faults).unwrap();
        let tls = id.server_config().unwrap();
        std::thread::spawn(move || {
            server::serve_with(listener, tls, handler, faults, Some(request_log), limits)
        });
        TestServer {
            addr,
            client: client_config(&id.ca_pem),
            echo,
            log,
        }
    }

    fn plain() -> TestServer {
        TestServer::start(&[], Limits::default())
    }

    fn connect(&self) -> Stream {
        connect(&self.client, self.addr)
    }

    fn calls(&self) -> usize {
        self.echo.calls.load(Ordering::SeqCst)
    }

    fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A fresh connection still gets a normal answer.
    fn assert_alive(&self) {
        let mut s = self.connect();
        let r = get(&mut s, "/api2/json/alive").resp();
        assert_eq!(r.status, 200);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

#[test]
fn keep_alive_serves_several_requests_and_decodes_the_path() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    let r = get(
        &mut s,
        "/api2/json/access/users/joe%40pve?full=1&comment=a+b%2Bc&x=1&x=2",
    )
    .resp();
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    assert_eq!(r.header("connection"), Some("Keep-Alive"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.header("x-stand-in"), Some("echo"));
    let j = r.json();
    assert_eq!(j["path"], "/api2/json/access/users/joe@pve");
    assert_eq!(
        j["query"], "full=1&comment=a+b%2Bc&x=1&x=2",
        "raw for the API"
    );
    assert_eq!(j["headers"]["host"], "localhost");

    // Same connection: a form body, kept raw for the API to parse.
    let r = request(
        &mut s,
        "POST",
        "/api2/json/access/groups",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        b"groupid=ops&comment=a+b%21",
    )
    .resp();
    let j = r.json();
    assert_eq!(j["method"], "POST");
    assert_eq!(j["body"], "groupid=ops&comment=a+b%21");

    // And a third, with a path that a '+' must survive.
    let r = get(&mut s, "/api2/json/a+b%20c").resp();
    assert_eq!(r.json()["path"], "/api2/json/a+b c");
    assert_eq!(srv.calls(), 3);
}

/// As PVE reads a request: the target and header values byte for byte
/// (httparse, and hyper on it, answer 400 to such a target), and
/// `uri_unescape`, which keeps what is no `%XX` escape.
#[test]
fn targets_and_headers_are_read_as_pve_reads_them() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    send(
        &mut s,
        b"GET /api2/json/access/users/j\xf6e@pve HTTP/1.1\r\nHost: x\r\nX-Token: j\xfcrgen@pve!ci\r\n\r\n",
    );
    let j = read_response(&mut s).resp().json();
    assert_eq!(j["path"], "/api2/json/access/users/j\u{f6}e@pve");
    assert_eq!(j["headers"]["x-token"], "j\u{fc}rgen@pve!ci");

    let j = get(&mut s, "/api2/json/a%zz%4?x=%4&y=%ff").resp().json();
    assert_eq!(j["path"], "/api2/json/a%zz%4");
    assert_eq!(j["query"], "x=%4&y=%ff");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    send(
        &mut s,
        b"GET /api2/json/one HTTP/1.1\r\nHost: x\r\n\r\nPUT /api2/json/two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /api2/json/three HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let paths: Vec<Value> = (0..3)
        .map(|_| read_response(&mut s).resp().json()["path"].clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            json!("/api2/json/one"),
            json!("/api2/json/two"),
            json!("/api2/json/three")
        ]
    );
}

#[test]
fn connection_close_and_http10_end_the_connection() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    send(
        &mut s,
        b"GET /api2/json/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let r = read_response(&mut s).resp();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(is_closed(&mut s));

    // HTTP/1.0 needs no Host and closes by default.
    let mut s = srv.connect();
    send(&mut s, b"GET /api2/json/x HTTP/1.0\r\n\r\n");
    let r = read_response(&mut s).resp();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(is_closed(&mut s));
}

#[test]
fn body_limit_is_512_kib() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    let body = vec![b'a'; 512 * 1024];
    let r = request(&mut s, "POST", "/api2/json/big", "", &body).resp();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body_len"], 512 * 1024);

    // One byte more is refused before the body is read, and the connection ends.
    let mut s = srv.connect();
    send(
        &mut s,
        format!(
            "POST /api2/json/big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            512 * 1024 + 1
        )
        .as_bytes(),
    );
    let r = read_response(&mut s).resp();
    assert_eq!(
        (r.status, r.reason.as_str()),
        (413, "Request Entity Too Large")
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(is_closed(&mut s));
    assert_eq!(srv.calls(), 1);
    srv.assert_alive();
}

#[test]
fn expect_100_continue_is_honoured() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    send(
        &mut s,
        b"PUT /api2/json/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let interim = read_response(&mut s).resp();
    assert_eq!(interim.status, 100);
    send(&mut s, b"hello");
    let r = read_response(&mut s).resp();
    assert_eq!(r.json()["body"], "hello");
}

/// Send `bytes` on a fresh connection; the answer's status and reason.
fn answer_to(srv: &TestServer, name: &str, bytes: &[u8]) -> (u16, String) {
    let mut s = srv.connect();
    send(&mut s, bytes);
    let r = read_response(&mut s).resp();
    assert_eq!(
        r.header("connection"),
        Some("close"),
        "{name}: {} {}",
        r.status,
        r.reason
    );
    (r.status, r.reason)
}

#[test]
fn malformed_requests_get_4xx_and_the_server_lives() {
    let srv = TestServer::plain();
    let long_uri = format!(
        "GET /api2/json/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(9000)
    );
    let huge_header = format!(
        "GET /api2/json/x HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(9000)
    );
    let many_headers: String = (0..2000)
        .map(|i| format!("X-H{i}: {}\r\n", "c".repeat(40)))
        .collect();
    let many_headers = format!("GET /api2/json/x HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("garbage", b"\x00\x01\x02 hello\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("no version", b"GET /api2/json/x\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("no Host", b"GET /api2/json/x HTTP/1.1\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("relative target", b"GET api2/json HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("header without colon", b"GET /api2/json/x HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("bad content-length", b"POST /api2/json/x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(), 400, "Bad Request"),
        ("huge content-length", b"POST /api2/json/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(), 413, "Request Entity Too Large"),
        ("chunked", b"POST /api2/json/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(), 411, "Length Required"),
        ("other method", b"PATCH /api2/json/x HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 501, "method 'PATCH' not available"),
        ("HTTP/2", b"GET /api2/json/x HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(), 505, "HTTP Version Not Supported"),
        ("odd expectation", b"PUT /api2/json/x HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx".to_vec(), 417, "Expectation Failed"),
        ("long URI", long_uri.into_bytes(), 414, "URI Too Long"),
        ("huge header", huge_header.into_bytes(), 431, "Request Header Fields Too Large"),
        ("many headers", many_headers.into_bytes(), 431, "Request Header Fields Too Large"),
    ];
    for (name, bytes, status, reason) in cases {
        let got = answer_to(&srv, name, &bytes);
        assert_eq!(got, (status, reason.to_string()), "{name}");
    }
    assert_eq!(srv.calls(), 0, "no malformed request reaches the handler");
    srv.assert_alive();
    // Every one of them is in the request log.
    let statuses: Vec<u64> = srv
        .log_lines()
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses.len(), 15);
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 6);
}

#[test]
fn truncated_body_gets_400() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    send(
        &mut s,
        b"POST /api2/json/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde",
    );
    // The client ends its side (TLS close_notify), keeping the read side open.
    s.conn.send_close_notify();
    s.conn.complete_io(&mut s.sock).unwrap();
    let r = read_response(&mut s).resp();
    assert_eq!((r.status, r.reason.as_str()), (400, "Bad Request"));
    assert_eq!(srv.calls(), 0);
    srv.assert_alive();
}

#[test]
fn slow_and_silent_clients_time_out() {
    let limits = Limits {
        request_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(400),
        ..Limits::default()
    };
    let srv = TestServer::start(&[], limits);

    // Half a request, then silence: 408.
    let mut s = srv.connect();
    let start = Instant::now();
    send(&mut s, b"GET /api2/json/x HTTP/1.1\r\nHo");
    let r = read_response(&mut s).resp();
    assert_eq!((r.status, r.reason.as_str()), (408, "Request Timeout"));
    assert!(start.elapsed() < Duration::from_secs(5));

    // Headers complete but the body never comes: 408.
    let mut s = srv.connect();
    send(
        &mut s,
        b"PUT /api2/json/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
    );
    let r = read_response(&mut s).resp();
    assert_eq!(r.status, 408);

    // An idle keep-alive connection is closed without an answer.
    let mut s = srv.connect();
    assert_eq!(get(&mut s, "/api2/json/x").resp().status, 200);
    let start = Instant::now();
    assert!(is_closed(&mut s));
    assert!(start.elapsed() < Duration::from_secs(5));
    srv.assert_alive();
}

#[test]
fn handler_panic_answers_500_and_the_server_keeps_serving() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    let r = get(&mut s, "/api2/json/panic").resp();
    assert_eq!((r.status, r.reason.as_str()), (500, "internal error"));
    assert_eq!(
        r.json(),
        json!({"data": null, "message": "internal error\n"})
    );
    // The same connection goes on, and so do new ones.
    assert_eq!(get(&mut s, "/api2/json/after").resp().status, 200);
    srv.assert_alive();
}

#[test]
fn min_delay_is_honoured() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    let start = Instant::now();
    assert_eq!(get(&mut s, "/api2/json/fast").resp().status, 200);
    assert!(start.elapsed() < Duration::from_millis(250));
    let start = Instant::now();
    assert_eq!(get(&mut s, "/api2/json/slow").resp().status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let srv = TestServer::start(&[], limits);
    let mut a = srv.connect();
    let mut b = srv.connect();
    assert_eq!(get(&mut a, "/api2/json/a").resp().status, 200);
    assert_eq!(get(&mut b, "/api2/json/b").resp().status, 200);

    // The third connection is accepted by the kernel but served only once a
    // slot frees: its TLS handshake waits.
    let addr = srv.addr;
    let client = srv.client.clone();
    let third = std::thread::spawn(move || {
        let mut c = connect(&client, addr);
        let r = get(&mut c, "/api2/json/c").resp();
        (r.status, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !third.is_finished(),
        "third connection served while two are open"
    );
    let closed_at = Instant::now();
    send(
        &mut a,
        b"GET /api2/json/bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(read_response(&mut a).resp().status, 200);
    let (status, served_at) = third.join().unwrap();
    assert_eq!(status, 200);
    assert!(served_at >= closed_at);
}

#[test]
fn status_fault_answers_without_the_handler_for_the_first_n() {
    let srv = TestServer::start(
        &[
            r#"{"method":"PUT","path":"/access/acl","status":500,"reason":"cfs-lock 'file-user_cfg' error: got lock request timeout","times":2}"#,
        ],
        Limits::default(),
    );
    let mut s = srv.connect();
    for _ in 0..2 {
        let r = request(&mut s, "PUT", "/api2/json/access/acl", "", b"path=/").resp();
        assert_eq!(r.status, 500);
        assert_eq!(
            r.reason,
            "cfs-lock 'file-user_cfg' error: got lock request timeout"
        );
        assert_eq!(
            r.json(),
            json!({"data": null, "message": "cfs-lock 'file-user_cfg' error: got lock request timeout\n"})
        );
    }
    assert_eq!(srv.calls(), 0);
    // Other methods and the third PUT go through.
    assert_eq!(get(&mut s, "/api2/json/access/acl").resp().status, 200);
    let r = request(&mut s, "PUT", "/api2/json/access/acl", "", b"path=/").resp();
    assert_eq!(r.status, 200);
    assert_eq!(srv.calls(), 2);

    let log = srv.log_lines();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["fault"], "status 500");
    assert_eq!(log[0]["status"], 500);
    assert_eq!(log[0]["path"], "/access/acl");
    assert!(log[2].get("fault").is_none());
}

#[test]
fn delay_fault_waits_then_handles() {
    let srv = TestServer::start(
        &[r#"{"method":"GET","path":"/access/users/*","delay_ms":400,"times":1}"#],
        Limits::default(),
    );
    let mut s = srv.connect();
    let start = Instant::now();
    let r = get(&mut s, "/api2/json/access/users/joe@pve").resp();
    assert_eq!(r.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(400));
    let start = Instant::now();
    assert_eq!(
        get(&mut s, "/api2/json/access/users/joe@pve").resp().status,
        200
    );
    assert!(start.elapsed() < Duration::from_millis(300));
    assert_eq!(srv.calls(), 2);
    assert_eq!(srv.log_lines()[0]["fault"], "delay 400ms");
}

#[test]
fn drop_before_closes_without_handling() {
    let srv = TestServer::start(
        &[r#"{"method":"POST","path":"/access/users/*/token/*","drop":"before","times":1}"#],
        Limits::default(),
    );
    let mut s = srv.connect();
    let got = request(
        &mut s,
        "POST",
        "/api2/json/access/users/joe@pve/token/ci",
        "",
        b"",
    );
    assert!(matches!(got, Got::Closed), "{got:?}");
    assert_eq!(srv.calls(), 0);
    // The retry succeeds.
    let mut s = srv.connect();
    let r = request(
        &mut s,
        "POST",
        "/api2/json/access/users/joe@pve/token/ci",
        "",
        b"",
    )
    .resp();
    assert_eq!(r.status, 200);
    assert_eq!(srv.calls(), 1);
    let log = srv.log_lines();
    assert_eq!(log[0]["status"], 0);
    assert_eq!(log[0]["fault"], "drop before");
    assert_eq!(log[1]["status"], 200);
}

#[test]
fn drop_after_handles_then_closes_without_answering() {
    let srv = TestServer::start(
        &[r#"{"method":"POST","path":"/access/users/*/token/*","drop":"after","times":1}"#],
        Limits::default(),
    );
    let mut s = srv.connect();
    let got = request(
        &mut s,
        "POST",
        "/api2/json/access/users/joe@pve/token/ci",
        "Authorization: PVEAPIToken=root@pam!t=s\r\n",
        b"",
    );
    assert!(matches!(got, Got::Closed), "{got:?}");
    assert_eq!(srv.calls(), 1, "the request was handled");
    let log = srv.log_lines();
    assert_eq!(log[0]["status"], 0);
    assert_eq!(log[0]["fault"], "drop after");
    assert_eq!(log[0]["auth"], "token", "auth kind from the handler");
}

#[test]
fn rate_fault_hits_a_reproducible_fraction() {
    let spec = [r#"{"path":"/access/users","status":503,"rate":0.5}"#];
    let run = || -> Vec<u16> {
        let srv = TestServer::start(&spec, Limits::default());
        let mut s = srv.connect();
        (0..40)
            .map(|_| get(&mut s, "/api2/json/access/users").resp().status)
            .collect()
    };
    let first = run();
    assert_eq!(first, run(), "the same choices on every run");
    let hits = first.iter().filter(|s| **s == 503).count();
    assert!((8..=32).contains(&hits), "{hits} of 40");
    assert!(first.iter().all(|s| *s == 503 || *s == 200));
}

#[test]
fn faults_apply_only_to_api_paths() {
    let srv = TestServer::start(&[r#"{"status":500}"#], Limits::default());
    let mut s = srv.connect();
    assert_eq!(get(&mut s, "/").resp().status, 200);
    assert_eq!(get(&mut s, "/api2/json/version").resp().status, 500);
}

#[test]
fn request_log_lines() {
    let srv = TestServer::plain();
    let mut s = srv.connect();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    get(&mut s, "/api2/json/access/users?full=1").resp();
    request(
        &mut s,
        "PUT",
        "/api2/json/access/acl",
        "Authorization: PVEAPIToken=root@pam!t=s\r\n",
        b"",
    )
    .resp();
    get(&mut s, "/index.html").resp();
    let log = srv.log_lines();
    assert_eq!(log.len(), 3);
    assert_eq!(
        log[0],
        json!({"ts": log[0]["ts"], "method": "GET", "path": "/access/users", "status": 200, "auth": "none"})
    );
    assert!(log[0]["ts"].as_u64().unwrap() >= before);
    assert_eq!(log[1]["method"], "PUT");
    assert_eq!(log[1]["auth"], "token");
    assert_eq!(
        log[2]["path"], "/index.html",
        "non-API paths are logged whole"
    );
}

#[test]
fn served_certificate_verifies_for_ip_and_localhost() {
    let srv = TestServer::plain();
    for name in ["127.0.0.1", "localhost"] {
        let mut s = connect_as(&srv.client, srv.addr, name);
        assert_eq!(get(&mut s, "/api2/json/x").resp().status, 200, "{name}");
    }
}
