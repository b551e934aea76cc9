//! The pure part of pve_acl: the task's entries, checked, and the fewest
//! `PUT /access/acl` requests that turn the server's ACL into what the task
//! asks for. No I/O here; `main.rs` reads, calls [`plan`] and sends.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{json, Params, Value};
use pve_api::access::{AclEntry, PrincipalKind};
use pve_api::{ids, ApiRequest, Identity};

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
    pub allow_self_lockout: bool,
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
            allow_self_lockout: p.bool("allow_self_lockout").unwrap_or(false),
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
}

/// The principals whose entries are the module's own access: the login's
/// user, or the token and its owner. A token's permissions never exceed its
/// owner's (all of them with privilege separation off, the intersection
/// with its own entries with it on), so the owner's entries are its access
/// either way.
pub fn protected(identity: &Identity) -> Vec<Principal> {
    match identity {
        Identity::User(u) => vec![(PrincipalKind::User, u.clone())],
        Identity::Token { owner, full, .. } => vec![
            (PrincipalKind::Token, full.clone()),
            (PrincipalKind::User, owner.clone()),
        ],
        // root@pam holds everything without any entry.
        Identity::LocalRoot => vec![],
    }
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

/// Plans the task against the server's ACL (`GET /access/acl`). `identity`
/// is who the module logged in as; `check_mode` only changes the wording.
pub fn plan(
    d: &Desired,
    current: &[AclEntry],
    identity: &Identity,
    check_mode: bool,
) -> Result<Plan, String> {
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

    // Self-lockout: losing an entry, or its propagation, is losing access.
    if !d.allow_self_lockout {
        let mine = protected(identity);
        let lost: Vec<String> = now
            .iter()
            .filter(|(k, p)| mine.contains(&k.1) && after.get(*k).is_none_or(|a| **p && !a))
            .map(|(k, p)| {
                let what = if after.contains_key(k) {
                    "the propagation of"
                } else {
                    "the entry"
                };
                format!(
                    "{what} role '{}' of {} on '{}'{}",
                    k.2,
                    who(&k.1),
                    k.0,
                    if *p { " (propagated)" } else { "" }
                )
            })
            .collect();
        if !lost.is_empty() {
            return Err(format!(
                "refusing to remove {}: it is the access of {} this module authenticates as, and the task could lock it out. Nothing was changed. Log in as another administrator, or set allow_self_lockout: true if this is intended",
                lost.join(", "),
                identity.authid()
            ));
        }
    }

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
                    "{} does not exist (create it first, e.g. with {hint}, or fix the name; a login without Sys.Audit or User.Modify on /access/groups does not see it either)",
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
mod tests {
    use super::*;
    use ansible_module::Map;
    use PrincipalKind::{Group, Token, User};

    fn params(v: Value) -> Params {
        let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
        for (k, d) in [
            ("propagate", json!(true)),
            ("state", json!("present")),
            ("exclusive", json!(false)),
            ("allow_self_lockout", json!(false)),
        ] {
            m.entry(k).or_insert(d);
        }
        // Entries are Params of their own, as the validator makes them.
        Params::from_map(m)
    }

    fn desired(v: Value) -> Desired {
        Desired::from_params(&params(v)).unwrap()
    }

    fn refused(v: Value) -> String {
        Desired::from_params(&params(v)).unwrap_err()
    }

    fn acl(path: &str, kind: PrincipalKind, ugid: &str, role: &str, propagate: bool) -> AclEntry {
        AclEntry {
            path: path.into(),
            kind,
            ugid: ugid.into(),
            roleid: role.into(),
            propagate,
        }
    }

    fn root() -> Identity {
        Identity::User("root@pam".into())
    }

    fn ok(d: &Desired, cur: &[AclEntry]) -> Plan {
        plan(d, cur, &root(), false).unwrap()
    }

    fn reqs(p: &Plan) -> Vec<ApiRequest> {
        p.puts.iter().map(Put::request).collect()
    }

    /// The server after the plan's requests, applied as PVE applies them.
    fn apply(cur: &[AclEntry], p: &Plan) -> Vec<AclEntry> {
        let mut m: BTreeMap<Key, bool> = cur.iter().map(|e| (key(e), e.propagate)).collect();
        for put in &p.puts {
            for k in put.keys() {
                match put.propagate {
                    Some(f) => {
                        m.insert(k, f);
                    }
                    None => {
                        m.remove(&k);
                    }
                }
            }
        }
        m.iter().map(|(k, p)| entry(k, *p)).collect()
    }

    fn put(path: &str) -> ApiRequest {
        ApiRequest::put("/access/acl").param("path", path)
    }

    #[test]
    fn single_entry_options_are_read() {
        let d = desired(
            json!({"path": "/vms/100/", "roles": ["PVEVMUser", "PVEAuditor,PVEVMUser"],
            "users": ["joe@pve"], "groups": ["ops"], "tokens": ["ci@pve!deploy"], "propagate": false}),
        );
        assert_eq!(
            d.items,
            vec![Item {
                path: "/vms/100".into(),
                roles: vec!["PVEAuditor".into(), "PVEVMUser".into()],
                principals: vec![
                    (User, "joe@pve".into()),
                    (Group, "ops".into()),
                    (Token, "ci@pve!deploy".into())
                ],
                propagate: false,
                present: true,
            }]
        );
        assert!(!d.exclusive && !d.allow_self_lockout);
    }

    #[test]
    fn entries_take_the_tasks_state_and_propagate_unless_given() {
        let d = desired(json!({"state": "absent", "propagate": false, "entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "storage", "roles": ["B"], "groups": ["g"], "state": "present", "propagate": true},
        ]}));
        assert_eq!(d.items.len(), 2);
        assert!(!d.items[0].present && !d.items[0].propagate);
        assert!(d.items[1].present && d.items[1].propagate);
        assert_eq!(d.items[1].path, "/storage");
    }

    #[test]
    fn validation_failures_name_the_entry() {
        let e = refused(json!({"path": "/users", "roles": ["A"], "users": ["a@pve"]}));
        assert!(
            e.starts_with(
                "invalid ACL path '/users': PVE accepts ACL entries only on its own paths"
            ),
            "{e}"
        );
        let e = refused(
            json!({"entries": [{"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "/vms/99", "roles": ["A"], "users": ["a@pve"]}]}),
        );
        assert!(
            e.starts_with("entries[1]: invalid ACL path '/vms/99'"),
            "{e}"
        );
        let e = refused(json!({"path": "/vms/1 00", "roles": ["A"], "users": ["a@pve"]}));
        assert!(
            e.starts_with("invalid ACL path '/vms/1 00': PVE paths hold only"),
            "{e}"
        );
        // Removing works on any path that normalises, as in PVE.
        let d = desired(
            json!({"path": "/users/", "roles": ["A"], "users": ["a@pve"], "state": "absent"}),
        );
        assert_eq!(d.items[0].path, "/users");
        let e = refused(json!({"path": "/", "roles": ["A"]}));
        assert!(
            e.starts_with("either 'users', 'groups' or 'tokens' is required"),
            "{e}"
        );
        let e = refused(json!({"path": "/", "users": ["a@pve"]}));
        assert!(e.starts_with("roles is required"), "{e}");
        let e = refused(json!({"path": "/", "roles": ["A"], "users": ["nobody"]}));
        assert!(e.starts_with("users: "), "{e}");
        let e = refused(json!({"path": "/", "roles": ["A"], "tokens": ["deploy"]}));
        assert!(
            e.contains("not a full token id: give it as user@realm!deploy"),
            "{e}"
        );
        let e = refused(json!({"path": "/", "roles": ["bad role!"], "groups": ["g"]}));
        assert!(e.starts_with("roles: "), "{e}");
        let e = refused(json!({"path": "/", "roles": ["A"], "groups": ["bad/group"]}));
        assert!(e.starts_with("groups: "), "{e}");
        let e = refused(json!({"roles": ["A"], "groups": ["g"]}));
        assert_eq!(e, "one of path or entries is required");
        // The same entry asked for in two ways.
        let e = refused(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "/", "roles": ["A"], "users": ["a@pve"], "propagate": false}]}));
        assert!(
            e.contains("twice, differently (present with propagate and present without propagate)"),
            "{e}"
        );
        let e = refused(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "//", "roles": ["A"], "users": ["a@pve"], "state": "absent"}]}));
        assert!(e.contains("role 'A' of user 'a@pve' on '/' twice"), "{e}");
    }

    #[test]
    fn root_pam_is_left_out_with_a_warning() {
        let d = desired(json!({"path": "/", "roles": ["A"], "users": ["root@pam", "a@pve"]}));
        assert_eq!(d.items[0].principals, vec![(User, "a@pve".to_string())]);
        assert_eq!(d.warnings.len(), 1);
        let d = desired(json!({"path": "/", "roles": ["A"], "users": ["root@pam"]}));
        assert!(d.items.is_empty());
        let p = ok(&d, &[]);
        assert!(!p.changed);
    }

    #[test]
    fn create_is_one_put_for_all_principal_kinds() {
        let d = desired(json!({"path": "/", "roles": ["B", "A"], "users": ["u@pve"],
            "groups": ["g"], "tokens": ["u@pve!tok"]}));
        let p = ok(&d, &[]);
        assert!(p.changed);
        assert_eq!(
            reqs(&p),
            vec![put("/")
                .param("roles", "A,B")
                .param("users", "u@pve")
                .param("groups", "g")
                .param("tokens", "u@pve!tok")
                .param("propagate", 1)]
        );
        assert_eq!(p.msg, "added 6, changed 0 and removed 0 ACL entries");
        assert_eq!(p.changes.len(), 6);
        assert_eq!(
            p.changes[0],
            json!({"action": "add", "path": "/", "type": "user", "ugid": "u@pve", "roleid": "A", "propagate": true})
        );
        assert_eq!(p.before, json!([]));
        assert_eq!(p.after.as_array().map(Vec::len), Some(6));
        assert_eq!(
            plan(&d, &[], &root(), true).unwrap().msg,
            "would add 6, change 0 and remove 0 ACL entries"
        );
    }

    #[test]
    fn many_entries_are_grouped_into_the_fewest_puts() {
        let d = desired(json!({"entries": [
            {"path": "/vms/100", "roles": ["PVEVMUser"], "groups": ["ops"]},
            {"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["a@pve"]},
            {"path": "/vms/101", "roles": ["PVEVMUser"], "groups": ["ops"]},
            {"path": "/storage/local", "roles": ["PVEDatastoreUser"], "groups": ["ops"], "propagate": false},
            {"path": "/storage/local", "roles": ["PVEAuditor"], "groups": ["ops"]},
        ]}));
        let p = ok(&d, &[]);
        assert_eq!(
            reqs(&p),
            vec![
                put("/storage/local")
                    .param("roles", "PVEDatastoreUser")
                    .param("groups", "ops")
                    .param("propagate", 0),
                put("/storage/local")
                    .param("roles", "PVEAuditor")
                    .param("groups", "ops")
                    .param("propagate", 1),
                put("/vms/100")
                    .param("roles", "PVEVMUser")
                    .param("users", "a@pve")
                    .param("groups", "ops")
                    .param("propagate", 1),
                put("/vms/101")
                    .param("roles", "PVEVMUser")
                    .param("groups", "ops")
                    .param("propagate", 1),
            ]
        );
        let after = apply(&[], &p);
        assert_eq!(after.len(), 5);
        assert!(!ok(&d, &after).changed);
    }

    #[test]
    fn existing_entries_are_covered_when_that_saves_a_request() {
        // a already has A: granting A,B to a and b is still one request.
        let cur = [acl("/", User, "a@pve", "A", true)];
        let d = desired(json!({"path": "/", "roles": ["A", "B"], "users": ["a@pve", "b@pve"]}));
        let p = ok(&d, &cur);
        assert_eq!(
            reqs(&p),
            vec![put("/")
                .param("roles", "A,B")
                .param("users", "a@pve,b@pve")
                .param("propagate", 1)]
        );
        assert_eq!(p.changes.len(), 3, "only real changes are listed");
        assert_eq!(p.msg, "added 3, changed 0 and removed 0 ACL entries");
        // Not when the existing entry has the other flag: that would change it.
        let cur = [acl("/", User, "a@pve", "A", false)];
        let d = desired(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"], "propagate": false},
            {"path": "/", "roles": ["B"], "users": ["a@pve"]},
            {"path": "/", "roles": ["A", "B"], "users": ["b@pve"]}]}));
        let p = ok(&d, &cur);
        assert_eq!(p.puts.len(), 2);
        assert_eq!(
            apply(&cur, &p)
                .iter()
                .filter(|e| e.ugid == "a@pve" && e.roleid == "A")
                .map(|e| e.propagate)
                .collect::<Vec<_>>(),
            vec![false]
        );
    }

    #[test]
    fn no_op_in_any_order() {
        let cur = [
            acl("/", Group, "ops", "A", true),
            acl("/", Group, "ops", "B", true),
            acl("/", User, "x@pve", "C", true),
        ];
        for d in [
            desired(json!({"path": "/", "roles": ["B", "A"], "groups": ["ops"]})),
            desired(json!({"path": "//", "roles": ["A,B"], "groups": ["ops", "ops"]})),
            desired(json!({"path": "/", "roles": ["Z"], "groups": ["ops"], "state": "absent"})),
            desired(
                json!({"path": "/", "roles": ["A", "B"], "groups": ["ops"], "exclusive": true}),
            ),
        ]
        .into_iter()
        .filter(|d| !d.items.is_empty())
        {
            let p = ok(&d, &cur);
            assert!(!p.changed, "{d:?}");
            assert!(p.puts.is_empty() && p.changes.is_empty());
            assert_eq!(p.before, p.after);
            assert_eq!(p.msg, "ACL entries unchanged");
        }
    }

    #[test]
    fn propagate_change_is_an_update() {
        let cur = [acl("/vms/100", User, "a@pve", "A", true)];
        let d = desired(
            json!({"path": "/vms/100", "roles": ["A"], "users": ["a@pve"], "propagate": false}),
        );
        let p = ok(&d, &cur);
        assert_eq!(
            reqs(&p),
            vec![put("/vms/100")
                .param("roles", "A")
                .param("users", "a@pve")
                .param("propagate", 0)]
        );
        assert_eq!(
            p.changes,
            vec![
                json!({"action": "update", "path": "/vms/100", "type": "user", "ugid": "a@pve", "roleid": "A", "propagate": false})
            ]
        );
        assert_eq!(p.msg, "added 0, changed 1 and removed 0 ACL entries");
        assert_eq!(p.before[0]["propagate"], json!(true));
        assert_eq!(p.after[0]["propagate"], json!(false));
    }

    #[test]
    fn absent_removes_only_what_exists() {
        let cur = [
            acl("/", User, "a@pve", "A", false),
            acl("/", User, "b@pve", "A", true),
        ];
        let d = desired(
            json!({"path": "/", "roles": ["A", "B"], "users": ["a@pve", "c@pve"], "state": "absent"}),
        );
        let p = ok(&d, &cur);
        assert_eq!(
            reqs(&p),
            vec![put("/")
                .param("roles", "A")
                .param("users", "a@pve")
                .param("delete", 1)]
        );
        assert_eq!(
            p.changes,
            vec![
                json!({"action": "remove", "path": "/", "type": "user", "ugid": "a@pve", "roleid": "A", "propagate": false})
            ]
        );
        assert_eq!(p.after, json!([]));
        assert_eq!(p.msg, "added 0, changed 0 and removed 1 ACL entries");
        // b@pve, not named, stays.
        assert_eq!(apply(&cur, &p), vec![cur[1].clone()]);
    }

    #[test]
    fn removals_are_grouped_and_sent_after_grants() {
        let cur = [
            acl("/", User, "a@pve", "A", true),
            acl("/", User, "b@pve", "B", true),
            acl("/", Group, "g", "A", true),
        ];
        let d = desired(json!({"entries": [
            {"path": "/", "roles": ["A", "B"], "users": ["a@pve", "b@pve"], "groups": ["g"], "state": "absent"},
            {"path": "/", "roles": ["C"], "users": ["a@pve"]}]}));
        let p = ok(&d, &cur);
        // a:A, b:B, g:A to remove: one request, the others absent anyway.
        assert_eq!(
            reqs(&p),
            vec![
                put("/")
                    .param("roles", "C")
                    .param("users", "a@pve")
                    .param("propagate", 1),
                put("/")
                    .param("roles", "A,B")
                    .param("users", "a@pve,b@pve")
                    .param("groups", "g")
                    .param("delete", 1),
            ]
        );
        assert_eq!(apply(&cur, &p), vec![acl("/", User, "a@pve", "C", true)]);
    }

    #[test]
    fn exclusive_touches_only_named_principals() {
        let cur = [
            acl("/", Group, "auditors", "PVEAuditor", true),
            acl("/", Group, "auditors", "PVEVMAdmin", true),
            acl("/vms/100", Group, "auditors", "PVEVMUser", false),
            acl("/vms/100", Group, "others", "PVEVMUser", true),
            acl("/vms/100", User, "a@pve", "PVEVMUser", true),
        ];
        let d = desired(
            json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["auditors"]}], "exclusive": true}),
        );
        let p = ok(&d, &cur);
        assert_eq!(
            reqs(&p),
            vec![
                put("/")
                    .param("roles", "PVEVMAdmin")
                    .param("groups", "auditors")
                    .param("delete", 1),
                put("/vms/100")
                    .param("roles", "PVEVMUser")
                    .param("groups", "auditors")
                    .param("delete", 1),
            ]
        );
        assert_eq!(p.msg, "added 0, changed 0 and removed 2 ACL entries");
        // Before/after show every entry of the named principals, on any path.
        assert_eq!(p.before.as_array().map(Vec::len), Some(3));
        assert_eq!(
            p.after,
            json!([{"path": "/", "type": "group", "ugid": "auditors", "roleid": "PVEAuditor", "propagate": true}])
        );
        assert_eq!(
            apply(&cur, &p),
            vec![cur[0].clone(), cur[4].clone(), cur[3].clone()]
        );
        // Without exclusive the other entries stay.
        let d = desired(
            json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["auditors"]}]}),
        );
        assert!(!ok(&d, &cur).changed);
        // A principal named only in an absent entry ends up with nothing.
        let d = desired(
            json!({"path": "/", "roles": ["X"], "users": ["a@pve"], "state": "absent", "exclusive": true}),
        );
        let p = ok(&d, &cur);
        assert_eq!(
            reqs(&p),
            vec![put("/vms/100")
                .param("roles", "PVEVMUser")
                .param("users", "a@pve")
                .param("delete", 1)]
        );
    }

    #[test]
    fn self_lockout_is_refused() {
        let cur = [
            acl("/", User, "admin@pve", "Administrator", true),
            acl("/", Token, "admin@pve!ci", "Administrator", true),
            acl("/", User, "other@pve", "Administrator", true),
        ];
        let user = Identity::User("admin@pve".into());
        let token = Identity::Token {
            owner: "admin@pve".into(),
            full: "admin@pve!ci".into(),
            privsep: None,
        };
        let drop_user = desired(
            json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "state": "absent"}),
        );
        let drop_token = desired(
            json!({"path": "/", "roles": ["Administrator"], "tokens": ["admin@pve!ci"], "state": "absent"}),
        );
        let e = plan(&drop_user, &cur, &user, false).unwrap_err();
        assert_eq!(e, "refusing to remove the entry role 'Administrator' of user 'admin@pve' on '/' (propagated): it is the access of admin@pve this module authenticates as, and the task could lock it out. Nothing was changed. Log in as another administrator, or set allow_self_lockout: true if this is intended");
        // A token protects itself and its owner.
        assert!(plan(&drop_user, &cur, &token, false)
            .unwrap_err()
            .contains("of admin@pve!ci this module"));
        assert!(plan(&drop_token, &cur, &token, true).is_err());
        // The user login may remove its token's entry; root may remove anything.
        assert!(plan(&drop_token, &cur, &user, false).unwrap().changed);
        assert!(
            plan(&drop_user, &cur, &Identity::LocalRoot, false)
                .unwrap()
                .changed
        );
        // Turning propagation off is losing access below the path.
        let d = desired(
            json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "propagate": false}),
        );
        assert!(plan(&d, &cur, &user, false)
            .unwrap_err()
            .starts_with("refusing to remove the propagation of role 'Administrator'"));
        // Exclusive on the own login.
        let d = desired(
            json!({"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["admin@pve"], "exclusive": true}),
        );
        assert!(plan(&d, &cur, &user, false).is_err());
        // Adding is always fine, and allow_self_lockout allows it.
        let d =
            desired(json!({"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["admin@pve"]}));
        assert!(plan(&d, &cur, &user, false).unwrap().changed);
        let d = desired(
            json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "state": "absent", "allow_self_lockout": true}),
        );
        assert!(plan(&d, &cur, &user, false).unwrap().changed);
    }

    #[test]
    fn names_are_checked_against_the_server() {
        let d = desired(
            json!({"path": "/", "roles": ["A", "Nope"], "users": ["a@pve", "ghost@pve"],
            "groups": ["g"], "tokens": ["a@pve!tok", "a@pve!gone"]}),
        );
        let p = ok(&d, &[]);
        assert_eq!(needs(&p), (true, true, true));
        let set = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect());
        let known = Known {
            roles: set(&["A"]),
            users: set(&["a@pve"]),
            groups: set(&["g"]),
            tokens: set(&["a@pve!tok"]),
        };
        let e = check_names(&p, &known).unwrap_err();
        assert_eq!(e, "ACL not changed: role 'Nope' does not exist (create it first, e.g. with pve.access.pve_role); user 'ghost@pve' does not exist (create it first, e.g. with pve.access.pve_user, or fix the name; a login without Sys.Audit or User.Modify on /access/groups does not see it either); token 'a@pve!gone' does not exist (create it first, e.g. with pve.access.pve_token, or fix the name; a login without Sys.Audit or User.Modify on /access/groups does not see it either). Nothing was written");
        let d = desired(json!({"path": "/", "roles": ["A"], "groups": ["g"]}));
        let p = ok(&d, &[]);
        assert_eq!(needs(&p), (true, false, true));
        assert_eq!(check_names(&p, &known), Ok(()));
        assert_eq!(
            needs(&ok(&d, &[acl("/", Group, "g", "A", true)])),
            (false, false, false)
        );
    }

    #[test]
    fn newer_paths_need_a_newer_server() {
        let d = desired(json!({"path": "/sdn/fabrics/f1", "roles": ["A"], "groups": ["g"]}));
        let p = ok(&d, &[]);
        let newer = newer_paths(&p);
        assert_eq!(newer, vec![("/sdn/fabrics/f1".to_string(), "9.0")]);
        assert_eq!(check_versions(&newer, "9.1.1"), Ok(()));
        let e = check_versions(&newer, "8.4.14").unwrap_err();
        assert!(e.starts_with("invalid ACL path '/sdn/fabrics/f1' (PVE 9.0 or later): this server runs PVE 8.4.14"), "{e}");
        let d = desired(json!({"path": "/vms/100", "roles": ["A"], "groups": ["g"]}));
        assert!(newer_paths(&ok(&d, &[])).is_empty());
    }

    #[test]
    fn settling_reads_whether_a_put_was_applied() {
        let grant = Put {
            path: "/".into(),
            roles: ["A".to_string(), "B".to_string()].into(),
            principals: [(User, "a@pve".to_string()), (Group, "g".to_string())].into(),
            propagate: Some(true),
        };
        let all = [
            acl("/", User, "a@pve", "A", true),
            acl("/", User, "a@pve", "B", true),
            acl("/", Group, "g", "A", true),
            acl("/", Group, "g", "B", true),
        ];
        assert!(grant.applied(&all));
        assert!(!grant.applied(&all[..3]));
        let mut flag = all.to_vec();
        flag[0].propagate = false;
        assert!(!grant.applied(&flag));
        let revoke = Put {
            propagate: None,
            ..grant.clone()
        };
        assert!(!revoke.applied(&all));
        assert!(revoke.applied(&[acl("/", User, "x@pve", "A", true)]));
        assert_eq!(
            grant.describe(),
            "grant A,B on '/' for user 'a@pve', group 'g'"
        );
        assert_eq!(
            revoke.describe(),
            "revoke A,B on '/' for user 'a@pve', group 'g'"
        );
    }
}
