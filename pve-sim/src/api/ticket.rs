//! `GET|POST /access/ticket` (login, ticket renewal, privilege
//! verification) and `PUT /access/password` (AC `API2/AccessControl.pm`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::auth;
use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::realm;
use super::Call;
use crate::ids;
use crate::model::UserCfg;
use crate::store::State;

/// `GET /access/ticket`: nothing (the login form's endpoint).
pub fn get_ticket(_call: &Call) -> ApiResult<Value> {
    Ok(Value::Null)
}

/// `POST /access/ticket`: every failure is `401 authentication failure`.
pub fn create_ticket(call: &Call) -> ApiResult<Value> {
    let mut username = call.param("username").unwrap_or_default().to_string();
    if call.truthy("realm") {
        username = format!("{username}@{}", call.param("realm").unwrap_or_default());
    }
    let password = call.param("password").unwrap_or_default();
    let keys = call.api.keys()?;
    let now = call.now;

    let result = call.store().read(|s: &State| -> Result<Value, String> {
        auth::check_user_enabled(&s.cfg, &username, now)?;
        let ticket_user = keys.verify_ticket(password, now);
        let mut res = Map::new();
        if call.truthy("path") && call.truthy("privs") {
            // verify mode: no new ticket
            let path = call.param("path").unwrap_or_default();
            let privs_text = call.param("privs").unwrap_or_default();
            let normpath =
                ids::normalize_path(path).ok_or_else(|| format!("invalid path - {path}\n"))?;
            if ticket_user.as_deref() != Some(username.as_str()) {
                authenticate_user(call, s, &username, password, now)?;
            }
            let privs = ids::split_list(privs_text);
            let privs: Vec<&str> = privs.iter().map(String::as_str).collect();
            let ck = Checker::new(&s.cfg, &username);
            if privs.is_empty() || ck.check(&normpath, &privs).is_err() {
                return Err(format!("no permission ({path}, {privs_text})\n"));
            }
            res.insert("username".into(), json!(username));
        } else {
            if call.param("otp").is_some() && call.param("tfa-challenge").is_some() {
                return Err(
                    "TFA response should be in 'password', not 'otp' when 'tfa-challenge' is set\n"
                        .into(),
                );
            }
            let by_ticket = call.param("tfa-challenge").is_none()
                && ticket_user
                    .as_deref()
                    .is_some_and(|u| u == "root@pam" || u == username);
            if !by_ticket {
                if call.param("tfa-challenge").is_some() {
                    // no TFA is configured anywhere, so no challenge can be answered
                    return Err("invalid tfa challenge\n".into());
                }
                authenticate_user(call, s, &username, password, now)?;
            }
            res.insert("username".into(), json!(username));
            res.insert("ticket".into(), json!(keys.assemble_ticket(&username, now)));
            res.insert(
                "CSRFPreventionToken".into(),
                json!(keys.assemble_csrf(&username, now)),
            );
        }
        res.insert("cap".into(), compute_api_permission(&s.cfg, &username));
        Ok(Value::Object(res))
    });
    result.map_err(|_| ApiError::coded(401, "authentication failure\n"))
}

/// `PVE::AccessControl::authenticate_user` (without TFA, which the
/// simulator never has configured: an `otp` then answers no challenge).
fn authenticate_user(
    call: &Call,
    s: &State,
    username: &str,
    password: &str,
    now: i64,
) -> Result<(), String> {
    let (userid, name, realm) = ids::verify_userid(username)?;
    auth::check_user_enabled(&s.cfg, &userid, now)?;
    realm::authenticate(call.api, &s.realms, &s.shadow, &realm, &name, password)?;
    if call.param("otp").is_some() {
        return Err("no such challenge\n".into());
    }
    Ok(())
}

