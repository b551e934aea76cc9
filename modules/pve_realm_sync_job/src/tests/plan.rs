use super::*;

/// The options of a task, checked.
fn checked(v: Value) -> Result<Desired, String> {
    Desired::from_params(&Params::from_map(
        v.as_object().cloned().unwrap_or_default(),
    ))
}

fn desired(v: Value) -> Desired {
    checked(v).unwrap()
}

/// The job as GET answers it on PVE: numbers for booleans, `enabled` always.
fn server_job() -> Job {
    Job::from_json(
        &json!({"type": "realm-sync", "realm": "dir", "schedule": "daily",
        "scope": "users", "enabled": 1, "remove-vanished": "entry;acl"}),
    )
    .unwrap()
}

fn reqs(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.request.to_string()).collect()
}

#[test]
fn options_are_read_and_checked() {
    let d = desired(
        json!({"id": "nightly", "realm": "dir", "schedule": " mon..fri 02:30 ",
        "remove_vanished": ["entry", "acl", "acl"]}),
    );
    assert_eq!(d.job.schedule.as_deref(), Some("mon..fri 02:30"));
    assert_eq!(
        d.job.remove_vanished,
        Some(vec!["acl".into(), "entry".into()])
    );
    assert_eq!(d.job.enabled, None);
    for (args, want) in [
        (json!({"id": "1x"}), "id: '1x' is not a valid job id"),
        (json!({"id": "a"}), "is not a valid job id"),
        (
            json!({"id": "ok", "realm": "a b"}),
            "realm: 'a b' is not a valid realm name",
        ),
        (
            json!({"id": "ok", "schedule": "noon"}),
            "schedule: 'noon' is not a calendar event PVE accepts",
        ),
        (json!({"id": "ok", "schedule": ""}), "it is empty"),
        (
            json!({"id": "ok", "remove_vanished": ["acl;bogus"]}),
            "remove_vanished: 'bogus' is not one of",
        ),
        (
            json!({"id": "ok", "comment": "x".repeat(513)}),
            "comment is too long",
        ),
    ] {
        let e = checked(args.clone()).unwrap_err();
        assert!(e.contains(want), "{args}: {e}");
    }
}

#[test]
fn schedules_as_pve_writes_them() {
    for ok in [
        "daily",
        "hourly",
        "*:00",
        "*/15",
        "mon..fri 02:30",
        "sat 03:00",
        "sat,sun 4:0",
        "monday..friday 1:00",
        "2026-12-24 18:00",
        "*-*-01 00:00:30",
        "12,14:5/20",
        "0/2:00",
        "semi-annually",
        "mon",
    ] {
        assert_eq!(verify_schedule(ok), Ok(()), "{ok}");
    }
    for bad in [
        "noon",
        "mon..fri 2:3:4:5",
        "* * * * *",
        "mon x",
        "2026-12 1:00 extra",
        "1..",
        "a/b",
    ] {
        assert!(verify_schedule(bad).is_err(), "{bad}");
    }
}

#[test]
fn pves_answer_is_read_with_its_defaults() {
    let j = server_job();
    assert_eq!(j.enable_new, Some(true));
    assert_eq!(j.comment.as_deref(), Some(""));
    assert_eq!(j.remove_vanished, Some(vec!["acl".into(), "entry".into()]));
    assert_eq!(
        j.view("nj"),
        json!({"id": "nj", "realm": "dir", "schedule": "daily", "scope": "users", "enabled": true,
               "enable_new": true, "remove_vanished": ["acl", "entry"]})
    );
    let none = Job::from_json(
        &json!({"realm": "dir", "schedule": "daily", "scope": "both",
        "enabled": "0", "enable-new": 0, "remove-vanished": "none", "comment": "c"}),
    )
    .unwrap();
    assert_eq!((none.enabled, none.enable_new), (Some(false), Some(false)));
    assert_eq!(none.remove_vanished, Some(vec![]));
    assert!(Job::from_json(&json!({"schedule": "daily"})).is_err());
}

