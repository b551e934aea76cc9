use super::*;
use ansible_module::Map;
use PrincipalKind::{Group, Token, User};

fn params(v: Value) -> Params {
    let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
    for (k, d) in [
        ("propagate", json!(true)),
        ("state", json!("present")),
        ("exclusive", json!(false)),
    ] {
        m.entry(k).or_insert(d);
    }
    // Entries are Params of their own, as the validator makes them.
    Params::from_map(m)
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn refused(v: Value) -> String {
    Desired::from_params(&params(v)).unwrap_err().0
}

fn acl(path: &str, kind: PrincipalKind, ugid: &str, role: &str, propagate: bool) -> AclEntry {
    AclEntry {
        path: path.into(),
        kind,
        ugid: ugid.into(),
        roleid: role.into(),
        propagate,
    }
}

fn ok(d: &Desired, cur: &[AclEntry]) -> Plan {
    plan(d, cur, false).unwrap()
}

fn reqs(p: &Plan) -> Vec<ApiRequest> {
    p.steps.iter().map(|s| s.request.clone()).collect()
}

/// The server after the plan's requests, applied as PVE applies them.
fn apply(cur: &[AclEntry], p: &Plan) -> Vec<AclEntry> {
    applied(&entries(cur), &p.steps)
        .iter()
        .map(|(g, p)| g.entry(*p))
        .collect()
}

fn principal(kind: PrincipalKind, id: &str) -> Principal {
    Principal::new(kind, id)
}

fn lists(roles: bool, users: bool, groups: bool) -> Lists {
    Lists {
        roles,
        users,
        groups,
    }
}

fn put(path: &str) -> ApiRequest {
    ApiRequest::put("/access/acl").param("path", path)
}

#[test]
fn single_entry_options_are_read() {
    let d = desired(
        json!({"path": "/vms/100/", "roles": ["PVEVMUser", "PVEAuditor,PVEVMUser"],
            "users": ["joe@pve"], "groups": ["ops"], "tokens": ["ci@pve!deploy"], "propagate": false}),
    );
    assert_eq!(
        d.items,
        vec![Item {
            path: "/vms/100".into(),
            roles: vec!["PVEAuditor".into(), "PVEVMUser".into()],
            principals: vec![
                principal(User, "joe@pve"),
                principal(Group, "ops"),
                principal(Token, "ci@pve!deploy")
            ],
            propagate: false,
            present: true,
        }]
    );
    assert!(!d.exclusive);
}

#[test]
fn entries_take_the_tasks_state_and_propagate_unless_given() {
    let d = desired(json!({"state": "absent", "propagate": false, "entries": [
        {"path": "/", "roles": ["A"], "users": ["a@pve"]},
        {"path": "storage", "roles": ["B"], "groups": ["g"], "state": "present", "propagate": true},
    ]}));
    assert_eq!(d.items.len(), 2);
    assert!(!d.items[0].present && !d.items[0].propagate);
    assert!(d.items[1].present && d.items[1].propagate);
    assert_eq!(d.items[1].path, "/storage");
}

#[test]
fn validation_failures_name_the_entry() {
    let e = refused(json!({"path": "/users", "roles": ["A"], "users": ["a@pve"]}));
    assert!(
        e.starts_with("invalid ACL path '/users': PVE accepts ACL entries only on its own paths"),
        "{e}"
    );
    let e = refused(
        json!({"entries": [{"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "/vms/99", "roles": ["A"], "users": ["a@pve"]}]}),
    );
    assert!(
        e.starts_with("entries[1]: invalid ACL path '/vms/99'"),
        "{e}"
    );
    let e = refused(json!({"path": "/vms/1 00", "roles": ["A"], "users": ["a@pve"]}));
    assert!(
        e.starts_with("invalid ACL path '/vms/1 00': PVE paths hold only"),
        "{e}"
    );
    // Removing works on any path that normalises, as in PVE.
    let d =
        desired(json!({"path": "/users/", "roles": ["A"], "users": ["a@pve"], "state": "absent"}));
    assert_eq!(d.items[0].path, "/users");
    let e = refused(json!({"path": "/", "roles": ["A"]}));
    assert!(
        e.starts_with("either 'users', 'groups' or 'tokens' is required"),
        "{e}"
    );
    let e = refused(json!({"path": "/", "users": ["a@pve"]}));
    assert!(e.starts_with("roles is required"), "{e}");
    let e = refused(json!({"path": "/", "roles": ["A"], "users": ["nobody"]}));
    assert!(e.starts_with("users: "), "{e}");
    let e = refused(json!({"path": "/", "roles": ["A"], "tokens": ["deploy"]}));
    assert!(
        e.contains("not a full token id: give it as user@realm!deploy"),
        "{e}"
    );
    let e = refused(json!({"path": "/", "roles": ["bad role!"], "groups": ["g"]}));
    assert!(e.starts_with("roles: "), "{e}");
    let e = refused(json!({"path": "/", "roles": ["A"], "groups": ["bad/group"]}));
    assert!(e.starts_with("groups: "), "{e}");
    let e = refused(json!({"roles": ["A"], "groups": ["g"]}));
    assert_eq!(e, "one of path or entries is required");
    // The same entry asked for in two ways.
    let e = refused(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "/", "roles": ["A"], "users": ["a@pve"], "propagate": false}]}));
    assert!(
        e.contains("twice, differently (present with propagate and present without propagate)"),
        "{e}"
    );
    let e = refused(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"]},
            {"path": "//", "roles": ["A"], "users": ["a@pve"], "state": "absent"}]}));
    assert!(e.contains("role 'A' of user 'a@pve' on '/' twice"), "{e}");
}

