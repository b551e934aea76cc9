//! The pure part of pve_access: the declaration's objects against the state
//! read once, each planned by its single module's planner, and their writes
//! put in the order that is safe to send. No I/O here.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{Map, Value};
use pve_api::access::{AclEntry, Group, Role, Token, User};
use pve_api::assume::{self, Missing};
use pve_api::ids::{self, TokenId};
use pve_api::self_lockout::Change;
use pve_module::{Refused, State};
use pve_pool::plan::{Cluster, Pool, Shape};

use crate::declare::{absent, ids_in, Declaration, Declared};

/// What was read from the server: one request per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Server {
    /// Users with their tokens.
    pub users: Vec<(User, Vec<Token>)>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub acl: Vec<AclEntry>,
    /// Read only when [`needs_pools`] says so.
    pub pools: Option<Pools>,
    /// Epoch seconds now.
    pub now: i64,
}

/// The pools, as far as the run needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pools {
    pub shape: Shape,
    /// Every pool the login sees (`GET /pools`, which has no members).
    pub ids: Vec<String>,
    /// Those read one by one with their members ([`pools_to_read`]).
    pub read: Vec<Pool>,
    /// The cluster's guests and storages, read when a pool gains members.
    pub cluster: Option<Cluster>,
}

impl Pools {
    fn get(&self, poolid: &str) -> Option<&Pool> {
        self.read.iter().find(|p| p.poolid == poolid)
    }
}

/// The pool an ACL path grants on (`/pool/a/b` -> `a/b`).
fn pool_of_path(path: &str) -> Option<&str> {
    path.strip_prefix("/pool/").filter(|id| !id.is_empty())
}

/// Whether the run reads the pools: it declares or purges some, or grants
/// on one (which must exist). Other runs make no pool request.
pub fn needs_pools(d: &Declaration) -> bool {
    !d.pools.is_empty()
        || d.purge.pools
        || d.acl.as_ref().is_some_and(|a| {
            a.items
                .iter()
                .any(|i| i.present && pool_of_path(&i.path).is_some())
        })
}

/// The pools read one by one, with their members, among `ids` (those that
/// exist): the declared ones, and for a purge the undeclared ones (a pool
/// that holds anything is never purged).
pub fn pools_to_read(d: &Declaration, ids: &[String]) -> Vec<String> {
    let declared: BTreeSet<String> = d.pools.iter().map(Declared::id).collect();
    ids.iter()
        .filter(|id| declared.contains(*id) || d.purge.pools)
        .cloned()
        .collect()
}

/// Whether the run reads the cluster's guests and storages: a declared
/// pool gains members (they must exist; a guest may be in another pool).
pub fn needs_cluster(d: &Declaration, pools: &Pools) -> bool {
    d.pools
        .iter()
        .any(|p| p.needs_cluster(pools.get(&p.poolid)))
}

impl Server {
    fn user(&self, userid: &str) -> Option<&User> {
        self.users
            .iter()
            .map(|(u, _)| u)
            .find(|u| u.userid == userid)
    }

    fn token(&self, id: &TokenId) -> Option<&Token> {
        self.users
            .iter()
            .find(|(u, _)| u.userid == id.userid)
            .and_then(|(_, tokens)| tokens.iter().find(|t| t.tokenid == id.name))
    }

    fn group(&self, groupid: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.groupid == groupid)
    }

    fn role(&self, roleid: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.roleid == roleid)
    }

    /// The server's privilege names: those of `Administrator`, which has
    /// them all.
    fn privileges(&self) -> Vec<String> {
        self.role("Administrator")
            .map(|r| r.privs.clone())
            .unwrap_or_default()
    }
}

/// What only some runs need, read by the caller when [`needs`] says so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extra {
    /// Realm ids (a user is created).
    pub realms: Option<Vec<String>>,
    /// Whether each user with `update_password: always` can log in with its
    /// password.
    pub login_ok: BTreeMap<String, bool>,
    /// The PVE version text (a token is regenerated or updated in a way
    /// that depends on it, or an ACL path needs a newer release).
    pub version: Option<String>,
}

