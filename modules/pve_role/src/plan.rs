//! The pure part of pve_role: the task's options, checked, and what to do
//! about them given the role as the server has it and the server's privilege
//! set. No I/O here; `main.rs` reads, calls [`plan`] and sends the requests.

use ansible_module::{Params, Value};
use pve_api::access::{merge_list, sorted_unique, Role};
use pve_api::privs::{self, Unknown};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, ApiRequest};

/// Advice added to every refusal to change a built-in role.
const CUSTOM_ROLE_HINT: &str =
    "create a custom role (an id not starting with 'PVE') with the privileges you need and grant that one";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

/// What to do with privilege names the server does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownPrivs {
    Fail,
    Warn,
}

/// The task, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub roleid: String,
    /// Privilege names as given (split, duplicates kept); `None` = not given.
    pub privs: Option<Vec<String>>,
    pub append: bool,
    pub state: State,
    pub unknown_privs: UnknownPrivs,
}

impl Desired {
    /// Reads and checks the options; refuses what can be refused without
    /// asking the server (a bad role id, deleting a built-in role).
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let roleid = p.str("roleid").unwrap_or_default().to_string();
        ids::verify_roleid(&roleid).map_err(|e| format!("roleid: {e}"))?;
        let state = match p.str("state") {
            Some("absent") => State::Absent,
            _ => State::Present,
        };
        let unknown_privs = match p.str("unknown_privs") {
            Some("warn") => UnknownPrivs::Warn,
            _ => UnknownPrivs::Fail,
        };
        // One string, or list items that are themselves "A,B" or "A B":
        // pveum's list syntax.
        let privs = match p.get("privs") {
            Some(Value::String(text)) => Some(ids::split_list(text)),
            Some(_) => p.list("privs").map(|items| {
                items
                    .iter()
                    .flat_map(|item| ids::split_list(item))
                    .collect::<Vec<_>>()
            }),
            None => None,
        };
        let d = Desired {
            roleid,
            privs,
            append: p.bool("append").unwrap_or(false),
            state,
            unknown_privs,
        };
        if d.state == State::Absent && ids::builtin_role(&d.roleid) {
            return Err(builtin_refusal(&d.roleid, "deleted"));
        }
        Ok(d)
    }
}

fn builtin_refusal(roleid: &str, verb: &str) -> String {
    format!(
        "role '{roleid}' is built in (PVE generates it) and cannot be {verb}: {CUSTOM_ROLE_HINT}"
    )
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The role has exactly these privileges (sorted).
    Exactly(Vec<String>),
    /// The role has at least these privileges (append).
    Includes(Vec<String>),
    /// The role does not exist.
    Absent,
}

impl Expect {
    /// Whether `current` is the state the write leads to.
    pub fn met_by(&self, current: Option<&Role>) -> bool {
        match (self, current) {
            (Expect::Absent, None) => true,
            (Expect::Exactly(want), Some(r)) => &r.privs == want,
            (Expect::Includes(want), Some(r)) => want.iter().all(|p| r.privs.contains(p)),
            _ => false,
        }
    }
}

/// What the run does: at most one write.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub requests: Vec<ApiRequest>,
    pub expect: Expect,
    pub changed: bool,
    /// The role before and after (`{}` when it does not exist).
    pub before: Value,
    pub after: Value,
    pub msg: String,
    pub warnings: Vec<String>,
}

/// Why the task cannot be done; nothing has been written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Privilege names the server does not know (`unknown_privs: fail`);
    /// the message needs the server's version, which the caller fetches.
    UnknownPrivs(Vec<Unknown>),
    /// Anything else, with its message.
    Refused(String),
}

fn view(role: Option<&Role>) -> Value {
    role.map_or_else(|| Value::Object(Default::default()), Role::to_json)
}

fn privs_text(privs: &[String]) -> String {
    if privs.is_empty() {
        "no privileges".into()
    } else {
        privs.join(", ")
    }
}

