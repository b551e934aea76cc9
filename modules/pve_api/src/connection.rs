//! The connection options: their spec and their checked meaning
//! ([`Target`]), all worked out before anything is sent.

use crate::ids::{self, TokenId};
use ansible_module::{Kind, Opt, Params};
use rustls::pki_types::CertificateDer;
use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

/// The connection options every module has, with the names and env
/// variables of community.proxmox so that its users can switch easily.
pub fn connection_options() -> Vec<Opt> {
    vec![
        Opt::str("api_host").env("PROXMOX_HOST"),
        Opt::int("api_port").default(8006).env("PROXMOX_PORT"),
        Opt::str("api_user").default("root@pam").env("PROXMOX_USER"),
        Opt::str("api_password").no_log().env("PROXMOX_PASSWORD"),
        Opt::str("api_token_id").env("PROXMOX_TOKEN_ID"),
        Opt::str("api_token_secret")
            .no_log()
            .env("PROXMOX_TOKEN_SECRET"),
        Opt::str("api_token").no_log().env("PROXMOX_VE_API_TOKEN"),
        Opt::new("validate_certs", Kind::Bool)
            .default(true)
            .env("PROXMOX_VALIDATE_CERTS"),
        Opt::path("ca_path").env("PROXMOX_CA_PATH"),
        Opt::str("fingerprint").env("PROXMOX_FINGERPRINT"),
        Opt::int("api_timeout")
            .default(10)
            .env("PROXMOX_API_TIMEOUT"),
    ]
}

/// Where requests go.
#[derive(Debug)]
pub(crate) enum Target {
    /// No `api_host`: the node's own `pvesh`, as root.
    Local {
        timeout: Duration,
    },
    Remote(Remote),
}

#[derive(Debug)]
pub(crate) struct Remote {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub tls: TlsMode,
    pub timeout: Duration,
}

/// `https://HOST:PORT{base}` where `base` ends in `/api2/json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Host name or IP address, IPv6 without brackets.
    pub host: String,
    pub port: u16,
    pub base: String,
}

impl Endpoint {
    /// `host:port`, `[v6]:port`: for URLs and messages.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
    pub fn url(&self, path: &str) -> String {
        let slash = if path.is_empty() || path.starts_with('/') {
            ""
        } else {
            "/"
        };
        format!("https://{}{}{slash}{path}", self.authority(), self.base)
    }
}

/// How we authenticate. `Debug` shows no secret.
pub(crate) enum Credentials {
    Password {
        user: String,
        password: String,
    },
    Token {
        id: TokenId,
        secret: String,
        /// The options that gave the token, for hints.
        options: &'static str,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { user, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"********")
                .finish(),
            Credentials::Token { id, options, .. } => f
                .debug_struct("Token")
                .field("id", &id.full())
                .field("secret", &"********")
                .field("options", options)
                .finish(),
        }
    }
}

/// How the server certificate is checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TlsMode {
    /// The system's trust store plus the certificates of `ca_path`.
    Verify {
        extra_roots: Vec<CertificateDer<'static>>,
    },
    /// `validate_certs: false`.
    Insecure,
    /// `fingerprint`: the end-entity certificate's SHA-256, nothing else.
    Pinned([u8; 32]),
}

/// Non-empty text value of an option.
fn text<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.str(name).filter(|s| !s.trim().is_empty())
}

pub(crate) fn target(params: &Params) -> Result<Target, String> {
    let timeout = timeout(params)?;
    let Some(host) = text(params, "api_host") else {
        return Ok(Target::Local { timeout });
    };
    let port = port(params)?;
    Ok(Target::Remote(Remote {
        endpoint: parse_host(host, port)?,
        credentials: credentials(params)?,
        tls: tls_mode(params)?,
        timeout,
    }))
}

fn timeout(params: &Params) -> Result<Duration, String> {
    match params.int("api_timeout") {
        None => Ok(Duration::from_secs(10)),
        Some(t @ 1..=86400) => Ok(Duration::from_secs(t.unsigned_abs())),
        Some(t) => Err(format!(
            "api_timeout must be a number of seconds from 1 to 86400, got {t}"
        )),
    }
}

