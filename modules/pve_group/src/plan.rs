//! The pure part of pve_group: the task's options, checked, and what to do
//! about them given the group (and, when members change, the users) as the
//! server has them. No I/O here.

use ansible_module::{Params, Value};
use pve_api::access::{merge_list, sorted_unique, Group, User};
use pve_api::assume::{self, Kind, Missing};
use pve_api::self_lockout::Change;
use pve_api::{ids, seg, ApiRequest};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

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
            state: match p.str("state") {
                Some("absent") => State::Absent,
                _ => State::Present,
            },
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

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub req: ApiRequest,
    pub settle: Settle,
}

/// What the run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub changed: bool,
    /// The group before and after (`{}` when it does not exist).
    pub before: Value,
    pub after: Value,
    pub msg: String,
    /// Members assumed to be created by an earlier task (check mode).
    pub warnings: Vec<String>,
}

fn view(group: Option<&Group>) -> Value {
    group.map_or_else(|| Value::Object(Default::default()), Group::to_json)
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
) -> Result<Plan, String> {
    let id = &d.groupid;
    let verb = |done: &str| {
        if check_mode {
            format!("would be {done}")
        } else {
            done.to_string()
        }
    };
    let before = view(current);
    let path = format!("/access/groups/{}", seg(id));

    if d.state == State::Absent {
        let Some(_) = current else {
            return Ok(Plan {
                steps: vec![],
                changed: false,
                before: before.clone(),
                after: before,
                msg: format!("group '{id}' does not exist"),
                warnings: vec![],
            });
        };
        return Ok(Plan {
            steps: vec![Step {
                req: ApiRequest::delete(path),
                settle: Settle::GroupAbsent,
            }],
            changed: true,
            before,
            after: view(None),
            msg: format!(
                "group '{id}' {} (with its ACL entries, as PVE does)",
                verb("deleted")
            ),
            warnings: vec![],
        });
    }

    let mut steps = Vec::new();
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut after = current.cloned().unwrap_or_else(|| Group::new(id));
    match current {
        None => {
            let mut req = ApiRequest::post("/access/groups").param("groupid", id);
            let comment = d.comment.clone().filter(|c| !c.is_empty());
            if let Some(c) = &comment {
                req = req.param("comment", c);
            }
            after.comment = comment.clone();
            steps.push(Step {
                req,
                settle: Settle::Group { comment },
            });
        }
        Some(g) => {
            if let Some(c) = &d.comment {
                let target = (!c.is_empty()).then(|| c.clone());
                if target != g.comment {
                    steps.push(Step {
                        req: ApiRequest::put(&path).param("comment", c),
                        settle: Settle::Group {
                            comment: target.clone(),
                        },
                    });
                    after.comment = target;
                    changes.push("comment".to_string());
                }
            }
        }
    }

    if let Some(target) = d.target_members(current) {
        let have = &after.members;
        let added: Vec<String> = target
            .iter()
            .filter(|m| !have.contains(m))
            .cloned()
            .collect();
        let removed: Vec<String> = have
            .iter()
            .filter(|m| !target.contains(m))
            .cloned()
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            let users = users.unwrap_or_default();
            let find = |u: &str| users.iter().find(|x| x.userid == u);
            let missing: Vec<Missing> = added
                .iter()
                .filter(|u| find(u).is_none())
                .map(|u| Missing::new(Kind::User, u))
                .collect();
            warnings = assume::assume_created(check_mode, &missing, |missing| {
                let names: Vec<String> = missing.iter().map(|u| format!("'{}'", u.id)).collect();
                format!(
                    "group '{id}' not changed: user {} does not exist (or is not visible to this login); create it first, e.g. with pve.access.pve_user",
                    names.join(", ")
                )
            })?;
            for u in &added {
                // PVE's own append: the user's other groups stay as they are.
                steps.push(Step {
                    req: ApiRequest::put(format!("/access/users/{}", seg(u)))
                        .param("groups", id)
                        .param("append", 1),
                    settle: Settle::Member {
                        userid: u.clone(),
                        member: true,
                    },
                });
            }
            for u in &removed {
                let Some(user) = find(u) else {
                    return Err(format!(
                        "group '{id}' not changed: its member '{u}' is not a user this login can see or change (a stale entry in user.cfg?), so it cannot be removed through the user's groups"
                    ));
                };
                // PVE cannot take one group away: the user's other groups are set.
                let rest: Vec<String> = user.groups.iter().filter(|g| *g != id).cloned().collect();
                steps.push(Step {
                    req: ApiRequest::put(format!("/access/users/{}", seg(u)))
                        .param("groups", rest.join(",")),
                    settle: Settle::Member {
                        userid: u.clone(),
                        member: false,
                    },
                });
            }
            let mut what = Vec::new();
            if !added.is_empty() {
                what.push(format!("added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                what.push(format!("removed {}", removed.join(", ")));
            }
            changes.push(format!("members ({})", what.join("; ")));
            after.members = target;
        }
    }

    if steps.is_empty() {
        return Ok(Plan {
            steps,
            changed: false,
            before: before.clone(),
            after: before,
            msg: format!("group '{id}' unchanged"),
            warnings,
        });
    }
    let msg = if current.is_none() {
        let mut m = format!("group '{id}' {}", verb("created"));
        if !after.members.is_empty() {
            m.push_str(&format!(" with members {}", after.members.join(", ")));
        }
        m
    } else {
        format!("group '{id}' {}: {}", verb("updated"), changes.join(", "))
    };
    Ok(Plan {
        steps,
        changed: true,
        before,
        after: after.to_json(),
        msg,
        warnings,
    })
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
