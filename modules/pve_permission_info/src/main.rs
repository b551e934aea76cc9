//! `pve_permission_info`: the Ansible module that reports the effective
//! Proxmox VE permissions of a user, an API token or the module's own login
//! (`GET /access/permissions`), and with `require` checks that they include
//! what a job needs — the last step of a bootstrap runbook ("the token really
//! holds what it needs").
//!
//! Returns `permissions: {path: {privilege: propagate}}` and, with
//! `require: {path: [privileges]}`, `missing: {path: [privileges]}`; the task
//! fails when anything is missing and names each privilege and path. It never
//! changes anything and runs normally in check mode.
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

mod plan;

use ansible_module::{json, Failure, Map, Module, Opt, Spec, Value};
use pve_api::access::{self, Permissions};
use pve_api::{Client, Identity};

use plan::{Query, Subject};

fn spec() -> Spec {
    Spec::new([
        Opt::str("userid"),
        Opt::str("tokenid"),
        Opt::str("path"),
        Opt::dict("require"),
    ])
    .mutually_exclusive(&["userid", "tokenid"])
    .with(pve_api::connection_options())
}

fn main() {
    ansible_module::run("pve_permission_info", spec(), run)
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

fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
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
    if let Some(w) = plan::empty_warning(&q, &perms) {
        m.warn(w);
    }
    let missing = plan::missing(&q.require, &perms);
    let mut out = Map::new();
    out.insert("changed".into(), json!(false));
    out.insert("permissions".into(), access::permissions_to_json(&perms));
    if m.params.is_set("require") {
        out.insert("missing".into(), json!(missing));
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
