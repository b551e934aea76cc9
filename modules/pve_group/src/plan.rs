//! The pure part of pve_group: the task's options, checked, and what to do
//! about them given the group (and, when members change, the users) as the
//! server has them. No I/O here.

use ansible_module::{Params, Value};
use pve_api::access::{merge_list, sorted_unique, Group, User};
use pve_api::assume::{self, Kind, Missing};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, ApiRequest};
pub use pve_module::State;
use pve_module::{no_view, verb, ListChange, Refused};

pub type Step = pve_module::Step<Settle>;
pub type Plan = pve_module::Plan<Settle>;

/// The task, validated. `None` = not given: left as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub groupid: String,
    pub comment: Option<String>,
    /// User ids, sorted, without duplicates.
    pub members: Option<Vec<String>>,
    pub append: bool,
    pub state: State,
}

impl Desired {
    /// Reads and checks the options before any request.
    pub fn from_params(p: &Params) -> Result<Desired, String> {
        let groupid = p.str("groupid").unwrap_or_default().to_string();
        ids::verify_groupid(&groupid).map_err(|e| format!("groupid: {e}"))?;
        if let Some(c) = p.str("comment") {
            let len = c.chars().count();
            if len > 2048 {
                return Err(format!(
                    "comment is too long ({len} characters, PVE allows at most 2048)"
                ));
            }
        }
        let members = match p.list("members") {
            Some(items) => {
                let members: Vec<String> = items
                    .iter()
                    .flat_map(|item| ids::split_list(item))
                    .collect();
                for m in &members {
                    ids::parse_userid(m).map_err(|e| format!("members: {e}"))?;
                }
                Some(sorted_unique(members))
            }
            None => None,
        };
        Ok(Desired {
            groupid,
            comment: p.str("comment").map(str::to_string),
            members,
            append: p.bool("append").unwrap_or(false),
            state: State::from_params(p),
        })
    }

    /// The members the group ends up with, when `members` is given.
    fn target_members(&self, current: Option<&Group>) -> Option<Vec<String>> {
        let have = current.map(|g| g.members.as_slice()).unwrap_or_default();
        self.members
            .as_ref()
            .map(|wanted| merge_list(have, wanted, self.append))
    }

    /// Whether the users must be read: only when membership changes.
    pub fn needs_users(&self, current: Option<&Group>) -> bool {
        if self.state == State::Absent {
            return false;
        }
        let have = current.map(|g| g.members.as_slice()).unwrap_or_default();
        self.target_members(current)
            .is_some_and(|t| t.as_slice() != have)
    }
}

/// How to tell, after a write whose answer was lost, whether it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The group does not exist.
    GroupAbsent,
    /// The group exists with this comment.
    Group { comment: Option<String> },
    /// The user is (or is not) a member of the group.
    Member { userid: String, member: bool },
}

impl Settle {
    /// For `Member`: whether `user` (as read back) is in the state the write leads to.
    pub fn member_met_by(&self, groupid: &str, user: Option<&User>) -> bool {
        match self {
            Settle::Member { member, .. } => {
                user.is_some_and(|u| u.groups.iter().any(|g| g == groupid)) == *member
            }
            _ => false,
        }
    }

    /// For `Group*`: whether `group` (as read back) is in the state the write leads to.
    pub fn group_met_by(&self, group: Option<&Group>) -> bool {
        match (self, group) {
            (Settle::GroupAbsent, None) => true,
            (Settle::Group { comment }, Some(g)) => &g.comment == comment,
            _ => false,
        }
    }
}

fn view(group: Option<&Group>) -> Value {
    group.map_or_else(no_view, Group::to_json)
}

fn group_path(groupid: &str) -> String {
    format!("/access/groups/{}", seg(groupid))
}

/// What the task takes away from users, for the self-lockout rule
/// ([`pve_api::self_lockout`]): the group itself, or members it loses.
pub fn lockout_changes(d: &Desired, current: Option<&Group>) -> Vec<Change> {
    let Some(g) = current else {
        return Vec::new();
    };
    if d.state == State::Absent {
        return vec![Change::GroupDeleted {
            group: g.groupid.clone(),
            members: g.members.clone(),
        }];
    }
    let target = d
        .target_members(current)
        .unwrap_or_else(|| g.members.clone());
    g.members
        .iter()
        .filter(|m| !target.contains(m))
        .map(|m| Change::Membership {
            userid: m.clone(),
            group: g.groupid.clone(),
        })
        .collect()
}

