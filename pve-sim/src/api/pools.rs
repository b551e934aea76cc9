//! Pools (pve-manager `PVE/API2/Pool.pm`): `GET/POST/PUT/DELETE /pools`
//! with `poolid` as a parameter (8.1 and later, nested ids `a/b/c`) and the
//! older, deprecated `GET/PUT/DELETE /pools/{poolid}`; plus
//! `GET /cluster/resources` (`PVE/API2/Cluster.pm`), where clients see which
//! guests and storages exist and which pool a guest is in.
//!
//! Guests and storages come from the [`Inventory`] given at start: like
//! PVE, a pool's read-back lists only members that exist, deleting a pool
//! ignores members that do not, and adding a member does not ask whether
//! it exists (only whether the caller may change its permissions).

use serde_json::{json, Map, Value};

use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::ids;
use crate::inventory::{Inventory, NODE};
use crate::model::{Pool, PveVersion, UserCfg};
use crate::store::State;

fn no_pool(poolid: &str) -> ApiError {
    ApiError::die(format!("pool '{poolid}' does not exist"))
}

/// The pool a guest is in (PVE's `$usercfg->{vms}` back-reference).
fn pool_of(cfg: &UserCfg, vmid: u32) -> Option<&str> {
    cfg.pools
        .iter()
        .find(|(_, p)| p.vms.contains(&vmid))
        .map(|(id, _)| id.as_str())
}

/// `extract_vm_stats` without RRD data (pve-sim has no running guests).
fn guest_entry(vmid: u32, kind: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("{kind}/{vmid}")));
    m.insert("vmid".into(), json!(vmid));
    m.insert("node".into(), json!(NODE));
    m.insert("type".into(), json!(kind));
    m.insert("status".into(), json!("unknown"));
    m
}

/// `extract_storage_stats` without RRD data, for a directory storage.
fn storage_entry(storeid: &str) -> Value {
    json!({
        "id": format!("storage/{NODE}/{storeid}"),
        "storage": storeid,
        "node": NODE,
        "type": "storage",
        "plugintype": "dir",
        "status": "unknown",
        "shared": 0,
        "content": "images,rootdir",
    })
}

/// A pool's read-back: `{poolid, comment?, members}`, members that exist
/// only, guests in PVE's order (VMIDs sorted as strings), then storages.
fn pool_info(inv: &Inventory, poolid: &str, pool: &Pool, kind: Option<&str>) -> Value {
    let mut vmids: Vec<u32> = pool.vms.iter().copied().collect();
    vmids.sort_by_key(u32::to_string);
    let mut members: Vec<Value> = vmids
        .into_iter()
        .filter_map(|vmid| inv.guests.get(&vmid).map(|k| (vmid, *k)))
        .filter(|(_, k)| kind.is_none_or(|t| t == *k))
        .map(|(vmid, k)| Value::Object(guest_entry(vmid, k)))
        .collect();
    if kind.is_none_or(|t| t == "storage") {
        members.extend(
            pool.storage
                .iter()
                .filter(|s| inv.storages.contains(*s))
                .map(|s| storage_entry(s)),
        );
    }
    let mut m = Map::new();
    m.insert("members".into(), Value::Array(members));
    if let Some(c) = &pool.comment {
        m.insert("comment".into(), json!(c));
    }
    m.insert("poolid".into(), json!(poolid));
    Value::Object(m)
}

/// `GET /pools`: every pool the caller may audit (`{poolid, comment?}`), or
/// with `poolid` that one pool with its members, in a list. PVE checks
/// nothing for the latter: its `Pool.Audit` check is made with `noerr` and
/// its answer ignored.
pub fn index(call: &Call) -> ApiResult<Value> {
    let inv = call.inventory();
    call.store().read(|s: &State| {
        if let Some(poolid) = call.param("poolid").filter(|p| ids::truthy(p)) {
            let pool = s.cfg.pools.get(poolid).ok_or_else(|| no_pool(poolid))?;
            return Ok(json!([pool_info(inv, poolid, pool, call.param("type"))]));
        }
        let ck = Checker::new(&s.cfg, call.authid());
        let res = s
            .cfg
            .pools
            .iter()
            .filter(|(id, _)| ck.has_all(&format!("/pool/{id}"), &["Pool.Audit"]))
            .map(|(id, p)| {
                let mut m = Map::new();
                m.insert("poolid".into(), json!(id));
                if let Some(c) = &p.comment {
                    m.insert("comment".into(), json!(c));
                }
                Value::Object(m)
            })
            .collect();
        Ok(Value::Array(res))
    })
}

