//! `pve_role`: the Ansible module that manages one Proxmox VE role and its
//! privileges (`pveum role add/modify/delete`, done idempotently through the
//! PVE API).
//!
//! Privilege names are checked against the server's own set (the privileges
//! of the built-in `Administrator` role) before anything is written, also in
//! check mode; a wrong name fails with the closest valid names, the server's
//! PVE version and, for names renamed or removed between versions (such as
//! `VM.Monitor`, gone in PVE 9.0), what to use instead. `unknown_privs: warn`
//! leaves such names out with a warning instead, for playbooks shared by
//! PVE 8 and 9 clusters. Built-in roles are never changed or deleted, and no
//! new role id may start with `PVE`. Removing a privilege from (or deleting)
//! a role that an ACL entry of the login the module runs with uses is
//! refused unless `allow_self_lockout: true`.
//!
//! Requests: one `GET /access/roles`, which holds both the role and the
//! privilege set (the `Administrator` entry), so a run that changes nothing
//! costs one read; then at most one write (`POST` to create, `PUT` to replace
//! or, with `append: true`, PVE's own `append=1`, `DELETE`). `GET /version`
//! is only read to report unknown names; `GET /access/users?full=1` and
//! `GET /access/acl` only when privileges are removed (the self-lockout
//! rule), and not for root@pam.
//!
//! ```yaml
//! - name: A role for the monitoring token
//!   pve.access.pve_role:
//!     roleid: Monitoring
//!     privs: [Sys.Audit, VM.Audit, Datastore.Audit, VM.GuestAgent.Audit]
//!     unknown_privs: warn   # VM.GuestAgent.Audit does not exist on PVE 8
//! ```

pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, Role};
use pve_api::{self_lockout, ApiError, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Desired, Refusal, Settle};

/// The options of one object, also those of an item of pve_access.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("roleid").required().aliases(&["name", "role"]),
        Opt::list("privs").aliases(&["privileges"]),
        Opt::bool("append").default(false),
        Opt::str("unknown_privs")
            .choices(&["fail", "warn"])
            .default("fail"),
        State::option(),
    ])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options()
        .with([self_lockout::option()])
        .with(pve_api::connection_options())
}

/// The role and the server's privilege names from one `GET /access/roles`.
fn read(client: &Client, roleid: &str) -> Result<(Option<Role>, Vec<String>), ApiError> {
    let roles = access::list_roles(client)?;
    let valid = match roles.iter().find(|r| r.roleid == "Administrator") {
        Some(admin) => admin.privs.clone(),
        None => access::privileges(client)?,
    };
    let current = roles.into_iter().find(|r| r.roleid == roleid);
    Ok((current, valid))
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let (current, valid) = read(&client, &desired.roleid)?;
    let plan = match plan::plan(&desired, current.as_ref(), &valid, m.check_mode) {
        Ok(plan) => plan,
        Err(Refusal::Refused(refused)) => return Err(refused.into()),
        Err(Refusal::UnknownPrivs(unknown)) => {
            // The version only makes the message better: without it, still fail.
            let version = access::version(&client).ok();
            return Err(Failure::new(plan::unknown_privs_message(
                &desired.roleid,
                &unknown,
                version.as_deref(),
                valid.len(),
            )));
        }
    };
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(current.as_ref(), &plan),
    )?;
    let role = RoleResource {
        roleid: desired.roleid,
    };
    carry_out(m, &client, &role, plan)
}

/// The role the task manages.
pub struct RoleResource {
    pub roleid: String,
}

impl Resource for RoleResource {
    type Settle = Settle;
    const KEY: &'static str = "role";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        Ok(settle.met_by(access::get_role(c, &self.roleid)?.as_ref()))
    }

    fn needs(&self, _: &Step<Settle>) -> String {
        "creating, changing and deleting roles needs Sys.Modify on /access".into()
    }
}
