use super::*;
use ansible_module::{json, Map};

fn desired(v: Value) -> Desired {
    try_desired(v).unwrap()
}

fn try_desired(v: Value) -> Result<Desired, String> {
    let Value::Object(m) = v else {
        panic!("params must be an object")
    };
    Desired::from_params(&Params::from_map(
        m.into_iter().collect::<Map<String, Value>>(),
    ))
}

fn pool(vms: &[u32], storage: &[&str]) -> Pool {
    Pool {
        poolid: "web".into(),
        comment: Some("Web".into()),
        vms: vms.to_vec(),
        storage: storage.iter().map(|s| s.to_string()).collect(),
    }
}

/// Guests 100, 101 (in pool `db`), 200; storages local, nfs.
fn cluster() -> Cluster {
    Cluster {
        guests: [
            (100, None),
            (101, Some("db".to_string())),
            (200, Some("web".to_string())),
        ]
        .into_iter()
        .collect(),
        storages: vec!["local".into(), "nfs".into()],
    }
}

fn ok(d: &Desired, cur: Option<&Pool>) -> Plan {
    plan(d, cur, Some(&cluster()), &[], Shape::Param, false).unwrap()
}

fn refused(d: &Desired, cur: Option<&Pool>) -> String {
    plan(d, cur, Some(&cluster()), &[], Shape::Param, false)
        .unwrap_err()
        .0
}

fn reqs(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.request.to_string()).collect()
}

#[test]
fn options_are_read_and_checked() {
    let d = desired(
        json!({"poolid": "a/b", "vms": ["200", "100", "100,101"], "storage": ["nfs", "local"]}),
    );
    assert_eq!(d.vms, Some(vec![100, 101, 200]));
    assert_eq!(
        d.storage,
        Some(vec!["local".to_string(), "nfs".to_string()])
    );
    assert_eq!(d.state, State::Present);
    assert!(!d.append && !d.allow_move && !d.remove_members);
    for (args, want) in [
        (
            json!({"poolid": "a b"}),
            "poolid: pool name 'a b' contains invalid characters",
        ),
        (json!({"poolid": "a/b/c/d"}), "nested too deeply"),
        (
            json!({"poolid": "p", "vms": ["99"]}),
            "vms: 99 is not a valid VM ID",
        ),
        (
            json!({"poolid": "p", "vms": ["web1"]}),
            "vms: 'web1' is not a VM ID",
        ),
        (
            json!({"poolid": "p", "storage": ["1x"]}),
            "storage: storage ID '1x' is not valid",
        ),
        (
            json!({"poolid": "p", "remove_members": true}),
            "remove_members applies to state: absent only",
        ),
    ] {
        let e = try_desired(args.clone()).unwrap_err();
        assert!(e.contains(want), "{args}: {e}");
    }
}

#[test]
fn creates_with_members_in_two_requests() {
    let d = desired(json!({"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local"]}));
    assert!(d.needs_cluster(None));
    let p = ok(&d, None);
    assert_eq!(
        reqs(&p),
        [
            "POST /pools poolid=web&comment=Web",
            "PUT /pools poolid=web&vms=100&storage=local"
        ]
    );
    assert_eq!(p.msg, "pool 'web' created with guest 100 and storage local");
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local"]})
    );
    let check = plan(&d, None, Some(&cluster()), &[], Shape::Param, true).unwrap();
    assert_eq!(
        check.msg,
        "pool 'web' would be created with guest 100 and storage local"
    );
    assert_eq!(check.steps, p.steps);
}

#[test]
fn nothing_to_do_reads_nothing_else() {
    let cur = pool(&[100, 200], &["local"]);
    let d = desired(
        json!({"poolid": "web", "comment": "Web", "vms": [200, 100], "storage": ["local"]}),
    );
    assert!(!d.needs_cluster(Some(&cur)));
    let p = plan(&d, Some(&cur), None, &[], Shape::Param, false).unwrap();
    assert!(!p.changed && p.steps.is_empty());
    assert_eq!(p.msg, "pool 'web' unchanged");
    // Members left out are left alone; append adds nothing already there.
    let d = desired(json!({"poolid": "web", "vms": [100], "append": true}));
    assert!(!ok(&d, Some(&cur)).changed);
}

#[test]
fn replace_adds_then_removes_append_only_adds() {
    let cur = pool(&[100, 200], &["local"]);
    let d = desired(json!({"poolid": "web", "comment": "", "vms": [100], "storage": ["nfs"]}));
    let p = ok(&d, Some(&cur));
    assert_eq!(
        reqs(&p),
        [
            "PUT /pools poolid=web&comment=&storage=nfs",
            "PUT /pools poolid=web&delete=1&vms=200&storage=local"
        ]
    );
    assert_eq!(
        p.msg,
        "pool 'web' updated: comment; added storage nfs; removed guest 200 and storage local"
    );
    assert_eq!(
        p.after,
        json!({"poolid": "web", "comment": null, "vms": [100], "storage": ["nfs"]})
    );

    let d = desired(json!({"poolid": "web", "storage": ["nfs"], "append": true}));
    let p = ok(&d, Some(&cur));
    assert_eq!(reqs(&p), ["PUT /pools poolid=web&storage=nfs"]);
    assert_eq!(p.after["storage"], json!(["local", "nfs"]));

    let d = desired(json!({"poolid": "web", "vms": [], "storage": []}));
    assert_eq!(
        reqs(&ok(&d, Some(&cur))),
        ["PUT /pools poolid=web&delete=1&vms=100,200&storage=local"]
    );
}

