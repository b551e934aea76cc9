//! The PVE access-control API: what `pveproxy` answers under `/api2/json`
//! (pve-http-server and libpve-access-control). [`Api`] implements [`Handler`] for the transport.
//!
//! A request goes through these steps, in pve-http-server's order:
//! method check, `/api2/<format>` prefix, authentication ([`auth`]), body
//! rules and parameter extraction ([`request`]), route lookup in the API
//! schema ([`schema`]), URI/body parameter conflicts, the API-token
//! restriction, permission checks ([`checks`], before validation; root@pam
//! skips them), schema validation, and finally the endpoint.
//!
//! Endpoints, by file: [`misc`] (`GET /version`, `GET /access`),
//! [`domains`] (`/access/domains[/{realm}]`), [`tasks`] (`/nodes/{node}/tasks`),
//! [`ticket`] (`/access/ticket`,
//! `PUT /access/password`), [`users`] (`/access/users[/{userid}]`),
//! [`tokens`] (`/access/users/{userid}/token[/{tokenid}]`), [`groups`],
//! [`roles`], [`acl`] (`/access/acl`), [`permissions`]
//! (`GET /access/permissions`), [`pools`] (`/pools`, `/pools/{poolid}`,
//! `GET /cluster/resources`) and [`sync_jobs`] (`/cluster/jobs/realm-sync[/{id}]`).
//! [`routes`] maps schema paths to them.
//!
//! Supporting pieces: [`errors`] (PVE's error shapes and the lock-wrapper
//! conversion), [`formats`] and [`pattern`] (schema formats and patterns),
//! [`realm`] (the realm types' authentication), [`secrets`] (SHA-crypt
//! passwords, token UUIDs).
//!
//! Environment: `PVE_SIM_AUTH_DELAY_MS` (default 3000) is how long 401
//! answers are held back, as PVE does against password guessing.

pub mod acl;
pub mod auth;
pub mod checks;
pub mod domains;
pub mod errors;
pub mod formats;
pub mod groups;
pub mod jsonxs;
pub mod misc;
pub mod pattern;
pub mod permissions;
pub mod pools;
pub mod realm;
pub mod request;
pub mod roles;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod sync_jobs;
pub mod tasks;
pub mod ticket;
pub mod tokens;
pub mod users;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::http::{Handler, Request, Response};
use crate::inventory::Inventory;
use crate::model::PveVersion;
use crate::store::Store;
use crate::tasks::Tasks;
use crate::versions;

use errors::{empty_response, ok_response_with, text_response, ApiError, ApiResult};
use request::RawParams;
use schema::{ApiSchema, FormatContext, Params};

/// Default hold-back of 401 answers (PVE: 3 s).
const DEFAULT_AUTH_DELAY_MS: u64 = 3000;

/// The simulated API. Cheap to share: all state lives in the [`Store`].
pub struct Api {
    store: Arc<Store>,
    /// The Linux password of `root@pam` (PAM realm); changeable through
    /// `PUT /access/password`.
    root_password: Mutex<String>,
    keys: Result<auth::Keys, String>,
    schema: Result<ApiSchema, String>,
    auth_delay_ms: u64,
    tasks: Arc<Tasks>,
    /// The guests and storages pools can hold (not part of user.cfg).
    inventory: Inventory,
}

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthKind {
    None,
    Ticket,
    Token,
}

impl AuthKind {
    fn as_str(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Ticket => "ticket",
            AuthKind::Token => "token",
        }
    }
}

/// One endpoint call: the authenticated caller and the validated parameters.
pub struct Call<'a> {
    pub api: &'a Api,
    /// `None` only for endpoints that need no authentication.
    pub authid: Option<String>,
    pub params: Params,
    pub now: i64,
    /// What PVE's `set_result_attrib` puts beside `data` (`total`).
    attribs: RefCell<Map<String, Value>>,
}

