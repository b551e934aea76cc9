//! The local backend: without `api_host`, requests run through the node's
//! own `pvesh`, as root, without credentials (like `pveum` on the node).
//!
//! Every argument of a process can be read by every user of the node (`ps`,
//! `/proc/PID/cmdline`), so a password never is one: it goes to `pveum` on
//! its standard input ([`Call`]), and a request with a secret PVE's CLI
//! cannot read that way is refused. Errors carry PVE's own error, found
//! among what else pvesh prints on stderr ([`parse_stderr`]).

use crate::client::{Class, Failed};
use crate::error::{is_lock_timeout, with_details, ApiError, ErrorKind};
use crate::request::{decode, ApiRequest, Method};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `api_timeout` counts for the API call itself; each run of pvesh or pveum
/// first starts a Perl interpreter that loads PVE's code, which can take
/// seconds on a busy node. Without this allowance a write waiting PVE's 10 s
/// for a held cluster lock (at the default `api_timeout` of 10) would be
/// killed just before PVE says why it failed.
const START_ALLOWANCE: Duration = Duration::from_secs(5);

/// The locale of every pvesh/pveum run: PVE's CLI decodes its arguments
/// and standard input in the locale's charset; without a UTF-8 locale (as
/// under a `become` that resets the environment) a non-ASCII value such as
/// `comment: Jürgen` would be stored as U+FFFD, unlike over HTTP.
const LOCALE: &str = "C.UTF-8";

#[derive(Debug)]
pub(crate) struct Local {
    pvesh: PathBuf,
    /// Where `pveum` is looked for, when a password must go through it.
    search_path: OsString,
    timeout: Duration,
    /// [`START_ALLOWANCE`], but none in tests of the timeout.
    allowance: Duration,
}

/// How one request runs on the node. No secret is ever an argument: a
/// password reaches PVE only on pveum's standard input, which PVE's CLI
/// reads for exactly two calls (`pveum passwd`, `pveum ticket`: the
/// `read_password` mappings of PVE::CLI::pveum); pvesh itself has no such
/// mapping and takes parameters only as arguments.
#[derive(Debug, PartialEq)]
pub(crate) enum Call {
    /// `pvesh VERB PATH --output-format json --key=value ...`
    Pvesh(Vec<String>),
    /// `pveum ticket -- USERNAME`, the password on stdin: a login check.
    Login { username: String, password: String },
    /// `pveum passwd -- USERID`, the password twice on stdin.
    Passwd { userid: String, password: String },
    /// The user is created by pvesh without the password, which `pveum
    /// passwd` then sets; if that fails the user is removed again, so that
    /// no user is left without the password it was to be created with.
    CreateUser {
        create: Vec<String>,
        userid: String,
        password: String,
    },
}