/// The reads a run needs besides [`Server`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub realms: bool,
    /// Users whose login is tried with their password.
    pub logins: Vec<String>,
    pub version: bool,
}

pub fn needs(d: &Declaration, s: &Server) -> Needs {
    Needs {
        realms: d.users.iter().any(|u| u.needs_realms(s.user(&u.userid))),
        logins: d
            .users
            .iter()
            .filter(|u| u.needs_login_check(s.user(&u.userid)))
            .map(|u| u.userid.clone())
            .collect(),
        version: d
            .tokens
            .iter()
            .any(|t| pve_token::plan::decide(t, s.token(&t.id), s.now).needs_version())
            || d.acl.as_ref().is_some_and(|a| {
                a.items
                    .iter()
                    .any(|i| i.present && ids::acl_path_min_version(&i.path).is_some())
            }),
    }
}

/// Adds to the declaration, as `state: absent` items, what its purge
/// scopes own and it does not declare (the ACL scope is the ACL planner's).
/// Never root@pam or its tokens, never a built-in role, never a pool that
/// holds something; returns the warnings for the pools left.
pub fn add_purged(d: &mut Declaration, s: &Server) -> Result<Vec<String>, Refused> {
    let declared_users: BTreeSet<String> = d.users.iter().map(|u| u.userid.clone()).collect();
    let present_users = ids_in(&d.users, State::Present);
    let declared_tokens: BTreeSet<String> = d.tokens.iter().map(|t| t.full()).collect();
    let mut users = Vec::new();
    let mut tokens = Vec::new();
    for (user, user_tokens) in &s.users {
        let id = &user.userid;
        if id == "root@pam" {
            continue;
        }
        let realm = id.rsplit_once('@').map(|(_, r)| r).unwrap_or_default();
        if !declared_users.contains(id) && d.purge.user_realms.iter().any(|r| r == realm) {
            users.push(absent("userid", id));
        }
        if d.purge.tokens && present_users.contains(id) {
            for t in user_tokens {
                let full = t.full_tokenid();
                if !declared_tokens.contains(&full) {
                    tokens.push(absent("tokenid", &full));
                }
            }
        }
    }
    let purged = |e: String| Refused(format!("purge: {e}"));
    for p in users {
        d.users
            .push(pve_user::plan::Desired::from_params(&p).map_err(purged)?);
    }
    for p in tokens {
        d.tokens
            .push(pve_token::plan::Desired::from_params(&p).map_err(purged)?);
    }
    if d.purge.groups {
        let declared: BTreeSet<String> = d.groups.iter().map(|g| g.groupid.clone()).collect();
        for g in s.groups.iter().filter(|g| !declared.contains(&g.groupid)) {
            let p = absent("groupid", &g.groupid);
            d.groups
                .push(pve_group::plan::Desired::from_params(&p).map_err(purged)?);
        }
    }
    if d.purge.roles {
        let declared: BTreeSet<String> = d.roles.iter().map(|r| r.roleid.clone()).collect();
        for r in s.roles.iter().filter(|r| {
            !r.special && !ids::builtin_role(&r.roleid) && !declared.contains(&r.roleid)
        }) {
            let p = absent("roleid", &r.roleid);
            d.roles
                .push(pve_role::plan::Desired::from_params(&p).map_err(purged)?);
        }
    }
    let mut warnings = Vec::new();
    if let (true, Some(pools)) = (d.purge.pools, &s.pools) {
        let (gone, left) = purged_pools(d, pools);
        for id in gone {
            let p = absent("poolid", &id);
            d.pools
                .push(pve_pool::plan::Desired::from_params(&p).map_err(purged)?);
        }
        warnings = left;
    }
    Ok(warnings)
}

