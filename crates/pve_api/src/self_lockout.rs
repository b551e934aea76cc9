//! The self-lockout rule, one for every module: a task may not remove or
//! weaken what gives the identity the module authenticates as its access,
//! unless it sets `allow_self_lockout: true`.
//!
//! What gives a login its access, as PVE computes it (`PVE::AccessControl`
//! `roles`/`permissions` and `verify_token`, `PVE::RPCEnvironment`):
//! - the ACL entries of its user and of the groups that user is in, and that
//!   membership; for an API token also its owner's (a token never has more
//!   than its owner), plus, with privilege separation on, the token's own
//!   entries;
//! - the privileges of the roles those entries use;
//! - its user being enabled and not expired (a token's login checks its
//!   owner too), and its user's realm existing (for a password login); for a token also its own expiry, its privilege separation
//!   being off, and its secret.
//!
//! root@pam holds every privilege without any entry, so for it only its
//! user (and a token's own entries, expiry, privsep and secret) count.
//! Deleting or disabling root@pam, or the user or token the module
//! authenticates as, is refused even with `allow_self_lockout`: those are
//! done with another login.
//!
//! A module describes what its task takes away as [`Change`]s, from what it
//! has read anyway; [`enforce`] reads the caller's groups (and a token's
//! privsep) or the ACL only when a change could concern them, so a task
//! that touches nothing of the caller costs no request. [`weakened`] and
//! [`refusal`] are the pure rule.

use ansible_module::{Failure, Opt, Params};

use crate::access::{self, AclEntry, PrincipalKind};
use crate::{time, ApiError, ApiRequest, Client, Identity};

/// Something a task takes away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The entry is removed, or (`propagation_only`) keeps only the path
    /// itself.
    AclEntry {
        entry: AclEntry,
        propagation_only: bool,
    },
    /// The entry, for role `NoAccess`, is added: it takes every privilege
    /// on its path (and below, propagated) whatever else grants them.
    NoAccessGranted(AclEntry),
    /// The user leaves the group.
    Membership {
        userid: String,
        group: String,
    },
    /// The group is deleted, and with it its members' membership and its
    /// ACL entries.
    GroupDeleted {
        group: String,
        members: Vec<String>,
    },
    /// Privileges leave the role (every one when it is deleted).
    RolePrivs {
        roleid: String,
        removed: Vec<String>,
        deleted: bool,
    },
    UserDeleted(String),
    UserDisabled(String),
    /// The realm is deleted: its users can no longer log in with a password.
    RealmDeleted(String),
    /// Epoch seconds, 0 = never.
    UserExpire {
        userid: String,
        from: i64,
        to: i64,
    },
    /// Full token ids.
    TokenDeleted(String),
    TokenRegenerated(String),
    TokenPrivsepOn(String),
    TokenExpire {
        full: String,
        from: i64,
        to: i64,
    },
}

/// Who the module authenticates as, with what is known of its access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user, or a token's owner.
    pub userid: String,
    /// The full token id, for a token login.
    pub token: Option<String>,
    /// The user's groups; `None` while unread or unreadable (then every
    /// group counts as possibly its own).
    pub groups: Option<Vec<String>>,
    /// The token's privilege separation; `None` while unknown (then its own
    /// entries count).
    pub privsep: Option<bool>,
}

impl Caller {
    pub fn new(identity: &Identity) -> Caller {
        Caller {
            userid: identity.userid().to_string(),
            token: match identity {
                Identity::Token { full, .. } => Some(full.clone()),
                _ => None,
            },
            groups: None,
            privsep: None,
        }
    }

    fn authid(&self) -> &str {
        self.token.as_deref().unwrap_or(&self.userid)
    }

    /// root@pam's access needs no entry, group or role.
    fn root(&self) -> bool {
        self.userid == "root@pam"
    }

    fn own_token(&self, full: &str) -> bool {
        self.token.as_deref() == Some(full)
    }

    /// Whether the entries of this principal are (or may be) the caller's
    /// access.
    fn holds(&self, kind: PrincipalKind, ugid: &str) -> bool {
        match kind {
            PrincipalKind::User => !self.root() && ugid == self.userid,
            PrincipalKind::Group => {
                !self.root()
                    && self
                        .groups
                        .as_ref()
                        .is_none_or(|g| g.iter().any(|x| x == ugid))
            }
            PrincipalKind::Token => self.own_token(ugid) && self.privsep != Some(false),
        }
    }

