//! The pure part of pve_pool: the task's options, checked, the pool and
//! the cluster's guests and storages as the server shows them, and what to
//! send about them. No I/O here.

use std::collections::BTreeMap;

use ansible_module::{json, Params, Value};
use pve_api::{ids, seg, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// Which of PVE's two pool APIs the server has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// PVE 8.1 and later: `poolid` as a parameter of `/pools`, nested ids.
    Param,
    /// Before 8.1: `/pools/{poolid}`, top-level pools only.
    Path,
}

impl Shape {
    /// The shape of a server whose `GET /version` says `version` (`8.0.9`).
    pub fn of_version(version: &str) -> Option<Shape> {
        Some(if pve_api::access::release(version)? >= (8, 1) {
            Shape::Param
        } else {
            Shape::Path
        })
    }

    /// The read of one pool (`GET /pools?poolid=` answers a list of one).
    pub fn read(self, poolid: &str) -> ApiRequest {
        match self {
            Shape::Param => ApiRequest::get("/pools").param("poolid", poolid),
            Shape::Path => ApiRequest::get(format!("/pools/{}", seg(poolid))),
        }
    }

    fn write(self, put: bool, poolid: &str) -> ApiRequest {
        match (self, put) {
            (Shape::Param, true) => ApiRequest::put("/pools").param("poolid", poolid),
            (Shape::Param, false) => ApiRequest::delete("/pools").param("poolid", poolid),
            (Shape::Path, true) => ApiRequest::put(format!("/pools/{}", seg(poolid))),
            (Shape::Path, false) => ApiRequest::delete(format!("/pools/{}", seg(poolid))),
        }
    }
}

/// A pool as the server shows it: members that exist only (PVE hides
/// guests and storages that are gone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub poolid: String,
    pub comment: Option<String>,
    /// Sorted.
    pub vms: Vec<u32>,
    /// Sorted.
    pub storage: Vec<String>,
}

impl Pool {
    pub fn new(poolid: &str) -> Pool {
        Pool {
            poolid: poolid.to_string(),
            ..Pool::default()
        }
    }

    /// What the module returns as `pool`.
    pub fn to_json(&self) -> Value {
        json!({"poolid": self.poolid, "comment": self.comment, "vms": self.vms, "storage": self.storage})
    }

    /// Reads PVE's answer: `GET /pools?poolid=` (a list of one) or
    /// `GET /pools/{poolid}` (the object).
    pub fn from_json(poolid: &str, v: &Value) -> Result<Pool, String> {
        let v = match v {
            Value::Array(items) => items.first().ok_or("an empty list")?,
            other => other,
        };
        let members = v["members"]
            .as_array()
            .ok_or_else(|| format!("no 'members' list in {v}"))?;
        let mut pool = Pool::new(poolid);
        pool.comment = v["comment"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        for m in members {
            match (
                m["type"].as_str(),
                m["vmid"].as_u64(),
                m["storage"].as_str(),
            ) {
                (Some("storage"), _, Some(s)) => pool.storage.push(s.to_string()),
                (_, Some(vmid), _) => pool
                    .vms
                    .push(u32::try_from(vmid).map_err(|_| format!("VMID {vmid}"))?),
                _ => return Err(format!("a member without vmid or storage: {m}")),
            }
        }
        pool.vms.sort_unstable();
        pool.vms.dedup();
        pool.storage.sort();
        pool.storage.dedup();
        Ok(pool)
    }
}

/// The guests and storages the login can see (`GET /cluster/resources`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    /// VMID -> the pool it is in (when the login may see that pool).
    pub guests: BTreeMap<u32, Option<String>>,
    pub storages: Vec<String>,
}

impl Cluster {
    pub fn from_json(v: &Value) -> Result<Cluster, String> {
        let items = v.as_array().ok_or("expected a list")?;
        let mut c = Cluster::default();
        for item in items {
            match item["type"].as_str() {
                Some("qemu" | "lxc" | "openvz") => {
                    let vmid = item["vmid"]
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| format!("a guest without vmid: {item}"))?;
                    let pool = item["pool"].as_str().map(str::to_string);
                    c.guests.insert(vmid, pool);
                }
                Some("storage") => {
                    if let Some(s) = item["storage"].as_str() {
                        c.storages.push(s.to_string());
                    }
                }
                _ => {}
            }
        }
        c.storages.sort();
        c.storages.dedup();
        Ok(c)
    }
}

