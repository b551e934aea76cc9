use super::*;
use ansible_module::json;
use pve_api::access::PrincipalKind;

/// The declaration `args` stands for, its options checked by the module's
/// own spec (defaults, aliases, types), as a run gets it.
fn declared(args: Value) -> Result<Declaration, String> {
    let mut out = None;
    let (v, _) = ansible_module::execute(
        "pve_access",
        &crate::spec(),
        &args.to_string(),
        &|_| None,
        |m| {
            out = Some(Declaration::from_params(&m.params).map_err(|r| r.0));
            Ok(Map::new())
        },
    );
    out.unwrap_or_else(|| Err(v["msg"].as_str().unwrap_or_default().to_string()))
}

fn decl(args: Value) -> Declaration {
    declared(args).unwrap()
}

fn user(id: &str, groups: &[&str]) -> User {
    let mut u = User::new(id);
    u.groups = groups.iter().map(|g| g.to_string()).collect();
    u
}

fn token(full: &str, privsep: bool) -> Token {
    let (u, t) = full.split_once('!').unwrap();
    let mut tok = Token::new(u, t);
    tok.privsep = privsep;
    tok
}

fn role(id: &str, privs: &[&str], special: bool) -> Role {
    let mut r = Role::new(id);
    r.privs = privs.iter().map(|p| p.to_string()).collect();
    r.special = special;
    r
}

/// A server with root@pam, ci@pve (token `run`, in group ops), alice@pam,
/// the group ops, Administrator and one custom role, and two ACL entries.
fn server() -> Server {
    Server {
        users: vec![
            (user("alice@pam", &[]), vec![]),
            (user("ci@pve", &["ops"]), vec![token("ci@pve!run", false)]),
            (user("root@pam", &[]), vec![token("root@pam!old", false)]),
        ],
        groups: vec![{
            let mut g = Group::new("ops");
            g.members = vec!["ci@pve".into()];
            g
        }],
        roles: vec![
            role(
                "Administrator",
                &["VM.Audit", "VM.Allocate", "Sys.Audit"],
                true,
            ),
            role("Custom", &["VM.Audit"], false),
            role("PVEAuditor", &["VM.Audit", "Sys.Audit"], true),
        ],
        acl: vec![
            AclEntry {
                path: "/".into(),
                kind: PrincipalKind::Group,
                ugid: "ops".into(),
                roleid: "Custom".into(),
                propagate: true,
            },
            AclEntry {
                path: "/vms/100".into(),
                kind: PrincipalKind::User,
                ugid: "alice@pam".into(),
                roleid: "PVEAuditor".into(),
                propagate: true,
            },
        ],
        pools: None,
        now: 1_800_000_000,
    }
}

fn pool(id: &str, vms: &[u32], storage: &[&str]) -> Pool {
    let mut p = Pool::new(id);
    p.vms = vms.to_vec();
    p.storage = storage.iter().map(|s| s.to_string()).collect();
    p
}

/// [`server`] with pools: `db` holding guest 101, empty `old` and
/// `old/sub`, `full/inner` holding storage local under an empty `full`,
/// and an entry on `/pool/old`; the cluster has guests 100 and 101 and
/// storage local.
fn with_pools() -> Server {
    let mut s = server();
    s.acl.push(AclEntry {
        path: "/pool/old".into(),
        kind: PrincipalKind::User,
        ugid: "alice@pam".into(),
        roleid: "PVEAuditor".into(),
        propagate: true,
    });
    let read = vec![
        pool("db", &[101], &[]),
        pool("full", &[], &[]),
        pool("full/inner", &[], &["local"]),
        pool("old", &[], &[]),
        pool("old/sub", &[], &[]),
    ];
    s.pools = Some(Pools {
        shape: Shape::Param,
        ids: read.iter().map(|p| p.poolid.clone()).collect(),
        read,
        cluster: Some(Cluster {
            guests: [(100, None), (101, Some("db".to_string()))].into(),
            storages: vec!["local".into()],
        }),
    });
    s
}

/// root@pam with a password.
fn root() -> Login {
    Login {
        caller: pve_user::plan::Caller {
            userid: "root@pam".into(),
            token: false,
            password: None,
        },
        authid: "root@pam".into(),
        allow_self_lockout: false,
    }
}

fn planned(d: &Declaration, s: &Server, check_mode: bool) -> Planned {
    let extra = Extra {
        realms: Some(vec!["pam".into(), "pve".into()]),
        ..Extra::default()
    };
    plan(d, s, &extra, &root(), check_mode).unwrap()
}

