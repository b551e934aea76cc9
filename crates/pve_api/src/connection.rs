//! The connection options: their spec and their checked meaning
//! ([`Target`]), all worked out before anything is sent.

use crate::ids::{self, TokenId};
use ansible_module::{Kind, Opt, Params};
use rustls::pki_types::CertificateDer;
use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

/// pveproxy's port.
const DEFAULT_PORT: u16 = 8006;
/// The login when none is given: PVE's administrator.
const DEFAULT_USER: &str = "root@pam";
/// Seconds per try; PVE's own config lock waits as long.
const DEFAULT_TIMEOUT: u64 = 10;

/// The connection options every module has, with the names and env
/// variables of community.proxmox so that its users can switch easily.
pub fn connection_options() -> Vec<Opt> {
    vec![
        Opt::str("api_host").env("PROXMOX_HOST"),
        Opt::int("api_port")
            .default(DEFAULT_PORT)
            .env("PROXMOX_PORT"),
        Opt::str("api_user")
            .default(DEFAULT_USER)
            .env("PROXMOX_USER"),
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
            .default(DEFAULT_TIMEOUT)
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
        no_credentials_for_local(params)?;
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
        None => Ok(Duration::from_secs(DEFAULT_TIMEOUT)),
        Some(t @ 1..=86400) => Ok(Duration::from_secs(t.unsigned_abs())),
        Some(t) => Err(format!(
            "api_timeout must be a number of seconds from 1 to 86400, got {t}"
        )),
    }
}

fn port(params: &Params) -> Result<u16, String> {
    match params.int("api_port") {
        None => Ok(DEFAULT_PORT),
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

/// Local mode runs pvesh as root@pam and cannot act as anyone else: a
/// credential given without `api_host` is a mistake to report, not to drop
/// (a task meant to run as a least-privileged token would silently run as
/// root). Using it against the node's own API instead would mean guessing
/// its address and how to trust its certificate; `api_host: localhost` says
/// so in one line.
fn no_credentials_for_local(params: &Params) -> Result<(), String> {
    let given: Vec<String> = [
        ("api_token", "PROXMOX_VE_API_TOKEN"),
        ("api_token_id", "PROXMOX_TOKEN_ID"),
        ("api_token_secret", "PROXMOX_TOKEN_SECRET"),
        ("api_password", "PROXMOX_PASSWORD"),
    ]
    .iter()
    .filter(|(name, _)| params.str(name).is_some_and(|v| !v.is_empty()))
    .map(|(name, var)| format!("{name} (or {var})"))
    .collect();
    let user = text(params, "api_user")
        .map(str::trim)
        .unwrap_or(DEFAULT_USER);
    let how = "without api_host the module runs this node's pvesh as root@pam and cannot act as anyone else, so nothing was done";
    let fix = "to use them against this node's own API, set api_host: localhost (with fingerprint, or ca_path: /etc/pve/pve-root-ca.pem); to work as root through pvesh, remove them (and their PROXMOX_* variables)";
    if !given.is_empty() {
        return Err(format!(
            "{} given, but api_host is not set (nor PROXMOX_HOST): {how}; {fix}",
            given.join(", ")
        ));
    }
    if user != DEFAULT_USER {
        return Err(format!(
            "api_user is '{user}', but api_host is not set (nor PROXMOX_HOST): {how}; to work as '{user}', set api_host (for this node: localhost) and its credentials; to work as root through pvesh, remove api_user (and PROXMOX_USER)"
        ));
    }
    Ok(())
}

const NO_CREDENTIALS: &str = "set api_password (or PROXMOX_PASSWORD) to log in as api_user, or give an API token: api_token_id and api_token_secret (PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET), or api_token (PROXMOX_VE_API_TOKEN) as USER@REALM!NAME=SECRET";

/// A token wins over a password: `api_token` (whole), then `api_token_id`
/// with `api_token_secret`; otherwise `api_user` with `api_password`.
pub(crate) fn credentials(params: &Params) -> Result<Credentials, String> {
    let user = text(params, "api_user").unwrap_or(DEFAULT_USER).trim();
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
#[path = "tests/connection.rs"]
mod tests;