/// `GET /pools/{poolid}` (deprecated): the pool, not in a list.
pub fn read(call: &Call) -> ApiResult<Value> {
    let poolid = call.param("poolid").unwrap_or_default();
    let inv = call.inventory();
    call.store().read(|s: &State| {
        let pool = s.cfg.pools.get(poolid).ok_or_else(|| no_pool(poolid))?;
        Ok(pool_info(inv, poolid, pool, call.param("type")))
    })
}

/// `POST /pools` (lock `create pool failed`): a nested pool needs its
/// parent; since 9.0 a new pool's name (its last level) starts with a letter.
pub fn create(call: &Call) -> ApiResult<Value> {
    let poolid = call.param("poolid").unwrap_or_default().to_string();
    let letter_first = call.version() >= PveVersion::V9_0;
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            if s.cfg.pools.contains_key(&poolid) {
                return Err(ApiError::die(format!("pool '{poolid}' already exists")));
            }
            let leaf = match poolid.rsplit_once('/') {
                Some((parent, leaf)) => {
                    if !s.cfg.pools.contains_key(parent) {
                        return Err(ApiError::die(format!(
                            "parent '{parent}' of pool '{poolid}' does not exist"
                        )));
                    }
                    leaf
                }
                None => poolid.as_str(),
            };
            if letter_first && !leaf.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(ApiError::die("pool name must start with a letter"));
            }
            let comment = call.param("comment").filter(|c| ids::truthy(c));
            s.cfg.pools.insert(
                poolid.clone(),
                Pool {
                    comment: comment.map(str::to_string),
                    ..Pool::default()
                },
            );
            Ok(())
        })
        .map_err(|e| e.in_lock("create pool failed"))?;
    Ok(Value::Null)
}

/// `PUT /pools` and `PUT /pools/{poolid}` (lock `update pools failed`):
/// the comment, then guests, then storages are added (or with `delete`
/// removed) one by one, each after `check_perm_modify` on its path; a guest
/// in another pool moves only with `allow-move` and `Pool.Allocate` on
/// that pool. Any error leaves the pool as it was.
pub fn update(call: &Call) -> ApiResult<Value> {
    let poolid = call.param("poolid").unwrap_or_default().to_string();
    let delete = call.truthy("delete");
    let allow_move = call.truthy("allow-move");
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            // PVE checks against the config its request started with.
            let before = s.cfg.clone();
            let ck = Checker::new(&before, call.authid());
            let cfg = &mut s.cfg;
            if !cfg.pools.contains_key(&poolid) {
                return Err(no_pool(&poolid));
            }
            if let Some(c) = call.param("comment") {
                if let Some(p) = cfg.pools.get_mut(&poolid) {
                    p.comment = Some(c.to_string());
                }
            }
            for vm in call.param("vms").map(ids::split_list).unwrap_or_default() {
                let vmid: u32 = vm.parse().unwrap_or_default();
                ck.check_perm_modify(&format!("/vms/{vm}"), false)?;
                let member = cfg.pools[&poolid].vms.contains(&vmid);
                if delete {
                    if !member {
                        return Err(ApiError::die(format!("VM {vm} is not a pool member")));
                    }
                } else {
                    if member {
                        return Err(ApiError::die(format!("VM {vm} is already a pool member")));
                    }
                    if let Some(other) = pool_of(cfg, vmid).map(str::to_string) {
                        if !allow_move {
                            return Err(ApiError::die(format!(
                                "VM {vm} belongs already to pool '{other}' and 'allow-move' is not set"
                            )));
                        }
                        ck.check(&format!("/pool/{other}"), &["Pool.Allocate"])?;
                        if let Some(p) = cfg.pools.get_mut(&other) {
                            p.vms.remove(&vmid);
                        }
                    }
                }
                if let Some(p) = cfg.pools.get_mut(&poolid) {
                    if delete {
                        p.vms.remove(&vmid);
                    } else {
                        p.vms.insert(vmid);
                    }
                }
            }
            for storeid in call.param("storage").map(ids::split_list).unwrap_or_default() {
                ck.check_perm_modify(&format!("/storage/{storeid}"), false)?;
                let Some(p) = cfg.pools.get_mut(&poolid) else {
                    return Err(no_pool(&poolid));
                };
                let member = p.storage.contains(&storeid);
                if delete {
                    if !member {
                        return Err(ApiError::die(format!(
                            "Storage '{storeid}' is not a pool member"
                        )));
                    }
                    p.storage.remove(&storeid);
                } else {
                    if member {
                        return Err(ApiError::die(format!(
                            "Storage '{storeid}' is already a pool member"
                        )));
                    }
                    p.storage.insert(storeid);
                }
            }
            Ok(())
        })
        .map_err(|e| e.in_lock("update pools failed"))?;
    Ok(Value::Null)
}

