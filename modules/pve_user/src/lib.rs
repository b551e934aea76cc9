//! `pve_user`: the Ansible module that manages one Proxmox VE user (`pveum
//! user add/modify/delete`, done idempotently through the PVE API).
//!
//! Options left out are left as they are: a task that only sets `email`
//! sends only `email`. `groups` replaces the user's groups, or with `append:
//! true` adds to them through PVE's own `append`, so tasks running at the
//! same time do not undo each other; order never matters. The user's API
//! tokens are never touched. Everything is checked before the first write,
//! also in check mode: the userid and its realm, the groups, `expire`,
//! `email`, the password; only a realm or group that does not exist yet is,
//! in check mode, assumed to be created by an earlier task (with a warning).
//! What would take away the access of the login the module runs with (its
//! groups, an expiry coming sooner) is refused unless
//! `allow_self_lockout: true`; deleting or disabling root@pam or that login's
//! own user always is.
//!
//! Passwords (pve realm only) are set on creation; with `update_password:
//! always` the module first tries to log in with it and only changes it
//! (`PUT /access/password`, which needs a password login) when that fails.
//!
//! Requests: one `GET /access/users/{userid}` for a run that changes
//! nothing; `GET /access/domains` only to create, `GET /access/groups` only
//! when the user joins a group; then at most one write for the attributes
//! and one for the password.
//!
//! ```yaml
//! - name: An operator
//!   pve.access.pve_user:
//!     userid: alice@pve
//!     email: alice@example.com
//!     groups: [operators]
//!     append: true
//!     password: "{{ vault_alice_password }}"
//!     expire: 2027-01-31
//! ```

pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access;
use pve_api::{self_lockout, time, ApiError, Client, Identity};
use pve_module::{carry_out, Resource, State, Step};

use plan::{Caller, Current, Desired, Password, Settle};

/// The options of one object, also those of an item of pve_access.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("userid").required().aliases(&["name", "user"]),
        Opt::bool("enable").aliases(&["enabled"]),
        Opt::str("expire"),
        Opt::str("firstname"),
        Opt::str("lastname"),
        Opt::str("email"),
        Opt::str("comment"),
        Opt::list("groups"),
        Opt::bool("append").default(false),
        Opt::str("password").no_log(),
        Opt::str("update_password")
            .choices(&["on_create", "always"])
            .default("on_create")
            .not_secret(),
        State::option(),
    ])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options()
        .with([self_lockout::option()])
        .with(pve_api::connection_options())
}

/// Reads what the plan needs, and nothing more.
fn read(client: &Client, d: &Desired) -> Result<Current, ApiError> {
    let user = access::get_user(client, &d.userid)?;
    let realms = if d.needs_realms(user.as_ref()) {
        Some(access::realms(client)?)
    } else {
        None
    };
    let groups = if d.groups_to_check(user.as_ref()).is_empty() {
        None
    } else {
        Some(
            access::list_groups(client)?
                .into_iter()
                .map(|g| g.groupid)
                .collect(),
        )
    };
    let login_ok = match &d.password {
        Some(pw) if d.needs_login_check(user.as_ref()) => {
            Some(client.check_login(&d.userid, &pw.0)?)
        }
        _ => None,
    };
    Ok(Current {
        user,
        realms,
        groups,
        login_ok,
        now: time::now(),
    })
}

/// Who the module runs as, for the password rules.
pub fn caller(client: &Client, m: &Module) -> Caller {
    let identity = client.identity();
    Caller {
        userid: identity.userid().to_string(),
        token: matches!(identity, Identity::Token { .. }),
        password: match identity {
            Identity::User(_) => m
                .params
                .str("api_password")
                .map(|p| Password(p.to_string())),
            _ => None,
        },
    }
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let current = read(&client, &desired)?;
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(&desired, &current),
    )?;
    let who = caller(&client, m);
    let plan = plan::plan(&desired, &current, &who, m.check_mode)?;
    let user = UserResource {
        userid: desired.userid,
        password: desired.password,
    };
    carry_out(m, &client, &user, plan)
}

/// The user the task manages, and the password it sets.
pub struct UserResource {
    pub userid: String,
    pub password: Option<Password>,
}

impl Resource for UserResource {
    type Settle = Settle;
    const KEY: &'static str = "user";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        match (settle, &self.password) {
            (Settle::Login, Some(pw)) => c.check_login(&self.userid, &pw.0),
            (Settle::Login, None) => Ok(false),
            (other, _) => Ok(other.met_by(access::get_user(c, &self.userid)?.as_ref())),
        }
    }

    fn needs(&self, _: &Step<Settle>) -> String {
        "managing users needs Realm.AllocateUser on /access/realm/<realm> and User.Modify on /access/groups (or on the user's groups)".into()
    }

    fn shown(&self, view: Value) -> Value {
        time::expire_shown(view)
    }
}