impl Call<'_> {
    /// The caller's id (user or full token id), `""` when unauthenticated.
    pub fn authid(&self) -> &str {
        self.authid.as_deref().unwrap_or_default()
    }

    /// A defined parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A parameter as Perl would test it in `if ($param->{x})`.
    pub fn truthy(&self, name: &str) -> bool {
        self.param(name).is_some_and(crate::ids::truthy)
    }

    /// The simulated PVE version.
    pub fn version(&self) -> PveVersion {
        self.api.store.version()
    }

    pub fn store(&self) -> &Store {
        &self.api.store
    }

    /// The state, for a task that works on it after the call has answered
    /// (`crate::sync::start`).
    pub fn shared_store(&self) -> Arc<Store> {
        Arc::clone(&self.api.store)
    }

    /// The node's tasks.
    pub fn tasks(&self) -> &Arc<Tasks> {
        self.api.tasks()
    }

    /// `$rpcenv->set_result_attrib`: `key` beside `data` in the answer.
    pub fn set_result_attrib(&self, key: &str, value: Value) {
        self.attribs.borrow_mut().insert(key.to_string(), value);
    }

    pub fn inventory(&self) -> &Inventory {
        &self.api.inventory
    }
}

impl Api {
    /// The API over `store`; `root_password` is what `root@pam` logs in with.
    pub fn new(store: Arc<Store>, root_password: String) -> Api {
        let version = store.version();
        let auth_delay_ms = std::env::var("PVE_SIM_AUTH_DELAY_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_AUTH_DELAY_MS);
        Api {
            store,
            root_password: Mutex::new(root_password),
            keys: auth::Keys::generate(),
            schema: ApiSchema::parse(versions::schema_json(version))
                .and_then(|s| s.extended(tasks::SCHEMA))
                .and_then(|s| s.extended(versions::POOLS_SCHEMA))
                .and_then(|s| s.extended(sync_jobs::SCHEMA)),
            inventory: Inventory::default(),
            auth_delay_ms,
            tasks: Arc::new(Tasks::in_memory(&crate::tasks::default_node_name())),
        }
    }

    /// Keeps the node's tasks in `tasks` (a node name, a log directory).
    pub fn with_tasks(mut self, tasks: Tasks) -> Api {
        self.tasks = Arc::new(tasks);
        self
    }

    /// The node's tasks.
    pub fn tasks(&self) -> &Arc<Tasks> {
        &self.tasks
    }

    /// The guests and storages of the simulated cluster (`--guests`,
    /// `--storages`).
    pub fn with_inventory(mut self, inventory: Inventory) -> Api {
        self.inventory = inventory;
        self
    }

    /// Overrides the hold-back of 401 answers (tests use 0).
    pub fn with_auth_delay_ms(mut self, ms: u64) -> Api {
        self.auth_delay_ms = ms;
        self
    }

    /// A ticket for `userid` issued at `timestamp` (epoch seconds), as
    /// `POST /access/ticket` would hand out; for tests of expiry.
    pub fn assemble_ticket(&self, userid: &str, timestamp: i64) -> Option<String> {
        self.keys
            .as_ref()
            .ok()
            .map(|k| k.assemble_ticket(userid, timestamp))
    }

    /// The CSRF prevention token for `userid` issued at `timestamp`.
    pub fn assemble_csrf(&self, userid: &str, timestamp: i64) -> Option<String> {
        self.keys
            .as_ref()
            .ok()
            .map(|k| k.assemble_csrf(userid, timestamp))
    }

    fn keys(&self) -> ApiResult<&auth::Keys> {
        self.keys
            .as_ref()
            .map_err(|e| ApiError::die(format!("internal error - {e}")))
    }

    /// Whether `password` is root@pam's PAM password.
    fn root_password_matches(&self, password: &str) -> bool {
        let current = self
            .root_password
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        !current.is_empty() && secrets::ct_eq(current.as_bytes(), password.as_bytes())
    }

    fn set_root_password(&self, password: &str) {
        if let Ok(mut p) = self.root_password.lock() {
            *p = password.to_string();
        }
    }

    fn unauthorized(&self, reason: &str) -> Response {
        let mut r = empty_response(401, reason);
        r.min_delay_ms = self.auth_delay_ms;
        r
    }

    /// The 401 of a failed ticket or token check: pve-manager 9.1.5 and
    /// later only say `Authentication failed!` (the reason goes to the log),
    /// earlier releases answer with the reason itself.
    fn auth_failure(&self, reason: &str) -> Response {
        if self.store.version() >= PveVersion::V9_1 {
            self.unauthorized("Authentication failed!")
        } else {
            self.unauthorized(reason.trim_end_matches('\n'))
        }
    }

    /// Steps 1–3 of the order above, then the rest.
    fn process(&self, req: &Request, kind: &mut AuthKind) -> Response {
        let method = req.method.as_str();
        if !matches!(method, "GET" | "POST" | "PUT" | "DELETE") {
            return empty_response(501, &format!("method '{method}' not available"));
        }
        if !req.path.starts_with("/api2") {
            return text_response(500, &format!("no such file '{}'\n", req.path));
        }
        let Some((format, rel_uri)) = split_abs_uri(&req.path) else {
            return text_response(501, "no such uri");
        };
        let now = auth::now();

        let creds = request::credentials(req);
        let authid = match self.authenticate(method, &rel_uri, &creds, now, kind) {
            Ok(a) => a,
            Err(r) => return r,
        };

        if !req.body.is_empty() {
            if method != "PUT" && method != "POST" {
                return text_response(501, &format!("Unexpected content for method '{method}'"));
            }
            if let Some(ct) = request::content_type(req) {
                if !ct.is_empty()
                    && ct != "application/x-www-form-urlencoded"
                    && ct != "application/json"
                {
                    let raw = req.headers.get("content-type").cloned().unwrap_or_default();
                    return text_response(
                        506,
                        &format!("upload 'Content-Type '{raw}' not implemented"),
                    );
                }
            }
        }
        if format != "json" {
            return text_response(501, &format!("no formatter for uri {rel_uri}, {format}"));
        }
        let raw = match request::extract_params(req, self.store.version()) {
            Ok(p) => p,
            Err(request::BodyError(text, true)) => return ApiError::die(text).to_response(),
            Err(request::BodyError(text, false)) => return text_response(500, &text),
        };

        let api_token = *kind == AuthKind::Token || creds.api_token.is_some();
        let result = self.rest_handler(method, &rel_uri, authid, api_token, raw, now);
        let mut resp = match result {
            Ok((data, attribs)) => ok_response_with(data, attribs),
            Err(e) => e.to_response(),
        };
        if resp.status == 401 {
            resp.min_delay_ms = self.auth_delay_ms;
        }
        resp
    }

    /// `auth_handler` of pveproxy: `Ok(None)` for the endpoints that need no
    /// authentication, `Ok(Some(authid))` for a valid caller, `Err` with the
    /// (delayed, empty) 401 otherwise.
    fn authenticate(
        &self,
        method: &str,
        rel_uri: &str,
        creds: &request::Credentials,
        now: i64,
        kind: &mut AuthKind,
    ) -> Result<Option<String>, Response> {
        let exempt = matches!(
            (rel_uri, method),
            ("/access/domains", "GET")
                | ("/access/ticket", "GET" | "POST")
                | ("/access/vncticket", "POST")
                | ("/access/openid/login", "POST")
                | ("/access/openid/auth-url", "POST")
        );
        if exempt {
            return Ok(None);
        }
        let Ok(keys) = &self.keys else {
            return Err(self.unauthorized("Authentication failed!"));
        };
        if let Some(token) = &creds.api_token {
            *kind = AuthKind::Token;
            let verified = self
                .store
                .read(|s| auth::verify_token(&s.cfg, &s.secrets, token, now));
            return match verified {
                Ok(id) => Ok(Some(id)),
                Err(e) => Err(self.auth_failure(&e)),
            };
        }
        let Some(ticket) = creds.ticket.as_deref().filter(|t| crate::ids::truthy(t)) else {
            return Err(self.unauthorized("No ticket"));
        };
        *kind = AuthKind::Ticket;
        let Some(user) = keys.verify_ticket(ticket, now) else {
            return Err(self.auth_failure("permission denied - invalid PVE ticket\n"));
        };
        if let Err(e) = self
            .store
            .read(|s| auth::check_user_enabled(&s.cfg, &user, now).map(|_| ()))
        {
            return Err(self.auth_failure(&e));
        }
        if method != "GET" && !keys.verify_csrf(&user, creds.csrf.as_deref(), now) {
            return Err(self.unauthorized("Permission denied - invalid csrf token"));
        }
        Ok(Some(user))
    }

    /// `rest_handler` of pveproxy: steps 5–10 of the order above.
    fn rest_handler(
        &self,
        method: &str,
        rel_uri: &str,
        authid: Option<String>,
        api_token: bool,
        raw: RawParams,
        now: i64,
    ) -> ApiResult<(Value, Map<String, Value>)> {
        let schema = self
            .schema
            .as_ref()
            .map_err(|e| ApiError::die(format!("internal error - {e}")))?;
        let not_implemented =
            || ApiError::coded(501, format!("Method '{method} {rel_uri}' not implemented"));
        let (def, uri) = schema.find(method, rel_uri).ok_or_else(not_implemented)?;
        let endpoint = routes::endpoint(&def.method, &def.path).ok_or_else(not_implemented)?;

        let mut params: RawParams = uri
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        for (k, v) in raw {
            if let Some(u) = uri.get(&k) {
                if schema::perl_string(&v) != *u || v.is_null() {
                    return Err(ApiError::param1(
                        &k,
                        "duplicate parameter (already defined in URI) with conflicting values!",
                    ));
                }
            }
            params.insert(k, v);
        }

        if api_token && !def.allowtoken {
            return Err(ApiError::perm(Some(&format!(
                "URI '{rel_uri}' not available with API token, need proper ticket.\n"
            ))));
        }

        self.store.read(|s| {
            checks::check_api2_permissions(&s.cfg, &def.permissions, authid.as_deref(), &params)
        })?;

        let version = self.store.version();
        let privileges = versions::privileges(version);
        let params = def.validate(
            &params,
            &FormatContext {
                privileges,
                version,
            },
        )?;

        let call = Call {
            api: self,
            authid,
            params,
            now,
            attribs: RefCell::new(Map::new()),
        };
        let data = endpoint(&call)?;
        Ok((data, call.attribs.into_inner()))
    }
}

impl Handler for Api {
    fn handle(&self, req: &Request) -> (Response, &'static str) {
        let mut kind = AuthKind::None;
        let resp = self.process(req, &mut kind);
        (resp, kind.as_str())
    }
}

/// `/api2/<format>/<rel>` -> (`format`, `/<rel>`); `None` without a format.
fn split_abs_uri(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/api2")?;
    let rest = rest.trim_start_matches('/');
    if rest.len() == path.len() - "/api2".len() {
        return None;
    }
    let end = rest.find('/').unwrap_or(rest.len());
    let format = &rest[..end];
    let mut chars = format.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && format.len() >= 2
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !valid {
        return None;
    }
    let rel = &rest[end..];
    Some((
        format.to_string(),
        if rel.is_empty() {
            "/".to_string()
        } else {
            rel.to_string()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_uri_split() {
        assert_eq!(
            split_abs_uri("/api2/json/access/users"),
            Some(("json".into(), "/access/users".into()))
        );
        assert_eq!(
            split_abs_uri("/api2/json"),
            Some(("json".into(), "/".into()))
        );
        assert_eq!(
            split_abs_uri("/api2//extjs//x"),
            Some(("extjs".into(), "//x".into()))
        );
        assert_eq!(split_abs_uri("/api2"), None);
        assert_eq!(split_abs_uri("/api2/"), None);
        assert_eq!(split_abs_uri("/api2/J/x"), None);
        assert_eq!(split_abs_uri("/api2x/json/x"), None);
    }
}
