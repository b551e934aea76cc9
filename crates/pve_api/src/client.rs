//! [`Client`]: connects (HTTPS with ticket or token, or the local `pvesh`),
//! sends [`ApiRequest`]s with retries, and settles writes whose answer was
//! lost.

use crate::connection::{self, Credentials, Target};
use crate::error::{ApiError, ErrorKind};
use crate::http::{Auth, Http, COOKIE_SAFE};
use crate::local::Local;
use crate::request::{encode, ApiRequest, Method};
use ansible_module::Params;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

/// Tries per request, counting the first.
const MAX_TRIES: u32 = 3;
/// Pauses before the second and the third try.
const BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(750)];

/// Whether a failed attempt may be made again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Nothing reached the server (connection refused, handshake failed).
    NotSent,
    /// Sent, but the answer was lost or says the server may have run it
    /// (timeout, dropped connection, 502/503/595).
    Unknown,
    /// Refused by the server before doing anything (cluster-lock timeout).
    NotApplied,
    /// A real answer: trying again would give the same.
    Final,
}

/// One failed attempt.
#[derive(Debug)]
pub(crate) struct Failed {
    pub err: ApiError,
    pub class: Class,
}

/// Who the client is authenticated as: what the self-lockout rule
/// ([`crate::self_lockout`]) starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Password login (the user id as PVE returned it).
    User(String),
    /// An API token: its owner and the full id `user@realm!name` (its
    /// privilege separation is not known from the credentials; the
    /// self-lockout rule reads it when it matters).
    Token { owner: String, full: String },
    /// The local backend: `pvesh` as root on the node.
    LocalRoot,
}

impl Identity {
    /// The id that ACLs name: the user id, the full token id, or
    /// `root@pam` for the local backend.
    pub fn authid(&self) -> &str {
        match self {
            Identity::User(u) => u,
            Identity::Token { full, .. } => full,
            Identity::LocalRoot => "root@pam",
        }
    }
    /// The user behind the identity (a token's owner).
    pub fn userid(&self) -> &str {
        match self {
            Identity::User(u) => u,
            Identity::Token { owner, .. } => owner,
            Identity::LocalRoot => "root@pam",
        }
    }
}

enum Backend {
    Http { http: Box<Http>, auth: Auth },
    Local(Local),
}

/// A connection to one PVE API (or the local `pvesh`). `Debug` shows no
/// secret, and no error it returns contains the password, token secret,
/// ticket or CSRF token.
pub struct Client {
    backend: Backend,
    identity: Identity,
    /// Scrubbed from every error.
    secrets: Vec<String>,
    /// The options to check after a 401.
    credential_options: &'static str,
    requests: AtomicU32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Client");
        match &self.backend {
            Backend::Http { http, auth } => d.field("http", http).field("auth", auth),
            Backend::Local(local) => d.field("local", local),
        };
        d.field("identity", &self.identity)
            .field("requests_made", &self.requests_made())
            .finish()
    }
}

impl Client {
    /// Checks the connection options (see [`crate::connection_options`])
    /// and connects: with a password, this logs in (`POST /access/ticket`);
    /// with a token, nothing is sent yet; without `api_host`, it checks that
    /// `pvesh` is there and we are root.
    pub fn connect(params: &Params) -> Result<Client, ApiError> {
        let remote = match connection::target(params).map_err(ApiError::config)? {
            Target::Local { timeout } => {
                return Ok(Client {
                    backend: Backend::Local(Local::find(timeout)?),
                    identity: Identity::LocalRoot,
                    secrets: Vec::new(),
                    credential_options: "",
                    requests: AtomicU32::new(0),
                })
            }
            Target::Remote(remote) => remote,
        };
        let http = Box::new(
            Http::new(remote.endpoint, &remote.tls, remote.timeout).map_err(ApiError::config)?,
        );
        match remote.credentials {
            Credentials::Token {
                id,
                secret,
                options,
            } => {
                let full = id.full();
                let header = format!("PVEAPIToken={full}={secret}");
                Ok(Client {
                    backend: Backend::Http {
                        http,
                        auth: Auth::Token(header.clone()),
                    },
                    identity: Identity::Token {
                        owner: id.userid,
                        full,
                    },
                    secrets: vec![secret, header],
                    credential_options: options,
                    requests: AtomicU32::new(0),
                })
            }
            Credentials::Password { user, password } => {
                let mut client = Client {
                    backend: Backend::Http {
                        http,
                        auth: Auth::Anonymous,
                    },
                    identity: Identity::User(user.clone()),
                    secrets: vec![password.clone()],
                    credential_options: "api_user and api_password",
                    requests: AtomicU32::new(0),
                };
                client.login(&user, &password)?;
                Ok(client)
            }
        }
    }