/// Every write of the run as `METHOD path`, in order.
fn writes(p: &Planned) -> Vec<String> {
    p.batches
        .iter()
        .flat_map(|b| match b {
            Batch::Steps(steps) => steps
                .iter()
                .map(|s| format!("{} {}", s.request.method, s.request.path))
                .collect::<Vec<_>>(),
            Batch::Token(_, steps) => steps
                .iter()
                .map(|s| format!("{} {}", s.request.method, s.request.path))
                .collect(),
        })
        .collect()
}

#[test]
fn writes_go_in_the_safe_order_and_removals_last_in_reverse() {
    let d = decl(json!({
        "roles": [{"roleid": "Deploy", "privs": ["VM.Allocate"]}, {"roleid": "Custom", "state": "absent"}],
        "tokens": [{"tokenid": "bot@pve!ci"}, {"tokenid": "ci@pve!run", "state": "absent"}],
        "acl": [{"path": "/vms", "roles": ["Deploy"], "tokens": ["bot@pve!ci"]}],
        "users": [{"userid": "bot@pve", "groups": ["bots"]}, {"userid": "alice@pam", "state": "absent"}],
        "groups": [{"groupid": "bots", "members": ["bot@pve"]}, {"groupid": "ops", "state": "absent"}],
    }));
    let s = server();
    check_references(&d, &s).unwrap();
    let p = planned(&d, &s, false);
    assert_eq!(
        writes(&p),
        [
            "POST /access/groups",
            "POST /access/users",
            // The group's member step, once the user exists (PVE's append).
            "PUT /access/users/bot@pve",
            "POST /access/roles",
            "POST /access/users/bot@pve/token/ci",
            "PUT /access/acl",
            "DELETE /access/users/ci@pve/token/run",
            "DELETE /access/roles/Custom",
            "DELETE /access/users/alice@pam",
            "DELETE /access/groups/ops",
        ]
    );
    // Tokens are sent on their own (their answers hold secrets).
    assert!(matches!(p.batches[1], Batch::Token(..)));
    assert_eq!(p.changes().len(), 9);
    assert!(p.changed());
}

#[test]
fn a_declaration_the_server_already_holds_plans_nothing() {
    let d = decl(json!({
        "users": [{"userid": "ci@pve", "groups": ["ops"]}],
        "groups": [{"groupid": "ops"}],
        "roles": [{"roleid": "Custom", "privs": ["VM.Audit"]}],
        "acl": [{"path": "/", "roles": ["Custom"], "groups": ["ops"]}],
        "tokens": [{"tokenid": "ci@pve!run", "privsep": false}],
    }));
    let s = server();
    assert_eq!(needs(&d, &s), Needs::default());
    let p = planned(&d, &s, false);
    assert!(p.batches.is_empty());
    assert!(!p.changed());
    assert_eq!(p.view(true, |_, v| v), json!({}));
}

#[test]
fn check_mode_plans_the_same_writes() {
    let args = json!({
        "users": [{"userid": "new@pve", "groups": ["newgroup"]}],
        "groups": [{"groupid": "newgroup"}],
    });
    let s = server();
    let real = planned(&decl(args.clone()), &s, false);
    let check = planned(&decl(args), &s, true);
    assert_eq!(real.batches, check.batches);
    assert_eq!(
        check.changes(),
        [
            "group 'newgroup' would be created",
            "user 'new@pve' would be created"
        ]
    );
    // No assumption is needed: the group is declared in the same task.
    assert!(check.warnings.is_empty());
}

#[test]
fn references_must_exist_or_be_declared() {
    let s = server();
    let refused = |args: Value| {
        let d = decl(args);
        check_references(&d, &s).unwrap_err().0
    };
    assert!(
        refused(json!({"users": [{"userid": "x@pve", "groups": ["nope"]}]}))
            .contains("user 'x@pve': group 'nope'")
    );
    assert!(
        refused(json!({"groups": [{"groupid": "g", "members": ["ghost@pve"]}]}))
            .contains("group 'g': user 'ghost@pve'")
    );
    // Declared absent in the same task: as good as missing.
    let msg = refused(json!({
        "users": [{"userid": "ci@pve", "state": "absent"}],
        "tokens": [{"tokenid": "ci@pve!new"}],
        "acl": [{"path": "/", "roles": ["Custom"], "tokens": ["ci@pve!run"]}],
    }));
    assert!(msg.contains("token 'ci@pve!new': user 'ci@pve'"), "{msg}");
    assert!(
        msg.contains("ACL entry on '/': token 'ci@pve!run'"),
        "{msg}"
    );
    // Declared present, or on the server: fine.
    let d = decl(json!({
        "tokens": [{"tokenid": "new@pve!t1"}],
        "users": [{"userid": "new@pve"}],
        "acl": [{"path": "/", "roles": ["Custom", "NewRole"], "tokens": ["new@pve!t1", "ci@pve!run"], "users": ["alice@pam"]}],
        "roles": [{"roleid": "NewRole", "privs": ["VM.Audit"]}],
    }));
    check_references(&d, &s).unwrap();
    // Absent ACL entries may name what is gone.
    let d = decl(
        json!({"acl": [{"path": "/", "roles": ["Gone"], "users": ["gone@pve"], "state": "absent"}]}),
    );
    check_references(&d, &s).unwrap();
}

