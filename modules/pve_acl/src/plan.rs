//! The pure part of pve_acl: the task's entries, checked, and the fewest
//! `PUT /access/acl` requests that turn the server's ACL into what the task
//! asks for. No I/O here; `main.rs` reads, calls [`plan`] and sends.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{json, Params, Value};
use pve_api::access::{AclEntry, PrincipalKind};
use pve_api::self_lockout::Change;
use pve_api::{ids, ApiRequest};

/// A user id, a bare group name or a full token id, with its kind.
pub type Principal = (PrincipalKind, String);

/// One ACL entry as a key: path, principal, role.
type Key = (String, Principal, String);

/// One entry of the task (the single-entry options or one `entries` item),
/// checked: a normalised path, role ids, principals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub roles: Vec<String>,
    pub principals: Vec<Principal>,
    pub propagate: bool,
    pub present: bool,
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub items: Vec<Item>,
    pub exclusive: bool,
    /// Said to the user, the task still runs (entries for root@pam).
    pub warnings: Vec<String>,
}

fn list_items(p: &Params, name: &str) -> Vec<String> {
    // Items may themselves be "A,B" or "A B", as pveum accepts.
    p.list(name)
        .unwrap_or_default()
        .iter()
        .flat_map(|item| ids::split_list(item))
        .collect()
}

fn state_present(state: Option<&str>, default: bool) -> bool {
    match state {
        Some("absent") => false,
        Some(_) => true,
        None => default,
    }
}

