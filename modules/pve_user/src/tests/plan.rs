use super::*;
use ansible_module::{json, Map, Value};

const NOW: i64 = 1_800_000_000;

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

fn params(v: Value) -> Params {
    let Value::Object(m) = v else {
        panic!("params must be an object")
    };
    Params::from_map(m.into_iter().collect::<Map<String, Value>>())
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn root() -> Caller {
    Caller {
        userid: "root@pam".into(),
        token: false,
        password: None,
    }
}

fn joe() -> User {
    let mut u = User::new("joe@pve");
    u.email = Some("joe@example.com".into());
    u.groups = s(&["ops"]);
    u.tokens = s(&["ci"]);
    u
}

fn with_user(u: Option<User>) -> Current {
    Current {
        user: u,
        now: NOW,
        ..Current::default()
    }
}

fn ok(d: &Desired, cur: &Current) -> Plan {
    plan(d, cur, &root(), false).unwrap()
}

fn put_params(p: &Plan) -> Vec<(String, String)> {
    assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
    p.steps[0].request.params.clone()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn options_are_read_and_checked() {
    let d =
        desired(json!({"userid": "joe@pve", "groups": ["b", "a,c", "a"], "expire": "2027-01-31"}));
    assert_eq!(d.groups, Some(s(&["a", "b", "c"])));
    assert_eq!(d.expire, Some(1_801_353_600));
    assert_eq!(d.realm, "pve");
    assert_eq!(d.state, State::Present);
    assert_eq!(d.update_password, UpdatePassword::OnCreate);
    assert_eq!(d.enable, None);
    assert_eq!(
        desired(json!({"userid": "joe@pve", "expire": "never"})).expire,
        Some(0)
    );

    for (args, want) in [
        (json!({"userid": "joe"}), "the realm is missing"),
        (
            json!({"userid": "jo e@pve"}),
            "does not look like a valid user name",
        ),
        (
            json!({"userid": "joe@pve", "expire": "2027-13-01"}),
            "invalid expire '2027-13-01'",
        ),
        (
            json!({"userid": "joe@pve", "email": "joe@"}),
            "email 'joe@' does not look like a valid email address",
        ),
        (
            json!({"userid": "joe@pve", "groups": ["bad:group"]}),
            "groups: group name 'bad:group' contains invalid characters",
        ),
        (
            json!({"userid": "joe@pve", "password": "short"}),
            "PVE accepts 8 to 64 characters, this one has 5",
        ),
        (
            json!({"userid": "joe@pam", "password": "long enough"}),
            "only users of the 'pve' realm",
        ),
        (
            json!({"userid": "joe@pve", "comment": "x".repeat(2049)}),
            "comment is too long (2049 characters",
        ),
    ] {
        let e = Desired::from_params(&params(args.clone())).unwrap_err();
        assert!(e.contains(want), "{args}: {e}");
        assert!(
            !e.contains("long enough"),
            "the password is never shown: {e}"
        );
    }
    // An empty email clears it and is fine.
    assert_eq!(
        desired(json!({"userid": "joe@pve", "email": ""})).email,
        Some(String::new())
    );
}

#[test]
fn password_is_never_in_debug_output() {
    let d = desired(json!({"userid": "joe@pve", "password": "s3cret-pass"}));
    assert!(!format!("{d:?}").contains("s3cret-pass"));
    let p = ok(&d, &with_user(None));
    assert!(!format!("{p:?}").contains("s3cret-pass"));
}

#[test]
fn create() {
    let d = desired(json!({
        "userid": "joe@pve", "email": "joe@example.com", "firstname": "Joe", "lastname": "",
        "groups": ["ops"], "expire": "1900000000", "enable": false, "password": "s3cret-pass",
    }));
    let cur = Current {
        realms: Some(s(&["pam", "pve"])),
        groups: Some(s(&["ops"])),
        ..with_user(None)
    };
    assert!(d.needs_realms(None));
    assert_eq!(d.groups_to_check(None), s(&["ops"]));
    let p = ok(&d, &cur);
    assert!(p.changed);
    assert_eq!(p.steps[0].request.method, pve_api::Method::Post);
    assert_eq!(p.steps[0].request.path, "/access/users");
    assert_eq!(
        p.steps[0].request.params,
        pairs(&[
            ("userid", "joe@pve"),
            ("enable", "0"),
            ("expire", "1900000000"),
            ("firstname", "Joe"),
            ("email", "joe@example.com"),
            ("groups", "ops"),
            ("password", "s3cret-pass"),
        ])
    );
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"userid": "joe@pve", "enable": false, "expire": 1_900_000_000i64, "firstname": "Joe",
                   "lastname": null, "email": "joe@example.com", "comment": null, "groups": ["ops"], "tokens": []})
    );
    assert_eq!(p.msg, "user 'joe@pve' created with a password");
    assert_eq!(
        plan(&d, &cur, &root(), true).unwrap().msg,
        "user 'joe@pve' would be created with a password"
    );

    // The minimal user: only the id.
    let p = ok(
        &desired(json!({"userid": "amy@pam"})),
        &Current {
            realms: Some(s(&["pam", "pve"])),
            ..with_user(None)
        },
    );
    assert_eq!(p.steps[0].request.params, pairs(&[("userid", "amy@pam")]));
    assert_eq!(p.msg, "user 'amy@pam' created");
}