/// The undeclared pools a purge removes, and a warning for each it leaves:
/// one that holds guests or storages (PVE deletes only empty pools, and
/// taking members out changes who may use them: that is for a declared
/// pool's `vms`/`storage`), or one above a pool that stays (PVE deletes
/// only a pool without sub-pools).
fn purged_pools(d: &Declaration, pools: &Pools) -> (Vec<String>, Vec<String>) {
    let declared: BTreeSet<String> = d.pools.iter().map(Declared::id).collect();
    let present = ids_in(&d.pools, State::Present);
    let mut kept = present.clone();
    let mut warnings = Vec::new();
    let undeclared = pools.ids.iter().filter(|id| !declared.contains(*id));
    for id in undeclared.clone() {
        if let Some(p) = pools
            .get(id)
            .filter(|p| !p.vms.is_empty() || !p.storage.is_empty())
        {
            kept.insert(id.clone());
            warnings.push(format!(
                "purge: pool '{id}' is not declared but holds {}; it stays (a purge never takes members out: declare it, or empty it with pve.access.pve_pool and remove_members: true)",
                pve_pool::plan::members_words(&p.vms, &p.storage)
            ));
        }
    }
    // Deepest first, so that a pool above a kept one is known kept.
    let mut by_depth: Vec<&String> = undeclared.filter(|id| !kept.contains(*id)).collect();
    by_depth.sort_by_key(|id| std::cmp::Reverse(id.matches('/').count()));
    let mut gone = Vec::new();
    for id in by_depth {
        let prefix = format!("{id}/");
        let below: Vec<&String> = kept.iter().filter(|k| k.starts_with(&prefix)).collect();
        // The parent of a declared pool stays as a matter of course.
        if let Some(left) = below.iter().find(|k| !present.contains(**k)) {
            warnings.push(format!(
                "purge: pool '{id}' is not declared but holds pool '{left}', which stays; so does it"
            ));
        }
        if below.is_empty() {
            gone.push(id.clone());
        } else {
            kept.insert(id.clone());
        }
    }
    (gone, warnings)
}

/// What exists after the run for the references' sake: on the server or
/// declared present, and not declared absent.
fn after_run<T: Declared>(
    on_server: impl Iterator<Item = String>,
    items: &[T],
) -> BTreeSet<String> {
    let gone = ids_in(items, State::Absent);
    on_server
        .chain(ids_in(items, State::Present))
        .filter(|id| !gone.contains(id))
        .collect()
}

