use super::*;
use ansible_module::{json, Map};

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

fn desired(v: Value) -> Desired {
    let Value::Object(m) = v else {
        panic!("params must be an object")
    };
    Desired::from_params(&Params::from_map(
        m.into_iter().collect::<Map<String, Value>>(),
    ))
    .unwrap()
}

fn group(members: &[&str]) -> Group {
    Group {
        groupid: "ops".into(),
        comment: Some("operators".into()),
        members: s(members),
    }
}

fn user(id: &str, groups: &[&str]) -> User {
    let mut u = User::new(id);
    u.groups = s(groups);
    u
}

fn users() -> Vec<User> {
    vec![
        user("alice@pve", &["ops", "dev"]),
        user("bob@pve", &[]),
        user("carl@pve", &["dev"]),
        user("root@pam", &[]),
    ]
}

fn ok(d: &Desired, cur: Option<&Group>) -> Plan {
    plan(d, cur, Some(&users()), false).unwrap()
}

fn reqs(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.request.to_string()).collect()
}

#[test]
fn options_are_read_and_checked() {
    let d = desired(json!({"groupid": "ops", "members": ["bob@pve", "alice@pve,bob@pve"]}));
    assert_eq!(d.members, Some(s(&["alice@pve", "bob@pve"])));
    assert_eq!(d.state, State::Present);
    assert!(!d.append);
    for (args, want) in [
        (
            json!({"groupid": "my group"}),
            "groupid: group name 'my group' contains invalid characters",
        ),
        (
            json!({"groupid": "ops", "members": ["alice"]}),
            "members: value 'alice' does not look like a valid user name",
        ),
        (
            json!({"groupid": "ops", "comment": "x".repeat(2049)}),
            "comment is too long",
        ),
    ] {
        let Value::Object(m) = args.clone() else {
            panic!()
        };
        let e = Desired::from_params(&Params::from_map(m)).unwrap_err();
        assert!(e.contains(want), "{args}: {e}");
    }
}

#[test]
fn create() {
    let d = desired(
        json!({"groupid": "ops", "comment": "operators", "members": ["bob@pve", "alice@pve"]}),
    );
    assert!(d.needs_users(None));
    let p = ok(&d, None);
    assert!(p.changed);
    assert_eq!(
        reqs(&p),
        [
            "POST /access/groups groupid=ops&comment=operators",
            "PUT /access/users/alice@pve groups=ops&append=1",
            "PUT /access/users/bob@pve groups=ops&append=1",
        ]
    );
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"groupid": "ops", "comment": "operators", "members": ["alice@pve", "bob@pve"]})
    );
    assert_eq!(p.msg, "group 'ops' created with members alice@pve, bob@pve");
    let p = plan(&desired(json!({"groupid": "ops"})), None, None, true).unwrap();
    assert_eq!(reqs(&p), ["POST /access/groups groupid=ops"]);
    assert_eq!(p.msg, "group 'ops' would be created");
    assert_eq!(
        p.after,
        json!({"groupid": "ops", "comment": null, "members": []})
    );
}

#[test]
fn no_op() {
    let cur = group(&["alice@pve"]);
    for args in [
        json!({"groupid": "ops"}),
        json!({"groupid": "ops", "comment": "operators"}),
        json!({"groupid": "ops", "members": ["alice@pve", "alice@pve"]}),
        json!({"groupid": "ops", "members": [], "append": true}),
        json!({"groupid": "ops", "members": ["alice@pve"], "append": true}),
    ] {
        let d = desired(args.clone());
        assert!(!d.needs_users(Some(&cur)), "{args}");
        let p = plan(&d, Some(&cur), None, false).unwrap();
        assert!(!p.changed && p.steps.is_empty(), "{args}");
        assert_eq!(p.before, p.after);
        assert_eq!(p.msg, "group 'ops' unchanged");
    }
}

#[test]
fn comment_alone() {
    let cur = group(&["alice@pve"]);
    let p = ok(
        &desired(json!({"groupid": "ops", "comment": ""})),
        Some(&cur),
    );
    assert_eq!(reqs(&p), ["PUT /access/groups/ops comment="]);
    assert_eq!(p.after["comment"], json!(null));
    assert_eq!(p.after["members"], json!(["alice@pve"]));
    assert_eq!(p.msg, "group 'ops' updated: comment");
    assert_eq!(p.steps[0].settle, Settle::Group { comment: None });
}

