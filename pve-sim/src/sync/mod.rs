//! Realm sync: what `POST /access/domains/{realm}/sync` does on PVE
//! (`PVE::API2::Domains` with the LDAP/AD plugins, docs/realm-sync.md),
//! against a real directory, as a task.
//!
//! The steps, each as PVE takes them:
//! 1. [`SyncOptions::resolve`]: the call's options over the realm's
//!    `sync-defaults-options` over the schema defaults (before any task).
//! 2. [`start`]: a task `auth-realm-sync` (`auth-realm-sync-test` for a dry
//!    run) whose UPID the call returns at once; in its thread:
//! 3. the directory is read ([`ldap`]: bind, the users' and groups'
//!    searches), and turned into users and groups ([`collect`], pure);
//! 4. under the state's lock they are applied to user.cfg ([`apply`],
//!    pure) and written once, unless it is a dry run.
//!
//! Every step logs the lines PVE's task log has, in its order, so the log
//! can be compared line for line with the real code's
//! (`tests/support/tests/realm_sync.rs`).
//!
//! ```no_run
//! # use pve_sim::sync::{self, RealmConfig, SyncOptions};
//! # fn f(store: std::sync::Arc<pve_sim::store::Store>, tasks: &pve_sim::tasks::Tasks,
//! #      props: &std::collections::BTreeMap<String, String>, params: &std::collections::BTreeMap<String, String>) {
//! let realm = RealmConfig::from_properties("dir", "ldap", props, Some("bind password".into()));
//! let opts = SyncOptions::resolve(params, realm.sync_defaults_options.as_deref()).unwrap();
//! let task = sync::start(store, tasks, "root@pam", realm, opts);
//! let upid = task.upid.to_string(); // what the call answers
//! # }
//! ```

pub mod ldap;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::api::errors::ApiError;
use crate::api::formats;
use crate::ids;
use crate::model::{AclNode, Group, PveVersion, RoleMap, User, UserCfg};
use crate::perlstr;
use crate::store::{Store, StoreError};
use crate::tasks::{Task, Tasks};
use ldap::{Connection, Entry, Security, Tls};

/// What a sync brings over: users, groups or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Users,
    Groups,
    Both,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "users" => Some(Scope::Users),
            "groups" => Some(Scope::Groups),
            "both" => Some(Scope::Both),
            _ => None,
        }
    }

    /// How the log names it (`users and groups` for both).
    fn what(self) -> &'static str {
        match self {
            Scope::Users => "users",
            Scope::Groups => "groups",
            Scope::Both => "users and groups",
        }
    }

    fn users(self) -> bool {
        self != Scope::Groups
    }

    fn groups(self) -> bool {
        self != Scope::Users
    }
}

/// The options of one sync, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    pub scope: Scope,
    pub enable_new: bool,
    /// As given (`acl;entry`, `none`): the log prints it so.
    pub remove_vanished: String,
    pub dry_run: bool,
}

impl SyncOptions {
    /// PVE's `parse_sync_opts`: each of `scope`, `enable-new` and
    /// `remove-vanished` from the call's (validated) `params`, else from
    /// the realm's `sync-defaults-options` property string, else the
    /// schema's default; `dry-run` from the call only. The deprecated
    /// `full`/`purge` never take effect: `remove-vanished` always has a
    /// value by then (its default `none`). No scope anywhere is the one
    /// refusal.
    pub fn resolve(
        params: &BTreeMap<String, String>,
        defaults: Option<&str>,
    ) -> Result<SyncOptions, ApiError> {
        let defaults: BTreeMap<&str, &str> = defaults
            .unwrap_or_default()
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .or_else(|| defaults.get(name).copied())
        };
        let scope = get("scope").and_then(Scope::parse).ok_or_else(|| {
            ApiError::param1(
                "scope",
                "Not passed as parameter and not defined in realm default sync options.",
            )
        })?;
        Ok(SyncOptions {
            scope,
            enable_new: get("enable-new").is_none_or(ids::truthy),
            remove_vanished: get("remove-vanished").unwrap_or("none").to_string(),
            dry_run: params.get("dry-run").is_some_and(|v| ids::truthy(v)),
        })
    }

    /// The parts of `remove-vanished` (`none` is none of them).
    fn removes(&self, what: &str) -> bool {
        self.remove_vanished.split(';').any(|p| p == what)
    }
}

