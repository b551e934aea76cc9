//! The pure part of `pve_realm_sync`: the options checked before any
//! request, the sync call, and the report, made from the realm's users,
//! groups and ACL entries before and after the sync (a real run) or from
//! the dry run's log (check mode).

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{json, Failure, Map, Params, Value};
use pve_api::access::{AclEntry, Group, PrincipalKind, User};
use pve_api::{ids, seg, ApiRequest};

/// What `remove_vanished` may hold (PVE's `remove-vanished` parts).
pub const REMOVE_VANISHED: [&str; 3] = ["acl", "entry", "properties"];

/// The sync the task asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub realm: String,
    /// `None`: the realm's `sync-defaults-options` must name one.
    pub scope: Option<String>,
    pub enable_new: Option<bool>,
    /// `None`: the realm's default; `Some([])`: remove nothing.
    pub remove_vanished: Option<Vec<String>>,
    /// Seconds to follow the task.
    pub timeout: u64,
}

impl Desired {
    /// The options, checked as far as they can be without the server (the
    /// spec's choices have checked `scope` and `remove_vanished`).
    pub fn from_params(p: &Params) -> Result<Desired, Failure> {
        let realm = p.str("realm").unwrap_or_default().to_string();
        if !ids::valid_realm(&realm) || realm.len() > 32 {
            return Err(Failure::new(format!(
                "realm '{realm}' is no valid realm id: a letter, then letters, digits, '.', '-' or '_' (2 to 32 characters)"
            )));
        }
        // In one order (the spec's choices have refused anything else),
        // so that the same list is the same request.
        let remove_vanished = p.list("remove_vanished").map(|items| {
            REMOVE_VANISHED
                .iter()
                .filter(|r| items.iter().any(|i| i == *r))
                .map(|r| r.to_string())
                .collect()
        });
        let timeout = p.int("timeout").unwrap_or(300);
        if timeout < 1 {
            return Err(Failure::new(format!(
                "timeout must be at least 1 second, got {timeout}"
            )));
        }
        Ok(Desired {
            realm,
            scope: p.str("scope").map(str::to_string),
            enable_new: p.bool("enable_new"),
            remove_vanished,
            timeout: timeout as u64,
        })
    }

    /// A warning for `entry` without `acl`: PVE then leaves ACL entries
    /// naming the removed users and groups behind (docs/realm-sync.md).
    pub fn warning(&self) -> Option<String> {
        let rv = self.remove_vanished.as_ref()?;
        (rv.iter().any(|r| r == "entry") && !rv.iter().any(|r| r == "acl")).then(|| {
            "remove_vanished has 'entry' without 'acl': PVE leaves the ACL entries of removed users and groups behind; add 'acl' to remove them too".to_string()
        })
    }

    /// Refuses, before the sync is sent, a realm that is not a directory
    /// realm or has no scope from the task nor from its stored defaults.
    /// `realm` is `GET /access/domains/{realm}`'s answer.
    pub fn check_realm(&self, realm: &Map<String, Value>) -> Result<(), Failure> {
        let name = &self.realm;
        let kind = realm
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != "ldap" && kind != "ad" {
            return Err(Failure::new(format!(
                "realm '{name}' is of type '{kind}': only LDAP and AD realms can be synced"
            )));
        }
        let default_scope = realm
            .get("sync-defaults-options")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(',')
            .any(|kv| kv.trim().starts_with("scope="));
        if self.scope.is_none() && !default_scope {
            return Err(Failure::new(format!(
                "no scope: give scope (users, groups or both), or set one in realm '{name}''s sync_defaults_options"
            )));
        }
        Ok(())
    }

    /// The refusal of a realm that does not exist (in a real run).
    pub fn no_realm(&self) -> String {
        format!(
            "realm '{}' does not exist: create it first (pve.access.pve_realm, type ldap or ad)",
            self.realm
        )
    }

    /// Check mode on a realm an earlier task creates: no dry run can
    /// tell what its first sync brings, so a change is assumed.
    pub fn unpredictable(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("changed".into(), json!(true));
        out.insert(
            "msg".into(),
            json!(format!(
                "realm '{}' would be synced once it exists; what it would add cannot be predicted before",
                self.realm
            )),
        );
        out
    }

