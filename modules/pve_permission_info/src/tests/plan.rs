use super::*;
use ansible_module::{json, Map};

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

fn params(v: Value) -> Params {
    Params::from_map(v.as_object().cloned().unwrap_or_else(Map::new))
}

fn query(v: Value) -> Query {
    Query::from_params(&params(v)).unwrap()
}

fn perms(v: Value) -> Permissions {
    pve_api::access::permissions_from_json(&v).unwrap()
}

#[test]
fn subjects() {
    assert_eq!(query(json!({})).subject, Subject::Caller);
    assert_eq!(query(json!({})).subject.authid(), None);
    let q = query(json!({"userid": "joe@pve"}));
    assert_eq!(q.subject, Subject::User("joe@pve".into()));
    assert_eq!(q.subject.authid(), Some("joe@pve"));
    let q = query(json!({"tokenid": "joe@pve!ci"}));
    assert_eq!(q.subject, Subject::Token("joe@pve!ci".into()));
    let q = query(json!({"userid": "joe@pve!ci"}));
    assert_eq!(q.subject, Subject::Token("joe@pve!ci".into()));
    for (args, want) in [
        (
            json!({"userid": "joe"}),
            "userid: value 'joe' does not look like a valid user name",
        ),
        (
            json!({"tokenid": "ci"}),
            "tokenid: 'ci' is not a full token id",
        ),
        (
            json!({"tokenid": "joe@pve!c i"}),
            "tokenid: value 'joe@pve!c i' does not look like a valid token ID",
        ),
        (
            json!({"userid": "a@pve", "tokenid": "a@pve!x"}),
            "parameters are mutually exclusive",
        ),
    ] {
        let e = Query::from_params(&params(args.clone())).unwrap_err();
        assert!(e.starts_with(want), "{args}: {e}");
    }
}

#[test]
fn paths_are_normalised_like_pve() {
    let q = query(
        json!({"path": "vms//100/", "require": {"/storage/local/": "Datastore.Audit", "storage/local": ["Datastore.AllocateSpace"]}}),
    );
    assert_eq!(q.path.as_deref(), Some("/vms/100"));
    assert_eq!(
        q.require,
        BTreeMap::from([(
            "/storage/local".to_string(),
            s(&["Datastore.AllocateSpace", "Datastore.Audit"])
        )])
    );
    let e = Query::from_params(&params(json!({"path": "/vms/1 00"}))).unwrap_err();
    assert!(e.starts_with("path: invalid ACL path '/vms/1 00'"), "{e}");
    let e = Query::from_params(&params(json!({"require": {"/a b": ["VM.Audit"]}}))).unwrap_err();
    assert!(e.starts_with("require: invalid ACL path '/a b'"), "{e}");
}

#[test]
fn require_lists_and_strings() {
    let r = parse_require(&json!({
        "/": "Sys.Audit, VM.Audit;Sys.Audit",
        "/vms/100": ["VM.Console", "VM.PowerMgmt VM.Audit"],
        "/nodes": null,
    }))
    .unwrap();
    assert_eq!(r["/"], s(&["Sys.Audit", "VM.Audit"]));
    assert_eq!(
        r["/vms/100"],
        s(&["VM.Audit", "VM.Console", "VM.PowerMgmt"])
    );
    assert!(r["/nodes"].is_empty());
    assert!(parse_require(&json!(["VM.Audit"])).is_err());
    assert!(parse_require(&json!({"/": 5})).is_err());
    assert!(parse_require(&json!({"/": [5]})).is_err());
}

#[test]
fn fewest_queries() {
    // Nothing named: one query for PVE's default path set.
    assert_eq!(query(json!({})).queries(), vec![None]);
    // One path: ask for it.
    assert_eq!(
        query(json!({"path": "/vms/100"})).queries(),
        vec![Some("/vms/100".to_string())]
    );
    assert_eq!(
        query(json!({"require": {"/": ["Sys.Audit"]}})).queries(),
        vec![Some("/".to_string())]
    );
    assert_eq!(
        query(json!({"path": "/", "require": {"/": ["Sys.Audit"]}})).queries(),
        vec![Some("/".to_string())]
    );
    // Several paths PVE always reports: one query without path.
    assert_eq!(
            query(json!({"require": {"/": ["Sys.Audit"], "/vms": ["VM.Audit"], "/storage": ["Datastore.Audit"]}})).queries(),
            vec![None]
        );
    // Any other path among several: one query per path.
    assert_eq!(
        query(
            json!({"path": "/", "require": {"/vms/100": ["VM.Audit"], "/pool/dev": ["Pool.Audit"]}})
        )
        .queries(),
        vec![
            Some("/".to_string()),
            Some("/pool/dev".to_string()),
            Some("/vms/100".to_string())
        ]
    );
    // /pool is not trusted in the default set (PVE < 8.0.6 said /pools).
    assert_eq!(
        query(json!({"require": {"/": ["Sys.Audit"], "/pool": ["Pool.Audit"]}}))
            .queries()
            .len(),
        2
    );
}