/// An LDAP or AD realm's settings, as domains.cfg holds them (PVE's
/// option names), and its bind password (`priv/realm/<realm>.pw`).
/// Not `Debug`: it holds the password.
#[derive(Clone, Default)]
pub struct RealmConfig {
    pub realm: String,
    /// `ad` (users named by `sAMAccountName` by default) or `ldap`.
    pub ad: bool,
    pub server1: String,
    pub server2: Option<String>,
    pub port: Option<u16>,
    /// `ldap`, `ldaps` or `ldap+starttls`; unset: `ldaps` with the
    /// deprecated `secure`, else `ldap`.
    pub mode: Option<String>,
    pub secure: bool,
    /// Check the directory's certificate (PVE's default: no).
    pub verify: bool,
    /// With `verify`: a CA file or a directory of CAs; unset: the
    /// system's (/etc/ssl/certs).
    pub capath: Option<String>,
    /// The one TLS version spoken: `tlsv1_2` (unset) or `tlsv1_3`.
    pub sslversion: Option<String>,
    /// Unset: the root DSE's `defaultNamingContext` (AD's way).
    pub base_dn: Option<String>,
    pub bind_dn: Option<String>,
    pub password: Option<String>,
    pub user_attr: Option<String>,
    pub filter: Option<String>,
    pub user_classes: Option<String>,
    pub sync_attributes: Option<String>,
    pub group_dn: Option<String>,
    pub group_filter: Option<String>,
    pub group_classes: Option<String>,
    pub group_name_attr: Option<String>,
    pub sync_defaults_options: Option<String>,
}

impl RealmConfig {
    /// A realm of `kind` from its domains.cfg properties (`server1`,
    /// `base_dn`, `sync-defaults-options`, ...; others are ignored).
    pub fn from_properties(
        realm: &str,
        kind: &str,
        props: &BTreeMap<String, String>,
        password: Option<String>,
    ) -> RealmConfig {
        let get = |k: &str| props.get(k).cloned();
        RealmConfig {
            realm: realm.to_string(),
            ad: kind == "ad",
            server1: get("server1").unwrap_or_default(),
            server2: get("server2"),
            port: get("port").and_then(|p| p.parse().ok()),
            mode: get("mode"),
            secure: get("secure").is_some_and(|v| ids::truthy(&v)),
            verify: get("verify").is_some_and(|v| ids::truthy(&v)),
            capath: get("capath"),
            sslversion: get("sslversion"),
            base_dn: get("base_dn"),
            bind_dn: get("bind_dn"),
            password,
            user_attr: get("user_attr"),
            filter: get("filter"),
            user_classes: get("user_classes"),
            sync_attributes: get("sync_attributes"),
            group_dn: get("group_dn"),
            group_filter: get("group_filter"),
            group_classes: get("group_classes"),
            group_name_attr: get("group_name_attr"),
            sync_defaults_options: get("sync-defaults-options"),
        }
    }

    fn user_attr(&self) -> &str {
        match &self.user_attr {
            Some(a) => a,
            None if self.ad => "sAMAccountName",
            None => "uid",
        }
    }

    /// The LDAP attributes a user search reads, each with the user field
    /// it fills (`username` for the name): PVE's own field names, then
    /// `sync_attributes` (`email=mail,...`), whose bad entries are skipped
    /// with a warning.
    fn attribute_map(&self, log: &mut Vec<String>) -> BTreeMap<String, &'static str> {
        let mut map: BTreeMap<String, &'static str> = BTreeMap::new();
        map.insert(self.user_attr().to_string(), "username");
        for field in FIELDS {
            map.insert(field.to_string(), field);
        }
        for item in ids::split_list(self.sync_attributes.as_deref().unwrap_or_default()) {
            let (ours, theirs) = item.split_once('=').unwrap_or((item.as_str(), ""));
            let valid = !ours.is_empty() && ours.chars().all(|c| c.is_alphanumeric() || c == '_');
            match FIELDS.iter().find(|f| **f == ours).filter(|_| valid) {
                Some(field) => {
                    map.insert(theirs.trim().to_string(), field);
                }
                None => log.push(format!(
                    "skipping bad 'sync_attributes' entry \u{2013} '{ours}' is not a valid target attribute"
                )),
            }
        }
        map
    }
}

