//! The declaration: the task's items, each checked by the single module's
//! own option reading (same names, same meanings, same errors), the purge
//! scopes, and the checks only a whole declaration allows: an object
//! declared twice, references between items, contradictions.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{Map, Params, Value};
use pve_acl::plan::{Principal, Scope};
use pve_api::access::PrincipalKind;
use pve_api::ids;
use pve_module::{Refused, State};

/// The task, validated without the server.
#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub groups: Vec<pve_group::plan::Desired>,
    pub users: Vec<pve_user::plan::Desired>,
    pub roles: Vec<pve_role::plan::Desired>,
    pub tokens: Vec<pve_token::plan::Desired>,
    pub pools: Vec<pve_pool::plan::Desired>,
    /// The `acl` items; `None` when there are none and no ACL purge.
    pub acl: Option<pve_acl::plan::Desired>,
    pub purge: Purge,
}

/// What the task owns beyond what it declares: removed when not declared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purge {
    /// Users of these realms.
    pub user_realms: Vec<String>,
    /// Tokens of the declared users.
    pub tokens: bool,
    pub groups: bool,
    /// Custom roles (built-in ones are never removed).
    pub roles: bool,
    /// Pools (never one that holds guests, storages or a kept pool).
    pub pools: bool,
    pub acl: Option<Scope>,
}

/// Each item of the list `name` read by `parse`; errors name the item.
fn items<T>(
    p: &Params,
    name: &str,
    parse: impl Fn(&Params) -> Result<T, String>,
) -> Result<Vec<T>, Refused> {
    let list = p.dicts(name).unwrap_or_default();
    list.iter()
        .enumerate()
        .map(|(i, item)| parse(item).map_err(|e| Refused(format!("{name}[{i}]: {e}"))))
        .collect()
}

/// Refuses an id declared twice in one list.
fn once(name: &str, ids: impl Iterator<Item = String>) -> Result<(), Refused> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, id) in ids.enumerate() {
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(Refused(format!(
                "{name}: '{id}' is declared twice ({name}[{first}] and {name}[{i}]): keep one"
            )));
        }
    }
    Ok(())
}

impl Declaration {
    pub fn from_params(p: &Params) -> Result<Declaration, Refused> {
        let groups = items(p, "groups", pve_group::plan::Desired::from_params)?;
        let users = items(p, "users", pve_user::plan::Desired::from_params)?;
        let roles = items(p, "roles", pve_role::plan::Desired::from_params)?;
        let tokens = items(p, "tokens", pve_token::plan::Desired::from_params)?;
        let pools = items(p, "pools", pve_pool::plan::Desired::from_params)?;
        once("groups", groups.iter().map(Declared::id))?;
        once("users", users.iter().map(Declared::id))?;
        once("roles", roles.iter().map(Declared::id))?;
        once("tokens", tokens.iter().map(Declared::id))?;
        once("pools", pools.iter().map(Declared::id))?;
        let purge = match p.get("purge").and_then(Value::as_object) {
            Some(m) => purge(&Params::from_map(m.clone()))?,
            None => Purge::default(),
        };
        let entries = p.dicts("acl").unwrap_or_default();
        let acl = if entries.is_empty() && purge.acl.is_none() {
            None
        } else {
            let mut d = pve_acl::plan::Desired::from_entries("acl", &entries, true, true)?;
            d.purge = purge.acl.clone();
            Some(d)
        };
        let d = Declaration {
            groups,
            users,
            roles,
            tokens,
            pools,
            acl,
            purge,
        };
        d.agree()?;
        Ok(d)
    }

    /// A user's `groups` and a group's `members` must not contradict each
    /// other: one list that replaces must include what the other adds, or
    /// each run would undo the other's half.
    fn agree(&self) -> Result<(), Refused> {
        for g in &self.groups {
            let Some(members) = &g.members else {
                continue;
            };
            for u in &self.users {
                let Some(groups) = &u.groups else {
                    continue;
                };
                let by_group = members.contains(&u.userid);
                let by_user = groups.contains(&g.groupid);
                if (by_group && !by_user && !u.append) || (by_user && !by_group && !g.append) {
                    return Err(Refused(format!(
                        "group '{}' {} '{}' among its members, but user '{}' {} it among its groups: declare the membership the same way in both, or in one of them only",
                        g.groupid,
                        if by_group { "has" } else { "does not have" },
                        u.userid,
                        u.userid,
                        if by_user { "has" } else { "does not have" },
                    )));
                }
            }
        }
        Ok(())
    }
}

