//! `pve_acl`: the Ansible module that grants and revokes Proxmox VE roles on
//! ACL paths for users, groups and API tokens (`pveum acl modify/delete`,
//! done idempotently through the PVE API).
//!
//! A task names one path (`path`, `roles`, `users`/`groups`/`tokens`,
//! `propagate`, `state`) or many `entries`. Paths are normalised as PVE
//! does and checked against its allowed ACL paths; roles and principals
//! must exist; all of it is checked before the first write, also in check
//! mode, so a task with a mistake changes nothing. Only a role or principal
//! that does not exist yet is, in check mode, assumed to be created by an
//! earlier task (`pve_api::assume`): predicted, with a warning each. The
//! roles of an entry whose only principal is root@pam are checked too. `exclusive: true` makes
//! every principal the task names hold exactly the listed entries (its
//! other entries, on any path, are removed); principals not named are never
//! touched. Removing the entries that are the module's own access (those of
//! the login's user and its groups; for a token, its owner's and, with
//! privilege separation, its own), or granting them `NoAccess`, is refused
//! unless `allow_self_lockout: true`.
//!
//! Requests: one `GET /access/acl`; a run that changes nothing stops there
//! (a root@pam-only task also reads `GET /access/roles`). Removing a
//! group's entry, or a token's own, reads the login's groups and privilege
//! separation (`GET /access/users?full=1`) to judge whose it is.
//! Otherwise the lists needed to check the names (`GET /access/roles`, and
//! `/access/users?full=1` / `/access/groups` when users, tokens or groups
//! are written; a name missing from a list, which PVE filters by privilege,
//! is read directly), then the fewest `PUT /access/acl`: one request sets every
//! role of a list for every principal of a list on one path with one
//! propagate flag, so the changes are grouped into such rectangles, grants
//! before removals.
//!
//! ```yaml
//! - name: Operators on two VMs, auditors read-only everywhere
//!   pve.access.pve_acl:
//!     entries:
//!       - {path: /vms/100, roles: [PVEVMUser], groups: [operators]}
//!       - {path: /vms/101, roles: [PVEVMUser], groups: [operators]}
//!       - {path: /, roles: [PVEAuditor], groups: [auditors]}
//! ```

pub mod plan;

use std::collections::BTreeSet;

use ansible_module::{Failure, Kind, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, PrincipalKind};
use pve_api::{self_lockout, ApiError, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Desired, Known, Plan, Principal, Settle};

/// `roles`, the roles of an ACL entry.
pub fn roles() -> Opt {
    Opt::list("roles").aliases(&["role", "roleid"])
}

/// Who an entry is for and which roles it gives, also in an item of pve_access.
pub fn entry_options() -> Vec<Opt> {
    vec![
        roles(),
        Opt::list("users"),
        Opt::list("groups"),
        // Token ids, not their secrets.
        Opt::list("tokens").not_secret(),
    ]
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    let entry = Spec::new(entry_options()).with([
        Opt::str("path").required(),
        // Each entry names its roles; the task's are required only with its path.
        roles().required(),
        // Without them an entry takes the task's propagate and state.
        Opt::bool("propagate"),
        Opt::str("state").choices(&["present", "absent"]),
    ]);
    Spec::new([Opt::str("path")])
        .with(entry_options())
        .with([
            Opt::bool("propagate").default(true),
            State::option(),
            Opt::new("entries", Kind::List)
                .elements(Kind::Dict)
                .suboptions(entry),
            Opt::bool("exclusive").default(false),
            self_lockout::option(),
        ])
        .required_one_of(&["path", "entries"])
        .mutually_exclusive(&["path", "entries"])
        .mutually_exclusive(&["entries", "roles"])
        .mutually_exclusive(&["entries", "users"])
        .mutually_exclusive(&["entries", "groups"])
        .mutually_exclusive(&["entries", "tokens"])
        .with(pve_api::connection_options())
}

