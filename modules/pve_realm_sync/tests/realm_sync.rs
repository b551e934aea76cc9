//! pve_realm_sync against pve-sim (PVE 9.1 and 8.4) syncing from a real
//! OpenLDAP directory (`pve_test_support::ldap::Directory`): the module
//! binary run as Ansible runs it, what it reports held to the user.cfg the
//! server saved, and to what PVE's own sync makes of the fixture
//! (`pve_test_support::ldap::expected`, measured with the real code).
//!
//! Against the real code (`PVE_TEST_SERVER=pve-oracle`) only the refusals
//! before the sync run: pve-oracle serves no `/nodes/{node}/tasks`
//! (docs/realm-sync.md), so the module cannot follow a sync's task there.

use pve_test_support::http::{form, Latin1};
use pve_test_support::ldap::expected::{
    sorted, synced_lines, CERTIFICATE_VERIFY_FAILED, DIRECTORY_CHANGES, FIRST_SYNC, GROUPS, PEOPLE,
    REALM, SYNC_ATTRIBUTES,
};
use pve_test_support::ldap::Directory;
use pve_test_support::{module_under_test, msg, on_each_version, Server, Sim};
use serde_json::{json, Value};

module_under_test!("pve_realm_sync");

const SECRET: &str = "0c7f3e52-9b1d-4f0a-8e6b-2d4c6a8e0f13";

/// A server with root@pam's token `setup`, to make realms with.
fn server(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\ntoken:root@pam!setup:0:0::\n")
        .token_cfg(&format!("root@pam!setup {SECRET}\n"))
        .start()
}

/// `POST /access/domains` as root@pam!setup; panics unless it is a 200.
fn add_realm(sim: &Sim, params: &[(&str, &str)]) {
    let auth = [(
        "Authorization".to_string(),
        format!("PVEAPIToken=root@pam!setup={SECRET}"),
    )];
    let body = ("application/x-www-form-urlencoded", form(params));
    let r = sim.request(
        "POST",
        "/access/domains",
        &auth,
        Some(body),
        Latin1::default(),
    );
    assert_eq!(r.status, 200, "{params:?}: {} {}", r.reason, sim.stderr());
}

/// The tests' LDAP realm `name` on `dir`, binding with `password`.
fn ldap_realm(sim: &Sim, dir: &Directory, name: &str, password: &str) {
    ldap_realm_with(sim, dir, name, password, &[]);
}

/// [`ldap_realm`] with `extra` parameters, which replace those of the same
/// name (`port`).
fn ldap_realm_with(sim: &Sim, dir: &Directory, name: &str, password: &str, extra: &[(&str, &str)]) {
    let port = dir.port.to_string();
    let mut params = vec![
        ("realm", name),
        ("type", "ldap"),
        ("server1", &dir.host),
        ("port", &port),
        ("base_dn", PEOPLE),
        ("user_attr", "uid"),
        ("bind_dn", &dir.bind_dn),
        ("password", password),
        ("group_dn", GROUPS),
        ("sync_attributes", SYNC_ATTRIBUTES),
    ];
    params.retain(|(k, _)| extra.iter().all(|(e, _)| e != k));
    params.extend_from_slice(extra);
    add_realm(sim, &params);
}

/// user.cfg's lines about the realm and the ACL, read from the server's
/// state directly.
fn synced(sim: &Sim) -> Vec<String> {
    let text = std::fs::read_to_string(sim.state_dir.join("user.cfg")).unwrap_or_default();
    synced_lines(&text)
}

