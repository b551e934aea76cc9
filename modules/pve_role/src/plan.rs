//! The pure part of pve_role: the task's options, checked, and what to do
//! about them given the role as the server has it and the server's privilege
//! set. No I/O here; `main.rs` reads, calls [`plan`] and sends the requests.

use ansible_module::{Params, Value};
use pve_api::access::{merge_list, sorted_unique, Role};
use pve_api::privs::{self, Unknown};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, ListChange, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// Advice added to every refusal to change a built-in role.
const CUSTOM_ROLE_HINT: &str =
    "create a custom role (an id not starting with 'PVE') with the privileges you need and grant that one";

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
        let state = State::from_params(p);
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
            return Err(builtin_refusal(&d.roleid, "deleted").0);
        }
        Ok(d)
    }
}

fn builtin_refusal(roleid: &str, verb: &str) -> Refused {
    Refused(format!(
        "role '{roleid}' is built in (PVE generates it) and cannot be {verb}: {CUSTOM_ROLE_HINT}"
    ))
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The role has exactly these privileges (sorted).
    Exactly(Vec<String>),
    /// The role has at least these privileges (append).
    Includes(Vec<String>),
    /// The role does not exist.
    Absent,
}

impl Settle {
    /// Whether `current` is the state the write leads to.
    pub fn met_by(&self, current: Option<&Role>) -> bool {
        match (self, current) {
            (Settle::Absent, None) => true,
            (Settle::Exactly(want), Some(r)) => &r.privs == want,
            (Settle::Includes(want), Some(r)) => want.iter().all(|p| r.privs.contains(p)),
            _ => false,
        }
    }
}

/// Why the task cannot be done; nothing has been written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Privilege names the server does not know (`unknown_privs: fail`);
    /// the message needs the server's version, which the caller fetches.
    UnknownPrivs(Vec<Unknown>),
    /// Anything else.
    Refused(Refused),
}

fn role_path(roleid: &str) -> String {
    format!("/access/roles/{}", seg(roleid))
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
/// wording of `msg`. A plan has at most one write.
pub fn plan(
    d: &Desired,
    current: Option<&Role>,
    valid: &[String],
    check_mode: bool,
) -> Result<Plan, Refusal> {
    let id = &d.roleid;
    if d.state == State::Absent {
        return match current {
            None => Ok(Plan::unchanged(
                format!("role '{id}' does not exist"),
                no_view(),
            )),
            Some(r) if r.special || ids::builtin_role(id) => {
                Err(Refusal::Refused(builtin_refusal(id, "deleted")))
            }
            Some(r) => Ok(Plan::change(
                vec![Step::new(ApiRequest::delete(role_path(id)), Settle::Absent)],
                format!("role '{id}' {}", verb(check_mode, "deleted")),
                r.to_json(),
                no_view(),
            )),
        };
    }
    let (wanted, warnings) = wanted_privs(d, valid)?;
    let plan = match (current, wanted) {
        (None, wanted) => create(id, wanted.unwrap_or_default(), check_mode)?,
        (Some(role), Some(wanted)) => update(d, role, wanted, check_mode)?,
        (Some(role), None) => Plan::unchanged(format!("role '{id}' unchanged"), role.to_json()),
    };
    Ok(plan.with_warnings(warnings))
}

/// The privileges the task names, sorted, without the ones the server does
/// not know (refused, or with `unknown_privs: warn` left out with a
/// warning); `None` when the task names none.
fn wanted_privs(
    d: &Desired,
    valid: &[String],
) -> Result<(Option<Vec<String>>, Vec<String>), Refusal> {
    let Some(given) = &d.privs else {
        return Ok((None, Vec::new()));
    };
    let (known, unknown) = privs::partition(given, valid);
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        if d.unknown_privs == UnknownPrivs::Fail {
            return Err(Refusal::UnknownPrivs(unknown));
        }
        let list: Vec<String> = unknown.iter().map(Unknown::describe).collect();
        warnings.push(format!(
            "left out of role '{}' because this server does not know them (unknown_privs: warn): {}",
            d.roleid,
            list.join(", ")
        ));
    }
    Ok((Some(sorted_unique(known)), warnings))
}

fn create(id: &str, privs: Vec<String>, check_mode: bool) -> Result<Plan, Refusal> {
    if ids::reserved_roleid(id) {
        return Err(Refusal::Refused(Refused(format!(
            "cannot create role '{id}': role ids starting with 'PVE' (in any case) are reserved for PVE's built-in roles; choose another id"
        ))));
    }
    let mut req = ApiRequest::post("/access/roles").param("roleid", id);
    if !privs.is_empty() {
        req = req.param("privs", privs.join(","));
    }
    let msg = format!(
        "role '{id}' {} with {}",
        verb(check_mode, "created"),
        privs_text(&privs)
    );
    let after = Role {
        roleid: id.to_string(),
        privs: privs.clone(),
        special: false,
    };
    Ok(Plan::change(
        vec![Step::new(req, Settle::Exactly(privs))],
        msg,
        no_view(),
        after.to_json(),
    ))
}

fn update(
    d: &Desired,
    role: &Role,
    wanted: Vec<String>,
    check_mode: bool,
) -> Result<Plan, Refusal> {
    let id = &d.roleid;
    let target = merge_list(&role.privs, &wanted, d.append);
    if target == role.privs {
        return Ok(Plan::unchanged(
            format!("role '{id}' unchanged"),
            role.to_json(),
        ));
    }
    if role.special || ids::builtin_role(id) {
        return Err(Refusal::Refused(builtin_refusal(id, "changed")));
    }
    let path = role_path(id);
    // A PUT without `privs` empties the role; `append=1` is PVE's own
    // append, so privileges another task adds meanwhile are kept.
    let step = if d.append {
        Step::new(
            ApiRequest::put(&path)
                .param("privs", wanted.join(","))
                .param("append", 1),
            Settle::Includes(wanted),
        )
    } else if target.is_empty() {
        Step::new(ApiRequest::put(&path), Settle::Exactly(vec![]))
    } else {
        Step::new(
            ApiRequest::put(&path).param("privs", target.join(",")),
            Settle::Exactly(target.clone()),
        )
    };
    let msg = format!(
        "role '{id}' {}: {}",
        verb(check_mode, "updated"),
        ListChange::between(&role.privs, &target).summary()
    );
    let after = Role {
        roleid: id.clone(),
        privs: target,
        special: false,
    };
    Ok(Plan::change(
        vec![step],
        msg,
        role.to_json(),
        after.to_json(),
    ))
}

/// What `plan` takes away from the role, for the self-lockout rule
/// ([`pve_api::self_lockout`]): privileges removed, or all of them with the
/// role.
pub fn lockout_changes(current: Option<&Role>, plan: &Plan) -> Vec<Change> {
    let (Some(role), Some(step)) = (current, plan.steps.first()) else {
        return Vec::new();
    };
    let (removed, deleted) = match &step.settle {
        Settle::Absent => (role.privs.clone(), true),
        Settle::Exactly(target) => (
            role.privs
                .iter()
                .filter(|p| !target.contains(p))
                .cloned()
                .collect(),
            false,
        ),
        Settle::Includes(_) => return Vec::new(),
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
