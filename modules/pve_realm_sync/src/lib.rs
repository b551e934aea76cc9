//! `pve_realm_sync`: the Ansible module that syncs the users and groups of
//! a Proxmox VE LDAP or Active Directory realm from its directory once
//! (`pveum realm sync`, through the PVE API).
//!
//! PVE runs the sync as a task: the module sends `POST
//! /access/domains/{realm}/sync`, follows the task's UPID
//! (`/nodes/{node}/tasks/{upid}/status`, within `timeout` seconds) and
//! reads its log. PVE's log says `updating` for every user whether
//! anything changed or not, so what was added, updated and removed comes
//! from the realm's users, groups and ACL entries read before and after;
//! `changed` only when they differ. Check mode runs PVE's own dry run
//! (`dry-run: 1`): it shows which users and groups would be added or
//! removed, never which attributes or members would change, and writes
//! nothing. A failed task (a wrong bind password, an unreachable server)
//! fails the module with the task's exit status and log.
//!
//! Checked before the sync is sent: the realm id and `remove_vanished`
//! (before any request), the realm exists and is `ldap` or `ad`, and a
//! scope is given or stored in the realm's `sync-defaults-options`. In
//! check mode a realm that does not exist yet is assumed to be created by
//! an earlier task (with a warning, as every module does): a change is
//! predicted, which no dry run can detail.
//!
//! Requests: `GET /access/domains/{realm}`, the realm's users, groups and
//! ACL (`GET /access/users?full=1`, `/access/groups` and each synced
//! group, `/access/acl`) before and, after a real run, again; the `POST`;
//! the task's status until it stops and its log.
//!
//! ```yaml
//! - name: Sync the company directory
//!   pve.access.pve_realm_sync:
//!     realm: corp
//!     scope: both
//!     remove_vanished: [acl, entry]
//! ```

pub mod plan;

use std::thread;
use std::time::{Duration, Instant};

use ansible_module::{diff_text, json, Failure, Map, Module, Opt, Spec, Value};
use pve_api::assume::{self, Kind, Missing};
use pve_api::{access, seg, ApiError, ApiRequest, Client};

use plan::{Desired, Report, Snapshot, REMOVE_VANISHED};

/// The module's options, as Ansible passes them.
pub fn spec() -> Spec {
    Spec::new([
        Opt::str("realm").required().aliases(&["name"]),
        Opt::str("scope").choices(&["users", "groups", "both"]),
        Opt::bool("enable_new"),
        Opt::list("remove_vanished").choices(&REMOVE_VANISHED),
        Opt::int("timeout").default(300),
    ])
    .with(pve_api::connection_options())
}

/// The module's run, after its options were checked against [`spec`].
pub fn run(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let desired = Desired::from_params(&m.params)?;
    if let Some(w) = desired.warning() {
        m.warn(w);
    }
    let client = Client::connect(&m.params)?;
    let Some(realm) = access::get_realm(&client, &desired.realm)? else {
        let missing = [Missing::new(Kind::Realm, desired.realm.clone())];
        for w in assume::assume_created(m.check_mode, &missing, |_| desired.no_realm())? {
            m.warn(w);
        }
        return Ok(desired.unpredictable());
    };
    desired.check_realm(&realm)?;
    let before = snapshot(&client, &desired.realm)?;
    let dry_run = m.check_mode;
    let upid = client.send(&desired.request(dry_run))?;
    let upid = upid.as_str().unwrap_or_default().to_string();
    let node = plan::upid_node(&upid)
        .ok_or_else(|| {
            Failure::new(format!(
                "PVE answered the sync with '{upid}', not a task's UPID"
            ))
        })?
        .to_string();
    let task = Task { node, upid };
    let exitstatus = task.wait(&client, Duration::from_secs(desired.timeout))?;
    let log = task.log(&client)?;
    let ok = exitstatus == "OK" || exitstatus.starts_with("WARNINGS");
    if !ok {
        return Err(Failure::new(format!(
            "the sync of realm '{}' failed: {exitstatus} (nothing was written; see the task's log)",
            desired.realm
        ))
        .with("changed", false)
        .with("upid", task.upid)
        .with("exitstatus", exitstatus)
        .with("log", log));
    }
    let (report, after) = if dry_run {
        let report = Report::from_dry_run(&log, &before);
        let after = report.predict(&before);
        (report, after)
    } else {
        let after = snapshot(&client, &desired.realm)?;
        (Report::between(&before, &after), after)
    };
    let mut out = Map::new();
    out.insert("changed".into(), json!(report.changed()));
    out.insert("msg".into(), json!(report.message(&desired.realm, dry_run)));
    report.to_result(&mut out);
    out.insert("upid".into(), json!(task.upid));
    out.insert("log".into(), json!(log));
    if m.diff && report.changed() {
        out.insert(
            "diff".into(),
            json!({"before": diff_text(&before.view()), "after": diff_text(&after.view())}),
        );
    }
    Ok(out)
}

/// The realm's users, groups (with members) and the ACL entries naming them.
fn snapshot(client: &Client, realm: &str) -> Result<Snapshot, ApiError> {
    let users = access::list_users(client)?;
    let suffix = format!("-{realm}");
    // The group list has no members: each synced group is read on its own.
    let mut groups = Vec::new();
    for g in access::list_groups(client)? {
        if g.groupid.ends_with(&suffix) {
            groups.extend(access::get_group(client, &g.groupid)?);
        }
    }
    let acl = access::list_acl(client)?;
    Ok(Snapshot::of(realm, &users, &groups, &acl))
}

/// A running PVE task.
struct Task {
    node: String,
    upid: String,
}

impl Task {
    fn path(&self, what: &str) -> String {
        format!(
            "/nodes/{}/tasks/{}/{what}",
            seg(&self.node),
            seg(&self.upid)
        )
    }

    /// Polls the task's status until it stops (at most `timeout`), and
    /// returns its exit status.
    fn wait(&self, client: &Client, timeout: Duration) -> Result<String, Failure> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(50);
        loop {
            let status = client.get(&self.path("status")).map_err(|e| {
                Failure::new(format!(
                    "the sync runs as task {} but its status cannot be read: {e}",
                    self.upid
                ))
                .with("upid", self.upid.clone())
            })?;
            if status["status"] == "stopped" {
                let exit = status["exitstatus"].as_str().unwrap_or("unexpected status");
                return Ok(exit.to_string());
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "the sync task {} still runs after {} s; it goes on on the server: raise timeout, or read the task's log there",
                    self.upid,
                    timeout.as_secs()
                ))
                .with("upid", self.upid.clone()));
            }
            thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// The whole log, a page at a time.
    fn log(&self, client: &Client) -> Result<Vec<String>, ApiError> {
        const PAGE: usize = 500;
        let mut lines = Vec::new();
        loop {
            let req = ApiRequest::get(self.path("log"))
                .param("start", lines.len())
                .param("limit", PAGE);
            let page = client.send(&req)?;
            let page = page.as_array().cloned().unwrap_or_default();
            let n = page.len();
            lines.extend(
                page.iter()
                    .map(|l| l["t"].as_str().unwrap_or_default().to_string()),
            );
            if n < PAGE {
                return Ok(lines);
            }
        }
    }
}
