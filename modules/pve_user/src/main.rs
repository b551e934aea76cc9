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

mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access;
use pve_api::{self_lockout, time, ApiError, Client, Identity};

use plan::{Caller, Current, Desired, Password, Settle};

fn spec() -> Spec {
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
            .default("on_create"),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default("present"),
        self_lockout::option(),
    ])
    .with(pve_api::connection_options())
}

fn main() {
    ansible_module::run("pve_user", spec(), run)
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

fn caller(client: &Client, m: &Module) -> Caller {
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

fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let current = read(&client, &desired)?;
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(&desired, &current),
    )?;
    let who = caller(&client, m);
    let plan = plan::plan(&desired, &current, &who, m.check_mode).map_err(Failure::new)?;
    for w in &plan.warnings {
        m.warn(w.clone());
    }
    for step in &plan.steps {
        client.check_sendable(&step.req)?;
    }
    if !m.check_mode {
        let mut done: Vec<String> = Vec::new();
        for step in &plan.steps {
            let userid = desired.userid.clone();
            let password = desired.password.clone();
            let settle = step.settle.clone();
            let sent = client.send_settled(&step.req, &move |c: &Client| match &settle {
                Settle::Login => match &password {
                    Some(pw) => c.check_login(&userid, &pw.0),
                    None => Ok(false),
                },
                other => Ok(other.met_by(access::get_user(c, &userid)?.as_ref())),
            });
            if let Err(e) = sent {
                return Err(write_failure(&e, &done));
            }
            done.push(format!("{} {}", step.req.method, step.req.path));
        }
    }
    Ok(m.outcome_shown(
        plan.changed,
        plan.msg,
        "user",
        plan.before,
        plan.after,
        &time::expire_shown,
    ))
}

/// A failed write: PVE's words, what to check for a permission, and what
/// was already done.
fn write_failure(e: &ApiError, done: &[String]) -> Failure {
    let mut f = Failure::from(e.clone());
    if e.status == Some(403) {
        f.msg.push_str(
            " - managing users needs Realm.AllocateUser on /access/realm/<realm> and User.Modify on /access/groups (or on the user's groups)",
        );
    }
    if !done.is_empty() {
        f.msg
            .push_str(&format!(" (already done: {})", done.join(", ")));
        f = f.with("changed", true);
    }
    f
}
