//! `pve-sim`: run the simulated Proxmox VE access-control API over HTTPS.
//!
//! `pve-sim --listen 127.0.0.1:0 --pve-version 9.1` prints one JSON line on
//! stdout when it is ready (`{"url": ..., "fingerprint": ..., "ca_cert": ...}`)
//! and serves until it is killed. `pve-sim --help` documents every flag.
//! State is saved on every change (with `--state-dir`), so a plain kill is a
//! clean stop.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use pve_sim::api::Api;
use pve_sim::faults::Faults;
use pve_sim::inventory::Inventory;
use pve_sim::server::{self, Identity, RequestLog};
use pve_sim::store::{Store, StoreOptions};
use pve_sim::tasks::{self, Tasks};
use pve_sim::versions::PveVersion;

const DEFAULT_LISTEN: &str = "127.0.0.1:8006";
const DEFAULT_VERSION: &str = "9.1";
const DEFAULT_ROOT_PASSWORD: &str = "pve-sim";

const HELP: &str = "\
pve-sim: a simulator of the Proxmox VE access-control HTTPS API
(users, groups, roles, ACLs, API tokens, permissions, tickets, pools).

USAGE:
    pve-sim [OPTIONS]

When ready it prints one JSON line on stdout and serves until killed:
    {\"url\": \"https://127.0.0.1:PORT\", \"fingerprint\": \"AB:CD:...\", \"ca_cert\": \"PATH\"}
fingerprint is the SHA-256 of the server certificate as PVE shows it; ca_cert
is a PEM file a client can trust instead (valid for 127.0.0.1, localhost, ::1).

OPTIONS:
    --listen ADDR          Address to listen on [default: 127.0.0.1:8006].
                           Port 0 picks a free port (see the ready line).
                             --listen 127.0.0.1:0    --listen [::1]:8006
    --pve-version V        PVE release to behave like: 8.4, 9.0 or 9.1
                           (privileges, built-in roles, token parameters)
                           [default: 9.1].   --pve-version 8.4
    --root-password PW     Password of root@pam [default: pve-sim].
                             --root-password 'S3cret!'
    --cert FILE            PEM certificate chain to serve (leaf first);
    --key FILE             with its PEM private key. Both or neither. Without
                           them a CA and a server certificate are generated
                           (kept in --state-dir when given, else fresh on
                           every start); ca_cert is then the generated CA,
                           with --cert it is FILE itself.
                             --cert /etc/pve/local/pve-ssl.pem --key /etc/pve/local/pve-ssl.key
    --user-cfg FILE        Load a PVE user.cfg (e.g. a copy of /etc/pve/user.cfg).
                             --user-cfg ./user.cfg
    --token-cfg FILE       Load a PVE priv/token.cfg (token secrets).
                             --token-cfg ./token.cfg
    --state-dir DIR        Keep state in DIR in PVE's formats (user.cfg,
                           priv/token.cfg, priv/shadow.cfg, domains.cfg,
                           priv/realm/<realm>.pw), saved on every
                           change and loaded on start; also holds the
                           generated certificate (pve-root-ca.pem, local/).
                             --state-dir ./sim-state
    --node-name NAME       The node the simulator plays: the {node} of
                           /nodes/{node}/tasks and the node in UPIDs
                           [default: the host's short name, else pve-sim].
                             --node-name pve1
    --guests LIST          The cluster's guests, which pools can hold: VMIDs,
                           each optionally :qemu (the default) or :lxc.
                             --guests 100,101,200:lxc
    --storages LIST        The cluster's storages, which pools can hold.
                             --storages local,local-lvm
    --request-log FILE     Append one JSON line per request:
                           {\"ts\": epoch_ms, \"method\", \"path\" (relative to
                           /api2/json), \"status\" (0 = connection dropped),
                           \"auth\": \"ticket\"|\"token\"|\"none\", \"fault\"?}.
                             --request-log ./requests.jsonl
    --fault JSON           Inject a failure (repeatable; the first rule that
                           fires wins). Keys: method (default any), path
                           (relative to /api2/json, * = one segment), one
                           action: status + reason [+ body] | delay_ms |
                           drop: \"before\"|\"after\"; a limit: times N and/or
                           rate 0..1 [+ seed]. Examples:
      --fault '{\"method\":\"PUT\",\"path\":\"/access/acl\",\"status\":500,\"reason\":\"cfs-lock error\",\"times\":2}'
      --fault '{\"method\":\"GET\",\"path\":\"/access/users/*\",\"delay_ms\":3000,\"times\":1}'
      --fault '{\"method\":\"POST\",\"path\":\"/access/users/*/token/*\",\"drop\":\"after\",\"times\":1}'
      --fault '{\"path\":\"/access/users\",\"status\":503,\"rate\":0.25}'
    --version              Print the version and exit.
    -h, --help             Print this help and exit.

EXAMPLE:
    pve-sim --listen 127.0.0.1:8006 --state-dir ./sim-state &
    curl -k -H 'Authorization: PVEAPIToken=root@pam!ci=SECRET' \\
        https://127.0.0.1:8006/api2/json/access/users

Bad options exit with status 2, start-up failures with status 1.
";

/// The command line, checked for form; values are interpreted by `run`.
#[derive(Debug, Default, PartialEq)]
struct Options {
    listen: Option<String>,
    pve_version: Option<String>,
    root_password: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    user_cfg: Option<PathBuf>,
    token_cfg: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    node_name: Option<String>,
    request_log: Option<PathBuf>,
    guests: Option<String>,
    storages: Option<String>,
    faults: Vec<String>,
}

#[derive(Debug, PartialEq)]
enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            _ => {}
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument '{arg}'"));
        }
        let mut value = || -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{flag} needs a value")),
            }
        };
        fn once<T>(slot: &mut Option<T>, flag: &str, v: T) -> Result<(), String> {
            if slot.is_some() {
                return Err(format!("{flag} given twice"));
            }
            *slot = Some(v);
            Ok(())
        }
        match flag.as_str() {
            "--listen" => once(&mut o.listen, &flag, value()?)?,
            "--pve-version" => once(&mut o.pve_version, &flag, value()?)?,
            "--root-password" => once(&mut o.root_password, &flag, value()?)?,
            "--cert" => once(&mut o.cert, &flag, value()?.into())?,
            "--key" => once(&mut o.key, &flag, value()?.into())?,
            "--user-cfg" => once(&mut o.user_cfg, &flag, value()?.into())?,
            "--token-cfg" => once(&mut o.token_cfg, &flag, value()?.into())?,
            "--state-dir" => once(&mut o.state_dir, &flag, value()?.into())?,
            "--node-name" => once(&mut o.node_name, &flag, value()?)?,
            "--request-log" => once(&mut o.request_log, &flag, value()?.into())?,
            "--guests" => once(&mut o.guests, &flag, value()?)?,
            "--storages" => once(&mut o.storages, &flag, value()?)?,
            "--fault" => o.faults.push(value()?),
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err("--cert and --key go together".to_string());
    }
    if o.root_password.as_deref() == Some("") {
        return Err("--root-password must not be empty".to_string());
    }
    Ok(Command::Run(Box::new(o)))
}