    fn login(&mut self, user: &str, password: &str) -> Result<(), ApiError> {
        let req = ApiRequest::post("/access/ticket")
            .param("username", user)
            .param("password", password);
        let data = self.perform(&req, &mut { MAX_TRIES }, true)?;
        let field = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_string);
        let truthy = |v: &Value| v.as_bool().unwrap_or(false) || v.as_i64().unwrap_or(0) != 0;
        if data.get("NeedTFA").is_some_and(truthy) {
            return Err(ApiError::new(
                ErrorKind::Http,
                "POST",
                "/access/ticket",
                None,
                format!("{user} has two-factor authentication, which this module cannot answer: use an API token instead (api_token_id and api_token_secret)"),
            ));
        }
        let (Some(ticket), Some(csrf)) = (field("ticket"), field("CSRFPreventionToken")) else {
            return Err(ApiError::unexpected(
                "POST",
                "/access/ticket",
                "the login answer has no ticket or CSRFPreventionToken".to_string(),
            ));
        };
        self.secrets.push(ticket.clone());
        // as sent in the cookie, should a server echo it
        self.secrets.push(encode(&ticket, COOKIE_SAFE));
        self.secrets.push(csrf.clone());
        if let Backend::Http { auth, .. } = &mut self.backend {
            *auth = Auth::Ticket { ticket, csrf };
        }
        self.identity = Identity::User(field("username").unwrap_or_else(|| user.to_string()));
        Ok(())
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Performs one request and returns its `data`. Transient failures are
    /// tried again (at most 3 tries, 250 ms and 750 ms apart): a GET after
    /// any of them, a write only when it certainly was not applied
    /// (connection refused, cluster-lock timeout). A write whose outcome is
    /// unknown fails with [`ErrorKind::OutcomeUnknown`]; see
    /// [`Client::send_settled`].
    pub fn send(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        self.perform(req, &mut { MAX_TRIES }, false)
    }

    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send(&ApiRequest::get(path))
    }

    /// Like [`Client::send`], but a write whose outcome is unknown is
    /// settled by `done`, which reads the state back: `true` means it was
    /// applied (the result is then `Value::Null`: the answer is lost),
    /// `false` that it was not, and it is sent again, within the same 3
    /// tries.
    pub fn send_settled(
        &self,
        req: &ApiRequest,
        done: &dyn Fn(&Client) -> Result<bool, ApiError>,
    ) -> Result<Value, ApiError> {
        let mut budget = MAX_TRIES;
        loop {
            let err = match self.perform(req, &mut budget, false) {
                Err(e) if e.kind == ErrorKind::OutcomeUnknown => e,
                other => return other,
            };
            match done(self) {
                Ok(true) => return Ok(Value::Null),
                Ok(false) if budget > 0 => {
                    thread::sleep(backoff(MAX_TRIES - budget));
                }
                Ok(false) => {
                    let mut err = err;
                    err.message.push_str(&format!(
                        "; reading back showed it was not applied, also after {MAX_TRIES} tries"
                    ));
                    return Err(err);
                }
                Err(check) => {
                    let mut err = err;
                    err.message
                        .push_str(&format!("; reading the state back failed too: {check}"));
                    return Err(err);
                }
            }
        }
    }

    /// Whether `userid` can log in with `password` (`POST /access/ticket`
    /// without our own credentials, so it also works for a token client,
    /// which PVE refuses there). `false` on PVE's 401.
    pub fn check_login(&self, userid: &str, password: &str) -> Result<bool, ApiError> {
        let req = ApiRequest::post("/access/ticket")
            .param("username", userid)
            .param("password", password);
        match self.perform(&req, &mut { MAX_TRIES }, true) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::Http && e.status == Some(401) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `req` can be sent at all, without sending it: local mode
    /// refuses a secret PVE's command-line tools cannot take off the command
    /// line. Checked for every planned write before the first one, and in
    /// check mode, so that a task fails before changing anything, and check
    /// mode fails as the real run would.
    pub fn check_sendable(&self, req: &ApiRequest) -> Result<(), ApiError> {
        match &self.backend {
            Backend::Http { .. } => Ok(()),
            Backend::Local(_) => crate::local::call_for(req).map(|_| ()).map_err(|msg| {
                ApiError::new(ErrorKind::Local, req.method.as_str(), &req.path, None, msg)
                    .scrub(req.secrets())
            }),
        }
    }

    /// Requests sent so far (HTTP requests or `pvesh` runs), counting the
    /// login and every retry.
    pub fn requests_made(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The retry loop. `anonymous`: without our credentials (the login and
    /// [`Client::check_login`]).
    fn perform(
        &self,
        req: &ApiRequest,
        budget: &mut u32,
        anonymous: bool,
    ) -> Result<Value, ApiError> {
        // Logging in changes nothing on the server, so it may be repeated.
        let repeatable = req.method == Method::Get || req.path == "/access/ticket";
        let mut tries = 0;
        loop {
            tries += 1;
            *budget = budget.saturating_sub(1);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = match &self.backend {
                Backend::Http { http, auth } => {
                    http.attempt(req, if anonymous { &Auth::Anonymous } else { auth })
                }
                Backend::Local(local) => local.attempt(req),
            };
            let Failed { err, class } = match result {
                Ok(data) => return Ok(data),
                Err(failed) => failed,
            };
            let err = self.explain(err, req, anonymous);
            if class == Class::Unknown && !repeatable {
                return Err(outcome_unknown(err));
            }
            let again = match class {
                Class::NotSent | Class::NotApplied => true,
                Class::Unknown => repeatable,
                Class::Final => false,
            };
            if !again || *budget == 0 {
                return Err(if tries > 1 { tried(err, tries) } else { err });
            }
            thread::sleep(backoff(tries));
        }
    }

    /// Adds what to check after a 401 and removes every secret.
    fn explain(&self, mut err: ApiError, req: &ApiRequest, anonymous: bool) -> ApiError {
        if err.status == Some(401) {
            if anonymous && self.logging_in() {
                err.message.push_str(" (check api_user and api_password)");
            } else if !anonymous && !self.credential_options.is_empty() {
                err.message
                    .push_str(&format!(" (check {})", self.credential_options));
            }
        }
        err.scrub(self.secrets.iter().map(String::as_str).chain(req.secrets()))
    }

    /// True while the password login has not happened yet.
    fn logging_in(&self) -> bool {
        matches!(
            &self.backend,
            Backend::Http {
                auth: Auth::Anonymous,
                ..
            }
        )
    }
}

fn backoff(tries: u32) -> Duration {
    let i = usize::try_from(tries.saturating_sub(1)).unwrap_or(0);
    BACKOFF[i.min(BACKOFF.len() - 1)]
}

fn outcome_unknown(mut err: ApiError) -> ApiError {
    err.kind = ErrorKind::OutcomeUnknown;
    err.message.push_str(
        "; the request was sent, so it may or may not have been applied: it was not sent again",
    );
    err
}

fn tried(mut err: ApiError, tries: u32) -> ApiError {
    err.message.push_str(&format!(" (tried {tries} times)"));
    err
}
