//! The PVE API client of the `pve.access` modules, and the typed
//! access-control resources.
//!
//! - [`connection_options`]: the options every module has (`api_host`,
//!   `api_user`, `api_password`, `api_token_id`, `api_token_secret`,
//!   `api_token`, `validate_certs`, `ca_path`, `fingerprint`, ...), named as
//!   in community.proxmox, with its env fallbacks.
//! - [`Client::connect`] reads them: HTTPS with rustls (system trust store
//!   plus `ca_path`, or a pinned SHA-256 `fingerprint`, or no check), a
//!   token (`Authorization: PVEAPIToken=...`) or a password login (ticket
//!   cookie plus CSRF header on writes). Without `api_host` it runs the
//!   node's own `pvesh` as root: a password goes to `pveum` on its standard
//!   input, never on a command line, and a credential given without
//!   `api_host` fails before anything is done.
//! - [`Client::send`] performs an [`ApiRequest`] and returns its `data`,
//!   retrying transient failures; a write whose answer was lost is never sent
//!   again blindly: [`Client::send_settled`] reads the state back first.
//! - [`ApiError`] reads like PVE's own answer (`PUT /access/acl: 403
//!   Permission check failed (/, Permissions.Modify)`) and converts into an
//!   [`ansible_module::Failure`] with `status`. No error, log or `Debug`
//!   output contains a password, token secret, ticket or CSRF token.
//! - [`ids`], [`time`] and [`access`]: PVE's id rules, dates and durations,
//!   and typed reads of users, groups, roles, ACLs and tokens.
//! - [`self_lockout`]: the one rule by which every module refuses to take
//!   away the access of the login it runs with.
//! - [`assume`]: referenced objects that do not exist yet: refused by a
//!   real run, assumed created by an earlier task in check mode.
//! - [`privs`]: privilege names checked against the server's set, with the
//!   closest valid names and the renames between PVE versions.
//!
//! ```no_run
//! use ansible_module::{json, Failure, Map, Module, Opt, Spec, Value};
//! use pve_api::{connection_options, seg, ApiRequest, Client};
//!
//! fn body(m: &mut Module) -> Result<Map<String, Value>, Failure> {
//!     let client = Client::connect(&m.params)?;
//!     let userid = m.params.str("userid").unwrap_or("root@pam").to_string();
//!     let path = format!("/access/users/{}", seg(&userid));
//!     let before = client.get(&path)?;
//!     let mut result = Map::new();
//!     if before["comment"] != "managed" && !m.check_mode {
//!         let req = ApiRequest::put(path.as_str()).param("comment", "managed");
//!         // A lost answer is settled by reading the user back.
//!         client.send_settled(&req, &|c| Ok(c.get(&path)?["comment"] == "managed"))?;
//!         result.insert("changed".into(), json!(true));
//!     }
//!     Ok(result)
//! }
//!
//! fn main() {
//!     let spec = Spec::new([Opt::str("userid").required()]).with(connection_options());
//!     ansible_module::run("pve_example", spec, body)
//! }
//! ```

pub mod access;
pub mod assume;
mod client;
mod connection;
mod error;
mod http;
pub mod ids;
mod local;
pub mod privs;
mod request;
pub mod self_lockout;
pub mod time;
mod tls;
mod wire;

pub use client::{Client, Identity};
pub use connection::connection_options;
pub use error::{ApiError, ErrorKind};
pub use request::{seg, ApiRequest, Method};
pub use serde_json::Value;