/// The user fields a directory may fill.
const FIELDS: [&str; 7] = [
    "enable",
    "expire",
    "firstname",
    "lastname",
    "email",
    "comment",
    "keys",
];

/// `(|(<each>=*))`, `(|(objectclass=<each>))`, and a filter of the realm's
/// own around them, as `PVE::LDAP` builds its search filters.
fn any_of(items: &[String], format: impl Fn(&str) -> String) -> String {
    let inner: String = items.iter().map(|i| format(i)).collect();
    format!("(|{inner})")
}

fn with_filter(own: Option<&str>, built: String) -> String {
    match own.filter(|f| !f.is_empty()) {
        Some(f) if f.starts_with('(') && f.ends_with(')') => format!("(&{f}{built})"),
        Some(f) => format!("(&({f}){built})"),
        None => built,
    }
}

fn classes(list: Option<&str>, default: &str) -> Vec<String> {
    ids::split_list(list.unwrap_or(default))
}

/// What the directory holds for the realm, in PVE's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// `name@realm` -> field -> value.
    pub users: BTreeMap<String, BTreeMap<&'static str, String>>,
    /// `name-realm` -> members (`name@realm`, found users only).
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// A user attribute's value as PVE's `verify_sync_attribute_value` accepts
/// it (the field's API schema); the error is the reason to skip it.
fn check_field(field: &str, value: &str) -> Result<(), String> {
    let max = match field {
        "firstname" | "lastname" => 1024,
        "email" => 254,
        "comment" => 2048,
        _ => usize::MAX,
    };
    let ok = match field {
        "expire" => value.parse::<u64>().is_ok(),
        "keys" => {
            value.len() <= 4096
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '!' || c == '=')
        }
        "email" => value.is_empty() || formats::verify_email(value).is_ok(),
        _ => true,
    };
    if ok && value.chars().count() <= max {
        Ok(())
    } else {
        Err(format!("invalid value '{value}'"))
    }
}

/// The users and groups in the entries the searches found, as PVE's
/// `get_users`/`get_groups` make them, with their warnings (skipped names
/// and values) in `log`. `groups` is `None` when only users are synced.
pub fn collect(
    realm: &RealmConfig,
    version: PveVersion,
    users: &[Entry],
    groups: Option<&[Entry]>,
    log: &mut Vec<String>,
) -> Found {
    let map = realm.attribute_map(log);
    let name_attr = realm.user_attr();
    let mut found = Found::default();
    let mut dn_map: BTreeMap<String, String> = BTreeMap::new();
    for entry in users {
        // The name is taken as the directory's bytes, as PVE takes it.
        let name = entry
            .first(name_attr)
            .map(perlstr::chars_of_bytes)
            .unwrap_or_default();
        let userid = format!("{name}@{}", realm.realm);
        if let Err(e) = ids::verify_cfg_userid(&userid) {
            log.push(e.trim_end().to_string());
            continue;
        }
        let fields = found.users.entry(userid.clone()).or_default();
        fields.clear();
        for (attr, ours) in &map {
            let Some(raw) = entry.first(attr) else {
                continue;
            };
            let value = String::from_utf8_lossy(raw).into_owned();
            if *ours == "username" {
                continue;
            }
            match check_field(ours, &value) {
                Ok(()) => {
                    fields.insert(ours, value);
                }
                Err(e) => log.push(format!(
                    "skipping attribute mapping '{attr}'->'{ours}' for user '{userid}' - {e}"
                )),
            }
        }
        dn_map.insert(entry.dn.to_ascii_lowercase(), userid);
    }
    for entry in groups.unwrap_or_default() {
        let by_attr = realm
            .group_name_attr
            .as_deref()
            .and_then(|a| entry.first(a))
            .map(perlstr::chars_of_bytes)
            .filter(|n| ids::truthy(n));
        // `^[^=]+=([^,]+),`: the first RDN's value, of a DN with a parent.
        let by_rdn = || {
            let (key, rest) = entry.dn.split_once('=')?;
            let (value, _) = rest.split_once(',')?;
            (!key.is_empty() && !value.is_empty()).then(|| value.trim().to_string())
        };
        let Some(name) = by_attr.or_else(by_rdn).filter(|n| ids::truthy(n)) else {
            continue;
        };
        let groupid = format!("{name}-{}", realm.realm);
        if let Err(e) = ids::verify_groupid(&groupid, version) {
            log.push(e.trim_end().to_string());
            continue;
        }
        let mut members = entry.values("member");
        if members.is_empty() {
            members = entry.values("uniqueMember");
        }
        let members = members
            .iter()
            .filter_map(|dn| {
                dn_map
                    .get(&String::from_utf8_lossy(dn).to_ascii_lowercase())
                    .cloned()
            })
            .collect();
        found.groups.insert(groupid, members);
    }
    found
}