    /// `POST /access/domains/{realm}/sync`; a dry run in check mode.
    pub fn request(&self, dry_run: bool) -> ApiRequest {
        let mut req = ApiRequest::post(format!("/access/domains/{}/sync", seg(&self.realm)));
        if let Some(scope) = &self.scope {
            req = req.param("scope", scope);
        }
        if let Some(e) = self.enable_new {
            req = req.param("enable-new", u8::from(e));
        }
        if let Some(rv) = &self.remove_vanished {
            let text = if rv.is_empty() {
                "none".to_string()
            } else {
                rv.join(";")
            };
            req = req.param("remove-vanished", text);
        }
        if dry_run {
            req = req.param("dry-run", 1);
        }
        req
    }
}

/// The node a UPID names (`UPID:<node>:...`), where its task is followed.
pub fn upid_node(upid: &str) -> Option<&str> {
    let mut f = upid.strip_prefix("UPID:")?.split(':');
    f.next().filter(|n| !n.is_empty())
}

/// What the realm has in user.cfg: its users (`name@realm`), its groups
/// (`name-realm`, as a sync names them) and the ACL entries naming either.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub users: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    pub acl: BTreeSet<String>,
}

/// An ACL entry as the report names it.
fn acl_text(e: &AclEntry) -> String {
    let who = match e.kind {
        PrincipalKind::Group => format!("@{}", e.ugid),
        _ => e.ugid.clone(),
    };
    format!("{}:{}:{}", e.path, who, e.roleid)
}

impl Snapshot {
    pub fn of(realm: &str, users: &[User], groups: &[Group], acl: &[AclEntry]) -> Snapshot {
        let user_suffix = format!("@{realm}");
        let group_suffix = format!("-{realm}");
        let users: BTreeMap<String, Value> = users
            .iter()
            .filter(|u| u.userid.ends_with(&user_suffix))
            .map(|u| {
                let v = json!({
                    "enable": u.enable, "expire": u.expire, "firstname": u.firstname,
                    "lastname": u.lastname, "email": u.email, "comment": u.comment,
                });
                (u.userid.clone(), v)
            })
            .collect();
        let groups: BTreeMap<String, Value> = groups
            .iter()
            .filter(|g| g.groupid.ends_with(&group_suffix))
            .map(|g| {
                let mut members = g.members.clone();
                members.sort();
                let v = json!({"comment": g.comment, "members": members});
                (g.groupid.clone(), v)
            })
            .collect();
        let acl = acl
            .iter()
            // By name, not by the users and groups that exist: PVE keeps
            // the entries of removed ones unless `acl` purges them.
            .filter(|e| match e.kind {
                PrincipalKind::User => e.ugid.ends_with(&user_suffix),
                PrincipalKind::Group => e.ugid.ends_with(&group_suffix),
                _ => false,
            })
            .map(acl_text)
            .collect();
        Snapshot { users, groups, acl }
    }

    /// The diff view: users and groups with their synced fields, and the
    /// ACL entries naming them.
    pub fn view(&self) -> Value {
        json!({"users": self.users, "groups": self.groups, "acl": self.acl})
    }
}

/// Ids added, updated and removed, for users or groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    fn between(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Changes {
        Changes {
            added: after
                .keys()
                .filter(|k| !before.contains_key(*k))
                .cloned()
                .collect(),
            updated: after
                .iter()
                .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
                .map(|(k, _)| k.clone())
                .collect(),
            removed: before
                .keys()
                .filter(|k| !after.contains_key(*k))
                .cloned()
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// What a sync did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub users: Changes,
    pub groups: Changes,
    /// ACL entries removed with the vanished users and groups.
    pub acl_removed: Vec<String>,
}

impl Report {
    /// A real run: the realm's state before and after.
    pub fn between(before: &Snapshot, after: &Snapshot) -> Report {
        Report {
            users: Changes::between(&before.users, &after.users),
            groups: Changes::between(&before.groups, &after.groups),
            acl_removed: before.acl.difference(&after.acl).cloned().collect(),
        }
    }