/// Plans the task. `users` are the server's users (read when
/// [`Desired::needs_users`]); a member to add that is not among them is
/// refused, or in check mode assumed to be created by an earlier task.
pub fn plan(
    d: &Desired,
    current: Option<&Group>,
    users: Option<&[User]>,
    check_mode: bool,
) -> Result<Plan, Refused> {
    let id = &d.groupid;
    let before = view(current);
    if d.state == State::Absent {
        return Ok(match current {
            None => Plan::unchanged(format!("group '{id}' does not exist"), before),
            Some(_) => Plan::change(
                vec![Step::new(
                    ApiRequest::delete(group_path(id)),
                    Settle::GroupAbsent,
                )],
                format!(
                    "group '{id}' {} (with its ACL entries, as PVE does)",
                    verb(check_mode, "deleted")
                ),
                before,
                no_view(),
            ),
        });
    }

    let mut after = current.cloned().unwrap_or_else(|| Group::new(id));
    let mut steps = Vec::new();
    let mut changes = Vec::new();
    if let Some(step) = group_step(d, current, &mut after) {
        if current.is_some() {
            changes.push("comment".to_string());
        }
        steps.push(step);
    }
    let mut warnings = Vec::new();
    if let Some(target) = d.target_members(current) {
        let members = member_steps(d, &after.members, &target, users, check_mode)?;
        warnings = members.warnings;
        if !members.steps.is_empty() {
            steps.extend(members.steps);
            changes.push(format!("members ({})", members.summary));
            after.members = target;
        }
    }

    if steps.is_empty() {
        return Ok(
            Plan::unchanged(format!("group '{id}' unchanged"), before).with_warnings(warnings)
        );
    }
    let msg = if current.is_none() {
        let mut m = format!("group '{id}' {}", verb(check_mode, "created"));
        if !after.members.is_empty() {
            m.push_str(&format!(" with members {}", after.members.join(", ")));
        }
        m
    } else {
        format!(
            "group '{id}' {}: {}",
            verb(check_mode, "updated"),
            changes.join(", ")
        )
    };
    Ok(Plan::change(steps, msg, before, after.to_json()).with_warnings(warnings))
}

/// The creation of the group, or the change of its comment; `after` gets
/// what the write leads to.
fn group_step(d: &Desired, current: Option<&Group>, after: &mut Group) -> Option<Step> {
    let Some(g) = current else {
        let mut req = ApiRequest::post("/access/groups").param("groupid", &d.groupid);
        let comment = d.comment.clone().filter(|c| !c.is_empty());
        if let Some(c) = &comment {
            req = req.param("comment", c);
        }
        after.comment = comment.clone();
        return Some(Step::new(req, Settle::Group { comment }));
    };
    let c = d.comment.as_ref()?;
    let target = (!c.is_empty()).then(|| c.clone());
    if target == g.comment {
        return None;
    }
    after.comment = target.clone();
    Some(Step::new(
        ApiRequest::put(group_path(&d.groupid)).param("comment", c),
        Settle::Group { comment: target },
    ))
}

/// The writes that turn the members `have` into `target`, through the users.
struct MemberSteps {
    steps: Vec<Step>,
    /// "added a, b; removed c", for the message.
    summary: String,
    /// Members assumed to be created by an earlier task (check mode).
    warnings: Vec<String>,
}

fn member_steps(
    d: &Desired,
    have: &[String],
    target: &[String],
    users: Option<&[User]>,
    check_mode: bool,
) -> Result<MemberSteps, Refused> {
    let id = &d.groupid;
    let change = ListChange::between(have, target);
    let users = users.unwrap_or_default();
    let find = |u: &str| users.iter().find(|x| x.userid == u);
    let missing: Vec<Missing> = change
        .added
        .iter()
        .filter(|u| find(u).is_none())
        .map(|u| Missing::new(Kind::User, *u))
        .collect();
    let warnings = assume::assume_created(check_mode, &missing, |missing| {
        let names: Vec<String> = missing.iter().map(|u| format!("'{}'", u.id)).collect();
        format!(
            "group '{id}' not changed: user {} does not exist (or is not visible to this login); create it first, e.g. with pve.access.pve_user",
            names.join(", ")
        )
    })
    .map_err(Refused)?;
    let mut steps = Vec::new();
    for u in &change.added {
        // PVE's own append: the user's other groups stay as they are.
        steps.push(Step::new(
            ApiRequest::put(format!("/access/users/{}", seg(u)))
                .param("groups", id)
                .param("append", 1),
            Settle::Member {
                userid: u.to_string(),
                member: true,
            },
        ));
    }
    for u in &change.removed {
        let Some(user) = find(u) else {
            return Err(Refused(format!(
                "group '{id}' not changed: its member '{u}' is not a user this login can see or change (a stale entry in user.cfg?), so it cannot be removed through the user's groups"
            )));
        };
        // PVE cannot take one group away: the user's other groups are set.
        let rest: Vec<&str> = user
            .groups
            .iter()
            .filter(|g| *g != id)
            .map(String::as_str)
            .collect();
        steps.push(Step::new(
            ApiRequest::put(format!("/access/users/{}", seg(u))).param("groups", rest.join(",")),
            Settle::Member {
                userid: u.to_string(),
                member: false,
            },
        ));
    }
    Ok(MemberSteps {
        steps,
        summary: change.summary(),
        warnings,
    })
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