/// Reads one entry; `at` names it in messages (`entries[1]: ...`).
fn item_from(
    p: &Params,
    at: &str,
    propagate: bool,
    present: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<Item>, String> {
    let raw = p
        .str("path")
        .ok_or_else(|| format!("{at}path is required"))?;
    let path = ids::normalize_acl_path(raw).ok_or_else(|| {
        format!(
            "{at}invalid ACL path '{raw}': PVE paths hold only letters, digits, '.', '-', '_' and '/', such as /, /vms/100 or /storage/local"
        )
    })?;
    if present && !ids::check_acl_path(&path) {
        return Err(format!(
            "{at}invalid ACL path '{raw}': PVE accepts ACL entries only on its own paths: /, /access, /access/groups/GROUP, /access/realm/REALM, /nodes/NODE, /pool/POOL, /sdn/..., /storage/STORAGE, /vms/VMID (100 or more), /mapping/..."
        ));
    }
    let Some(roles) = p.get("roles").map(|_| list_items(p, "roles")) else {
        return Err(format!(
            "{at}roles is required (the roles to grant or revoke on '{path}')"
        ));
    };
    for r in &roles {
        ids::verify_roleid(r).map_err(|e| format!("{at}roles: {e}"))?;
    }
    let mut principals = Vec::new();
    for u in list_items(p, "users") {
        ids::parse_userid(&u).map_err(|e| format!("{at}users: {e}"))?;
        if u == "root@pam" {
            warnings.push(format!(
                "{at}root@pam left out: it always holds every privilege and PVE never stores ACL entries for it"
            ));
            continue;
        }
        principals.push((PrincipalKind::User, u));
    }
    for g in list_items(p, "groups") {
        ids::verify_groupid(&g).map_err(|e| format!("{at}groups: {e}"))?;
        principals.push((PrincipalKind::Group, g));
    }
    for t in list_items(p, "tokens") {
        if !t.contains('!') {
            return Err(format!(
                "{at}tokens: '{t}' is not a full token id: give it as user@realm!{t}"
            ));
        }
        let id = ids::parse_tokenid(&t, None).map_err(|e| format!("{at}tokens: {e}"))?;
        principals.push((PrincipalKind::Token, id.full()));
    }
    if principals.is_empty() {
        if ["users", "groups", "tokens"].iter().any(|k| p.is_set(k)) {
            // Only root@pam was named: nothing to do, already warned.
            return Ok(None);
        }
        return Err(format!(
            "{at}either 'users', 'groups' or 'tokens' is required: who gets the roles on '{path}'"
        ));
    }
    Ok(Some(Item {
        path,
        roles: pve_api::access::sorted_unique(roles),
        principals: principals
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        propagate,
        present,
    }))
}

impl Desired {
    /// Reads and checks the options: paths normalised and allowed, ids well
    /// formed, no entry asked for twice in different ways. Needs no server.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let propagate = p.bool("propagate").unwrap_or(true);
        let present = state_present(p.str("state"), true);
        let mut warnings = Vec::new();
        let mut items = Vec::new();
        if let Some(entries) = p.dicts("entries") {
            for (i, e) in entries.iter().enumerate() {
                let at = format!("entries[{i}]: ");
                // An entry without its own propagate/state takes the task's.
                let item = item_from(
                    e,
                    &at,
                    e.bool("propagate").unwrap_or(propagate),
                    state_present(e.str("state"), present),
                    &mut warnings,
                )?;
                items.extend(item);
            }
        } else if p.is_set("path") {
            items.extend(item_from(p, "", propagate, present, &mut warnings)?);
        } else {
            return Err("one of path or entries is required".into());
        }
        let d = Desired {
            items,
            exclusive: p.bool("exclusive").unwrap_or(false),
            warnings,
        };
        d.wanted()?;
        Ok(d)
    }

    /// Every (path, principal, role) the task names: `Some(propagate)` to
    /// exist with that flag, `None` to be absent. Contradictions fail.
    fn wanted(&self) -> Result<BTreeMap<Key, Option<bool>>, String> {
        let mut out: BTreeMap<Key, Option<bool>> = BTreeMap::new();
        for item in &self.items {
            let want = item.present.then_some(item.propagate);
            for pr in &item.principals {
                for role in &item.roles {
                    let key = (item.path.clone(), pr.clone(), role.clone());
                    match out.get(&key) {
                        Some(prev) if *prev != want => {
                            return Err(format!(
                                "the task asks for role '{role}' of {} on '{}' twice, differently ({} and {}): keep one",
                                who(pr),
                                item.path,
                                want_text(*prev),
                                want_text(want)
                            ));
                        }
                        _ => {
                            out.insert(key, want);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The principals the task names (the ones `exclusive` acts on).
    pub fn principals(&self) -> BTreeSet<Principal> {
        self.items
            .iter()
            .flat_map(|i| i.principals.iter().cloned())
            .collect()
    }

    fn paths(&self) -> BTreeSet<String> {
        self.items.iter().map(|i| i.path.clone()).collect()
    }
}

fn want_text(w: Option<bool>) -> &'static str {
    match w {
        Some(true) => "present with propagate",
        Some(false) => "present without propagate",
        None => "absent",
    }
}

/// How messages name a principal: `user 'joe@pve'`.
pub fn who((kind, id): &Principal) -> String {
    format!("{} '{id}'", kind.as_str())
}

/// One `PUT /access/acl`: every role for every principal on one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Put {
    pub path: String,
    pub roles: BTreeSet<String>,
    pub principals: BTreeSet<Principal>,
    /// `None` for a removal (`delete=1`), which ignores the flag.
    pub propagate: Option<bool>,
}

impl Put {
    pub fn request(&self) -> ApiRequest {
        let mut req = ApiRequest::put("/access/acl")
            .param("path", &self.path)
            .param("roles", join(self.roles.iter()));
        for kind in [
            PrincipalKind::User,
            PrincipalKind::Group,
            PrincipalKind::Token,
        ] {
            let ids: Vec<&String> = self
                .principals
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| id)
                .collect();
            if !ids.is_empty() {
                req = req.param(kind.param(), join(ids.into_iter()));
            }
        }
        match self.propagate {
            Some(p) => req.param("propagate", u8::from(p)),
            None => req.param("delete", 1),
        }
    }

    /// Whether `acl` (read back after an answer was lost) shows this request
    /// applied. PVE writes all of one request or nothing, so one check does.
    pub fn applied(&self, acl: &[AclEntry]) -> bool {
        let have: BTreeMap<Key, bool> = acl.iter().map(|e| (key(e), e.propagate)).collect();
        self.keys().all(|k| match self.propagate {
            Some(p) => have.get(&k) == Some(&p),
            None => !have.contains_key(&k),
        })
    }

    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.principals.iter().flat_map(move |pr| {
            self.roles
                .iter()
                .map(move |r| (self.path.clone(), pr.clone(), r.clone()))
        })
    }

    /// The request in words, for messages.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.principals.iter().map(who).collect();
        let verb = if self.propagate.is_some() {
            "grant"
        } else {
            "revoke"
        };
        format!(
            "{verb} {} on '{}' for {}",
            join(self.roles.iter()),
            self.path,
            names.join(", ")
        )
    }
}

fn join<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items.map(String::as_str).collect::<Vec<_>>().join(",")
}

