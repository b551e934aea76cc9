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
    let root = target(&params(
        json!({"api_user": "root@pam", "fingerprint": "ab"}),
    ));
    assert!(matches!(root, Ok(Target::Local { .. })), "{root:?}");
}

#[test]
fn local_mode_refuses_credentials_it_cannot_use() {
    let cases = [
        (
            json!({"api_token": "ci@pve!x=s3cr3t-value"}),
            "api_token (or PROXMOX_VE_API_TOKEN) given",
        ),
        (
            json!({"api_token_id": "x", "api_token_secret": "s3cr3t-value"}),
            "api_token_id (or PROXMOX_TOKEN_ID), api_token_secret (or PROXMOX_TOKEN_SECRET) given",
        ),
        (
            json!({"api_password": "s3cr3t-value"}),
            "api_password (or PROXMOX_PASSWORD) given",
        ),
        (json!({"api_user": "ci@pve"}), "api_user is 'ci@pve'"),
    ];
    for (args, start) in cases {
        let err = target(&params(args.clone())).map(|_| ()).unwrap_err();
        assert!(err.starts_with(start), "{args}: {err}");
        assert!(
            err.contains("api_host is not set (nor PROXMOX_HOST)"),
            "{err}"
        );
        assert!(
            err.contains("api_host: localhost") || err.contains("for this node: localhost"),
            "{err}"
        );
        assert!(!err.contains("s3cr3t"), "{err}");
    }
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
    let c =
        creds(json!({"api_token_id": "ci@pve!bb", "api_token_secret": "s2", "api_password": "pw"}));
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