/// Every reference between objects must hold after the run: a user's
/// groups, a group's members, a token's user, an ACL entry's roles and
/// principals exist on the server or are declared in the task, and none is
/// declared absent. Checked as a whole, before the first write, also in
/// check mode (nothing is assumed: the declaration is all there is).
pub fn check_references(d: &Declaration, s: &Server) -> Result<(), Refused> {
    let users = after_run(s.users.iter().map(|(u, _)| u.userid.clone()), &d.users);
    let groups = after_run(s.groups.iter().map(|g| g.groupid.clone()), &d.groups);
    let roles = after_run(s.roles.iter().map(|r| r.roleid.clone()), &d.roles);
    let owned = s
        .users
        .iter()
        .flat_map(|(_, ts)| ts.iter().map(Token::full_tokenid));
    let tokens: BTreeSet<String> = after_run(owned, &d.tokens)
        .into_iter()
        .filter(|t| t.split_once('!').is_some_and(|(u, _)| users.contains(u)))
        .collect();

    let mut missing = Vec::new();
    let mut need = |what: &str, id: &str, have: &BTreeSet<String>, by: String| {
        if !have.contains(id) {
            missing.push(format!("{by}: {what} '{id}'"));
        }
    };
    for u in d.users.iter().filter(|u| u.state == State::Present) {
        for g in u.groups.iter().flatten() {
            need("group", g, &groups, format!("user '{}'", u.userid));
        }
    }
    for g in d.groups.iter().filter(|g| g.state == State::Present) {
        for m in g.members.iter().flatten() {
            need("user", m, &users, format!("group '{}'", g.groupid));
        }
    }
    for t in d.tokens.iter().filter(|t| t.state == State::Present) {
        need(
            "user",
            &t.id.userid,
            &users,
            format!("token '{}'", t.full()),
        );
    }
    if let Some(pools) = &s.pools {
        let after = pools_after_run(d, pools);
        for p in d.pools.iter().filter(|p| p.state == State::Present) {
            if let Some((parent, _)) = p.poolid.rsplit_once('/') {
                need("pool", parent, &after, format!("pool '{}'", p.poolid));
            }
        }
    }
    for item in d.acl.iter().flat_map(|a| &a.items).filter(|i| i.present) {
        let by = || format!("ACL entry on '{}'", item.path);
        for r in &item.roles {
            need("role", r, &roles, by());
        }
        for p in &item.principals {
            let (what, have) = match p.kind {
                pve_api::access::PrincipalKind::User => ("user", &users),
                pve_api::access::PrincipalKind::Group => ("group", &groups),
                pve_api::access::PrincipalKind::Token => ("token", &tokens),
            };
            need(what, &p.id, have, by());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Refused(format!(
        "the declaration references what neither exists nor is declared present in it (or is declared absent): {}. Declare each under users, groups, roles, tokens or pools, or fix the name. Nothing was changed",
        missing.join("; ")
    )))
}

/// The pools after the run: on the server or declared present, and not
/// declared absent (purged ones included).
fn pools_after_run(d: &Declaration, pools: &Pools) -> BTreeSet<String> {
    after_run(pools.ids.iter().cloned(), &d.pools)
}

/// An ACL entry on `/pool/<id>` needs the pool after the run: PVE takes
/// the entry for a pool that does not exist, and it would grant nothing.
/// A real run refuses before any write; check mode assumes an earlier task
/// creates the pool, and warns (`pve_api::assume`).
pub fn check_pool_paths(
    d: &Declaration,
    s: &Server,
    check_mode: bool,
) -> Result<Vec<String>, Refused> {
    let (Some(acl), Some(pools)) = (&d.acl, &s.pools) else {
        return Ok(Vec::new());
    };
    let after = pools_after_run(d, pools);
    let missing: Vec<Missing> = acl
        .items
        .iter()
        .filter(|i| i.present)
        .filter_map(|i| pool_of_path(&i.path))
        .filter(|id| !after.contains(*id))
        .map(|id| Missing::new(assume::Kind::Pool, id))
        .collect();
    assume::assume_created(check_mode, &missing, |missing| {
        let names: Vec<String> = missing.iter().map(Missing::name).collect();
        format!(
            "ACL entries on /pool/<id> name {} that neither exists nor is declared present under pools (or is declared absent): declare it, create it first with pve.access.pve_pool, or fix the path. Nothing was changed",
            names.join(", ")
        )
    })
    .map_err(Refused)
}

/// One write, and how to tell it happened, of any kind but tokens (whose
/// writes bring secrets and go through pve_token's own sending).
#[derive(Clone, Debug, PartialEq)]
pub enum Settle {
    User {
        userid: String,
        password: Option<pve_user::plan::Password>,
        settle: pve_user::plan::Settle,
    },
    Group {
        groupid: String,
        settle: pve_group::plan::Settle,
    },
    Role {
        roleid: String,
        settle: pve_role::plan::Settle,
    },
    Pool {
        poolid: String,
        shape: Shape,
        settle: pve_pool::plan::Settle,
    },
    Acl(pve_acl::plan::Settle),
}

pub type Step = pve_module::Step<Settle>;

/// `steps` of a module's plan, with the settle check that says which
/// module planned them.
fn wrapped<S>(steps: Vec<pve_module::Step<S>>, settle: impl Fn(S) -> Settle) -> Vec<Step> {
    steps
        .into_iter()
        .map(|s| pve_module::Step::new(s.request, settle(s.settle)))
        .collect()
}

/// Writes sent together, in the run's order.
#[derive(Clone, Debug, PartialEq)]
pub enum Batch {
    Steps(Vec<Step>),
    Token(TokenId, Vec<pve_token::plan::Step>),
}

/// The safe order: what others reference comes first (groups before the
/// users joining them, users before their tokens, tokens before the ACL
/// entries naming them: PVE refuses an entry for a token that does not
/// exist; pools before the entries on them), and removals come last, in
/// reverse (a pool once the entries on it are gone: deleting a top-level
/// pool takes them with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Groups,
    Users,
    /// Group members are added once the users exist.
    Members,
    Roles,
    Tokens,
    Pools,
    Acl,
    PoolsRemoved,
    TokensRemoved,
    RolesRemoved,
    UsersRemoved,
    GroupsRemoved,
}

