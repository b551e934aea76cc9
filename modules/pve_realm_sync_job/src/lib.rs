//! `pve_realm_sync_job`: the Ansible module that manages one scheduled
//! realm sync of Proxmox VE (Datacenter > Realms > Realm Sync Jobs;
//! `/cluster/jobs/realm-sync/{id}`, PVE 8.0 and later), idempotently. A
//! one-shot sync is another module's work (`pve_realm_sync`).
//!
//! A job syncs an LDAP or AD realm on a calendar-event `schedule` with the
//! options of a sync (`scope`, `enable_new`, `remove_vanished`), and can be
//! disabled and commented. Options left out are left as they are (PVE's
//! defaults when creating: enabled, new users enabled, nothing removed).
//! The realm of a job cannot change (PVE fixes it at creation): a task that
//! asks for another realm is refused before any write. Before a job is
//! created the realm must exist and be of type `ldap` or `ad` (check mode
//! assumes a missing realm is created by an earlier task, and warns).
//!
//! Requests: one `GET /cluster/jobs/realm-sync/{id}` for a run that changes
//! nothing; `GET /access/domains` before creating; then one write.
//!
//! ```yaml
//! - name: Sync the directory's users every night
//!   pve.access.pve_realm_sync_job:
//!     id: nightly-dir
//!     realm: dir
//!     schedule: "02:30"
//!     scope: users
//!     remove_vanished: [acl, entry]
//! ```

pub mod plan;

use ansible_module::{Failure, Map, Module, Opt, Spec, Value};
use pve_api::{ApiError, Client};
use pve_module::{carry_out, Resource, State, Step};

use plan::{job_path, Desired, Job, Settle, SCOPES, VANISHED};

/// The options of one job.
pub fn options() -> Spec {
    Spec::new([
        Opt::str("id").required().aliases(&["name", "jobid"]),
        Opt::str("realm"),
        Opt::str("schedule"),
        Opt::bool("enabled"),
        Opt::str("comment"),
        Opt::str("scope").choices(&SCOPES),
        Opt::bool("enable_new"),
        Opt::list("remove_vanished").choices(&VANISHED),
        State::option(),
    ])
}

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    options().with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    let client = Client::connect(&m.params)?;
    let current = read_job(&client, &desired.id)?;
    let realm_type = match (&current, desired.state, &desired.job.realm) {
        (None, State::Present, Some(realm)) => realm_type(&client, realm)?,
        _ => None,
    };
    let plan = plan::plan(
        &desired,
        current.as_ref(),
        realm_type.as_deref(),
        m.check_mode,
    )?;
    carry_out(m, &client, &JobResource { id: desired.id }, plan)
}

/// The job, `None` when the server has none of that id (PVE answers 400
/// `No such job` for it).
fn read_job(client: &Client, id: &str) -> Result<Option<Job>, Failure> {
    let path = job_path(id);
    match client.get(&path) {
        Ok(v) => Job::from_json(&v)
            .map(Some)
            .map_err(|e| Failure::new(format!("GET {path}: unexpected answer: {e}"))),
        Err(e) if e.status == Some(400) && e.message.contains("No such job") => Ok(None),
        Err(e) if e.status == Some(501) => Err(Failure::new(format!(
            "{e}: this server has no realm-sync jobs API (PVE has it since 8.0, in /cluster/jobs/realm-sync)"
        ))),
        Err(e) if e.status == Some(403) => Err(Failure::new(format!(
            "{e}. Reading realm-sync jobs needs Sys.Audit on /: grant it to this login or use one that has it"
        ))
        .with("status", 403)),
        Err(e) => Err(e.into()),
    }
}

/// The type of `realm` as `GET /access/domains` lists it.
fn realm_type(client: &Client, realm: &str) -> Result<Option<String>, ApiError> {
    let list = client.get("/access/domains")?;
    Ok(list.as_array().and_then(|items| {
        items
            .iter()
            .find(|r| r["realm"] == realm)
            .and_then(|r| r["type"].as_str())
            .map(str::to_string)
    }))
}

/// The job the task manages.
pub struct JobResource {
    pub id: String,
}

impl Resource for JobResource {
    type Settle = Settle;
    const KEY: &'static str = "job";

    fn settled(&self, c: &Client, settle: &Settle) -> Result<bool, ApiError> {
        let path = job_path(&self.id);
        let now = match c.get(&path) {
            Ok(v) => Some(Job::from_json(&v).map_err(|e| ApiError::unexpected("GET", &path, e))?),
            Err(e) if e.status == Some(400) && e.message.contains("No such job") => None,
            Err(e) => return Err(e),
        };
        Ok(match (settle, now) {
            (Settle::Absent, None) => true,
            (Settle::Job(view), Some(job)) => job.view(&self.id) == *view,
            _ => false,
        })
    }

    fn needs(&self, step: &Step<Settle>) -> String {
        match step.settle {
            Settle::Absent => "deleting realm-sync jobs needs Sys.Modify on /",
            _ if step.request.method.as_str() == "PUT" => {
                "changing a realm-sync job needs Realm.AllocateUser on /access/realm (PVE checks /access/realm/-, so a grant on one realm's path is not enough) and User.Modify on /access/groups"
            }
            _ => "creating a realm-sync job needs Realm.AllocateUser on /access/realm/<realm> and User.Modify on /access/groups",
        }
        .to_string()
    }
}