    /// A dry run: what its log says would be added and removed (its
    /// `updating`/`overwriting` lines say nothing of what would change),
    /// and the ACL entries of `before` that its `purge` lines name.
    pub fn from_dry_run(log: &[String], before: &Snapshot) -> Report {
        let quoted = |line: &str, prefix: &str| -> Option<String> {
            let rest = line.strip_prefix(prefix)?.strip_prefix('\'')?;
            Some(rest.split_once('\'')?.0.to_string())
        };
        let ids = |prefix: &str| -> Vec<String> {
            let set: BTreeSet<String> = log.iter().filter_map(|l| quoted(l, prefix)).collect();
            set.into_iter().collect()
        };
        let purged: BTreeSet<String> = ["purge users ", "purge groups "]
            .iter()
            .flat_map(|p| ids(p))
            .collect();
        let acl_removed = before
            .acl
            .iter()
            .filter(|e| {
                let who = e.split(':').nth(1).unwrap_or_default();
                purged.contains(who.trim_start_matches('@'))
            })
            .cloned()
            .collect();
        Report {
            users: Changes {
                added: ids("adding user "),
                updated: Vec::new(),
                removed: ids("remove user "),
            },
            groups: Changes {
                added: ids("adding group "),
                updated: Vec::new(),
                removed: ids("remove group "),
            },
            acl_removed,
        }
    }

    pub fn changed(&self) -> bool {
        !(self.users.is_empty() && self.groups.is_empty() && self.acl_removed.is_empty())
    }

    /// The state a dry run predicts: `before` with the additions (their
    /// fields unknown) and without the removals.
    pub fn predict(&self, before: &Snapshot) -> Snapshot {
        let mut after = before.clone();
        for (map, c) in [
            (&mut after.users, &self.users),
            (&mut after.groups, &self.groups),
        ] {
            for id in &c.removed {
                map.remove(id);
            }
            for id in &c.added {
                map.insert(id.clone(), json!({}));
            }
        }
        for e in &self.acl_removed {
            after.acl.remove(e);
        }
        after
    }

    /// `added`, `updated` and `removed`, each `{users, groups}`; `removed`
    /// also lists the ACL entries.
    pub fn to_result(&self, out: &mut Map<String, Value>) {
        out.insert(
            "added".into(),
            json!({"users": self.users.added, "groups": self.groups.added}),
        );
        out.insert(
            "updated".into(),
            json!({"users": self.users.updated, "groups": self.groups.updated}),
        );
        out.insert(
            "removed".into(),
            json!({"users": self.users.removed, "groups": self.groups.removed, "acl": self.acl_removed}),
        );
    }

    /// One line: what changed, or that nothing did.
    pub fn message(&self, realm: &str, dry_run: bool) -> String {
        let mut parts = Vec::new();
        let verb = |done: &str| {
            if dry_run {
                format!("would be {done}")
            } else {
                done.to_string()
            }
        };
        for (what, ids, done) in [
            ("user", &self.users.added, "added"),
            ("user", &self.users.updated, "updated"),
            ("user", &self.users.removed, "removed"),
            ("group", &self.groups.added, "added"),
            ("group", &self.groups.updated, "updated"),
            ("group", &self.groups.removed, "removed"),
            ("ACL entry", &self.acl_removed, "removed"),
        ] {
            if !ids.is_empty() {
                let plural = match (what, ids.len()) {
                    (_, 1) => what.to_string(),
                    ("ACL entry", _) => "ACL entries".to_string(),
                    _ => format!("{what}s"),
                };
                parts.push(format!(
                    "{} {plural} {} ({})",
                    ids.len(),
                    verb(done),
                    ids.join(", ")
                ));
            }
        }
        let what = if parts.is_empty() {
            "nothing changed".to_string()
        } else {
            parts.join("; ")
        };
        if dry_run {
            format!(
                "realm '{realm}' dry run: {what}; a dry run does not show changed attributes or group members"
            )
        } else {
            format!("realm '{realm}' synced: {what}")
        }
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