/// The sync tests need the task endpoints, which only pve-sim serves.
fn follows_tasks(test: &str) -> bool {
    let ok = Server::from_env() == Server::PveSim;
    if !ok {
        eprintln!("{test}: skipped on pve-oracle, which serves no /nodes/{{node}}/tasks to follow the sync's task");
    }
    ok
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

const USERS: [&str; 5] = ["alice@dir", "bob@dir", "carol@dir", "dave@dir", "erin@dir"];

fn check_mode_then_sync_then_nothing(version: &str) {
    if !follows_tasks("check_mode_then_sync_then_nothing") {
        return;
    }
    let dir = Directory::start();
    let sim = server(version);
    ldap_realm(&sim, &dir, REALM, &dir.bind_password);
    let args = json!({"realm": REALM, "scope": "both", "_ansible_diff": true});

    let mut check = args.clone();
    check["_ansible_check_mode"] = json!(true);
    sim.clear_requests();
    let predicted = ok(&sim, check);
    assert_eq!(predicted["changed"], true);
    assert_eq!(ids(&predicted["added"]["users"]), USERS);
    assert_eq!(
        ids(&predicted["added"]["groups"]),
        ["admins-dir", "operators-dir"]
    );
    assert!(
        msg(&predicted).contains("5 users would be added"),
        "{}",
        msg(&predicted)
    );
    assert!(predicted["upid"]
        .as_str()
        .unwrap_or_default()
        .contains(":auth-realm-sync-test:dir:root@pam:"));
    assert_eq!(
        predicted["log"][0],
        "(dry test run) starting sync for realm dir"
    );
    assert_eq!(
        sim.writes(),
        ["POST /access/domains/dir/sync"],
        "only the dry run"
    );
    assert_eq!(synced(&sim), Vec::<String>::new(), "check mode wrote");

    let done = ok(&sim, args.clone());
    assert_eq!(done["changed"], true);
    assert_eq!(done["added"], predicted["added"]);
    assert_eq!(done["removed"], predicted["removed"]);
    assert_eq!(synced(&sim), sorted(FIRST_SYNC));
    let after = pve_test_support::diff_view(&done, "after");
    assert_eq!(
        after["users"]["alice@dir"]["email"],
        "alice@pve-access.test"
    );
    assert_eq!(
        after["groups"]["admins-dir"]["members"],
        json!(["alice@dir", "bob@dir"])
    );
    let log = ids(&done["log"]);
    assert_eq!(log.last().map(String::as_str), Some("TASK OK"));

    // PVE logs 'updating' for everyone, but nothing changed.
    let again = ok(&sim, args.clone());
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["updated"], json!({"users": [], "groups": []}));
    assert_eq!(msg(&again), "realm 'dir' synced: nothing changed");
    assert!(ids(&again["log"]).contains(&"updating user 'alice@dir'".to_string()));
    let mut check = args;
    check["_ansible_check_mode"] = json!(true);
    assert_eq!(ok(&sim, check)["changed"], false);
    assert_eq!(synced(&sim), sorted(FIRST_SYNC));
}

