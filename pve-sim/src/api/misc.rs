//! `GET /version`, `GET /access` (directory index) and `GET /access/domains`.

use serde_json::{json, Value};

use super::errors::ApiResult;
use super::Call;
use crate::model::PveVersion;

/// `GET /version`: the pve-manager release of the simulated version.
pub fn version(call: &Call) -> ApiResult<Value> {
    let v = call.version();
    let repoid = match v {
        PveVersion::V8_4 => "b502d23c55afcba1",
        PveVersion::V9_0 => "3ad17d9a4d5e4e1c",
        PveVersion::V9_1 => "be4bff05d65299b9",
    };
    Ok(json!({ "version": v.release(), "release": v.as_str(), "repoid": repoid }))
}

/// `GET /access`: the subdirectories, in PVE's registration order.
pub fn index(_call: &Call) -> ApiResult<Value> {
    let dirs = [
        "users", "groups", "roles", "acl", "domains", "openid", "tfa", "ticket", "password",
    ];
    Ok(Value::Array(
        dirs.iter().map(|d| json!({ "subdir": d })).collect(),
    ))
}

/// `GET /access/domains`: the two realms every PVE has (domains.cfg is not
/// simulated).
pub fn domains(_call: &Call) -> ApiResult<Value> {
    Ok(json!([
        { "realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication" },
        { "realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server" },
    ]))
}

/// The type of a realm of the simulator (`pam`, `pve`), if it exists.
pub fn realm_type(realm: &str) -> Option<&'static str> {
    match realm {
        "pam" => Some("pam"),
        "pve" => Some("pve"),
        _ => None,
    }
}