/// `DELETE /pools` and `DELETE /pools/{poolid}` (lock `delete pool
/// failed`): only an empty pool (members that no longer exist do not
/// count); its ACL entries go as PVE removes them, the subtree under
/// `/pool/<id>` for a top-level pool and nothing for a nested one (PVE looks
/// the nested id up as one child of `/pool`, where it is not).
pub fn delete(call: &Call) -> ApiResult<Value> {
    let poolid = call.param("poolid").unwrap_or_default().to_string();
    let inv = call.inventory();
    call.store()
        .write(|s: &mut State| -> ApiResult<()> {
            let cfg = &mut s.cfg;
            let pool = cfg.pools.get(&poolid).ok_or_else(|| no_pool(&poolid))?;
            let prefix = format!("{poolid}/");
            if let Some(sub) = cfg
                .pools
                .keys()
                .find(|k| k.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
            {
                return Err(ApiError::die(format!(
                    "pool '{poolid}' is not empty (contains pool '{sub}')"
                )));
            }
            let mut vmids: Vec<u32> = pool.vms.iter().copied().collect();
            vmids.sort_by_key(u32::to_string);
            if let Some(vm) = vmids.iter().find(|v| inv.guests.contains_key(v)) {
                return Err(ApiError::die(format!(
                    "pool '{poolid}' is not empty (contains VM {vm})"
                )));
            }
            if let Some(st) = pool.storage.iter().find(|s| inv.storages.contains(*s)) {
                return Err(ApiError::die(format!(
                    "pool '{poolid}' is not empty (contains storage '{st}')"
                )));
            }
            cfg.pools.remove(&poolid);
            if !poolid.contains('/') {
                let path = format!("/pool/{poolid}");
                cfg.acl
                    .retain(|p, _| p != &path && !p.starts_with(&format!("{path}/")));
            }
            Ok(())
        })
        .map_err(|e| e.in_lock("delete pool failed"))?;
    Ok(Value::Null)
}

/// `GET /cluster/resources`: pools (Pool.Audit), guests (VM.Audit; with
/// their pool when that is auditable too), the node and storages
/// (Datastore.Audit), filtered by `type` (`vm`, `storage`, `node`, `sdn`).
pub fn resources(call: &Call) -> ApiResult<Value> {
    let inv = call.inventory();
    let want = |t: &str| call.param("type").is_none_or(|x| x == t);
    call.store().read(|s: &State| {
        let ck = Checker::new(&s.cfg, call.authid());
        let audit = |path: String, privilege: &str| ck.has_all(&path, &[privilege]);
        let mut res = Vec::new();
        if call.param("type").is_none() {
            for id in s.cfg.pools.keys() {
                if audit(format!("/pool/{id}"), "Pool.Audit") {
                    res.push(json!({"id": format!("/pool/{id}"), "pool": id, "type": "pool"}));
                }
            }
        }
        if want("vm") {
            for (vmid, kind) in &inv.guests {
                if !audit(format!("/vms/{vmid}"), "VM.Audit") {
                    continue;
                }
                let mut entry = guest_entry(*vmid, kind);
                if let Some(pool) = pool_of(&s.cfg, *vmid) {
                    if audit(format!("/pool/{pool}"), "Pool.Audit") {
                        entry.insert("pool".into(), json!(pool));
                    }
                }
                res.push(Value::Object(entry));
            }
        }
        if want("node") {
            res.push(json!({"id": format!("node/{NODE}"), "node": NODE, "type": "node", "status": "online"}));
        }
        if want("storage") {
            for st in &inv.storages {
                if audit(format!("/storage/{st}"), "Datastore.Audit") {
                    res.push(storage_entry(st));
                }
            }
        }
        Ok(Value::Array(res))
    })
}
