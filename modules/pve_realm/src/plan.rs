//! The pure part of pve_realm: the realm options PVE has per type and
//! version ([`OPTIONS`]), the task's options checked against them, and what
//! to do given the realm as the server has it. No I/O here.

use std::collections::BTreeMap;

use ansible_module::{Map, Opt, Params, Value};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// The realm types and the built-in realms of the two of them PVE allows
/// only once.
pub const TYPES: [&str; 5] = ["pam", "pve", "ldap", "ad", "openid"];
const DIRECTORY: &[&str] = &["ldap", "ad"];
const OPENID: &[&str] = &["openid"];
const ALL: &[&str] = &TYPES;
const TFA: &[&str] = &["pam", "pve", "ldap", "ad"];

/// How a value is given and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    Choice(&'static [&'static str]),
}

/// One realm option: its Ansible name, PVE's name, the types that have it
/// (the plugins' `options()`, AC `Auth/*.pm`), and its schema limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionDef {
    pub name: &'static str,
    pub pve: &'static str,
    pub kind: Kind,
    pub types: &'static [&'static str],
    /// Types that require it on creation.
    pub required_by: &'static [&'static str],
    /// `fixed` in PVE: set only on creation.
    pub fixed: bool,
    /// The schema's `maxLength`.
    pub max_len: Option<usize>,
    /// The first PVE release (major, minor) that has it.
    pub since: Option<(u32, u32)>,
}

const fn opt(name: &'static str, pve: &'static str, types: &'static [&'static str]) -> OptionDef {
    OptionDef {
        name,
        pve,
        kind: Kind::Text,
        types,
        required_by: &[],
        fixed: false,
        max_len: None,
        since: None,
    }
}

impl OptionDef {
    const fn kind(mut self, kind: Kind) -> OptionDef {
        self.kind = kind;
        self
    }
    const fn required_by(mut self, types: &'static [&'static str]) -> OptionDef {
        self.required_by = types;
        self
    }
    const fn max(mut self, len: usize) -> OptionDef {
        self.max_len = Some(len);
        self
    }

    /// The option of the module's spec. PVE's name is no alias where it
    /// differs: Ansible refuses option names that are not identifiers
    /// (`case-sensitive`), so the docs name it instead.
    pub fn spec(&self) -> Opt {
        let o = match self.kind {
            Kind::Text => Opt::str(self.name),
            Kind::Bool => Opt::bool(self.name),
            Kind::Int => Opt::int(self.name),
            Kind::Choice(c) => Opt::str(self.name).choices(c),
        };
        // A path on the PVE nodes, whose name only sounds like a secret.
        if self.name == "certkey" {
            o.not_secret()
        } else {
            o
        }
    }
}

