//! `pve_group`: the Ansible module that manages one Proxmox VE group, its
//! comment and optionally its members (`pveum group add/modify/delete`, done
//! idempotently through the PVE API).
//!
//! PVE keeps membership on the users: members are added with each user's
//! `PUT /access/users/{userid}` and PVE's own `append` (so the user's other
//! groups are kept, also when another task adds some at the same time), and
//! removed by setting the user's other groups. `members` replaces the member
//! list, or with `append: true` only adds; left out, members are left alone.
//! Every member to add must exist, checked before the first write (check
//! mode assumes a missing one is created by an earlier task, and warns).
//! Deleting a group deletes its ACL entries too (PVE does). The module
//! refuses to remove the user it authenticates as (a token's owner; not
//! root@pam, which needs no group) from a group, or to delete a group it is
//! a member of, unless `allow_self_lockout: true`: that could take away its
//! own privileges.
//!
//! Requests: one `GET /access/groups/{groupid}` for a run that changes
//! nothing; `GET /access/users?full=1` only when members change; then one
//! write for the group and one per member added or removed.
//!
//! ```yaml
//! - name: The operators
//!   pve.access.pve_group:
//!     groupid: operators
//!     comment: on-call operators
//!     members: [alice@pve, bob@pve]
//! ```

pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access;
use pve_api::{self_lockout, ApiError, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Desired, Settle};

/// The options of one object, also those of an item of pve_access.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("groupid").required().aliases(&["name", "group"]),
        Opt::str("comment"),
        Opt::list("members"),
        Opt::bool("append").default(false),
        State::option(),
    ])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options()
        .with([self_lockout::option()])
        .with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let current = access::get_group(&client, &desired.groupid)?;
    let users = if desired.needs_users(current.as_ref()) {
        Some(access::list_users(&client)?)
    } else {
        None
    };
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(&desired, current.as_ref()),
    )?;
    let plan = plan::plan(&desired, current.as_ref(), users.as_deref(), m.check_mode)?;
    let group = GroupResource {
        groupid: desired.groupid,
    };
    carry_out(m, &client, &group, plan)
}

/// The group the task manages, and its members through their users.
pub struct GroupResource {
    pub groupid: String,
}

impl Resource for GroupResource {
    type Settle = Settle;
    const KEY: &'static str = "group";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        Ok(match settle {
            Settle::Member { userid, .. } => {
                settle.member_met_by(&self.groupid, access::get_user(c, userid)?.as_ref())
            }
            other => other.group_met_by(access::get_group(c, &self.groupid)?.as_ref()),
        })
    }

    fn needs(&self, step: &Step<Settle>) -> String {
        match step.settle {
            Settle::Member { .. } => "changing a user's groups needs User.Modify on /access/groups (or on the groups involved)",
            _ => "creating, changing and deleting groups needs Group.Allocate on /access/groups",
        }
        .to_string()
    }
}