#[test]
fn purges_take_only_what_their_scope_owns() {
    let s = server();
    let mut d = decl(json!({
        "users": [{"userid": "ci@pve"}, {"userid": "root@pam"}],
        "tokens": [],
        "purge": {"users": {"realms": ["pam", "pve"]}, "tokens": true, "groups": true, "roles": true},
    }));
    add_purged(&mut d, &s).unwrap();
    let absent = |ids: Vec<String>| ids;
    // alice@pam goes; root@pam and the declared ci@pve stay.
    assert_eq!(
        absent(
            d.users
                .iter()
                .filter(|u| u.state == State::Absent)
                .map(|u| u.userid.clone())
                .collect()
        ),
        ["alice@pam"]
    );
    // Tokens of declared users only, never root@pam's.
    assert_eq!(
        d.tokens.iter().map(|t| t.full()).collect::<Vec<_>>(),
        ["ci@pve!run"]
    );
    assert_eq!(
        d.groups
            .iter()
            .map(|g| g.groupid.clone())
            .collect::<Vec<_>>(),
        ["ops"]
    );
    // Built-in roles never.
    assert_eq!(
        d.roles.iter().map(|r| r.roleid.clone()).collect::<Vec<_>>(),
        ["Custom"]
    );
    // Without purge, nothing is added.
    let mut d = decl(json!({"users": [{"userid": "ci@pve"}]}));
    let before = d.clone();
    add_purged(&mut d, &s).unwrap();
    assert_eq!(d, before);
}

#[test]
fn an_acl_purge_removes_the_undeclared_entries_of_its_scope() {
    let s = server();
    let d = decl(json!({"purge": {"acl": {"paths": ["/vms"]}}}));
    let p = planned(&d, &s, false);
    assert_eq!(writes(&p), ["PUT /access/acl"]);
    assert_eq!(
        p.changes(),
        ["added 0, changed 0 and removed 1 ACL entries"]
    );
    let d = decl(json!({"purge": {"acl": {"realms": ["pve"]}}}));
    assert!(!planned(&d, &s, false).changed());
}

#[test]
fn the_declaration_is_checked_as_a_whole() {
    let refused = |args: Value| declared(args).unwrap_err();
    assert_eq!(
        refused(json!({"roles": [{"roleid": "A"}, {"name": "A"}]})),
        "roles: 'A' is declared twice (roles[0] and roles[1]): keep one"
    );
    assert_eq!(
        refused(json!({"tokens": [{"tokenid": "a@pve!t1"}, {"userid": "a@pve", "tokenid": "t1"}]})),
        "tokens: 'a@pve!t1' is declared twice (tokens[0] and tokens[1]): keep one"
    );
    assert!(refused(json!({"users": [{"userid": "nobody"}]})).starts_with("users[0]: userid"));
    assert!(
        refused(json!({"acl": [{"path": "/nowhere", "roles": ["R"], "users": ["a@pve"]}]}))
            .starts_with("acl[0]: ")
    );
    assert!(refused(json!({"purge": {"users": {"realms": []}}})).starts_with("purge.users"));
    assert!(
        refused(json!({"purge": {"acl": {"paths": ["/bad path"]}}})).starts_with("purge.acl.paths")
    );
    assert!(refused(json!({"users": [{"userid": "a@pve", "unknown": 1}]})).contains("unknown"));
    // Membership said two ways must agree.
    let msg = refused(json!({
        "users": [{"userid": "a@pve", "groups": ["g"]}],
        "groups": [{"groupid": "g", "members": []}],
    }));
    assert!(
        msg.starts_with(
            "group 'g' does not have 'a@pve' among its members, but user 'a@pve' has it"
        ),
        "{msg}"
    );
    // A list that adds cannot make up for one that replaces.
    assert!(refused(json!({
        "users": [{"userid": "a@pve", "groups": ["h"]}],
        "groups": [{"groupid": "g", "members": ["a@pve"], "append": true}],
    }))
    .starts_with("group 'g' has 'a@pve' among its members, but user 'a@pve' does not have it"));
    // Appending on one side is fine when the other includes it.
    decl(json!({
        "users": [{"userid": "a@pve", "groups": ["h"], "append": true}],
        "groups": [{"groupid": "g", "members": ["a@pve"]}],
    }));
}

