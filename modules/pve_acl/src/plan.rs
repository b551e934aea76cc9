//! The pure part of pve_acl: the task's entries, checked, and the fewest
//! `PUT /access/acl` requests that turn the server's ACL into what the task
//! asks for. No I/O here; `main.rs` reads, calls [`plan`] and sends.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ansible_module::{json, Params, Value};
use pve_api::access::{AclEntry, PrincipalKind};
use pve_api::assume::{self, Kind, Missing};
use pve_api::self_lockout::Change;
use pve_api::{ids, ApiRequest};
use pve_module::{Refused, State};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// Who an ACL entry is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// A user id, a bare group name or a full token id.
    pub id: String,
}

impl Principal {
    pub fn new(kind: PrincipalKind, id: impl Into<String>) -> Principal {
        Principal {
            kind,
            id: id.into(),
        }
    }
}

/// How messages name a principal: `user 'joe@pve'`.
impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} '{}'", self.kind.as_str(), self.id)
    }
}

/// One ACL entry without its propagate flag: a role on a path for a
/// principal. The order (path, principal, role) is the order requests and
/// changes are listed in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub path: String,
    pub principal: Principal,
    pub roleid: String,
}

impl Grant {
    fn of(e: &AclEntry) -> Grant {
        Grant {
            path: e.path.clone(),
            principal: Principal::new(e.kind, e.ugid.clone()),
            roleid: e.roleid.clone(),
        }
    }

    fn entry(&self, propagate: bool) -> AclEntry {
        AclEntry {
            path: self.path.clone(),
            kind: self.principal.kind,
            ugid: self.principal.id.clone(),
            roleid: self.roleid.clone(),
            propagate,
        }
    }
}

/// ACL entries as grants with their propagate flag.
type Entries = BTreeMap<Grant, bool>;

fn entries(acl: &[AclEntry]) -> Entries {
    acl.iter().map(|e| (Grant::of(e), e.propagate)).collect()
}

/// One entry of the task (the single-entry options or one `entries` item),
/// checked: a normalised path, role ids, principals (none when only
/// root@pam was named).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub roles: Vec<String>,
    pub principals: Vec<Principal>,
    pub propagate: bool,
    pub present: bool,
}

/// Entries a declaration of the whole ACL owns (pve_access's purge): one
/// not declared is removed when it matches every filter given. An empty
/// filter does not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Normalised paths: an entry on one of them or below.
    pub paths: Vec<String>,
    pub principals: BTreeSet<Principal>,
    /// Realms of users and of tokens' owners (groups have none).
    pub realms: Vec<String>,
}

