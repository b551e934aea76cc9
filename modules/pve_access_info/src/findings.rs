//! The audit: findings computed from the inventory alone (pure), one rule
//! per kind of finding, each run only when everything it needs was read.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{json, Value};
use pve_api::access::{AclEntry, PrincipalKind, Role};
use pve_api::time::{format_epoch, DAY};

use crate::plan::{count, effective_expire, realm_of, tfa_of, Account, Inventory, Kind, Query};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How a rule reports a finding: its subject, the user it is about, the
/// message.
type Add<'f> = dyn FnMut(String, Option<&str>, String) + 'f;

/// One kind of finding.
#[derive(Debug)]
pub struct Rule {
    pub kind: &'static str,
    pub severity: Severity,
    /// What must have been read for the rule to run.
    pub needs: &'static [Kind],
    /// Whether its subject is a user or a token (or a principal that may be
    /// one): only those rules run when the task narrows the users.
    pub per_user: bool,
    /// Whether something PVE hides from the login would make it report
    /// what is not so (an ACL entry of a user the login does not see): such
    /// rules run only when the login sees everything.
    pub whole: bool,
    /// The rule itself.
    check: fn(&Index<'_>, &mut Add<'_>),
}

use Kind::{Acl, Groups, Pools, Realms, Roles, Users};

/// Every rule, in the order findings are listed within a severity.
pub const RULES: &[Rule] = &[
    Rule {
        kind: "token_privsep_admin",
        severity: Severity::High,
        needs: &[Users, Roles, Acl],
        per_user: true,
        whole: false,
        check: token_privsep_admin,
    },
    Rule {
        kind: "token_no_expiry",
        severity: Severity::Medium,
        needs: &[Users],
        per_user: true,
        whole: false,
        check: token_no_expiry,
    },
    Rule {
        kind: "token_expiring",
        severity: Severity::Medium,
        needs: &[Users],
        per_user: true,
        whole: false,
        check: token_expiring,
    },
    Rule {
        kind: "root_token",
        severity: Severity::Medium,
        needs: &[Users],
        per_user: true,
        whole: false,
        check: root_token,
    },
    Rule {
        kind: "user_no_tfa",
        severity: Severity::Medium,
        needs: &[Users, Realms],
        per_user: true,
        whole: false,
        check: user_no_tfa,
    },
    Rule {
        kind: "acl_unknown_principal",
        severity: Severity::Medium,
        needs: &[Acl, Users, Groups],
        per_user: true,
        whole: true,
        check: acl_unknown_principal,
    },
    Rule {
        kind: "acl_unknown_pool",
        severity: Severity::Medium,
        needs: &[Acl, Pools],
        per_user: false,
        whole: true,
        check: acl_unknown_pool,
    },
    Rule {
        kind: "token_expired",
        severity: Severity::Low,
        needs: &[Users],
        per_user: true,
        whole: false,
        check: token_expired,
    },
    Rule {
        kind: "inactive_user_access",
        severity: Severity::Low,
        needs: &[Users, Acl],
        per_user: true,
        whole: false,
        check: inactive_user_access,
    },
    Rule {
        kind: "group_unknown_member",
        severity: Severity::Low,
        needs: &[Groups, Users],
        per_user: false,
        whole: true,
        check: group_unknown_member,
    },
    Rule {
        kind: "token_without_acl",
        severity: Severity::Info,
        needs: &[Users, Acl],
        per_user: true,
        whole: true,
        check: token_without_acl,
    },
    Rule {
        kind: "role_unused",
        severity: Severity::Info,
        needs: &[Roles, Acl],
        per_user: false,
        whole: true,
        check: role_unused,
    },
    Rule {
        kind: "group_empty",
        severity: Severity::Info,
        needs: &[Groups],
        per_user: false,
        whole: false,
        check: group_empty,
    },
];

/// The rule of a kind of finding.
pub fn rule(kind: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.kind == kind)
}