#[test]
fn validation_against_the_server() {
    let d = desired(json!({"userid": "joe@ldap"}));
    let cur = Current {
        realms: Some(s(&["pam", "pve"])),
        ..with_user(None)
    };
    let e = plan(&d, &cur, &root(), false).unwrap_err().0;
    assert_eq!(e, "cannot create user 'joe@ldap': the realm 'ldap' does not exist on this server (it has pam, pve); add the realm first (Datacenter > Permissions > Realms) or fix the userid");

    let d =
        desired(json!({"userid": "joe@pve", "groups": ["ops", "nope", "gone"], "append": true}));
    assert_eq!(d.groups_to_check(Some(&joe())), s(&["gone", "nope"]));
    let cur = Current {
        groups: Some(s(&["ops"])),
        ..with_user(Some(joe()))
    };
    let e = plan(&d, &cur, &root(), false).unwrap_err().0;
    assert_eq!(e, "user 'joe@pve' not changed: groups 'gone', 'nope' do not exist (create it first, e.g. with pve.access.pve_group)");
}

#[test]
fn no_op() {
    let cur = with_user(Some(joe()));
    for args in [
        json!({"userid": "joe@pve"}),
        json!({"userid": "joe@pve", "email": "joe@example.com", "enable": true, "expire": "0", "comment": ""}),
        json!({"userid": "joe@pve", "groups": ["ops"]}),
        json!({"userid": "joe@pve", "groups": [], "append": true}),
        json!({"userid": "joe@pve", "password": "s3cret-pass"}),
    ] {
        let d = desired(args.clone());
        assert!(d.groups_to_check(Some(&joe())).is_empty());
        assert!(!d.needs_realms(Some(&joe())));
        assert!(!d.needs_login_check(Some(&joe())));
        let p = ok(&d, &cur);
        assert!(!p.changed, "{args}");
        assert!(p.steps.is_empty());
        assert_eq!(p.before, p.after);
        assert_eq!(p.after, joe().to_json());
        assert_eq!(p.msg, "user 'joe@pve' unchanged");
    }
}