/// Every option of every realm type, the same on PVE 8.4 and 9.1 but for
/// `audiences` (9.1).
pub const OPTIONS: [OptionDef; 37] = [
    opt("comment", "comment", ALL).max(4096),
    opt("default", "default", ALL).kind(Kind::Bool),
    opt("tfa", "tfa", TFA).max(128),
    opt("server1", "server1", DIRECTORY)
        .required_by(DIRECTORY)
        .max(256),
    opt("server2", "server2", DIRECTORY).max(256),
    opt("port", "port", DIRECTORY).kind(Kind::Int),
    opt("mode", "mode", DIRECTORY).kind(Kind::Choice(&["ldap", "ldaps", "ldap+starttls"])),
    opt("secure", "secure", DIRECTORY).kind(Kind::Bool),
    opt("sslversion", "sslversion", DIRECTORY)
        .kind(Kind::Choice(&["tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3"])),
    opt("verify", "verify", DIRECTORY).kind(Kind::Bool),
    opt("capath", "capath", DIRECTORY),
    opt("cert", "cert", DIRECTORY),
    opt("certkey", "certkey", DIRECTORY),
    opt("base_dn", "base_dn", DIRECTORY)
        .required_by(&["ldap"])
        .max(256),
    opt("bind_dn", "bind_dn", DIRECTORY).max(256),
    opt("user_attr", "user_attr", DIRECTORY)
        .required_by(&["ldap"])
        .max(256),
    opt("filter", "filter", DIRECTORY).max(2048),
    opt("sync_attributes", "sync_attributes", DIRECTORY),
    opt("user_classes", "user_classes", DIRECTORY),
    opt("group_dn", "group_dn", DIRECTORY).max(256),
    opt("group_name_attr", "group_name_attr", DIRECTORY).max(256),
    opt("group_filter", "group_filter", DIRECTORY).max(2048),
    opt("group_classes", "group_classes", DIRECTORY),
    opt("sync_defaults_options", "sync-defaults-options", DIRECTORY),
    opt("case_sensitive", "case-sensitive", DIRECTORY).kind(Kind::Bool),
    opt("domain", "domain", &["ad"])
        .required_by(&["ad"])
        .max(256),
    opt("issuer_url", "issuer-url", OPENID)
        .required_by(OPENID)
        .max(256),
    opt("client_id", "client-id", OPENID)
        .required_by(OPENID)
        .max(256),
    OptionDef {
        fixed: true,
        ..opt("username_claim", "username-claim", OPENID)
    },
    opt("autocreate", "autocreate", OPENID).kind(Kind::Bool),
    opt("groups_claim", "groups-claim", OPENID).max(256),
    opt("groups_autocreate", "groups-autocreate", OPENID).kind(Kind::Bool),
    opt("groups_overwrite", "groups-overwrite", OPENID).kind(Kind::Bool),
    opt("prompt", "prompt", OPENID),
    opt("scopes", "scopes", OPENID),
    opt("acr_values", "acr-values", OPENID),
    OptionDef {
        since: Some((9, 1)),
        ..opt("audiences", "audiences", OPENID)
    },
];

/// The write-only secrets: the LDAP/AD bind password and the OpenID client
/// key (Ansible name, PVE name, types, `maxLength`).
pub const SECRETS: [(&str, &str, &[&str], Option<usize>); 2] = [
    ("password", "password", DIRECTORY, None),
    ("client_key", "client-key", OPENID, Some(256)),
];

/// What a view shows for a secret: that it is set, never its value.
pub const SECRET_SET: &str = "(set)";
/// ... and that this run sets it.
pub const SECRET_CHANGED: &str = "(changed)";

/// When the secrets are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateSecret {
    OnCreate,
    Always,
}

/// A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// The task, validated. Option values are PVE's text (`1`/`0` for
/// booleans); `""` removes an option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub realm: String,
    pub kind: Option<String>,
    pub state: State,
    pub opts: BTreeMap<&'static str, String>,
    /// PVE name -> secret.
    pub secrets: BTreeMap<&'static str, Secret>,
    pub update_secret: UpdateSecret,
}

fn def(pve: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.pve == pve)
}