/// What makes a user or a token able to take over the cluster when held on
/// `/`: granting any privilege to anyone, or changing the nodes' system
/// settings. Administrator holds both.
const ADMIN_PRIVS: [&str; 2] = ["Permissions.Modify", "Sys.Modify"];

/// Realm types whose users log in with a password.
const PASSWORD_REALMS: [&str; 4] = ["pam", "pve", "ldap", "ad"];

/// TFA types that are a second factor at login (recovery keys alone are not).
fn second_factor(t: &str) -> bool {
    t != "recovery"
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub kind: &'static str,
    /// A user id, full token id, group id, role id or `/pool/<id>`.
    pub subject: String,
    pub message: String,
    /// The user the finding is about (a token's owner), for narrowing.
    pub owner: Option<String>,
}

impl Finding {
    pub fn to_json(&self) -> Value {
        json!({
            "severity": self.severity.name(),
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
        })
    }
}

/// `5 findings (1 high, 4 info)`, or `no findings`.
pub fn summary(found: &[Finding]) -> String {
    if found.is_empty() {
        return "no findings".into();
    }
    let by: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = found.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {}", s.name()))
        })
        .collect();
    format!(
        "{} ({})",
        count(found.len(), "finding", "findings"),
        by.join(", ")
    )
}

/// What the rules look things up in, built once.
struct Index<'a> {
    inv: &'a Inventory,
    now: i64,
    window: i64,
    users: BTreeMap<&'a str, &'a Account>,
    roles: BTreeMap<&'a str, &'a Role>,
    /// ACL entries by principal.
    acl: BTreeMap<PrincipalKind, BTreeMap<&'a str, Vec<&'a AclEntry>>>,
}

impl<'a> Index<'a> {
    fn new(inv: &'a Inventory, now: i64, window: i64) -> Index<'a> {
        let users = inv
            .users
            .iter()
            .flatten()
            .map(|a| (a.user.userid.as_str(), a))
            .collect();
        let roles = inv
            .roles
            .iter()
            .flatten()
            .map(|r| (r.roleid.as_str(), r))
            .collect();
        let mut acl: BTreeMap<_, BTreeMap<_, Vec<&AclEntry>>> = BTreeMap::new();
        for e in inv.acl.iter().flatten() {
            let by_id = acl.entry(e.kind).or_default();
            by_id.entry(e.ugid.as_str()).or_default().push(e);
        }
        Index {
            inv,
            now,
            window,
            users,
            roles,
            acl,
        }
    }

    fn entries(&self, kind: PrincipalKind, id: &str) -> &[&'a AclEntry] {
        self.acl
            .get(&kind)
            .and_then(|by_id| by_id.get(id))
            .map_or(&[], Vec::as_slice)
    }

    fn accounts(&self) -> impl Iterator<Item = &'a Account> {
        self.inv.users.iter().flatten()
    }

    fn expired(&self, expire: i64) -> bool {
        expire != 0 && expire <= self.now
    }

    /// Why `a` holds administrator-level privileges on `/`, if it does, as
    /// PVE decides the roles on `/`: the user's own entries there, else
    /// those of its groups; `NoAccess` among them takes everything away.
    fn admin_on_root(&self, a: &Account) -> Option<String> {
        let userid = a.user.userid.as_str();
        if userid == "root@pam" {
            return Some("is root@pam, which holds every privilege".into());
        }
        let on_root = |e: &&&AclEntry| e.path == "/";
        let own: Vec<(&str, String)> = self
            .entries(PrincipalKind::User, userid)
            .iter()
            .filter(on_root)
            .map(|e| (e.roleid.as_str(), "its own ACL entry".to_string()))
            .collect();
        let held = if own.is_empty() {
            a.user
                .groups
                .iter()
                .flat_map(|g| {
                    self.entries(PrincipalKind::Group, g)
                        .iter()
                        .filter(on_root)
                        .map(move |e| (e.roleid.as_str(), format!("group '{g}'")))
                })
                .collect()
        } else {
            own
        };
        if held.iter().any(|(r, _)| *r == "NoAccess") {
            return None;
        }
        let mut privs = BTreeSet::new();
        let mut via = Vec::new();
        for (roleid, source) in &held {
            let Some(role) = self.roles.get(roleid) else {
                continue;
            };
            let admin: Vec<&str> = ADMIN_PRIVS
                .iter()
                .copied()
                .filter(|p| role.privs.iter().any(|x| x == p))
                .collect();
            if !admin.is_empty() {
                privs.extend(admin);
                via.push(format!("role {roleid} from {source}"));
            }
        }
        if privs.is_empty() {
            return None;
        }
        via.sort();
        via.dedup();
        Some(format!(
            "holds {} on / ({})",
            privs.into_iter().collect::<Vec<_>>().join(" and "),
            via.join(", ")
        ))
    }
}

