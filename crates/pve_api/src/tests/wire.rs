use super::*;

fn answer(raw: &[u8]) -> Result<(Response, bool), ExchangeError> {
    read_answer(&mut &raw[..])
}

fn broken(raw: &[u8]) -> String {
    match answer(raw) {
        Err(ExchangeError::Broken(detail)) => detail,
        other => panic!("not broken: {other:?}"),
    }
}

fn eof(raw: &[u8]) -> bool {
    matches!(answer(raw), Err(e) if e.closed())
}

#[test]
fn content_length_body_and_keep_alive() {
    let (resp, keep) =
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":1}\nNEXT").unwrap();
    assert_eq!((resp.status, resp.reason.as_str()), (200, "OK"));
    assert_eq!(resp.body, b"{\"data\":1}\n");
    assert!(keep);
    let (_, keep) =
        answer(b"HTTP/1.1 500 x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert!(!keep);
    let (_, keep) = answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert!(!keep, "HTTP/1.0 closes by default");
    let (_, keep) =
        answer(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert!(keep);
}

#[test]
fn reason_phrase_is_latin1_as_pve_writes_it() {
    // PVE 8.4 and 9.1: `no such user ('jürgen@pve')` with the id as bytes
    let (resp, _) =
        answer(b"HTTP/1.1 500 no such user ('j\xfcrgen@pve')\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    assert_eq!(resp.reason, "no such user ('jürgen@pve')");
    let (resp, _) = answer(b"HTTP/1.1 204\r\n\r\n").unwrap();
    assert_eq!((resp.status, resp.reason.as_str()), (204, ""));
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        4;ext=1\r\n{\"da\r\n7\r\nta\":[]}\r\n0\r\nX-Trailer: y\r\n\r\n";
    let (resp, keep) = answer(raw).unwrap();
    assert_eq!(resp.body, b"{\"data\":[]}");
    assert!(keep);
    assert_eq!(
        broken(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        "a chunk size is not a number"
    );
    assert_eq!(
        broken(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n"),
        "a chunk is longer than its size"
    );
    assert!(eof(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
    ));
}

#[test]
fn body_up_to_the_end_without_length() {
    let (resp, keep) = answer(b"HTTP/1.1 200 OK\r\n\r\n{\"data\":null}").unwrap();
    assert_eq!(resp.body, b"{\"data\":null}");
    assert!(!keep, "the connection ended the body");
}

#[test]
fn interim_answers_and_bodyless_statuses() {
    let (resp, _) =
        answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"ok"[..]));
    let (resp, keep) = answer(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n").unwrap();
    assert!(resp.body.is_empty() && keep);
}

#[test]
fn lf_line_ends_are_accepted() {
    let (resp, _) = answer(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok").unwrap();
    assert_eq!(resp.body, b"ok");
}

#[test]
fn truncated_answers_are_a_closed_connection() {
    assert!(eof(b""));
    assert!(eof(b"HTTP/1.1 200 OK\r\nContent-Le"));
    assert!(eof(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
}

#[test]
fn broken_answers_say_what_is_wrong() {
    assert_eq!(
        broken(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
        "not an HTTP/1.x status line: 'SSH-2.0-OpenSSH_9.2'"
    );
    assert!(broken(b"HTTP/1.1 2000 OK\r\n\r\n").starts_with("not an HTTP/1.x status line"));
    assert!(broken(b"HTTP/2 200\r\n\r\n").starts_with("not an HTTP/1.x status line"));
    assert_eq!(
        broken(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
        "a header line without ':'"
    );
    assert_eq!(
        broken(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
        "Content-Length '-1'"
    );
    assert_eq!(
        broken(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        "two different Content-Lengths"
    );
    let huge = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    assert_eq!(broken(huge.as_bytes()), "the answer is larger than 64 MiB");
    let long_head = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    assert_eq!(broken(long_head.as_bytes()), "the head is too long");
}

#[test]
fn request_message() {
    let headers = [("Host", "pve:8006"), ("Accept", "application/json")];
    let req = Request {
        method: "PUT",
        target: "/api2/json/access/users/j%FCrgen@pve",
        headers: &headers,
        form: Some("comment=a+b"),
    };
    assert_eq!(
        String::from_utf8(message(&req).unwrap()).unwrap(),
        "PUT /api2/json/access/users/j%FCrgen@pve HTTP/1.1\r\nHost: pve:8006\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\ncomment=a+b"
    );
    let get = Request {
        method: "GET",
        target: "/api2/json/version",
        headers: &headers[..1],
        form: None,
    };
    assert_eq!(
        String::from_utf8(message(&get).unwrap()).unwrap(),
        "GET /api2/json/version HTTP/1.1\r\nHost: pve:8006\r\n\r\n"
    );
}

#[test]
fn header_values_are_latin1_as_pve_reads_them() {
    // PVE 8.4 and 9.1 find the token `jürgen@pve!ci` only as j\xfcrgen
    let headers = [("Authorization", "PVEAPIToken=jürgen@pve!ci=x")];
    let req = Request {
        method: "GET",
        target: "/",
        headers: &headers,
        form: None,
    };
    assert_eq!(
        message(&req).unwrap(),
        b"GET / HTTP/1.1\r\nAuthorization: PVEAPIToken=j\xfcrgen@pve!ci=x\r\n\r\n"
    );
}

#[test]
fn a_header_value_cannot_start_another_header() {
    let headers = [("Authorization", "PVEAPIToken=a@pve!t=x\r\nX-Evil: 1")];
    let req = Request {
        method: "GET",
        target: "/",
        headers: &headers,
        form: None,
    };
    assert!(matches!(
        message(&req),
        Err(ExchangeError::BadHeader("Authorization"))
    ));
}

#[test]
fn deadline_in_the_past_times_out() {
    let e = remaining(Instant::now()).unwrap_err();
    assert!(timed_out(&e));
    let e = resolve("localhost", 1, Instant::now()).unwrap_err();
    assert!(timed_out(&e), "{e}");
    assert_eq!(
        resolve("::1", 8006, Instant::now()).unwrap(),
        ["[::1]:8006".parse().unwrap()]
    );
}