impl Scope {
    pub fn covers(&self, g: &Grant) -> bool {
        let below = |p: &String| {
            p == "/"
                || g.path == *p
                || g.path
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        };
        let realm = match g.principal.kind {
            PrincipalKind::Group => None,
            _ => g
                .principal
                .id
                .split('!')
                .next()
                .and_then(|u| u.rsplit_once('@'))
                .map(|(_, r)| r),
        };
        (self.paths.is_empty() || self.paths.iter().any(below))
            && (self.principals.is_empty() || self.principals.contains(&g.principal))
            && (self.realms.is_empty() || realm.is_some_and(|r| self.realms.iter().any(|x| x == r)))
    }
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub items: Vec<Item>,
    pub exclusive: bool,
    /// Entries not named that are removed, besides `exclusive`'s.
    pub purge: Option<Scope>,
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

/// Reads one entry; `at` names it in messages (`entries[1]: ...`).
fn item_from(
    p: &Params,
    at: &str,
    propagate: bool,
    present: bool,
    warnings: &mut Vec<String>,
) -> Result<Item, Refused> {
    let path = item_path(p, at, present)?;
    let Some(roles) = p.get("roles").map(|_| list_items(p, "roles")) else {
        return Err(Refused(format!(
            "{at}roles is required (the roles to grant or revoke on '{path}')"
        )));
    };
    for r in &roles {
        ids::verify_roleid(r).map_err(|e| Refused(format!("{at}roles: {e}")))?;
    }
    let principals = item_principals(p, at, warnings)?;
    // Only root@pam named (already warned): no principal, nothing to
    // write, but its roles are still checked.
    if principals.is_empty() && !["users", "groups", "tokens"].iter().any(|k| p.is_set(k)) {
        return Err(Refused(format!(
            "{at}either 'users', 'groups' or 'tokens' is required: who gets the roles on '{path}'"
        )));
    }
    Ok(Item {
        path,
        roles: pve_api::access::sorted_unique(roles),
        principals: principals
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        propagate,
        present,
    })
}

/// The entry's path, normalised as PVE does; one to grant on must be one
/// of PVE's own ACL paths (removing works on any path that normalises).
fn item_path(p: &Params, at: &str, present: bool) -> Result<String, Refused> {
    let raw = p
        .str("path")
        .ok_or_else(|| Refused(format!("{at}path is required")))?;
    let path = ids::normalize_acl_path(raw).ok_or_else(|| {
        Refused(format!(
            "{at}invalid ACL path '{raw}': PVE paths hold only letters, digits, '.', '-', '_' and '/', such as /, /vms/100 or /storage/local"
        ))
    })?;
    if present && !ids::check_acl_path(&path) {
        return Err(Refused(format!(
            "{at}invalid ACL path '{raw}': PVE accepts ACL entries only on its own paths: /, /access, /access/groups/GROUP, /access/realm/REALM, /nodes/NODE, /pool/POOL, /sdn/..., /storage/STORAGE, /vms/VMID (100 or more), /mapping/..."
        )));
    }
    Ok(path)
}

/// The entry's users, groups and tokens, checked; root@pam is left out
/// with a warning.
fn item_principals(
    p: &Params,
    at: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Principal>, Refused> {
    let mut principals = Vec::new();
    for u in list_items(p, "users") {
        ids::parse_userid(&u).map_err(|e| Refused(format!("{at}users: {e}")))?;
        if u == "root@pam" {
            warnings.push(format!(
                "{at}root@pam left out: it always holds every privilege and PVE never stores ACL entries for it"
            ));
            continue;
        }
        principals.push(Principal::new(PrincipalKind::User, u));
    }
    for g in list_items(p, "groups") {
        ids::verify_groupid(&g).map_err(|e| Refused(format!("{at}groups: {e}")))?;
        principals.push(Principal::new(PrincipalKind::Group, g));
    }
    for t in list_items(p, "tokens") {
        if !t.contains('!') {
            return Err(Refused(format!(
                "{at}tokens: '{t}' is not a full token id: give it as user@realm!{t}"
            )));
        }
        let id = ids::parse_tokenid(&t, None).map_err(|e| Refused(format!("{at}tokens: {e}")))?;
        principals.push(Principal::new(PrincipalKind::Token, id.full()));
    }
    Ok(principals)
}

impl Desired {
    /// Reads and checks the options: paths normalised and allowed, ids well
    /// formed, no entry asked for twice in different ways. Needs no server.
    pub fn from_params(p: &Params) -> Result<Desired, Refused> {
        let propagate = p.bool("propagate").unwrap_or(true);
        let present = State::from_params(p) == State::Present;
        let mut d = if let Some(entries) = p.dicts("entries") {
            Desired::from_entries("entries", &entries, propagate, present)?
        } else if p.is_set("path") {
            let mut warnings = Vec::new();
            let item = item_from(p, "", propagate, present, &mut warnings)?;
            Desired {
                items: vec![item],
                exclusive: false,
                purge: None,
                warnings,
            }
        } else {
            return Err(Refused("one of path or entries is required".into()));
        };
        d.exclusive = p.bool("exclusive").unwrap_or(false);
        d.wanted()?;
        Ok(d)
    }

    /// The entries of the list `name` (messages say `name[2]: ...`); an
    /// entry without its own propagate/state takes `propagate`/`present`.
    pub fn from_entries(
        name: &str,
        entries: &[Params],
        propagate: bool,
        present: bool,
    ) -> Result<Desired, Refused> {
        let mut warnings = Vec::new();
        let mut items = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let item = item_from(
                e,
                &format!("{name}[{i}]: "),
                e.bool("propagate").unwrap_or(propagate),
                if e.is_set("state") {
                    State::from_params(e) == State::Present
                } else {
                    present
                },
                &mut warnings,
            )?;
            items.push(item);
        }
        let d = Desired {
            items,
            exclusive: false,
            purge: None,
            warnings,
        };
        d.wanted()?;
        Ok(d)
    }

    /// Every grant the task names: `Some(propagate)` to exist with that
    /// flag, `None` to be absent. Contradictions fail.
    fn wanted(&self) -> Result<BTreeMap<Grant, Option<bool>>, Refused> {
        let mut out: BTreeMap<Grant, Option<bool>> = BTreeMap::new();
        for item in &self.items {
            let want = item.present.then_some(item.propagate);
            for pr in &item.principals {
                for role in &item.roles {
                    let grant = Grant {
                        path: item.path.clone(),
                        principal: pr.clone(),
                        roleid: role.clone(),
                    };
                    match out.get(&grant) {
                        Some(prev) if *prev != want => {
                            return Err(Refused(format!(
                                "the task asks for role '{role}' of {pr} on '{}' twice, differently ({} and {}): keep one",
                                item.path,
                                want_text(*prev),
                                want_text(want)
                            )));
                        }
                        _ => {
                            out.insert(grant, want);
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

    /// The server's entries `now` as the task leaves them: the wanted ones
    /// set and, with `exclusive`, every other entry of a named principal
    /// removed.
    fn target(&self, now: &Entries) -> Result<Entries, Refused> {
        let wanted = self.wanted()?;
        let mut after = now.clone();
        for (grant, want) in &wanted {
            match want {
                Some(p) => {
                    after.insert(grant.clone(), *p);
                }
                None => {
                    after.remove(grant);
                }
            }
        }
        if self.exclusive {
            let named = self.principals();
            after.retain(|g, _| {
                !named.contains(&g.principal) || wanted.get(g).is_some_and(Option::is_some)
            });
        }
        if let Some(scope) = &self.purge {
            after.retain(|g, _| !scope.covers(g) || wanted.get(g).is_some_and(Option::is_some));
        }
        Ok(after)
    }

    /// The entries the diff shows: those of the named principals on the
    /// task's paths, or on any path with `exclusive`, and those the purge
    /// scope covers, as a sorted list.
    fn view(&self, entries: &Entries) -> Value {
        let named = self.principals();
        let paths = self.paths();
        Value::Array(
            entries
                .iter()
                .filter(|(g, _)| {
                    named.contains(&g.principal) && (self.exclusive || paths.contains(&g.path))
                        || self.purge.as_ref().is_some_and(|s| s.covers(g))
                })
                .map(|(g, p)| g.entry(*p).to_json())
                .collect(),
        )
    }
}

fn want_text(w: Option<bool>) -> &'static str {
    match w {
        Some(true) => "present with propagate",
        Some(false) => "present without propagate",
        None => "absent",
    }
}

/// One `PUT /access/acl`, the change it makes and how to tell after a lost
/// answer that it was made: every role for every principal on one path.
/// PVE writes all of one request or nothing, so one read back settles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settle {
    pub path: String,
    pub roles: BTreeSet<String>,
    pub principals: BTreeSet<Principal>,
    /// `None` for a removal (`delete=1`), which ignores the flag.
    pub propagate: Option<bool>,
}

impl Settle {
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
                .filter(|pr| pr.kind == kind)
                .map(|pr| &pr.id)
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

    /// Whether `acl`, read back from the server, shows the change made.
    pub fn met_by(&self, acl: &[AclEntry]) -> bool {
        let have = entries(acl);
        self.grants().all(|g| match self.propagate {
            Some(p) => have.get(&g) == Some(&p),
            None => !have.contains_key(&g),
        })
    }

    fn grants(&self) -> impl Iterator<Item = Grant> + '_ {
        self.principals.iter().flat_map(move |pr| {
            self.roles.iter().map(move |r| Grant {
                path: self.path.clone(),
                principal: pr.clone(),
                roleid: r.clone(),
            })
        })
    }

    /// The change in words, for messages.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.principals.iter().map(Principal::to_string).collect();
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

/// Plans the task against the server's ACL (`GET /access/acl`).
/// `check_mode` only changes the wording.
pub fn plan(d: &Desired, current: &[AclEntry], check_mode: bool) -> Result<Plan, Refused> {
    let now = entries(current);
    let after = d.target(&now)?;
    let steps = steps(&now, &after);
    if steps.is_empty() {
        return Ok(Plan::unchanged("ACL entries unchanged", d.view(&now)));
    }
    let msg = message(&entry_changes(&now, &after, &steps), check_mode);
    Ok(Plan::change(steps, msg, d.view(&now), d.view(&after)))
}

/// What a plan does to one ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Add,
    Update,
    Remove,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Update => "update",
            Action::Remove => "remove",
        }
    }
}

/// The entries the steps really change, in the order they are sent, each
/// with its flag after the change (before it, for a removal). A step may
/// also name entries it leaves as they are (see [`steps`]): not listed.
fn entry_changes(now: &Entries, after: &Entries, steps: &[Step]) -> Vec<(Action, AclEntry)> {
    let mut out = Vec::new();
    for step in steps {
        for g in step.settle.grants() {
            let (action, propagate) = match (now.get(&g), after.get(&g), step.settle.propagate) {
                (None, Some(p), Some(_)) => (Action::Add, *p),
                (Some(a), Some(b), Some(_)) if a != b => (Action::Update, *b),
                (Some(p), None, None) => (Action::Remove, *p),
                _ => continue,
            };
            out.push((action, g.entry(propagate)));
        }
    }
    out
}

fn message(changes: &[(Action, AclEntry)], check_mode: bool) -> String {
    let count = |a: Action| changes.iter().filter(|(x, _)| *x == a).count();
    let (added, updated, removed) = (
        count(Action::Add),
        count(Action::Update),
        count(Action::Remove),
    );
    if check_mode {
        format!("would add {added}, change {updated} and remove {removed} ACL entries")
    } else {
        format!("added {added}, changed {updated} and removed {removed} ACL entries")
    }
}

/// The server's entries `now` after `steps`, applied as PVE applies them.
fn applied(now: &Entries, steps: &[Step]) -> Entries {
    let mut out = now.clone();
    for step in steps {
        for g in step.settle.grants() {
            match step.settle.propagate {
                Some(p) => {
                    out.insert(g, p);
                }
                None => {
                    out.remove(&g);
                }
            }
        }
    }
    out
}

/// The `changes` result: `{action: add|update|remove, path, type, ugid,
/// roleid, propagate}` for each entry the plan changes on `current`.
pub fn changes(current: &[AclEntry], plan: &Plan) -> Vec<Value> {
    let now = entries(current);
    let after = applied(&now, &plan.steps);
    entry_changes(&now, &after, &plan.steps)
        .into_iter()
        .map(|(action, e)| {
            let mut v = e.to_json();
            v["action"] = json!(action.as_str());
            v
        })
        .collect()
}

/// What the plan takes away, for the self-lockout rule
/// ([`pve_api::self_lockout`]): losing an entry, or its propagation, is
/// losing access, and so is gaining NoAccess.
pub fn lockout_changes(current: &[AclEntry], plan: &Plan) -> Vec<Change> {
    let now = entries(current);
    let after = applied(&now, &plan.steps);
    let mut out: Vec<Change> = now
        .iter()
        .filter_map(|(g, p)| match after.get(g) {
            None => Some(Change::AclEntry {
                entry: g.entry(*p),
                propagation_only: false,
            }),
            Some(a) if *p && !a => Some(Change::AclEntry {
                entry: g.entry(*p),
                propagation_only: true,
            }),
            Some(_) => None,
        })
        .collect();
    out.extend(
        after
            .iter()
            .filter(|(g, _)| g.roleid == "NoAccess" && !now.contains_key(*g))
            .map(|(g, p)| Change::NoAccessGranted(g.entry(*p))),
    );
    out
}

/// The fewest requests from `now` to `after`, grants first so that an
/// entry being replaced is never missing in between, then removals. One
/// request sets every role for every principal it names on one path, so
/// pairs are grouped into rectangles; a rectangle may also cover pairs the
/// request leaves as they are (granting an entry that exists with the same
/// flag, revoking one that does not exist), which PVE treats as no-ops.
fn steps(now: &Entries, after: &Entries) -> Vec<Step> {
    let mut grants = Vec::new();
    let mut revokes = Vec::new();
    for ((path, propagate), pairs) in to_change(now, after) {
        let harmless = |principal: &Principal, roleid: &String| {
            let g = Grant {
                path: path.clone(),
                principal: principal.clone(),
                roleid: roleid.clone(),
            };
            match propagate {
                Some(p) => now.get(&g) == Some(&p) && after.get(&g) == Some(&p),
                None => !now.contains_key(&g) && !after.contains_key(&g),
            }
        };
        let out = if propagate.is_some() {
            &mut grants
        } else {
            &mut revokes
        };
        out.extend(
            rectangles(&pairs, &harmless)
                .into_iter()
                .map(|(principals, roles)| {
                    let settle = Settle {
                        path: path.clone(),
                        roles,
                        principals,
                        propagate,
                    };
                    Step::new(settle.request(), settle)
                }),
        );
    }
    grants.extend(revokes);
    grants
}

/// The pairs to change, by path and `Some(propagate)` to grant them with
/// or `None` to remove them.
fn to_change(now: &Entries, after: &Entries) -> BTreeMap<(String, Option<bool>), Pairs> {
    let mut todo: BTreeMap<(String, Option<bool>), Pairs> = BTreeMap::new();
    for (g, p) in after {
        if now.get(g) != Some(p) {
            todo.entry((g.path.clone(), Some(*p)))
                .or_default()
                .insert((g.principal.clone(), g.roleid.clone()));
        }
    }
    for g in now.keys() {
        if !after.contains_key(g) {
            todo.entry((g.path.clone(), None))
                .or_default()
                .insert((g.principal.clone(), g.roleid.clone()));
        }
    }
    todo
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

impl Known {
    /// The list of principals of `kind`, when it was read.
    pub fn principals_mut(&mut self, kind: PrincipalKind) -> Option<&mut BTreeSet<String>> {
        match kind {
            PrincipalKind::User => self.users.as_mut(),
            PrincipalKind::Group => self.groups.as_mut(),
            PrincipalKind::Token => self.tokens.as_mut(),
        }
    }

    fn lacks(list: &Option<BTreeSet<String>>, name: &str) -> bool {
        list.as_ref().is_some_and(|l| !l.contains(name))
    }

    /// The roles and principals not on the lists read, in that order.
    fn missing(&self, roles: &BTreeSet<String>, principals: &BTreeSet<Principal>) -> Vec<Missing> {
        let mut out: Vec<Missing> = roles
            .iter()
            .filter(|r| Known::lacks(&self.roles, r))
            .map(|r| Missing::new(Kind::Role, r))
            .collect();
        for pr in principals {
            let (list, object) = match pr.kind {
                PrincipalKind::User => (&self.users, Kind::User),
                PrincipalKind::Group => (&self.groups, Kind::Group),
                PrincipalKind::Token => (&self.tokens, Kind::Token),
            };
            if Known::lacks(list, &pr.id) {
                out.push(Missing::new(object, &pr.id));
            }
        }
        out
    }
}

/// The roles and principals that must exist: those of the requests, and
/// the roles of entries whose only principal is root@pam (nothing is
/// written for them, but a misspelt role is still a mistake).
fn referenced(d: &Desired, plan: &Plan) -> (BTreeSet<String>, BTreeSet<Principal>) {
    let mut roles: BTreeSet<String> = plan
        .steps
        .iter()
        .flat_map(|s| s.settle.roles.iter().cloned())
        .collect();
    roles.extend(
        d.items
            .iter()
            .filter(|i| i.principals.is_empty())
            .flat_map(|i| i.roles.iter().cloned()),
    );
    let principals = plan
        .steps
        .iter()
        .flat_map(|s| s.settle.principals.iter().cloned())
        .collect();
    (roles, principals)
}

/// Which of the server's lists [`check_names`] needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    pub roles: bool,
    /// Users with their tokens.
    pub users: bool,
    pub groups: bool,
}

pub fn lists_to_read(d: &Desired, plan: &Plan) -> Lists {
    let (roles, principals) = referenced(d, plan);
    let has = |k: PrincipalKind| principals.iter().any(|pr| pr.kind == k);
    Lists {
        roles: !roles.is_empty(),
        users: has(PrincipalKind::User) || has(PrincipalKind::Token),
        groups: has(PrincipalKind::Group),
    }
}

/// Every role and principal the task references must exist: PVE would
/// refuse the request otherwise, possibly after earlier ones were applied.
/// In check mode a missing one is assumed to be created by an earlier task
/// ([`pve_api::assume`]): the warnings that say so.
pub fn check_names(
    d: &Desired,
    plan: &Plan,
    known: &Known,
    check_mode: bool,
) -> Result<Vec<String>, Refused> {
    let (roles, principals) = referenced(d, plan);
    let missing = known.missing(&roles, &principals);
    assume::assume_created(check_mode, &missing, not_found).map_err(Refused)
}

/// The refusal for names that do not exist, each with the module that
/// creates it.
fn not_found(missing: &[Missing]) -> String {
    let texts: Vec<String> = missing
        .iter()
        .map(|m| {
            let module = match m.kind {
                Kind::Role => {
                    return format!(
                        "{} does not exist (create it first, e.g. with pve.access.pve_role)",
                        m.name()
                    )
                }
                Kind::User | Kind::Realm => "pve.access.pve_user",
                Kind::Group => "pve.access.pve_group",
                Kind::Token => "pve.access.pve_token",
                Kind::Pool => "pve.access.pve_pool",
            };
            format!(
                "{} does not exist (create it first, e.g. with {module}, or fix the name)",
                m.name()
            )
        })
        .collect();
    format!("ACL not changed: {}. Nothing was written", texts.join("; "))
}

/// Paths only newer PVE versions accept (such as `/sdn/fabrics`, 9.0+)
/// that the plan grants on, with the version each needs.
pub fn newer_paths(plan: &Plan) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = plan
        .steps
        .iter()
        .map(|s| &s.settle)
        .filter(|s| s.propagate.is_some())
        .filter_map(|s| Some((s.path.clone(), ids::acl_path_min_version(&s.path)?)))
        .collect();
    out.dedup();
    out
}

/// Refuses those paths when the server (`version`, such as `8.4.1`) is
/// older than they need.
pub fn check_versions(paths: &[(String, &'static str)], version: &str) -> Result<(), Refused> {
    // A version that cannot be read is older than any: nothing new passes.
    let parse = |v: &str| pve_api::access::release(v).unwrap_or((0, 0));
    let have = parse(version);
    let bad: Vec<String> = paths
        .iter()
        .filter(|(_, need)| have < parse(need))
        .map(|(p, need)| format!("'{p}' (PVE {need} or later)"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Refused(format!(
            "invalid ACL path {}: this server runs PVE {version}, which does not accept ACL entries there. Nothing was written",
            bad.join(", ")
        )))
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
