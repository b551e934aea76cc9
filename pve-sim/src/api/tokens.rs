//! API tokens: `/access/users/{userid}/token[/{tokenid}]` (AC
//! `API2/User.pm`). The secret is only ever returned by
//! `POST` (generate) and by `PUT` with `regenerate` (PVE 9.1).
//!
//! Quirk kept on purpose: values set by the request are echoed back as the
//! strings they arrived as (`"privsep":"0"`), values from the config as
//! integers.

use serde_json::{json, Map, Value};

use super::auth::check_user_exist;
use super::errors::{ApiError, ApiResult};
use super::secrets;
use super::users::{int_param, token_info};
use super::Call;
use crate::ids;
use crate::model::{PveVersion, Token, UserCfg};
use crate::store::State;

/// `check_token_exist`: the token, or `no such user`/`no such token`.
fn check_token_exist<'a>(
    cfg: &'a UserCfg,
    userid: &str,
    tokenid: &str,
) -> Result<&'a Token, String> {
    let user = check_user_exist(cfg, userid)?;
    user.tokens
        .get(tokenid)
        .ok_or_else(|| format!("no such token '{tokenid}' for user '{userid}'\n"))
}

/// The `userid` and `tokenid` path parameters.
fn ids_of(call: &Call) -> ApiResult<(String, String)> {
    let (userid, _, _) =
        ids::verify_userid(call.param("userid").unwrap_or_default()).map_err(ApiError::die)?;
    Ok((
        userid,
        call.param("tokenid").unwrap_or_default().to_string(),
    ))
}

/// `GET /access/users/{userid}/token`: `[{tokenid, privsep, expire, comment?}]`.
pub fn index(call: &Call) -> ApiResult<Value> {
    let (userid, _) = ids_of(call)?;
    call.store().read(|s: &State| {
        let user = check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
        Ok(Value::Array(
            user.tokens
                .iter()
                .map(|(id, t)| {
                    let mut m = token_info(t);
                    m.insert("tokenid".into(), json!(id));
                    Value::Object(m)
                })
                .collect(),
        ))
    })
}

/// `GET /access/users/{userid}/token/{tokenid}`: `{privsep, expire, comment?}`.
pub fn read(call: &Call) -> ApiResult<Value> {
    let (userid, tokenid) = ids_of(call)?;
    call.store().read(|s: &State| {
        let t = check_token_exist(&s.cfg, &userid, &tokenid).map_err(ApiError::die)?;
        Ok(Value::Object(token_info(t)))
    })
}

/// `POST /access/users/{userid}/token/{tokenid}` (lock `generating token
/// failed`): `{"full-tokenid", "info", "value"}`.
pub fn generate(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "generating token failed";
    let (userid, tokenid) = ids_of(call)?;
    call.store().read(|s: &State| {
        let user = check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
        if user.tokens.contains_key(&tokenid) {
            return Err(ApiError::param1("tokenid", "Token already exists."));
        }
        Ok(())
    })?;
    let full = format!("{userid}!{tokenid}");
    let value = call
        .store()
        .write(|s: &mut State| -> ApiResult<String> {
            check_user_exist(&s.cfg, &userid).map_err(ApiError::die)?;
            if s.cfg
                .users
                .get(&userid)
                .is_some_and(|u| u.tokens.contains_key(&tokenid))
            {
                return Err(ApiError::die("Token already exists."));
            }
            ids::verify_tokenid_full(&full).map_err(ApiError::die)?;
            let value = secrets::new_uuid().map_err(ApiError::die)?;
            s.secrets.insert(full.clone(), value.clone());
            let token = Token {
                privsep: call.param("privsep").is_none_or(|v| v == "1"),
                expire: call.param("expire").map(int_param).unwrap_or(0),
                comment: call
                    .param("comment")
                    .filter(|c| ids::truthy(c))
                    .map(str::to_string),
            };
            if let Some(user) = s.cfg.users.get_mut(&userid) {
                user.tokens.insert(tokenid.clone(), token);
            }
            Ok(value)
        })
        .map_err(|e| e.in_lock(LOCK))?;

    let mut info = Map::new();
    info.insert(
        "privsep".into(),
        call.param("privsep").map_or(json!(1), |v| json!(v)),
    );
    if let Some(e) = call.param("expire") {
        info.insert("expire".into(), json!(e));
    }
    if let Some(c) = call.param("comment").filter(|c| ids::truthy(c)) {
        info.insert("comment".into(), json!(c));
    }
    Ok(json!({ "full-tokenid": full, "info": info, "value": value }))
}

