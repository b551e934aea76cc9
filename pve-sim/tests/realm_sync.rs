//! pve-sim's realm sync against a real directory (the tests' slapd,
//! `pve_test_support::ldap::Directory`), held to what PVE's own code does
//! with the same directory: the task logs, line for line, and user.cfg
//! afterwards, as `tests/support/tests/realm_sync.rs` measured them with
//! pve-oracle (`pve_test_support::ldap::expected`), over TLS as well. The
//! task is followed through the API (`/nodes/{node}/tasks/{upid}/status`
//! and `/log`), as a client follows it.

mod api_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_common::{sim, Sim};
use pve_sim::sync::ldap::{Connection, LdapError, Security, Tls};
use pve_sim::sync::{self, RealmConfig, SyncOptions};
use pve_sim::tasks::Task;
use pve_sim::usercfg::write_user_cfg;
use pve_test_support::ldap::expected::{
    sorted, synced_lines, tls_cases, users_dry_run, vanished_cases, CERTIFICATE_VERIFY_FAILED,
    DIRECTORY_CHANGES, FIRST_DRY_RUN, FIRST_SYNC, GROUPS, GROUPS_SYNC, PEOPLE, REALM,
    SYNC_ATTRIBUTES,
};
use pve_test_support::ldap::{Directory, FIXTURE_USERS};
use serde_json::json;

/// A realm `name` of `kind` on `dir` with `props` (domains.cfg names)
/// beside the server and bind account, binding with `password`.
fn realm_on(
    dir: &Directory,
    name: &str,
    kind: &str,
    password: Option<&str>,
    props: &[(&str, &str)],
) -> RealmConfig {
    let mut all: BTreeMap<String, String> = BTreeMap::from([
        ("server1".to_string(), dir.host.clone()),
        ("port".to_string(), dir.port.to_string()),
        ("bind_dn".to_string(), dir.bind_dn.clone()),
    ]);
    for (k, v) in props {
        all.insert(k.to_string(), v.to_string());
    }
    RealmConfig::from_properties(name, kind, &all, password.map(String::from))
}

/// The tests' LDAP realm on the people and groups, with `props`.
fn ldap_realm(dir: &Directory, props: &[(&str, &str)]) -> RealmConfig {
    let mut all = vec![
        ("base_dn", PEOPLE),
        ("user_attr", "uid"),
        ("group_dn", GROUPS),
    ];
    all.extend_from_slice(props);
    realm_on(dir, REALM, "ldap", Some(&dir.bind_password), &all)
}