/// The task, validated. `None` = not given: left as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub poolid: String,
    pub comment: Option<String>,
    /// Sorted, without duplicates.
    pub vms: Option<Vec<u32>>,
    /// Sorted, without duplicates.
    pub storage: Option<Vec<String>>,
    pub append: bool,
    pub allow_move: bool,
    pub remove_members: bool,
    pub state: State,
}

impl Desired {
    /// Reads and checks the options before any request.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let poolid = p.str("poolid").unwrap_or_default().to_string();
        ids::verify_poolid(&poolid).map_err(|e| format!("poolid: {e}"))?;
        let vms = match p.list("vms") {
            Some(items) => {
                let mut vms = Vec::new();
                for item in items.iter().flat_map(|i| ids::split_list(i)) {
                    let vmid: i64 = item.parse().map_err(|_| {
                        format!("vms: '{item}' is not a VM ID (a number such as 100)")
                    })?;
                    ids::verify_vmid(vmid).map_err(|e| format!("vms: {e}"))?;
                    vms.push(vmid as u32);
                }
                vms.sort_unstable();
                vms.dedup();
                Some(vms)
            }
            None => None,
        };
        let storage = match p.list("storage") {
            Some(items) => {
                let mut list: Vec<String> = items.iter().flat_map(|i| ids::split_list(i)).collect();
                for s in &list {
                    ids::verify_storage_id(s).map_err(|e| format!("storage: {e}"))?;
                }
                list.sort();
                list.dedup();
                Some(list)
            }
            None => None,
        };
        let d = Desired {
            poolid,
            comment: p.str("comment").map(str::to_string),
            vms,
            storage,
            append: p.bool("append").unwrap_or(false),
            allow_move: p.bool("allow_move").unwrap_or(false),
            remove_members: p.bool("remove_members").unwrap_or(false),
            state: State::from_params(p),
        };
        if d.remove_members && d.state == State::Present {
            return Err("remove_members applies to state: absent only (to empty a pool and keep it, give vms: [] and storage: [])".into());
        }
        Ok(d)
    }

    /// The guests and storages the pool ends up with.
    fn targets(&self, current: &Pool) -> (Vec<u32>, Vec<String>) {
        fn target<T: Ord + Clone>(have: &[T], want: &Option<Vec<T>>, append: bool) -> Vec<T> {
            let Some(want) = want else {
                return have.to_vec();
            };
            let mut out = want.clone();
            if append {
                out.extend_from_slice(have);
            }
            out.sort();
            out.dedup();
            out
        }
        (
            target(&current.vms, &self.vms, self.append),
            target(&current.storage, &self.storage, self.append),
        )
    }

    /// Whether the cluster's guests and storages must be read: only when
    /// members are added (they must exist, and a guest may be in another
    /// pool).
    pub fn needs_cluster(&self, current: Option<&Pool>) -> bool {
        if self.state == State::Absent {
            return false;
        }
        let empty = Pool::new(&self.poolid);
        let cur = current.unwrap_or(&empty);
        let (vms, storage) = self.targets(cur);
        vms.iter().any(|v| !cur.vms.contains(v)) || storage.iter().any(|s| !cur.storage.contains(s))
    }
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    Absent,
    /// The pool exists; with this comment when `Some`, holding `with` and
    /// not holding `without`.
    Pool {
        comment: Option<Option<String>>,
        with: (Vec<u32>, Vec<String>),
        without: (Vec<u32>, Vec<String>),
    },
}

impl Settle {
    /// Whether `pool` (as read back) is in the state the write leads to.
    pub fn met_by(&self, pool: Option<&Pool>) -> bool {
        match (self, pool) {
            (Settle::Absent, None) => true,
            (
                Settle::Pool {
                    comment,
                    with,
                    without,
                },
                Some(p),
            ) => {
                comment.as_ref().is_none_or(|c| *c == p.comment)
                    && with.0.iter().all(|v| p.vms.contains(v))
                    && with.1.iter().all(|s| p.storage.contains(s))
                    && !without.0.iter().any(|v| p.vms.contains(v))
                    && !without.1.iter().any(|s| p.storage.contains(s))
            }
            _ => false,
        }
    }
}

fn view(pool: Option<&Pool>) -> Value {
    pool.map_or_else(no_view, Pool::to_json)
}

/// The items of `list` that are not in `other`.
fn not_in<T: Clone + PartialEq>(list: &[T], other: &[T]) -> Vec<T> {
    list.iter()
        .filter(|x| !other.contains(x))
        .cloned()
        .collect()
}

