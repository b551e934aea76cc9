//! `/nodes/{node}/tasks` (pve-manager `API2/Tasks.pm`, read, not run: the
//! oracle does not serve it): the node's tasks, a task's status and its log,
//! over [`crate::tasks::Tasks`].
//!
//! Anyone may call them; a task is the caller's own when it started it, or
//! when a token of the caller's started it. Another's task needs
//! `Sys.Audit` on `/nodes/<node>` (the list then shows it, status and log
//! answer 403 without it). The node is this one or `localhost`; PVE would
//! proxy any other name to that cluster node, which pve-sim has not (the
//! index of a task's subdirectories is answered for any node, as PVE does).

use serde_json::{json, Map, Value};

use super::checks::Checker;
use super::errors::{ApiError, ApiResult};
use super::Call;
use crate::ids;
use crate::tasks::{Task, Upid};

/// The schema of these endpoints, in the shape of the access API's.
pub const SCHEMA: &str = include_str!("../../data/tasks-pve.json");

/// The `{node}` of the path, when it is this node (PVE proxies the call to
/// any other; a name no cluster node has fails to resolve).
fn check_node<'c>(call: &'c Call) -> ApiResult<&'c str> {
    let node = call.param("node").unwrap_or_default();
    if node == call.tasks().node() || node == "localhost" {
        return Ok(node);
    }
    Err(ApiError::die(format!(
        "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known\n"
    )))
}

/// `user` and `tokenid` of a task, as PVE splits a token's full id.
fn owner(upid: &Upid) -> (String, Option<String>) {
    match ids::split_tokenid(&upid.user) {
        Ok((user, token)) => (user, Some(token)),
        Err(_) => (upid.user.clone(), None),
    }
}

/// Whether `authid` started the task, or is the user whose token did.
fn owns(authid: &str, upid: &Upid) -> bool {
    let (user, token) = owner(upid);
    authid == upid.user || (token.is_some() && authid == user)
}

/// The UPID of the path, parsed, and the caller's right to see its task.
fn checked_upid(call: &Call, node: &str) -> ApiResult<Upid> {
    let upid = Upid::parse(call.param("upid").unwrap_or_default())
        .ok_or_else(|| ApiError::param1("upid", "unable to parse worker upid"))?;
    if !owns(call.authid(), &upid) {
        call.store().read(|s| {
            Checker::new(&s.cfg, call.authid()).check(&format!("/nodes/{node}"), &["Sys.Audit"])
        })?;
    }
    Ok(upid)
}

/// The fields of the UPID, as PVE decodes them.
fn decoded(upid: &Upid) -> Map<String, Value> {
    let (user, tokenid) = owner(upid);
    let mut m = Map::new();
    m.insert("upid".into(), json!(upid.to_string()));
    m.insert("node".into(), json!(upid.node));
    m.insert("pid".into(), json!(upid.pid));
    m.insert("pstart".into(), json!(upid.pstart));
    m.insert("starttime".into(), json!(upid.starttime));
    m.insert("type".into(), json!(upid.kind));
    m.insert("id".into(), json!(upid.id));
    m.insert("user".into(), json!(user));
    if let Some(t) = tokenid {
        m.insert("tokenid".into(), json!(t));
    }
    m
}

/// `GET /nodes/{node}/tasks/{upid}`: the index of a task's subdirectories,
/// the same for any node and UPID (PVE does not proxy it).
pub fn index(_call: &Call) -> ApiResult<Value> {
    Ok(json!([{"name": "log"}, {"name": "status"}]))
}

/// The task of the path; PVE's check is whether its log file exists.
fn existing(call: &Call) -> ApiResult<std::sync::Arc<Task>> {
    call.tasks()
        .get(call.param("upid").unwrap_or_default())
        .ok_or_else(|| ApiError::param1("upid", "no such task"))
}

/// `GET /nodes/{node}/tasks/{upid}/status`: `running` until the task has
/// ended, then `stopped` with its `exitstatus`.
pub fn status(call: &Call) -> ApiResult<Value> {
    let node = check_node(call)?;
    let upid = Upid::parse(call.param("upid").unwrap_or_default())
        .ok_or_else(|| ApiError::param1("upid", "unable to parse worker upid"))?;
    let task = existing(call)?;
    checked_upid(call, node)?;
    let status = task.status();
    let mut m = decoded(&upid);
    m.insert(
        "status".into(),
        json!(if status.running { "running" } else { "stopped" }),
    );
    if let Some(e) = status.exitstatus {
        m.insert("exitstatus".into(), json!(e));
    }
    Ok(Value::Object(m))
}

