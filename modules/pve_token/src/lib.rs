//! `pve_token`: the Ansible module that manages one API token of a Proxmox
//! VE user (`pveum user token add/modify/remove`, done idempotently through
//! the PVE API).
//!
//! A token's secret is shown by PVE once, when it is created or
//! regenerated; the module returns it then as `secret` and as `api_token`
//! (`user@realm!name=secret`, the form the `api_token` option and
//! Terraform's bpg provider take), and never recreates an existing token
//! just to get one. Without `no_log: true` on the task it warns that the
//! secret is in the result. `regenerate: true` (or `renew_before` with
//! `expire_in`, when due) issues a new secret: with PVE 9.1's `regenerate`
//! parameter, or on older releases by deleting and re-creating the token
//! and re-adding its ACL entries, which PVE drops with the token. It never
//! deletes the token it authenticates with, and regenerates it, turns its
//! privilege separation on or brings its expiry closer only with
//! `allow_self_lockout: true`.
//!
//! Requests: one `GET` of the token, so a run that changes nothing costs
//! one read; a creation also reads the user (it must exist; check mode
//! assumes a missing one is created by an earlier task); a regeneration
//! reads `GET /version` (and, before PVE 9.1, `GET /access/acl`). A creation
//! whose answer, with the secret, is lost in transit is settled by reading
//! the token back and then regenerated at once: no one can hold that secret.
//!
//! ```yaml
//! - name: Token for Terraform, with the permissions of its user
//!   pve.access.pve_token:
//!     userid: terraform@pve
//!     tokenid: terraform
//!     privsep: false
//!   register: token
//!   no_log: true   # the result holds the secret
//! ```

pub mod plan;
pub mod send;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access;
use pve_api::assume::{self, Kind, Missing};
use pve_api::ids::TokenId;
use pve_api::{self_lockout, time, ApiError, Client};
use pve_module::{result, Progress, Resource};

use plan::{Action, Desired, Server, Settle, State, Step};

/// The options of one object, also those of an item of pve_access.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("userid").aliases(&["user"]),
        Opt::str("tokenid")
            .required()
            .aliases(&["name", "token"])
            .not_secret(),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default("present"),
        Opt::str("comment"),
        Opt::str("expire"),
        Opt::bool("privsep").aliases(&["privilege_separation"]),
        Opt::bool("regenerate").default(false),
        Opt::str("renew_before"),
        Opt::str("expire_in"),
    ])
    .required_together(&["renew_before", "expire_in"])
    .mutually_exclusive(&["expire", "expire_in"])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options()
        .with([self_lockout::option()])
        .with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let d = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    self_lockout::enforce(&client, &m.params, &plan::early_lockout(&d))?;
    let current = access::get_token(&client, &d.id.userid, &d.id.name)?;
    if current.is_none() && d.state == State::Present {
        require_user(m, &client, &d)?;
    }
    let action = plan::decide(&d, current.as_ref(), time::now());
    self_lockout::enforce(&client, &m.params, &plan::lockout_changes(&d, &action))?;
    let server = if action.needs_version() {
        let regenerate = matches!(action, Action::Regenerate(_));
        let server = read_server(&client, &d.id, regenerate)?;
        if regenerate {
            plan::refuse_recreating_itself(&d, client.identity().authid(), &server)?;
        }
        Some(server)
    } else {
        None
    };
    let plan = plan::plan(&d, &action, server.as_ref(), m.check_mode)?;
    let token = TokenResource { id: d.id };
    let mut msg = plan.msg;
    // No token request carries a password, so local mode sends them all.
    if !m.check_mode
        && send::send(
            m,
            &client,
            &token,
            &plan.steps,
            &mut Progress::default(),
            &[],
        )?
    {
        msg.push_str(
            "; the answer to the creation was lost in transit, so a new secret was issued at once",
        );
    }
    Ok(result(
        m,
        &token,
        plan.changed,
        msg,
        plan.before,
        plan.after,
    ))
}

/// A token is created for an existing user; check mode assumes a missing
/// one is created by an earlier task. For root, a missing user also reads
/// as a missing token.
fn require_user(m: &mut Module, client: &Client, d: &Desired) -> Result<(), Failure> {
    let missing: Vec<Missing> = match access::get_user(client, &d.id.userid)? {
        None => vec![Missing::new(Kind::User, &d.id.userid)],
        Some(_) => vec![],
    };
    let assumed = assume::assume_created(m.check_mode, &missing, |_| {
        format!(
            "user '{}' does not exist: create it first (pve.access.pve_user), then its token '{}'",
            d.id.userid,
            d.full()
        )
    })?;
    for w in assumed {
        m.warn(w);
    }
    Ok(())
}

/// The server's release and, to regenerate without PVE 9.1's `regenerate`
/// (`acl`), the token's ACL entries.
pub fn read_server(client: &Client, id: &TokenId, acl: bool) -> Result<Server, ApiError> {
    let text = access::version(client)?;
    let version = access::release(&text).ok_or_else(|| {
        ApiError::unexpected("GET", "/version", format!("unknown PVE version '{text}'"))
    })?;
    let mut server = Server {
        version,
        token_acl: Vec::new(),
    };
    if acl && !server.has_regenerate() {
        let full = id.full();
        let entries = access::list_acl(client)?;
        server.token_acl = plan::own_entries(&full, &entries).cloned().collect();
    }
    Ok(server)
}

/// The token the task manages.
pub struct TokenResource {
    pub id: TokenId,
}

impl Resource for TokenResource {
    type Settle = Settle;
    const KEY: &'static str = "token";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        let token = || access::get_token(c, &self.id.userid, &self.id.name);
        Ok(match settle {
            Settle::Absent => token()?.is_none(),
            Settle::Exists => token()?.is_some(),
            Settle::Matches(want) => token()?.as_ref() == Some(want),
            Settle::Resend => false,
            Settle::Acl(want) => {
                let have = access::list_acl(c)?;
                want.iter().all(|e| have.contains(e))
            }
        })
    }

    fn needs(&self, step: &Step) -> String {
        match &step.settle {
            Settle::Acl(entries) => format!(
                "re-adding the ACL entries of token '{}' needs Permissions.Modify on '{}' (or, on /vms/ID, /storage/ID or /pool/ID, VM.Allocate, Datastore.Allocate or Pool.Allocate with every privilege of the role)",
                self.id.full(),
                entries.first().map_or("/", |e| e.path.as_str())
            ),
            _ => format!(
                "managing the tokens of {} needs User.Modify on its groups (/access/groups), unless you are that user",
                self.id.userid
            ),
        }
    }

    /// An ACL step as `re-add ACL entry /vms PVEVMUser (propagate 1) of
    /// token 'joe@pve!ci'`; the others say enough as their request.
    fn describe(&self, step: &Step) -> Option<String> {
        let Settle::Acl(entries) = &step.settle else {
            return None;
        };
        let param = |key| step.request.value(key).unwrap_or_default();
        Some(format!(
            "re-add ACL entr{} {} {} (propagate {}) of token '{}'",
            if entries.len() == 1 { "y" } else { "ies" },
            param("path"),
            param("roles"),
            param("propagate"),
            self.id.full()
        ))
    }

    fn shown(&self, view: Value) -> Value {
        time::expire_shown(view)
    }
}