fn key(e: &AclEntry) -> Key {
    (e.path.clone(), (e.kind, e.ugid.clone()), e.roleid.clone())
}

/// What the run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// In the order they are sent: grants first, so an entry being replaced
    /// is never missing in between, then removals.
    pub puts: Vec<Put>,
    pub changed: bool,
    /// The task's entries before and after (sorted lists).
    pub before: Value,
    pub after: Value,
    /// `{action: add|update|remove, path, type, ugid, roleid, propagate}`.
    pub changes: Vec<Value>,
    pub msg: String,
    /// Entries removed or no longer propagated, and NoAccess granted, for
    /// the self-lockout rule ([`pve_api::self_lockout`]).
    pub lockout: Vec<Change>,
}

fn entry(k: &Key, propagate: bool) -> AclEntry {
    AclEntry {
        path: k.0.clone(),
        kind: k.1 .0,
        ugid: k.1 .1.clone(),
        roleid: k.2.clone(),
        propagate,
    }
}

fn change(action: &str, k: &Key, propagate: bool) -> Value {
    let mut v = entry(k, propagate).to_json();
    v["action"] = json!(action);
    v
}

/// Plans the task against the server's ACL (`GET /access/acl`).
/// `check_mode` only changes the wording.
pub fn plan(d: &Desired, current: &[AclEntry], check_mode: bool) -> Result<Plan, String> {
    let wanted = d.wanted()?;
    let named = d.principals();
    let now: BTreeMap<Key, bool> = current.iter().map(|e| (key(e), e.propagate)).collect();

    let mut after = now.clone();
    for (k, w) in &wanted {
        match w {
            Some(p) => {
                after.insert(k.clone(), *p);
            }
            None => {
                after.remove(k);
            }
        }
    }
    if d.exclusive {
        after.retain(|k, _| !named.contains(&k.1) || wanted.get(k).is_some_and(Option::is_some));
    }

    // Losing an entry, or its propagation, is losing access, and so is
    // gaining NoAccess: the self-lockout rule judges whose.
    let mut lockout: Vec<Change> = now
        .iter()
        .filter_map(|(k, p)| match after.get(k) {
            None => Some(Change::AclEntry {
                entry: entry(k, *p),
                propagation_only: false,
            }),
            Some(a) if *p && !a => Some(Change::AclEntry {
                entry: entry(k, *p),
                propagation_only: true,
            }),
            Some(_) => None,
        })
        .collect();
    lockout.extend(
        after
            .iter()
            .filter(|(k, _)| k.2 == "NoAccess" && !now.contains_key(*k))
            .map(|(k, p)| Change::NoAccessGranted(entry(k, *p))),
    );

    let puts = group_puts(&now, &after);
    let mut changes = Vec::new();
    let (mut added, mut updated, mut removed) = (0, 0, 0);
    for put in &puts {
        for k in put.keys() {
            match (now.get(&k), after.get(&k), put.propagate) {
                (None, Some(p), Some(_)) => {
                    added += 1;
                    changes.push(change("add", &k, *p));
                }
                (Some(a), Some(b), Some(_)) if a != b => {
                    updated += 1;
                    changes.push(change("update", &k, *b));
                }
                (Some(p), None, None) => {
                    removed += 1;
                    changes.push(change("remove", &k, *p));
                }
                _ => {}
            }
        }
    }
    let changed = !puts.is_empty();
    let msg = if !changed {
        "ACL entries unchanged".to_string()
    } else if check_mode {
        format!("would add {added}, change {updated} and remove {removed} ACL entries")
    } else {
        format!("added {added}, changed {updated} and removed {removed} ACL entries")
    };
    let paths = d.paths();
    let shown = |k: &Key| named.contains(&k.1) && (d.exclusive || paths.contains(&k.0));
    let view = |m: &BTreeMap<Key, bool>| {
        Value::Array(
            m.iter()
                .filter(|(k, _)| shown(k))
                .map(|(k, p)| entry(k, *p).to_json())
                .collect(),
        )
    };
    Ok(Plan {
        changed,
        before: view(&now),
        after: view(&after),
        puts,
        changes,
        msg,
        lockout,
    })
}