/// One `remove_vanished` after the directory changed (bob's mail, erin and
/// `admins` gone, frank and `devs` new), with an ACL entry for erin: what
/// check mode predicts, what the sync reports, and user.cfg afterwards.
fn directory_changes_with_each_remove_vanished(version: &str) {
    if !follows_tasks("directory_changes_with_each_remove_vanished") {
        return;
    }
    let erin_acl = "acl:1:/:erin@dir:PVEAuditor:";
    for option in [
        json!([]),
        json!(["acl"]),
        json!(["entry"]),
        json!(["properties"]),
        json!(["acl", "entry", "properties"]),
    ] {
        let dir = Directory::start();
        let sim = server(version);
        ldap_realm(&sim, &dir, REALM, &dir.bind_password);
        ok(&sim, json!({"realm": REALM, "scope": "both"}));
        let auth = [(
            "Authorization".to_string(),
            format!("PVEAPIToken=root@pam!setup={SECRET}"),
        )];
        let grant = form(&[
            ("path", "/"),
            ("users", "erin@dir"),
            ("roles", "PVEAuditor"),
        ]);
        let r = sim.request(
            "PUT",
            "/access/acl",
            &auth,
            Some(("application/x-www-form-urlencoded", grant)),
            Latin1::default(),
        );
        assert_eq!(r.status, 200);
        dir.modify(DIRECTORY_CHANGES);

        let has = |o: &str| option.as_array().unwrap().iter().any(|x| x == o);
        let args = json!({"realm": REALM, "scope": "both", "remove_vanished": option});
        let mut check = args.clone();
        check["_ansible_check_mode"] = json!(true);
        let predicted = ok(&sim, check);
        let done = ok(&sim, args);
        assert_eq!(done["changed"], true, "{option}");
        assert_eq!(ids(&done["added"]["users"]), ["frank@dir"], "{option}");
        assert_eq!(ids(&done["added"]["groups"]), ["devs-dir"], "{option}");
        assert_eq!(done["added"], predicted["added"], "{option}: check mode");
        assert_eq!(
            done["removed"], predicted["removed"],
            "{option}: check mode"
        );
        assert!(
            ids(&done["updated"]["users"]).contains(&"bob@dir".to_string()),
            "{option}: {done}"
        );
        let removed = if has("entry") {
            json!(["erin@dir"])
        } else {
            json!([])
        };
        assert_eq!(done["removed"]["users"], removed, "{option}");
        let removed = if has("entry") {
            json!(["admins-dir"])
        } else {
            json!([])
        };
        assert_eq!(done["removed"]["groups"], removed, "{option}");
        let acl = if has("acl") {
            json!(["/:erin@dir:PVEAuditor"])
        } else {
            json!([])
        };
        assert_eq!(done["removed"]["acl"], acl, "{option}");
        let warned = done["warnings"].to_string().contains("without 'acl'");
        assert_eq!(warned, has("entry") && !has("acl"), "{option}: {done}");

        let lines = synced(&sim);
        let erin = lines.iter().any(|l| l.starts_with("user:erin@dir:"));
        assert_eq!(erin, !has("entry"), "{option}: {lines:?}");
        // `entry` alone leaves erin's ACL entry behind, as PVE does.
        assert_eq!(
            lines.iter().any(|l| l == erin_acl),
            !has("acl"),
            "{option}: {lines:?}"
        );
        assert!(lines.contains(&"user:bob@dir:1:0:Bob:Baker:bob@changed.test:::".to_string()));
        assert!(
            lines.contains(&"user:frank@dir:1:0:Frank:Fox:frank@pve-access.test:::".to_string())
        );
    }
}

fn a_failing_bind_fails_with_the_tasks_log(version: &str) {
    if !follows_tasks("a_failing_bind_fails_with_the_tasks_log") {
        return;
    }
    let dir = Directory::start();
    let sim = server(version);
    ldap_realm(&sim, &dir, "bad", "not-the-password");
    for check_mode in [true, false] {
        let r = fail(
            &sim,
            json!({"realm": "bad", "scope": "users", "_ansible_check_mode": check_mode}),
        );
        assert_eq!(
            msg(&r),
            "the sync of realm 'bad' failed: ldap bind failed: Invalid credentials (nothing was written; see the task's log)"
        );
        assert_eq!(r["exitstatus"], "ldap bind failed: Invalid credentials");
        assert_eq!(
            r["log"].as_array().and_then(|l| l.last()),
            Some(&json!("TASK ERROR: ldap bind failed: Invalid credentials"))
        );
        assert!(!r.to_string().contains("not-the-password"));
    }
    assert!(sim.state().users().iter().all(|u| !u.ends_with("@bad")));
}