#[test]
fn only_some_runs_read_more_than_the_four_lists() {
    let s = server();
    let d = decl(json!({"users": [{"userid": "new@pve"}]}));
    assert!(needs(&d, &s).realms);
    let d = decl(
        json!({"users": [{"userid": "ci@pve", "password": "long-enough", "update_password": "always"}]}),
    );
    assert_eq!(needs(&d, &s).logins, ["ci@pve"]);
    let d = decl(json!({"tokens": [{"tokenid": "ci@pve!run", "regenerate": true}]}));
    assert!(needs(&d, &s).version);
    let d = decl(
        json!({"acl": [{"path": "/sdn/fabrics/f1", "roles": ["Custom"], "users": ["ci@pve"]}]}),
    );
    assert!(needs(&d, &s).version);
}

#[test]
fn the_diff_shows_the_changed_objects_by_kind_and_id() {
    let s = server();
    let d =
        decl(json!({"users": [{"userid": "ci@pve", "comment": "CI"}, {"userid": "alice@pam"}]}));
    let p = planned(&d, &s, false);
    let after = p.view(true, |_, v| v);
    assert_eq!(after["users"]["ci@pve"]["comment"], "CI");
    assert!(after["users"].get("alice@pam").is_none());
    assert_eq!(
        p.view(false, |_, v| v)["users"]["ci@pve"]["comment"],
        Value::Null
    );
}

#[test]
fn a_token_regenerating_itself_before_9_1_is_refused_only_past_the_self_lockout_rule() {
    let d = decl(json!({"tokens": [{"tokenid": "ci@pve!run", "regenerate": true}]}));
    let s = server();
    let extra = Extra {
        version: Some("8.4.1".into()),
        ..Extra::default()
    };
    let mut login = root();
    login.authid = "ci@pve!run".into();
    // Without allow_self_lockout the plan names the change and the rule
    // refuses it, with its own message.
    let p = plan(&d, &s, &extra, &login, false).unwrap();
    assert!(p
        .lockout
        .contains(&Change::TokenRegenerated("ci@pve!run".into())));
    login.allow_self_lockout = true;
    let e = plan(&d, &s, &extra, &login, false).unwrap_err().0;
    assert!(
        e.starts_with("cannot regenerate token 'ci@pve!run' with itself on PVE 8.4"),
        "{e}"
    );
    // PVE 9.1 regenerates in place: nothing to refuse.
    let newer = Extra {
        version: Some("9.1.1".into()),
        ..Extra::default()
    };
    assert!(plan(&d, &s, &newer, &login, false).is_ok());
}

#[test]
fn pools_are_planned_by_pve_pool_around_the_acl() {
    let s = with_pools();
    let d = decl(json!({
        "pools": [
            {"poolid": "web/app", "comment": "App"},
            {"poolid": "web", "vms": [100]},
            {"poolid": "old/sub", "state": "absent"},
            {"poolid": "old", "state": "absent"},
            {"poolid": "db", "comment": "Databases"},
        ],
        "acl": [{"path": "/pool/web/app", "roles": ["PVEAuditor"], "users": ["alice@pam"]}],
    }));
    check_references(&d, &s).unwrap();
    assert_eq!(
        check_pool_paths(&d, &s, false).unwrap(),
        Vec::<String>::new()
    );
    let p = planned(&d, &s, false);
    // Parents before their sub-pools, both before the entry on them;
    // sub-pools deleted before their parents, after the ACL.
    assert_eq!(
        writes(&p),
        [
            "POST /pools",
            "PUT /pools",
            "PUT /pools",
            "POST /pools",
            "PUT /access/acl",
            "DELETE /pools",
            "DELETE /pools",
        ]
    );
    assert_eq!(
        p.changes(),
        [
            "pool 'web' created with guest 100",
            "pool 'db' updated: comment",
            "pool 'web/app' created",
            "pool 'old/sub' deleted; its ACL entries on /pool/old/sub stay (PVE keeps them for nested pools)",
            "pool 'old' deleted with its ACL entries, as PVE does",
            "added 1, changed 0 and removed 0 ACL entries",
        ]
    );
    // Deleting the top-level pool takes its entries: the self-lockout rule
    // judges them.
    assert!(p
        .lockout
        .iter()
        .any(|c| matches!(c, Change::AclEntry { entry, .. } if entry.path == "/pool/old")));
    let view = p.view(true, |_, v| v);
    assert_eq!(view["pools"]["db"]["comment"], "Databases");
    assert_eq!(view["pools"]["web"]["vms"], json!([100]));
    // Check mode predicts the same writes.
    assert_eq!(planned(&d, &s, true).batches, p.batches);
}

