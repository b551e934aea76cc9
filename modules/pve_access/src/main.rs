//! `pve_access`: the Ansible module that converges the whole access
//! configuration of a Proxmox VE cluster (users, groups, roles, ACL
//! entries, API tokens, resource pools) to one declaration, in one task.
//!
//! Each item takes the options of its single module (`pve_user`,
//! `pve_group`, `pve_role`, `pve_acl`'s entries, `pve_token`, `pve_pool`)
//! with the same names and meanings, and is planned by that module's own
//! planner: what a single task would do, this does, with the same checks
//! and messages. The state is read once, one request per kind
//! (`/access/users?full=1` with the tokens, `/access/groups`,
//! `/access/roles`, `/access/acl`); the whole declaration is checked before
//! the first write (ids, privileges against the server's, references
//! between items, the self-lockout rule), and the writes go in the safe
//! order: groups, users, group members, roles, tokens, pools, ACL entries,
//! then removals in reverse. Tokens come before the ACL because PVE refuses
//! an entry for a token that does not exist yet; pools come before the
//! entries on them and go after.
//!
//! Pools are read only when the task declares or purges pools or grants on
//! `/pool/<id>`: `GET /pools` (ids only), one `GET /pools?poolid=` per
//! declared pool that exists (one to learn the API shape when none does),
//! one per undeclared pool for a purge, and `GET /cluster/resources` when a
//! pool gains members. An entry on a pool that will not exist is refused
//! before any write; check mode assumes an earlier task creates it, and
//! warns (PVE takes an entry for any pool id).
//!
//! `purge` is opt-in and scoped: undeclared users of named realms, tokens
//! of the declared users, custom roles, groups, pools, ACL entries under
//! named paths, principals or realms. Never root@pam, never a built-in
//! role, never a pool that holds guests or storages (a purge takes no
//! member out), and never what gives the login its access, unless
//! `allow_self_lockout`.
//!
//! Check mode is a drift report: `changes` lists every difference and every
//! purge, and nothing is written. A token created or regenerated hands over
//! its secret under `secrets[<full id>]` (`secret`, `api_token`).
//!
//! ```yaml
//! - name: Terraform's identity
//!   pve.access.pve_access:
//!     users: [{userid: terraform@pve, comment: Terraform}]
//!     roles: [{roleid: TerraformProv, privs: [VM.Allocate, VM.Audit]}]
//!     acl: [{path: /, roles: [TerraformProv], users: [terraform@pve]}]
//!     tokens: [{userid: terraform@pve, tokenid: tf, privsep: false}]
//!   no_log: true   # the result holds the new token's secret
//! ```

mod declare;
mod plan;

use ansible_module::{Failure, Kind, Map, Module, Opt, Spec, Value};
use pve_api::access;
use pve_api::{self_lockout, time, ApiError, ApiRequest, Client};
use pve_module::{apply, words, Progress, Resource, State, Step};

use declare::Declaration;
use plan::{Batch, Extra, Server, Settle};
use pve_pool::plan::Shape;

fn list_of(name: &'static str, items: Spec) -> Opt {
    Opt::new(name, Kind::List)
        .elements(Kind::Dict)
        .suboptions(items)
}

fn acl_item() -> Spec {
    Spec::new(pve_acl::entry_options()).with([
        Opt::str("path").required(),
        pve_acl::roles().required(),
        Opt::bool("propagate").default(true),
        State::option(),
    ])
}

fn purge_options() -> Spec {
    let acl = Spec::new([
        Opt::list("paths"),
        Opt::list("users"),
        Opt::list("groups"),
        Opt::list("tokens").not_secret(),
        Opt::list("realms"),
    ]);
    Spec::new([
        Opt::dict("users").suboptions(Spec::new([Opt::list("realms").required()])),
        Opt::bool("tokens").default(false),
        Opt::bool("groups").default(false),
        Opt::bool("roles").default(false),
        Opt::bool("pools").default(false),
        Opt::dict("acl").suboptions(acl),
    ])
}

fn spec() -> Spec {
    Spec::new([
        list_of("users", pve_user::options()),
        list_of("groups", pve_group::options()),
        list_of("roles", pve_role::options()),
        list_of("acl", acl_item()),
        // Token ids and settings, not their secrets.
        list_of("tokens", pve_token::options()).not_secret(),
        list_of("pools", pve_pool::options()),
        Opt::dict("purge").suboptions(purge_options()),
        self_lockout::option(),
    ])
    .with(pve_api::connection_options())
}