fn port(params: &Params) -> Result<u16, String> {
    match params.int("api_port") {
        None => Ok(8006),
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("api_port must be from 1 to 65535, got {p}")),
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, a bare IPv6 address, or a URL
/// `https://host[:port][/prefix][/api2/json]` (a prefix for a reverse proxy).
/// A port in `api_host` wins over `api_port`.
pub(crate) fn parse_host(raw: &str, default_port: u16) -> Result<Endpoint, String> {
    let s = raw.trim();
    let (rest, is_url) = match s.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "https" => (rest, true),
            "http" => {
                return Err(format!(
                    "api_host: '{s}' uses http://, but the PVE API is only served over HTTPS: use https://{}, or just the host name",
                    rest.trim_end_matches('/')
                ))
            }
            other => {
                return Err(format!(
                    "api_host: unsupported scheme '{other}://' in '{s}': give a host name, host:port or https://host:8006"
                ))
            }
        },
        None => (s, false),
    };
    if rest.contains(['?', '#']) {
        return Err(format!(
            "api_host: '{s}' has a query or fragment; give https://host:port[/api2/json]"
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !is_url && !path.is_empty() {
        return Err(format!(
            "api_host: '{s}' has a path: give a host name, host:port, or a URL https://host:8006/api2/json"
        ));
    }
    if authority.contains('@') {
        return Err(format!(
            "api_host: '{s}' contains a user name; give it in api_user instead"
        ));
    }
    let bad_port =
        |p: &str| format!("api_host: invalid port '{p}' in '{s}' (a number from 1 to 65535)");
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad_port(p))
    };
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("api_host: '{s}' lacks the closing ']'"))?;
        let port = match after {
            "" => default_port,
            _ => parse_port(after.strip_prefix(':').ok_or_else(|| bad_port(after))?)?,
        };
        (valid_v6(addr, s)?, port)
    } else if authority.matches(':').count() > 1 {
        // A bare IPv6 address cannot carry a port.
        (valid_v6(authority, s)?, default_port)
    } else if let Some((host, port)) = authority.split_once(':') {
        (host.to_string(), parse_port(port)?)
    } else {
        (authority.to_string(), default_port)
    };
    if !host.contains(':') && !valid_hostname(&host) {
        return Err(format!(
            "api_host: '{host}' is not a valid host name or IP address"
        ));
    }
    let prefix = path.trim_end_matches('/');
    let base = if prefix.ends_with("/api2/json") {
        prefix.to_string()
    } else {
        format!("{prefix}/api2/json")
    };
    Ok(Endpoint { host, port, base })
}

fn valid_v6(addr: &str, raw: &str) -> Result<String, String> {
    addr.parse::<Ipv6Addr>()
        .map(|_| addr.to_string())
        .map_err(|_| {
            format!(
                "api_host: '{raw}' is not a valid IPv6 address (write it as [addr] or [addr]:port)"
            )
        })
}

fn valid_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

const NO_CREDENTIALS: &str = "set api_password (or PROXMOX_PASSWORD) to log in as api_user, or give an API token: api_token_id and api_token_secret (PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET), or api_token (PROXMOX_VE_API_TOKEN) as USER@REALM!NAME=SECRET";

/// A token wins over a password: `api_token` (whole), then `api_token_id`
/// with `api_token_secret`; otherwise `api_user` with `api_password`.
pub(crate) fn credentials(params: &Params) -> Result<Credentials, String> {
    let user = text(params, "api_user").unwrap_or("root@pam").trim();
    if let Some(whole) = text(params, "api_token") {
        // Never echo `whole`: it contains the secret.
        let (id, secret) = whole.trim().rsplit_once('=').ok_or(
            "api_token must be the whole token USER@REALM!NAME=SECRET (as PVE shows it when the token is created); it has no '='",
        )?;
        if secret.is_empty() {
            return Err(
                "api_token has nothing after the '=': expected USER@REALM!NAME=SECRET".into(),
            );
        }
        if !id.contains('!') {
            return Err("api_token must start with the full token id, as in USER@REALM!NAME=SECRET (e.g. ci@pve!deploy=...)".into());
        }
        if id.contains('=') {
            return Err(
                "api_token: the part before the last '=' is not a token id USER@REALM!NAME".into(),
            );
        }
        let id = ids::parse_tokenid(id, None).map_err(|e| format!("api_token: {e}"))?;
        return Ok(Credentials::Token {
            id,
            secret: secret.to_string(),
            options: "api_token",
        });
    }
    match (text(params, "api_token_id"), text(params, "api_token_secret")) {
        (Some(id), Some(secret)) => {
            if id.contains('=') {
                // Probably the whole token: do not echo it.
                return Err("api_token_id must be only the token id (USER@REALM!NAME, or NAME of api_user): give the secret in api_token_secret, or the whole USER@REALM!NAME=SECRET in api_token".into());
            }
            let id = ids::parse_tokenid(id.trim(), Some(user))
                .map_err(|e| format!("api_token_id: {e}"))?;
            Ok(Credentials::Token {
                id,
                secret: secret.trim().to_string(),
                options: "api_token_id and api_token_secret",
            })
        }
        (Some(_), None) => Err("api_token_id is set but api_token_secret is not: set api_token_secret (or PROXMOX_TOKEN_SECRET), or give the whole token USER@REALM!NAME=SECRET in api_token".into()),
        (None, Some(_)) => Err("api_token_secret is set but api_token_id is not: set api_token_id (or PROXMOX_TOKEN_ID) to the token id, USER@REALM!NAME or just NAME for a token of api_user".into()),
        (None, None) => {
            let Some(password) = params.str("api_password").filter(|p| !p.is_empty()) else {
                return Err(format!("no credentials for the PVE API: {NO_CREDENTIALS}"));
            };
            ids::parse_userid(user).map_err(|e| format!("api_user: {e}"))?;
            Ok(Credentials::Password {
                user: user.to_string(),
                password: password.to_string(),
            })
        }
    }
}