/// One declared (or purged) object's plan, as the result reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// `users`, `groups`, `roles`, `tokens`, `pools` or `acl`.
    pub kind: &'static str,
    /// The object's id (`""` for the ACL).
    pub id: String,
    pub changed: bool,
    pub msg: String,
    pub before: Value,
    pub after: Value,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub parts: Vec<Part>,
    pub batches: Vec<Batch>,
    /// What the run takes away, for the self-lockout rule.
    pub lockout: Vec<Change>,
    pub warnings: Vec<String>,
}

/// Who the module authenticates as, for what only the login itself cannot
/// have done to it.
#[derive(Clone, Debug)]
pub struct Login {
    pub caller: pve_user::plan::Caller,
    /// `user@realm` or a full token id.
    pub authid: String,
    pub allow_self_lockout: bool,
}

/// Plans every object with its module's planner against the state read
/// once; refuses, before any write, what any of them refuses.
pub fn plan(
    d: &Declaration,
    s: &Server,
    extra: &Extra,
    login: &Login,
    check_mode: bool,
) -> Result<Planned, Refused> {
    let mut out = Planned {
        parts: Vec::new(),
        batches: Vec::new(),
        lockout: Vec::new(),
        warnings: Vec::new(),
    };
    let mut writes: Vec<(Phase, Batch)> = Vec::new();
    let removed = |st: State, present: Phase, gone: Phase| {
        if st == State::Absent {
            gone
        } else {
            present
        }
    };

    // Users that the task creates count as existing for the groups' members.
    let mut known_users: Vec<User> = s.users.iter().map(|(u, _)| u.clone()).collect();
    for u in d.users.iter().filter(|u| u.state == State::Present) {
        if s.user(&u.userid).is_none() {
            known_users.push(User::new(&u.userid));
        }
    }
    for g in &d.groups {
        let current = s.group(&g.groupid);
        out.lockout
            .extend(pve_group::plan::lockout_changes(g, current));
        let users = g.needs_users(current).then_some(known_users.as_slice());
        let mut p = pve_group::plan::plan(g, current, users, check_mode)?;
        let steps = wrapped(std::mem::take(&mut p.steps), |settle| Settle::Group {
            groupid: g.groupid.clone(),
            settle,
        });
        let (members, own): (Vec<_>, Vec<_>) = steps.into_iter().partition(|step| {
            matches!(
                step.settle,
                Settle::Group {
                    settle: pve_group::plan::Settle::Member { .. },
                    ..
                }
            )
        });
        writes.push((
            removed(g.state, Phase::Groups, Phase::GroupsRemoved),
            Batch::Steps(own),
        ));
        writes.push((Phase::Members, Batch::Steps(members)));
        out.add("groups", &g.groupid, p);
    }

    let group_ids: Vec<String> = s
        .groups
        .iter()
        .map(|g| g.groupid.clone())
        .chain(ids_in(&d.groups, State::Present))
        .collect();
    for u in &d.users {
        let current = pve_user::plan::Current {
            user: s.user(&u.userid).cloned(),
            realms: extra.realms.clone(),
            groups: Some(group_ids.clone()),
            login_ok: extra.login_ok.get(&u.userid).copied(),
            now: s.now,
        };
        out.lockout
            .extend(pve_user::plan::lockout_changes(u, &current));
        let mut p = pve_user::plan::plan(u, &current, &login.caller, check_mode)?;
        let steps = wrapped(std::mem::take(&mut p.steps), |settle| Settle::User {
            userid: u.userid.clone(),
            password: u.password.clone(),
            settle,
        });
        let phase = removed(u.state, Phase::Users, Phase::UsersRemoved);
        writes.push((phase, Batch::Steps(steps)));
        out.add("users", &u.userid, p);
    }

    let valid = s.privileges();
    for r in &d.roles {
        let current = s.role(&r.roleid);
        let mut p = match pve_role::plan::plan(r, current, &valid, check_mode) {
            Ok(p) => p,
            Err(pve_role::plan::Refusal::Refused(refused)) => {
                return Err(Refused(format!("role '{}': {refused}", r.roleid)))
            }
            Err(pve_role::plan::Refusal::UnknownPrivs(unknown)) => {
                return Err(Refused(pve_role::plan::unknown_privs_message(
                    &r.roleid,
                    &unknown,
                    extra.version.as_deref(),
                    valid.len(),
                )))
            }
        };
        out.lockout
            .extend(pve_role::plan::lockout_changes(current, &p));
        let steps = wrapped(std::mem::take(&mut p.steps), |settle| Settle::Role {
            roleid: r.roleid.clone(),
            settle,
        });
        let phase = removed(r.state, Phase::Roles, Phase::RolesRemoved);
        writes.push((phase, Batch::Steps(steps)));
        out.add("roles", &r.roleid, p);
    }

    let version = match &extra.version {
        Some(text) => Some(
            pve_api::access::release(text)
                .ok_or_else(|| Refused(format!("unknown PVE version '{text}'")))?,
        ),
        None => None,
    };
    for t in &d.tokens {
        let action = pve_token::plan::decide(t, s.token(&t.id), s.now);
        // pve_token judges these in two calls; one change is judged once.
        for change in pve_token::plan::early_lockout(t)
            .into_iter()
            .chain(pve_token::plan::lockout_changes(t, &action))
        {
            if !out.lockout.contains(&change) {
                out.lockout.push(change);
            }
        }
        let server = version.map(|version| pve_token::plan::Server {
            version,
            token_acl: pve_token::plan::own_entries(&t.full(), &s.acl)
                .cloned()
                .collect(),
        });
        // Without allow_self_lockout the self-lockout rule refuses this
        // first, with the option to name; with it, the recreation is what
        // cannot be allowed.
        if let (pve_token::plan::Action::Regenerate(_), Some(server), true) =
            (&action, &server, login.allow_self_lockout)
        {
            pve_token::plan::refuse_recreating_itself(t, &login.authid, server)?;
        }
        let mut p = pve_token::plan::plan(t, &action, server.as_ref(), check_mode)?;
        let phase = removed(t.state, Phase::Tokens, Phase::TokensRemoved);
        writes.push((
            phase,
            Batch::Token(t.id.clone(), std::mem::take(&mut p.steps)),
        ));
        out.add("tokens", &t.full(), p);
    }

    if let Some(pools) = &s.pools {
        plan_pools(d, s, pools, check_mode, &mut out, &mut writes)?;
    }

    if let Some(a) = &d.acl {
        let mut p = pve_acl::plan::plan(a, &s.acl, check_mode)?;
        let newer = pve_acl::plan::newer_paths(&p);
        if let (false, Some(text)) = (newer.is_empty(), &extra.version) {
            pve_acl::plan::check_versions(&newer, text)?;
        }
        out.lockout
            .extend(pve_acl::plan::lockout_changes(&s.acl, &p));
        let steps = wrapped(std::mem::take(&mut p.steps), Settle::Acl);
        writes.push((Phase::Acl, Batch::Steps(steps)));
        out.warnings.extend(a.warnings.iter().cloned());
        out.add("acl", "", p);
    }

    writes.sort_by_key(|(phase, _)| *phase);
    for (_, w) in writes {
        match (w, out.batches.last_mut()) {
            (Batch::Steps(steps), _) if steps.is_empty() => {}
            (Batch::Token(_, steps), _) if steps.is_empty() => {}
            (Batch::Steps(steps), Some(Batch::Steps(last))) => last.extend(steps),
            (Batch::Steps(steps), _) => out.batches.push(Batch::Steps(steps)),
            (Batch::Token(id, steps), _) => out.batches.push(Batch::Token(id, steps)),
        }
    }
    Ok(out)
}

