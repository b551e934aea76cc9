//! The pure part of pve_access_info apart from the findings: the task's
//! options, the server's answers as typed values (the inventory), the
//! narrowing by user and realm, and the result as the module returns it.

use std::collections::{BTreeMap, BTreeSet};

use ansible_module::{json, Map, Params, Value};
use pve_api::access::{self, AclEntry, Group, Permissions, PrincipalKind, Role, Token, User};
use pve_api::{ids, time};

use crate::findings::{self, Finding, Severity};

/// What the module can read, one GET each (users also read TFA: two;
/// pools one more per pool, for its members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Users,
    Groups,
    Roles,
    Acl,
    Realms,
    Pools,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Users,
        Kind::Groups,
        Kind::Roles,
        Kind::Acl,
        Kind::Realms,
        Kind::Pools,
    ];

    /// What a task without `kinds` reads: all but pools, whose members
    /// cost a request per pool (`kinds` names them when wanted).
    pub fn default_set() -> BTreeSet<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::Pools)
            .collect()
    }

    /// The option value and the result key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Groups => "groups",
            Kind::Roles => "roles",
            Kind::Acl => "acl",
            Kind::Realms => "realms",
            Kind::Pools => "pools",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// What `fail_on` matches: findings of a severity, or of a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    Severity(Severity),
    Kind(&'static str),
}

impl Gate {
    pub fn matches(&self, f: &Finding) -> bool {
        match self {
            Gate::Severity(s) => f.severity == *s,
            Gate::Kind(k) => f.kind == *k,
        }
    }
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub kinds: BTreeSet<Kind>,
    /// Only these users (and their tokens); empty: every user.
    pub userids: BTreeSet<String>,
    /// Only users of these realms, and only these realms; empty: all.
    pub realms: BTreeSet<String>,
    /// Seconds.
    pub expiring_within: i64,
    pub fail_on: Vec<Gate>,
}