/// The fewest requests from `now` to `after`. One request sets every role
/// for every principal it names on one path, so pairs are grouped into
/// rectangles; a rectangle may also cover pairs the request leaves as they
/// are (granting an entry that exists with the same flag, revoking one that
/// does not exist), which PVE treats as no-ops.
fn group_puts(now: &BTreeMap<Key, bool>, after: &BTreeMap<Key, bool>) -> Vec<Put> {
    // (path, Some(propagate) | None for removal) -> pairs to change.
    let mut todo: BTreeMap<(String, Option<bool>), Pairs> = BTreeMap::new();
    for (k, p) in after {
        if now.get(k) != Some(p) {
            todo.entry((k.0.clone(), Some(*p)))
                .or_default()
                .insert((k.1.clone(), k.2.clone()));
        }
    }
    for k in now.keys() {
        if !after.contains_key(k) {
            todo.entry((k.0.clone(), None))
                .or_default()
                .insert((k.1.clone(), k.2.clone()));
        }
    }
    let mut grants = Vec::new();
    let mut revokes = Vec::new();
    for ((path, propagate), pairs) in todo {
        let harmless = |pr: &Principal, role: &String| {
            let k = (path.clone(), pr.clone(), role.clone());
            match propagate {
                Some(p) => now.get(&k) == Some(&p) && after.get(&k) == Some(&p),
                None => !now.contains_key(&k) && !after.contains_key(&k),
            }
        };
        let rects = rectangles(&pairs, &harmless);
        let out = if propagate.is_some() {
            &mut grants
        } else {
            &mut revokes
        };
        out.extend(rects.into_iter().map(|(principals, roles)| Put {
            path: path.clone(),
            roles,
            principals,
            propagate,
        }));
    }
    grants.extend(revokes);
    grants
}

type Rect = (BTreeSet<Principal>, BTreeSet<String>);

/// (principal, role) pairs on one path.
type Pairs = BTreeSet<(Principal, String)>;

/// Covers `pairs` with principal × role rectangles whose other pairs are
/// all `harmless`: principals with the same roles first, then greedy merges.
fn rectangles(pairs: &Pairs, harmless: &dyn Fn(&Principal, &String) -> bool) -> Vec<Rect> {
    let mut roles_of: BTreeMap<&Principal, BTreeSet<String>> = BTreeMap::new();
    for (pr, role) in pairs {
        roles_of.entry(pr).or_default().insert(role.clone());
    }
    let mut by_roles: BTreeMap<BTreeSet<String>, BTreeSet<Principal>> = BTreeMap::new();
    for (pr, roles) in roles_of {
        by_roles.entry(roles).or_default().insert(pr.clone());
    }
    let mut rects: Vec<Rect> = by_roles.into_iter().map(|(r, p)| (p, r)).collect();
    let fits = |(ps, rs): &Rect| {
        ps.iter().all(|pr| {
            rs.iter()
                .all(|r| pairs.contains(&(pr.clone(), r.clone())) || harmless(pr, r))
        })
    };
    'merge: loop {
        for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                let merged: Rect = (
                    rects[i].0.union(&rects[j].0).cloned().collect(),
                    rects[i].1.union(&rects[j].1).cloned().collect(),
                );
                if fits(&merged) {
                    rects[i] = merged;
                    rects.remove(j);
                    continue 'merge;
                }
            }
        }
        break;
    }
    rects
}

