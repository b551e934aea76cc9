use super::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn user_from_get_user() {
    // PVE 9.1's answer to `GET /access/users/joe@pve`.
    let v = json!({"enable":1,"expire":0,"email":"a@b.c","groups":["g1"],
                        "tokens":{"ci":{"privsep":1,"expire":0}}});
    let u = user_from_json("joe@pve", &v).unwrap();
    assert_eq!(
        u,
        User {
            userid: "joe@pve".into(),
            enable: true,
            expire: 0,
            firstname: None,
            lastname: None,
            email: Some("a@b.c".into()),
            comment: None,
            groups: strings(&["g1"]),
            tokens: strings(&["ci"]),
        }
    );
}

#[test]
fn user_tricky_shapes() {
    // Disabled, expiring, email "" (present because a comment is set),
    // tokens null, unsorted groups (PVE < 8.0.2), several tokens.
    let v = json!({"enable":0,"expire":1801353600,"email":"","comment":"CI bot",
                        "firstname":"Jo","lastname":"Doe","keys":"x",
                        "groups":["ops","dev","ops"],"tokens":null});
    let u = user_from_json("bot@pve", &v).unwrap();
    assert!(!u.enable);
    assert_eq!(u.expire, 1_801_353_600);
    assert_eq!(u.email, None);
    assert_eq!(u.comment.as_deref(), Some("CI bot"));
    assert_eq!(u.firstname.as_deref(), Some("Jo"));
    assert_eq!(u.lastname.as_deref(), Some("Doe"));
    assert_eq!(u.groups, strings(&["dev", "ops"]));
    assert!(u.tokens.is_empty());

    // Token object with several entries comes back sorted.
    let v = json!({"enable":1,"expire":0,"groups":[],
                        "tokens":{"zz":{"privsep":0,"expire":0},"aa":{"privsep":1,"expire":5,"comment":"x"}}});
    let u = user_from_json("x@pve", &v).unwrap();
    assert_eq!(u.tokens, strings(&["aa", "zz"]));
    assert!(u.groups.is_empty());

    // Minimal: no groups/tokens keys at all (index without full=1).
    let u = user_from_json("min@pam", &json!({"enable":1,"expire":0})).unwrap();
    assert_eq!(u, User::new("min@pam"));

    // JSON booleans and echoed strings are understood too.
    let u = user_from_json("s@pve", &json!({"enable":"0","expire":"42"})).unwrap();
    assert!(!u.enable);
    assert_eq!(u.expire, 42);
    let u = user_from_json("b@pve", &json!({"enable":false,"expire":0})).unwrap();
    assert!(!u.enable);
    let u = user_from_json("b@pve", &json!({"expire":0})).unwrap();
    assert!(u.enable, "enable defaults to 1");
}

#[test]
fn user_from_index_full() {
    // GET /access/users?full=1 item: groups comma string, tokens array.
    let v = json!({"userid":"joe@pve","realm-type":"pve","enable":1,"expire":0,
                        "groups":"ops,admins","email":"j@x.org",
                        "tokens":[{"tokenid":"ci","privsep":1,"expire":0},
                                  {"tokenid":"backup","privsep":0,"expire":0,"comment":"b"}]});
    let u = user_from_json("joe@pve", &v).unwrap();
    assert_eq!(u.groups, strings(&["admins", "ops"]));
    assert_eq!(u.tokens, strings(&["backup", "ci"]));
    assert_eq!(u.email.as_deref(), Some("j@x.org"));

    // No groups: "" (not omitted); no tokens: null.
    let v = json!({"userid":"root@pam","realm-type":"pam","enable":1,"expire":0,
                        "groups":"","tokens":null});
    let u = user_from_json("root@pam", &v).unwrap();
    assert!(u.groups.is_empty() && u.tokens.is_empty());
}

#[test]
fn user_bad_shapes() {
    for v in [
        json!([]),
        json!(null),
        json!({"enable":"yes"}),
        json!({"enable":1,"expire":"soon"}),
        json!({"enable":1,"expire":""}),
        json!({"enable":1,"expire":1.5}),
        json!({"enable":1,"groups":7}),
        json!({"enable":1,"groups":[1]}),
        json!({"enable":1,"tokens":"ci"}),
        json!({"enable":1,"tokens":[{"privsep":1}]}),
        json!({"enable":1,"comment":["x"]}),
    ] {
        let e = user_from_json("joe@pve", &v).unwrap_err();
        assert!(e.starts_with("user 'joe@pve'"), "{v}: {e}");
    }
}

#[test]
fn user_json() {
    let mut u = User::new("joe@pve");
    u.groups = strings(&["a", "b"]);
    u.tokens = strings(&["ci"]);
    u.email = Some("j@x.org".into());
    assert_eq!(
        u.to_json(),
        json!({"userid":"joe@pve","enable":true,"expire":0,"firstname":null,
                   "lastname":null,"email":"j@x.org","comment":null,
                   "groups":["a","b"],"tokens":["ci"]})
    );
}