/// The pools in the order PVE allows: parents created before their
/// sub-pools, sub-pools deleted before their parents.
fn plan_pools(
    d: &Declaration,
    s: &Server,
    pools: &Pools,
    check_mode: bool,
    out: &mut Planned,
    writes: &mut Vec<(Phase, Batch)>,
) -> Result<(), Refused> {
    let gone = ids_in(&d.pools, State::Absent);
    // What holds sub-pools after the run: those that exist and stay, and
    // those the task creates.
    let staying: Vec<String> = pools
        .ids
        .iter()
        .cloned()
        .chain(ids_in(&d.pools, State::Present))
        .filter(|id| !gone.contains(id))
        .collect();
    let depth = |p: &&pve_pool::plan::Desired| {
        let levels = p.poolid.matches('/').count() as i64;
        match p.state {
            State::Present => (0, levels),
            State::Absent => (1, -levels),
        }
    };
    let mut ordered: Vec<&pve_pool::plan::Desired> = d.pools.iter().collect();
    ordered.sort_by_key(depth);
    for p in ordered {
        let current = pools.get(&p.poolid);
        let subpools = if p.state == State::Absent {
            pve_pool::plan::subpools(&p.poolid, &staying)
        } else {
            Vec::new()
        };
        let mut planned = pve_pool::plan::plan(
            p,
            current,
            pools.cluster.as_ref(),
            &subpools,
            pools.shape,
            check_mode,
        )?;
        // PVE deletes a top-level pool's ACL entries with it.
        if p.state == State::Absent && planned.changed && !p.poolid.contains('/') {
            let path = format!("/pool/{}", p.poolid);
            out.lockout.extend(
                s.acl
                    .iter()
                    .filter(|e| e.path == path || e.path.starts_with(&format!("{path}/")))
                    .map(|e| Change::AclEntry {
                        entry: e.clone(),
                        propagation_only: false,
                    }),
            );
        }
        let steps = wrapped(std::mem::take(&mut planned.steps), |settle| Settle::Pool {
            poolid: p.poolid.clone(),
            shape: pools.shape,
            settle,
        });
        let phase = if p.state == State::Absent {
            Phase::PoolsRemoved
        } else {
            Phase::Pools
        };
        writes.push((phase, Batch::Steps(steps)));
        out.add("pools", &p.poolid, planned);
    }
    Ok(())
}

