//! `/access/groups` and `/access/groups/{groupid}` (AC `API2/Group.pm`). Membership is changed through the user endpoints.

use serde_json::{json, Map, Value};

use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::ids;
use crate::model::Group;
use crate::store::State;

/// `GET /access/groups`: groups on which the caller has User.Modify,
/// Sys.Audit or Group.Allocate; `users` is a comma-separated string.
pub fn index(call: &Call) -> ApiResult<Value> {
    let authid = call.authid();
    call.store().read(|s: &State| {
        let ck = Checker::new(&s.cfg, authid);
        let privs = ["User.Modify", "Sys.Audit", "Group.Allocate"];
        let res = s
            .cfg
            .groups
            .iter()
            .filter(|(g, _)| ck.has_any(&format!("/access/groups/{g}"), &privs))
            .map(|(g, data)| {
                let mut m = Map::new();
                m.insert("groupid".into(), json!(g));
                if let Some(c) = &data.comment {
                    m.insert("comment".into(), json!(c));
                }
                let members: Vec<&str> = data.members.iter().map(String::as_str).collect();
                m.insert("users".into(), json!(members.join(",")));
                Value::Object(m)
            })
            .collect();
        Ok(Value::Array(res))
    })
}

/// `GET /access/groups/{groupid}`: `{members: [...], comment?}`.
pub fn read(call: &Call) -> ApiResult<Value> {
    let group = call.param("groupid").unwrap_or_default();
    call.store().read(|s: &State| {
        let data = s
            .cfg
            .groups
            .get(group)
            .ok_or_else(|| ApiError::die(format!("group '{group}' does not exist")))?;
        let mut m = Map::new();
        m.insert(
            "members".into(),
            json!(data.members.iter().collect::<Vec<_>>()),
        );
        if let Some(c) = &data.comment {
            m.insert("comment".into(), json!(c));
        }
        Ok(Value::Object(m))
    })
}

/// `POST /access/groups` (lock `create group failed`).
pub fn create(call: &Call) -> ApiResult<Value> {
    let group = call.param("groupid").unwrap_or_default().to_string();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.cfg.groups.contains_key(&group) {
                return Err(ApiError::die(format!("group '{group}' already exists")));
            }
            let comment = call.param("comment").filter(|c| ids::truthy(c));
            s.cfg.groups.insert(
                group.clone(),
                Group {
                    comment: comment.map(str::to_string),
                    ..Group::default()
                },
            );
            Ok(())
        })
        .map_err(|e| e.in_lock("create group failed"))?;
    Ok(Value::Null)
}

/// `PUT /access/groups/{groupid}` (lock `update group failed`): only the
/// comment can change (`""` clears it).
pub fn update(call: &Call) -> ApiResult<Value> {
    let group = call.param("groupid").unwrap_or_default().to_string();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            let data = s
                .cfg
                .groups
                .get_mut(&group)
                .ok_or_else(|| ApiError::die(format!("group '{group}' does not exist")))?;
            if let Some(c) = call.param("comment") {
                data.comment = Some(c.to_string());
            }
            Ok(())
        })
        .map_err(|e| e.in_lock("update group failed"))?;
    Ok(Value::Null)
}

/// `DELETE /access/groups/{groupid}` (lock `delete group failed`): the
/// group, its memberships and its ACL entries go.
pub fn delete(call: &Call) -> ApiResult<Value> {
    let group = call.param("groupid").unwrap_or_default().to_string();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.cfg.groups.remove(&group).is_none() {
                return Err(ApiError::die(format!("group '{group}' does not exist")));
            }
            for user in s.cfg.users.values_mut() {
                user.groups.remove(&group);
            }
            for node in s.cfg.acl.values_mut() {
                node.groups.remove(&group);
            }
            Ok(())
        })
        .map_err(|e| e.in_lock("delete group failed"))?;
    Ok(Value::Null)
}
