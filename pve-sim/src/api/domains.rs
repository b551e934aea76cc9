//! `/access/domains` and `/access/domains/{realm}` (AC `API2/Domains.pm`):
//! the realms of `domains.cfg` ([`crate::domains`]), created, read, updated
//! and deleted as PVE's realm plugins allow, with the LDAP/AD bind password
//! kept apart in `priv/realm/<realm>.pw` and never shown. The OpenID client
//! key is an option of the realm in `domains.cfg`, as in PVE, and `GET`
//! shows it as PVE does.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::formats::{property_string, SYNC_OPTIONS, TFA_OPTIONS};
use super::Call;
use crate::domains::{self, Realm};
use crate::ids;
use crate::model::PveVersion;
use crate::store::State;

/// Parameters the endpoints take out before the plugin sees the rest.
const EXTRACTED: [&str; 5] = ["realm", "password", "check-connection", "digest", "delete"];

/// The plugin's share of the call's parameters.
fn plugin_params(call: &Call) -> BTreeMap<String, String> {
    call.params
        .iter()
        .filter(|(k, _)| !EXTRACTED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_directory(kind: &str) -> bool {
    kind == "ldap" || kind == "ad"
}

/// `$map_sync_default_options`: the deprecated `full`/`purge` become
/// `remove-vanished` (and are dropped on writes); printed in key order.
fn map_sync_defaults(opts: &mut BTreeMap<String, String>, drop_deprecated: bool) {
    let Some(text) = opts.get("sync-defaults-options") else {
        return;
    };
    let Ok(pairs) = property_string(text, SYNC_OPTIONS, "sync-defaults-options") else {
        return;
    };
    let mut map: BTreeMap<String, String> = pairs.into_iter().collect();
    let set = |k: &str| map.get(k).is_some_and(|v| ids::truthy(v));
    if !map.contains_key("remove-vanished") && (set("full") || set("purge")) {
        let mut what = Vec::new();
        if set("full") {
            what.extend(["entry", "properties"]);
        }
        if set("purge") {
            what.push("acl");
        }
        map.insert("remove-vanished".into(), what.join(";"));
    }
    if drop_deprecated {
        map.remove("full");
        map.remove("purge");
    }
    let printed: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    opts.insert("sync-defaults-options".into(), printed.join(","));
}

/// An option's value in an answer: booleans and integers are numbers.
fn shown(key: &str, value: &str) -> Value {
    if domains::is_numeric(key) {
        if let Ok(n) = value.parse::<i64>() {
            return json!(n);
        }
    }
    json!(value)
}

/// `GET /access/domains`: every realm with its type, comment (when set),
/// `default` and the TFA type.
pub fn index(call: &Call) -> ApiResult<Value> {
    call.store().read(|s: &State| {
        let list = s
            .realms
            .realms
            .iter()
            .map(|(realm, d)| {
                let mut m = Map::new();
                m.insert("realm".into(), json!(realm));
                m.insert("type".into(), json!(d.kind));
                let opt = |k: &str| d.opts.get(k).filter(|v| ids::truthy(v));
                if let Some(c) = opt("comment") {
                    m.insert("comment".into(), json!(c));
                }
                if opt("default").is_some() {
                    m.insert("default".into(), json!(1));
                }
                let tfa = opt("tfa").and_then(|t| {
                    property_string(t, TFA_OPTIONS, "tfa")
                        .ok()?
                        .into_iter()
                        .find(|(k, _)| k == "type")
                });
                if let Some((_, kind)) = tfa {
                    m.insert("tfa".into(), json!(kind));
                }
                Value::Object(m)
            })
            .collect();
        Ok(Value::Array(list))
    })
}

/// `GET /access/domains/{realm}`: the realm's options and the file's digest
/// (never the bind password, which is not an option in the file).
pub fn read(call: &Call) -> ApiResult<Value> {
    let realm = call.param("realm").unwrap_or_default();
    call.store().read(|s: &State| {
        let d = s
            .realms
            .get(realm)
            .ok_or_else(|| ApiError::die(format!("domain '{realm}' does not exist")))?;
        let mut opts = d.opts.clone();
        if is_directory(&d.kind) {
            map_sync_defaults(&mut opts, false);
        }
        let mut m: Map<String, Value> =
            opts.iter().map(|(k, v)| (k.clone(), shown(k, v))).collect();
        m.insert("type".into(), json!(d.kind));
        m.insert("digest".into(), json!(s.domains_digest));
        Ok(Value::Object(m))
    })
}

/// `check-connection` is only for directory realms.
fn check_connection_allowed(call: &Call, kind: Option<&str>) -> ApiResult<()> {
    if call.param("check-connection").is_some() && !kind.is_some_and(is_directory) {
        return Err(ApiError::die(
            "'check-connection' parameter can only be set for realms of type 'ldap' or 'ad'",
        ));
    }
    Ok(())
}

/// A bind to the directory server, which the simulator cannot make.
fn check_connection(call: &Call, d: &Realm) -> ApiResult<()> {
    if call.truthy("check-connection") {
        let server = d.opts.get("server1").map_or("", String::as_str);
        return Err(ApiError::die(format!(
            "Could not connect to LDAP server '{server}': the simulator has no directory server"
        )));
    }
    Ok(())
}

/// Only the newest realm marked `default` keeps it.
fn clear_defaults(s: &mut State) {
    for (_, d) in s.realms.realms.iter_mut() {
        d.opts.remove("default");
    }
}

/// `POST /access/domains` (lock `add auth server failed`).
pub fn create(call: &Call) -> ApiResult<Value> {
    let realm = call.param("realm").unwrap_or_default().to_string();
    let kind = call.param("type").unwrap_or_default().to_string();
    let version = call.version();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.realms.get(&realm).is_some() {
                return Err(ApiError::die(format!("domain '{realm}' already exists")));
            }
            if realm == "pam" || realm == "pve" {
                return Err(ApiError::die(format!(
                    "unable to use reserved name '{realm}'"
                )));
            }
            if kind == "pam" || kind == "pve" {
                return Err(ApiError::die(format!(
                    "unable to create builtin type '{kind}'"
                )));
            }
            check_connection_allowed(call, Some(&kind))?;
            let mut params = plugin_params(call);
            if is_directory(&kind) {
                map_sync_defaults(&mut params, true);
            }
            let opts =
                domains::check_config(&kind, &params, true, version).map_err(ApiError::die)?;
            if opts.get("default").is_some_and(|v| ids::truthy(v)) {
                clear_defaults(s);
            }
            let d = Realm {
                kind: kind.clone(),
                opts,
            };
            // The plugin's on_add_hook: a password only where the type has
            // one (PVE warns and ignores it elsewhere).
            if is_directory(&kind) {
                match call.param("password") {
                    Some(pw) => s.realms.passwords.insert(realm.clone(), pw.to_string()),
                    None => s.realms.passwords.remove(&realm),
                };
            }
            check_connection(call, &d)?;
            s.realms.realms.push((realm.clone(), d));
            s.rewrite_domains = true;
            Ok(())
        })
        .map_err(|e| e.in_lock("add auth server failed"))?;
    Ok(Value::Null)
}