impl Planned {
    /// One object's plan (its steps already taken) as the result reports it.
    fn add<S>(&mut self, kind: &'static str, id: &str, p: pve_module::Plan<S>) {
        self.warnings.extend(p.warnings);
        self.parts.push(Part {
            kind,
            id: id.to_string(),
            changed: p.changed,
            msg: p.msg,
            before: p.before,
            after: p.after,
        });
    }

    pub fn changed(&self) -> bool {
        self.parts.iter().any(|p| p.changed)
    }

    /// What the run changes (or in check mode would change), one line per
    /// object: the drift report.
    pub fn changes(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter(|p| p.changed)
            .map(|p| p.msg.clone())
            .collect()
    }

    /// The diff's before or after: the changed objects only, by kind and
    /// id (the ACL as its entries), each as its module shows it.
    pub fn view(&self, after: bool, shown: impl Fn(&str, Value) -> Value) -> Value {
        let mut out = Map::new();
        for p in self.parts.iter().filter(|p| p.changed) {
            let v = shown(
                p.kind,
                if after {
                    p.after.clone()
                } else {
                    p.before.clone()
                },
            );
            if p.kind == "acl" {
                out.insert("acl".into(), v);
                continue;
            }
            let slot = out
                .entry(p.kind.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(p.id.clone(), v);
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