#[test]
fn members_replace_and_append() {
    let cur = group(&["alice@pve"]);
    let d = desired(json!({"groupid": "ops", "members": ["bob@pve", "carl@pve"]}));
    assert!(d.needs_users(Some(&cur)));
    let p = ok(&d, Some(&cur));
    assert_eq!(
        reqs(&p),
        [
            "PUT /access/users/bob@pve groups=ops&append=1",
            "PUT /access/users/carl@pve groups=ops&append=1",
            // alice keeps her other group
            "PUT /access/users/alice@pve groups=dev",
        ]
    );
    assert_eq!(p.after["members"], json!(["bob@pve", "carl@pve"]));
    assert_eq!(
        p.msg,
        "group 'ops' updated: members (added bob@pve, carl@pve; removed alice@pve)"
    );
    let d = desired(json!({"groupid": "ops", "members": ["bob@pve"], "append": true}));
    let p = ok(&d, Some(&cur));
    assert_eq!(reqs(&p), ["PUT /access/users/bob@pve groups=ops&append=1"]);
    assert_eq!(p.after["members"], json!(["alice@pve", "bob@pve"]));
    // Emptied.
    let p = ok(
        &desired(json!({"groupid": "ops", "members": []})),
        Some(&cur),
    );
    assert_eq!(reqs(&p), ["PUT /access/users/alice@pve groups=dev"]);
    assert_eq!(p.after["members"], json!([]));
    let p = ok(
        &desired(json!({"groupid": "ops", "members": []})),
        Some(&group(&["carl@pve"])),
    );
    assert_eq!(reqs(&p), ["PUT /access/users/carl@pve groups=dev"]);
    let p = ok(
        &desired(json!({"groupid": "dev", "members": []})),
        Some(&Group {
            groupid: "dev".into(),
            comment: None,
            members: s(&["carl@pve"]),
        }),
    );
    assert_eq!(reqs(&p), ["PUT /access/users/carl@pve groups="]);
}

#[test]
fn unknown_members_fail_before_any_write() {
    let d = desired(json!({"groupid": "ops", "members": ["nobody@pve", "bob@pve"]}));
    let e = plan(&d, None, Some(&users()), false).unwrap_err().0;
    assert_eq!(e, "group 'ops' not changed: user 'nobody@pve' does not exist (or is not visible to this login); create it first, e.g. with pve.access.pve_user");
}

#[test]
fn absent() {
    let d = desired(json!({"groupid": "ops", "state": "absent", "members": ["x@pve"]}));
    assert!(!d.needs_users(None));
    let p = ok(&d, None);
    assert!(!p.changed && p.steps.is_empty());
    assert_eq!(p.msg, "group 'ops' does not exist");
    let p = ok(&d, Some(&group(&["alice@pve"])));
    assert_eq!(reqs(&p), ["DELETE /access/groups/ops"]);
    assert_eq!(p.after, json!({}));
    assert_eq!(
        p.msg,
        "group 'ops' deleted (with its ACL entries, as PVE does)"
    );
}

#[test]
fn what_is_taken_away_from_members() {
    let cur = group(&["alice@pve", "bob@pve"]);
    let changes = |args: Value, cur: Option<&Group>| lockout_changes(&desired(args), cur);
    assert_eq!(
        changes(json!({"groupid": "ops", "state": "absent"}), Some(&cur)),
        [Change::GroupDeleted {
            group: "ops".into(),
            members: s(&["alice@pve", "bob@pve"])
        }]
    );
    assert_eq!(
        changes(
            json!({"groupid": "ops", "members": ["bob@pve", "carol@pve"]}),
            Some(&cur)
        ),
        [Change::Membership {
            userid: "alice@pve".into(),
            group: "ops".into()
        }]
    );
    // Adding, appending, leaving members alone and missing groups take nothing.
    for args in [
        json!({"groupid": "ops", "members": ["carol@pve"], "append": true}),
        json!({"groupid": "ops", "comment": "x"}),
    ] {
        assert_eq!(changes(args, Some(&cur)), []);
    }
    assert_eq!(
        changes(json!({"groupid": "ops", "state": "absent"}), None),
        []
    );
}

#[test]
fn settling_a_lost_answer() {
    let add = Settle::Member {
        userid: "bob@pve".into(),
        member: true,
    };
    let remove = Settle::Member {
        userid: "bob@pve".into(),
        member: false,
    };
    let bob_in = user("bob@pve", &["ops"]);
    let bob_out = user("bob@pve", &["dev"]);
    assert!(add.member_met_by("ops", Some(&bob_in)));
    assert!(!add.member_met_by("ops", Some(&bob_out)));
    assert!(remove.member_met_by("ops", Some(&bob_out)));
    assert!(!remove.member_met_by("ops", Some(&bob_in)));
    let g = group(&[]);
    assert!(Settle::Group {
        comment: Some("operators".into())
    }
    .group_met_by(Some(&g)));
    assert!(!Settle::Group { comment: None }.group_met_by(Some(&g)));
    assert!(!Settle::Group { comment: None }.group_met_by(None));
    assert!(Settle::GroupAbsent.group_met_by(None));
    assert!(!Settle::GroupAbsent.group_met_by(Some(&g)));
}