/// Every finding of every rule that can run, and the kinds of those rules;
/// `now` (epoch seconds) and the task's `expiring_within` decide expiry.
pub fn audit(q: &Query, inv: &Inventory, now: i64) -> (Vec<Finding>, Vec<&'static str>) {
    let ix = Index::new(inv, now, q.expiring_within);
    let mut found = Vec::new();
    let mut checked = Vec::new();
    for (order, r) in RULES.iter().enumerate() {
        if !r.needs.iter().all(|k| q.kinds.contains(k))
            || (q.narrowed() && !r.per_user)
            || (r.whole && !inv.hidden.is_empty())
        {
            continue;
        }
        if r.kind == "user_no_tfa" && inv.tfa.is_none() {
            continue;
        }
        checked.push(r.kind);
        let mut add = |subject: String, owner: Option<&str>, message: String| {
            found.push((
                order,
                Finding {
                    severity: r.severity,
                    kind: r.kind,
                    subject,
                    message,
                    owner: owner.map(str::to_string),
                },
            ));
        };
        (r.check)(&ix, &mut add);
    }
    found.sort_by(|(oa, a), (ob, b)| {
        (a.severity, oa, &a.subject).cmp(&(b.severity, ob, &b.subject))
    });
    let found = found
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| !q.narrowed() || f.owner.as_deref().is_some_and(|u| q.selects(u)))
        .collect();
    (found, checked)
}

fn token_privsep_admin(ix: &Index, add: &mut Add) {
    for a in ix.accounts() {
        let shared: Vec<_> = a.tokens.iter().filter(|t| !t.privsep).collect();
        if shared.is_empty() {
            continue;
        }
        let Some(why) = ix.admin_on_root(a) else {
            continue;
        };
        for t in shared {
            add(
                t.full_tokenid(),
                Some(&a.user.userid),
                format!(
                    "token '{}' has privilege separation off, and its owner {why}: whoever holds the secret can do anything, including granting itself more; turn privsep on and give the token its own ACL entries",
                    t.full_tokenid()
                ),
            );
        }
    }
}

fn token_no_expiry(ix: &Index, add: &mut Add) {
    token_expiry(ix, "token_no_expiry", add);
}

fn token_expiring(ix: &Index, add: &mut Add) {
    token_expiry(ix, "token_expiring", add);
}

fn token_expired(ix: &Index, add: &mut Add) {
    token_expiry(ix, "token_expired", add);
}

/// The three expiry rules, one `kind` at a time: by when the token stops
/// working, its own expiry or its owner's.
fn token_expiry(ix: &Index, kind: &str, add: &mut Add) {
    for a in ix.accounts() {
        for t in &a.tokens {
            let eff = effective_expire(t, &a.user);
            let whose = if eff == t.expire {
                ""
            } else {
                " with its owner"
            };
            let id = t.full_tokenid();
            let message = match kind {
                "token_no_expiry" if eff == 0 => format!(
                    "token '{id}' never expires, nor does its owner: set expire and rotate it regularly (pve.access.pve_token with expire_in and renew_before)"
                ),
                "token_expired" if ix.expired(eff) => format!(
                    "token '{id}' expired{whose} on {}: it can no longer log in; remove it",
                    format_epoch(eff)
                ),
                "token_expiring" if eff > ix.now && eff - ix.now <= ix.window => format!(
                    "token '{id}' expires{whose} on {}, in {}: rotate it before then",
                    format_epoch(eff),
                    count(((eff - ix.now) / DAY) as usize, "day", "days")
                ),
                _ => continue,
            };
            add(id, Some(&a.user.userid), message);
        }
    }
}

