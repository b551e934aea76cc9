//! `GET /version` and `GET /access` (directory index).

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