/// Reads what the plan's names must be checked against: only the lists of
/// the kinds it writes.
fn known(client: &Client, d: &Desired, plan: &Plan) -> Result<Known, ApiError> {
    let lists = plan::lists_to_read(d, plan);
    let mut k = Known::default();
    if lists.roles {
        k.roles = Some(
            access::list_roles(client)?
                .into_iter()
                .map(|r| r.roleid)
                .collect(),
        );
    }
    if lists.users {
        let list = access::list_users(client)?;
        let tokens: BTreeSet<String> = list
            .iter()
            .flat_map(|u| u.tokens.iter().map(move |t| format!("{}!{t}", u.userid)))
            .collect();
        k.tokens = Some(tokens);
        k.users = Some(list.into_iter().map(|u| u.userid).collect());
    }
    if lists.groups {
        k.groups = Some(
            access::list_groups(client)?
                .into_iter()
                .map(|g| g.groupid)
                .collect(),
        );
    }
    confirm_unlisted(client, plan, &mut k)?;
    Ok(k)
}

/// PVE lists only the users and groups a login may administer, so a login
/// that delegates (Permissions.Modify on /vms, no Sys.Audit) does not see
/// most of them. A name missing from a list is read directly: PVE answers
/// "no such user" before its privilege check, so a real typo is still
/// caught; one this login may not read either is left for PVE to judge.
fn confirm_unlisted(client: &Client, plan: &Plan, k: &mut Known) -> Result<(), ApiError> {
    for step in &plan.steps {
        for pr in &step.settle.principals {
            let Some(list) = k.principals_mut(pr.kind).filter(|l| !l.contains(&pr.id)) else {
                continue;
            };
            match exists(client, pr) {
                Ok(true) => {
                    list.insert(pr.id.clone());
                }
                Ok(false) => {}
                Err(e) if e.status == Some(403) => {
                    list.insert(pr.id.clone());
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn exists(client: &Client, pr: &Principal) -> Result<bool, ApiError> {
    match pr.kind {
        PrincipalKind::User => access::get_user(client, &pr.id).map(|u| u.is_some()),
        PrincipalKind::Group => access::get_group(client, &pr.id).map(|g| g.is_some()),
        PrincipalKind::Token => match pr.id.split_once('!') {
            Some((user, name)) => access::get_token(client, user, name).map(|t| t.is_some()),
            None => Ok(false),
        },
    }
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    for w in &desired.warnings {
        m.warn(w.clone());
    }
    let client = Client::connect(&m.params)?;
    let current = access::list_acl(&client)?;
    let plan = plan::plan(&desired, &current, m.check_mode)?;
    if plan::lists_to_read(&desired, &plan).roles {
        let known = known(&client, &desired, &plan)?;
        for w in plan::check_names(&desired, &plan, &known, m.check_mode)? {
            m.warn(w);
        }
    }
    self_lockout::enforce(&client, &m.params, &plan::lockout_changes(&current, &plan))?;
    let newer = plan::newer_paths(&plan);
    if !newer.is_empty() {
        plan::check_versions(&newer, &access::version(&client)?)?;
    }
    let changes = plan::changes(&current, &plan);
    let mut out = carry_out(m, &client, &Acl, plan)?;
    out.insert("changes".into(), Value::Array(changes));
    Ok(out)
}

/// The server's ACL, which every change of the module is read back from.
pub struct Acl;

impl Resource for Acl {
    type Settle = Settle;
    const KEY: &'static str = "acl";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        Ok(settle.met_by(&access::list_acl(c)?))
    }

    fn needs(&self, step: &Step<Settle>) -> String {
        format!(
            "changing ACL entries on '{}' needs Permissions.Modify there (or, to delegate roles on /vms/ID, /storage/ID or /pool/ID, VM.Allocate, Datastore.Allocate or Pool.Allocate with every privilege of the role)",
            step.settle.path
        )
    }

    fn describe(&self, step: &Step<Settle>) -> Option<String> {
        Some(step.settle.describe())
    }
}
