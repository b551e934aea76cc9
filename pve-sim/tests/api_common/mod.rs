//! Helpers of the `api_*` tests: a simulator API over a store in a
//! temporary directory, request builders for the three ways of calling it
//! (no credentials, ticket + CSRF token, API token) and parsed answers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pve_sim::api::Api;
use pve_sim::http::{Handler, Request};
use pve_sim::model::PveVersion;
use pve_sim::store::{Store, StoreOptions};
pub use pve_test_support::http::{enc, form};
use serde_json::Value;

pub const ROOT_PW: &str = "root-secret-pw";

/// A simulator API and the directory holding its state.
pub struct Sim {
    pub api: Api,
    pub store: Arc<Store>,
    pub dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pve-sim-api-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A simulator of `version` ("8.4", "9.0", "9.1") with PVE's default
/// config (only root@pam).
pub fn sim(version: &str) -> Sim {
    sim_cfg(version, None, None)
}

/// A simulator loaded from a user.cfg (and token.cfg) text.
pub fn sim_cfg(version: &str, user_cfg: Option<&str>, token_cfg: Option<&str>) -> Sim {
    let dir = temp_dir();
    let write = |name: &str, text: Option<&str>| {
        text.map(|t| {
            let p = dir.join(name);
            std::fs::write(&p, t).unwrap();
            p
        })
    };
    let user_cfg = write("in-user.cfg", user_cfg);
    let token_cfg = write("in-token.cfg", token_cfg);
    let store = Arc::new(
        Store::open(StoreOptions {
            version: PveVersion::parse(version).unwrap(),
            user_cfg,
            token_cfg,
            state_dir: Some(dir.join("state")),
        })
        .unwrap(),
    );
    let api = Api::new(store.clone(), ROOT_PW.to_string()).with_auth_delay_ms(0);
    Sim { api, store, dir }
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// Ticket cookie and CSRF token (sent on non-GET requests).
    Ticket {
        ticket: String,
        csrf: String,
    },
    /// `Authorization: PVEAPIToken=<full id>=<secret>`.
    Token(String),
}

/// A parsed answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub reason: String,
    /// The JSON body (`Null` when the body is empty or not JSON).
    pub body: Value,
    pub raw: Vec<u8>,
    pub content_type: &'static str,
    pub min_delay_ms: u64,
    pub kind: &'static str,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// The body's `message`.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
    /// `errors.<key>` of a 400.
    pub fn error(&self, key: &str) -> &str {
        self.body["errors"][key].as_str().unwrap_or_default()
    }
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(
            self.status,
            200,
            "{} {} {}",
            self.status,
            self.reason,
            String::from_utf8_lossy(&self.raw)
        );
        self.data()
    }
    #[track_caller]
    pub fn status(&self, status: u16, reason: &str) -> &Self {
        assert_eq!(
            (self.status, self.reason.as_str()),
            (status, reason),
            "body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        self
    }
}

impl Sim {
    /// The same simulator with these guests and storages (`--guests`,
    /// `--storages`).
    pub fn with_inventory(mut self, guests: &str, storages: &str) -> Sim {
        let inventory = pve_sim::inventory::Inventory::parse(guests, storages).unwrap();
        self.api = Api::new(self.store.clone(), ROOT_PW.to_string())
            .with_auth_delay_ms(0)
            .with_inventory(inventory);
        self
    }

    /// Sends a raw request.
    pub fn send(&self, req: Request) -> Resp {
        let (r, kind) = self.api.handle(&req);
        let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Resp {
            status: r.status,
            reason: r.reason,
            body,
            raw: r.body,
            content_type: r.content_type,
            min_delay_ms: r.min_delay_ms,
            kind,
        }
    }

    /// A request under `/api2/json`: GET/DELETE parameters go to the query
    /// string, PUT/POST parameters into a form body.
    pub fn call(&self, method: &str, path: &str, auth: &Auth, params: &[(&str, &str)]) -> Resp {
        let mut headers = BTreeMap::new();
        let (query, body) = if method == "GET" || method == "DELETE" {
            (form(params), Vec::new())
        } else {
            if !params.is_empty() {
                headers.insert(
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                );
            }
            (Vec::new(), form(params))
        };
        match auth {
            Auth::None => {}
            Auth::Ticket { ticket, csrf } => {
                headers.insert(
                    "cookie".to_string(),
                    format!("PVEAuthCookie={}", enc(ticket)),
                );
                if method != "GET" {
                    headers.insert("csrfpreventiontoken".to_string(), csrf.clone());
                }
            }
            Auth::Token(t) => {
                headers.insert("authorization".to_string(), format!("PVEAPIToken={t}"));
            }
        }
        self.send(Request {
            method: method.to_string(),
            path: format!("/api2/json{path}"),
            query,
            headers,
            body,
        })
    }

    /// Logs in with a password; panics unless it works.
    #[track_caller]
    pub fn login(&self, userid: &str, password: &str) -> Auth {
        let r = self.call(
            "POST",
            "/access/ticket",
            &Auth::None,
            &[("username", userid), ("password", password)],
        );
        let d = r.ok();
        Auth::Ticket {
            ticket: d["ticket"].as_str().unwrap().to_string(),
            csrf: d["CSRFPreventionToken"].as_str().unwrap().to_string(),
        }
    }

    /// root@pam's ticket.
    pub fn root(&self) -> Auth {
        self.login("root@pam", ROOT_PW)
    }

    /// A ticket for any user without a password (signed by this simulator).
    pub fn ticket_for(&self, userid: &str) -> Auth {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Auth::Ticket {
            ticket: self.api.assemble_ticket(userid, now).unwrap(),
            csrf: self.api.assemble_csrf(userid, now).unwrap(),
        }
    }

    /// Root performs a call that must succeed.
    #[track_caller]
    pub fn root_ok(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Value {
        let root = self.ticket_for("root@pam");
        self.call(method, path, &root, params).ok().clone()
    }

    /// Root creates a token and returns its `Auth`.
    #[track_caller]
    pub fn token(&self, userid: &str, tokenid: &str, params: &[(&str, &str)]) -> Auth {
        let d = self.root_ok(
            "POST",
            &format!("/access/users/{userid}/token/{tokenid}"),
            params,
        );
        Auth::Token(format!(
            "{}={}",
            d["full-tokenid"].as_str().unwrap(),
            d["value"].as_str().unwrap()
        ))
    }
}