#[test]
fn root_pam_is_left_out_with_a_warning() {
    let d = desired(json!({"path": "/", "roles": ["A"], "users": ["root@pam", "a@pve"]}));
    assert_eq!(d.items[0].principals, vec![principal(User, "a@pve")]);
    assert_eq!(d.warnings.len(), 1);
    let d = desired(json!({"path": "/", "roles": ["A"], "users": ["root@pam"]}));
    assert_eq!(d.items.len(), 1);
    assert!(d.items[0].principals.is_empty());
    let p = ok(&d, &[]);
    assert!(!p.changed);
    assert!(p.steps.is_empty());
}

#[test]
fn the_roles_of_a_root_pam_only_entry_are_still_checked() {
    let d = desired(json!({"path": "/", "roles": ["A", "Typo"], "users": ["root@pam"]}));
    let p = ok(&d, &[]);
    // Only the role list is read: nothing is written for root@pam.
    assert_eq!(lists_to_read(&d, &p), lists(true, false, false));
    let known = Known {
        roles: Some(["A".to_string()].into()),
        ..Known::default()
    };
    assert_eq!(
        check_names(&d, &p, &known, false).unwrap_err().0,
        "ACL not changed: role 'Typo' does not exist (create it first, e.g. with pve.access.pve_role). Nothing was written"
    );
    assert_eq!(
        check_names(&d, &p, &known, true),
        Ok(vec![
            "role 'Typo' does not exist yet; assuming an earlier task creates it".to_string()
        ])
    );
}

#[test]
fn check_mode_assumes_missing_names_but_not_missing_builtin_roles() {
    let d = desired(
        json!({"path": "/", "roles": ["TerraformRole"], "users": ["terraform@pve"],
            "groups": ["ops"], "tokens": ["terraform@pve!tf"]}),
    );
    let p = ok(&d, &[]);
    let none = Some(BTreeSet::new());
    let known = Known {
        roles: none.clone(),
        users: none.clone(),
        groups: none.clone(),
        tokens: none,
    };
    assert_eq!(
        check_names(&d, &p, &known, true),
        Ok([
            "role 'TerraformRole'",
            "user 'terraform@pve'",
            "group 'ops'",
            "token 'terraform@pve!tf'"
        ]
        .iter()
        .map(|n| format!("{n} does not exist yet; assuming an earlier task creates it"))
        .collect())
    );
    let e = check_names(&d, &p, &known, false).unwrap_err().0;
    assert!(
        e.starts_with("ACL not changed: role 'TerraformRole' does not exist (create it first"),
        "{e}"
    );
    // No task creates a built-in role that this PVE version lacks.
    let d = desired(json!({"path": "/", "roles": ["PVESDNUser"], "groups": ["ops"]}));
    let e = check_names(&d, &ok(&d, &[]), &known, true).unwrap_err().0;
    assert_eq!(e, "ACL not changed: role 'PVESDNUser' does not exist (create it first, e.g. with pve.access.pve_role). Nothing was written");
}