fn main() {
    ansible_module::run("pve_access", spec(), run)
}

/// The state, one request per kind.
fn read(client: &Client) -> Result<Server, ApiError> {
    Ok(Server {
        users: access::list_users_with_tokens(client)?,
        groups: access::list_groups(client)?,
        roles: access::list_roles(client)?,
        acl: access::list_acl(client)?,
        pools: None,
        now: time::now(),
    })
}

/// The pools, when [`plan::needs_pools`]: `GET /pools` (the ids), then
/// one `GET /pools?poolid=` per pool [`plan::pools_to_read`] names (the
/// first also tells the API shape; when none is read but pools are
/// declared, the first declared one is asked for that), and
/// `GET /cluster/resources` when a pool gains members.
fn read_pools(client: &Client, d: &Declaration) -> Result<Option<plan::Pools>, ApiError> {
    if !plan::needs_pools(d) {
        return Ok(None);
    }
    let ids = pve_pool::pool_ids(client)?;
    let mut wanted = plan::pools_to_read(d, &ids);
    if wanted.is_empty() {
        wanted.extend(d.pools.first().map(|p| p.poolid.clone()));
    }
    let mut pools = plan::Pools {
        shape: Shape::Param,
        ids,
        read: Vec::new(),
        cluster: None,
    };
    for (i, poolid) in wanted.iter().enumerate() {
        let pool = if i == 0 {
            let (shape, pool) = pve_pool::read_pool_and_shape(client, poolid)?;
            pools.shape = shape;
            pool
        } else {
            pve_pool::read_pool(client, pools.shape, poolid)?
        };
        pools.read.extend(pool);
    }
    if plan::needs_cluster(d, &pools) {
        pools.cluster = Some(pve_pool::read_cluster(client)?);
    }
    Ok(Some(pools))
}

/// What only some runs need.
fn read_extra(client: &Client, d: &Declaration, s: &Server) -> Result<Extra, ApiError> {
    let needs = plan::needs(d, s);
    let mut extra = Extra::default();
    if needs.realms {
        extra.realms = Some(access::realms(client)?);
    }
    for userid in needs.logins {
        let Some(pw) = d
            .users
            .iter()
            .find(|u| u.userid == userid)
            .and_then(|u| u.password.clone())
        else {
            continue;
        };
        extra
            .login_ok
            .insert(userid.clone(), client.check_login(&userid, &pw.0)?);
    }
    if needs.version {
        extra.version = Some(access::version(client)?);
    }
    Ok(extra)
}

fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let mut d = Declaration::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let mut server = read(&client)?;
    server.pools = read_pools(&client, &d)?;
    let mut warnings = plan::add_purged(&mut d, &server)?;
    plan::check_references(&d, &server)?;
    warnings.extend(plan::check_pool_paths(&d, &server, m.check_mode)?);
    let extra = read_extra(&client, &d, &server)?;
    let login = plan::Login {
        caller: pve_user::caller(&client, m),
        authid: client.identity().authid().to_string(),
        allow_self_lockout: m.params.bool("allow_self_lockout").unwrap_or(false),
    };
    let planned = plan::plan(&d, &server, &extra, &login, m.check_mode)?;
    self_lockout::enforce(&client, &m.params, &planned.lockout)?;
    for w in warnings.iter().chain(&planned.warnings) {
        m.warn(w.clone());
    }
    for batch in &planned.batches {
        if let Batch::Steps(steps) = batch {
            for step in steps {
                client.check_sendable(&step.request)?;
            }
        }
    }
    if !m.check_mode {
        send(m, &client, &planned.batches)?;
    }
    Ok(result(m, &planned))
}