/// `realm-sync-options` as PVE stores it: the deprecated `full` and
/// `purge` turned into `remove-vanished`, keys sorted, booleans as 1/0.
pub fn normalise_sync_options(text: &str) -> Result<String, String> {
    let mut map = BTreeMap::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("'{part}' is not key=value"));
        };
        let (k, v) = (k.trim(), v.trim());
        let v = match k {
            "enable-new" | "full" | "purge" => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => "1",
                "0" | "false" | "no" | "off" => "0",
                _ => return Err(format!("{k} takes a boolean, not '{v}'")),
            },
            "scope" if ["users", "groups", "both"].contains(&v) => v,
            "remove-vanished"
                if v == "none"
                    || v
                        .split(';')
                        .all(|x| ["acl", "properties", "entry"].contains(&x)) =>
            {
                v
            }
            "scope" | "remove-vanished" => return Err(format!("{k}={v} is not a valid value")),
            _ => {
                return Err(format!(
                    "unknown key '{k}' (PVE knows enable-new, remove-vanished, scope, and the deprecated full and purge)"
                ))
            }
        };
        if map.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("'{k}' is given twice"));
        }
    }
    let set = |map: &BTreeMap<String, String>, k: &str| map.get(k).is_some_and(|v| v == "1");
    if !map.contains_key("remove-vanished") && (set(&map, "full") || set(&map, "purge")) {
        let mut what = Vec::new();
        if set(&map, "full") {
            what.extend(["entry", "properties"]);
        }
        if set(&map, "purge") {
            what.push("acl");
        }
        map.insert("remove-vanished".into(), what.join(";"));
    }
    map.remove("full");
    map.remove("purge");
    Ok(map
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// Checks a value against what PVE's schema says of the option.
fn check_value(o: &OptionDef, v: &str) -> Result<String, String> {
    let name = o.name;
    if v.contains(['\n', '\r']) {
        return Err(format!("{name}: PVE refuses line breaks in realm options"));
    }
    if let Some(max) = o.max_len {
        let len = v.chars().count();
        if len > max {
            return Err(format!(
                "{name} is too long ({len} characters, PVE allows at most {max})"
            ));
        }
    }
    if v.is_empty() {
        return Ok(String::new());
    }
    let ok = match o.pve {
        "user_attr" => v.chars().count() >= 2 && !v.contains(char::is_whitespace),
        "domain" => !v.contains(char::is_whitespace),
        "group_name_attr" => v.chars().all(|c| c.is_ascii_alphanumeric()),
        "groups-claim" => v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "server1" | "server2" => {
            v.parse::<std::net::IpAddr>().is_ok()
                || v.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        }
        "port" => v.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)),
        "acr-values" | "audiences" => !v.chars().any(|c| c.is_control() || " <>#\"".contains(c)),
        _ => true,
    };
    if !ok {
        return Err(format!("{name}: '{v}' is not a value PVE accepts here"));
    }
    if o.pve == "sync-defaults-options" {
        return normalise_sync_options(v).map_err(|e| format!("{name}: {e}"));
    }
    Ok(v.to_string())
}