    /// Whether judging `changes` needs the caller's groups or privsep.
    fn needs_reading(&self, changes: &[Change]) -> bool {
        changes.iter().any(|c| match c {
            Change::AclEntry { entry, .. } | Change::NoAccessGranted(entry) => match entry.kind {
                PrincipalKind::Group => !self.root() && self.groups.is_none(),
                PrincipalKind::Token => self.own_token(&entry.ugid) && self.privsep.is_none(),
                PrincipalKind::User => false,
            },
            Change::RolePrivs { removed, .. } if !removed.is_empty() => {
                (!self.root() && self.groups.is_none())
                    || (self.token.is_some() && self.privsep.is_none())
            }
            _ => false,
        })
    }

    /// Whether judging `changes` needs the ACL (which entries use a role).
    fn needs_acl(&self, changes: &[Change]) -> bool {
        (!self.root() || self.token.is_some())
            && changes
                .iter()
                .any(|c| matches!(c, Change::RolePrivs { removed, .. } if !removed.is_empty()))
    }

    /// Reads the caller's groups and a token's privsep from the user index,
    /// which always shows a password login its own user; a token that may
    /// not see its owner leaves them unknown.
    fn read(&mut self, client: &Client) -> Result<(), ApiError> {
        let path = "/access/users";
        let data = client.send(&ApiRequest::get(path).param("full", 1))?;
        let bad = |e: String| ApiError::unexpected("GET", path, format!("unexpected answer: {e}"));
        let Some(item) = data
            .as_array()
            .and_then(|users| users.iter().find(|u| u["userid"] == self.userid.as_str()))
        else {
            return Ok(());
        };
        let user = access::user_from_json(&self.userid, item).map_err(bad)?;
        self.groups = Some(user.groups);
        if let Some((owner, name)) = self.token.as_deref().and_then(|t| t.split_once('!')) {
            let info = item["tokens"]
                .as_array()
                .and_then(|ts| ts.iter().find(|t| t["tokenid"] == name));
            if let Some(info) = info {
                self.privsep = Some(
                    access::token_from_json(owner, name, info)
                        .map_err(bad)?
                        .privsep,
                );
            }
        }
        Ok(())
    }
}

/// One thing a task would take away from the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weakened {
    /// What the task would do, as a verb phrase (`remove role 'X' of ...`).
    pub what: String,
    /// Refused even with `allow_self_lockout`.
    pub hard: bool,
}

fn who(kind: PrincipalKind, ugid: &str) -> String {
    format!("{} '{ugid}'", kind.as_str())
}

fn expire_text(e: i64) -> String {
    if e == 0 {
        "never".into()
    } else {
        time::format_epoch(e)
    }
}

/// An expiry that comes sooner (0 = never).
fn sooner(from: i64, to: i64) -> bool {
    to != 0 && (from == 0 || to < from)
}

