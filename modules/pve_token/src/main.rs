//! `pve_token`: the Ansible module that manages one API token of a Proxmox
//! VE user (`pveum user token add/modify/remove`, done idempotently through
//! the PVE API).
//!
//! A token's secret is shown by PVE once, when it is created or
//! regenerated; the module returns it then as `secret` and as `api_token`
//! (`user@realm!name=secret`, the form the `api_token` option and
//! Terraform's bpg provider take), and never recreates an existing token
//! just to get one. Without `no_log: true` on the task it warns that the
//! secret is in the result. `regenerate: true` (or `renew_before` with
//! `expire_in`, when due) issues a new secret: with PVE 9.1's `regenerate`
//! parameter, or on older releases by deleting and re-creating the token
//! and re-adding its ACL entries, which PVE drops with the token. It never
//! deletes the token it authenticates with, and regenerates it, turns its
//! privilege separation on or brings its expiry closer only with
//! `allow_self_lockout: true`.
//!
//! Requests: one `GET` of the token, so a run that changes nothing costs
//! one read; a creation also reads the user (it must exist; check mode
//! assumes a missing one is created by an earlier task); a regeneration
//! reads `GET /version` (and, before PVE 9.1, `GET /access/acl`). A creation
//! whose answer, with the secret, is lost in transit is settled by reading
//! the token back and then regenerated at once: no one can hold that secret.
//!
//! ```yaml
//! - name: Token for Terraform, with the permissions of its user
//!   pve.access.pve_token:
//!     userid: terraform@pve
//!     tokenid: terraform
//!     privsep: false
//!   register: token
//!   no_log: true   # the result holds the secret
//! ```

mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, Token};
use pve_api::assume::{self, Kind, Missing};
use pve_api::{self_lockout, time, ApiError, Client};

use plan::{Action, Desired, Server, Settle, State, Step};

fn spec() -> Spec {
    Spec::new([
        Opt::str("userid").aliases(&["user"]),
        Opt::str("tokenid").required().aliases(&["name", "token"]),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default("present"),
        Opt::str("comment"),
        Opt::str("expire"),
        Opt::bool("privsep").aliases(&["privilege_separation"]),
        Opt::bool("regenerate").default(false),
        Opt::str("renew_before"),
        Opt::str("expire_in"),
        self_lockout::option(),
    ])
    .with(pve_api::connection_options())
    .required_together(&["renew_before", "expire_in"])
    .mutually_exclusive(&["expire", "expire_in"])
}

fn main() {
    ansible_module::run("pve_token", spec(), run)
}

fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let d = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    self_lockout::enforce(&client, &m.params, &plan::early_lockout(&d))?;
    let current = access::get_token(&client, &d.id.userid, &d.id.name)?;
    if current.is_none() && d.state == State::Present {
        // For root, a missing user also reads as a missing token.
        let missing: Vec<Missing> = match access::get_user(&client, &d.id.userid)? {
            None => vec![Missing::new(Kind::User, &d.id.userid)],
            Some(_) => vec![],
        };
        let assumed = assume::assume_created(m.check_mode, &missing, |_| {
            format!(
                "user '{}' does not exist: create it first (pve.access.pve_user), then its token '{}'",
                d.id.userid,
                d.full()
            )
        })?;
        for w in assumed {
            m.warn(w);
        }
    }
    let action = plan::decide(&d, current.as_ref(), time::now())?;
    self_lockout::enforce(
        &client,
        &m.params,
        &plan::lockout_changes(&d, current.as_ref(), &action),
    )?;
    let server = if action.needs_version(current.as_ref()) {
        let regenerate = matches!(action, Action::Regenerate(..));
        let server = read_server(&client, &d, regenerate)?;
        if regenerate {
            plan::refuse_recreating_itself(&d, client.identity().authid(), &server)?;
        }
        Some(server)
    } else {
        None
    };
    let plan = plan::plan(&d, current.as_ref(), &action, server.as_ref(), m.check_mode)?;

    let mut progress = Progress::default();
    let applied = if m.check_mode {
        Ok(())
    } else {
        apply(&client, &d, &plan.steps, true, &mut progress)
    };
    let full = d.full();
    if let Some(secret) = &progress.secret {
        m.hide(secret);
    }
    if let Err(mut failure) = applied {
        if progress.writes > 0 {
            failure = failure.with("changed", true);
        }
        if let Some(secret) = progress.secret {
            failure.msg.push_str(
                "; the token's new secret is in this result (secret, api_token): keep it",
            );
            failure = failure
                .with("api_token", format!("{full}={secret}"))
                .with("secret", secret);
        }
        return Err(failure);
    }
    let mut msg = plan.msg;
    if let Some(note) = &progress.note {
        msg.push_str(note);
    }
    let mut out = m.outcome_shown(
        plan.changed,
        msg,
        "token",
        plan.before,
        plan.after,
        &time::expire_shown,
    );
    if let Some(secret) = progress.secret {
        if !m.no_log {
            m.warn(format!(
                "the result holds the secret of token '{full}' (secret, api_token): set no_log: true on this task so that it stays out of Ansible's output and logs"
            ));
        }
        out.insert("api_token".into(), Value::from(format!("{full}={secret}")));
        out.insert("secret".into(), Value::from(secret));
    }
    Ok(out)
}

