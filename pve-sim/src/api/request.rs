//! Turning an [`http::Request`](crate::http::Request) into what PVE's handlers
//! see: the request parameters (body merged with the query string) and the
//! credentials (ticket cookie/header, API token header, CSRF token).
//!
//! Mirrors pve-http-server's `extract_params`/`decode_urlencoded` and
//! `extract_auth_value`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::jsonxs;
use crate::http::Request;
use crate::model::PveVersion;
use crate::perlstr;

/// Request parameters before validation: JSON values (form data gives
/// strings, arrays of strings for repeated keys and `null` for a key
/// without `=`).
pub type RawParams = BTreeMap<String, Value>;

/// Why the body could not be turned into parameters; answered as HTTP 500
/// with this text: plain where PVE dies in the HTTP server, as an API
/// error (`rest_handler`) when `api` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(pub String, pub bool);

/// The media type of a `Content-Type` header (PVE's `parse_content_type`).
pub fn content_type(req: &Request) -> Option<String> {
    let raw = req.headers.get("content-type")?;
    let ct = raw
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    Some(ct)
}

/// The parameters of a request: the body (PUT/POST only; JSON when the
/// content type says so, form data otherwise) with the query string merged
/// over it, minus `_dc`.
pub fn extract_params(req: &Request, version: PveVersion) -> Result<RawParams, BodyError> {
    let query = decode_urlencoded(&req.query);
    let mut params = RawParams::new();
    if req.method == "PUT" || req.method == "POST" {
        if content_type(req).as_deref() == Some("application/json") {
            params = decode_json_body(&req.body, !query.is_empty(), version)?;
        } else {
            params = decode_urlencoded(&req.body);
        }
    }
    // Query parameters replace body parameters of the same name.
    for (k, v) in query {
        params.insert(k, v);
    }
    params.remove("_dc");
    Ok(params)
}

/// Where pve-http-server and pve-manager die on a bad JSON body: the
/// `decode_json` call, the merge of query parameters, `delete
/// $params->{_dc}`, and the URI-parameter loop of `rest_handler`.
struct PerlLines {
    decode: u32,
    merge_query: u32,
    delete_dc: u32,
    rest_handler: u32,
}

fn perl_lines(version: PveVersion) -> PerlLines {
    match version {
        PveVersion::V8_4 => PerlLines {
            decode: 917,
            merge_query: 926,
            delete_dc: 957,
            rest_handler: 148,
        },
        PveVersion::V9_0 | PveVersion::V9_1 => PerlLines {
            decode: 934,
            merge_query: 943,
            delete_dc: 978,
            rest_handler: 160,
        },
    }
}

