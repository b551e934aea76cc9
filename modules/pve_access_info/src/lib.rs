//! `pve_access_info`: the Ansible module that returns the whole access
//! control state of a Proxmox VE cluster (users with their tokens and
//! second factors, groups, roles with the ACL entries that use them, the
//! ACL, realms) and audits it: `findings` such as tokens without expiry,
//! privilege-separation-off tokens of administrators, users without a
//! second factor, ACL entries naming principals or pools that no longer
//! exist. Pools with their members (guests, storages) when `kinds` names
//! them.
//! With `fail_on` it is a gate for CI or a scheduled job.
//!
//! Requests: one GET per kind read (`/access/users?full=1` gives every
//! user's tokens; `/access/tfa` their second factors), nothing per user;
//! pools, only when `kinds` names them, are `GET /pools` and one
//! `GET /pools?poolid=` per pool (the index has no members);
//! a login other than root@pam (or its token without privilege
//! separation) adds `GET /access/permissions`, to know what PVE hides from
//! it (and not judge what it cannot see).
//! Never a secret in the output: realms show only their type, default, TFA
//! type and comment; a user's `keys` (OATH secrets) never leave the module.
//!
//! ```yaml
//! - name: Audit access control; fail on anything high
//!   pve.access.pve_access_info:
//!     expiring_within: 14d
//!     fail_on: [high]
//!   register: audit
//! ```
//!
//! The pure parts: `plan` (options, parsing, the result) and `findings`
//! (the rules).

pub mod findings;
pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, Permissions};
use pve_api::{time, ApiError, ApiRequest, Client, ErrorKind};

use plan::{Inventory, Kind, Query};

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    Spec::new([
        Opt::list("kinds").choices(&Kind::ALL.map(Kind::name)),
        Opt::list("userids"),
        Opt::list("realms"),
        Opt::str("expiring_within").default("30d"),
        Opt::list("fail_on"),
    ])
    .with(pve_api::connection_options())
}

/// Sends `req` and parses its answer; an answer of another shape is an error.
fn read<T>(
    client: &Client,
    req: &ApiRequest,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<T, ApiError> {
    let data = client.send(req)?;
    parse(&data)
        .map_err(|e| ApiError::unexpected("GET", &req.path, format!("unexpected answer: {e}")))
}

/// Every kind the task asks for, one GET each.
fn inventory(m: &mut Module, client: &Client, q: &Query) -> Result<Inventory, ApiError> {
    let mut inv = Inventory::default();
    let wants = |k: Kind| q.kinds.contains(&k);
    if wants(Kind::Users) {
        let req = ApiRequest::get("/access/users").param("full", 1);
        inv.users = Some(read(client, &req, plan::accounts_from_json)?);
        // Servers that do not keep second factors (or do not let this login
        // see them) answer with an error: the users are still worth having.
        match read(client, &ApiRequest::get("/access/tfa"), plan::tfa_from_json) {
            Ok(tfa) => inv.tfa = Some(tfa),
            Err(e) if e.kind == ErrorKind::Http => m.warn(format!(
                "the server did not tell the users' second factors ({e}): users have no tfa, and user_no_tfa was not checked"
            )),
            Err(e) => return Err(e),
        }
    }
    if wants(Kind::Groups) {
        inv.groups = Some(access::list_groups(client)?);
    }
    if wants(Kind::Roles) {
        inv.roles = Some(access::list_roles(client)?);
    }
    if wants(Kind::Acl) {
        inv.acl = Some(access::list_acl(client)?);
    }
    if wants(Kind::Realms) {
        let req = ApiRequest::get("/access/domains");
        inv.realms = Some(read(client, &req, plan::realms_from_json)?);
    }
    if wants(Kind::Pools) {
        inv.pools = Some(pools(client)?);
    }
    Ok(inv)
}

/// Every pool the login may audit, with its members: `GET /pools` has no
/// members, so each pool is read too (the first read also tells the API
/// shape, as pve_pool does).
fn pools(client: &Client) -> Result<Vec<pve_pool::plan::Pool>, ApiError> {
    let mut out = Vec::new();
    let mut shape = None;
    for poolid in pve_pool::pool_ids(client)? {
        let pool = match shape {
            Some(shape) => pve_pool::read_pool(client, shape, &poolid)?,
            None => {
                let (known, pool) = pve_pool::read_pool_and_shape(client, &poolid)?;
                shape = Some(known);
                pool
            }
        };
        // One deleted since the index was read is left out.
        out.extend(pool);
    }
    out.sort_by(|a, b| a.poolid.cmp(&b.poolid));
    Ok(out)
}

/// What PVE hides from this login: one GET, unless it is root@pam (or its
/// token without privilege separation), which sees everything, or the task
/// reads nothing PVE filters.
fn hidden(client: &Client, q: &Query, inv: &Inventory) -> Result<Vec<&'static str>, ApiError> {
    let filtered = !plan::hidden(q, &Permissions::new()).is_empty();
    if !filtered || plan::sees_everything(client.identity().authid(), inv) {
        return Ok(Vec::new());
    }
    let perms = access::permissions(client, None, None)?;
    Ok(plan::hidden(q, &perms))
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let q = Query::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let mut inv = inventory(m, &client, &q)?;
    inv.hidden = hidden(&client, &q, &inv)?;
    if !inv.hidden.is_empty() {
        let skipped: Vec<&str> = findings::RULES
            .iter()
            .filter(|r| r.whole)
            .map(|r| r.kind)
            .collect();
        m.warn(format!(
            "PVE does not show this login {}: the result lacks them, and the findings that would name what it cannot see ({}) were not checked; audit as root@pam or with PVEAuditor on /",
            inv.hidden.join(", nor "),
            skipped.join(", ")
        ));
    }
    let now = time::now();
    let (found, checked) = findings::audit(&q, &inv, now);
    if let Some(msg) = plan::unchecked_gate(&q, &inv, &checked) {
        return Err(Failure::new(msg));
    }
    let mut out = plan::result(&q, &inv, &found, &checked, now);
    let matched = plan::gated(&q, &found);
    if !q.fail_on.is_empty() {
        let list: Vec<Value> = matched.iter().map(|f| f.to_json()).collect();
        out.insert("matched".into(), Value::Array(list));
    }
    if matched.is_empty() {
        return Ok(out);
    }
    let mut f = Failure::new(plan::gate_message(&matched));
    for (k, v) in out {
        if k != "changed" && k != "msg" {
            f = f.with(&k, v);
        }
    }
    Err(f)
}