/// Where PVE's update handler looks up the plugin of a realm that does not
/// exist (its existence check autovivifies the entry, so it passes).
fn undefined_type(version: PveVersion) -> ApiError {
    let line = match version {
        PveVersion::V8_4 => 246,
        PveVersion::V9_0 | PveVersion::V9_1 => 261,
    };
    ApiError::die(format!(
        "cannot lookup undefined type! at /usr/share/perl5/PVE/API2/Domains.pm line {line}.\n"
    ))
}

/// `PUT /access/domains/{realm}` (lock `update auth server failed`).
pub fn update(call: &Call) -> ApiResult<Value> {
    let realm = call.param("realm").unwrap_or_default().to_string();
    let version = call.version();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if let Some(digest) = call.param("digest") {
                if digest != s.domains_digest {
                    return Err(ApiError::die(
                        "detected modified configuration - file changed by other user? Try again.",
                    ));
                }
            }
            let kind = s.realms.kind(&realm).map(str::to_string);
            check_connection_allowed(call, kind.as_deref())?;
            let delete = call.param("delete").filter(|d| ids::truthy(d));
            let mut params = plugin_params(call);
            let password = call.param("password");
            if delete.is_none() && params.is_empty() && password.is_none() {
                return Err(ApiError::die("no options specified"));
            }
            let Some(kind) = kind else {
                return Err(undefined_type(version));
            };
            let mut delete_pw = false;
            if let Some(d) = s.realms.get_mut(&realm) {
                for opt in ids::split_list(delete.unwrap_or_default()) {
                    d.opts.remove(&opt);
                    delete_pw |= opt == "password";
                }
            }
            if is_directory(&kind) {
                map_sync_defaults(&mut params, true);
            }
            let opts =
                domains::check_config(&kind, &params, false, version).map_err(ApiError::die)?;
            if opts.get("default").is_some_and(|v| ids::truthy(v)) {
                clear_defaults(s);
            }
            let Some(d) = s.realms.get_mut(&realm) else {
                return Err(undefined_type(version));
            };
            d.opts.extend(opts);
            let d = d.clone();
            if is_directory(&kind) {
                match password {
                    Some(pw) => {
                        s.realms.passwords.insert(realm.clone(), pw.to_string());
                    }
                    None if delete_pw => {
                        s.realms.passwords.remove(&realm);
                    }
                    None => {}
                }
            }
            // A missing required option is found when PVE writes the file.
            for (k, need) in domains::options(&kind, version).unwrap_or_default() {
                if need == domains::Need::Required && !d.opts.contains_key(k) {
                    return Err(ApiError::die(format!(
                        "section '{realm}' - missing value for required option '{k}'"
                    )));
                }
            }
            check_connection(call, &d)?;
            s.rewrite_domains = true;
            Ok(())
        })
        .map_err(|e| e.in_lock("update auth server failed"))?;
    Ok(Value::Null)
}