/// Sets one synced field of a user.
fn set_field(user: &mut User, field: &str, value: &str) {
    let text = Some(value.to_string());
    match field {
        "enable" => user.enable = ids::truthy(value),
        "expire" => user.expire = value.parse().unwrap_or(0),
        "firstname" => user.firstname = text,
        "lastname" => user.lastname = text,
        "email" => user.email = text,
        "comment" => user.comment = text,
        "keys" => user.keys = text,
        _ => {}
    }
}

/// The start of `update_users` or `update_groups` for one `kind` (`user`,
/// `group`): the `vanished` entries, in sorted order, removed with `entry`
/// and their ACL entries purged with `acl`.
fn remove_vanished<T>(
    kind: &str,
    entries: &mut BTreeMap<String, T>,
    vanished: impl Fn(&String) -> bool,
    acl: &mut BTreeMap<String, AclNode>,
    acl_entries: fn(&mut AclNode) -> &mut RoleMap,
    opts: &SyncOptions,
    log: &mut Vec<String>,
) {
    log.push(format!(
        "syncing {kind}s (remove-vanished opts: {})",
        opts.remove_vanished
    ));
    if opts.removes("entry") {
        log.push(format!("deleting outdated existing {kind}s first"));
    }
    let gone: Vec<String> = entries.keys().filter(|k| vanished(k)).cloned().collect();
    for id in gone {
        if opts.removes("entry") {
            log.push(format!("remove {kind} '{id}'"));
            entries.remove(&id);
        }
        if opts.removes("acl") {
            log.push(format!("purge {kind}s '{id}' ACL entries"));
            for node in acl.values_mut() {
                acl_entries(node).remove(&id);
            }
        }
    }
}

/// PVE's `update_users` and `update_groups` on `cfg`: vanished entries
/// first (removed with `entry`, their ACL entries purged with `acl`),
/// then the found ones (added, overwritten with `properties`, else
/// updated field by field), each kind in sorted order; the log lines say
/// so, between `got data from server` and the end.
pub fn apply(
    cfg: &mut UserCfg,
    realm: &str,
    found: &Found,
    opts: &SyncOptions,
    log: &mut Vec<String>,
) {
    log.push(format!(
        "got data from server, updating {}",
        opts.scope.what()
    ));
    if opts.scope.users() {
        let suffix = format!("@{realm}");
        remove_vanished(
            "user",
            &mut cfg.users,
            |u| u.ends_with(&suffix) && !found.users.contains_key(u),
            &mut cfg.acl,
            |node| &mut node.users,
            opts,
            log,
        );
        for (userid, fields) in &found.users {
            let old = cfg.users.get(userid).cloned();
            let overwrite = opts.removes("properties") || old.is_none();
            let mut user = if overwrite {
                log.push(match old {
                    Some(_) => format!("overwriting user '{userid}'"),
                    None => format!("adding user '{userid}'"),
                });
                // The directory's user, but an existing one keeps its
                // enable flag, tokens and memberships.
                User {
                    enable: old.as_ref().map_or(opts.enable_new, |o| o.enable),
                    tokens: old.as_ref().map(|o| o.tokens.clone()).unwrap_or_default(),
                    groups: old.map(|o| o.groups).unwrap_or_default(),
                    ..User::default()
                }
            } else {
                log.push(format!("updating user '{userid}'"));
                old.unwrap_or_default()
            };
            for (field, value) in fields {
                if !(overwrite && *field == "enable") {
                    set_field(&mut user, field, value);
                }
            }
            cfg.users.insert(userid.clone(), user);
        }
    }
    if opts.scope.groups() {
        let suffix = format!("-{realm}");
        remove_vanished(
            "group",
            &mut cfg.groups,
            |g| g.ends_with(&suffix) && !found.groups.contains_key(g),
            &mut cfg.acl,
            |node| &mut node.groups,
            opts,
            log,
        );
        for (groupid, members) in &found.groups {
            let verb = match cfg.groups.get_mut(groupid) {
                Some(group) if !opts.removes("properties") => {
                    group.members = members.clone();
                    "updating"
                }
                old => {
                    let verb = if old.is_some() {
                        "overwriting"
                    } else {
                        "adding"
                    };
                    cfg.groups.insert(
                        groupid.clone(),
                        Group {
                            members: members.clone(),
                            comment: None,
                        },
                    );
                    verb
                }
            };
            log.push(format!("{verb} group '{groupid}'"));
        }
    }
}