#[test]
fn views() {
    let answers = perms(json!({"/": {"Sys.Audit": 1}, "/vms": {"VM.Audit": 0}}));
    assert_eq!(query(json!({})).view(&answers), answers);
    let q = query(json!({"require": {"/": ["Sys.Audit"], "/storage": ["Datastore.Audit"]}}));
    assert_eq!(
        q.view(&answers),
        perms(json!({"/": {"Sys.Audit": 1}, "/storage": {}}))
    );
}

#[test]
fn missing_privileges() {
    let q = query(json!({"require": {
        "/": ["Sys.Audit"],
        "/vms/100": ["VM.Audit", "VM.Console", "VM.Config.cpu"],
        "/storage/local": ["Datastore.Audit"],
    }}));
    let answers = perms(json!({
        "/": {"Sys.Audit": 0},
        "/vms/100": {"VM.Audit": 1},
        "/storage/local": {},
    }));
    let m = missing(&q.require, &answers);
    assert_eq!(
        m,
        BTreeMap::from([
            ("/storage/local".to_string(), s(&["Datastore.Audit"])),
            ("/vms/100".to_string(), s(&["VM.Config.cpu", "VM.Console"])),
        ])
    );
    // A path PVE did not report at all holds nothing.
    let m2 = missing(&q.require, &perms(json!({"/": {"Sys.Audit": 1}})));
    assert_eq!(m2["/vms/100"].len(), 3);
    assert!(!m2.contains_key("/"));
    assert!(missing(&BTreeMap::new(), &answers).is_empty());

    let valid = s(&[
        "Datastore.Audit",
        "Sys.Audit",
        "VM.Audit",
        "VM.Config.CPU",
        "VM.Console",
    ]);
    let unknown = unknown_names(&m, &valid);
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].suggestions, s(&["VM.Config.CPU"]));
    assert_eq!(
            missing_message("token 'joe@pve!ci'", &m, &[], None, 5),
            "token 'joe@pve!ci' lacks required privileges: /storage/local: Datastore.Audit; /vms/100: VM.Config.cpu, VM.Console"
        );
    assert_eq!(
            missing_message("token 'joe@pve!ci'", &m, &unknown, Some("9.1.1"), 47),
            "token 'joe@pve!ci' lacks required privileges: /storage/local: Datastore.Audit; /vms/100: VM.Config.cpu, VM.Console. Some names cannot be held because they are not privileges: unknown privilege 'VM.Config.cpu' (did you mean VM.Config.CPU?): PVE 9.1.1 has 47 privileges (those of the built-in Administrator role)"
        );
    let one = BTreeMap::from([("/".to_string(), s(&["Sys.Audit"]))]);
    assert_eq!(
        missing_message("user 'joe@pve'", &one, &[], None, 5),
        "user 'joe@pve' lacks a required privilege: /: Sys.Audit"
    );
}

#[test]
fn messages_and_warnings() {
    let q = query(json!({"userid": "joe@pve", "require": {"/": ["Sys.Audit", "VM.Audit"]}}));
    let p = perms(json!({"/": {"Sys.Audit": 1, "VM.Audit": 1}}));
    assert_eq!(
        success_message("user 'joe@pve'", &q, &p),
        "user 'joe@pve' holds every required privilege (2 on 1 path)"
    );
    assert_eq!(empty_warning(&q, &p), None);
    let q0 = query(json!({"userid": "joe@pve"}));
    assert_eq!(
        success_message("user 'joe@pve'", &q0, &p),
        "permissions of user 'joe@pve' on 1 path"
    );
    let empty = perms(json!({"/": {}}));
    assert!(empty_warning(&q, &empty).unwrap().contains("'joe@pve'"));
    assert!(empty_warning(&q, &Permissions::new())
        .unwrap()
        .contains("no privileges at all"));
    // With a path, nothing there is all PVE was asked for.
    let on_path = query(json!({"userid": "joe@pve", "path": "/vms/102"}));
    assert!(empty_warning(&on_path, &Permissions::new())
        .unwrap()
        .starts_with("PVE reports no privileges on '/vms/102' for 'joe@pve';"));
    // The caller itself exists: no such warning.
    assert_eq!(empty_warning(&query(json!({})), &Permissions::new()), None);
}