#[test]
fn a_guest_in_another_pool_moves_only_when_allowed() {
    let cur = pool(&[], &[]);
    let d = desired(json!({"poolid": "web", "vms": [101]}));
    let e = refused(&d, Some(&cur));
    assert_eq!(
        e,
        "pool 'web' not changed: guest 101 is in pool 'db': a guest is in one pool at most; set allow_move: true to move it here"
    );
    let d = desired(json!({"poolid": "web", "vms": [101], "allow_move": true}));
    let p = ok(&d, Some(&cur));
    assert_eq!(reqs(&p), ["PUT /pools poolid=web&vms=101&allow-move=1"]);
    assert_eq!(
        p.msg,
        "pool 'web' updated: added guest 101 (guest 101 moved from pool 'db')"
    );
}

#[test]
fn members_must_exist_also_in_check_mode() {
    let d = desired(json!({"poolid": "web", "vms": [100, 300, 301], "storage": ["ceph"]}));
    for check_mode in [false, true] {
        let e = plan(&d, None, Some(&cluster()), &[], Shape::Param, check_mode)
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "pool 'web' not changed: guest 300, 301 does not exist (or this login cannot see it: it needs VM.Audit on /vms/<id>); storage ceph does not exist (or this login cannot see it: it needs Datastore.Audit on /storage/<id>)"
        );
    }
}

#[test]
fn deleting_refuses_members_and_nested_pools_unless_told() {
    let cur = pool(&[100], &["local"]);
    let d = desired(json!({"poolid": "web", "state": "absent"}));
    assert!(!d.needs_cluster(Some(&cur)));
    let e = refused(&d, Some(&cur));
    assert!(e.starts_with("pool 'web' not deleted: it holds guest 100 and storage local; PVE deletes only empty pools. Set remove_members: true"), "{e}");
    let e = plan(
        &d,
        Some(&pool(&[], &[])),
        None,
        &["web/a".into()],
        Shape::Param,
        false,
    )
    .unwrap_err()
    .0;
    assert!(e.contains("it holds pool web/a"), "{e}");

    let d = desired(json!({"poolid": "web", "state": "absent", "remove_members": true}));
    let p = ok(&d, Some(&cur));
    assert_eq!(
        reqs(&p),
        [
            "PUT /pools poolid=web&delete=1&vms=100&storage=local",
            "DELETE /pools poolid=web"
        ]
    );
    assert_eq!(
        p.msg,
        "pool 'web' deleted (after taking out guest 100 and storage local) with its ACL entries, as PVE does"
    );
    assert_eq!(p.after, json!({}));

    let d = desired(json!({"poolid": "web/a", "state": "absent"}));
    let mut nested = pool(&[], &[]);
    nested.poolid = "web/a".into();
    assert!(ok(&d, Some(&nested))
        .msg
        .contains("its ACL entries on /pool/web/a stay"));
    assert!(!ok(&d, None).changed);
}

#[test]
fn the_older_api_shape() {
    let d = desired(json!({"poolid": "web", "comment": "x", "vms": [100]}));
    let p = plan(
        &d,
        Some(&pool(&[], &[])),
        Some(&cluster()),
        &[],
        Shape::Path,
        false,
    )
    .unwrap();
    assert_eq!(reqs(&p), ["PUT /pools/web comment=x&vms=100"]);
    let d = desired(json!({"poolid": "web", "state": "absent"}));
    let p = plan(&d, Some(&pool(&[], &[])), None, &[], Shape::Path, false).unwrap();
    assert_eq!(reqs(&p), ["DELETE /pools/web"]);
    let d = desired(json!({"poolid": "web/a"}));
    let e = plan(&d, None, None, &[], Shape::Path, false).unwrap_err().0;
    assert!(e.contains("no nested pools"), "{e}");
    assert_eq!(Shape::of_version("8.0.9"), Some(Shape::Path));
    assert_eq!(Shape::of_version("8.1.0"), Some(Shape::Param));
    assert_eq!(Shape::of_version("9.1.13"), Some(Shape::Param));
    assert_eq!(Shape::of_version("x"), None);
}

#[test]
fn answers_are_read_in_both_shapes() {
    let one = json!({"poolid": "web", "comment": "Web", "members": [
        {"id": "lxc/200", "type": "lxc", "vmid": 200, "node": "pve"},
        {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve"},
        {"id": "storage/pve/local", "type": "storage", "storage": "local", "node": "pve"}]});
    let want = pool(&[100, 200], &["local"]);
    assert_eq!(Pool::from_json("web", &one).unwrap(), want);
    assert_eq!(Pool::from_json("web", &json!([one])).unwrap(), want);
    assert!(Pool::from_json("web", &json!({"comment": "x"})).is_err());
    let c = Cluster::from_json(&json!([
        {"type": "pool", "pool": "db"},
        {"type": "qemu", "vmid": 101, "pool": "db"},
        {"type": "node", "node": "pve"},
        {"type": "storage", "storage": "local", "node": "a"},
        {"type": "storage", "storage": "local", "node": "b"}]))
    .unwrap();
    assert_eq!(c.guests[&101].as_deref(), Some("db"));
    assert_eq!(c.storages, ["local"]);
}

#[test]
fn settle_checks_read_the_pool_back() {
    let p = ok(
        &desired(json!({"poolid": "web", "vms": [], "storage": ["nfs"], "comment": "c"})),
        Some(&pool(&[100], &[])),
    );
    let after = pool(&[], &["nfs"]);
    let mut commented = after.clone();
    commented.comment = Some("c".into());
    assert!(!p.steps[0].settle.met_by(Some(&after)));
    assert!(p.steps[0].settle.met_by(Some(&commented)));
    assert!(p.steps[1].settle.met_by(Some(&after)));
    assert!(!p.steps[1].settle.met_by(Some(&pool(&[100], &[]))));
    assert!(!p.steps[1].settle.met_by(None));
    assert!(Settle::Absent.met_by(None));
}
