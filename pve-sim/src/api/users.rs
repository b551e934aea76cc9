//! `/access/users` and `/access/users/{userid}` (AC `API2/User.pm`): list, create, read, update, delete.

use serde_json::{json, Map, Value};

use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::{realm, Call};
use crate::ids;
use crate::model::{User, UserCfg};
use crate::store::State;

/// `extract_user_data`: the user as PVE's API shows it (without `full`
/// only the scalar fields).
fn user_data(user: &User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("enable".into(), json!(i32::from(user.enable)));
    if !user.forced {
        m.insert("expire".into(), json!(user.expire));
    }
    let fields = [
        ("firstname", &user.firstname),
        ("lastname", &user.lastname),
        ("email", &user.email),
        ("comment", &user.comment),
        ("keys", &user.keys),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    m
}

/// The token hash of one token: `{privsep, expire, comment?}`.
pub fn token_info(t: &crate::model::Token) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("privsep".into(), json!(i32::from(t.privsep)));
    m.insert("expire".into(), json!(t.expire));
    if let Some(c) = &t.comment {
        m.insert("comment".into(), json!(c));
    }
    m
}

/// `GET /access/users`: the users the caller may see (`API2/User.pm` `index`).
pub fn index(call: &Call) -> ApiResult<Value> {
    let authid = call.authid();
    let full = call.truthy("full");
    let enabled = call.param("enabled").map(|v| v == "1");
    call.store().read(|s: &State| {
        let ck = Checker::new(&s.cfg, authid);
        let privs = ["User.Modify", "Sys.Audit"];
        let can_all = ck.has_any("/access/groups", &privs);
        let allowed = ck.group_members(&ck.filter_groups(&privs));
        let mut res = Vec::new();
        for (userid, user) in &s.cfg.users {
            if !(can_all || userid == authid || allowed.contains(userid)) {
                continue;
            }
            if enabled.is_some_and(|want| want != user.enable) {
                continue;
            }
            let mut entry = user_data(user);
            if full {
                let groups: Vec<&str> = user.groups.iter().map(String::as_str).collect();
                entry.insert("groups".into(), json!(groups.join(",")));
                let tokens = if user.tokens.is_empty() {
                    Value::Null
                } else {
                    Value::Array(
                        user.tokens
                            .iter()
                            .map(|(id, t)| {
                                let mut m = Map::new();
                                m.insert("tokenid".into(), json!(id));
                                m.extend(token_info(t));
                                Value::Object(m)
                            })
                            .collect(),
                    )
                };
                entry.insert("tokens".into(), tokens);
            }
            if let Some(t) = userid.rsplit_once('@').and_then(|(_, r)| s.realms.kind(r)) {
                entry.insert("realm-type".into(), json!(t));
            }
            entry.insert("userid".into(), json!(userid));
            res.push(Value::Object(entry));
        }
        Ok(Value::Array(res))
    })
}

/// `GET /access/users/{userid}`: the user with `groups` (sorted array) and
/// `tokens` (object, or `null` without tokens).
pub fn read(call: &Call) -> ApiResult<Value> {
    let userid = call.param("userid").unwrap_or_default();
    call.store().read(|s: &State| {
        let user = super::auth::check_user_exist(&s.cfg, userid).map_err(ApiError::die)?;
        let mut m = user_data(user);
        m.insert(
            "groups".into(),
            json!(user.groups.iter().collect::<Vec<_>>()),
        );
        let tokens = if user.tokens.is_empty() {
            Value::Null
        } else {
            Value::Object(
                user.tokens
                    .iter()
                    .map(|(id, t)| (id.clone(), Value::Object(token_info(t))))
                    .collect(),
            )
        };
        m.insert("tokens".into(), tokens);
        Ok(Value::Object(m))
    })
}

/// Adds `userid` to `group` on both sides (`add_user_group`).
fn add_user_group(cfg: &mut UserCfg, userid: &str, group: &str) -> ApiResult<()> {
    let Some(g) = cfg.groups.get_mut(group) else {
        return Err(ApiError::die(format!("no such group '{group}'")));
    };
    g.members.insert(userid.to_string());
    if let Some(u) = cfg.users.get_mut(userid) {
        u.groups.insert(group.to_string());
    }
    Ok(())
}

/// Removes `userid` from every group (`delete_user_group`).
fn delete_user_group(cfg: &mut UserCfg, userid: &str) {
    for g in cfg.groups.values_mut() {
        g.members.remove(userid);
    }
    if let Some(u) = cfg.users.get_mut(userid) {
        u.groups.clear();
    }
}

