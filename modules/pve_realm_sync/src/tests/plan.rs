use super::*;
use ansible_module::Map;

fn params(v: Value) -> Params {
    Params::from_map(v.as_object().cloned().expect("params are an object"))
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn realm(kind: &str, defaults: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    if let Some(d) = defaults {
        m.insert("sync-defaults-options".into(), json!(d));
    }
    m
}

fn user(id: &str, email: Option<&str>) -> User {
    let mut u = User::new(id);
    u.email = email.map(str::to_string);
    u
}

fn group(id: &str, members: &[&str]) -> Group {
    let mut g = Group::new(id);
    g.members = members.iter().map(|m| m.to_string()).collect();
    g
}

fn acl(ugid: &str, kind: PrincipalKind) -> AclEntry {
    AclEntry {
        path: "/".into(),
        kind,
        ugid: ugid.into(),
        roleid: "PVEAuditor".into(),
        propagate: true,
    }
}

#[test]
fn options_become_pves_parameters() {
    let d = desired(json!({"realm": "dir", "scope": "both", "enable_new": false,
        "remove_vanished": ["properties", "acl", "entry", "acl"], "timeout": 300}));
    let req = d.request(false);
    assert_eq!(req.path, "/access/domains/dir/sync");
    assert_eq!(req.value("scope"), Some("both"));
    assert_eq!(req.value("enable-new"), Some("0"));
    assert_eq!(req.value("remove-vanished"), Some("acl;entry;properties"));
    assert_eq!(req.value("dry-run"), None);
    assert_eq!(d.request(true).value("dry-run"), Some("1"));

    let none = desired(json!({"realm": "dir", "remove_vanished": []}));
    assert_eq!(none.request(false).value("remove-vanished"), Some("none"));
    let defaults = desired(json!({"realm": "dir"}));
    let req = defaults.request(false);
    for left_to_the_realm in ["scope", "enable-new", "remove-vanished"] {
        assert_eq!(req.value(left_to_the_realm), None, "{left_to_the_realm}");
    }
}

#[test]
fn bad_options_are_refused_before_any_request() {
    for bad in ["d", "1dir", "di r", "a-realm-name-that-is-far-too-long-x"] {
        let e = Desired::from_params(&params(json!({"realm": bad}))).unwrap_err();
        assert!(e.msg.contains("no valid realm id"), "{bad}: {}", e.msg);
    }
    let e = Desired::from_params(&params(json!({"realm": "dir", "timeout": 0}))).unwrap_err();
    assert_eq!(e.msg, "timeout must be at least 1 second, got 0");
    let d = desired(json!({"realm": "dir", "remove_vanished": ["entry"]}));
    assert!(d.warning().unwrap().contains("add 'acl'"));
    assert_eq!(
        desired(json!({"realm": "dir", "remove_vanished": ["entry", "acl"]})).warning(),
        None
    );
}

#[test]
fn the_realm_must_exist_be_a_directory_and_give_a_scope() {
    let d = desired(json!({"realm": "dir"}));
    assert!(d.no_realm().contains("does not exist: create it first"));
    assert_eq!(d.unpredictable()["changed"], true);
    assert_eq!(
        d.check_realm(&realm("pve", None)).unwrap_err().msg,
        "realm 'dir' is of type 'pve': only LDAP and AD realms can be synced"
    );
    assert!(d
        .check_realm(&realm("ldap", None))
        .unwrap_err()
        .msg
        .starts_with("no scope"));
    assert!(d
        .check_realm(&realm("ad", Some("enable-new=0,scope=users")))
        .is_ok());
    let scoped = desired(json!({"realm": "dir", "scope": "users"}));
    assert!(scoped.check_realm(&realm("ldap", None)).is_ok());
}

#[test]
fn upids_name_their_node() {
    assert_eq!(
        upid_node("UPID:pve1:0001A2B3:00C0FFEE:6750A1B2:auth-realm-sync:dir:root@pam:"),
        Some("pve1")
    );
    assert_eq!(upid_node("nonsense"), None);
    assert_eq!(upid_node("UPID::x"), None);
}

#[test]
fn a_real_run_reports_what_differs_only() {
    let before = Snapshot::of(
        "dir",
        &[
            user("alice@dir", Some("a@x")),
            user("bob@dir", None),
            user("erin@dir", None),
            user("root@pam", None),
        ],
        &[group("admins-dir", &["alice@dir"]), group("ops", &[])],
        &[
            acl("erin@dir", PrincipalKind::User),
            acl("ops", PrincipalKind::Group),
        ],
    );
    assert_eq!(before.users.len(), 3, "only the realm's users");
    assert_eq!(before.groups.len(), 1, "only the realm's groups");
    assert_eq!(
        before.acl.iter().collect::<Vec<_>>(),
        ["/:erin@dir:PVEAuditor"]
    );
    let same = Report::between(&before, &before.clone());
    assert!(!same.changed());
    assert_eq!(
        same.message("dir", false),
        "realm 'dir' synced: nothing changed"
    );

    let after = Snapshot::of(
        "dir",
        &[
            user("alice@dir", Some("new@x")),
            user("bob@dir", None),
            user("frank@dir", None),
        ],
        &[group("admins-dir", &["alice@dir", "bob@dir"])],
        &[],
    );
    let r = Report::between(&before, &after);
    assert!(r.changed());
    assert_eq!(r.users.added, ["frank@dir"]);
    assert_eq!(r.users.updated, ["alice@dir"]);
    assert_eq!(r.users.removed, ["erin@dir"]);
    assert_eq!(r.groups.updated, ["admins-dir"], "members changed");
    assert_eq!(r.acl_removed, ["/:erin@dir:PVEAuditor"]);
    let mut out = Map::new();
    r.to_result(&mut out);
    assert_eq!(out["added"], json!({"users": ["frank@dir"], "groups": []}));
    assert_eq!(
        out["removed"],
        json!({"users": ["erin@dir"], "groups": [], "acl": ["/:erin@dir:PVEAuditor"]})
    );
    assert_eq!(
        r.message("dir", false),
        "realm 'dir' synced: 1 user added (frank@dir); 1 user updated (alice@dir); 1 user removed (erin@dir); 1 group updated (admins-dir); 1 ACL entry removed (/:erin@dir:PVEAuditor)"
    );
}

#[test]
fn a_dry_run_reports_its_additions_and_removals() {
    let before = Snapshot::of(
        "dir",
        &[user("alice@dir", None), user("erin@dir", None)],
        &[group("gone-dir", &[])],
        &[
            acl("erin@dir", PrincipalKind::User),
            acl("gone-dir", PrincipalKind::Group),
        ],
    );
    let log: Vec<String> = [
        "(dry test run) starting sync for realm dir",
        "got data from server, updating users and groups",
        "syncing users (remove-vanished opts: acl;entry)",
        "deleting outdated existing users first",
        "remove user 'erin@dir'",
        "purge users 'erin@dir' ACL entries",
        "updating user 'alice@dir'",
        "adding user 'bob@dir'",
        "adding user 'carol@dir'",
        "syncing groups (remove-vanished opts: acl;entry)",
        "remove group 'gone-dir'",
        "adding group 'admins-dir'",
        "",
        "NOTE: Dry test run, changes were NOT written to the configuration.",
        "TASK OK",
    ]
    .map(String::from)
    .to_vec();
    let r = Report::from_dry_run(&log, &before);
    assert_eq!(r.users.added, ["bob@dir", "carol@dir"]);
    assert_eq!(r.users.removed, ["erin@dir"]);
    assert!(
        r.users.updated.is_empty(),
        "'updating' says nothing changed"
    );
    assert_eq!(r.groups.added, ["admins-dir"]);
    assert_eq!(r.groups.removed, ["gone-dir"]);
    assert_eq!(
        r.acl_removed,
        ["/:erin@dir:PVEAuditor"],
        "only the purged principals"
    );
    assert!(r
        .message("dir", true)
        .contains("2 users would be added (bob@dir, carol@dir)"));
    assert!(r
        .message("dir", true)
        .ends_with("does not show changed attributes or group members"));
    let after = r.predict(&before);
    assert_eq!(
        after.users.keys().collect::<Vec<_>>(),
        ["alice@dir", "bob@dir", "carol@dir"]
    );
    assert_eq!(after.groups.keys().collect::<Vec<_>>(), ["admins-dir"]);

    let quiet = Report::from_dry_run(&log[..7], &before);
    assert_eq!(quiet.users.added, Vec::<String>::new());
    let unchanged = Report::from_dry_run(&["updating user 'alice@dir'".to_string()], &before);
    assert!(!unchanged.changed());
}