#[test]
fn pve_pool_refusals_and_references_hold_for_pools() {
    let s = with_pools();
    // pve_pool's own refusals, word for word.
    let d = decl(json!({"pools": [{"poolid": "web", "vms": [101]}]}));
    let e = plan(&d, &s, &Extra::default(), &root(), false)
        .unwrap_err()
        .0;
    assert!(
        e.contains("guest 101 is in pool 'db'") && e.contains("allow_move: true"),
        "{e}"
    );
    let d = decl(json!({"pools": [{"poolid": "old", "state": "absent"}]}));
    let e = plan(&d, &s, &Extra::default(), &root(), false)
        .unwrap_err()
        .0;
    assert!(e.contains("it holds pool old/sub"), "{e}");
    // A sub-pool needs its parent.
    let d = decl(json!({"pools": [{"poolid": "nope/child"}]}));
    let e = check_references(&d, &s).unwrap_err().0;
    assert!(e.contains("pool 'nope/child': pool 'nope'"), "{e}");
    // An entry on a pool that will not exist: refused by a real run,
    // assumed with a warning in check mode.
    let d = decl(json!({
        "pools": [{"poolid": "db", "state": "absent", "remove_members": true}],
        "acl": [
            {"path": "/pool/ghost", "roles": ["PVEAuditor"], "users": ["alice@pam"]},
            {"path": "/pool/db", "roles": ["PVEAuditor"], "users": ["alice@pam"]},
        ],
    }));
    let e = check_pool_paths(&d, &s, false).unwrap_err().0;
    assert!(
        e.contains("pool 'ghost', pool 'db'") && e.contains("Nothing was changed"),
        "{e}"
    );
    assert_eq!(
        check_pool_paths(&d, &s, true).unwrap(),
        [
            "pool 'ghost' does not exist yet; assuming an earlier task creates it",
            "pool 'db' does not exist yet; assuming an earlier task creates it",
        ]
    );
    // Option errors name the item; a pool declared twice is refused.
    let e =
        declared(json!({"pools": [{"poolid": "a"}, {"poolid": "b", "vms": [99]}]})).unwrap_err();
    assert!(e.starts_with("pools[1]: vms: "), "{e}");
    let e = declared(json!({"pools": [{"poolid": "a"}, {"name": "a"}]})).unwrap_err();
    assert_eq!(
        e,
        "pools: 'a' is declared twice (pools[0] and pools[1]): keep one"
    );
}

#[test]
fn a_pool_purge_never_removes_a_pool_that_holds_something() {
    let s = with_pools();
    let mut d = decl(json!({"pools": [{"poolid": "old"}], "purge": {"pools": true}}));
    let warnings = add_purged(&mut d, &s).unwrap();
    let purged: Vec<&str> = d
        .pools
        .iter()
        .filter(|p| p.state == State::Absent)
        .map(|p| p.poolid.as_str())
        .collect();
    // old/sub is empty and undeclared; db and full/inner hold members,
    // full holds full/inner; old is declared.
    assert_eq!(purged, ["old/sub"]);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with("purge: pool 'db' is not declared but holds guest 101; it stays")
    );
    assert!(warnings[2].contains("pool 'full' is not declared but holds pool 'full/inner'"));
    // The parent of a declared pool stays without a word.
    let mut d = decl(json!({"pools": [{"poolid": "full/inner"}], "purge": {"pools": true}}));
    let warnings = add_purged(&mut d, &s).unwrap();
    assert!(
        !warnings.iter().any(|w| w.contains("'full'")),
        "{warnings:?}"
    );
    assert!(!d.pools.iter().any(|p| p.poolid == "full"));
    // Without the pools read (no pools task), nothing is purged.
    assert!(!needs_pools(&decl(
        json!({"users": [{"userid": "ci@pve"}]})
    )));
    assert!(needs_pools(&decl(
        json!({"acl": [{"path": "/pool/x", "roles": ["R"], "users": ["a@pve"]}]})
    )));
}