/// Runs a sync with the call's `params` as root@pam and waits for its end.
fn sync(s: &Sim, realm: &RealmConfig, params: &[(&str, &str)]) -> Arc<Task> {
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = SyncOptions::resolve(&params, realm.sync_defaults_options.as_deref())
        .expect("sync options");
    let task = sync::start(
        s.store.clone(),
        s.api.tasks(),
        "root@pam",
        realm.clone(),
        opts,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while task.status().running {
        assert!(Instant::now() < deadline, "{} still runs", task.upid);
        std::thread::sleep(Duration::from_millis(10));
    }
    task
}

/// The task's log as a node's log file has it.
fn log(task: &Task) -> String {
    task.lines().iter().map(|l| format!("{l}\n")).collect()
}

fn user_cfg(s: &Sim) -> String {
    write_user_cfg(&s.store.read(|st| st.cfg.clone()))
}

#[test]
fn dry_run_prints_what_it_would_do_and_writes_nothing() {
    let dir = Directory::start();
    let s = sim("9.1");
    let realm = ldap_realm(&dir, &[("sync_attributes", SYNC_ATTRIBUTES)]);
    let before = user_cfg(&s);
    let task = sync(&s, &realm, &[("scope", "both"), ("dry-run", "1")]);
    let upid = task.upid.to_string();
    let fields: Vec<&str> = upid.split(':').collect();
    assert_eq!(fields.len(), 9, "{upid}");
    assert_eq!(fields[5..], ["auth-realm-sync-test", REALM, "root@pam", ""]);
    assert_eq!(log(&task), format!("{FIRST_DRY_RUN}TASK OK\n"));
    assert_eq!(user_cfg(&s), before, "a dry run wrote user.cfg");

    // As a client reads it.
    let node = s.api.tasks().node().to_string();
    let status = s.root_ok("GET", &format!("/nodes/{node}/tasks/{upid}/status"), &[]);
    assert_eq!(status["status"], "stopped");
    assert_eq!(status["exitstatus"], "OK");
    assert_eq!(status["type"], "auth-realm-sync-test");
    let root = s.ticket_for("root@pam");
    let r = s.call(
        "GET",
        &format!("/nodes/{node}/tasks/{upid}/log"),
        &root,
        &[("start", "11"), ("limit", "2")],
    );
    assert_eq!(
        r.ok(),
        &json!([
            {"n": 12, "t": ""},
            {"n": 13, "t": "NOTE: Dry test run, changes were NOT written to the configuration."}
        ])
    );
    assert_eq!(r.body["total"], 14);
}

#[test]
fn sync_adds_users_and_groups_named_after_the_realm() {
    let dir = Directory::start();
    let s = sim("9.1");
    // Without sync_attributes only the names come over.
    let task = sync(&s, &ldap_realm(&dir, &[]), &[("scope", "users")]);
    assert!(
        log(&task).ends_with(
            "adding user 'erin@dir'\nsuccessfully updated users configuration\nTASK OK\n"
        ),
        "{}",
        log(&task)
    );
    assert!(user_cfg(&s).contains("user:alice@dir:1:0::::::\n"));
    assert!(
        !user_cfg(&s).contains("admins-dir"),
        "scope users synced groups"
    );

    let realm = ldap_realm(&dir, &[("sync_attributes", SYNC_ATTRIBUTES)]);
    let task = sync(&s, &realm, &[("scope", "groups")]);
    assert_eq!(log(&task), format!("{GROUPS_SYNC}TASK OK\n"));
    assert!(
        !user_cfg(&s).contains("staff-dir"),
        "a posixGroup was synced"
    );

    let task = sync(&s, &realm, &[("scope", "both")]);
    assert!(log(&task).contains("updating user 'alice@dir'\n"));
    assert_eq!(synced_lines(&user_cfg(&s)), sorted(FIRST_SYNC));

    let before = user_cfg(&s);
    let task = sync(&s, &realm, &[("scope", "both")]);
    assert!(log(&task).contains("updating group 'admins-dir'\n"));
    assert_eq!(user_cfg(&s), before, "nothing changed, nothing differs");
}

#[test]
fn remove_vanished_after_the_directory_changed() {
    let dir = Directory::start();
    let s = sim("9.1");
    let realm = ldap_realm(&dir, &[("sync_attributes", SYNC_ATTRIBUTES)]);
    sync(&s, &realm, &[("scope", "both")]);
    // What PVE's admins add locally (as `vanished_cases` describes it).
    s.root_ok(
        "PUT",
        "/access/users/carol@dir",
        &[("comment", "local note")],
    );
    s.root_ok("PUT", "/access/users/dave@dir", &[("enable", "0")]);
    s.root_ok("POST", "/access/users/bob@dir/token/ci", &[]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("users", "erin@dir"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/"),
            ("groups", "admins-dir"),
            ("roles", "PVEAuditor"),
        ],
    );
    s.root_ok(
        "PUT",
        "/access/users/root@pam",
        &[("groups", "operators-dir")],
    );
    dir.modify(DIRECTORY_CHANGES);
    let start = s.store.read(|st| st.clone());

    for case in vanished_cases() {
        let vanished = case.option;
        s.store
            .write(|st| {
                *st = start.clone();
                Ok::<_, pve_sim::store::StoreError>(())
            })
            .unwrap();
        let mut params = vec![("scope", "both"), ("remove-vanished", vanished)];
        if !case.enable_new {
            params.push(("enable-new", "0"));
        }
        let before = user_cfg(&s);
        let mut dry = params.clone();
        dry.push(("dry-run", "1"));
        let task = sync(&s, &realm, &dry);
        assert_eq!(
            log(&task),
            format!("{}TASK OK\n", case.dry_log),
            "dry run, remove-vanished {vanished}"
        );
        assert_eq!(user_cfg(&s), before, "dry run, remove-vanished {vanished}");
        let task = sync(&s, &realm, &params);
        assert_eq!(
            log(&task),
            format!("{}TASK OK\n", case.log),
            "remove-vanished {vanished}"
        );
        assert_eq!(
            synced_lines(&user_cfg(&s)),
            case.lines,
            "remove-vanished {vanished}"
        );
    }
}

#[test]
fn a_failed_sync_is_a_failed_task_and_writes_nothing() {
    let dir = Directory::start();
    let s = sim("9.1");
    let before = user_cfg(&s);
    let people = [("base_dn", PEOPLE), ("user_attr", "uid")];
    let cases = [
        (
            realm_on(&dir, "bad", "ldap", Some("not-the-password"), &people),
            "ldap bind failed: Invalid credentials",
        ),
        (
            realm_on(&dir, "bad", "ldap", None, &people),
            "missing password for realm bad",
        ),
        (
            RealmConfig {
                bind_dn: None,
                ..realm_on(&dir, "bad", "ldap", None, &people)
            },
            "ldap user search error: No such object",
        ),
        (
            RealmConfig {
                port: Some(free_port()),
                ..realm_on(&dir, "bad", "ldap", Some("x"), &people)
            },
            "Connection refused",
        ),
    ];
    for (realm, error) in cases {
        let task = sync(&s, &realm, &[("scope", "users")]);
        assert_eq!(
            log(&task),
            format!("starting sync for realm bad\nTASK ERROR: {error}\n")
        );
        assert_eq!(task.status().exitstatus.as_deref(), Some(error));
        assert_eq!(user_cfg(&s), before);
    }
}

/// A loopback port nothing listens on (just released by us).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An AD realm as far as slapd stands in for AD: the base from the root
/// DSE's defaultNamingContext, users by sAMAccountName, AD's group class.
#[test]
fn ad_realm_syncs_from_the_ad_subtree() {
    let dir = Directory::start();
    let s = sim("9.1");
    let realm = realm_on(
        &dir,
        "corp",
        "ad",
        Some(&dir.bind_password),
        &[
            ("domain", "pve-access.test"),
            ("sync_attributes", SYNC_ATTRIBUTES),
            ("group_name_attr", "sAMAccountName"),
        ],
    );
    let task = sync(&s, &realm, &[("scope", "both")]);
    assert_eq!(
        log(&task)
            .matches("value '@corp' does not look like a valid user name\n")
            .count(),
        5,
        "{}",
        log(&task)
    );
    assert!(log(&task).ends_with("\nTASK OK\n"));
    let cfg = user_cfg(&s);
    let users: Vec<&str> = cfg
        .lines()
        .filter(|l| l.starts_with("user:") && l.contains("@corp:"))
        .collect();
    assert_eq!(
        users,
        [
            "user:gina@corp:1:0:Gina:Grey:gina@pve-access.test:::",
            "user:hank@corp:1:0:Hank:Hill::::"
        ]
    );
    assert!(
        cfg.contains("group:domain-ops-corp:gina@corp,hank@corp::"),
        "{cfg}"
    );
    assert!(cfg.contains("group:admins-corp:::"), "{cfg}");
}

/// The LDAP client on its own: all entries come back through pages smaller
/// than the result (PVE asks for 900 users a page; two here, so the cookie
/// is followed), filters of every kind are understood, the root DSE read.
#[test]
fn the_client_reads_in_pages_with_any_filter() {
    let dir = Directory::start();
    let mut conn = Connection::connect(
        &[dir.host.as_str()],
        dir.port,
        Security::Plain,
        &Tls::default(),
    )
    .expect("connect");
    conn.bind(&dir.bind_dn, &dir.bind_password).expect("bind");
    let uids = |conn: &mut Connection, filter: &str| {
        let mut uids: Vec<String> = conn
            .search(PEOPLE, true, filter, &["uid"], Some(2))
            .expect(filter)
            .iter()
            .map(|e| String::from_utf8_lossy(e.first("UID").unwrap_or_default()).into_owned())
            .collect();
        uids.sort();
        uids
    };
    assert_eq!(
        uids(&mut conn, "(objectClass=inetOrgPerson)"),
        FIXTURE_USERS
    );
    assert_eq!(
        uids(&mut conn, "(&(uid=*a*)(!(uid=dave))(|(mail=*)(sn>=A)))"),
        ["alice", "carol"]
    );
    assert_eq!(
        conn.search(PEOPLE, true, "(uid=a", &["uid"], None),
        Err(LdapError("Bad search filter".to_string()))
    );
    assert_eq!(
        conn.root_dse("defaultNamingContext"),
        Ok(Some(dir.base_dn.clone()))
    );
}

/// Waits for the task `upid` to stop, through the API as a client does,
/// and returns its log as a node's log file has it.
fn follow(s: &Sim, upid: &str) -> String {
    let node = s.api.tasks().node().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.root_ok("GET", &format!("/nodes/{node}/tasks/{upid}/status"), &[])["status"]
        == "running"
    {
        assert!(Instant::now() < deadline, "{upid} still runs");
        std::thread::sleep(Duration::from_millis(10));
    }
    let lines = s.root_ok("GET", &format!("/nodes/{node}/tasks/{upid}/log"), &[]);
    let lines = lines.as_array().expect("the log's lines");
    lines
        .iter()
        .map(|l| format!("{}\n", l["t"].as_str().unwrap_or_default()))
        .collect()
}

/// The real code's `the_api_returns_the_upid_and_the_task_runs_on`
/// (tests/support/tests/realm_sync.rs), through pve-sim's API: realms
/// made with `POST /access/domains`, the sync started with a token, the
/// refusals in PVE's order.
#[test]
fn the_api_returns_the_upid_and_the_task_runs_on() {
    for version in ["9.1", "8.4"] {
        let dir = Directory::start();
        let s = sim(version);
        let server = [
            ("server1", dir.host.as_str()),
            ("bind_dn", dir.bind_dn.as_str()),
        ];
        let port = dir.port.to_string();
        let realm = |name: &str, password: &str, extra: &[(&str, &str)]| {
            let mut params = vec![
                ("realm", name),
                ("type", "ldap"),
                ("port", port.as_str()),
                ("password", password),
                ("base_dn", PEOPLE),
                ("user_attr", "uid"),
            ];
            params.extend_from_slice(&server);
            params.extend_from_slice(extra);
            s.root_ok("POST", "/access/domains", &params);
        };
        realm(
            REALM,
            &dir.bind_password,
            &[("group_dn", GROUPS), ("sync_attributes", SYNC_ATTRIBUTES)],
        );
        realm("bad", "not-the-password", &[]);
        let token = s.token("root@pam", "sync", &[("privsep", "0")]);
        let sync = |realm: &str, params: &[(&str, &str)]| {
            s.call(
                "POST",
                &format!("/access/domains/{realm}/sync"),
                &token,
                params,
            )
        };

        let upid = sync(REALM, &[("scope", "both"), ("dry-run", "1")])
            .ok()
            .clone();
        let upid = upid.as_str().expect("a UPID");
        assert!(
            upid.ends_with(":auth-realm-sync-test:dir:root@pam!sync:"),
            "{upid}"
        );
        assert_eq!(follow(&s, upid), format!("{FIRST_DRY_RUN}TASK OK\n"));
        assert!(!user_cfg(&s).contains("@dir"), "a dry run wrote user.cfg");

        // The realm's stored defaults fill what the call leaves out.
        s.root_ok(
            "PUT",
            &format!("/access/domains/{REALM}"),
            &[("sync-defaults-options", "scope=both,enable-new=1")],
        );
        let upid = sync(REALM, &[]).ok().clone();
        let log = follow(&s, upid.as_str().unwrap_or_default());
        assert!(
            log.ends_with("successfully updated users and groups configuration\nTASK OK\n"),
            "{log}"
        );
        assert_eq!(synced_lines(&user_cfg(&s)), sorted(FIRST_SYNC));

        let upid = sync("bad", &[("scope", "users")]).ok().clone();
        assert_eq!(
            follow(&s, upid.as_str().unwrap_or_default()),
            "starting sync for realm bad\nTASK ERROR: ldap bind failed: Invalid credentials\n"
        );

        sync("pve", &[("scope", "users")]).status(
            500,
            "Cannot sync realm type 'pve'! Only LDAP/AD realms can be synced.",
        );
        let r = sync("nope", &[("scope", "users")]);
        assert_eq!(r.status, 400);
        assert_eq!(r.body["errors"], json!({"realm": "Realm does not exist."}));
        let r = sync("bad", &[]);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errors"],
            json!({"scope": "Not passed as parameter and not defined in realm default sync options."})
        );

        // Realm.AllocateUser on the realm and User.Modify on /access/groups.
        s.root_ok(
            "POST",
            "/access/users",
            &[("userid", "helper@pve"), ("password", "helper-pw-1")],
        );
        s.root_ok(
            "PUT",
            "/access/acl",
            &[
                ("path", "/access/realm/dir"),
                ("users", "helper@pve"),
                ("roles", "PVEUserAdmin"),
            ],
        );
        let helper = s.login("helper@pve", "helper-pw-1");
        let path = format!("/access/domains/{REALM}/sync");
        let r = s.call("POST", &path, &helper, &[("scope", "users")]);
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.raw));
        s.root_ok(
            "PUT",
            "/access/acl",
            &[
                ("path", "/access/groups"),
                ("users", "helper@pve"),
                ("roles", "PVEUserAdmin"),
            ],
        );
        let upid = s
            .call("POST", &path, &helper, &[("scope", "users")])
            .ok()
            .clone();
        assert!(
            upid.as_str().unwrap_or_default().ends_with(":helper@pve:"),
            "{upid}"
        );
    }
}