/// `PUT /access/users/{userid}/token/{tokenid}` (lock `updating token info
/// failed`): returns the token hash, plus `value` and `full-tokenid` after
/// `regenerate`.
pub fn update(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "updating token info failed";
    let (userid, tokenid) = ids_of(call)?;
    let pve8 = call.version() == PveVersion::V8_4;
    let regenerate = call.truthy("regenerate");
    call.store().read(|s: &State| {
        check_token_exist(&s.cfg, &userid, &tokenid)
            .map(|_| ())
            .map_err(ApiError::die)
    })?;
    let delete: Vec<String> = match call.param("delete").filter(|d| ids::truthy(d)) {
        Some(d) => ids::split_list(d),
        None => Vec::new(),
    };
    let full = format!("{userid}!{tokenid}");

    let (token, value) = call
        .store()
        .write(|s: &mut State| -> ApiResult<(Token, Option<String>)> {
            let mut token = check_token_exist(&s.cfg, &userid, &tokenid)
                .map_err(ApiError::die)?
                .clone();
            if let Some(p) = call.param("privsep") {
                token.privsep = p == "1";
            }
            if let Some(e) = call.param("expire") {
                token.expire = int_param(e);
            }
            if pve8 {
                // PVE 8: an empty comment cannot clear the comment
                if let Some(c) = call.param("comment").filter(|c| ids::truthy(c)) {
                    token.comment = Some(c.to_string());
                }
            } else {
                if let Some(c) = call.param("comment") {
                    token.comment = Some(c.to_string());
                }
                if token.comment.as_deref().is_some_and(str::is_empty) {
                    token.comment = None;
                }
            }
            for key in &delete {
                if key != "comment" {
                    return Err(ApiError::param1(
                        "delete",
                        format!("unknown option '{key}'"),
                    ));
                }
                token.comment = None;
            }
            let value = if regenerate {
                let v = secrets::new_uuid().map_err(ApiError::die)?;
                s.secrets.insert(full.clone(), v.clone());
                Some(v)
            } else {
                None
            };
            if let Some(user) = s.cfg.users.get_mut(&userid) {
                user.tokens.insert(tokenid.clone(), token.clone());
            }
            Ok((token, value))
        })
        .map_err(|e| e.in_lock(LOCK))?;

    let mut res = token_info(&token);
    if let Some(p) = call.param("privsep") {
        res.insert("privsep".into(), json!(p));
    }
    if let Some(e) = call.param("expire") {
        res.insert("expire".into(), json!(e));
    }
    if let Some(v) = value {
        res.insert("value".into(), json!(v));
        res.insert("full-tokenid".into(), json!(full));
    }
    Ok(Value::Object(res))
}

/// `DELETE /access/users/{userid}/token/{tokenid}` (lock `deleting token
/// failed`): the secret and the token go; its ACL entries vanish with the
/// next normalisation of the config.
pub fn remove(call: &Call) -> ApiResult<Value> {
    const LOCK: &str = "deleting token failed";
    let (userid, tokenid) = ids_of(call)?;
    call.store().read(|s: &State| {
        check_token_exist(&s.cfg, &userid, &tokenid)
            .map(|_| ())
            .map_err(ApiError::die)
    })?;
    let full = format!("{userid}!{tokenid}");
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            check_token_exist(&s.cfg, &userid, &tokenid).map_err(ApiError::die)?;
            s.secrets.remove(&full);
            if let Some(user) = s.cfg.users.get_mut(&userid) {
                user.tokens.remove(&tokenid);
            }
            Ok(())
        })
        .map_err(|e| e.in_lock(LOCK))?;
    Ok(Value::Null)
}