/// An item of the declaration: its object's id and wanted state.
pub trait Declared {
    fn id(&self) -> String;
    fn state(&self) -> State;
}

impl Declared for pve_user::plan::Desired {
    fn id(&self) -> String {
        self.userid.clone()
    }
    fn state(&self) -> State {
        self.state
    }
}

impl Declared for pve_group::plan::Desired {
    fn id(&self) -> String {
        self.groupid.clone()
    }
    fn state(&self) -> State {
        self.state
    }
}

impl Declared for pve_role::plan::Desired {
    fn id(&self) -> String {
        self.roleid.clone()
    }
    fn state(&self) -> State {
        self.state
    }
}

impl Declared for pve_token::plan::Desired {
    fn id(&self) -> String {
        self.full()
    }
    fn state(&self) -> State {
        self.state
    }
}

impl Declared for pve_pool::plan::Desired {
    fn id(&self) -> String {
        self.poolid.clone()
    }
    fn state(&self) -> State {
        self.state
    }
}

/// The ids of the items declared with `state`.
pub fn ids_in<T: Declared>(items: &[T], state: State) -> BTreeSet<String> {
    items
        .iter()
        .filter(|i| i.state() == state)
        .map(Declared::id)
        .collect()
}

/// The `purge` option, checked.
fn purge(p: &Params) -> Result<Purge, Refused> {
    let user_realms = match p.get("users").and_then(Value::as_object) {
        Some(m) => {
            let realms = Params::from_map(m.clone())
                .list("realms")
                .unwrap_or_default();
            for r in &realms {
                if !ids::valid_realm(r) {
                    return Err(Refused(format!(
                        "purge.users.realms: '{r}' does not look like a valid realm"
                    )));
                }
            }
            if realms.is_empty() {
                return Err(Refused(
                    "purge.users: name the realms whose undeclared users are removed (realms: [pve]); nothing else is purged by accident".into(),
                ));
            }
            realms
        }
        None => Vec::new(),
    };
    let acl = match p.get("acl").and_then(Value::as_object) {
        Some(m) => Some(acl_scope(&Params::from_map(m.clone()))?),
        None => None,
    };
    Ok(Purge {
        user_realms,
        tokens: p.bool("tokens").unwrap_or(false),
        groups: p.bool("groups").unwrap_or(false),
        roles: p.bool("roles").unwrap_or(false),
        pools: p.bool("pools").unwrap_or(false),
        acl,
    })
}

/// `purge.acl`: at least one filter, each checked.
fn acl_scope(p: &Params) -> Result<Scope, Refused> {
    let list = |k: &str| p.list(k).unwrap_or_default();
    let at = |k: &str, e: String| Refused(format!("purge.acl.{k}: {e}"));
    let mut scope = Scope::default();
    for path in list("paths") {
        let norm = ids::normalize_acl_path(&path)
            .filter(|n| ids::check_acl_path(n))
            .ok_or_else(|| at("paths", format!("invalid ACL path '{path}'")))?;
        scope.paths.push(norm);
    }
    for (key, kind) in [
        ("users", PrincipalKind::User),
        ("groups", PrincipalKind::Group),
        ("tokens", PrincipalKind::Token),
    ] {
        for id in list(key) {
            let ok = match kind {
                PrincipalKind::User => ids::parse_userid(&id).map(|_| ()),
                PrincipalKind::Group => ids::verify_groupid(&id),
                PrincipalKind::Token => ids::parse_tokenid(&id, None).map(|_| ()),
            };
            ok.map_err(|e| at(key, e))?;
            scope.principals.insert(Principal::new(kind, id));
        }
    }
    for realm in list("realms") {
        if !ids::valid_realm(&realm) {
            return Err(at(
                "realms",
                format!("'{realm}' does not look like a valid realm"),
            ));
        }
        scope.realms.push(realm);
    }
    if scope == Scope::default() {
        return Err(Refused(
            "purge.acl: give at least one of paths, users, groups, tokens, realms (paths: ['/'] for the whole ACL); nothing is purged by accident".into(),
        ));
    }
    Ok(scope)
}

/// The single modules' options of a purged object, as if a task had said
/// `state: absent` for it.
pub fn absent(key: &str, id: &str) -> Params {
    let mut m = Map::new();
    m.insert(key.into(), Value::String(id.into()));
    m.insert("state".into(), Value::String("absent".into()));
    Params::from_map(m)
}