#[test]
fn create_is_one_put_for_all_principal_kinds() {
    let d = desired(json!({"path": "/", "roles": ["B", "A"], "users": ["u@pve"],
            "groups": ["g"], "tokens": ["u@pve!tok"]}));
    let p = ok(&d, &[]);
    assert!(p.changed);
    assert_eq!(
        reqs(&p),
        vec![put("/")
            .param("roles", "A,B")
            .param("users", "u@pve")
            .param("groups", "g")
            .param("tokens", "u@pve!tok")
            .param("propagate", 1)]
    );
    assert_eq!(p.msg, "added 6, changed 0 and removed 0 ACL entries");
    let changes = changes(&[], &p);
    assert_eq!(changes.len(), 6);
    assert_eq!(
        changes[0],
        json!({"action": "add", "path": "/", "type": "user", "ugid": "u@pve", "roleid": "A", "propagate": true})
    );
    assert_eq!(p.before, json!([]));
    assert_eq!(p.after.as_array().map(Vec::len), Some(6));
    assert_eq!(
        plan(&d, &[], true).unwrap().msg,
        "would add 6, change 0 and remove 0 ACL entries"
    );
}

#[test]
fn many_entries_are_grouped_into_the_fewest_puts() {
    let d = desired(json!({"entries": [
        {"path": "/vms/100", "roles": ["PVEVMUser"], "groups": ["ops"]},
        {"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["a@pve"]},
        {"path": "/vms/101", "roles": ["PVEVMUser"], "groups": ["ops"]},
        {"path": "/storage/local", "roles": ["PVEDatastoreUser"], "groups": ["ops"], "propagate": false},
        {"path": "/storage/local", "roles": ["PVEAuditor"], "groups": ["ops"]},
    ]}));
    let p = ok(&d, &[]);
    assert_eq!(
        reqs(&p),
        vec![
            put("/storage/local")
                .param("roles", "PVEDatastoreUser")
                .param("groups", "ops")
                .param("propagate", 0),
            put("/storage/local")
                .param("roles", "PVEAuditor")
                .param("groups", "ops")
                .param("propagate", 1),
            put("/vms/100")
                .param("roles", "PVEVMUser")
                .param("users", "a@pve")
                .param("groups", "ops")
                .param("propagate", 1),
            put("/vms/101")
                .param("roles", "PVEVMUser")
                .param("groups", "ops")
                .param("propagate", 1),
        ]
    );
    let after = apply(&[], &p);
    assert_eq!(after.len(), 5);
    assert!(!ok(&d, &after).changed);
}

#[test]
fn existing_entries_are_covered_when_that_saves_a_request() {
    // a already has A: granting A,B to a and b is still one request.
    let cur = [acl("/", User, "a@pve", "A", true)];
    let d = desired(json!({"path": "/", "roles": ["A", "B"], "users": ["a@pve", "b@pve"]}));
    let p = ok(&d, &cur);
    assert_eq!(
        reqs(&p),
        vec![put("/")
            .param("roles", "A,B")
            .param("users", "a@pve,b@pve")
            .param("propagate", 1)]
    );
    assert_eq!(changes(&cur, &p).len(), 3, "only real changes are listed");
    assert_eq!(p.msg, "added 3, changed 0 and removed 0 ACL entries");
    // Not when the existing entry has the other flag: that would change it.
    let cur = [acl("/", User, "a@pve", "A", false)];
    let d = desired(json!({"entries": [
            {"path": "/", "roles": ["A"], "users": ["a@pve"], "propagate": false},
            {"path": "/", "roles": ["B"], "users": ["a@pve"]},
            {"path": "/", "roles": ["A", "B"], "users": ["b@pve"]}]}));
    let p = ok(&d, &cur);
    assert_eq!(p.steps.len(), 2);
    assert_eq!(
        apply(&cur, &p)
            .iter()
            .filter(|e| e.ugid == "a@pve" && e.roleid == "A")
            .map(|e| e.propagate)
            .collect::<Vec<_>>(),
        vec![false]
    );
}

#[test]
fn no_op_in_any_order() {
    let cur = [
        acl("/", Group, "ops", "A", true),
        acl("/", Group, "ops", "B", true),
        acl("/", User, "x@pve", "C", true),
    ];
    for d in [
        desired(json!({"path": "/", "roles": ["B", "A"], "groups": ["ops"]})),
        desired(json!({"path": "//", "roles": ["A,B"], "groups": ["ops", "ops"]})),
        desired(json!({"path": "/", "roles": ["Z"], "groups": ["ops"], "state": "absent"})),
        desired(json!({"path": "/", "roles": ["A", "B"], "groups": ["ops"], "exclusive": true})),
    ]
    .into_iter()
    .filter(|d| !d.items.is_empty())
    {
        let p = ok(&d, &cur);
        assert!(!p.changed, "{d:?}");
        assert!(p.steps.is_empty() && changes(&cur, &p).is_empty());
        assert_eq!(p.before, p.after);
        assert_eq!(p.msg, "ACL entries unchanged");
    }
}

#[test]
fn propagate_change_is_an_update() {
    let cur = [acl("/vms/100", User, "a@pve", "A", true)];
    let d = desired(
        json!({"path": "/vms/100", "roles": ["A"], "users": ["a@pve"], "propagate": false}),
    );
    let p = ok(&d, &cur);
    assert_eq!(
        reqs(&p),
        vec![put("/vms/100")
            .param("roles", "A")
            .param("users", "a@pve")
            .param("propagate", 0)]
    );
    assert_eq!(
        changes(&cur, &p),
        vec![
            json!({"action": "update", "path": "/vms/100", "type": "user", "ugid": "a@pve", "roleid": "A", "propagate": false})
        ]
    );
    assert_eq!(p.msg, "added 0, changed 1 and removed 0 ACL entries");
    assert_eq!(p.before[0]["propagate"], json!(true));
    assert_eq!(p.after[0]["propagate"], json!(false));
}

#[test]
fn absent_removes_only_what_exists() {
    let cur = [
        acl("/", User, "a@pve", "A", false),
        acl("/", User, "b@pve", "A", true),
    ];
    let d = desired(
        json!({"path": "/", "roles": ["A", "B"], "users": ["a@pve", "c@pve"], "state": "absent"}),
    );
    let p = ok(&d, &cur);
    assert_eq!(
        reqs(&p),
        vec![put("/")
            .param("roles", "A")
            .param("users", "a@pve")
            .param("delete", 1)]
    );
    assert_eq!(
        changes(&cur, &p),
        vec![
            json!({"action": "remove", "path": "/", "type": "user", "ugid": "a@pve", "roleid": "A", "propagate": false})
        ]
    );
    assert_eq!(p.after, json!([]));
    assert_eq!(p.msg, "added 0, changed 0 and removed 1 ACL entries");
    // b@pve, not named, stays.
    assert_eq!(apply(&cur, &p), vec![cur[1].clone()]);
}

#[test]
fn removals_are_grouped_and_sent_after_grants() {
    let cur = [
        acl("/", User, "a@pve", "A", true),
        acl("/", User, "b@pve", "B", true),
        acl("/", Group, "g", "A", true),
    ];
    let d = desired(json!({"entries": [
            {"path": "/", "roles": ["A", "B"], "users": ["a@pve", "b@pve"], "groups": ["g"], "state": "absent"},
            {"path": "/", "roles": ["C"], "users": ["a@pve"]}]}));
    let p = ok(&d, &cur);
    // a:A, b:B, g:A to remove: one request, the others absent anyway.
    assert_eq!(
        reqs(&p),
        vec![
            put("/")
                .param("roles", "C")
                .param("users", "a@pve")
                .param("propagate", 1),
            put("/")
                .param("roles", "A,B")
                .param("users", "a@pve,b@pve")
                .param("groups", "g")
                .param("delete", 1),
        ]
    );
    assert_eq!(apply(&cur, &p), vec![acl("/", User, "a@pve", "C", true)]);
}

#[test]
fn exclusive_touches_only_named_principals() {
    let cur = [
        acl("/", Group, "auditors", "PVEAuditor", true),
        acl("/", Group, "auditors", "PVEVMAdmin", true),
        acl("/vms/100", Group, "auditors", "PVEVMUser", false),
        acl("/vms/100", Group, "others", "PVEVMUser", true),
        acl("/vms/100", User, "a@pve", "PVEVMUser", true),
    ];
    let d = desired(
        json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["auditors"]}], "exclusive": true}),
    );
    let p = ok(&d, &cur);
    assert_eq!(
        reqs(&p),
        vec![
            put("/")
                .param("roles", "PVEVMAdmin")
                .param("groups", "auditors")
                .param("delete", 1),
            put("/vms/100")
                .param("roles", "PVEVMUser")
                .param("groups", "auditors")
                .param("delete", 1),
        ]
    );
    assert_eq!(p.msg, "added 0, changed 0 and removed 2 ACL entries");
    // Before/after show every entry of the named principals, on any path.
    assert_eq!(p.before.as_array().map(Vec::len), Some(3));
    assert_eq!(
        p.after,
        json!([{"path": "/", "type": "group", "ugid": "auditors", "roleid": "PVEAuditor", "propagate": true}])
    );
    assert_eq!(
        apply(&cur, &p),
        vec![cur[0].clone(), cur[4].clone(), cur[3].clone()]
    );
    // Without exclusive the other entries stay.
    let d = desired(
        json!({"entries": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["auditors"]}]}),
    );
    assert!(!ok(&d, &cur).changed);
    // A principal named only in an absent entry ends up with nothing.
    let d = desired(
        json!({"path": "/", "roles": ["X"], "users": ["a@pve"], "state": "absent", "exclusive": true}),
    );
    let p = ok(&d, &cur);
    assert_eq!(
        reqs(&p),
        vec![put("/vms/100")
            .param("roles", "PVEVMUser")
            .param("users", "a@pve")
            .param("delete", 1)]
    );
}

