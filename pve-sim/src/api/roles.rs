//! `/access/roles` and `/access/roles/{roleid}` (AC `API2/Role.pm`). Built-in roles are read-only; new roles may not use the
//! `PVE` prefix.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::ids;
use crate::model::Role;
use crate::store::State;

/// `GET /access/roles`: `[{roleid, privs: "a,b", special: 0|1}]`.
pub fn index(call: &Call) -> ApiResult<Value> {
    call.store().read(|s: &State| {
        let res = s
            .cfg
            .roles
            .iter()
            .map(|(id, role)| {
                let privs: Vec<&str> = role.privs.iter().map(String::as_str).collect();
                json!({
                    "roleid": id,
                    "privs": privs.join(","),
                    "special": i32::from(role.special),
                })
            })
            .collect();
        Ok(Value::Array(res))
    })
}

/// `GET /access/roles/{roleid}`: `{<priv>: 1, ...}`.
pub fn read(call: &Call) -> ApiResult<Value> {
    let roleid = call.param("roleid").unwrap_or_default();
    call.store().read(|s: &State| {
        let role = s
            .cfg
            .roles
            .get(roleid)
            .ok_or_else(|| ApiError::die(format!("role '{roleid}' does not exist")))?;
        let m: Map<String, Value> = role.privs.iter().map(|p| (p.clone(), json!(1))).collect();
        Ok(Value::Object(m))
    })
}

/// The privileges of a `privs` parameter (already validated).
fn privs_of(call: &Call) -> BTreeSet<String> {
    match call.param("privs").filter(|p| ids::truthy(p)) {
        Some(p) => ids::split_list(p).into_iter().collect(),
        None => BTreeSet::new(),
    }
}

/// Whether `roleid` is one of the version's built-in roles.
fn is_special(call: &Call, roleid: &str) -> bool {
    call.store()
        .read(|s: &State| s.cfg.roles.get(roleid).is_some_and(|r| r.special))
}

/// `POST /access/roles` (lock `create role failed`).
pub fn create(call: &Call) -> ApiResult<Value> {
    let roleid = call.param("roleid").unwrap_or_default().to_string();
    if roleid.to_ascii_lowercase().starts_with("pve") {
        return Err(ApiError::param1(
            "roleid",
            "cannot use role ID starting with the (case-insensitive) 'PVE' namespace",
        ));
    }
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.cfg.roles.contains_key(&roleid) {
                return Err(ApiError::die(format!("role '{roleid}' already exists")));
            }
            s.cfg.roles.insert(
                roleid.clone(),
                Role {
                    privs: privs_of(call),
                    special: false,
                },
            );
            Ok(())
        })
        .map_err(|e| e.in_lock("create role failed"))?;
    Ok(Value::Null)
}

/// `PUT /access/roles/{roleid}` (lock `update role failed`): replaces the
/// privileges unless `append` is set (a PUT without `privs` empties the role).
pub fn update(call: &Call) -> ApiResult<Value> {
    let roleid = call.param("roleid").unwrap_or_default().to_string();
    if is_special(call, &roleid) {
        return Err(ApiError::die(format!(
            "auto-generated role '{roleid}' cannot be modified"
        )));
    }
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            let role = s
                .cfg
                .roles
                .get_mut(&roleid)
                .ok_or_else(|| ApiError::die(format!("role '{roleid}' does not exist")))?;
            if !call.truthy("append") {
                role.privs.clear();
            }
            role.privs.extend(privs_of(call));
            Ok(())
        })
        .map_err(|e| e.in_lock("update role failed"))?;
    Ok(Value::Null)
}

/// `DELETE /access/roles/{roleid}` (lock `delete role failed`); ACL entries
/// using the role vanish with the next normalisation of the config.
pub fn delete(call: &Call) -> ApiResult<Value> {
    let roleid = call.param("roleid").unwrap_or_default().to_string();
    if is_special(call, &roleid) {
        return Err(ApiError::die(format!(
            "auto-generated role '{roleid}' cannot be deleted"
        )));
    }
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.cfg.roles.remove(&roleid).is_none() {
                return Err(ApiError::die(format!("role '{roleid}' does not exist")));
            }
            Ok(())
        })
        .map_err(|e| e.in_lock("delete role failed"))?;
    Ok(Value::Null)
}