#[test]
fn groups() {
    // GET /access/groups/{id}: members array (unsorted), comment optional.
    let g = group_from_json("ops", &json!({"members":["b@pve","a@pve"],"comment":"Ops"})).unwrap();
    assert_eq!(g.members, strings(&["a@pve", "b@pve"]));
    assert_eq!(g.comment.as_deref(), Some("Ops"));
    // Index item: users comma string; "" for an empty group.
    let g = group_from_json("ops", &json!({"groupid":"ops","users":"z@pam,a@pve"})).unwrap();
    assert_eq!(g.members, strings(&["a@pve", "z@pam"]));
    assert_eq!(g.comment, None);
    let g = group_from_json("e", &json!({"groupid":"e","users":"","comment":""})).unwrap();
    assert_eq!(g, Group::new("e"));
    let g = group_from_json("e", &json!({"members":[]})).unwrap();
    assert!(g.members.is_empty());
    assert!(group_from_json("e", &json!({"members":"x"})).is_ok());
    assert!(group_from_json("e", &json!({"members":{}})).is_err());
    assert!(group_from_json("e", &json!("e")).is_err());
    assert_eq!(
        g.to_json(),
        json!({"groupid":"e","comment":null,"members":[]})
    );
}

#[test]
fn roles() {
    // Index item: privs comma string, special 0/1.
    let r = role_from_json(
        "PVEPoolUser",
        &json!({"roleid":"PVEPoolUser","privs":"Pool.Audit","special":1}),
    )
    .unwrap();
    assert_eq!(r.privs, strings(&["Pool.Audit"]));
    assert!(r.special);
    let r = role_from_json(
        "mon",
        &json!({"roleid":"mon","privs":"VM.Audit,Sys.Audit","special":0}),
    )
    .unwrap();
    assert_eq!(r.privs, strings(&["Sys.Audit", "VM.Audit"]));
    assert!(!r.special);
    // NoAccess / empty custom role in the index: privs "".
    let r = role_from_json(
        "NoAccess",
        &json!({"roleid":"NoAccess","privs":"","special":1}),
    )
    .unwrap();
    assert!(r.privs.is_empty() && r.special);
    let r = role_from_json("empty", &json!({"roleid":"empty","privs":""})).unwrap();
    assert!(r.privs.is_empty() && !r.special);

    // GET /access/roles/{id}: object {priv: 1}; special from the name.
    let r = role_from_json("mon", &json!({"VM.Audit":1,"Sys.Audit":1})).unwrap();
    assert_eq!(r.privs, strings(&["Sys.Audit", "VM.Audit"]));
    assert!(!r.special);
    let r = role_from_json("PVEAuditor", &json!({"Sys.Audit":true,"VM.Audit":"1"})).unwrap();
    assert!(r.special);
    assert_eq!(r.privs.len(), 2);
    let r = role_from_json("NoAccess", &json!({})).unwrap();
    assert!(r.privs.is_empty() && r.special);
    let r = role_from_json("x", &json!({"VM.Audit":0,"Sys.Audit":1})).unwrap();
    assert_eq!(r.privs, strings(&["Sys.Audit"]));
    assert!(role_from_json("x", &json!({"VM.Audit":"yes"})).is_err());
    assert!(role_from_json("x", &json!({"roleid":"x","privs":5})).is_err());
    assert!(role_from_json("x", &json!("VM.Audit")).is_err());

    assert_eq!(
        Role::new("x").to_json(),
        json!({"roleid":"x","privs":[],"special":false})
    );
}

