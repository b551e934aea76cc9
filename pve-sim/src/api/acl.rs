//! `GET|PUT /access/acl` (AC `API2/ACL.pm`): listing with
//! visibility rules, adding and removing entries, and the delegation rule
//! for callers that pass the check through `VM.Allocate`,
//! `Datastore.Allocate` or `Pool.Allocate` instead of `Permissions.Modify`.

use serde_json::{json, Value};

use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::ids;
use crate::model::{AclNode, RoleMap, UserCfg};
use crate::store::State;
use crate::usercfg;

/// ACL paths in PVE's `iterate_acl_tree` order: depth first, children
/// sorted by name.
fn tree_order(cfg: &UserCfg) -> Vec<(&String, &AclNode)> {
    usercfg::sorted_acl_paths(cfg)
        .into_iter()
        .filter_map(|p| cfg.acl.get_key_value(p))
        .collect()
}

/// `GET /access/acl`: every entry for callers with Sys.Audit on `/access`,
/// otherwise the entries on paths where they may modify permissions.
pub fn read(call: &Call) -> ApiResult<Value> {
    let authid = call.authid();
    call.store().read(|s: &State| {
        let ck = Checker::new(&s.cfg, authid);
        let audit = ck.has_all("/access", &["Sys.Audit"]);
        let mut res = Vec::new();
        for (path, node) in tree_order(&s.cfg) {
            let kinds: [(&str, &RoleMap); 3] = [
                ("user", &node.users),
                ("group", &node.groups),
                ("token", &node.tokens),
            ];
            for (kind, map) in kinds {
                if map.is_empty() {
                    continue;
                }
                if !(audit || ck.check_perm_modify(path, true)?) {
                    continue;
                }
                for (ugid, roles) in map {
                    for (role, propagate) in roles {
                        res.push(json!({
                            "path": path,
                            "type": kind,
                            "ugid": ugid,
                            "roleid": role,
                            "propagate": i32::from(*propagate),
                        }));
                    }
                }
            }
        }
        Ok(Value::Array(res))
    })
}

/// `PUT /access/acl` (lock `ACL update failed`).
pub fn update(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "ACL update failed";
    let truthy = |name: &str| call.truthy(name);
    if !(truthy("users") || truthy("groups") || truthy("tokens")) {
        let msg = "either 'users', 'groups' or 'tokens' is required.";
        let errors = ["users", "groups", "tokens"]
            .iter()
            .map(|k| (k.to_string(), msg.to_string()))
            .collect();
        return Err(ApiError::param(errors));
    }
    let raw_path = call.param("path").unwrap_or_default();
    let invalid = || ApiError::param1("path", format!("invalid ACL path '{raw_path}'"));
    let path = ids::normalize_path(raw_path).ok_or_else(invalid)?;
    let delete = truthy("delete");
    if !delete && !ids::check_path(&path, call.version()) {
        return Err(invalid());
    }
    let propagate = call.param("propagate").is_none_or(|p| p == "1");
    let list = |name: &str| ids::split_list(call.param(name).unwrap_or_default());
    let (roles, groups, users, tokens) =
        (list("roles"), list("groups"), list("users"), list("tokens"));
    let authid = call.authid().to_string();

    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            let caller_privs = Checker::new(&s.cfg, &authid).permissions(&path);
            let mut node = s.cfg.acl.get(&path).cloned().unwrap_or_default();
            let verb = if delete { "remove" } else { "add" };
            for role in &roles {
                let Some(role_def) = s.cfg.roles.get(role) else {
                    return Err(ApiError::die(format!("role '{role}' does not exist")));
                };
                if !caller_privs.contains_key("Permissions.Modify") {
                    for privilege in &role_def.privs {
                        match caller_privs.get(privilege) {
                            None => {
                                return Err(ApiError::param1(
                                    "role",
                                    format!("Cannot {verb} role '{role}' - requires 'Permissions.Modify' or superset of privileges."),
                                ))
                            }
                            Some(false) if propagate && !delete => {
                                return Err(ApiError::param1(
                                    "role",
                                    format!("Cannot {verb} role '{role}' with propagation - requires 'Permissions.Modify' or propagated superset of privileges."),
                                ))
                            }
                            Some(_) => {}
                        }
                    }
                    if role == "NoAccess" {
                        return Err(ApiError::param1(
                            "role",
                            format!("Cannot {verb} role '{role}' - requires 'Permissions.Modify'"),
                        ));
                    }
                }
                for group in &groups {
                    if !s.cfg.groups.contains_key(group) {
                        return Err(ApiError::die(format!("group '{group}' does not exist")));
                    }
                    set_entry(&mut node.groups, group, role, delete, propagate);
                }
                for user in &users {
                    let (userid, _, _) = ids::verify_userid(user).map_err(ApiError::die)?;
                    if !s.cfg.users.contains_key(&userid) {
                        return Err(ApiError::die(format!("user '{userid}' does not exist")));
                    }
                    set_entry(&mut node.users, &userid, role, delete, propagate);
                }
                for token in &tokens {
                    let (userid, sub) = ids::split_tokenid(token).map_err(ApiError::die)?;
                    let owner = super::auth::check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
                    if !owner.tokens.contains_key(&sub) {
                        return Err(ApiError::die(format!(
                            "no such token '{sub}' for user '{userid}'"
                        )));
                    }
                    set_entry(&mut node.tokens, token, role, delete, propagate);
                }
            }
            s.cfg.acl.insert(path.clone(), node);
            Ok(())
        })
        .map_err(|e| e.in_lock(LOCK))?;
    Ok(Value::Null)
}

/// Adds (or overwrites the flag of) or removes one (principal, role) entry.
fn set_entry(map: &mut RoleMap, principal: &str, role: &str, delete: bool, propagate: bool) {
    if delete {
        if let Some(roles) = map.get_mut(principal) {
            roles.remove(role);
            if roles.is_empty() {
                map.remove(principal);
            }
        }
    } else {
        map.entry(principal.to_string())
            .or_default()
            .insert(role.to_string(), propagate);
    }
}