fn root_token(ix: &Index, add: &mut Add) {
    for a in ix.accounts().filter(|a| a.user.userid == "root@pam") {
        for t in &a.tokens {
            let id = t.full_tokenid();
            add(
                id.clone(),
                Some("root@pam"),
                format!(
                    "token '{id}' belongs to root@pam, the one user that ACL entries cannot restrict, and that cannot be disabled without locking out the node's administrator: give automation a user of its own"
                ),
            );
        }
    }
}

fn user_no_tfa(ix: &Index, add: &mut Add) {
    let realms = ix.inv.realms.as_deref();
    for a in ix.accounts() {
        let u = &a.user;
        if !u.enable || ix.expired(u.expire) {
            continue;
        }
        let realm = realms
            .into_iter()
            .flatten()
            .find(|r| r.realm == realm_of(&u.userid));
        let realm_type = a.realm_type.as_deref().or(realm.map(|r| r.kind.as_str()));
        if !realm_type.is_some_and(|t| PASSWORD_REALMS.contains(&t)) {
            continue;
        }
        if realm.is_some_and(|r| r.tfa.is_some()) {
            continue;
        }
        let types = tfa_of(a, ix.inv.tfa.as_ref(), realms).unwrap_or_default();
        if types.iter().any(|t| second_factor(t)) {
            continue;
        }
        add(
            u.userid.clone(),
            Some(&u.userid),
            format!(
                "user '{}' is enabled and logs in with a password alone: no second factor (TOTP, WebAuthn, U2F or Yubico) is set up",
                u.userid
            ),
        );
    }
}