fn tls_mode(params: &Params) -> Result<TlsMode, String> {
    if let Some(fp) = text(params, "fingerprint") {
        return parse_fingerprint(fp).map(TlsMode::Pinned);
    }
    if params.bool("validate_certs") == Some(false) {
        return Ok(TlsMode::Insecure);
    }
    let extra_roots = match text(params, "ca_path") {
        Some(path) => crate::tls::load_ca_file(path)?,
        None => Vec::new(),
    };
    Ok(TlsMode::Verify { extra_roots })
}

/// 64 hex digits in any case; colons or spaces between them are ignored.
pub(crate) fn parse_fingerprint(raw: &str) -> Result<[u8; 32], String> {
    let hex: Vec<u8> = raw
        .bytes()
        .filter(|b| *b != b':' && !b.is_ascii_whitespace())
        .collect();
    let usage = "fingerprint must be the SHA-256 fingerprint of the server's certificate: 64 hex digits, colons optional (`pvenode cert info` on the node shows it)";
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!("{usage}; '{}' has other characters", raw.trim()));
    }
    if hex.len() != 64 {
        let sha1 = if hex.len() == 40 {
            " (that is the length of a SHA-1 fingerprint)"
        } else {
            ""
        };
        return Err(format!(
            "{usage}; '{}' has {} hex digits{sha1}",
            raw.trim(),
            hex.len()
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digit = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
        out[i] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ansible_module::{json, Map, Value};

    fn params(v: Value) -> Params {
        let mut m: Map<String, Value> = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.entry("api_port").or_insert(json!(8006));
        m.entry("api_user").or_insert(json!("root@pam"));
        m.entry("validate_certs").or_insert(json!(true));
        m.entry("api_timeout").or_insert(json!(10));
        Params::from_map(m)
    }

    fn ep(host: &str, port: u16, base: &str) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            base: base.into(),
        }
    }

    #[test]
    fn host_forms() {
        let j = "/api2/json";
        let cases = [
            ("pve.example", ep("pve.example", 8006, j)),
            (" pve.example ", ep("pve.example", 8006, j)),
            ("pve.example:443", ep("pve.example", 443, j)),
            ("10.0.0.5", ep("10.0.0.5", 8006, j)),
            ("10.0.0.5:8007", ep("10.0.0.5", 8007, j)),
            ("[fd00::5]", ep("fd00::5", 8006, j)),
            ("[fd00::5]:9000", ep("fd00::5", 9000, j)),
            ("fd00::5", ep("fd00::5", 8006, j)),
            ("https://pve.example", ep("pve.example", 8006, j)),
            ("https://pve.example/", ep("pve.example", 8006, j)),
            (
                "HTTPS://pve.example:8006/api2/json",
                ep("pve.example", 8006, j),
            ),
            (
                "https://pve.example:8006/api2/json/",
                ep("pve.example", 8006, j),
            ),
            ("https://[::1]:8006/api2/json", ep("::1", 8006, j)),
            (
                "https://proxy.example/pve",
                ep("proxy.example", 8006, "/pve/api2/json"),
            ),
            (
                "https://proxy.example/pve/api2/json",
                ep("proxy.example", 8006, "/pve/api2/json"),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_host(raw, 8006).as_ref(), Ok(&want), "{raw}");
        }
        assert_eq!(parse_host("pve", 443).map(|e| e.port), Ok(443));
        assert_eq!(
            parse_host("[fd00::5]:9000", 8006).map(|e| e.url("/version")),
            Ok("https://[fd00::5]:9000/api2/json/version".to_string())
        );
        assert_eq!(
            parse_host("pve", 1).map(|e| e.url("version")),
            Ok("https://pve:1/api2/json/version".to_string())
        );
        assert_eq!(
            parse_host("pve.example:8006", 1).map(|e| e.url("/version")),
            Ok("https://pve.example:8006/api2/json/version".to_string())
        );
    }

    #[test]
    fn bad_hosts_are_explained() {
        let err = |raw: &str| parse_host(raw, 8006).err().unwrap_or_default();
        assert!(err("http://pve.example:8006").contains("only served over HTTPS"));
        assert!(err("http://pve.example:8006").contains("https://pve.example:8006"));
        assert!(err("ftp://pve").contains("unsupported scheme"));
        assert!(err("pve:0").contains("invalid port '0'"));
        assert!(err("pve:99999").contains("invalid port"));
        assert!(err("pve:abc").contains("invalid port"));
        assert!(err("[fd00::5").contains("closing ']'"));
        assert!(err("[fd00::5]x").contains("invalid port"));
        assert!(err("[nonsense]").contains("IPv6"));
        assert!(err("pve/api2/json").contains("has a path"));
        assert!(err("root@pve").contains("api_user"));
        assert!(err("pve example").contains("not a valid host name"));
        assert!(err("https://").contains("not a valid host name"));
        assert!(err("https://pve?x=1").contains("query"));
    }

    #[test]
    fn no_host_means_local() {
        assert!(matches!(
            target(&params(json!({}))),
            Ok(Target::Local { .. })
        ));
        assert!(matches!(
            target(&params(json!({"api_host": ""}))),
            Ok(Target::Local { .. })
        ));
        let t = target(&params(json!({"api_host": "pve", "api_password": "pw"})));
        assert!(matches!(t, Ok(Target::Remote(_))), "{t:?}");
    }

    fn creds(v: Value) -> Result<Credentials, String> {
        credentials(&params(v))
    }

    fn token_of(c: Result<Credentials, String>) -> (String, String, &'static str) {
        match c {
            Ok(Credentials::Token {
                id,
                secret,
                options,
            }) => (id.full(), secret, options),
            other => panic!("not a token: {other:?}"),
        }
    }

    #[test]
    fn token_forms() {
        assert_eq!(
            token_of(creds(json!({"api_token": "ci@pve!deploy=5f0c-uuid"}))),
            ("ci@pve!deploy".into(), "5f0c-uuid".into(), "api_token")
        );
        // split at the last '=': a token id has no '='
        let e = creds(json!({"api_token": "ci@pve!deploy=abc=def"}))
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("before the last '='") && !e.contains("abc"),
            "{e}"
        );
        assert_eq!(
            token_of(creds(
                json!({"api_token_id": "ci@pve!deploy", "api_token_secret": "s3"})
            )),
            (
                "ci@pve!deploy".into(),
                "s3".into(),
                "api_token_id and api_token_secret"
            )
        );
        // a bare name belongs to api_user
        assert_eq!(
            token_of(creds(
                json!({"api_token_id": "deploy", "api_token_secret": "s3", "api_user": "ci@pve"})
            ))
            .0,
            "ci@pve!deploy"
        );
        assert_eq!(
            token_of(creds(
                json!({"api_token_id": "deploy", "api_token_secret": "s3"})
            ))
            .0,
            "root@pam!deploy"
        );
    }

    #[test]
    fn token_wins_over_password_and_api_token_over_id() {
        let c = creds(json!({
            "api_token": "ci@pve!aa=s1",
            "api_token_id": "ci@pve!bb", "api_token_secret": "s2",
            "api_password": "pw"}));
        assert_eq!(token_of(c).0, "ci@pve!aa");
        let c = creds(
            json!({"api_token_id": "ci@pve!bb", "api_token_secret": "s2", "api_password": "pw"}),
        );
        assert_eq!(token_of(c).0, "ci@pve!bb");
        match creds(json!({"api_password": "pw", "api_user": "admin@pve"})) {
            Ok(Credentials::Password { user, password }) => {
                assert_eq!((user.as_str(), password.as_str()), ("admin@pve", "pw"))
            }
            other => panic!("{other:?}"),
        }
        // empty values are no credentials
        match creds(json!({"api_token": "", "api_token_id": "", "api_password": "pw"})) {
            Ok(Credentials::Password { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_or_partial_credentials_say_what_to_set() {
        let e = creds(json!({})).err().unwrap_or_default();
        assert!(e.contains("api_password (or PROXMOX_PASSWORD)"), "{e}");
        assert!(e.contains("PROXMOX_VE_API_TOKEN"), "{e}");
        let e = creds(json!({"api_token_id": "ci@pve!x"}))
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("api_token_secret (or PROXMOX_TOKEN_SECRET)"),
            "{e}"
        );
        let e = creds(json!({"api_token_secret": "s3cr3t"}))
            .err()
            .unwrap_or_default();
        assert!(e.contains("api_token_id (or PROXMOX_TOKEN_ID)"), "{e}");
        assert!(!e.contains("s3cr3t"));
        let e = creds(json!({"api_password": "pw", "api_user": "root"}))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("api_user:") && e.contains("realm"), "{e}");
    }

    #[test]
    fn malformed_tokens_never_echo_the_secret() {
        for bad in [
            json!({"api_token": "just-a-secret-value"}),
            json!({"api_token": "ci@pve!deploy="}),
            json!({"api_token": "ci@pve=secret-value"}),
            json!({"api_token": "ci!bad name=secret-value"}),
            json!({"api_token_id": "ci@pve!x=secret-value", "api_token_secret": "secret-value"}),
            json!({"api_token_id": "bad name", "api_token_secret": "secret-value"}),
        ] {
            let e = creds(bad.clone()).err().unwrap_or_default();
            assert!(!e.is_empty(), "{bad}");
            assert!(!e.contains("secret-value"), "{e}");
            assert!(!e.contains("just-a-secret"), "{e}");
        }
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let shown = format!(
            "{:?} {:?}",
            creds(json!({"api_token": "ci@pve!dd=tok-secret"})),
            creds(json!({"api_password": "pw-secret"}))
        );
        assert!(
            shown.contains("ci@pve!dd") && shown.contains("root@pam"),
            "{shown}"
        );
        assert!(
            !shown.contains("tok-secret") && !shown.contains("pw-secret"),
            "{shown}"
        );
    }

    #[test]
    fn fingerprints() {
        let colons = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
        let fp = parse_fingerprint(colons);
        assert_eq!(
            fp.clone().map(|f| (f[0], f[1], f[31])),
            Ok((0xAB, 0xCD, 0x89))
        );
        assert_eq!(
            parse_fingerprint(&colons.replace(':', "").to_lowercase()),
            fp
        );
        assert_eq!(
            parse_fingerprint(&format!(" {} ", colons.replace(':', " "))),
            fp
        );
        let e = parse_fingerprint(&colons[..59]).err().unwrap_or_default();
        assert!(e.contains("40 hex digits") && e.contains("SHA-1"), "{e}");
        let e = parse_fingerprint("zz").err().unwrap_or_default();
        assert!(
            e.contains("other characters") && e.contains("64 hex digits"),
            "{e}"
        );
        assert!(parse_fingerprint(&format!("{colons}:00")).is_err());
    }

    #[test]
    fn tls_modes() {
        let fp = "ab".repeat(32);
        assert_eq!(
            tls_mode(&params(
                json!({"fingerprint": fp, "validate_certs": true, "ca_path": "/nonexistent"})
            )),
            Ok(TlsMode::Pinned([0xab; 32]))
        );
        assert_eq!(
            tls_mode(&params(
                json!({"validate_certs": false, "ca_path": "/nonexistent"})
            )),
            Ok(TlsMode::Insecure)
        );
        assert_eq!(
            tls_mode(&params(json!({}))),
            Ok(TlsMode::Verify {
                extra_roots: vec![]
            })
        );
        let e = tls_mode(&params(json!({"ca_path": "/nonexistent/ca.pem"})))
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("ca_path: cannot read /nonexistent/ca.pem"),
            "{e}"
        );
        let e = tls_mode(&params(json!({"fingerprint": "abc"})))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("fingerprint must be"), "{e}");
    }

    /// Secrets reversed: the module protocol masks them as they are.
    fn rev(s: &str) -> String {
        s.chars().rev().collect()
    }

    /// Runs the real option spec through ansible_module (env fallbacks,
    /// defaults, coercion) and describes the resulting target.
    fn via_module(args: Value, env: &[(&str, &str)]) -> String {
        let spec = ansible_module::Spec::new(connection_options());
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let (result, code) = ansible_module::execute("t", &spec, &args.to_string(), &lookup, |m| {
            let shown = match target(&m.params)? {
                Target::Local { timeout } => format!("local {}s", timeout.as_secs()),
                Target::Remote(r) => {
                    let auth = match r.credentials {
                        Credentials::Password { user, password } => {
                            format!("password {user} {}", rev(&password))
                        }
                        Credentials::Token { id, secret, .. } => {
                            format!("token {} {}", id.full(), rev(&secret))
                        }
                    };
                    let tls = match r.tls {
                        TlsMode::Verify { .. } => "verify",
                        TlsMode::Insecure => "insecure",
                        TlsMode::Pinned(_) => "pinned",
                    };
                    format!(
                        "{} {auth} {tls} {}s",
                        r.endpoint.url(""),
                        r.timeout.as_secs()
                    )
                }
            };
            let mut out = Map::new();
            out.insert("shown".into(), json!(shown));
            Ok(out)
        });
        match code {
            0 => result["shown"].as_str().unwrap_or_default().to_string(),
            _ => format!("failed: {}", result["msg"].as_str().unwrap_or_default()),
        }
    }

    #[test]
    fn env_fallbacks_through_the_module_protocol() {
        assert_eq!(via_module(json!({}), &[]), "local 10s");
        assert_eq!(
            via_module(
                json!({}),
                &[("PROXMOX_HOST", "pve"), ("PROXMOX_PASSWORD", "pw")]
            ),
            "https://pve:8006/api2/json password root@pam wp verify 10s"
        );
        assert_eq!(
            via_module(
                json!({"api_host": "pve"}),
                &[
                    ("PROXMOX_USER", "admin@pve"),
                    ("PROXMOX_PASSWORD", "pw"),
                    ("PROXMOX_PORT", "443"),
                    ("PROXMOX_VALIDATE_CERTS", "no"),
                    ("PROXMOX_API_TIMEOUT", "3")
                ]
            ),
            "https://pve:443/api2/json password admin@pve wp insecure 3s"
        );
        // a token from the environment wins over a password in the task
        assert_eq!(
            via_module(
                json!({"api_host": "pve", "api_password": "pw"}),
                &[
                    ("PROXMOX_TOKEN_ID", "deploy"),
                    ("PROXMOX_TOKEN_SECRET", "s3"),
                    ("PROXMOX_USER", "ci@pve")
                ]
            ),
            "https://pve:8006/api2/json token ci@pve!deploy 3s verify 10s"
        );
        assert_eq!(
            via_module(
                json!({"api_host": "pve", "api_token_id": "ci@pve!task", "api_token_secret": "s1"}),
                &[("PROXMOX_VE_API_TOKEN", "ci@pve!env=s2")]
            ),
            "https://pve:8006/api2/json token ci@pve!env 2s verify 10s"
        );
        assert_eq!(
            via_module(
                json!({"api_host": "pve", "api_password": "pw"}),
                &[("PROXMOX_FINGERPRINT", &"0a".repeat(32))]
            ),
            "https://pve:8006/api2/json password root@pam wp pinned 10s"
        );
        // the task's own value wins over the environment
        assert_eq!(
            via_module(
                json!({"api_host": "pve", "api_password": "pw", "api_user": "me@pve"}),
                &[("PROXMOX_USER", "env@pve")]
            ),
            "https://pve:8006/api2/json password me@pve wp verify 10s"
        );
        let failed = via_module(
            json!({"api_host": "pve"}),
            &[("PROXMOX_TOKEN_ID", "ci@pve!x")],
        );
        assert!(
            failed.starts_with("failed: api_token_id is set but api_token_secret is not"),
            "{failed}"
        );
    }

    #[test]
    fn port_and_timeout_are_checked() {
        assert!(port(&params(json!({"api_port": 0}))).is_err());
        assert!(port(&params(json!({"api_port": 70000}))).is_err());
        assert_eq!(port(&params(json!({"api_port": 443}))), Ok(443));
        assert_eq!(
            timeout(&params(json!({"api_timeout": 3}))),
            Ok(Duration::from_secs(3))
        );
        let e = timeout(&params(json!({"api_timeout": 0})))
            .err()
            .unwrap_or_default();
        assert!(e.contains("api_timeout"), "{e}");
    }
}