#[test]
fn entries_lost_go_to_the_self_lockout_rule() {
    let cur = [
        acl("/", User, "admin@pve", "Administrator", true),
        acl("/", Group, "admins", "Administrator", true),
        acl("/vms", User, "admin@pve", "PVEVMAdmin", false),
    ];
    let lost = |args: Value| lockout_changes(&cur, &ok(&desired(args), &cur));
    let removed = |e: AclEntry| Change::AclEntry {
        entry: e,
        propagation_only: false,
    };
    assert_eq!(
        lost(
            json!({"path": "/", "roles": ["Administrator"], "groups": ["admins"], "state": "absent"})
        ),
        [removed(acl("/", Group, "admins", "Administrator", true))]
    );
    // Propagation turned off: the entry stays, on the path only.
    assert_eq!(
        lost(
            json!({"path": "/", "roles": ["Administrator"], "users": ["admin@pve"], "propagate": false})
        ),
        [Change::AclEntry {
            entry: acl("/", User, "admin@pve", "Administrator", true),
            propagation_only: true,
        }]
    );
    // Exclusive removes the principal's other entries.
    assert_eq!(
        lost(
            json!({"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["admin@pve"], "exclusive": true})
        ),
        [
            removed(acl("/", User, "admin@pve", "Administrator", true)),
            removed(acl("/vms", User, "admin@pve", "PVEVMAdmin", false)),
        ]
    );
    // NoAccess takes every privilege on its path.
    assert_eq!(
        lost(
            json!({"path": "/storage", "roles": ["NoAccess", "PVEAuditor"], "groups": ["admins"]})
        ),
        [Change::NoAccessGranted(acl(
            "/storage", Group, "admins", "NoAccess", true
        ))]
    );
    // Adding, or turning propagation on, takes nothing.
    assert_eq!(
        lost(
            json!({"path": "/vms", "roles": ["PVEVMAdmin"], "users": ["admin@pve"], "propagate": true})
        ),
        []
    );
    assert_eq!(
        lost(json!({"path": "/vms/100", "roles": ["PVEVMUser"], "users": ["admin@pve"]})),
        []
    );
}

#[test]
fn names_are_checked_against_the_server() {
    let d = desired(
        json!({"path": "/", "roles": ["A", "Nope"], "users": ["a@pve", "ghost@pve"],
            "groups": ["g"], "tokens": ["a@pve!tok", "a@pve!gone"]}),
    );
    let p = ok(&d, &[]);
    assert_eq!(lists_to_read(&d, &p), lists(true, true, true));
    let set = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect());
    let known = Known {
        roles: set(&["A"]),
        users: set(&["a@pve"]),
        groups: set(&["g"]),
        tokens: set(&["a@pve!tok"]),
    };
    let e = check_names(&d, &p, &known, false).unwrap_err().0;
    assert_eq!(e, "ACL not changed: role 'Nope' does not exist (create it first, e.g. with pve.access.pve_role); user 'ghost@pve' does not exist (create it first, e.g. with pve.access.pve_user, or fix the name); token 'a@pve!gone' does not exist (create it first, e.g. with pve.access.pve_token, or fix the name). Nothing was written");
    let d = desired(json!({"path": "/", "roles": ["A"], "groups": ["g"]}));
    let p = ok(&d, &[]);
    assert_eq!(lists_to_read(&d, &p), lists(true, false, true));
    assert_eq!(check_names(&d, &p, &known, false), Ok(vec![]));
    assert_eq!(
        lists_to_read(&d, &ok(&d, &[acl("/", Group, "g", "A", true)])),
        Lists::default()
    );
}

#[test]
fn newer_paths_need_a_newer_server() {
    let d = desired(json!({"path": "/sdn/fabrics/f1", "roles": ["A"], "groups": ["g"]}));
    let p = ok(&d, &[]);
    let newer = newer_paths(&p);
    assert_eq!(newer, vec![("/sdn/fabrics/f1".to_string(), "9.0")]);
    assert_eq!(check_versions(&newer, "9.1.1"), Ok(()));
    let e = check_versions(&newer, "8.4.14").unwrap_err().0;
    assert!(
        e.starts_with(
            "invalid ACL path '/sdn/fabrics/f1' (PVE 9.0 or later): this server runs PVE 8.4.14"
        ),
        "{e}"
    );
    let d = desired(json!({"path": "/vms/100", "roles": ["A"], "groups": ["g"]}));
    assert!(newer_paths(&ok(&d, &[])).is_empty());
}

#[test]
fn settling_reads_whether_a_change_was_made() {
    let grant = Settle {
        path: "/".into(),
        roles: ["A".to_string(), "B".to_string()].into(),
        principals: [principal(User, "a@pve"), principal(Group, "g")].into(),
        propagate: Some(true),
    };
    let all = [
        acl("/", User, "a@pve", "A", true),
        acl("/", User, "a@pve", "B", true),
        acl("/", Group, "g", "A", true),
        acl("/", Group, "g", "B", true),
    ];
    assert!(grant.met_by(&all));
    assert!(!grant.met_by(&all[..3]));
    let mut flag = all.to_vec();
    flag[0].propagate = false;
    assert!(!grant.met_by(&flag));
    let revoke = Settle {
        propagate: None,
        ..grant.clone()
    };
    assert!(!revoke.met_by(&all));
    assert!(revoke.met_by(&[acl("/", User, "x@pve", "A", true)]));
    assert_eq!(
        grant.describe(),
        "grant A,B on '/' for user 'a@pve', group 'g'"
    );
    assert_eq!(
        revoke.describe(),
        "revoke A,B on '/' for user 'a@pve', group 'g'"
    );
}

#[test]
fn a_purge_scope_removes_what_it_covers_and_is_not_named() {
    let cur = [
        acl("/", Group, "auditors", "PVEAuditor", true),
        acl("/vms", User, "tf@pve", "PVEVMAdmin", true),
        acl("/vms/100", User, "a@pam", "PVEVMUser", true),
        acl("/vms/100", Token, "tf@pve!ci", "PVEVMUser", true),
        acl("/vmsx", User, "tf@pve", "PVEVMUser", true),
    ];
    let mut d = desired(json!({"path": "/vms", "roles": ["PVEVMAdmin"], "users": ["tf@pve"]}));
    d.purge = Some(Scope {
        paths: vec!["/vms".into()],
        ..Scope::default()
    });
    let p = ok(&d, &cur);
    // Below /vms, not /vmsx; the named entry stays.
    assert_eq!(
        apply(&cur, &p),
        vec![cur[0].clone(), cur[1].clone(), cur[4].clone()]
    );
    // Filters narrow together: /vms and the realm pve (a token's owner's).
    d.purge = Some(Scope {
        paths: vec!["/vms".into()],
        realms: vec!["pve".into()],
        ..Scope::default()
    });
    let p = ok(&d, &cur);
    assert_eq!(
        apply(&cur, &p),
        vec![
            cur[0].clone(),
            cur[1].clone(),
            cur[2].clone(),
            cur[4].clone()
        ]
    );
    // Groups have no realm: a realm filter never covers them; "/" covers all paths.
    d.purge = Some(Scope {
        paths: vec!["/".into()],
        principals: [Principal::new(Group, "auditors")].into(),
        ..Scope::default()
    });
    assert_eq!(ok(&d, &cur).steps.len(), 1);
    let scope = Scope {
        realms: vec!["pve".into()],
        ..Scope::default()
    };
    assert!(!scope.covers(&Grant::of(&cur[0])));
}