/// The value of a non-negative integer parameter (validated by the schema).
pub fn int_param(v: &str) -> i64 {
    v.trim_start_matches('+')
        .parse::<i64>()
        .unwrap_or(if v.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// `Some(v)` when `v` is Perl-true.
fn truthy(v: Option<&str>) -> Option<&str> {
    v.filter(|v| ids::truthy(v))
}

/// `POST /access/users` (lock `create user failed`).
pub fn create(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "create user failed";
    let (userid, name, realm) = ids::verify_userid(call.param("userid").unwrap_or_default())
        .map_err(|e| ApiError::die(e).in_lock(LOCK))?;
    let exists = |s: &State| {
        if s.cfg.users.contains_key(&userid) {
            Err(ApiError::die(format!("user '{userid}' already exists")))
        } else {
            Ok(())
        }
    };
    // The password is stored before the rest is checked: it stays set even
    // when a later step fails (PVE writes it through the realm plugin).
    if let Some(password) = call.param("password") {
        call.store()
            .write(|s: &mut State| -> ApiResult<()> {
                exists(s)?;
                realm::store_password(call.api, &s.realms, &mut s.shadow, &realm, &name, password)
                    .map_err(ApiError::die)
            })
            .map_err(|e| e.in_lock(LOCK))?;
    }
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            exists(s)?;
            let mut user = User {
                enable: call.param("enable").is_none_or(|v| v != "0"),
                ..User::default()
            };
            if let Some(e) = truthy(call.param("expire")) {
                user.expire = int_param(e);
            }
            user.firstname = truthy(call.param("firstname")).map(str::to_string);
            user.lastname = truthy(call.param("lastname")).map(str::to_string);
            user.email = truthy(call.param("email")).map(str::to_string);
            user.comment = truthy(call.param("comment")).map(str::to_string);
            user.keys = truthy(call.param("keys")).map(str::to_string);
            s.cfg.users.insert(userid.clone(), user);
            if let Some(groups) = truthy(call.param("groups")) {
                for g in ids::split_list(groups) {
                    add_user_group(&mut s.cfg, &userid, &g)?;
                }
            }
            Ok(())
        })
        .map_err(|e| e.in_lock(LOCK))?;
    Ok(Value::Null)
}

/// `PUT /access/users/{userid}` (lock `update user failed`).
pub fn update(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "update user failed";
    let (userid, _, _) =
        ids::verify_userid(call.param("userid").unwrap_or_default()).map_err(ApiError::die)?;
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            super::auth::check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
            if let Some(user) = s.cfg.users.get_mut(&userid) {
                if let Some(e) = call.param("enable") {
                    user.enable = e == "1";
                }
                if let Some(e) = call.param("expire") {
                    user.expire = int_param(e);
                }
            }
            if !call.truthy("append") && call.param("groups").is_some() {
                delete_user_group(&mut s.cfg, &userid);
            }
            if let Some(groups) = truthy(call.param("groups")) {
                for g in ids::split_list(groups) {
                    add_user_group(&mut s.cfg, &userid, &g)?;
                }
            }
            if let Some(user) = s.cfg.users.get_mut(&userid) {
                let fields = [
                    ("firstname", &mut user.firstname),
                    ("lastname", &mut user.lastname),
                    ("email", &mut user.email),
                    ("comment", &mut user.comment),
                    ("keys", &mut user.keys),
                ];
                for (name, field) in fields {
                    if let Some(v) = call.param(name) {
                        *field = Some(v.to_string());
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| e.in_lock(LOCK))?;
    Ok(Value::Null)
}

/// `DELETE /access/users/{userid}` (lock `delete user failed`): never fails
/// for a missing user; removes the password, tokens, memberships and the
/// user's ACL entries.
pub fn delete(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "delete user failed";
    let (userid, name, realm) =
        ids::verify_userid(call.param("userid").unwrap_or_default()).map_err(ApiError::die)?;
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            realm::delete_user(&s.realms, &mut s.shadow, &realm, &name);
            s.cfg.users.remove(&userid);
            delete_user_group(&mut s.cfg, &userid);
            for node in s.cfg.acl.values_mut() {
                node.users.remove(&userid);
            }
            Ok(())
        })
        .map_err(|e| e.in_lock(LOCK))?;
    Ok(Value::Null)
}