#[test]
fn create_sends_what_is_given_and_reports_pves_defaults() {
    let d = desired(
        json!({"id": "nightly", "realm": "dir", "schedule": "daily", "scope": "users",
        "comment": "", "remove_vanished": []}),
    );
    let p = plan(&d, None, Some("ldap"), false).unwrap();
    assert_eq!(
        reqs(&p),
        ["POST /cluster/jobs/realm-sync/nightly realm=dir&schedule=daily&scope=users&remove-vanished=none"]
    );
    assert_eq!(p.msg, "realm-sync job 'nightly' created");
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"id": "nightly", "realm": "dir", "schedule": "daily", "scope": "users", "enabled": true,
               "enable_new": true, "remove_vanished": []})
    );
    assert_eq!(p.steps[0].settle, Settle::Job(p.after.clone()));
}

#[test]
fn create_needs_realm_schedule_and_scope_and_an_ldap_or_ad_realm() {
    let e = plan(
        &desired(json!({"id": "jj", "realm": "dir"})),
        None,
        Some("ldap"),
        false,
    )
    .unwrap_err();
    assert!(
        e.0.contains("creating it needs schedule, scope: give them"),
        "{e}"
    );
    let full = desired(json!({"id": "jj", "realm": "pve", "schedule": "daily", "scope": "both"}));
    let e = plan(&full, None, Some("pve"), true).unwrap_err();
    assert!(
        e.0.contains("realm 'pve' is of type 'pve', and PVE syncs only LDAP and AD realms"),
        "{e}"
    );
    // A missing realm: refused for real, assumed in check mode.
    let e = plan(&full, None, None, false).unwrap_err();
    assert!(
        e.0.contains("realm 'pve' does not exist; create it first"),
        "{e}"
    );
    let p = plan(&full, None, None, true).unwrap();
    assert_eq!(p.msg, "realm-sync job 'jj' would be created");
    assert_eq!(
        p.warnings,
        ["realm 'pve' does not exist yet; assuming an earlier task creates it"]
    );
    assert!(plan(&full, None, Some("ad"), false).is_ok());
}

#[test]
fn update_sends_schedule_and_what_differs() {
    let have = server_job();
    let same = desired(
        json!({"id": "nj", "realm": "dir", "schedule": "daily", "scope": "users",
        "enabled": true, "enable_new": true, "remove_vanished": ["acl", "entry"], "comment": ""}),
    );
    let p = plan(&same, Some(&have), None, false).unwrap();
    assert!(!p.changed && p.steps.is_empty());
    assert_eq!(p.msg, "realm-sync job 'nj' unchanged");

    let d =
        desired(json!({"id": "nj", "enabled": false, "comment": "nightly", "remove_vanished": []}));
    let p = plan(&d, Some(&have), None, true).unwrap();
    assert_eq!(
        reqs(&p),
        ["PUT /cluster/jobs/realm-sync/nj schedule=daily&comment=nightly&enabled=0&remove-vanished=none"]
    );
    assert_eq!(
        p.msg,
        "realm-sync job 'nj' would be updated: comment, enabled, remove-vanished"
    );
    assert_eq!(p.after["comment"], "nightly");
    assert_eq!(p.after["enabled"], false);
    assert_eq!(p.after["remove_vanished"], json!([]));

    let d = desired(json!({"id": "nj", "schedule": "sat 03:00"}));
    let p = plan(&d, Some(&have), None, false).unwrap();
    assert_eq!(
        reqs(&p),
        ["PUT /cluster/jobs/realm-sync/nj schedule=sat 03:00"]
    );
}

#[test]
fn the_realm_is_fixed() {
    let d = desired(json!({"id": "nj", "realm": "corp"}));
    let e = plan(&d, Some(&server_job()), None, false).unwrap_err();
    assert!(
        e.0.contains("its realm is 'dir' and PVE cannot change a job's realm; to sync realm 'corp' instead, delete the job (state: absent) and create it again"),
        "{e}"
    );
}

#[test]
fn absent() {
    let d = desired(json!({"id": "nj", "state": "absent"}));
    let p = plan(&d, Some(&server_job()), None, false).unwrap();
    assert_eq!(reqs(&p), ["DELETE /cluster/jobs/realm-sync/nj"]);
    assert_eq!(p.after, json!({}));
    assert_eq!(p.steps[0].settle, Settle::Absent);
    let p = plan(&d, None, None, false).unwrap();
    assert!(!p.changed);
    assert_eq!(p.msg, "realm-sync job 'nj' does not exist");
}
