//! `pve_permission_info`: the Ansible module that reports the effective
//! Proxmox VE permissions of a user, an API token or the module's own login
//! (`GET /access/permissions`), and with `require` checks that they include
//! what a job needs — the last step of a bootstrap runbook ("the token really
//! holds what it needs").
//!
//! Returns `permissions: {path: {privilege: propagate}}` and, with
//! `require: {path: [privileges]}`, `missing: {path: [privileges]}`; the task
//! fails when anything is missing and names each privilege and path. It never
//! changes anything and runs normally in check mode, where a user or token
//! that does not exist yet is assumed to be created (and granted what it
//! needs) by an earlier task: a warning, not a failure; the real run checks.
//!
//! Requests: one `GET /access/permissions` per path the task names (one
//! without `path` when it names none, or only paths PVE always reports).
//! Only when something is missing are the server's privilege names read
//! (`GET /access/roles/Administrator`, and `GET /version` for the message),
//! to tell typos such as `VM.Config.cpu` apart from privileges really
//! lacking: a held privilege is valid by definition.
//!
//! ```yaml
//! - name: The CI token holds what the deploy job needs
//!   pve.access.pve_permission_info:
//!     tokenid: ci@pve!deploy
//!     require:
//!       /vms/100: [VM.Audit, VM.PowerMgmt, VM.Console]
//!       /storage/local: Datastore.AllocateSpace,Datastore.Audit
//! ```

pub mod plan;

use ansible_module::{json, Failure, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, Permissions};
use pve_api::assume::{self, Kind, Missing};
use pve_api::{Client, Identity};

use plan::{Query, Subject};

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    Spec::new([
        Opt::str("userid"),
        Opt::str("tokenid").not_secret(),
        Opt::str("path"),
        Opt::dict("require"),
    ])
    .mutually_exclusive(&["userid", "tokenid"])
    .with(pve_api::connection_options())
}

/// How messages name the subject.
fn who(subject: &Subject, client: &Client) -> String {
    match subject {
        Subject::User(id) => format!("user '{id}'"),
        Subject::Token(id) => format!("token '{id}'"),
        Subject::Caller => match client.identity() {
            Identity::User(id) => format!("user '{id}' (this login)"),
            Identity::Token { full, .. } => format!("token '{full}' (this login)"),
            Identity::LocalRoot => "root@pam (local pvesh)".to_string(),
        },
    }
}

/// The user or token the task asks about, when the server says it does not
/// exist (`None` when it does, or when this login may not read it).
fn absent_subject(client: &Client, subject: &Subject) -> Option<Missing> {
    let exists = match subject {
        Subject::Caller => return None,
        Subject::User(id) => access::get_user(client, id).map(|u| u.is_some()),
        Subject::Token(id) => match id.split_once('!') {
            Some((user, name)) => access::get_token(client, user, name).map(|t| t.is_some()),
            None => return None,
        },
    };
    match (exists, subject) {
        (Ok(false), Subject::User(id)) => Some(Missing::new(Kind::User, id)),
        (Ok(false), Subject::Token(id)) => Some(Missing::new(Kind::Token, id)),
        _ => None,
    }
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let q = Query::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let mut answers = Permissions::new();
    for path in q.queries() {
        answers.extend(access::permissions(
            &client,
            q.subject.authid(),
            path.as_deref(),
        )?);
    }
    let perms = q.view(&answers);
    let who = who(&q.subject, &client);
    let missing = plan::missing(&q.require, &perms);
    let empty = plan::empty_warning(&q, &perms);
    // PVE answers nothing for an id that does not exist. In check mode an
    // earlier task may create it (and grant it what it needs), so that is
    // no failure there; the real run checks it.
    let assumed = if m.check_mode && (empty.is_some() || !missing.is_empty()) {
        absent_subject(&client, &q.subject)
    } else {
        None
    };
    let mut out = Map::new();
    out.insert("changed".into(), json!(false));
    out.insert("permissions".into(), access::permissions_to_json(&perms));
    if m.params.is_set("require") {
        out.insert("missing".into(), json!(missing));
    }
    if let Some(absent) = assumed {
        for w in assume::assume_created(true, &[absent], |x| {
            format!("{} does not exist", x[0].name())
        })? {
            m.warn(w);
        }
        out.insert("msg".into(), json!(plan::assumed_message(&who)));
        return Ok(out);
    }
    if let Some(w) = empty {
        m.warn(w);
    }
    if missing.is_empty() {
        out.insert("msg".into(), json!(plan::success_message(&who, &q, &perms)));
        return Ok(out);
    }
    // Something is missing: tell typos and other versions' names apart.
    let valid = access::privileges(&client)?;
    let unknown = plan::unknown_names(&missing, &valid);
    let version = if unknown.is_empty() {
        None
    } else {
        access::version(&client).ok()
    };
    let msg = plan::missing_message(&who, &missing, &unknown, version.as_deref(), valid.len());
    let mut f = Failure::new(msg);
    for (k, v) in out {
        if k != "changed" {
            f = f.with(&k, v);
        }
    }
    Err(f)
}