/// A realm that reaches its directory over ldaps and checks its
/// certificate against the directory's CA: check mode and the sync work as
/// over plain LDAP; with a CA that did not sign the certificate, the sync
/// fails with PVE's words and writes nothing.
fn sync_over_ldaps_checking_the_certificate(version: &str) {
    if !follows_tasks("sync_over_ldaps_checking_the_certificate") {
        return;
    }
    let dir = Directory::start_with_tls();
    let tls = dir.tls.as_ref().expect("the directory's TLS side");
    let sim = server(version);
    let ldaps_port = tls.ldaps_port.to_string();
    let ca = tls.ca_cert.to_string_lossy().into_owned();
    let other_ca = tls.other_ca().to_string_lossy().into_owned();
    let over_ldaps = |capath| {
        [
            ("mode", "ldaps"),
            ("port", ldaps_port.as_str()),
            ("verify", "1"),
            ("capath", capath),
        ]
    };
    ldap_realm_with(&sim, &dir, REALM, &dir.bind_password, &over_ldaps(&ca));
    ldap_realm_with(
        &sim,
        &dir,
        "wrongca",
        &dir.bind_password,
        &over_ldaps(&other_ca),
    );

    let args = json!({"realm": REALM, "scope": "both"});
    let mut check = args.clone();
    check["_ansible_check_mode"] = json!(true);
    let predicted = ok(&sim, check);
    assert_eq!(ids(&predicted["added"]["users"]), USERS);
    assert_eq!(synced(&sim), Vec::<String>::new(), "check mode wrote");
    let done = ok(&sim, args);
    assert_eq!(done["changed"], true);
    assert_eq!(done["added"], predicted["added"]);
    assert_eq!(synced(&sim), sorted(FIRST_SYNC));

    let r = fail(&sim, json!({"realm": "wrongca", "scope": "both"}));
    assert_eq!(
        msg(&r),
        format!("the sync of realm 'wrongca' failed: {CERTIFICATE_VERIFY_FAILED} (nothing was written; see the task's log)")
    );
    assert_eq!(synced(&sim), sorted(FIRST_SYNC));
    assert!(sim.state().users().iter().all(|u| !u.ends_with("@wrongca")));
}

/// Refused before the sync is sent, on both servers.
fn refusals_before_the_sync(version: &str) {
    let sim = server(version);
    add_realm(
        &sim,
        &[
            ("realm", "nodefault"),
            ("type", "ldap"),
            ("server1", "127.0.0.1"),
            ("base_dn", PEOPLE),
            ("user_attr", "uid"),
        ],
    );
    sim.clear_requests();
    for (args, want) in [
        (json!({"realm": "nope", "scope": "users"}), "realm 'nope' does not exist: create it first (pve.access.pve_realm, type ldap or ad)"),
        (json!({"realm": "pve", "scope": "users"}), "realm 'pve' is of type 'pve': only LDAP and AD realms can be synced"),
        (json!({"realm": "nodefault"}), "no scope: give scope (users, groups or both), or set one in realm 'nodefault''s sync_defaults_options"),
    ] {
        assert_eq!(msg(&fail(&sim, args.clone())), want, "{args}");
    }
    // Check mode assumes an earlier task creates the realm.
    let r = ok(
        &sim,
        json!({"realm": "later", "scope": "users", "_ansible_check_mode": true}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(
        r["warnings"],
        json!(["realm 'later' does not exist yet; assuming an earlier task creates it"])
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    sim.clear_requests();
    for (args, want) in [
        (
            json!({"realm": "1x", "scope": "users"}),
            "no valid realm id",
        ),
        (
            json!({"realm": "dir", "remove_vanished": ["acl", "bogus"]}),
            "remove_vanished",
        ),
        (json!({"realm": "dir", "scope": "all"}), "scope"),
        (
            json!({"realm": "dir", "timeout": 0}),
            "timeout must be at least 1 second",
        ),
    ] {
        let r = fail(&sim, args.clone());
        assert!(msg(&r).contains(want), "{args}: {}", msg(&r));
    }
    assert_eq!(
        sim.api_calls(),
        Vec::<String>::new(),
        "requests before the checks"
    );
}

on_each_version!(
    check_mode_then_sync_then_nothing,
    directory_changes_with_each_remove_vanished,
    a_failing_bind_fails_with_the_tasks_log,
    sync_over_ldaps_checking_the_certificate,
    refusals_before_the_sync,
);