/// What the server has, for checking the task's names before any write.
/// `None` where it was not read (nothing of that kind is written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    pub roles: Option<BTreeSet<String>>,
    pub users: Option<BTreeSet<String>>,
    pub groups: Option<BTreeSet<String>>,
    /// Full token ids.
    pub tokens: Option<BTreeSet<String>>,
}

/// Which lists `check_names` needs: (roles, users and tokens, groups).
pub fn needs(plan: &Plan) -> (bool, bool, bool) {
    let all: BTreeSet<PrincipalKind> = plan
        .puts
        .iter()
        .flat_map(|p| p.principals.iter().map(|(k, _)| *k))
        .collect();
    (
        !plan.puts.is_empty(),
        all.contains(&PrincipalKind::User) || all.contains(&PrincipalKind::Token),
        all.contains(&PrincipalKind::Group),
    )
}

/// Every role and principal the requests name must exist: PVE would
/// refuse the request otherwise, possibly after earlier ones were applied.
pub fn check_names(plan: &Plan, known: &Known) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for put in &plan.puts {
        for role in &put.roles {
            if known.roles.as_ref().is_some_and(|r| !r.contains(role)) && seen.insert(role.clone())
            {
                missing.push(format!(
                    "role '{role}' does not exist (create it first, e.g. with pve.access.pve_role)"
                ));
            }
        }
        for pr in &put.principals {
            let (kind, id) = pr;
            let list = match kind {
                PrincipalKind::User => &known.users,
                PrincipalKind::Group => &known.groups,
                PrincipalKind::Token => &known.tokens,
            };
            if list.as_ref().is_some_and(|l| !l.contains(id)) && seen.insert(id.clone()) {
                let hint = match kind {
                    PrincipalKind::User => "pve.access.pve_user",
                    PrincipalKind::Group => "pve.access.pve_group",
                    PrincipalKind::Token => "pve.access.pve_token",
                };
                missing.push(format!(
                    "{} does not exist (create it first, e.g. with {hint}, or fix the name)",
                    who(pr)
                ));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ACL not changed: {}. Nothing was written",
            missing.join("; ")
        ))
    }
}

/// Paths only newer PVE versions accept (such as `/sdn/fabrics`, 9.0+)
/// that the plan grants on, with the version each needs.
pub fn newer_paths(plan: &Plan) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = plan
        .puts
        .iter()
        .filter(|p| p.propagate.is_some())
        .filter_map(|p| Some((p.path.clone(), ids::acl_path_min_version(&p.path)?)))
        .collect();
    out.dedup();
    out
}

/// Refuses those paths when the server (`version`, such as `8.4.1`) is
/// older than they need.
pub fn check_versions(paths: &[(String, &'static str)], version: &str) -> Result<(), String> {
    let parse = |v: &str| -> (u32, u32) {
        let mut it = v.split(['.', '-']).map(|n| n.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    let have = parse(version);
    let bad: Vec<String> = paths
        .iter()
        .filter(|(_, need)| have < parse(need))
        .map(|(p, need)| format!("'{p}' (PVE {need} or later)"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid ACL path {}: this server runs PVE {version}, which does not accept ACL entries there. Nothing was written",
            bad.join(", ")
        ))
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