/// Reads what the realm's directory holds: bind, then the users (always:
/// group members are matched against them) and, for groups, the groups.
/// Warnings go to `log`; the error is the task's.
fn read_directory(
    realm: &RealmConfig,
    version: PveVersion,
    scope: Scope,
    log: &mut Vec<String>,
) -> Result<Found, String> {
    let mode = realm
        .mode
        .as_deref()
        .unwrap_or(if realm.secure { "ldaps" } else { "ldap" });
    let security = match mode {
        "ldaps" => Security::Ldaps,
        "ldap+starttls" => Security::StartTls,
        _ => Security::Plain,
    };
    let default_port = if security == Security::Ldaps {
        636
    } else {
        389
    };
    let tls = Tls {
        verify: realm.verify,
        capath: realm.capath.clone(),
        sslversion: realm.sslversion.clone(),
    };
    let mut servers = vec![realm.server1.as_str()];
    servers.extend(realm.server2.as_deref());
    let mut conn =
        Connection::connect(&servers, realm.port.unwrap_or(default_port), security, &tls)
            .map_err(|e| e.0)?;
    match &realm.bind_dn {
        Some(dn) => {
            let password = realm
                .password
                .as_deref()
                .ok_or_else(|| format!("missing password for realm {}", realm.realm))?;
            conn.bind(dn, password)
        }
        None => conn.bind("", ""),
    }
    .map_err(|e| format!("ldap bind failed: {}", e.0))?;
    let base = match &realm.base_dn {
        Some(b) => b.clone(),
        None => conn
            .root_dse("defaultNamingContext")
            .ok()
            .flatten()
            .unwrap_or_default(),
    };

    let mut attr_log = Vec::new();
    let attrs: Vec<String> = realm.attribute_map(&mut attr_log).into_keys().collect();
    let user_filter = with_filter(
        realm.filter.as_deref(),
        format!(
            "(&{}{})",
            any_of(&attrs, |a| format!("({a}=*)")),
            any_of(
                &classes(
                    realm.user_classes.as_deref(),
                    "inetorgperson, posixaccount, person, user"
                ),
                |c| format!("(objectclass={c})")
            )
        ),
    );
    let mut read: Vec<&str> = attrs.iter().map(String::as_str).collect();
    read.push("memberOf");
    let users = conn
        .search(&base, true, &user_filter, &read, Some(900))
        .map_err(|e| format!("ldap user search error: {}", e.0))?;

    let groups = if scope.groups() {
        let group_filter = with_filter(
            realm.group_filter.as_deref(),
            any_of(
                &classes(
                    realm.group_classes.as_deref(),
                    "groupOfNames, group, univentionGroup, ipausergroup",
                ),
                |c| format!("(objectclass={c})"),
            ),
        );
        let mut read = vec!["member", "uniqueMember"];
        read.extend(realm.group_name_attr.as_deref());
        let group_base = realm.group_dn.as_deref().unwrap_or(&base);
        Some(
            conn.search(group_base, true, &group_filter, &read, Some(100))
                .map_err(|e| format!("ldap group search error: {}", e.0))?,
        )
    } else {
        None
    };
    Ok(collect(realm, version, &users, groups.as_deref(), log))
}