/// `compute_api_permission`: the privileges the GUI uses to show or hide
/// things, per top-level component.
pub fn compute_api_permission(cfg: &UserCfg, authid: &str) -> Value {
    let ck = Checker::new(cfg, authid);
    let groups: [(&str, &[&str]); 7] = [
        ("vms", &["VM.", "Permissions.Modify"]),
        ("access", &["User.", "Group.", "Permissions.Modify"]),
        ("storage", &["Datastore.", "Permissions.Modify"]),
        ("nodes", &["Sys.", "Permissions.Modify"]),
        ("sdn", &["SDN.", "Permissions.Modify"]),
        ("dc", &["Sys.Audit", "Sys.Modify", "SDN."]),
        ("mapping", &["Mapping.", "Permissions.Modify"]),
    ];
    let mut res: BTreeMap<&str, Map<String, Value>> =
        groups.iter().map(|(k, _)| (*k, Map::new())).collect();

    let mut paths: Vec<String> = [
        "/",
        "/nodes",
        "/access/groups",
        "/vms",
        "/storage",
        "/sdn",
        "/mapping",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.extend(crate::perms::acl_tree_paths(cfg));

    let mut seen = BTreeSet::new();
    for path in paths {
        if !seen.insert(path.clone()) {
            continue;
        }
        let privs = ck.permissions(&path);
        let top = path
            .strip_prefix('/')
            .map(|r| {
                r.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "dc".to_string());
        if top == "pool" {
            for p in privs.keys() {
                if p.starts_with("VM.") {
                    res.entry("vms").or_default().insert(p.clone(), json!(1));
                } else if p.starts_with("Datastore.") {
                    res.entry("storage")
                        .or_default()
                        .insert(p.clone(), json!(1));
                } else if p == "Permissions.Modify" {
                    res.entry("storage")
                        .or_default()
                        .insert(p.clone(), json!(1));
                    res.entry("vms").or_default().insert(p.clone(), json!(1));
                }
            }
            continue;
        }
        let Some((key, prefixes)) = groups.iter().find(|(k, _)| *k == top) else {
            continue;
        };
        for p in privs.keys() {
            if prefixes.iter().any(|pre| p.starts_with(pre)) {
                res.entry(key).or_default().insert(p.clone(), json!(1));
            }
        }
    }
    Value::Object(
        res.into_iter()
            .map(|(k, v)| (k.to_string(), Value::Object(v)))
            .collect(),
    )
}

/// `PUT /access/password` (AC `API2/AccessControl.pm` `change_password`).
pub fn change_password(call: &Call) -> ApiResult<Value> {
    let authuser = call.authid().to_string();
    let (userid, name, realm) =
        ids::verify_userid(call.param("userid").unwrap_or_default()).map_err(ApiError::die)?;
    let password = call.param("password").unwrap_or_default();
    let confirmation = call.param("confirmation-password");

    // reauth_user_for_user_modification
    call.store().read(|s: &State| -> ApiResult<()> {
        auth::check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
        if userid == "root@pam" && authuser != "root@pam" {
            return Err(ApiError::perm(None));
        }
        if authuser != "root@pam" {
            let Some(confirmation) = confirmation else {
                return Err(ApiError::param1(
                    "confirmation-password",
                    "password is required to modify user",
                ));
            };
            let (_, auth_name, auth_realm) =
                ids::verify_userid(&authuser).map_err(ApiError::die)?;
            realm::authenticate(
                call.api,
                &s.realms,
                &s.shadow,
                &auth_realm,
                &auth_name,
                confirmation,
            )
            .map_err(ApiError::die)?;
        }
        if authuser == "root@pam" {
            // root can change anything
        } else if authuser == userid {
            auth::check_user_enabled(&s.cfg, &userid, call.now).map_err(ApiError::die)?;
        } else if userid == "root@pam" || realm == "pam" {
            return Err(ApiError::perm(None));
        }
        Ok(())
    })?;

    call.store().write(|s: &mut State| -> ApiResult<()> {
        realm::store_password(call.api, &s.realms, &mut s.shadow, &realm, &name, password)
            .map_err(ApiError::die)
    })?;
    Ok(Value::Null)
}
