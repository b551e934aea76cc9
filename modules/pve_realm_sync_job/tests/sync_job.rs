//! pve_realm_sync_job against pve-sim (PVE 9.1 and 8.4): the module binary
//! run the way Ansible runs it, the server's state read from the `jobs.cfg`
//! it saved and from its request log.
//!
//! pve-oracle does not route `/cluster` (it runs PVE's access-control code
//! behind a reduced `PVE::API2`, docs/realm-sync.md), so with
//! `PVE_TEST_SERVER=pve-oracle` these tests skip and say so; pve-sim's jobs
//! API is held to the real code by `pve-sim/tests/api_sync_jobs.rs`.

use pve_test_support::{diff_view, module_under_test, msg, with_api_token, Server, Sim};
use serde_json::{json, Value};

const SECRET: &str = "7d1e0c4b-93a2-4f5e-b6c8-2a1d3e4f5b60";

/// root@pam, and `ops@pve` with a token `ci` that may audit everything and
/// allocate users of realm `dir` only.
const USERS: &str = "user:root@pam:1:0:::root@localhost:::\nuser:ops@pve:1:0::::::\ntoken:ops@pve!ci:0:0::\n\nacl:1:/:ops@pve:PVEAuditor:\nacl:1:/access/realm/dir:ops@pve:PVEUserAdmin:\nacl:1:/access/groups:ops@pve:PVEUserAdmin:\n";
/// An LDAP realm `dir`, an AD realm `corp`, and the built-in ones.
const DOMAINS: &str = "pam: pam\n\tcomment Linux PAM standard authentication\n\npve: pve\n\tcomment Proxmox VE authentication server\n\nldap: dir\n\tbase_dn dc=pve-access,dc=test\n\tserver1 127.0.0.1\n\tuser_attr uid\n\nad: corp\n\tdomain corp.test\n\tserver1 127.0.0.1\n\n";

module_under_test!("pve_realm_sync_job");

/// A pve-sim with the realms, or `None` (said on stderr) on pve-oracle.
fn server(version: &str, faults: &[Value]) -> Option<Sim> {
    if Server::from_env() == Server::PveOracle {
        eprintln!(
            "skipped on pve-oracle: it has no /cluster/jobs/realm-sync (PVE's access-control code only)"
        );
        return None;
    }
    let mut b = Sim::builder(version)
        .user_cfg(USERS)
        .token_cfg(&format!("ops@pve!ci {SECRET}\n"))
        .domains_cfg(DOMAINS);
    for f in faults {
        b = b.fault(f.clone());
    }
    Some(b.start())
}

/// The server's jobs.cfg, read from its state directory.
fn jobs_cfg(sim: &Sim) -> String {
    std::fs::read_to_string(sim.state_dir.join("jobs.cfg")).unwrap_or_default()
}

/// The section of job `id` in jobs.cfg, `""` when there is none.
fn section(sim: &Sim, id: &str) -> String {
    let text = jobs_cfg(sim);
    text.split("\n\n")
        .find(|s| s.starts_with(&format!("realm-sync: {id}\n")))
        .map(|s| format!("{s}\n"))
        .unwrap_or_default()
}

fn lifecycle(version: &str) {
    let Some(sim) = server(version, &[]) else {
        return;
    };
    let task = json!({"id": "nightly", "realm": "dir", "schedule": "mon..fri 02:30",
        "scope": "users", "comment": "from LDAP", "remove_vanished": ["entry", "acl"]});

    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "realm-sync job 'nightly' created");
    assert_eq!(
        r["job"],
        json!({"id": "nightly", "realm": "dir", "schedule": "mon..fri 02:30", "scope": "users",
               "comment": "from LDAP", "enabled": true, "enable_new": true,
               "remove_vanished": ["acl", "entry"]})
    );
    assert_eq!(
        sim.api_calls(),
        [
            "GET /cluster/jobs/realm-sync/nightly",
            "GET /access/domains",
            "POST /cluster/jobs/realm-sync/nightly"
        ]
    );
    assert_eq!(
        section(&sim, "nightly"),
        "realm-sync: nightly\n\tcomment from LDAP\n\trealm dir\n\tschedule mon..fri 02:30\n\tscope users\n\tremove-vanished acl;entry\n"
    );

    // Second run: one GET, nothing written.
    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /cluster/jobs/realm-sync/nightly"]);

    // Update some options; PVE wants the schedule on every PUT.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"name": "nightly", "enabled": false, "remove_vanished": [], "comment": ""}),
    );
    assert_eq!(
        r["msg"],
        "realm-sync job 'nightly' updated: comment, enabled, remove-vanished"
    );
    assert_eq!(sim.writes(), ["PUT /cluster/jobs/realm-sync/nightly"]);
    assert_eq!(
        section(&sim, "nightly"),
        "realm-sync: nightly\n\trealm dir\n\tschedule mon..fri 02:30\n\tscope users\n\tenabled 0\n\tremove-vanished none\n"
    );
    let r = ok(
        &sim,
        json!({"jobid": "nightly", "enabled": false, "remove_vanished": []}),
    );
    assert_eq!(r["changed"], false);

    // An AD realm works too.
    ok(
        &sim,
        json!({"id": "corp-groups", "realm": "corp", "schedule": "sat 03:00", "scope": "groups", "enable_new": false}),
    );
    assert!(section(&sim, "corp-groups")
        .contains("\trealm corp\n\tschedule sat 03:00\n\tscope groups\n\tenable-new 0\n"));

    // Absent, twice.
    sim.clear_requests();
    let r = ok(&sim, json!({"id": "nightly", "state": "absent"}));
    assert_eq!(r["changed"], true);
    assert_eq!(r["job"], json!({}));
    assert_eq!(sim.writes(), ["DELETE /cluster/jobs/realm-sync/nightly"]);
    assert_eq!(section(&sim, "nightly"), "");
    let r = ok(&sim, json!({"id": "nightly", "state": "absent"}));
    assert_eq!(r["changed"], false);
    assert_ne!(section(&sim, "corp-groups"), "");
}

