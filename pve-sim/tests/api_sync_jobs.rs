//! `/cluster/jobs/realm-sync`: the answers and the `jobs.cfg` the real
//! code gave for the same calls (pve-oracle's 8.4 and 9.1 code with the
//! jobs API mounted by hand, docs/realm-sync-jobs.md).

mod api_common;

use api_common::*;
use serde_json::json;

const JOB: &str = "/cluster/jobs/realm-sync/j1";

fn with_ldap_realm(version: &str) -> Sim {
    let s = sim_cfg(
        version,
        Some("user:root@pam:1:0::::::\nuser:au@pve:1:0::::::\nacl:1:/:au@pve:PVEAuditor:\n"),
        None,
    );
    s.root_ok(
        "POST",
        "/access/domains",
        &[
            ("realm", "dir"),
            ("type", "ldap"),
            ("base_dn", "dc=x"),
            ("server1", "127.0.0.1"),
            ("user_attr", "uid"),
        ],
    );
    s
}

fn jobs_cfg(s: &Sim) -> String {
    std::fs::read_to_string(s.dir.join("state/jobs.cfg")).unwrap_or_default()
}

fn lifecycle(version: &str) {
    let s = with_ldap_realm(version);
    let root = s.ticket_for("root@pam");
    s.call("GET", JOB, &root, &[])
        .status(400, "Parameter verification failed.");
    s.root_ok(
        "POST",
        JOB,
        &[
            ("realm", "dir"),
            ("schedule", "mon..fri 02:30"),
            ("scope", "users"),
            ("comment", "a b:c ü%"),
            ("enabled", "0"),
            ("enable-new", "0"),
            ("remove-vanished", "acl;entry"),
        ],
    );
    assert_eq!(
        jobs_cfg(&s),
        "realm-sync: j1\n\tcomment a b%3Ac %C3%BC%25\n\trealm dir\n\tschedule mon..fri 02:30\n\
         \tscope users\n\tenable-new 0\n\tenabled 0\n\tremove-vanished acl;entry\n\n"
    );
    assert_eq!(
        s.root_ok("GET", JOB, &[]),
        json!({"type": "realm-sync", "realm": "dir", "schedule": "mon..fri 02:30", "scope": "users",
               "comment": "a b:c ü%", "enabled": 0, "enable-new": 0, "remove-vanished": "acl;entry"})
    );
    s.root_ok(
        "PUT",
        JOB,
        &[("schedule", "sat 03:00"), ("delete", "comment,enable-new")],
    );
    assert_eq!(
        jobs_cfg(&s),
        "realm-sync: j1\n\trealm dir\n\tschedule sat 03:00\n\tscope users\n\tenabled 0\n\
         \tremove-vanished acl;entry\n\n"
    );
    // A second job: the first gets nothing new, the new one no `enabled`
    // until the next write.
    s.root_ok(
        "POST",
        "/cluster/jobs/realm-sync/j2",
        &[("realm", "dir"), ("schedule", "*/15"), ("scope", "both")],
    );
    assert!(
        jobs_cfg(&s).ends_with("realm-sync: j2\n\trealm dir\n\tschedule */15\n\tscope both\n\n")
    );
    let list = s.root_ok("GET", "/cluster/jobs/realm-sync", &[]);
    assert_eq!(list[1]["id"], "j2");
    assert_eq!(list[1]["enabled"], 1);
    assert_eq!(list[1]["last-run"], json!(null));
    let next = list[1]["next-run"].as_i64().unwrap();
    assert_eq!(next % 900, 0, "{list}");
    s.root_ok("PUT", JOB, &[("schedule", "daily"), ("comment", "")]);
    assert!(jobs_cfg(&s).ends_with("\tscope both\n\tenabled 1\n\n"));
    assert!(!jobs_cfg(&s).contains("comment"));

    s.root_ok("DELETE", "/cluster/jobs/realm-sync/j2", &[]);
    let gone = s.call("DELETE", "/cluster/jobs/realm-sync/j2", &root, &[]);
    gone.status(500, "400 Parameter verification failed.");
    assert_eq!(
        gone.message(),
        "400 Parameter verification failed.\nid: No such job 'j2'\n"
    );
    assert!(!jobs_cfg(&s).contains("j2"));
}

#[test]
fn lifecycle_9_1() {
    lifecycle("9.1");
}

#[test]
fn lifecycle_8_4() {
    lifecycle("8.4");
}