/// An integer parameter (validated by the schema) or its default.
fn number(call: &Call, name: &str, default: i64) -> i64 {
    call.param(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `GET /nodes/{node}/tasks/{upid}/log`: lines `start` + 1 on, `limit` of
/// them (0: all), numbered from 1, with `total` (lines in the log) beside
/// `data`, as `PVE::Tools::dump_logfile` reads a log file.
pub fn log(call: &Call) -> ApiResult<Value> {
    let node = check_node(call)?;
    checked_upid(call, node)?;
    let Some(task) = existing(call).ok() else {
        call.set_result_attrib("total", json!(1));
        return Ok(json!([{"n": 1, "t": "unable to open file - No such file or directory"}]));
    };
    let start = number(call, "start", 0);
    let limit = number(call, "limit", 50);
    let lines = task.lines();
    let mut out: Vec<Value> = lines
        .iter()
        .enumerate()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(if limit == 0 {
            usize::MAX
        } else {
            usize::try_from(limit).unwrap_or(usize::MAX)
        })
        .map(|(i, t)| json!({"n": i + 1, "t": t}))
        .collect();
    let mut total = lines.len();
    if total == 0 {
        // ExtJS needs a line, so PVE makes one up.
        total = 1;
        out.push(json!({"n": 1, "t": "no content"}));
    }
    call.set_result_attrib("total", json!(total));
    Ok(Value::Array(out))
}

/// `upid_normalize_status_type`.
fn status_type(exitstatus: Option<&str>) -> &'static str {
    match exitstatus {
        None | Some("") | Some("unexpected status") => "unknown",
        Some("OK") => "ok",
        Some(s)
            if s.strip_prefix("WARNINGS: ")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) =>
        {
            "warning"
        }
        Some(_) => "error",
    }
}

/// `GET /nodes/{node}/tasks`: the finished tasks (`source` `archive`),
/// the running ones (`active`) or both (`all`, running first), the most
/// recently finished first, of the caller or, with `Sys.Audit` on the
/// node, of everyone; filtered, then `start` skipped and `limit` listed,
/// with `total` counting every match.
pub fn list(call: &Call) -> ApiResult<Value> {
    let node = check_node(call)?;
    let authid = call.authid();
    let auditor = call
        .store()
        .read(|s| Checker::new(&s.cfg, authid).has_all(&format!("/nodes/{node}"), &["Sys.Audit"]));
    let start = number(call, "start", 0);
    let mut limit = number(call, "limit", 50);
    let errors = call.truthy("errors");
    let statuses: Vec<String> = match call.param("statusfilter") {
        Some(f) if !errors => ids::split_list(f)
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        _ => ["ok", "warning", "error", "unknown"]
            .into_iter()
            .filter(|s| !(errors && *s == "ok"))
            .map(String::from)
            .collect(),
    };
    let userfilter = call.param("userfilter").map(str::to_lowercase);
    let source = call.param("source").unwrap_or("archive");

    let mut tasks = call.tasks().all();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.status().endtime));
    let (running, finished): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.status().running);
    let mut chosen = Vec::new();
    if source != "archive" {
        chosen.extend(running);
    }
    if source != "active" {
        chosen.extend(finished);
    }

    let mut count = 0;
    let mut res = Vec::new();
    for task in chosen {
        let upid = &task.upid;
        let status = task.status();
        let (user, _) = owner(upid);
        let shown = userfilter
            .as_deref()
            .is_none_or(|f| user.to_lowercase().contains(f))
            && (auditor || owns(authid, upid))
            && call.param("typefilter").is_none_or(|t| t == upid.kind)
            && call.param("vmid").is_none_or(|v| v == upid.id)
            && call
                .param("since")
                .is_none_or(|s| upid.starttime >= s.parse().unwrap_or(i64::MIN))
            && call
                .param("until")
                .is_none_or(|u| upid.starttime <= u.parse().unwrap_or(i64::MAX))
            && statuses
                .iter()
                .any(|s| s == status_type(status.exitstatus.as_deref()));
        if !shown {
            continue;
        }
        count += 1;
        if count <= start || limit <= 0 {
            continue;
        }
        limit -= 1;
        let mut m = decoded(upid);
        match (status.endtime, status.exitstatus) {
            (Some(end), Some(exit)) => {
                m.insert("endtime".into(), json!(end));
                m.insert("status".into(), json!(exit));
            }
            _ => {
                m.insert("status".into(), json!("RUNNING"));
            }
        }
        res.push(Value::Object(m));
    }
    call.set_result_attrib("total", json!(count));
    Ok(Value::Array(res))
}