/// The whole sync in `task`, as PVE's worker runs it; the task ends with
/// its outcome.
pub fn run(store: &Store, task: &Task, realm: &RealmConfig, opts: &SyncOptions) {
    let prefix = if opts.dry_run { "(dry test run) " } else { "" };
    task.log(&format!("{prefix}starting sync for realm {}", realm.realm));
    let flush = |lines: &mut Vec<String>| {
        for line in lines.drain(..) {
            task.log(&line);
        }
    };
    let mut lines = Vec::new();
    let found = read_directory(realm, store.version(), opts.scope, &mut lines);
    flush(&mut lines);
    let found = match found {
        Ok(f) => f,
        Err(e) => return task.finish(Err(e)),
    };
    let what = opts.scope.what();
    if opts.dry_run {
        let mut cfg = store.read(|s| s.cfg.clone());
        apply(&mut cfg, &realm.realm, &found, opts, &mut lines);
        flush(&mut lines);
        task.log("");
        task.log("NOTE: Dry test run, changes were NOT written to the configuration.");
        return task.finish(Ok(()));
    }
    let written = store.write(|s| {
        apply(&mut s.cfg, &realm.realm, &found, opts, &mut lines);
        Ok::<_, StoreError>(())
    });
    flush(&mut lines);
    match written {
        Ok(()) => {
            task.log(&format!("successfully updated {what} configuration"));
            task.finish(Ok(()));
        }
        Err(e) => task.finish(Err(format!("syncing {what} failed: {e}"))),
    }
}