/// `/vms (PVEVMUser), / (PVEAuditor)`.
fn entries_text(entries: &[&AclEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{} ({})", e.path, e.roleid))
        .collect::<Vec<_>>()
        .join(", ")
}

fn acl_unknown_principal(ix: &Index, add: &mut Add) {
    let tokens: BTreeSet<String> = ix
        .accounts()
        .flat_map(|a| a.tokens.iter().map(|t| t.full_tokenid()))
        .collect();
    let groups: BTreeSet<&str> = ix
        .inv
        .groups
        .iter()
        .flatten()
        .map(|g| g.groupid.as_str())
        .collect();
    let principals = ix
        .acl
        .iter()
        .flat_map(|(kind, by_id)| by_id.iter().map(move |(id, entries)| (kind, id, entries)));
    for (kind, id, entries) in principals {
        let (exists, owner) = match kind {
            PrincipalKind::User => (ix.users.contains_key(id), Some(*id)),
            PrincipalKind::Token => (tokens.contains(*id), id.split('!').next()),
            PrincipalKind::Group => (groups.contains(id), None),
        };
        if exists {
            continue;
        }
        add(
            id.to_string(),
            owner,
            format!(
                "{} name {} '{id}', which does not exist: {}; one created later under this id gets them: remove them",
                count(entries.len(), "ACL entry", "ACL entries"),
                kind.as_str(),
                entries_text(entries)
            ),
        );
    }
}

/// Entries on `/pool/<id>` for a pool that does not exist: PVE takes them
/// for any id and keeps a nested pool's when it deletes the pool.
fn acl_unknown_pool(ix: &Index, add: &mut Add) {
    let pools: BTreeSet<&str> = ix
        .inv
        .pools
        .iter()
        .flatten()
        .map(|p| p.poolid.as_str())
        .collect();
    let mut by_pool: BTreeMap<&str, Vec<&AclEntry>> = BTreeMap::new();
    for e in ix.inv.acl.iter().flatten() {
        if let Some(id) = e.path.strip_prefix("/pool/") {
            if !pools.contains(id) {
                by_pool.entry(id).or_default().push(e);
            }
        }
    }
    for (id, entries) in by_pool {
        let who: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {} ({})", e.kind.as_str(), e.ugid, e.roleid))
            .collect();
        add(
            format!("/pool/{id}"),
            None,
            format!(
                "{} on /pool/{id}, a pool that does not exist: {}; a pool created later under this id gives them its guests and storages: remove them",
                count(entries.len(), "ACL entry", "ACL entries"),
                who.join(", ")
            ),
        );
    }
}

fn inactive_user_access(ix: &Index, add: &mut Add) {
    for a in ix.accounts() {
        let u = &a.user;
        let state = if !u.enable {
            "disabled".to_string()
        } else if ix.expired(u.expire) {
            format!("expired on {}", format_epoch(u.expire))
        } else {
            continue;
        };
        let mut acl: Vec<&AclEntry> = ix.entries(PrincipalKind::User, &u.userid).to_vec();
        for t in &a.tokens {
            acl.extend(ix.entries(PrincipalKind::Token, &t.full_tokenid()));
        }
        if a.tokens.is_empty() && acl.is_empty() {
            continue;
        }
        let mut held = Vec::new();
        if !a.tokens.is_empty() {
            let names: Vec<&str> = a.tokens.iter().map(|t| t.tokenid.as_str()).collect();
            held.push(format!(
                "{} ({})",
                count(names.len(), "token", "tokens"),
                names.join(", ")
            ));
        }
        if !acl.is_empty() {
            held.push(format!(
                "{} ({})",
                count(acl.len(), "ACL entry", "ACL entries"),
                entries_text(&acl)
            ));
        }
        add(
            u.userid.clone(),
            Some(&u.userid),
            format!(
                "user '{}' is {state} but still holds {}: enabling it again brings them back; remove them, or the user",
                u.userid,
                held.join(" and ")
            ),
        );
    }
}

fn group_unknown_member(ix: &Index, add: &mut Add) {
    for g in ix.inv.groups.iter().flatten() {
        let missing: Vec<&str> = g
            .members
            .iter()
            .filter(|m| !ix.users.contains_key(m.as_str()))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            continue;
        }
        add(
            g.groupid.clone(),
            None,
            format!(
                "group '{}' lists {} that {} not exist: {}; a user created later under such an id is a member at once",
                g.groupid,
                count(missing.len(), "member", "members"),
                if missing.len() == 1 { "does" } else { "do" },
                missing.join(", ")
            ),
        );
    }
}

fn token_without_acl(ix: &Index, add: &mut Add) {
    for a in ix.accounts() {
        for t in a.tokens.iter().filter(|t| t.privsep) {
            let id = t.full_tokenid();
            if !ix.entries(PrincipalKind::Token, &id).is_empty() {
                continue;
            }
            add(
                id.clone(),
                Some(&a.user.userid),
                format!(
                    "token '{id}' has privilege separation on and no ACL entry: it can do nothing; grant it what it needs (pve.access.pve_acl) or remove it"
                ),
            );
        }
    }
}

fn role_unused(ix: &Index, add: &mut Add) {
    let used: BTreeSet<&str> = ix
        .inv
        .acl
        .iter()
        .flatten()
        .map(|e| e.roleid.as_str())
        .collect();
    for r in ix.inv.roles.iter().flatten() {
        if r.special || used.contains(r.roleid.as_str()) {
            continue;
        }
        add(
            r.roleid.clone(),
            None,
            format!(
                "custom role '{}' is used by no ACL entry: remove it if nothing needs it",
                r.roleid
            ),
        );
    }
}

fn group_empty(ix: &Index, add: &mut Add) {
    for g in ix.inv.groups.iter().flatten() {
        if g.members.is_empty() {
            add(
                g.groupid.clone(),
                None,
                format!("group '{}' has no members", g.groupid),
            );
        }
    }
}

#[cfg(test)]
#[path = "tests/findings.rs"]
mod tests;