#[test]
fn refusals() {
    let s = with_ldap_realm("9.1");
    let root = s.ticket_for("root@pam");
    let base = [("realm", "dir"), ("schedule", "daily"), ("scope", "users")];
    s.root_ok("POST", JOB, &base);
    let post = |id: &str, params: &[(&str, &str)]| {
        s.call(
            "POST",
            &format!("/cluster/jobs/realm-sync/{id}"),
            &root,
            params,
        )
    };
    post("j1", &base).status(500, "Job 'j1' already exists");
    let r = post(
        "j2",
        &[
            ("realm", "ghost"),
            ("schedule", "daily"),
            ("scope", "users"),
        ],
    );
    assert_eq!(
        r.message(),
        "400 Parameter verification failed.\nrealm: No such realm 'ghost'\n"
    );
    let r = post(
        "j2",
        &[("realm", "pve"), ("schedule", "daily"), ("scope", "users")],
    );
    assert_eq!(
        r.message(),
        "400 Parameter verification failed.\nrealm: Only LDAP/AD realms can be synced.\n"
    );
    let r = post("j2", &[("realm", "dir"), ("schedule", "daily")]);
    assert_eq!(
        r.error("scope"),
        "property is missing and it is not optional"
    );
    let r = post(
        "1x",
        &[("realm", "dir"), ("schedule", ""), ("scope", "users")],
    );
    assert_eq!(
        r.error("id"),
        "invalid format - invalid configuration ID '1x'\n"
    );
    assert_eq!(
        r.error("schedule"),
        "invalid format - invalid calendar event '' - unable to parse calendar event - event is empty\n\n"
    );
    let r = post(
        "j2",
        &[("realm", "dir"), ("schedule", "noon"), ("scope", "users")],
    );
    assert!(r
        .error("schedule")
        .starts_with("invalid format - invalid calendar event 'noon' - "));
    let r = post(
        "j2",
        &[
            ("realm", "dir"),
            ("schedule", "daily"),
            ("scope", "users"),
            ("enabled", "true"),
        ],
    );
    assert_eq!(
        r.error("enabled"),
        "type check ('boolean') failed - got 'true'"
    );

    let put = |params: &[(&str, &str)]| s.call("PUT", JOB, &root, params);
    assert_eq!(
        put(&[("schedule", "hourly"), ("realm", "dir")]).error("realm"),
        "property is not defined in schema and the schema does not allow additional properties"
    );
    assert_eq!(
        put(&[("scope", "both")]).error("schedule"),
        "property is missing and it is not optional"
    );
    put(&[("schedule", "hourly"), ("delete", "scope")])
        .status(500, "unable to delete required option 'scope'");
    s.call(
        "PUT",
        "/cluster/jobs/realm-sync/nope",
        &root,
        &[("schedule", "hourly")],
    )
    .status(500, "no such realm-sync job");
    assert_eq!(
        jobs_cfg(&s),
        "realm-sync: j1\n\trealm dir\n\tschedule daily\n\tscope users\n\n"
    );

    // An auditor: PUT is checked on /access/realm/- (no realm parameter).
    let au = s.ticket_for("au@pve");
    s.call("POST", "/cluster/jobs/realm-sync/j3", &au, &base)
        .status(
            403,
            "Permission check failed (/access/realm/dir, Realm.AllocateUser)",
        );
    s.call("PUT", JOB, &au, &[("schedule", "daily")]).status(
        403,
        "Permission check failed (/access/realm/-, Realm.AllocateUser)",
    );
    s.call("DELETE", JOB, &au, &[])
        .status(403, "Permission check failed (/, Sys.Modify)");
    assert_eq!(
        s.call("GET", "/cluster/jobs/realm-sync", &au, &[]).ok()[0]["id"],
        "j1"
    );
}

/// The same calls through the real code (`scripts/oracle-sync-jobs.pl`,
/// pve-oracle's copy of PVE's jobs API mounted by hand) and through
/// pve-sim: the same status, reason, body and `jobs.cfg` after each write.
/// Listing jobs is left out: the oracle cannot compute a next run.
fn agrees_with_the_real_code(version: &str) {
    let Some(oracle) = pve_test_support::require_oracle("realm-sync jobs against the real code")
    else {
        return;
    };
    let root_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let calls_file = root_dir.join("tests/fixtures/sync-jobs/calls.json");
    let out = std::process::Command::new("perl")
        .arg(root_dir.join("scripts/oracle-sync-jobs.pl"))
        .arg(version)
        .env("PVE_ORACLE", &oracle)
        .stdin(std::fs::File::open(&calls_file).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = with_ldap_realm(version);
    let mut compared = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let real: serde_json::Value = serde_json::from_str(line).unwrap();
        let call = &real["call"];
        let (method, path) = (call[0].as_str().unwrap(), call[1].as_str().unwrap());
        let path = path.replacen("/rsjobs", "/cluster/jobs/realm-sync", 1);
        let params: Vec<(&str, &str)> = call[2]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let auth = s.ticket_for(call[3].as_str().unwrap_or("root@pam"));
        let sim = s.call(method, &path, &auth, &params);
        if method == "GET" && path == "/cluster/jobs/realm-sync" {
            continue;
        }
        let what = format!("{version} {method} {path} {}", call[2]);
        // The oracle's status is a Perl scalar: a number or a string.
        let status = match &real["status"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(sim.status.to_string(), status, "{what}");
        assert_eq!(sim.reason, real["reason"], "{what}");
        for key in ["data", "message", "errors"] {
            assert_eq!(sim.body[key], real["body"][key], "{what}: {key}");
        }
        if method != "GET" {
            let real_cfg = real["jobs.cfg"].as_str().unwrap_or_default();
            assert_eq!(jobs_cfg(&s), real_cfg, "{what}: jobs.cfg");
        }
        compared += 1;
    }
    assert!(compared > 20, "only {compared} calls compared");
}

#[test]
fn agrees_with_the_real_code_9_1() {
    agrees_with_the_real_code("9.1");
}

#[test]
fn agrees_with_the_real_code_8_4() {
    agrees_with_the_real_code("8.4");
}