#[test]
fn each_option_alone() {
    let cur = Current {
        groups: Some(s(&["ops", "dev"])),
        ..with_user(Some(joe()))
    };
    for (args, sent, key, value, msg) in [
        (
            json!({"enable": false}),
            vec![("enable", "0")],
            "enable",
            json!(false),
            "disabled",
        ),
        (
            json!({"expire": "2027-01-31"}),
            vec![("expire", "1801353600")],
            "expire",
            json!(1_801_353_600),
            "expire 2027-01-31T00:00:00Z",
        ),
        (
            json!({"firstname": "Joe"}),
            vec![("firstname", "Joe")],
            "firstname",
            json!("Joe"),
            "firstname",
        ),
        (
            json!({"lastname": "Doe"}),
            vec![("lastname", "Doe")],
            "lastname",
            json!("Doe"),
            "lastname",
        ),
        (
            json!({"email": ""}),
            vec![("email", "")],
            "email",
            json!(null),
            "email",
        ),
        (
            json!({"comment": "ops"}),
            vec![("comment", "ops")],
            "comment",
            json!("ops"),
            "comment",
        ),
        (
            json!({"groups": ["dev"]}),
            vec![("groups", "dev")],
            "groups",
            json!(["dev"]),
            "groups (added dev; removed ops)",
        ),
        (
            json!({"groups": []}),
            vec![("groups", "")],
            "groups",
            json!([]),
            "groups (removed ops)",
        ),
        (
            json!({"groups": ["dev", "ops"], "append": true}),
            vec![("groups", "dev,ops"), ("append", "1")],
            "groups",
            json!(["dev", "ops"]),
            "groups (added dev)",
        ),
    ] {
        let mut a = args.clone();
        a["userid"] = json!("joe@pve");
        let p = ok(&desired(a), &cur);
        assert!(p.changed, "{args}");
        assert_eq!(p.steps[0].request.path, "/access/users/joe@pve");
        assert_eq!(put_params(&p), pairs(&sent), "{args}");
        assert_eq!(p.after[key], value, "{args}");
        assert_eq!(p.msg, format!("user 'joe@pve' updated: {msg}"));
        // Everything else as it was, tokens included.
        let mut expect = joe().to_json();
        expect[key] = value;
        assert_eq!(p.after, expect, "{args}");
        assert_eq!(p.before, joe().to_json());
    }
    let d = desired(json!({"userid": "joe@pve", "email": "new@example.com", "comment": "x"}));
    assert_eq!(
        plan(&d, &with_user(Some(joe())), &root(), true)
            .unwrap()
            .msg,
        "user 'joe@pve' would be updated: email, comment"
    );
}

#[test]
fn absent() {
    let d = desired(json!({"userid": "joe@pve", "state": "absent", "groups": ["nope"]}));
    assert!(d.groups_to_check(None).is_empty());
    let p = ok(&d, &with_user(None));
    assert!(!p.changed && p.steps.is_empty());
    assert_eq!(p.msg, "user 'joe@pve' does not exist");
    assert_eq!((p.before, p.after), (json!({}), json!({})));
    let p = ok(&d, &with_user(Some(joe())));
    assert!(p.changed);
    assert_eq!(
        p.steps[0].request,
        ApiRequest::delete("/access/users/joe@pve")
    );
    assert_eq!(p.steps[0].settle, Settle::Absent);
    assert_eq!(p.after, json!({}));
    assert_eq!(p.msg, "user 'joe@pve' deleted (with its API tokens ci)");
}