/// The server's release and, to regenerate without PVE 9.1's `regenerate`
/// (`acl`), the token's ACL entries.
fn read_server(client: &Client, d: &Desired, acl: bool) -> Result<Server, ApiError> {
    let text = access::version(client)?;
    let version = plan::parse_version(&text).ok_or_else(|| {
        ApiError::unexpected("GET", "/version", format!("unknown PVE version '{text}'"))
    })?;
    let mut server = Server {
        version,
        token_acl: Vec::new(),
    };
    if acl && !server.has_regenerate() {
        let full = d.full();
        let entries = access::list_acl(client)?;
        server.token_acl = plan::own_entries(&full, &entries).cloned().collect();
    }
    Ok(server)
}

/// What the writes achieved so far.
#[derive(Default)]
struct Progress {
    /// Writes that were applied.
    writes: usize,
    /// Requests done, for the message of a failure half way.
    done: Vec<String>,
    /// The new secret, once received.
    secret: Option<String>,
    /// Added to `msg`: what happened besides the plan.
    note: Option<String>,
}

/// Sends the steps in order; a lost answer is settled by reading back.
/// `recover`: a creation whose answer (the secret) was lost is regenerated
/// at once.
fn apply(
    client: &Client,
    d: &Desired,
    steps: &[Step],
    recover: bool,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let full = d.full();
    for (i, step) in steps.iter().enumerate() {
        let answer = client
            .send_settled(&step.req, &|c: &Client| settled(c, d, &step.settle))
            .map_err(|e| step_failure(&e, d, &steps[i..], progress))?;
        progress.writes += 1;
        progress
            .done
            .push(format!("{} {}", step.req.method, step.req.path));
        if !step.secret {
            continue;
        }
        match answer.get("value").and_then(Value::as_str) {
            Some(secret) => progress.secret = Some(secret.to_string()),
            None if recover => {
                recover_secret(client, d, progress)?;
                progress.note = Some(
                    "; the answer to the creation was lost in transit, so a new secret was issued at once"
                        .into(),
                );
            }
            None => {
                return Err(Failure::new(plan::lost_secret_message(
                    &full,
                    "lost again while a new one was issued",
                )))
            }
        }
    }
    Ok(())
}

/// Whether the write `settle` describes has happened.
fn settled(c: &Client, d: &Desired, settle: &Settle) -> Result<bool, ApiError> {
    let token = || access::get_token(c, &d.id.userid, &d.id.name);
    Ok(match settle {
        Settle::Absent => token()?.is_none(),
        Settle::Exists => token()?.is_some(),
        Settle::Matches(want) => token()?.as_ref() == Some(want),
        Settle::Resend => false,
        Settle::Acl(want) => {
            let have = access::list_acl(c)?;
            want.iter().all(|e| have.contains(e))
        }
    })
}

/// The token exists but its secret was lost: issue a new one, the way a
/// regeneration does.
fn recover_secret(client: &Client, d: &Desired, progress: &mut Progress) -> Result<(), Failure> {
    let full = d.full();
    let lost = |why: String| Failure::new(plan::lost_secret_message(&full, &why));
    let current: Token = access::get_token(client, &d.id.userid, &d.id.name)
        .map_err(|e| lost(format!("reading it back failed: {e}")))?
        .ok_or_else(|| lost("it has disappeared since".into()))?;
    let server =
        read_server(client, d, true).map_err(|e| lost(format!("issuing a new one failed: {e}")))?;
    let steps = plan::regenerate_steps(&d.id, &current, &current, &server);
    apply(client, d, &steps, false, progress).map_err(|f| {
        if f.msg.contains("PVE never shows a secret again") {
            f
        } else {
            lost(format!("issuing a new one failed: {}", f.msg))
        }
    })
}

/// A failed write: PVE's words, what was done before, what is left undone
/// and what to check when it was a permission.
fn step_failure(e: &ApiError, d: &Desired, rest: &[Step], progress: &Progress) -> Failure {
    let mut f = Failure::from(e.clone());
    if e.status == Some(403) {
        match rest.first().map(|s| &s.settle) {
            // Re-adding the token's ACL entries after it was re-created.
            Some(Settle::Acl(entries)) => f.msg.push_str(&format!(
                " - re-adding the ACL entries of token '{}' needs Permissions.Modify on '{}' (or, on /vms/ID, /storage/ID or /pool/ID, VM.Allocate, Datastore.Allocate or Pool.Allocate with every privilege of the role)",
                d.full(),
                entries.first().map_or("/", |e| e.path.as_str())
            )),
            _ => f.msg.push_str(&format!(
                " - managing the tokens of {} needs User.Modify on its groups (/access/groups), unless you are that user",
                d.id.userid
            )),
        }
    }
    if !progress.done.is_empty() {
        f.msg
            .push_str(&format!("; done before: {}", progress.done.join(", ")));
    }
    let acl: Vec<String> = rest
        .iter()
        .filter_map(|s| match &s.settle {
            Settle::Acl(entries) => Some(entries),
            _ => None,
        })
        .flatten()
        .map(|e| {
            format!(
                "{} {} (propagate {})",
                e.path,
                e.roleid,
                u8::from(e.propagate)
            )
        })
        .collect();
    if !acl.is_empty() {
        f.msg.push_str(&format!(
            "; ACL entries of token '{}' not re-added yet: {}",
            d.full(),
            acl.join(", ")
        ));
    }
    f
}