/// A JSON body as PVE takes it: an object gives the parameters, `null` none
/// (Perl autovivifies), anything else dies where Perl first uses it as a
/// hash, with Perl's message.
fn decode_json_body(
    body: &[u8],
    has_query: bool,
    version: PveVersion,
) -> Result<RawParams, BodyError> {
    const ANYEVENT: &str = "/usr/share/perl5/PVE/APIServer/AnyEvent.pm";
    const HTTPSERVER: &str = "/usr/share/perl5/PVE/HTTPServer.pm";
    let lines = perl_lines(version);
    let value = jsonxs::decode(body)
        .map_err(|e| BodyError(format!("{e} at {ANYEVENT} line {}.\n", lines.decode), false))?;
    let scalar = match &value {
        Value::Object(map) => return Ok(map.clone().into_iter().collect()),
        Value::Null => return Ok(RawParams::new()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(perl_number(n)),
        Value::Array(_) | Value::Bool(_) => None,
    };
    // `delete $params->{_dc} if $params` skips a false scalar ("" and "0"),
    // which then dies in rest_handler.
    let (file, line, api) = if has_query {
        (ANYEVENT, lines.merge_query, false)
    } else if scalar.as_deref().is_some_and(|s| s.is_empty() || s == "0") {
        (HTTPSERVER, lines.rest_handler, true)
    } else {
        (ANYEVENT, lines.delete_dc, false)
    };
    let msg = match scalar {
        None => "Not a HASH reference".to_string(),
        Some(s) => {
            let shown: String = s.chars().take(32).collect();
            let more = if s.chars().count() > 32 { "..." } else { "" };
            format!(
                "Can't use string (\"{shown}\"{more}) as a HASH ref while \"strict refs\" in use"
            )
        }
    };
    Err(BodyError(format!("{msg} at {file} line {line}.\n"), api))
}

/// A JSON number as Perl prints it: integers as they are, others with 15
/// significant digits (`%.15g`).
fn perl_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f == f.trunc() && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let sci = format!("{f:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or_default();
    if (-4..15).contains(&exp) {
        let decimals = usize::try_from(14 - exp).unwrap_or_default();
        let fixed = format!("{f:.decimals$}");
        return fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string();
    }
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// PVE's `decode_urlencoded`: pairs split on `&` or `;`, `+` is a space,
/// `%XX` escapes, values UTF-8 decoded (invalid bytes replaced), repeated
/// keys collected into arrays, a key without `=` has an undefined value.
pub fn decode_urlencoded(data: &[u8]) -> RawParams {
    let mut res = RawParams::new();
    if data.is_empty() {
        return res;
    }
    let mut pairs: Vec<&[u8]> = data.split(|b| *b == b'&' || *b == b';').collect();
    // Perl's split drops trailing empty fields.
    while pairs.last().is_some_and(|p| p.is_empty()) {
        pairs.pop();
    }
    for pair in pairs {
        let mut parts = pair.splitn(3, |b| *b == b'=');
        let key = parts.next().map(unescape).unwrap_or_default();
        let key = String::from_utf8_lossy(&key).into_owned();
        let value = parts
            .next()
            .map(|v| String::from_utf8_lossy(&unescape(v)).into_owned());
        add_form_value(&mut res, key, value);
    }
    res
}

fn add_form_value(res: &mut RawParams, key: String, value: Option<String>) {
    let Some(v) = value else {
        res.insert(key, Value::Null);
        return;
    };
    let v = Value::String(v);
    match res.get_mut(&key) {
        Some(Value::Array(items)) => items.push(v),
        Some(old) if !old.is_null() => {
            let first = old.take();
            *old = Value::Array(vec![first, v]);
        }
        _ => {
            res.insert(key, v);
        }
    }
}

/// `+` to space, then `%XX` decoding, on raw bytes.
fn unescape(s: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    perlstr::uri_unescape(&spaced)
}

/// PVE's `extract_auth_value`: the value after `NAME=` or `NAME ` (at the
/// start or after whitespace) up to the next `;`, URI-unescaped. `None`
/// when absent or empty.
pub fn extract_auth_value(header: Option<&String>, name: &str) -> Option<String> {
    let header = header?;
    let mut search = 0;
    while let Some(rel) = header[search..].find(name) {
        let start = search + rel;
        let before_ok = start == 0
            || header[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        let after = &header[start + name.len()..];
        if before_ok && (after.starts_with('=') || after.starts_with(' ')) {
            let value = after[1..].split(';').next().unwrap_or_default();
            if value.is_empty() {
                return None;
            }
            // Bytes, never decoded as UTF-8 (as PVE): a ticket of `jöe@pve`
            // names `jÃ¶e@pve` here.
            let bytes = perlstr::uri_unescape(&perlstr::bytes_of_text(value));
            return Some(perlstr::chars_of_bytes(&bytes));
        }
        search = start + name.len();
    }
    None
}

/// Credentials found in the request headers, in PVE's order of preference.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `Cookie: PVEAuthCookie=...`, else `Authorization: PVEAuthCookie=...`.
    pub ticket: Option<String>,
    /// `Authorization: PVEAPIToken=...` (only looked at without a ticket).
    pub api_token: Option<String>,
    /// The `CSRFPreventionToken` header.
    pub csrf: Option<String>,
}

/// Reads the credentials of a request.
pub fn credentials(req: &Request) -> Credentials {
    let cookie = req.headers.get("cookie");
    let auth = req.headers.get("authorization");
    let ticket = extract_auth_value(cookie, "PVEAuthCookie")
        .or_else(|| extract_auth_value(auth, "PVEAuthCookie"));
    let api_token = if ticket.is_none() {
        extract_auth_value(auth, "PVEAPIToken")
    } else {
        None
    };
    Credentials {
        ticket,
        api_token,
        csrf: req.headers.get("csrfpreventiontoken").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_decoding_like_pve() {
        let p = decode_urlencoded(b"a=1&b=x+y%21&a=2;c&d=&e=f=g&");
        assert_eq!(p["a"], json!(["1", "2"]));
        assert_eq!(p["b"], json!("x y!"));
        assert_eq!(p["c"], Value::Null);
        assert_eq!(p["d"], json!(""));
        assert_eq!(p["e"], json!("f"));
        assert_eq!(p.len(), 5);
        let p = decode_urlencoded(b"a=%zz%4");
        assert_eq!(p["a"], json!("%zz%4"));
        let p = decode_urlencoded(b"n=J%C3%BCrgen");
        assert_eq!(p["n"], json!("Jürgen"));
    }

    #[test]
    fn auth_values() {
        let h = "PVEAPIToken=joe@pve!ci=abc".to_string();
        assert_eq!(
            extract_auth_value(Some(&h), "PVEAPIToken").as_deref(),
            Some("joe@pve!ci=abc")
        );
        let h = "PVEAPIToken joe@pve!ci=abc".to_string();
        assert_eq!(
            extract_auth_value(Some(&h), "PVEAPIToken").as_deref(),
            Some("joe@pve!ci=abc")
        );
        let h = "foo=1; PVEAuthCookie=PVE%3Aroot%40pam%3A1::sig; x=y".to_string();
        assert_eq!(
            extract_auth_value(Some(&h), "PVEAuthCookie").as_deref(),
            Some("PVE:root@pam:1::sig")
        );
        let h = "XPVEAuthCookie=1".to_string();
        assert_eq!(extract_auth_value(Some(&h), "PVEAuthCookie"), None);
    }

    #[test]
    fn query_wins_and_dc_dropped() {
        let req = Request {
            method: "PUT".into(),
            path: "/api2/json/access/acl".into(),
            query: b"a=q&a=r&_dc=1".to_vec(),
            headers: BTreeMap::new(),
            body: b"a=b&c=d".to_vec(),
        };
        let p = extract_params(&req, PveVersion::V9_1).unwrap();
        assert_eq!(p["a"], json!(["q", "r"]));
        assert_eq!(p["c"], json!("d"));
        assert!(!p.contains_key("_dc"));
    }

    #[test]
    fn json_bodies() {
        let mut headers = BTreeMap::new();
        headers.insert(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        );
        let mut req = Request {
            method: "POST".into(),
            path: "/api2/json/access/users".into(),
            query: vec![],
            headers,
            body: br#"{"userid":"a@pve","enable":true}"#.to_vec(),
        };
        let p = extract_params(&req, PveVersion::V9_1).unwrap();
        assert_eq!(p["enable"], json!(true));
        req.body = b"[1]".to_vec();
        assert!(extract_params(&req, PveVersion::V9_1)
            .unwrap_err()
            .0
            .starts_with("Not a HASH reference"));
        req.body = b"{".to_vec();
        assert!(extract_params(&req, PveVersion::V9_1)
            .unwrap_err()
            .0
            .starts_with("'\"' expected, at character offset 1 (before \"(end of string)\")"));
        req.body = b"1.50".to_vec();
        assert_eq!(
            extract_params(&req, PveVersion::V8_4).unwrap_err().0,
            "Can't use string (\"1.5\") as a HASH ref while \"strict refs\" in use at /usr/share/perl5/PVE/APIServer/AnyEvent.pm line 957.\n"
        );
    }
}