/// One finished pvesh or pveum run.
struct Output {
    success: bool,
    exit: Option<i32>,
    stdout: String,
    stderr: String,
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
            Some(0) => Ok(Local::new(program, path, timeout)),
            Some(uid) => Err(ApiError::config(format!(
                "api_host is not set, so the module uses the node's pvesh, which needs root, but it runs as uid {uid}: add `become: true` to the task, or set api_host and credentials to use the PVE API"
            ))),
            None => Err(ApiError::config(
                "api_host is not set, so the module uses the node's pvesh, which needs root, but /proc/self/status does not tell who it runs as: set api_host and credentials to use the PVE API",
            )),
        }
    }

    pub fn new(pvesh: PathBuf, search_path: OsString, timeout: Duration) -> Local {
        Local {
            pvesh,
            search_path,
            timeout,
            allowance: START_ALLOWANCE,
        }
    }

    pub fn attempt(&self, req: &ApiRequest) -> Result<Value, Failed> {
        let fail = |kind, class, status, msg: String| Failed {
            err: ApiError::new(kind, req.method.as_str(), &req.path, status, msg),
            class,
        };
        let call = call_for(req).map_err(|msg| fail(ErrorKind::Local, Class::Final, None, msg))?;
        match call {
            Call::Pvesh(args) => {
                let out = self.run(&self.pvesh, &args, None, req)?;
                json_data(out, req)
            }
            Call::Login { username, password } => {
                let pveum = self.find_pveum(req)?;
                // Its stdout is the new ticket: a secret, never read.
                self.pveum(&pveum, "ticket", &username, &format!("{password}\n"), req)?;
                Ok(Value::Null)
            }
            Call::Passwd { userid, password } => {
                let pveum = self.find_pveum(req)?;
                self.pveum(&pveum, "passwd", &userid, &twice(&password), req)?;
                Ok(Value::Null)
            }
            Call::CreateUser {
                create,
                userid,
                password,
            } => {
                // Found first, so that no user is created for want of it.
                let pveum = self.find_pveum(req)?;
                let created = self
                    .run(&self.pvesh, &create, None, req)
                    .and_then(|out| pve_result(&out, req));
                match &created {
                    Err(f) if f.class != Class::Unknown => return created.map(|()| Value::Null),
                    // Created, or maybe (pvesh timed out): setting the
                    // password tells which.
                    _ => {}
                }
                let set = self.pveum(&pveum, "passwd", &userid, &twice(&password), req);
                match (created, set) {
                    (_, Ok(())) => Ok(Value::Null),
                    (Err(unknown), Err(f)) if f.err.is_not_found() => Err(Failed {
                        class: Class::NotApplied,
                        ..unknown
                    }),
                    (_, Err(f)) => Err(self.undo_create(&userid, f, req)),
                }
            }
        }
    }

    /// After the password of a user just created could not be set: removes
    /// the user again, and says what happened.
    fn undo_create(&self, userid: &str, failed: Failed, req: &ApiRequest) -> Failed {
        let delete = ApiRequest::delete(format!("/access/users/{}", crate::seg(userid)));
        let undone = self
            .run(&self.pvesh, &command_args(&delete), None, req)
            .and_then(|out| pve_result(&out, req));
        let Failed { mut err, class } = failed;
        let why = err.message.clone();
        match undone {
            Ok(()) => {
                err.message = format!(
                    "user '{userid}' was created, but setting its password with pveum failed: {why}; the user was removed again"
                );
                // Nothing is left: trying again is safe unless the
                // password itself was refused.
                let class = match class {
                    Class::Final => Class::Final,
                    _ => Class::NotApplied,
                };
                Failed { err, class }
            }
            Err(Failed { err: undo, .. }) => {
                err.message = format!(
                    "user '{userid}' was created, but setting its password with pveum failed: {why}; removing the user again failed too ({}): the user exists without a password; set it with update_password: always, or delete the user",
                    undo.message
                );
                Failed {
                    err,
                    class: Class::Final,
                }
            }
        }
    }

    fn find_pveum(&self, req: &ApiRequest) -> Result<PathBuf, Failed> {
        find_in_path(&self.search_path, "pveum").ok_or_else(|| Failed {
            err: ApiError::new(
                ErrorKind::Local,
                req.method.as_str(),
                &req.path,
                None,
                "pveum is not in PATH: local mode gives a password to PVE only on pveum's standard input, never on a command line; put pveum in PATH (it is in every Proxmox VE node's /usr/sbin) or set api_host and credentials to use the PVE API",
            ),
            class: Class::Final,
        })
    }

    /// `pveum COMMAND -- ID` with `input` on its standard input.
    fn pveum(
        &self,
        pveum: &Path,
        command: &str,
        id: &str,
        input: &str,
        req: &ApiRequest,
    ) -> Result<(), Failed> {
        let args = [command.to_string(), "--".to_string(), id.to_string()];
        let out = self.run(pveum, &args, Some(input), req)?;
        pve_result(&out, req)
    }

    /// Runs `program` (pvesh or pveum) within the timeout, `input` on its
    /// standard input.
    fn run(
        &self,
        program: &Path,
        args: &[String],
        input: Option<&str>,
        req: &ApiRequest,
    ) -> Result<Output, Failed> {
        let fail = |kind, class, msg: String| Failed {
            err: ApiError::new(kind, req.method.as_str(), &req.path, None, msg),
            class,
        };
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = Command::new(program)
            .args(args)
            .env("LC_ALL", LOCALE)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(
                    ErrorKind::Local,
                    Class::Final,
                    format!("cannot run {}: {e}", program.display()),
                )
            })?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // A few bytes fit the pipe; a program that exits without
            // reading them gives a broken pipe, and its stderr says why.
            let _ = stdin.write_all(text.as_bytes());
        }
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
        let deadline = Instant::now() + self.timeout + self.allowance;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    // It may be stuck on the cluster file system; what it
                    // did so far is unknown.
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(fail(
                        ErrorKind::Timeout,
                        Class::Unknown,
                        format!(
                            "{name} gave no answer within {} s (api_timeout, plus {} s to start)",
                            self.timeout.as_secs(),
                            self.allowance.as_secs()
                        ),
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    break Err(fail(
                        ErrorKind::Local,
                        Class::Unknown,
                        format!("waiting for {name} failed: {e}"),
                    ))
                }
            }
        };
        // On failure the readers are left behind: a grandchild may still
        // hold the pipes open.
        let status = status?;
        Ok(Output {
            success: status.success(),
            exit: status.code(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

/// The password twice, as `pveum passwd` asks for it and its confirmation.
fn twice(password: &str) -> String {
    format!("{password}\n{password}\n")
}

/// The JSON pvesh printed, or PVE's error.
fn json_data(out: Output, req: &ApiRequest) -> Result<Value, Failed> {
    pve_result(&out, req)?;
    let text = out.stdout.trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| Failed {
        err: ApiError::new(
            ErrorKind::Unexpected,
            req.method.as_str(),
            &req.path,
            None,
            format!("pvesh printed something that is not JSON ({e})"),
        ),
        class: Class::Final,
    })
}

/// Success, or PVE's error from stderr with its status.
fn pve_result(out: &Output, req: &ApiRequest) -> Result<(), Failed> {
    if out.success {
        return Ok(());
    }
    let fail = |kind, class, status, msg: String| Failed {
        err: ApiError::new(kind, req.method.as_str(), &req.path, status, msg),
        class,
    };
    let (code, message) = parse_stderr(&out.stderr);
    let Some(message) = message else {
        let how = match out.exit {
            Some(c) => format!("exit code {c}"),
            None => "a signal".to_string(),
        };
        return Err(fail(
            ErrorKind::Local,
            Class::Final,
            None,
            format!("PVE's command failed with {how} and no error text"),
        ));
    };
    let class = if is_lock_timeout(&message) {
        Class::NotApplied
    } else {
        Class::Final
    };
    Err(fail(ErrorKind::Http, class, Some(code), message))
}

/// How `req` runs locally, or why it cannot run without showing a secret.
pub(crate) fn call_for(req: &ApiRequest) -> Result<Call, String> {
    let Some((key, password)) = req.secret_params().next() else {
        return Ok(Call::Pvesh(command_args(req)));
    };
    let refuse = |why: &str| {
        Err(format!(
            "not done: local mode (no api_host) never puts a secret on a command line, where every user of the node can read it (ps, /proc/PID/cmdline), and {why}: set api_host (and credentials) to send it over the PVE API"
        ))
    };
    if password.contains(['\n', '\r', '\0']) {
        return refuse(&format!(
            "{key} holds a line break (or a NUL), but pveum reads a password from its standard input as one line"
        ));
    }
    // The names of the other parameters, to match the two pveum commands.
    let mut rest: Vec<&str> = req
        .params
        .iter()
        .filter(|(k, _)| k != key)
        .map(|(k, _)| k.as_str())
        .collect();
    rest.sort_unstable();
    let only =
        |want: &[&str]| key == "password" && rest == want && req.secret_params().count() == 1;
    let password = password.to_string();
    match (req.method, req.path.as_str()) {
        (Method::Post, "/access/ticket") if only(&["username"]) => Ok(Call::Login {
            username: req.value("username").unwrap_or_default().to_string(),
            password,
        }),
        (Method::Put, "/access/password") if only(&["userid"]) => Ok(Call::Passwd {
            userid: req.value("userid").unwrap_or_default().to_string(),
            password,
        }),
        (Method::Post, "/access/users") if key == "password" && req.secret_params().count() == 1 => {
            let mut create = req.clone();
            create.params.retain(|(k, _)| k != "password");
            Ok(Call::CreateUser {
                create: command_args(&create),
                userid: req.value("userid").unwrap_or_default().to_string(),
                password,
            })
        }
        _ => refuse(&format!(
            "PVE's CLI cannot take {key} of {} {} another way (pvesh reads parameters only as arguments; pveum reads a password from its standard input only to set or check one)",
            req.method, req.path
        )),
    }
}

/// `pvesh get|create|set|delete PATH --output-format json --key=value ...`.
/// `--key=value` keeps values that start with `-` from reading as options;
/// an empty value is `--key ''`, since Getopt::Long refuses `--key=`
/// ("Option key requires an argument": clearing a user's groups).
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
    for (k, v) in &req.params {
        if v.is_empty() {
            args.extend([format!("--{k}"), String::new()]);
        } else {
            args.push(format!("--{k}={v}"));
        }
    }
    args
}

/// PVE's error in what pvesh or pveum printed on stderr, with its status.
///
/// The CLI prints PVE's exception last: `CODE message` (a plain `die` has
/// no code and is a 500, as over HTTP), then `key: text` lines for parameter
/// errors, then maybe an empty line and the usage. Before it may come
/// progress and warnings: `trying to acquire cfs lock 'file-user_cfg' ...`
/// once a second while PVE waits for a cluster lock, `auth key pair
/// missing, generating new one..`. So the error is the last paragraph that
/// is not usage: from its line with a status code, else its last line.
pub(crate) fn parse_stderr(stderr: &str) -> (u16, Option<String>) {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !is_noise(l))
        .collect();
    let paragraphs: Vec<&[&str]> = lines
        .split(|l| l.trim().is_empty())
        .filter(|p| !p.is_empty() && !is_usage(p[0]))
        .collect();
    let Some(last) = paragraphs.last() else {
        return (500, None);
    };
    let (code, first, details) = match last.iter().rposition(|l| status_code(l).is_some()) {
        Some(i) => {
            let (code, text) = status_code(last[i]).unwrap_or((500, last[i]));
            (code, text, &last[i + 1..])
        }
        None => (500, last[last.len() - 1], &last[..0]),
    };
    let details = details.iter().map(|l| l.trim().to_string()).collect();
    (code, Some(with_details(first.trim(), details)))
}

/// `NNN text` with a three-digit HTTP status.
fn status_code(line: &str) -> Option<(u16, &str)> {
    let (c, rest) = line.split_once(' ')?;
    let ok = c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) && !rest.trim().is_empty();
    ok.then(|| c.parse().ok().map(|code| (code, rest)))
        .flatten()
}

/// Lines around PVE's error that are not it: progress while waiting for a
/// lock (PVE::Cluster's cfs_lock, PVE::Tools' lock_file), and where an
/// exception was passed on (PVE::Exception).
fn is_noise(line: &str) -> bool {
    line.starts_with("trying to acquire cfs lock '")
        || line.starts_with("trying to acquire lock...")
        || line.trim_start().starts_with("...propagated at ")
}

/// The usage PVE's CLI prints after a parameter error.
fn is_usage(line: &str) -> bool {
    ["pvesh ", "pveum ", "USAGE: "]
        .iter()
        .any(|p| line.starts_with(p))
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
