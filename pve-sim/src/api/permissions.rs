//! `GET /access/permissions` (AC `API2/AccessControl.pm`): the
//! effective privileges of the caller, one of its tokens, or (with Sys.Audit
//! on `/access`) anyone, on one path or on PVE's default path set.

use serde_json::{json, Map, Value};

use super::checks::{Checker, PrivMap};
use super::errors::ApiResult;
use super::Call;
use crate::ids;
use crate::perms;
use crate::store::State;

fn priv_object(p: &PrivMap) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), json!(i32::from(*v))))
            .collect(),
    )
}

/// `GET /access/permissions`.
pub fn read(call: &Call) -> ApiResult<Value> {
    let authid = call.authid().to_string();
    let userid = call.param("userid").unwrap_or(&authid).to_string();
    call.store().read(|s: &State| {
        let owner = ids::split_tokenid(&userid).ok().map(|(u, _)| u);
        let check_self = userid == authid;
        let owned_token = owner.as_deref() == Some(authid.as_str());
        if !(check_self || owned_token) {
            Checker::new(&s.cfg, &authid).check("/access", &["Sys.Audit"])?;
        }
        match call.param("path").filter(|p| ids::truthy(p)) {
            Some(path) => {
                let p = perms::permissions(&s.cfg, &userid, path);
                let mut m = Map::new();
                m.insert(path.to_string(), priv_object(&p));
                Ok(Value::Object(m))
            }
            None => {
                let all = perms::effective_permissions(&s.cfg, &userid);
                Ok(Value::Object(
                    all.iter()
                        .map(|(path, p)| (path.clone(), priv_object(p)))
                        .collect(),
                ))
            }
        }
    })
}