impl Desired {
    /// Reads and checks the options: the realm id, the type, every option
    /// against the types that have it, the secrets; before any request.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let realm = p.str("realm").unwrap_or_default().to_string();
        if !ids::valid_realm(&realm) || realm.len() > 32 {
            return Err(format!(
                "realm '{realm}' is not a valid realm id: PVE wants 2 to 32 characters, a letter first, then letters, digits, '.', '-' or '_'"
            ));
        }
        let state = State::from_params(p);
        let builtin = realm == "pam" || realm == "pve";
        let kind = p.str("type").map(str::to_string);
        if let Some(k) = &kind {
            if builtin && *k != realm {
                return Err(format!(
                    "realm '{realm}' is PVE's built-in realm of type '{realm}', not '{k}'"
                ));
            }
            if !builtin && (k == "pam" || k == "pve") {
                return Err(format!(
                    "type '{k}': PVE has only its built-in realm '{k}' of that type; choose ldap, ad or openid for realm '{realm}'"
                ));
            }
        }
        if builtin && state == State::Absent {
            return Err(format!(
                "realm '{realm}' is built into PVE and cannot be deleted"
            ));
        }
        let kind = kind.or_else(|| builtin.then(|| realm.clone()));
        let mut opts = BTreeMap::new();
        for o in &OPTIONS {
            let value = match o.kind {
                Kind::Bool => p.bool(o.name).map(|b| u8::from(b).to_string()),
                Kind::Int => p.int(o.name).map(|n| n.to_string()),
                Kind::Text | Kind::Choice(_) => p.str(o.name).map(str::to_string),
            };
            if let Some(v) = value {
                opts.insert(o.pve, check_value(o, &v)?);
            }
        }
        let mut secrets = BTreeMap::new();
        for (name, pve, _, max) in SECRETS {
            if let Some(v) = p.str(name) {
                if max.is_some_and(|m| v.chars().count() > m) {
                    return Err(format!(
                        "{name} is too long (PVE allows at most {} characters)",
                        max.unwrap_or_default()
                    ));
                }
                if v.contains(['\n', '\r']) {
                    return Err(format!("{name}: PVE refuses line breaks in it"));
                }
                secrets.insert(pve, Secret(v.to_string()));
            }
        }
        let d = Desired {
            realm,
            kind,
            state,
            opts,
            secrets,
            update_secret: match p.str("update_secret") {
                Some("always") => UpdateSecret::Always,
                _ => UpdateSecret::OnCreate,
            },
        };
        if let Some(k) = &d.kind {
            d.check_type(k)?;
        }
        Ok(d)
    }

    /// Every option given must be one of type `kind`'s.
    pub fn check_type(&self, kind: &str) -> Result<(), String> {
        if self.state == State::Absent {
            return Ok(());
        }
        let mut wrong: Vec<&str> = self
            .opts
            .keys()
            .filter_map(|k| def(k))
            .filter(|o| !o.types.contains(&kind))
            .map(|o| o.name)
            .collect();
        wrong.extend(
            SECRETS
                .iter()
                .filter(|(_, pve, types, _)| {
                    self.secrets.contains_key(pve) && !types.contains(&kind)
                })
                .map(|(name, ..)| *name),
        );
        if wrong.is_empty() {
            return Ok(());
        }
        Err(format!(
            "realm '{}' is of type '{kind}', which has no {}: leave {} out, or use the type that has {}",
            self.realm,
            wrong.join(", "),
            if wrong.len() == 1 { "it" } else { "them" },
            if wrong.len() == 1 { "it" } else { "them" },
        ))
    }

    /// Whether the plan needs the server's release: only for an option not
    /// every supported release has.
    pub fn needs_version(&self) -> bool {
        self.opts
            .iter()
            .any(|(k, v)| !v.is_empty() && def(k).is_some_and(|o| o.since.is_some()))
    }

    /// Options the server's release (`9.1.2`) lacks are refused.
    pub fn check_version(&self, release: &str) -> Result<(), String> {
        // A release that cannot be read is older than any.
        let have = pve_api::access::release(release).unwrap_or((0, 0));
        for (k, v) in &self.opts {
            if let Some((since, o)) = def(k).and_then(|o| o.since.map(|s| (s, o))) {
                if !v.is_empty() && have < since {
                    return Err(format!(
                        "{} needs PVE {}.{} or later; this server runs {release}",
                        o.name, since.0, since.1
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The realm as `GET /access/domains/{realm}` answered (`type`, options,
/// `digest`).
pub type Current = Map<String, Value>;

/// An option's value as text (booleans and ports come as numbers).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value as PVE's `GET` answers it: booleans and integers as numbers.
fn answered(pve: &str, v: &str) -> Value {
    match def(pve).map(|o| o.kind) {
        Some(Kind::Bool | Kind::Int) => v
            .parse::<i64>()
            .map_or_else(|_| Value::String(v.to_string()), Value::from),
        _ => Value::String(v.to_string()),
    }
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The realm does not exist.
    Absent,
    /// The realm exists with these options (`None`: not set).
    Options(BTreeMap<String, Option<String>>),
}

impl Settle {
    pub fn met_by(&self, current: Option<&Current>) -> bool {
        match (self, current) {
            (Settle::Absent, None) => true,
            (Settle::Options(want), Some(c)) => want.iter().all(|(k, v)| c.get(k).map(text) == *v),
            _ => false,
        }
    }
}

/// The realm as the module shows it: Ansible's option names, booleans as
/// booleans, secrets as [`SECRET_SET`], never their value.
pub fn view(realm: &str, current: &Current) -> Value {
    let mut m = Map::new();
    m.insert("realm".into(), Value::String(realm.to_string()));
    for (k, v) in current {
        if k == "digest" {
            continue;
        }
        if let Some((name, ..)) = SECRETS.iter().find(|(_, pve, ..)| pve == k) {
            m.insert((*name).into(), Value::String(SECRET_SET.into()));
            continue;
        }
        let (name, kind) = match def(k) {
            Some(o) => (o.name.to_string(), o.kind),
            None => (k.replace('-', "_"), Kind::Text),
        };
        let value = match kind {
            Kind::Bool => Value::Bool(text(v) == "1"),
            _ => v.clone(),
        };
        m.insert(name, value);
    }
    Value::Object(m)
}

fn realm_path(realm: &str) -> String {
    format!("/access/domains/{}", seg(realm))
}

/// What the task takes away, for the self-lockout rule: deleting a realm
/// ends its users' logins.
pub fn lockout_changes(d: &Desired, current: Option<&Current>) -> Vec<Change> {
    match (d.state, current) {
        (State::Absent, Some(_)) => vec![Change::RealmDeleted(d.realm.clone())],
        _ => Vec::new(),
    }
}

/// Plans the task. Refuses, before any write, what PVE cannot do: a new
/// realm without its type or required options, a change of type or of a
/// fixed option, options the realm's type does not have.
pub fn plan(d: &Desired, current: Option<&Current>, check_mode: bool) -> Result<Plan, Refused> {
    let id = &d.realm;
    let Some(cur) = current else {
        if d.state == State::Absent {
            return Ok(Plan::unchanged(
                format!("realm '{id}' does not exist"),
                no_view(),
            ));
        }
        return create(d, check_mode);
    };
    if d.state == State::Absent {
        return Ok(Plan::change(
            vec![Step::new(
                ApiRequest::delete(realm_path(id)),
                Settle::Absent,
            )],
            format!(
                "realm '{id}' {} (its users stay in PVE, but cannot log in through it)",
                verb(check_mode, "deleted")
            ),
            view(id, cur),
            no_view(),
        ));
    }
    update(d, cur, check_mode)
}

fn create(d: &Desired, check_mode: bool) -> Result<Plan, Refused> {
    let id = &d.realm;
    let Some(kind) = &d.kind else {
        return Err(Refused(format!(
            "realm '{id}' does not exist: give its type (ldap, ad or openid) to create it"
        )));
    };
    let missing: Vec<&str> = OPTIONS
        .iter()
        .filter(|o| o.required_by.contains(&kind.as_str()))
        .filter(|o| d.opts.get(o.pve).is_none_or(String::is_empty))
        .map(|o| o.name)
        .collect();
    if !missing.is_empty() {
        return Err(Refused(format!(
            "realm '{id}' not created: a realm of type '{kind}' needs {}",
            missing.join(", ")
        )));
    }
    let mut req = ApiRequest::post("/access/domains")
        .param("realm", id)
        .param("type", kind);
    let mut after = Map::new();
    after.insert("type".into(), Value::String(kind.clone()));
    let mut settle = BTreeMap::new();
    settle.insert("type".to_string(), Some(kind.clone()));
    for (k, v) in d.opts.iter().filter(|(_, v)| !v.is_empty()) {
        req = req.param(*k, v);
        after.insert(k.to_string(), answered(k, v));
        settle.insert(k.to_string(), Some(v.clone()));
    }
    let mut with = Vec::new();
    for (name, pve, ..) in SECRETS {
        if let Some(s) = d.secrets.get(pve) {
            req = req.param(pve, &s.0);
            after.insert(pve.to_string(), Value::Null);
            with.push(name.replace('_', " "));
        }
    }
    let mut view_after = view(id, &after);
    mark_changed(&mut view_after, d);
    let with = if with.is_empty() {
        String::new()
    } else {
        format!(" with its {}", with.join(" and "))
    };
    Ok(Plan::change(
        vec![Step::new(req, Settle::Options(settle))],
        format!("realm '{id}' {}{with}", verb(check_mode, "created")),
        no_view(),
        view_after,
    ))
}

/// The secrets this run sends show as [`SECRET_CHANGED`].
fn mark_changed(view: &mut Value, d: &Desired) {
    if let Value::Object(m) = view {
        for (name, pve, ..) in SECRETS {
            if d.secrets.contains_key(pve) {
                m.insert(name.into(), Value::String(SECRET_CHANGED.into()));
            }
        }
    }
}

fn update(d: &Desired, cur: &Current, check_mode: bool) -> Result<Plan, Refused> {
    let id = &d.realm;
    let kind = cur.get("type").map(text).unwrap_or_default();
    if let Some(k) = d.kind.as_ref().filter(|k| **k != kind) {
        return Err(Refused(format!(
            "realm '{id}' is of type '{kind}', and PVE cannot change a realm's type: delete it (state: absent) and create it again with type '{k}' (its users stay)"
        )));
    }
    d.check_type(&kind).map_err(Refused)?;
    let mut req = ApiRequest::put(realm_path(id));
    let mut after = cur.clone();
    let mut settle = BTreeMap::new();
    let mut changes = Vec::new();
    let mut delete = Vec::new();
    for (k, v) in &d.opts {
        let have = cur.get(*k).map(text);
        let o = def(k);
        let name = o.map_or(*k, |o| o.name);
        if v.is_empty() {
            if have.is_some() {
                delete.push(*k);
                after.remove(*k);
                settle.insert(k.to_string(), None);
                changes.push(format!("{name} removed"));
            }
            continue;
        }
        if have.as_deref() == Some(v.as_str()) {
            continue;
        }
        if o.is_some_and(|o| o.fixed) {
            return Err(Refused(format!(
                "realm '{id}': {name} is '{}' and PVE does not allow changing it after creation: delete the realm (state: absent) and create it again with {name} '{v}'",
                have.unwrap_or_default()
            )));
        }
        req = req.param(*k, v);
        after.insert(k.to_string(), answered(k, v));
        settle.insert(k.to_string(), Some(v.clone()));
        changes.push(name.to_string());
    }
    if !delete.is_empty() {
        req = req.param("delete", delete.join(","));
    }
    let mut warnings = Vec::new();
    let mut sent_secrets = Desired {
        secrets: BTreeMap::new(),
        ..d.clone()
    };
    if d.update_secret == UpdateSecret::Always {
        for (name, pve, ..) in SECRETS {
            let Some(s) = d.secrets.get(pve) else {
                continue;
            };
            // PVE shows the client key, so it is compared; the bind
            // password it never shows, so it is set on every run.
            match cur.get(pve) {
                Some(have) if text(have) == s.0 => continue,
                Some(_) => {}
                None if pve == "password" => warnings.push(format!(
                    "update_secret: always cannot tell whether the {} of realm '{id}' is already set (PVE never shows it), so it is set on every run",
                    name.replace('_', " ")
                )),
                None => {}
            }
            req = req.param(pve, &s.0);
            sent_secrets.secrets.insert(pve, s.clone());
            changes.push(name.to_string());
        }
    }
    if req.params.is_empty() {
        return Ok(
            Plan::unchanged(format!("realm '{id}' unchanged"), view(id, cur))
                .with_warnings(warnings),
        );
    }
    // PVE refuses the write if domains.cfg changed since it was read.
    if let Some(digest) = cur.get("digest") {
        req = req.param("digest", text(digest));
    }
    let mut view_after = view(id, &after);
    mark_changed(&mut view_after, &sent_secrets);
    Ok(Plan::change(
        vec![Step::new(req, Settle::Options(settle))],
        format!(
            "realm '{id}' {}: {}",
            verb(check_mode, "updated"),
            changes.join(", ")
        ),
        view(id, cur),
        view_after,
    )
    .with_warnings(warnings))
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