/// The sync over TLS as PVE's code did it (tests/support/tests/realm_sync.rs,
/// `sync_over_tls`): every measured case's dry run, word for word, then
/// real syncs over ldaps and StartTLS verifying against the test CA, and
/// one against a wrong CA that changes nothing.
#[test]
fn sync_over_tls() {
    let dir = Directory::start_with_tls();
    let no_tls = Directory::start();
    let s = sim("9.1");
    let realm_with = |realm: &str, props: &[(String, String)], extra: &[(&str, &str)]| {
        let mut all: BTreeMap<String, String> = BTreeMap::from([
            ("bind_dn".to_string(), dir.bind_dn.clone()),
            ("base_dn".to_string(), PEOPLE.to_string()),
            ("user_attr".to_string(), "uid".to_string()),
        ]);
        all.extend(props.iter().cloned());
        all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        RealmConfig::from_properties(realm, "ldap", &all, Some(dir.bind_password.clone()))
    };
    let before = user_cfg(&s);
    for (i, case) in tls_cases().iter().enumerate() {
        let name = format!("tls{i}");
        let realm = realm_with(&name, &dir.tls_realm(&no_tls, case), &[]);
        let task = sync(&s, &realm, &[("scope", "users"), ("dry-run", "1")]);
        let want = match case.error {
            None => format!("{}TASK OK\n", users_dry_run(&name)),
            Some(error) => {
                format!("(dry test run) starting sync for realm {name}\nTASK ERROR: {error}\n")
            }
        };
        assert_eq!(log(&task), want, "{}", case.name);
    }
    assert_eq!(user_cfg(&s), before, "a dry run wrote user.cfg");

    let case = |name: &str| {
        let case = tls_cases()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no TLS case {name}"));
        dir.tls_realm(&no_tls, &case)
    };
    let tls = dir.tls.as_ref().expect("the TLS side");
    let other_ca = tls.other_ca().to_string_lossy().into_owned();
    let groups = [("group_dn", GROUPS), ("sync_attributes", SYNC_ATTRIBUTES)];
    let ldaps = case("ldaps, CA file");
    let mut wrong = groups.to_vec();
    wrong.push(("capath", &other_ca));
    let task = sync(&s, &realm_with(REALM, &ldaps, &wrong), &[("scope", "both")]);
    assert_eq!(
        log(&task),
        format!("starting sync for realm dir\nTASK ERROR: {CERTIFICATE_VERIFY_FAILED}\n")
    );
    assert_eq!(user_cfg(&s), before, "a sync refused by TLS wrote user.cfg");

    let task = sync(
        &s,
        &realm_with(REALM, &ldaps, &groups),
        &[("scope", "both")],
    );
    assert!(
        log(&task).ends_with("successfully updated users and groups configuration\nTASK OK\n"),
        "{}",
        log(&task)
    );
    assert_eq!(synced_lines(&user_cfg(&s)), sorted(FIRST_SYNC));

    dir.modify(DIRECTORY_CHANGES);
    let starttls = case("starttls, CA file");
    let task = sync(
        &s,
        &realm_with(REALM, &starttls, &groups),
        &[("scope", "both")],
    );
    assert!(
        log(&task).contains("adding user 'frank@dir'\n"),
        "{}",
        log(&task)
    );
    assert!(user_cfg(&s).contains("user:frank@dir:1:0:Frank:Fox:frank@pve-access.test:::"));

    // Where pve-sim's words differ from PVE's (rustls is no OpenSSL), the
    // failure is a failed task all the same. Measured with PVE: a missing CA
    // file is `SSL_ca_file /nonexistent.pem can't be used: No such file or
    // directory at /usr/share/perl5/IO/Socket/SSL.pm line 464.`, TLS 1.1
    // `SSL connect attempt failed error:0A00014D:SSL routines::legacy sigalg
    // disallowed or unsupported`.
    let mut missing = ldaps.clone();
    missing.retain(|(k, _)| k != "capath");
    missing.push(("capath".to_string(), "/nonexistent.pem".to_string()));
    let old = case("ldaps");
    let mut tls11 = old.clone();
    tls11.push(("sslversion".to_string(), "tlsv1_1".to_string()));
    for (props, error) in [
        (
            missing,
            "SSL_ca_file /nonexistent.pem can't be used: No such file or directory",
        ),
        (
            tls11,
            "SSL connect attempt failed: pve-sim speaks TLS 1.2 and 1.3 only, not sslversion 'tlsv1_1' (PVE's OpenSSL refuses it too); set sslversion to tlsv1_2 or tlsv1_3",
        ),
    ] {
        let task = sync(&s, &realm_with("odd", &props, &[]), &[("scope", "users")]);
        assert_eq!(
            log(&task),
            format!("starting sync for realm odd\nTASK ERROR: {error}\n")
        );
    }
}