/// Why the simulator did not start: bad usage (exit 2) or a failure (exit 1).
enum StartError {
    Usage(String),
    Failed(String),
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("pve-sim {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(options)) => match run(*options) {
            Ok(never) => match never {},
            Err(StartError::Usage(msg)) => usage_error(&msg),
            Err(StartError::Failed(msg)) => {
                eprintln!("pve-sim: {msg}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => usage_error(&msg),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("pve-sim: {msg}\nTry 'pve-sim --help' for the options.");
    ExitCode::from(2)
}

enum Never {}

fn run(o: Options) -> Result<Never, StartError> {
    use StartError::{Failed, Usage};

    let version_text = o.pve_version.as_deref().unwrap_or(DEFAULT_VERSION);
    let version = PveVersion::parse(version_text)
        .map_err(|e| Usage(format!("--pve-version {version_text}: {e}")))?;
    let faults = Faults::parse_all(&o.faults).map_err(Usage)?;
    let node = o.node_name.clone().unwrap_or_else(tasks::default_node_name);
    if !pve_sim::ids::is_node_name(&node) {
        return Err(Usage(format!(
            "--node-name {node}: not a node name (letters, digits and inner '-')"
        )));
    }
    let inventory = Inventory::parse(
        o.guests.as_deref().unwrap_or_default(),
        o.storages.as_deref().unwrap_or_default(),
    )
    .map_err(Usage)?;
    let listen = o.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| Usage(format!("--listen {listen}: {e} (expected HOST:PORT)")))?
        .collect();

    // Listening first: a busy port fails before anything is written.
    let listener = TcpListener::bind(&addrs[..])
        .map_err(|e| Failed(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failed(format!("cannot listen on {listen}: {e}")))?;

    let store = Store::open(StoreOptions {
        version,
        user_cfg: o.user_cfg.clone(),
        token_cfg: o.token_cfg.clone(),
        state_dir: o.state_dir.clone(),
    })
    .map_err(Failed)?;

    let (identity, ca_cert) = identity(&o).map_err(Failed)?;
    let tls = identity.server_config().map_err(Failed)?;
    let fingerprint = identity.fingerprint().map_err(Failed)?;
    let request_log = match &o.request_log {
        Some(path) => Some(
            RequestLog::open(path)
                .map_err(|e| Failed(format!("cannot open {}: {e}", path.display())))?,
        ),
        None => None,
    };

    let root_password = o
        .root_password
        .clone()
        .unwrap_or_else(|| DEFAULT_ROOT_PASSWORD.to_string());
    let tasks = match &o.state_dir {
        Some(dir) => Tasks::open(&node, dir).map_err(Failed)?,
        None => Tasks::in_memory(&node),
    };
    let api = Api::new(Arc::new(store), root_password)
        .with_tasks(tasks)
        .with_inventory(inventory);

    let ready = format!(
        "{{\"url\": {}, \"fingerprint\": {}, \"ca_cert\": {}}}\n",
        serde_json::Value::from(url(local)),
        serde_json::Value::from(fingerprint),
        serde_json::Value::from(ca_cert.display().to_string()),
    );
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(ready.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failed(format!("cannot write the ready line: {e}")))?;
    drop(stdout);

    server::serve(listener, tls, Arc::new(api), faults, request_log)
}

/// The URL a local client uses: a wildcard address is reached through loopback.
fn url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, addr.port()))
}