/// Sends the batches in order, with one account of what was done and what
/// is left for the message of a failure half way.
fn send(m: &mut Module, client: &Client, batches: &[Batch]) -> Result<(), Failure> {
    let mut progress = Progress::default();
    for (i, batch) in batches.iter().enumerate() {
        progress.later = batches[i + 1..].iter().flat_map(batch_words).collect();
        match batch {
            Batch::Steps(steps) => apply(client, &Access, steps, &mut progress, |_, _| {
                Ok::<(), Failure>(())
            })?,
            Batch::Token(id, steps) => {
                let token = pve_token::TokenResource { id: id.clone() };
                let full = id.full();
                let place = ["secrets", full.as_str()];
                if pve_token::send::send(m, client, &token, steps, &mut progress, &place)? {
                    m.warn(format!(
                        "the answer to the creation of token '{full}' was lost in transit, so a new secret was issued at once"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn batch_words(batch: &Batch) -> Vec<String> {
    match batch {
        Batch::Steps(steps) => steps.iter().map(|s| words(&Access, s)).collect(),
        Batch::Token(id, steps) => {
            let token = pve_token::TokenResource { id: id.clone() };
            steps.iter().map(|s| words(&token, s)).collect()
        }
    }
}

fn result(m: &Module, planned: &plan::Planned) -> Map<String, Value> {
    let changes = planned.changes();
    let msg = match (changes.len(), m.check_mode) {
        (0, _) => "the access configuration matches the declaration".to_string(),
        (n, true) => format!("{n} object(s) differ from the declaration"),
        (n, false) => format!("{n} object(s) changed"),
    };
    let mut out = Map::new();
    out.insert("changed".into(), Value::Bool(planned.changed()));
    out.insert("msg".into(), Value::String(msg));
    out.insert(
        "changes".into(),
        Value::Array(changes.into_iter().map(Value::String).collect()),
    );
    if m.diff {
        // A user's token names are left out: its tokens are objects of their
        // own here, shown under `tokens`, and a new user's view would list
        // none while the same run creates them.
        let shown = |kind: &str, v: Value| match (kind, v) {
            ("users", Value::Object(mut user)) => {
                user.remove("tokens");
                time::expire_shown(Value::Object(user))
            }
            ("tokens", v) => time::expire_shown(v),
            (_, v) => v,
        };
        let text = |after| Value::String(ansible_module::diff_text(&planned.view(after, shown)));
        out.insert(
            "diff".into(),
            ansible_module::json!({"before": text(false), "after": text(true)}),
        );
    }
    out
}

/// Something done with a step's own module: its resource and its settle
/// check, whatever the kind.
trait WithModule {
    type Out;
    fn call<R: Resource>(self, resource: &R, settle: &R::Settle) -> Self::Out
    where
        R::Settle: Clone;
}

/// Calls `f` with the module that planned `settle`.
fn with_module<F: WithModule>(settle: &Settle, f: F) -> F::Out {
    match settle {
        Settle::User {
            userid,
            password,
            settle,
        } => f.call(
            &pve_user::UserResource {
                userid: userid.clone(),
                password: password.clone(),
            },
            settle,
        ),
        Settle::Group { groupid, settle } => f.call(
            &pve_group::GroupResource {
                groupid: groupid.clone(),
            },
            settle,
        ),
        Settle::Role { roleid, settle } => f.call(
            &pve_role::RoleResource {
                roleid: roleid.clone(),
            },
            settle,
        ),
        Settle::Pool {
            poolid,
            shape,
            settle,
        } => f.call(
            &pve_pool::PoolResource {
                poolid: poolid.clone(),
                shape: *shape,
            },
            settle,
        ),
        Settle::Acl(settle) => f.call(&pve_acl::Acl, settle),
    }
}

struct Settled<'a>(&'a Client);

impl WithModule for Settled<'_> {
    type Out = Result<bool, ApiError>;
    fn call<R: Resource>(self, resource: &R, settle: &R::Settle) -> Self::Out
    where
        R::Settle: Clone,
    {
        resource.settled(self.0, settle)
    }
}

/// What a message says of a step: what it needs, or what it is.
enum Words {
    Needs,
    Describe,
}

/// The step as its module sees it (the request with the module's settle
/// check), put in that module's words.
struct AsPlanned<'a>(&'a ApiRequest, Words);

impl WithModule for AsPlanned<'_> {
    type Out = Option<String>;
    fn call<R: Resource>(self, resource: &R, settle: &R::Settle) -> Self::Out
    where
        R::Settle: Clone,
    {
        let step = Step::new(self.0.clone(), settle.clone());
        match self.1 {
            Words::Needs => Some(resource.needs(&step)),
            Words::Describe => resource.describe(&step),
        }
    }
}

/// Every kind's writes but tokens', read back and explained by their own
/// module.
struct Access;

impl Resource for Access {
    type Settle = Settle;
    const KEY: &'static str = "access";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        with_module(settle, Settled(c))
    }

    fn needs(&self, step: &Step<Settle>) -> String {
        with_module(&step.settle, AsPlanned(&step.request, Words::Needs)).unwrap_or_default()
    }

    fn describe(&self, step: &Step<Settle>) -> Option<String> {
        with_module(&step.settle, AsPlanned(&step.request, Words::Describe))
    }
}