/// What of the caller's access `changes` take away. `acl` is the server's
/// ACL where a change needs it ([`Change::RolePrivs`]).
pub fn weakened(caller: &Caller, acl: &[AclEntry], changes: &[Change]) -> Vec<Weakened> {
    let soft = |what: String| Weakened { what, hard: false };
    let hard = |what: String| Weakened { what, hard: true };
    let me = &caller.userid;
    // Said where a group entry counts only because the groups are unknown.
    let unknown_groups = |group_involved: bool| {
        if group_involved && caller.groups.is_none() {
            format!(" (this login cannot read the groups of {me}, so any group may be one of them)")
        } else {
            String::new()
        }
    };
    let mut out = Vec::new();
    for c in changes {
        match c {
            Change::AclEntry {
                entry: e,
                propagation_only,
            } if caller.holds(e.kind, &e.ugid) => {
                let verb = if *propagation_only {
                    "stop propagating"
                } else {
                    "remove"
                };
                let note = unknown_groups(e.kind == PrincipalKind::Group);
                out.push(soft(format!(
                    "{verb} role '{}' of {} on '{}'{note}",
                    e.roleid,
                    who(e.kind, &e.ugid),
                    e.path
                )));
            }
            Change::NoAccessGranted(e) if caller.holds(e.kind, &e.ugid) => {
                let note = unknown_groups(e.kind == PrincipalKind::Group);
                out.push(soft(format!(
                    "grant NoAccess to {} on '{}', which takes away every privilege there{note}",
                    who(e.kind, &e.ugid),
                    e.path
                )));
            }
            Change::Membership { userid, group } if !caller.root() && userid == me => {
                out.push(soft(format!("take {me} out of group '{group}'")));
            }
            Change::GroupDeleted { group, members }
                if !caller.root() && members.iter().any(|m| m == me) =>
            {
                out.push(soft(format!(
                    "delete group '{group}', which {me} is a member of"
                )));
            }
            Change::RolePrivs {
                roleid,
                removed,
                deleted,
            } if !removed.is_empty() => {
                let users: Vec<String> = acl
                    .iter()
                    .filter(|e| &e.roleid == roleid && caller.holds(e.kind, &e.ugid))
                    .map(|e| format!("{} on '{}'", who(e.kind, &e.ugid), e.path))
                    .collect();
                if users.is_empty() {
                    continue;
                }
                let verb = if *deleted {
                    format!("delete role '{roleid}'")
                } else {
                    format!("remove {} from role '{roleid}'", removed.join(", "))
                };
                let note = unknown_groups(users.iter().any(|u| u.starts_with("group ")));
                out.push(soft(format!(
                    "{verb}, which the entries of {} use{note}",
                    users.join(", ")
                )));
            }
            Change::UserDeleted(u) | Change::UserDisabled(u) => {
                let verb = if matches!(c, Change::UserDeleted(_)) {
                    "delete"
                } else {
                    "disable"
                };
                if u == "root@pam" {
                    out.push(hard(format!(
                        "{verb} root@pam, the administrator of last resort on every PVE node"
                    )));
                } else if u == me {
                    let how = if caller.token.is_some() {
                        "the owner of the token this module authenticates with"
                    } else {
                        "the user this module authenticates as"
                    };
                    out.push(hard(format!("{verb} {u}, {how}")));
                }
            }
            Change::UserExpire { userid, from, to }
                if (userid == me || userid == "root@pam") && sooner(*from, *to) =>
            {
                out.push(soft(format!(
                    "set the expiry of {userid} to {} (was {})",
                    expire_text(*to),
                    expire_text(*from)
                )));
            }
            Change::RealmDeleted(realm) if me.rsplit_once('@').is_some_and(|(_, r)| r == realm) => {
                out.push(soft(format!(
                    "delete realm '{realm}', the realm of {me}, which then cannot log in"
                )));
            }
            Change::TokenDeleted(t) if caller.own_token(t) => {
                out.push(hard(format!(
                    "delete token '{t}', which this module authenticates with"
                )));
            }
            Change::TokenRegenerated(t) if caller.own_token(t) => {
                out.push(soft(format!(
                    "regenerate token '{t}', whose current secret this module authenticates with"
                )));
            }
            Change::TokenPrivsepOn(t) if caller.own_token(t) => {
                out.push(soft(format!(
                    "turn on privilege separation of token '{t}', which leaves it only its own ACL entries"
                )));
            }
            Change::TokenExpire { full, from, to }
                if caller.own_token(full) && sooner(*from, *to) =>
            {
                out.push(soft(format!(
                    "set the expiry of token '{full}' to {} (was {})",
                    expire_text(*to),
                    expire_text(*from)
                )));
            }
            _ => {}
        }
    }
    out
}

/// The failure message for what is refused: every hard item, and the soft
/// ones unless `allow`. `None` when nothing is.
pub fn refusal(caller: &Caller, weakened: &[Weakened], allow: bool) -> Option<String> {
    let list = |hard: bool| {
        weakened
            .iter()
            .filter(|w| w.hard == hard)
            .map(|w| w.what.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if weakened.iter().any(|w| w.hard) {
        return Some(format!(
            "refusing to {}: this module never does that, not even with allow_self_lockout: true; do it with another login. Nothing was changed",
            list(true)
        ));
    }
    if allow || weakened.is_empty() {
        return None;
    }
    Some(format!(
        "refusing to {}: that is what gives {}, which this module authenticates as, its access, and the task could lock it out. Nothing was changed. Run the task with another login (such as root@pam), or set allow_self_lockout: true if this is intended",
        list(false),
        caller.authid()
    ))
}

/// `allow_self_lockout`, an option of every module that changes state.
pub fn option() -> Opt {
    Opt::bool("allow_self_lockout").default(false)
}

/// Refuses the task when `changes` remove or weaken the caller's access
/// (see the module's doc), unless the task's `allow_self_lockout` allows
/// it. Reads only what the judgement needs: nothing when no change could
/// concern the caller, or when the option leaves only the refusals that
/// need no read.
pub fn enforce(client: &Client, params: &Params, changes: &[Change]) -> Result<(), Failure> {
    let allow = params.bool("allow_self_lockout").unwrap_or(false);
    let mut caller = Caller::new(client.identity());
    if !allow && caller.needs_reading(changes) {
        caller.read(client)?;
    }
    let acl = if !allow && caller.needs_acl(changes) {
        access::list_acl(client)?
    } else {
        Vec::new()
    };
    match refusal(&caller, &weakened(&caller, &acl, changes), allow) {
        Some(msg) => Err(Failure::new(msg)),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "tests/self_lockout.rs"]
mod tests;