/// `req` with the members it adds or takes out (`vms`, `storage`), each
/// list only when not empty.
fn with_members(mut req: ApiRequest, vms: &[u32], storage: &[String]) -> ApiRequest {
    if !vms.is_empty() {
        let ids: Vec<String> = vms.iter().map(u32::to_string).collect();
        req = req.param("vms", ids.join(","));
    }
    if !storage.is_empty() {
        req = req.param("storage", storage.join(","));
    }
    req
}

/// "guest 100, 101 and storage local".
pub fn members_words(vms: &[u32], storage: &[String]) -> String {
    let mut what = Vec::new();
    if !vms.is_empty() {
        let ids: Vec<String> = vms.iter().map(u32::to_string).collect();
        what.push(format!("guest {}", ids.join(", ")));
    }
    if !storage.is_empty() {
        what.push(format!("storage {}", storage.join(", ")));
    }
    what.join(" and ")
}

/// Plans the task. `cluster` is read when [`Desired::needs_cluster`];
/// `subpools` are the pools nested directly in this one (read for
/// `state: absent` only).
pub fn plan(
    d: &Desired,
    current: Option<&Pool>,
    cluster: Option<&Cluster>,
    subpools: &[String],
    shape: Shape,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let id = &d.poolid;
    if shape == Shape::Path && id.contains('/') {
        return Err(Refused(format!(
            "pool '{id}' is nested, and this server's PVE (before 8.1) has no nested pools: use a top-level pool id"
        )));
    }
    let before = view(current);
    if d.state == State::Absent {
        return plan_absent(d, current, subpools, shape, check_mode);
    }

    let mut steps = Vec::new();
    let mut changes = Vec::new();
    let empty = Pool::new(id);
    let cur = current.unwrap_or(&empty);
    let mut after = cur.clone();
    if current.is_none() {
        let mut req = ApiRequest::post("/pools").param("poolid", id);
        let comment = d.comment.clone().filter(|c| !c.is_empty());
        if let Some(c) = &comment {
            req = req.param("comment", c);
        }
        after.comment = comment.clone();
        steps.push(Step::new(
            req,
            Settle::Pool {
                comment: Some(comment),
                with: Default::default(),
                without: Default::default(),
            },
        ));
    }

    let (vms, storage) = d.targets(cur);
    let add_vms = not_in(&vms, &cur.vms);
    let add_storage = not_in(&storage, &cur.storage);
    let del_vms = not_in(&cur.vms, &vms);
    let del_storage = not_in(&cur.storage, &storage);
    let moved = check_members(d, &add_vms, &add_storage, cluster)?;

    // One PUT adds members and sets the comment (PVE applies both or
    // neither); a second takes members out.
    let new_comment = match (&d.comment, current) {
        (Some(c), Some(p)) => {
            let target = (!c.is_empty()).then(|| c.clone());
            (target != p.comment).then_some(target)
        }
        _ => None,
    };
    if new_comment.is_some() || !add_vms.is_empty() || !add_storage.is_empty() {
        let mut req = shape.write(true, id);
        if let Some(c) = &new_comment {
            req = req.param("comment", c.clone().unwrap_or_default());
            after.comment = c.clone();
            changes.push("comment".to_string());
        }
        req = with_members(req, &add_vms, &add_storage);
        if !moved.is_empty() {
            req = req.param("allow-move", 1);
        }
        if !add_vms.is_empty() || !add_storage.is_empty() {
            let mut words = format!("added {}", members_words(&add_vms, &add_storage));
            for (vmid, from) in &moved {
                words.push_str(&format!(" (guest {vmid} moved from pool '{from}')"));
            }
            changes.push(words);
        }
        steps.push(Step::new(
            req,
            Settle::Pool {
                comment: new_comment,
                with: (add_vms, add_storage),
                without: Default::default(),
            },
        ));
    }
    if !del_vms.is_empty() || !del_storage.is_empty() {
        let req = with_members(
            shape.write(true, id).param("delete", 1),
            &del_vms,
            &del_storage,
        );
        changes.push(format!("removed {}", members_words(&del_vms, &del_storage)));
        steps.push(Step::new(
            req,
            Settle::Pool {
                comment: None,
                with: Default::default(),
                without: (del_vms, del_storage),
            },
        ));
    }
    after.vms = vms;
    after.storage = storage;

    if steps.is_empty() {
        return Ok(Plan::unchanged(format!("pool '{id}' unchanged"), before));
    }
    let msg = if current.is_none() {
        let mut m = format!("pool '{id}' {}", verb(check_mode, "created"));
        if !after.vms.is_empty() || !after.storage.is_empty() {
            m.push_str(&format!(
                " with {}",
                members_words(&after.vms, &after.storage)
            ));
        }
        m
    } else {
        format!(
            "pool '{id}' {}: {}",
            verb(check_mode, "updated"),
            changes.join("; ")
        )
    };
    Ok(Plan::change(steps, msg, before, after.to_json()))
}