/// The certificate to serve and the PEM file a client should trust.
///
/// `--cert/--key` are used as given. Otherwise a generated one: with a state
/// directory it is kept there under PVE's names and reused, so that a
/// fingerprint pinned by a playbook stays valid across restarts.
fn identity(o: &Options) -> Result<(Identity, PathBuf), String> {
    if let (Some(cert), Some(key)) = (&o.cert, &o.key) {
        let cert_pem = read(cert)?;
        let identity = Identity {
            key_pem: read(key)?,
            ca_pem: cert_pem.clone(),
            cert_pem,
        };
        let ca = fs::canonicalize(cert).unwrap_or_else(|_| cert.clone());
        return Ok((identity, ca));
    }
    let dir = match &o.state_dir {
        Some(dir) => dir.clone(),
        None => fresh_temp_dir()?,
    };
    let ca_path = dir.join("pve-root-ca.pem");
    let cert_path = dir.join("local").join("pve-ssl.pem");
    let key_path = dir.join("local").join("pve-ssl.key");
    if o.state_dir.is_some() && ca_path.exists() && cert_path.exists() && key_path.exists() {
        let identity = Identity {
            cert_pem: read(&cert_path)?,
            key_pem: read(&key_path)?,
            ca_pem: read(&ca_path)?,
        };
        // A damaged pair is replaced rather than refused: it is ours.
        if identity.server_config().is_ok() {
            return Ok((identity, absolute(&ca_path)));
        }
    }
    let identity = Identity::generate()?;
    fs::create_dir_all(dir.join("local"))
        .map_err(|e| format!("cannot create {}: {e}", dir.join("local").display()))?;
    write_file(&key_path, &identity.key_pem, true)?;
    write_file(&cert_path, &identity.cert_pem, false)?;
    write_file(&ca_path, &identity.ca_pem, false)?;
    Ok((identity, absolute(&ca_path)))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write_file(path: &Path, text: &str, private: bool) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A new directory under the system temp dir for the generated certificate
/// when there is no state directory.
fn fresh_temp_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("pve-sim-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_with_space_or_equals() {
        let Command::Run(o) = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--pve-version=8.4",
            "--root-password",
            "a=b",
            "--fault",
            "{\"status\":500}",
            "--fault={\"drop\":\"after\"}",
            "--state-dir",
            "/tmp/s",
        ])
        .unwrap() else {
            panic!("not a run")
        };
        assert_eq!(o.listen.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(o.pve_version.as_deref(), Some("8.4"));
        assert_eq!(o.root_password.as_deref(), Some("a=b"));
        assert_eq!(o.faults, vec!["{\"status\":500}", "{\"drop\":\"after\"}"]);
        assert_eq!(o.state_dir, Some(PathBuf::from("/tmp/s")));
        assert_eq!(o.cert, None);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["--listen", "x", "-h"]), Ok(Command::Help));
        assert_eq!(parse(&["--version"]), Ok(Command::Version));
        for flag in [
            "--listen",
            "--pve-version",
            "--root-password",
            "--cert",
            "--key",
            "--user-cfg",
            "--token-cfg",
            "--state-dir",
            "--node-name",
            "--request-log",
            "--fault",
            "--version",
        ] {
            assert!(HELP.contains(flag), "{flag} is documented");
        }
    }

    #[test]
    fn bad_usage_is_explained() {
        let err = |args: &[&str]| parse(args).unwrap_err();
        assert!(err(&["--bogus"]).contains("unknown option '--bogus'"));
        assert!(err(&["stray"]).contains("unexpected argument 'stray'"));
        assert!(err(&["--listen"]).contains("--listen needs a value"));
        assert!(err(&["--cert", "a.pem"]).contains("--cert and --key go together"));
        assert!(err(&["--listen", "a", "--listen", "b"]).contains("given twice"));
        assert!(err(&["--root-password", ""]).contains("must not be empty"));
    }

    #[test]
    fn urls_use_loopback_for_wildcards() {
        assert_eq!(
            url("0.0.0.0:8006".parse().unwrap()),
            "https://127.0.0.1:8006"
        );
        assert_eq!(url("[::]:8006".parse().unwrap()), "https://[::1]:8006");
        assert_eq!(url("127.0.0.1:5".parse().unwrap()), "https://127.0.0.1:5");
    }
}