impl Query {
    pub fn from_params(p: &Params) -> Result<Query, String> {
        let kinds = match p.list("kinds") {
            None => Kind::default_set(),
            Some(names) => names
                .iter()
                .map(|n| {
                    Kind::parse(n).ok_or_else(|| {
                        format!(
                            "kinds: unknown kind '{n}': expected any of {}",
                            Kind::ALL.map(Kind::name).join(", ")
                        )
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()?,
        };
        if kinds.is_empty() {
            return Err(format!(
                "kinds is empty: name at least one of {}, or leave it out for all but pools",
                Kind::ALL.map(Kind::name).join(", ")
            ));
        }
        let userids = p
            .list("userids")
            .unwrap_or_default()
            .into_iter()
            .map(|id| {
                ids::parse_userid(&id).map_err(|e| format!("userids: {e}"))?;
                Ok(id)
            })
            .collect::<Result<BTreeSet<_>, String>>()?;
        let realms = p
            .list("realms")
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                if ids::valid_realm(&r) {
                    Ok(r)
                } else {
                    Err(format!(
                        "realms: '{r}' is not a realm id (such as pam, pve or an LDAP realm's name)"
                    ))
                }
            })
            .collect::<Result<BTreeSet<_>, String>>()?;
        let window = p.str("expiring_within").unwrap_or("30d");
        let expiring_within =
            time::parse_duration(window).map_err(|e| format!("expiring_within: {e}"))?;
        let fail_on = p
            .list("fail_on")
            .unwrap_or_default()
            .iter()
            .map(|g| parse_gate(g))
            .collect::<Result<Vec<_>, _>>()?;
        let q = Query {
            kinds,
            userids,
            realms,
            expiring_within,
            fail_on,
        };
        q.check_gates()?;
        Ok(q)
    }

    /// Whether users or realms were narrowed.
    pub fn narrowed(&self) -> bool {
        !self.userids.is_empty() || !self.realms.is_empty()
    }

    /// Whether the user is one the task asks about.
    pub fn selects(&self, userid: &str) -> bool {
        (self.userids.is_empty() || self.userids.contains(userid))
            && (self.realms.is_empty() || self.realms.contains(realm_of(userid)))
    }

    /// A gate on a kind of finding that this task's `kinds` cannot check
    /// would never fail: refused, naming what to add.
    fn check_gates(&self) -> Result<(), String> {
        for gate in &self.fail_on {
            if let Gate::Kind(kind) = gate {
                let needs = findings::rule(kind).map_or(&[][..], |r| r.needs);
                let missing: Vec<&str> = needs
                    .iter()
                    .filter(|k| !self.kinds.contains(k))
                    .map(|k| k.name())
                    .collect();
                if !missing.is_empty() {
                    let default = Kind::default_set();
                    let or = if needs.iter().all(|k| default.contains(k)) {
                        " (or leave kinds out)"
                    } else {
                        ""
                    };
                    return Err(format!(
                        "fail_on names {kind}, which needs kinds {}: add {} to kinds{or}",
                        needs
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", "),
                        missing.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

fn parse_gate(name: &str) -> Result<Gate, String> {
    if let Some(s) = Severity::parse(name) {
        return Ok(Gate::Severity(s));
    }
    if let Some(rule) = findings::rule(name) {
        return Ok(Gate::Kind(rule.kind));
    }
    Err(format!(
        "fail_on: '{name}' is neither a severity ({}) nor a kind of finding ({})",
        Severity::ALL.map(Severity::name).join(", "),
        findings::RULES
            .iter()
            .map(|r| r.kind)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The realm of a user id (after the last `@`).
pub fn realm_of(userid: &str) -> &str {
    userid.rsplit_once('@').map_or("", |(_, r)| r)
}

/// A user as the index with `full=1` tells it: the user, its tokens with
/// their attributes, and what the audit needs besides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user: User,
    pub tokens: Vec<Token>,
    /// The type of its realm (`pam`, `pve`, `ldap`, `ad`, `openid`), when
    /// the realm exists.
    pub realm_type: Option<String>,
    /// Whether the user has keys for its realm's Yubico or OATH
    /// second factor (`keys`, never shown: OATH keys are secrets).
    pub has_keys: bool,
}

/// A realm: only these attributes, none of which is a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Realm {
    pub realm: String,
    pub kind: String,
    pub default: bool,
    /// The second factor the realm requires of every user (`oath`, `yubico`).
    pub tfa: Option<String>,
    pub comment: Option<String>,
}

/// Second factors by user id: the types of the enabled entries, sorted.
pub type TfaTypes = BTreeMap<String, Vec<String>>;

/// What PVE hides from a login without the privileges to see everything
/// (`GET /access/permissions` of the login, from `/access` and
/// `/access/groups`): empty when it sees it all.
pub fn hidden(q: &Query, perms: &Permissions) -> Vec<&'static str> {
    let holds = |path: &str, privs: &[&str]| {
        perms
            .get(path)
            .is_some_and(|held| privs.iter().any(|p| held.contains_key(*p)))
    };
    let mut out = Vec::new();
    let users_or_groups = q.kinds.contains(&Kind::Users) || q.kinds.contains(&Kind::Groups);
    if users_or_groups && !holds("/access/groups", &["Sys.Audit", "User.Modify"]) {
        out.push("users, groups and second factors outside its groups (it lacks Sys.Audit on /access/groups)");
    }
    if q.kinds.contains(&Kind::Acl) && !holds("/access", &["Sys.Audit"]) {
        out.push("ACL entries on paths it may not change (it lacks Sys.Audit on /access)");
    }
    if q.kinds.contains(&Kind::Pools) && !holds("/pool", &["Pool.Audit"]) {
        out.push("pools it may not audit (it lacks Pool.Audit on /pool)");
    }
    out
}

/// Whether PVE shows the login `authid` everything without asking: root@pam,
/// and its tokens without privilege separation (known from the users read).
pub fn sees_everything(authid: &str, inv: &Inventory) -> bool {
    if authid == "root@pam" {
        return true;
    }
    authid.starts_with("root@pam!")
        && inv
            .users
            .iter()
            .flatten()
            .flat_map(|a| &a.tokens)
            .any(|t| !t.privsep && t.full_tokenid() == authid)
}

/// Everything read: `None` for what was not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// What PVE did not show this login ([`hidden`]).
    pub hidden: Vec<&'static str>,
    pub users: Option<Vec<Account>>,
    /// `None` also when the users were read but the server did not tell.
    pub tfa: Option<TfaTypes>,
    pub groups: Option<Vec<Group>>,
    pub roles: Option<Vec<Role>>,
    pub acl: Option<Vec<AclEntry>>,
    pub realms: Option<Vec<Realm>>,
    /// With their members (guests and storages that exist), by id.
    pub pools: Option<Vec<pve_pool::plan::Pool>>,
}

fn text_of(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "0",
        _ => false,
    }
}

/// `GET /access/users?full=1`: tokens come as an array of
/// `{tokenid, privsep, expire, comment}` (or `null`).
pub fn accounts_from_json(data: &Value) -> Result<Vec<Account>, String> {
    let items = data
        .as_array()
        .ok_or_else(|| format!("expected an array, got {data}"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let o = item
            .as_object()
            .ok_or_else(|| format!("expected objects, got {item}"))?;
        let userid =
            text_of(o, "userid").ok_or_else(|| format!("a user without userid: {item}"))?;
        let user = access::user_from_json(&userid, item)?;
        let tokens = access::tokens_from_json(&userid, item)?;
        out.push(Account {
            realm_type: text_of(o, "realm-type"),
            has_keys: text_of(o, "keys").is_some(),
            user,
            tokens,
        });
    }
    out.sort_by(|a, b| a.user.userid.cmp(&b.user.userid));
    Ok(out)
}

/// `GET /access/tfa`: `[{userid, entries: [{type, enable, ...}]}]`.
pub fn tfa_from_json(data: &Value) -> Result<TfaTypes, String> {
    let items = data
        .as_array()
        .ok_or_else(|| format!("expected an array, got {data}"))?;
    let mut out = TfaTypes::new();
    for item in items {
        let userid = item
            .get("userid")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("an entry without userid: {item}"))?;
        let entries = item.get("entries").and_then(Value::as_array);
        let types = entries
            .into_iter()
            .flatten()
            // `enable` defaults to 1 when absent.
            .filter(|e| e.get("enable").is_none_or(|v| truthy(Some(v))))
            .filter_map(|e| e.get("type").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        out.insert(userid.to_string(), access::sorted_unique(types));
    }
    Ok(out)
}

/// `GET /access/domains`. Only the attributes of [`Realm`] are kept.
pub fn realms_from_json(data: &Value) -> Result<Vec<Realm>, String> {
    let items = data
        .as_array()
        .ok_or_else(|| format!("expected an array, got {data}"))?;
    let mut out = items
        .iter()
        .map(|item| {
            let o = item
                .as_object()
                .ok_or_else(|| format!("expected objects, got {item}"))?;
            Ok(Realm {
                realm: text_of(o, "realm").ok_or_else(|| format!("a realm without id: {item}"))?,
                kind: text_of(o, "type").unwrap_or_default(),
                default: truthy(o.get("default")),
                tfa: text_of(o, "tfa"),
                comment: text_of(o, "comment"),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    out.sort_by(|a, b| a.realm.cmp(&b.realm));
    Ok(out)
}

// ---- the result -------------------------------------------------------------

/// `expire` as the result shows it: the epoch, its date (`null` for never),
/// whether it has passed, and whole days left (negative once passed).
fn expiry(out: &mut Map<String, Value>, own: i64, effective: i64, now: i64) {
    out.insert("expire".into(), json!(own));
    let date = (own != 0).then(|| time::format_epoch(own));
    out.insert("expire_date".into(), json!(date));
    out.insert("expired".into(), json!(effective != 0 && effective <= now));
    let days = (effective != 0).then(|| (effective - now).div_euclid(time::DAY));
    out.insert("expires_in_days".into(), json!(days));
}

/// When a token stops working: its own expiry or its owner's, whichever
/// comes first (0: never).
pub fn effective_expire(token: &Token, owner: &User) -> i64 {
    match (token.expire, owner.expire) {
        (0, u) => u,
        (t, 0) => t,
        (t, u) => t.min(u),
    }
}

fn token_json(t: &Token, owner: &User, now: i64) -> Value {
    let mut o = Map::new();
    o.insert("tokenid".into(), json!(t.tokenid));
    o.insert("full_tokenid".into(), json!(t.full_tokenid()));
    o.insert("privsep".into(), json!(t.privsep));
    o.insert("comment".into(), json!(t.comment));
    expiry(&mut o, t.expire, effective_expire(t, owner), now);
    Value::Object(o)
}

fn user_json(a: &Account, tfa: Option<&TfaTypes>, realms: Option<&[Realm]>, now: i64) -> Value {
    let u = &a.user;
    let mut o = Map::new();
    o.insert("userid".into(), json!(u.userid));
    o.insert("realm".into(), json!(realm_of(&u.userid)));
    o.insert("realm_type".into(), json!(a.realm_type));
    o.insert("enable".into(), json!(u.enable));
    expiry(&mut o, u.expire, u.expire, now);
    o.insert("firstname".into(), json!(u.firstname));
    o.insert("lastname".into(), json!(u.lastname));
    o.insert("email".into(), json!(u.email));
    o.insert("comment".into(), json!(u.comment));
    o.insert("groups".into(), json!(u.groups));
    if let Some(types) = tfa_of(a, tfa, realms) {
        o.insert("tfa".into(), json!(types));
    }
    let tokens: Vec<Value> = a.tokens.iter().map(|t| token_json(t, u, now)).collect();
    o.insert("tokens".into(), Value::Array(tokens));
    Value::Object(o)
}

/// The second factors of a user, `None` when the server did not tell: its
/// own enabled entries, and the factor its realm requires when it has keys
/// for it.
pub fn tfa_of(
    a: &Account,
    tfa: Option<&TfaTypes>,
    realms: Option<&[Realm]>,
) -> Option<Vec<String>> {
    let mut types = tfa?.get(&a.user.userid).cloned().unwrap_or_default();
    if a.has_keys {
        let realm = realm_of(&a.user.userid);
        if let Some(t) = realms
            .into_iter()
            .flatten()
            .find(|r| r.realm == realm)
            .and_then(|r| r.tfa.clone())
        {
            types.push(t);
        }
    }
    Some(access::sorted_unique(types))
}

fn realm_json(r: &Realm) -> Value {
    let mut o = Map::new();
    o.insert("realm".into(), json!(r.realm));
    o.insert("type".into(), json!(r.kind));
    o.insert("default".into(), json!(r.default));
    if let Some(t) = &r.tfa {
        o.insert("tfa".into(), json!(t));
    }
    o.insert("comment".into(), json!(r.comment));
    Value::Object(o)
}

/// The ACL entries of the selected users, their tokens and their groups.
fn acl_selected<'a>(q: &Query, inv: &'a Inventory, acl: &'a [AclEntry]) -> Vec<&'a AclEntry> {
    if !q.narrowed() {
        return acl.iter().collect();
    }
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    for a in inv.users.iter().flatten() {
        if q.selects(&a.user.userid) {
            groups.extend(a.user.groups.iter().map(String::as_str));
        }
    }
    acl.iter()
        .filter(|e| match e.kind {
            PrincipalKind::User => q.selects(&e.ugid),
            PrincipalKind::Token => q.selects(e.ugid.split('!').next().unwrap_or_default()),
            PrincipalKind::Group => groups.contains(e.ugid.as_str()),
        })
        .collect()
}

/// The result: each kind read, `findings`, `checked` and `msg`.
pub fn result(
    q: &Query,
    inv: &Inventory,
    found: &[Finding],
    checked: &[&str],
    now: i64,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("changed".into(), json!(false));
    let mut counts: Vec<String> = Vec::new();
    if let Some(users) = &inv.users {
        let shown: Vec<Value> = users
            .iter()
            .filter(|a| q.selects(&a.user.userid))
            .map(|a| user_json(a, inv.tfa.as_ref(), inv.realms.as_deref(), now))
            .collect();
        let tokens: usize = shown
            .iter()
            .map(|u| u["tokens"].as_array().map_or(0, Vec::len))
            .sum();
        let users = count(shown.len(), "user", "users");
        counts.push(format!(
            "{users} (with {})",
            count(tokens, "token", "tokens")
        ));
        out.insert("users".into(), Value::Array(shown));
    }
    if let Some(groups) = &inv.groups {
        counts.push(count(groups.len(), "group", "groups"));
        out.insert("groups".into(), groups.iter().map(Group::to_json).collect());
    }
    if let Some(roles) = &inv.roles {
        let mut by_role: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for e in inv.acl.iter().flatten() {
            by_role.entry(e.roleid.as_str()).or_default().push(json!({
                "path": e.path, "type": e.kind.as_str(), "ugid": e.ugid, "propagate": e.propagate,
            }));
        }
        let list: Vec<Value> = roles
            .iter()
            .map(|r| {
                let mut v = r.to_json();
                if inv.acl.is_some() {
                    v["acl"] = Value::Array(by_role.remove(r.roleid.as_str()).unwrap_or_default());
                }
                v
            })
            .collect();
        counts.push(count(roles.len(), "role", "roles"));
        out.insert("roles".into(), Value::Array(list));
    }
    if let Some(acl) = &inv.acl {
        let shown: Vec<Value> = acl_selected(q, inv, acl)
            .into_iter()
            .map(AclEntry::to_json)
            .collect();
        counts.push(count(shown.len(), "ACL entry", "ACL entries"));
        out.insert("acl".into(), Value::Array(shown));
    }
    if let Some(realms) = &inv.realms {
        let shown: Vec<Value> = realms
            .iter()
            .filter(|r| q.realms.is_empty() || q.realms.contains(&r.realm))
            .map(realm_json)
            .collect();
        counts.push(count(shown.len(), "realm", "realms"));
        out.insert("realms".into(), Value::Array(shown));
    }
    if let Some(pools) = &inv.pools {
        counts.push(count(pools.len(), "pool", "pools"));
        out.insert(
            "pools".into(),
            pools.iter().map(pve_pool::plan::Pool::to_json).collect(),
        );
    }
    out.insert(
        "findings".into(),
        found.iter().map(Finding::to_json).collect(),
    );
    out.insert("checked".into(), json!(checked));
    out.insert(
        "msg".into(),
        json!(format!(
            "audited {}: {}",
            counts.join(", "),
            findings::summary(found)
        )),
    );
    out
}

/// `1 user`, `2 users`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A gate on a kind of finding that this run could not check would pass
/// whatever the state: the failure that says why.
pub fn unchecked_gate(q: &Query, inv: &Inventory, checked: &[&str]) -> Option<String> {
    q.fail_on.iter().find_map(|gate| {
        let Gate::Kind(kind) = gate else {
            return None;
        };
        if checked.contains(kind) {
            return None;
        }
        let rule = findings::rule(kind)?;
        let why = if q.narrowed() && !rule.per_user {
            "userids and realms narrow the audit to users and their tokens"
        } else if rule.whole && !inv.hidden.is_empty() {
            "PVE does not show this login everything (see the warning)"
        } else {
            "the server did not tell the users' second factors (see the warning)"
        };
        Some(format!(
            "fail_on names {kind}, which this run could not check: {why}; the gate would pass whatever the state"
        ))
    })
}

/// The findings `fail_on` matches.
pub fn gated<'a>(q: &Query, found: &'a [Finding]) -> Vec<&'a Finding> {
    found
        .iter()
        .filter(|f| q.fail_on.iter().any(|g| g.matches(f)))
        .collect()
}

/// The failure message for gated findings: every one of them.
pub fn gate_message(matched: &[&Finding]) -> String {
    let list: Vec<String> = matched
        .iter()
        .map(|f| format!("[{}] {}: {}", f.severity.name(), f.kind, f.message))
        .collect();
    format!(
        "{} matched fail_on: {}",
        count(matched.len(), "finding", "findings"),
        list.join("; ")
    )
}

#[cfg(test)]
#[path = "tests/plan.rs"]
pub(crate) mod tests;