/// Refuses members to add that the cluster does not have (or does not
/// show this login), and guests in another pool without `allow_move`;
/// returns the guests that move, with the pool they leave.
fn check_members(
    d: &Desired,
    add_vms: &[u32],
    add_storage: &[String],
    cluster: Option<&Cluster>,
) -> Result<Vec<(u32, String)>, Refused> {
    if add_vms.is_empty() && add_storage.is_empty() {
        return Ok(Vec::new());
    }
    let id = &d.poolid;
    let empty = Cluster::default();
    let cluster = cluster.unwrap_or(&empty);
    let missing_vms: Vec<String> = add_vms
        .iter()
        .filter(|v| !cluster.guests.contains_key(v))
        .map(u32::to_string)
        .collect();
    let missing_storage: Vec<&str> = add_storage
        .iter()
        .filter(|s| !cluster.storages.contains(s))
        .map(String::as_str)
        .collect();
    let mut problems = Vec::new();
    if !missing_vms.is_empty() {
        problems.push(format!(
            "guest {} does not exist (or this login cannot see it: it needs VM.Audit on /vms/<id>)",
            missing_vms.join(", ")
        ));
    }
    if !missing_storage.is_empty() {
        problems.push(format!(
            "storage {} does not exist (or this login cannot see it: it needs Datastore.Audit on /storage/<id>)",
            missing_storage.join(", ")
        ));
    }
    let moved: Vec<(u32, String)> = add_vms
        .iter()
        .filter_map(|v| {
            let other = cluster.guests.get(v)?.as_ref()?;
            (other != id).then(|| (*v, other.clone()))
        })
        .collect();
    if !moved.is_empty() && !d.allow_move {
        let list: Vec<String> = moved
            .iter()
            .map(|(v, p)| format!("guest {v} is in pool '{p}'"))
            .collect();
        problems.push(format!(
            "{}: a guest is in one pool at most; set allow_move: true to move it here",
            list.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(moved)
    } else {
        Err(Refused(format!(
            "pool '{id}' not changed: {}",
            problems.join("; ")
        )))
    }
}

fn plan_absent(
    d: &Desired,
    current: Option<&Pool>,
    subpools: &[String],
    shape: Shape,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let id = &d.poolid;
    let Some(p) = current else {
        return Ok(Plan::unchanged(
            format!("pool '{id}' does not exist"),
            no_view(),
        ));
    };
    if !subpools.is_empty() {
        return Err(Refused(format!(
            "pool '{id}' not deleted: it holds pool {}; PVE deletes only empty pools, so delete those first (state: absent)",
            subpools.join(", ")
        )));
    }
    let mut steps = Vec::new();
    let has_members = !p.vms.is_empty() || !p.storage.is_empty();
    if has_members {
        if !d.remove_members {
            return Err(Refused(format!(
                "pool '{id}' not deleted: it holds {}; PVE deletes only empty pools. Set remove_members: true to take them out first (they stay as they are, in no pool)",
                members_words(&p.vms, &p.storage)
            )));
        }
        let req = with_members(shape.write(true, id).param("delete", 1), &p.vms, &p.storage);
        steps.push(Step::new(
            req,
            Settle::Pool {
                comment: None,
                with: Default::default(),
                without: (p.vms.clone(), p.storage.clone()),
            },
        ));
    }
    steps.push(Step::new(shape.write(false, id), Settle::Absent));
    let mut msg = format!("pool '{id}' {}", verb(check_mode, "deleted"));
    if has_members {
        msg.push_str(&format!(
            " (after taking out {})",
            members_words(&p.vms, &p.storage)
        ));
    }
    // PVE removes the ACL subtree of a top-level pool only: it looks a
    // nested id up as one child of /pool, where it is not.
    if id.contains('/') {
        msg.push_str(&format!(
            "; its ACL entries on /pool/{id} stay (PVE keeps them for nested pools)"
        ));
    } else {
        msg.push_str(" with its ACL entries, as PVE does");
    }
    Ok(Plan::change(steps, msg, view(current), no_view()))
}

/// The pools nested directly in `poolid`, from the ids of `GET /pools`.
pub fn subpools(poolid: &str, all: &[String]) -> Vec<String> {
    let prefix = format!("{poolid}/");
    all.iter()
        .filter(|p| p.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