#[test]
fn acl_entries() {
    let e = acl_from_json(
        &json!({"path":"/vms/100","type":"token","ugid":"joe@pve!ci",
                                      "roleid":"PVEVMUser","propagate":1}),
    )
    .unwrap();
    assert_eq!(
        e,
        AclEntry {
            path: "/vms/100".into(),
            kind: PrincipalKind::Token,
            ugid: "joe@pve!ci".into(),
            roleid: "PVEVMUser".into(),
            propagate: true,
        }
    );
    assert_eq!(
        e.to_json(),
        json!({"path":"/vms/100","type":"token","ugid":"joe@pve!ci",
                   "roleid":"PVEVMUser","propagate":true})
    );
    let e = acl_from_json(&json!({"path":"/","type":"group","ugid":"ops",
                                      "roleid":"PVEAuditor","propagate":0}))
    .unwrap();
    assert_eq!(e.kind, PrincipalKind::Group);
    assert!(!e.propagate);
    // propagate defaults to 1 (schema default).
    let e = acl_from_json(&json!({"path":"/","type":"user","ugid":"a@pve","roleid":"R"})).unwrap();
    assert!(e.propagate);
    assert_eq!(e.kind.param(), "users");
    for bad in [
        json!({"path":"/","type":"role","ugid":"a","roleid":"R"}),
        json!({"path":"/","type":"user","roleid":"R"}),
        json!({"path":"","type":"user","ugid":"a@pve","roleid":"R"}),
        json!({"path":"/","type":"user","ugid":"a@pve","roleid":"R","propagate":"x"}),
        json!(["/"]),
    ] {
        assert!(acl_from_json(&bad).is_err(), "{bad}");
    }
    for k in [
        PrincipalKind::User,
        PrincipalKind::Group,
        PrincipalKind::Token,
    ] {
        assert_eq!(PrincipalKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(PrincipalKind::Group.param(), "groups");
    assert_eq!(PrincipalKind::Token.param(), "tokens");
}

#[test]
fn tokens() {
    // GET token: integers from the config.
    let t = token_from_json("joe@pve", "ci", &json!({"privsep":1,"expire":0})).unwrap();
    assert_eq!(t, Token::new("joe@pve", "ci"));
    let t = token_from_json(
        "joe@pve",
        "ci",
        &json!({"privsep":0,"expire":1801353600,"comment":"CI"}),
    )
    .unwrap();
    assert!(!t.privsep);
    assert_eq!(t.expire, 1_801_353_600);
    assert_eq!(t.comment.as_deref(), Some("CI"));
    // Create answer `info`: echoed strings, omitted expire, empty comment.
    let t = token_from_json(
        "joe@pve",
        "ci",
        &json!({"privsep":"0","expire":"0","comment":"x"}),
    )
    .unwrap();
    assert!(!t.privsep && t.expire == 0);
    let t = token_from_json("joe@pve", "ci", &json!({"privsep":1})).unwrap();
    assert!(t.privsep && t.expire == 0 && t.comment.is_none());
    let t = token_from_json("joe@pve", "ci", &json!({"privsep":true,"comment":""})).unwrap();
    assert!(t.privsep && t.comment.is_none());
    assert!(token_from_json("joe@pve", "ci", &json!({"privsep":"maybe"})).is_err());
    assert!(token_from_json("joe@pve", "ci", &json!(null)).is_err());
    assert_eq!(t.full_tokenid(), "joe@pve!ci");
    assert_eq!(
        t.to_json(),
        json!({"full_tokenid":"joe@pve!ci","userid":"joe@pve","tokenid":"ci",
                   "comment":null,"expire":0,"privsep":true})
    );
}

#[test]
fn permissions_shapes() {
    let v = json!({"/":{"Sys.Audit":1,"VM.Audit":0},"/vms/100":{},"/access":{"Sys.Audit":"1"}});
    let p = permissions_from_json(&v).unwrap();
    assert_eq!(p.len(), 3);
    assert!(p["/"]["Sys.Audit"]);
    assert!(!p["/"]["VM.Audit"]);
    assert!(p["/vms/100"].is_empty());
    assert!(p["/access"]["Sys.Audit"]);
    assert_eq!(
        permissions_to_json(&p),
        json!({"/":{"Sys.Audit":true,"VM.Audit":false},"/access":{"Sys.Audit":true},"/vms/100":{}})
    );
    assert!(permissions_from_json(&json!({})).unwrap().is_empty());
    assert!(permissions_from_json(&json!({"/":["Sys.Audit"]})).is_err());
    assert!(permissions_from_json(&json!({"/":{"Sys.Audit":"x"}})).is_err());
    assert!(permissions_from_json(&json!([])).is_err());
}

#[test]
fn list_helpers() {
    assert_eq!(
        sorted_unique(strings(&["b", "a", "b", "c", "a"])),
        strings(&["a", "b", "c"])
    );
    let cur = strings(&["ops", "dev"]);
    assert_eq!(
        merge_list(&cur, &strings(&["qa", "ops"]), false),
        strings(&["ops", "qa"])
    );
    assert_eq!(
        merge_list(&cur, &strings(&["qa", "ops"]), true),
        strings(&["dev", "ops", "qa"])
    );
    assert!(merge_list(&cur, &[], false).is_empty());
    assert_eq!(merge_list(&cur, &[], true), strings(&["dev", "ops"]));
    // Order-insensitive: a reordered desired list equals the current one.
    assert_eq!(
        merge_list(&cur, &strings(&["ops", "dev"]), false),
        strings(&["dev", "ops"])
    );
}

#[test]
fn releases() {
    assert_eq!(release("9.1.1"), Some((9, 1)));
    assert_eq!(release("8.4"), Some((8, 4)));
    assert_eq!(release("9"), Some((9, 0)));
    assert_eq!(release("8.1~rc1"), Some((8, 1)));
    assert_eq!(release("x"), None);
}