#[test]
fn lifecycle_pve91() {
    lifecycle("9.1");
}

#[test]
fn lifecycle_pve84() {
    lifecycle("8.4");
}

/// Check mode (with diff) predicts the real run, and writes nothing; the
/// job the module reports is the one the server then holds.
fn check_mode_predicts_the_real_run(version: &str) {
    let Some(sim) = server(version, &[]) else {
        return;
    };
    let steps = [
        json!({"id": "hourly-dir", "realm": "dir", "schedule": "hourly", "scope": "both"}),
        json!({"id": "hourly-dir", "realm": "dir", "schedule": "hourly", "scope": "both"}),
        json!({"id": "hourly-dir", "schedule": "*/15", "enable_new": false, "comment": "quarter"}),
        json!({"id": "hourly-dir", "remove_vanished": ["properties"], "scope": "users"}),
        json!({"id": "hourly-dir", "state": "absent"}),
    ];
    for args in steps {
        let mut check = args.clone();
        check["_ansible_check_mode"] = json!(true);
        check["_ansible_diff"] = json!(true);
        sim.clear_requests();
        let predicted = ok(&sim, check);
        assert_eq!(
            sim.writes(),
            Vec::<String>::new(),
            "{args}: check mode wrote"
        );
        let mut real = args.clone();
        real["_ansible_diff"] = json!(true);
        let done = ok(&sim, real);
        for key in ["changed", "diff", "job"] {
            assert_eq!(predicted[key], done[key], "{args}: {key}");
        }
        if done["changed"] == true {
            assert!(msg(&predicted).contains("would be "), "{}", msg(&predicted));
        }
        // The server's own view of the job, read directly.
        let text = section(&sim, "hourly-dir");
        let job = &done["job"];
        if job == &json!({}) {
            assert_eq!(text, "", "{args}");
            continue;
        }
        assert_eq!(diff_view(&done, "after"), *job);
        for (key, file_key) in [
            ("schedule", "schedule"),
            ("scope", "scope"),
            ("realm", "realm"),
        ] {
            let line = format!("\t{file_key} {}\n", job[key].as_str().unwrap());
            assert!(text.contains(&line), "{args}: {line:?} in {text:?}");
        }
        assert_eq!(
            text.contains("\tenable-new 0\n"),
            job["enable_new"] == false,
            "{args}: {text}"
        );
    }
}

#[test]
fn check_mode_predicts_the_real_run_pve91() {
    check_mode_predicts_the_real_run("9.1");
}

#[test]
fn check_mode_predicts_the_real_run_pve84() {
    check_mode_predicts_the_real_run("8.4");
}