/// `DELETE /access/domains/{realm}` (lock `delete auth server failed`):
/// the realm and its bind password go; its users stay, as in PVE.
pub fn delete(call: &Call) -> ApiResult<Value> {
    let realm = call.param("realm").unwrap_or_default().to_string();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.realms.get(&realm).is_none() {
                return Err(ApiError::die(format!(
                    "authentication domain '{realm}' does not exist"
                )));
            }
            s.realms.passwords.remove(&realm);
            s.realms.remove(&realm);
            s.rewrite_domains = true;
            Ok(())
        })
        .map_err(|e| e.in_lock("delete auth server failed"))?;
    Ok(Value::Null)
}

/// `POST /access/domains/{realm}/sync`: refused before any task for an
/// unknown realm (400), a realm that is no LDAP/AD one (500) and no scope
/// anywhere (400), in PVE's order; else the UPID of a task that syncs on
/// after the answer (`crate::sync`).
pub fn sync(call: &Call) -> ApiResult<Value> {
    let realm = call.param("realm").unwrap_or_default();
    let config = call.store().read(|s: &State| {
        let d = s
            .realms
            .get(realm)
            .ok_or_else(|| ApiError::param1("realm", "Realm does not exist."))?;
        if !is_directory(&d.kind) {
            return Err(ApiError::die(format!(
                "Cannot sync realm type '{}'! Only LDAP/AD realms can be synced.\n",
                d.kind
            )));
        }
        Ok(crate::sync::RealmConfig::from_properties(
            realm,
            &d.kind,
            &d.opts,
            s.realms.passwords.get(realm).cloned(),
        ))
    })?;
    let opts =
        crate::sync::SyncOptions::resolve(&call.params, config.sync_defaults_options.as_deref())?;
    let task = crate::sync::start(
        call.shared_store(),
        call.tasks(),
        call.authid(),
        config,
        opts,
    );
    Ok(Value::String(task.upid.to_string()))
}