/// Plans the task against the role as the server has it (`None` = missing)
/// and the server's privilege names (`valid`). `check_mode` only changes the
/// wording of `msg`.
pub fn plan(
    d: &Desired,
    current: Option<&Role>,
    valid: &[String],
    check_mode: bool,
) -> Result<Plan, Refusal> {
    let id = &d.roleid;
    let verb = |done: &str| {
        if check_mode {
            format!("would be {done}")
        } else {
            done.to_string()
        }
    };
    let before = view(current);
    let unchanged = |msg: String, warnings: Vec<String>| Plan {
        requests: vec![],
        expect: match current {
            Some(r) => Expect::Exactly(r.privs.clone()),
            None => Expect::Absent,
        },
        changed: false,
        before: before.clone(),
        after: before.clone(),
        msg,
        warnings,
    };

    if d.state == State::Absent {
        return match current {
            None => Ok(unchanged(format!("role '{id}' does not exist"), vec![])),
            Some(r) if r.special || ids::builtin_role(id) => {
                Err(Refusal::Refused(builtin_refusal(id, "deleted")))
            }
            Some(_) => Ok(Plan {
                requests: vec![ApiRequest::delete(format!("/access/roles/{}", seg(id)))],
                expect: Expect::Absent,
                changed: true,
                before,
                after: view(None),
                msg: format!("role '{id}' {}", verb("deleted")),
                warnings: vec![],
            }),
        };
    }

    // Privileges: checked against the server before anything is written.
    let mut warnings = Vec::new();
    let wanted = match &d.privs {
        None => None,
        Some(given) => {
            let (known, unknown) = privs::partition(given, valid);
            if !unknown.is_empty() {
                match d.unknown_privs {
                    UnknownPrivs::Fail => return Err(Refusal::UnknownPrivs(unknown)),
                    UnknownPrivs::Warn => {
                        let list: Vec<String> = unknown.iter().map(Unknown::describe).collect();
                        warnings.push(format!(
                            "left out of role '{id}' because this server does not know them (unknown_privs: warn): {}",
                            list.join(", ")
                        ));
                    }
                }
            }
            Some(sorted_unique(known))
        }
    };

    let Some(role) = current else {
        if ids::reserved_roleid(id) {
            return Err(Refusal::Refused(format!(
                "cannot create role '{id}': role ids starting with 'PVE' (in any case) are reserved for PVE's built-in roles; choose another id"
            )));
        }
        let privs = wanted.unwrap_or_default();
        let mut req = ApiRequest::post("/access/roles").param("roleid", id);
        if !privs.is_empty() {
            req = req.param("privs", privs.join(","));
        }
        let after = Role {
            roleid: id.clone(),
            privs: privs.clone(),
            special: false,
        };
        return Ok(Plan {
            requests: vec![req],
            msg: format!(
                "role '{id}' {} with {}",
                verb("created"),
                privs_text(&privs)
            ),
            expect: Expect::Exactly(privs),
            changed: true,
            before,
            after: after.to_json(),
            warnings,
        });
    };

    let Some(wanted) = wanted else {
        return Ok(unchanged(format!("role '{id}' unchanged"), warnings));
    };
    let target = merge_list(&role.privs, &wanted, d.append);
    if target == role.privs {
        return Ok(unchanged(format!("role '{id}' unchanged"), warnings));
    }
    if role.special || ids::builtin_role(id) {
        return Err(Refusal::Refused(builtin_refusal(id, "changed")));
    }
    let path = format!("/access/roles/{}", seg(id));
    // A PUT without `privs` empties the role; `append=1` is PVE's own
    // append, so privileges another task adds meanwhile are kept.
    let (req, expect) = if d.append {
        (
            ApiRequest::put(&path)
                .param("privs", wanted.join(","))
                .param("append", 1),
            Expect::Includes(wanted),
        )
    } else if target.is_empty() {
        (ApiRequest::put(&path), Expect::Exactly(vec![]))
    } else {
        (
            ApiRequest::put(&path).param("privs", target.join(",")),
            Expect::Exactly(target.clone()),
        )
    };
    let added: Vec<String> = target
        .iter()
        .filter(|p| !role.privs.contains(p))
        .cloned()
        .collect();
    let removed: Vec<String> = role
        .privs
        .iter()
        .filter(|p| !target.contains(p))
        .cloned()
        .collect();
    let mut changes = Vec::new();
    if !added.is_empty() {
        changes.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        changes.push(format!("removed {}", removed.join(", ")));
    }
    let after = Role {
        roleid: id.clone(),
        privs: target,
        special: false,
    };
    Ok(Plan {
        requests: vec![req],
        expect,
        changed: true,
        before,
        after: after.to_json(),
        msg: format!("role '{id}' {}: {}", verb("updated"), changes.join("; ")),
        warnings,
    })
}

/// What `plan` takes away from the role, for the self-lockout rule
/// ([`pve_api::self_lockout`]): privileges removed, or all of them with the
/// role.
pub fn lockout_changes(current: Option<&Role>, plan: &Plan) -> Vec<Change> {
    let Some(role) = current.filter(|_| plan.changed) else {
        return Vec::new();
    };
    let (removed, deleted) = match &plan.expect {
        Expect::Absent => (role.privs.clone(), true),
        Expect::Exactly(target) => (
            role.privs
                .iter()
                .filter(|p| !target.contains(p))
                .cloned()
                .collect(),
            false,
        ),
        Expect::Includes(_) => return Vec::new(),
    };
    if removed.is_empty() {
        return Vec::new();
    }
    vec![Change::RolePrivs {
        roleid: role.roleid.clone(),
        removed,
        deleted,
    }]
}

/// The failure for unknown privilege names (`unknown_privs: fail`), with the
/// server's version when it could be read.
pub fn unknown_privs_message(
    roleid: &str,
    unknown: &[Unknown],
    version: Option<&str>,
    valid_count: usize,
) -> String {
    format!(
        "role '{roleid}' not changed: {}. Fix the names, or set unknown_privs: warn to leave out names a server does not know (for playbooks shared by PVE 8 and 9 clusters)",
        privs::unknown_message(unknown, version, valid_count)
    )
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