#[test]
fn what_is_taken_away_from_users() {
    let cur = with_user(Some(joe()));
    let changes = |args: Value| {
        let mut a = args;
        a["userid"] = json!("joe@pve");
        lockout_changes(&desired(a), &cur)
    };
    assert_eq!(
        changes(json!({"state": "absent"})),
        [Change::UserDeleted("joe@pve".into())]
    );
    assert_eq!(
        changes(json!({"enable": false, "expire": "2020-01-01", "groups": []})),
        [
            Change::UserDisabled("joe@pve".into()),
            Change::UserExpire {
                userid: "joe@pve".into(),
                from: 0,
                to: 1_577_836_800
            },
            Change::Membership {
                userid: "joe@pve".into(),
                group: "ops".into()
            },
        ]
    );
    // Nothing taken: the same values, more groups, other attributes.
    assert_eq!(
        changes(
            json!({"enable": true, "expire": 0, "groups": ["dev"], "append": true, "comment": "x"})
        ),
        []
    );
    // A user that does not exist loses nothing.
    let d = desired(json!({"userid": "new@pve", "state": "absent"}));
    assert_eq!(lockout_changes(&d, &with_user(None)), []);
    // The plan itself no longer judges: pve_api::self_lockout does.
    let p = plan(
        &desired(json!({"userid": "root@pam", "state": "absent"})),
        &with_user(Some(User::new("root@pam"))),
        &root(),
        false,
    );
    assert!(p.is_ok());
}

#[test]
fn password_always() {
    let d = desired(
        json!({"userid": "joe@pve", "password": "s3cret-pass", "update_password": "always"}),
    );
    assert!(d.needs_login_check(Some(&joe())));
    assert!(!d.needs_login_check(None));
    // Logs in with it: nothing to do.
    let cur = Current {
        login_ok: Some(true),
        ..with_user(Some(joe()))
    };
    assert!(!ok(&d, &cur).changed);
    // Cannot: set it, as root without confirmation.
    let cur = Current {
        login_ok: Some(false),
        ..with_user(Some(joe()))
    };
    let p = ok(&d, &cur);
    assert!(p.changed);
    assert_eq!(p.steps[0].request.path, "/access/password");
    assert_eq!(
        p.steps[0].request.params,
        pairs(&[("userid", "joe@pve"), ("password", "s3cret-pass")])
    );
    assert_eq!(p.steps[0].settle, Settle::Login);
    assert_eq!(p.msg, "user 'joe@pve' updated: password");
    assert_eq!(p.before, p.after, "the password is not part of the view");
    // Another admin confirms with its own password.
    let admin = Caller {
        userid: "admin@pve".into(),
        token: false,
        password: Some(Password("admin-pass".into())),
    };
    let p = plan(&d, &cur, &admin, false).unwrap();
    assert_eq!(
        p.steps[0].request.value("confirmation-password"),
        Some("admin-pass")
    );
    // A token cannot.
    let tok = Caller {
        userid: "admin@pve".into(),
        token: true,
        password: None,
    };
    let e = plan(&d, &cur, &tok, false).unwrap_err().0;
    assert!(
        e.contains("PVE refuses password changes (PUT /access/password) to API tokens"),
        "{e}"
    );
    // With other changes: the attributes first, then the password.
    let d = desired(
        json!({"userid": "joe@pve", "password": "s3cret-pass", "update_password": "always", "enable": false}),
    );
    let p = ok(&d, &cur);
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[1].request.path, "/access/password");
    assert_eq!(p.msg, "user 'joe@pve' updated: disabled, password");
    assert_eq!(
        p.warnings.len(),
        1,
        "a disabled user cannot log in: {:?}",
        p.warnings
    );
}

#[test]
fn settling_a_lost_answer() {
    let mut after = joe();
    after.groups = s(&["dev", "ops"]);
    let exact = Settle::Matches {
        user: after.clone(),
        append: false,
    };
    let append = Settle::Matches {
        user: User {
            groups: s(&["dev"]),
            ..after.clone()
        },
        append: true,
    };
    assert!(exact.met_by(Some(&after)));
    assert!(!exact.met_by(Some(&joe())));
    assert!(!exact.met_by(None));
    assert!(append.met_by(Some(&after)));
    assert!(!append.met_by(Some(&joe())));
    let mut other = after.clone();
    other.tokens = vec![];
    assert!(exact.met_by(Some(&other)), "tokens do not matter");
    other.email = None;
    assert!(!exact.met_by(Some(&other)));
    assert!(Settle::Absent.met_by(None));
    assert!(!Settle::Absent.met_by(Some(&joe())));
}