#[test]
fn refusals_come_before_any_write() {
    let Some(sim) = server("9.1", &[]) else {
        return;
    };
    ok(
        &sim,
        json!({"id": "nightly", "realm": "dir", "schedule": "daily", "scope": "users"}),
    );
    let before = jobs_cfg(&sim);
    for (task, want) in [
        (json!({"id": "9lives", "realm": "dir"}), "id: '9lives' is not a valid job id"),
        (
            json!({"id": "other", "realm": "dir", "schedule": "at noon", "scope": "users"}),
            "schedule: 'at noon' is not a calendar event PVE accepts",
        ),
        (
            json!({"id": "other", "realm": "dir"}),
            "realm-sync job 'other' does not exist, and creating it needs schedule, scope: give them",
        ),
        (
            json!({"id": "other", "realm": "ghost", "schedule": "daily", "scope": "users"}),
            "realm 'ghost' does not exist; create it first, e.g. with pve.access.pve_realm",
        ),
        (
            json!({"id": "other", "realm": "pve", "schedule": "daily", "scope": "users"}),
            "realm 'pve' is of type 'pve', and PVE syncs only LDAP and AD realms",
        ),
        (
            json!({"id": "nightly", "realm": "corp"}),
            "PVE cannot change a job's realm; to sync realm 'corp' instead, delete the job (state: absent) and create it again",
        ),
        (
            json!({"id": "nightly", "remove_vanished": ["everything"]}),
            "remove_vanished",
        ),
    ] {
        sim.clear_requests();
        let r = fail(&sim, task.clone());
        assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
    }
    assert_eq!(jobs_cfg(&sim), before);

    // Check mode assumes a realm an earlier task creates, and warns.
    let mut check =
        json!({"id": "later", "realm": "newdir", "schedule": "daily", "scope": "users"});
    check["_ansible_check_mode"] = json!(true);
    let r = ok(&sim, check);
    assert_eq!(r["msg"], "realm-sync job 'later' would be created");
    assert_eq!(
        r["warnings"],
        json!(["realm 'newdir' does not exist yet; assuming an earlier task creates it"])
    );
}

#[test]
fn permission_denied_says_what_is_needed() {
    let Some(sim) = server("9.1", &[]) else {
        return;
    };
    let token = |args: Value| with_api_token(args, &format!("ops@pve!ci={SECRET}"));
    // Creating for `dir` is allowed to the token.
    ok(
        &sim,
        token(json!({"id": "mine", "realm": "dir", "schedule": "daily", "scope": "users"})),
    );
    assert_ne!(section(&sim, "mine"), "");
    // Changing is checked on /access/realm/-, which a grant on
    // /access/realm/dir does not cover.
    let r = fail(&sim, token(json!({"id": "mine", "schedule": "hourly"})));
    let m = msg(&r);
    assert!(
        m.contains("403 Permission check failed (/access/realm/-, Realm.AllocateUser)"),
        "{m}"
    );
    assert!(m.contains("PVE checks /access/realm/-"), "{m}");
    assert!(m.contains("Nothing was changed"), "{m}");
    assert!(!m.contains(SECRET));
    assert_eq!(r["status"], 403);
    let r = fail(&sim, token(json!({"id": "mine", "state": "absent"})));
    assert!(
        msg(&r).contains("deleting realm-sync jobs needs Sys.Modify on /"),
        "{}",
        msg(&r)
    );
    assert_ne!(section(&sim, "mine"), "");
}

#[test]
fn a_failed_write_changes_nothing_and_a_rerun_completes() {
    let lock = json!({"method": "POST", "path": "/cluster/jobs/realm-sync/*", "status": 500,
        "reason": "cfs-lock 'file-jobs_cfg' error: got lock request timeout", "times": 3});
    let Some(sim) = server("8.4", &[lock]) else {
        return;
    };
    let task = json!({"id": "nightly", "realm": "dir", "schedule": "daily", "scope": "users"});
    let r = fail(&sim, task.clone());
    assert!(msg(&r).contains("got lock request timeout"), "{}", msg(&r));
    assert!(msg(&r).contains("Nothing was changed"), "{}", msg(&r));
    assert_eq!(section(&sim, "nightly"), "");
    // The three tries used the fault up: the rerun creates the job at once.
    sim.clear_requests();
    let r = ok(&sim, task);
    assert_eq!(r["changed"], true);
    assert_eq!(sim.count_calls("POST"), 1, "{:?}", sim.api_calls());
    assert_ne!(section(&sim, "nightly"), "");
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let faults = [
        json!({"method": "POST", "path": "/cluster/jobs/realm-sync/*", "drop": "after", "times": 1}),
        json!({"method": "PUT", "path": "/cluster/jobs/realm-sync/*", "drop": "after", "times": 1}),
        json!({"method": "DELETE", "path": "/cluster/jobs/realm-sync/*", "drop": "after", "times": 1}),
    ];
    let Some(sim) = server("9.1", &faults) else {
        return;
    };
    for (task, write) in [
        (
            json!({"id": "nightly", "realm": "dir", "schedule": "daily", "scope": "users"}),
            "POST /cluster/jobs/realm-sync/nightly",
        ),
        (
            json!({"id": "nightly", "schedule": "hourly"}),
            "PUT /cluster/jobs/realm-sync/nightly",
        ),
        (
            json!({"id": "nightly", "state": "absent"}),
            "DELETE /cluster/jobs/realm-sync/nightly",
        ),
    ] {
        sim.clear_requests();
        assert_eq!(ok(&sim, task.clone())["changed"], true, "{task}");
        // Sent once: the lost answer was settled by reading the job back.
        assert_eq!(sim.count_calls(write), 1, "{task}: {:?}", sim.api_calls());
    }
    assert_eq!(section(&sim, "nightly"), "");
}