/// Starts the sync of `realm` as a task of `authid` (a user or full token
/// id) and returns it at once, as PVE's `fork_worker` returns the UPID;
/// the sync runs on in its own thread.
pub fn start(
    store: Arc<Store>,
    tasks: &Tasks,
    authid: &str,
    realm: RealmConfig,
    opts: SyncOptions,
) -> Arc<Task> {
    let kind = if opts.dry_run {
        "auth-realm-sync-test"
    } else {
        "auth-realm-sync"
    };
    let task = tasks.start(kind, &realm.realm, authid);
    let worker = Arc::clone(&task);
    std::thread::spawn(move || run(&store, &worker, &realm, &opts));
    task
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usercfg::{parse_user_cfg, write_user_cfg};

    const V: PveVersion = PveVersion::V9_1;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> Entry {
        let mut e = Entry {
            dn: dn.to_string(),
            attrs: Vec::new(),
        };
        for (name, value) in attrs {
            match e.attrs.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value.as_bytes().to_vec()),
                None => e
                    .attrs
                    .push((name.to_string(), vec![value.as_bytes().to_vec()])),
            }
        }
        e
    }

    fn realm(sync_attributes: Option<&str>) -> RealmConfig {
        RealmConfig {
            realm: "dir".into(),
            sync_attributes: sync_attributes.map(String::from),
            ..RealmConfig::default()
        }
    }

    fn opts(scope: Scope, remove_vanished: &str) -> SyncOptions {
        SyncOptions {
            scope,
            enable_new: true,
            remove_vanished: remove_vanished.into(),
            dry_run: false,
        }
    }

    fn people() -> Vec<Entry> {
        vec![
            entry(
                "uid=alice,ou=people,dc=t",
                &[
                    ("uid", "alice"),
                    ("mail", "alice@t.test"),
                    ("givenName", "Al\u{ef}ce"),
                ],
            ),
            entry(
                "uid=bob,ou=people,dc=t",
                &[("uid", "bob"), ("mail", "not mail")],
            ),
            entry("cn=nameless,ou=people,dc=t", &[("cn", "nameless")]),
        ]
    }

    #[test]
    fn entries_become_users_and_groups_named_after_the_realm() {
        let mut log = Vec::new();
        let groups = [
            entry(
                "cn=admins,ou=groups,dc=t",
                &[
                    ("member", "UID=Alice,ou=people,dc=t"),
                    ("member", "uid=zoe,ou=people,dc=t"),
                ],
            ),
            entry(
                "cn=unique,ou=groups,dc=t",
                &[("uniqueMember", "uid=bob,ou=people,dc=t")],
            ),
            entry("cn=Domain Ops,ou=groups,dc=t", &[]),
            entry("cn=top", &[]),
        ];
        let found = collect(
            &realm(Some("email=mail,firstname=givenName,bogus=x")),
            V,
            &people(),
            Some(&groups),
            &mut log,
        );
        assert_eq!(
            log,
            [
                "skipping bad 'sync_attributes' entry \u{2013} 'bogus' is not a valid target attribute",
                "skipping attribute mapping 'mail'->'email' for user 'bob@dir' - invalid value 'not mail'",
                "value '@dir' does not look like a valid user name",
                "group name 'Domain Ops-dir' contains invalid characters",
            ]
        );
        assert_eq!(
            found.users.keys().collect::<Vec<_>>(),
            ["alice@dir", "bob@dir"]
        );
        assert_eq!(found.users["alice@dir"]["firstname"], "Al\u{ef}ce");
        assert_eq!(found.users["alice@dir"]["email"], "alice@t.test");
        assert!(found.users["bob@dir"].is_empty());
        // Members by DN, case-insensitively, only users this sync found.
        assert_eq!(
            found.groups,
            BTreeMap::from([
                (
                    "admins-dir".to_string(),
                    BTreeSet::from(["alice@dir".to_string()])
                ),
                (
                    "unique-dir".to_string(),
                    BTreeSet::from(["bob@dir".to_string()])
                ),
            ])
        );
        let named = RealmConfig {
            group_name_attr: Some("description".into()),
            ..realm(None)
        };
        let groups = [entry("cn=x,dc=t", &[("description", "ops")])];
        let found = collect(&named, V, &[], Some(&groups), &mut log);
        assert!(found.groups.contains_key("ops-dir"));
    }

    const START: &str = "user:root@pam:1:0:::root@localhost:::\n\
        user:alice@dir:1:0:Old:::local note::\n\
        user:erin@dir:1:0::::::\n\
        user:dave@dir:0:0::::::\n\
        token:dave@dir!ci:0:1::\n\
        user:joe@pve:1:0::::::\n\
        group:admins-dir:alice@dir,root@pam:kept::\n\
        group:gone-dir:erin@dir:::\n\
        group:local:joe@pve:::\n\
        acl:1:/:erin@dir,@gone-dir,joe@pve:PVEAuditor:\n";

    fn synced(found: &Found, opts: &SyncOptions) -> (Vec<String>, String) {
        let (mut cfg, _) = parse_user_cfg(START, V);
        let mut log = Vec::new();
        apply(&mut cfg, "dir", found, opts, &mut log);
        (log, write_user_cfg(&cfg))
    }

    fn found() -> Found {
        let mut log = Vec::new();
        let mut people = people();
        people.push(entry("uid=dave,dc=t", &[("uid", "dave"), ("sn", "Dyer")]));
        let groups = [entry(
            "cn=admins,dc=t",
            &[("member", "uid=alice,ou=people,dc=t")],
        )];
        collect(
            &realm(Some("email=mail,lastname=sn")),
            V,
            &people,
            Some(&groups),
            &mut log,
        )
    }

    #[test]
    fn none_adds_and_updates_and_keeps_the_rest() {
        let (log, cfg) = synced(&found(), &opts(Scope::Both, "none"));
        assert_eq!(
            log,
            [
                "got data from server, updating users and groups",
                "syncing users (remove-vanished opts: none)",
                "updating user 'alice@dir'",
                "adding user 'bob@dir'",
                "updating user 'dave@dir'",
                "syncing groups (remove-vanished opts: none)",
                "updating group 'admins-dir'",
            ]
        );
        for line in [
            "user:alice@dir:1:0:Old::alice@t.test:local note::",
            "user:bob@dir:1:0::::::",
            "user:dave@dir:0:0::Dyer::::",
            "token:dave@dir!ci:0:1::",
            "user:erin@dir:1:0::::::",
            "group:admins-dir:alice@dir:kept:",
            "group:gone-dir:erin@dir::",
            "acl:1:/:@gone-dir,erin@dir,joe@pve:PVEAuditor:",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} in\n{cfg}");
        }
    }

    #[test]
    fn each_remove_vanished_option_does_its_part() {
        let (log, cfg) = synced(&found(), &opts(Scope::Both, "acl;entry;properties"));
        assert_eq!(
            log,
            [
                "got data from server, updating users and groups",
                "syncing users (remove-vanished opts: acl;entry;properties)",
                "deleting outdated existing users first",
                "remove user 'erin@dir'",
                "purge users 'erin@dir' ACL entries",
                "overwriting user 'alice@dir'",
                "adding user 'bob@dir'",
                "overwriting user 'dave@dir'",
                "syncing groups (remove-vanished opts: acl;entry;properties)",
                "deleting outdated existing groups first",
                "remove group 'gone-dir'",
                "purge groups 'gone-dir' ACL entries",
                "overwriting group 'admins-dir'",
            ]
        );
        for line in [
            "user:alice@dir:1:0:::alice@t.test:::",
            "user:dave@dir:0:0::Dyer::::",
            "token:dave@dir!ci:0:1::",
            "group:admins-dir:alice@dir::",
            "group:local:joe@pve::",
            "acl:1:/:joe@pve:PVEAuditor:",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} in\n{cfg}");
        }
        assert!(!cfg.contains("erin@dir:"), "{cfg}");
        assert!(!cfg.contains("gone-dir"), "{cfg}");

        // entry alone leaves the ACL entries behind.
        let (_, cfg) = synced(&found(), &opts(Scope::Both, "entry"));
        assert!(
            cfg.contains("acl:1:/:@gone-dir,erin@dir,joe@pve:PVEAuditor:"),
            "{cfg}"
        );
        // Users only: the groups stay as they are, enable-new 0 disables bob.
        let mut users_only = opts(Scope::Users, "acl");
        users_only.enable_new = false;
        let (log, cfg) = synced(&found(), &users_only);
        assert_eq!(log[0], "got data from server, updating users");
        assert!(!log.iter().any(|l| l.contains("group")), "{log:?}");
        assert!(cfg.contains("user:bob@dir:0:0::::::"), "{cfg}");
        assert!(
            cfg.contains("group:admins-dir:alice@dir,root@pam:kept:"),
            "{cfg}"
        );
    }

    #[test]
    fn options_come_from_the_call_then_the_realm_defaults() {
        let params = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let defaults = Some("enable-new=0,remove-vanished=acl;entry,scope=users");
        let o = SyncOptions::resolve(&params(&[]), defaults).unwrap();
        assert_eq!(
            o,
            SyncOptions {
                scope: Scope::Users,
                enable_new: false,
                remove_vanished: "acl;entry".into(),
                dry_run: false,
            }
        );
        let o = SyncOptions::resolve(
            &params(&[
                ("scope", "both"),
                ("dry-run", "1"),
                ("remove-vanished", "none"),
                ("full", "1"),
            ]),
            defaults,
        )
        .unwrap();
        assert_eq!(
            (o.scope, o.enable_new, o.remove_vanished.as_str(), o.dry_run),
            (Scope::Both, false, "none", true)
        );
        let o =
            SyncOptions::resolve(&params(&[("scope", "groups"), ("purge", "1")]), None).unwrap();
        assert_eq!((o.enable_new, o.remove_vanished.as_str()), (true, "none"));
        let e = SyncOptions::resolve(&params(&[]), Some("enable-new=1")).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.stringify(),
            "400 Parameter verification failed.\nscope: Not passed as parameter and not defined in realm default sync options.\n"
        );
    }

    #[test]
    fn user_search_filters_are_built_as_pve_builds_them() {
        let items = ["a".to_string(), "b".to_string()];
        let built = any_of(&items, |a| format!("({a}=*)"));
        assert_eq!(built, "(|(a=*)(b=*))");
        assert_eq!(with_filter(None, built.clone()), built);
        assert_eq!(with_filter(Some("uid=x*"), "(y)".into()), "(&(uid=x*)(y))");
        assert_eq!(
            with_filter(Some("(uid=x*)"), "(y)".into()),
            "(&(uid=x*)(y))"
        );
        assert!(check_field("expire", "12").is_ok());
        assert!(check_field("expire", "-1").is_err());
        assert!(check_field("keys", "x y").is_err());
        assert_eq!(realm(None).user_attr(), "uid");
        assert_eq!(
            RealmConfig {
                ad: true,
                ..realm(None)
            }
            .user_attr(),
            "sAMAccountName"
        );
    }
}
