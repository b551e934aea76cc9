//! The local backend: without `api_host`, requests run through the node's
//! own `pvesh`, as root, without credentials (like `pveum` on the node).

use crate::client::{Class, Failed};
use crate::error::{is_lock_timeout, with_details, ApiError, ErrorKind};
use crate::request::{decode, ApiRequest, Method};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Local {
    program: PathBuf,
    timeout: Duration,
}

impl Local {
    /// Finds `pvesh` in PATH and checks that we run as root.
    pub fn find(timeout: Duration) -> Result<Local, ApiError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let program = find_in_path(&path, "pvesh").ok_or_else(|| {
            ApiError::config(
                "api_host is not set (nor PROXMOX_HOST), so the module would use this host's `pvesh`, but pvesh is not in PATH: set api_host (and credentials) to use the PVE API over HTTPS, or run the task on a Proxmox VE node",
            )
        })?;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        match effective_uid(&status) {
            Some(0) => Ok(Local::new(program, timeout)),
            Some(uid) => Err(ApiError::config(format!(
                "api_host is not set, so the module uses the node's pvesh, which needs root, but it runs as uid {uid}: add `become: true` to the task, or set api_host and credentials to use the PVE API"
            ))),
            None => Err(ApiError::config(
                "api_host is not set, so the module uses the node's pvesh, which needs root, but /proc/self/status does not tell who it runs as: set api_host and credentials to use the PVE API",
            )),
        }
    }

    pub fn new(program: PathBuf, timeout: Duration) -> Local {
        Local { program, timeout }
    }

    pub fn attempt(&self, req: &ApiRequest) -> Result<Value, Failed> {
        let fail = |kind, class, status, msg: String| Failed {
            err: ApiError::new(kind, req.method.as_str(), &req.path, status, msg),
            class,
        };
        let mut child = Command::new(&self.program)
            .args(command_args(req))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(
                    ErrorKind::Local,
                    Class::Final,
                    None,
                    format!("cannot run {}: {e}", self.program.display()),
                )
            })?;
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    // A read error leaves what was read so far.
                    let _ = p.read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    // pvesh may be stuck on the cluster file system; what it
                    // did so far is unknown.
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(fail(
                        ErrorKind::Timeout,
                        Class::Unknown,
                        None,
                        format!(
                            "pvesh gave no answer within {} s (api_timeout)",
                            self.timeout.as_secs()
                        ),
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    break Err(fail(
                        ErrorKind::Local,
                        Class::Unknown,
                        None,
                        format!("waiting for pvesh failed: {e}"),
                    ))
                }
            }
        };
        // On failure the readers are left behind: a grandchild may still
        // hold the pipes open.
        let status = status?;
        let out = stdout.join().unwrap_or_default();
        let err = stderr.join().unwrap_or_default();
        if status.success() {
            let out = out.trim();
            if out.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(out).map_err(|e| {
                fail(
                    ErrorKind::Unexpected,
                    Class::Final,
                    None,
                    format!("pvesh printed something that is not JSON ({e})"),
                )
            });
        }
        let (code, message) = parse_stderr(&err);
        let Some(message) = message else {
            let how = match status.code() {
                Some(c) => format!("exit code {c}"),
                None => "a signal".to_string(),
            };
            return Err(fail(
                ErrorKind::Local,
                Class::Final,
                None,
                format!("pvesh failed with {how} and no error text"),
            ));
        };
        let class = if is_lock_timeout(&message) {
            Class::NotApplied
        } else {
            Class::Final
        };
        Err(fail(ErrorKind::Http, class, Some(code), message))
    }
}

/// `pvesh get|create|set|delete PATH --output-format json --key=value ...`.
/// `--key=value` keeps values that start with `-` from reading as options.
pub(crate) fn command_args(req: &ApiRequest) -> Vec<String> {
    let verb = match req.method {
        Method::Get => "get",
        Method::Post => "create",
        Method::Put => "set",
        Method::Delete => "delete",
    };
    let mut args = vec![
        verb.to_string(),
        decode(&req.path),
        "--output-format".to_string(),
        "json".to_string(),
    ];
    args.extend(req.params.iter().map(|(k, v)| format!("--{k}={v}")));
    args
}

/// PVE's CLI prints an exception as `CODE message`, then `key: text` lines
/// for parameter errors, then maybe usage after an empty line; a plain
/// `die` has no code and is a 500, as over HTTP.
pub(crate) fn parse_stderr(stderr: &str) -> (u16, Option<String>) {
    let mut lines = stderr
        .lines()
        .map(str::trim_end)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return (500, None);
    };
    let (code, first) = match first.split_once(' ') {
        Some((c, rest))
            if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty() =>
        {
            (c.parse().unwrap_or(500), rest)
        }
        _ => (500, first),
    };
    let details: Vec<String> = lines.map(|l| l.trim().to_string()).collect();
    (code, Some(with_details(first, details)))
}

fn find_in_path(path: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The effective uid from `/proc/self/status` (`Uid: real effective saved fs`).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

#[cfg(test)]
#[path = "tests/local.rs"]
mod tests;
