use super::*;
use ansible_module::{json, Map, Value};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn params(v: Value) -> Params {
    let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
    m.entry("state").or_insert(json!("present"));
    m.entry("regenerate").or_insert(json!(false));
    Params::from_map(m)
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn refused(v: Value) -> String {
    Desired::from_params(&params(v)).unwrap_err()
}

fn token(comment: Option<&str>, expire: i64, privsep: bool) -> Token {
    Token {
        userid: "joe@pve".into(),
        tokenid: "ci".into(),
        comment: comment.map(str::to_string),
        expire,
        privsep,
    }
}

fn server(version: (u32, u32), acl: Vec<AclEntry>) -> Server {
    Server {
        version,
        token_acl: acl,
    }
}

fn acl(path: &str, role: &str, propagate: bool) -> AclEntry {
    AclEntry {
        path: path.into(),
        kind: PrincipalKind::Token,
        ugid: "joe@pve!ci".into(),
        roleid: role.into(),
        propagate,
    }
}

fn run(d: &Desired, cur: Option<&Token>, srv: Option<&Server>) -> Plan {
    let action = decide(d, cur, NOW);
    assert_eq!(action.needs_version(), srv.is_some(), "{action:?}");
    plan(d, &action, srv, false).unwrap()
}

fn reqs(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.request.to_string()).collect()
}

#[test]
fn ids_bare_or_full() {
    let d = desired(json!({"userid": "joe@pve", "tokenid": "ci"}));
    assert_eq!(d.full(), "joe@pve!ci");
    let d = desired(json!({"tokenid": "joe@pve!ci"}));
    assert_eq!(
        (d.id.userid.as_str(), d.id.name.as_str()),
        ("joe@pve", "ci")
    );
    let d = desired(json!({"userid": "joe@pve", "tokenid": "joe@pve!ci"}));
    assert_eq!(d.full(), "joe@pve!ci");
}

#[test]
fn validation_failures() {
    assert!(refused(json!({"tokenid": "ci"})).contains("give userid too"));
    assert!(
        refused(json!({"userid": "joe", "tokenid": "ci"})).contains("realm is missing"),
        "{}",
        refused(json!({"userid": "joe", "tokenid": "ci"}))
    );
    assert!(refused(json!({"userid": "joe@pve", "tokenid": "c i"})).starts_with("tokenid:"));
    assert!(refused(json!({"userid": "joe@pve", "tokenid": "1ci"})).starts_with("tokenid:"));
    assert!(
        refused(json!({"userid": "ann@pve", "tokenid": "joe@pve!ci"}))
            .contains("belongs to joe@pve but userid is ann@pve")
    );
    assert!(
        refused(json!({"tokenid": "joe@pve!ci", "expire": "2027-13-01"}))
            .starts_with("invalid expire '2027-13-01'")
    );
    assert!(
        refused(json!({"tokenid": "joe@pve!ci", "renew_before": "14d"})).contains("used together")
    );
    assert!(
        refused(json!({"tokenid": "joe@pve!ci", "renew_before": "14x", "expire_in": "90d"}))
            .starts_with("renew_before: invalid duration")
    );
    assert!(
        refused(json!({"tokenid": "joe@pve!ci", "renew_before": "1d", "expire_in": "0"}))
            .contains("expire_in must be")
    );
    // Renewed for expire_in, a token would be due again at once: every run
    // would regenerate it.
    for (before, expire_in) in [("90d", "90d"), ("100d", "90d"), ("2160h", "90d")] {
        assert_eq!(
            refused(json!({"tokenid": "joe@pve!ci", "renew_before": before, "expire_in": expire_in})),
            format!("renew_before ({before}) must be shorter than expire_in ({expire_in}): a token renewed to expire in {expire_in} is already due for renewal, so every run would regenerate it")
        );
    }
    assert!(
        desired(json!({"tokenid": "joe@pve!ci", "renew_before": "89d", "expire_in": "90d"}))
            .renew
            .is_some()
    );
}

#[test]
fn create_with_defaults_and_with_everything() {
    let d = desired(json!({"tokenid": "joe@pve!ci"}));
    let p = run(&d, None, None);
    assert!(p.changed);
    assert_eq!(reqs(&p), ["POST /access/users/joe@pve/token/ci privsep=1"]);
    assert!(p.steps[0].settle.brings_secret());
    assert_eq!(p.steps[0].settle, Settle::Exists);
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"full_tokenid": "joe@pve!ci", "userid": "joe@pve", "tokenid": "ci",
                   "comment": null, "expire": 0, "privsep": true})
    );
    assert_eq!(p.msg, "token 'joe@pve!ci' created");

    let d = desired(json!({"tokenid": "joe@pve!ci", "privsep": false,
                               "expire": "2027-01-01", "comment": "Terraform"}));
    let p = run(&d, None, None);
    assert_eq!(
        reqs(&p),
        ["POST /access/users/joe@pve/token/ci privsep=0&expire=1798761600&comment=Terraform"]
    );
    assert_eq!(p.after["privsep"], false);
    assert_eq!(p.after["expire"], 1_798_761_600);
}

#[test]
fn check_mode_wording() {
    let d = desired(json!({"tokenid": "joe@pve!ci"}));
    let action = decide(&d, None, NOW);
    let p = plan(&d, &action, None, true).unwrap();
    assert_eq!(
        p.msg,
        "token 'joe@pve!ci' would be created (the real run returns its secret, once)"
    );
    assert_eq!(p.after["tokenid"], "ci");
}

#[test]
fn noop_and_omitted_means_unchanged() {
    let cur = token(Some("x"), 5_000, false);
    for task in [
        json!({"tokenid": "joe@pve!ci"}),
        json!({"tokenid": "joe@pve!ci", "comment": "x", "expire": "5000", "privsep": false}),
    ] {
        let p = run(&desired(task), Some(&cur), None);
        assert!(!p.changed);
        assert!(p.steps.is_empty());
        assert_eq!(p.before, p.after);
        assert_eq!(p.msg, "token 'joe@pve!ci' unchanged");
    }
    // An empty comment on a token without one changes nothing.
    let cur = token(None, 0, true);
    let p = run(
        &desired(json!({"tokenid": "joe@pve!ci", "comment": ""})),
        Some(&cur),
        None,
    );
    assert!(!p.changed);
}

#[test]
fn each_option_updated_alone() {
    let cur = token(Some("old"), 0, true);
    let cases = [
        (
            json!({"comment": "new"}),
            "PUT /access/users/joe@pve/token/ci comment=new",
            "comment set",
        ),
        (
            json!({"expire": "2027-01-01"}),
            "PUT /access/users/joe@pve/token/ci expire=1798761600",
            "expire 2027-01-01T00:00:00Z (was never)",
        ),
        (
            json!({"privsep": false}),
            "PUT /access/users/joe@pve/token/ci privsep=0",
            "privsep off",
        ),
    ];
    for (opts, req, said) in cases {
        let mut task = opts.clone();
        task["tokenid"] = json!("joe@pve!ci");
        let p = run(&desired(task), Some(&cur), None);
        assert!(p.changed);
        assert_eq!(reqs(&p), [req], "{opts}");
        assert_eq!(p.msg, format!("token 'joe@pve!ci' updated: {said}"));
        assert!(matches!(p.steps[0].settle, Settle::Matches(_)));
        assert!(!p.steps[0].settle.brings_secret());
        for (k, v) in opts.as_object().unwrap() {
            if k != "expire" {
                assert_eq!(&p.after[k], v, "{k}");
            }
        }
    }
    // Several at once: one PUT.
    let d = desired(
        json!({"tokenid": "joe@pve!ci", "comment": "n", "expire": "never", "privsep": false}),
    );
    let p = run(&d, Some(&token(Some("o"), 7, true)), None);
    assert_eq!(
        reqs(&p),
        ["PUT /access/users/joe@pve/token/ci comment=n&expire=0&privsep=0"]
    );
}

#[test]
fn clearing_a_comment_needs_pve9() {
    let cur = token(Some("old"), 0, true);
    let d = desired(json!({"tokenid": "joe@pve!ci", "comment": ""}));
    let action = decide(&d, Some(&cur), NOW);
    assert!(action.needs_version());
    let p = plan(&d, &action, Some(&server((9, 1), vec![])), false).unwrap();
    assert_eq!(reqs(&p), ["PUT /access/users/joe@pve/token/ci comment="]);
    assert_eq!(p.after["comment"], Value::Null);
    assert_eq!(p.msg, "token 'joe@pve!ci' updated: comment cleared");
    let e = plan(&d, &action, Some(&server((8, 4), vec![])), false)
        .unwrap_err()
        .0;
    assert!(e.contains("PVE 8.4 cannot clear a token's comment"), "{e}");
}

#[test]
fn regenerate_on_pve91_is_one_put() {
    let cur = token(Some("c"), 0, false);
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    let srv = server((9, 1), vec![]);
    let p = run(&d, Some(&cur), Some(&srv));
    assert!(p.changed);
    assert_eq!(
        reqs(&p),
        ["PUT /access/users/joe@pve/token/ci regenerate=1"]
    );
    assert!(p.steps[0].settle.brings_secret());
    assert_eq!(p.steps[0].settle, Settle::Resend);
    assert_eq!(p.before, p.after);
    assert_eq!(p.msg, "token 'joe@pve!ci' regenerated (new secret)");
    // With a change of attributes: still one PUT.
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true, "comment": "d"}));
    let p = run(&d, Some(&cur), Some(&srv));
    assert_eq!(
        reqs(&p),
        ["PUT /access/users/joe@pve/token/ci comment=d&regenerate=1"]
    );
    assert_eq!(
        p.msg,
        "token 'joe@pve!ci' regenerated (new secret); comment set"
    );
}

#[test]
fn regenerate_on_pve84_recreates_and_keeps_the_acl() {
    let cur = token(Some("c"), 1_900_000_000, false);
    let entries = vec![
        acl("/vms/100", "PVEVMUser", true),
        acl("/", "PVEAuditor", true),
        acl("/vms/100", "PVEAuditor", true),
        acl("/storage", "PVEDatastoreUser", false),
    ];
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    let p = run(&d, Some(&cur), Some(&server((8, 4), entries.clone())));
    assert_eq!(
            reqs(&p),
            [
                "DELETE /access/users/joe@pve/token/ci",
                "POST /access/users/joe@pve/token/ci privsep=0&expire=1900000000&comment=c",
                "PUT /access/acl path=/&roles=PVEAuditor&tokens=joe@pve!ci&propagate=1",
                "PUT /access/acl path=/storage&roles=PVEDatastoreUser&tokens=joe@pve!ci&propagate=0",
                "PUT /access/acl path=/vms/100&roles=PVEAuditor,PVEVMUser&tokens=joe@pve!ci&propagate=1",
            ]
        );
    let secrets: Vec<bool> = p.steps.iter().map(|s| s.settle.brings_secret()).collect();
    assert_eq!(secrets, [false, true, false, false, false]);
    assert_eq!(p.steps[0].settle, Settle::Absent);
    assert_eq!(p.steps[1].settle, Settle::Exists);
    assert_eq!(
        p.steps[4].settle,
        Settle::Acl(vec![entries[0].clone(), entries[2].clone()])
    );
    assert_eq!(
            p.msg,
            "token 'joe@pve!ci' regenerated (new secret) by deleting and re-creating it (PVE 8.4 has no regenerate), re-adding its 4 ACL entries"
        );
    // 9.0 has no regenerate either.
    let p = run(&d, Some(&cur), Some(&server((9, 0), vec![])));
    assert_eq!(p.steps.len(), 2);
}

#[test]
fn acl_steps_ignore_other_principals() {
    let mut other = acl("/", "PVEAdmin", true);
    other.ugid = "joe@pve!other".into();
    let mut user = acl("/", "PVEAdmin", true);
    user.kind = PrincipalKind::User;
    user.ugid = "joe@pve".into();
    assert!(acl_steps("joe@pve!ci", &[other, user]).is_empty());
}

#[test]
fn regenerate_creates_a_missing_token() {
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    let p = run(&d, None, None);
    assert_eq!(reqs(&p), ["POST /access/users/joe@pve/token/ci privsep=1"]);
}

#[test]
fn renew_only_when_due() {
    let d = desired(json!({"tokenid": "joe@pve!ci", "renew_before": "14d", "expire_in": "90d"}));
    // Not due: nothing.
    let far = token(None, NOW + 30 * DAY, true);
    assert!(!run(&d, Some(&far), None).changed);
    // No expiry: never due.
    assert!(!run(&d, Some(&token(None, 0, true)), None).changed);
    // Due (or expired): regenerate and move the expiry.
    let srv = server((9, 1), vec![]);
    for expire in [NOW + 13 * DAY, NOW - DAY] {
        let p = run(&d, Some(&token(None, expire, true)), Some(&srv));
        assert_eq!(
            reqs(&p),
            [format!(
                "PUT /access/users/joe@pve/token/ci expire={}&regenerate=1",
                NOW + 90 * DAY
            )]
        );
        assert!(p
            .msg
            .starts_with("token 'joe@pve!ci' regenerated (new secret); expire "));
    }
    // Missing: created with the new expiry.
    let p = run(&d, None, None);
    assert_eq!(
        reqs(&p),
        [format!(
            "POST /access/users/joe@pve/token/ci privsep=1&expire={}",
            NOW + 90 * DAY
        )]
    );
}

#[test]
fn absent() {
    let d = desired(json!({"tokenid": "joe@pve!ci", "state": "absent"}));
    let cur = token(Some("x"), 0, true);
    let p = run(&d, Some(&cur), None);
    assert_eq!(reqs(&p), ["DELETE /access/users/joe@pve/token/ci"]);
    assert_eq!(p.after, json!({}));
    assert_eq!(p.before["comment"], "x");
    assert_eq!(p.msg, "token 'joe@pve!ci' deleted");
    let p = run(&d, None, None);
    assert!(!p.changed);
    assert_eq!(p.msg, "token 'joe@pve!ci' does not exist");
}

#[test]
fn deleting_or_regenerating_is_known_before_any_read() {
    let full = || "joe@pve!ci".to_string();
    for (task, want) in [
        (
            json!({"tokenid": "joe@pve!ci", "state": "absent"}),
            vec![Change::TokenDeleted(full())],
        ),
        (
            json!({"tokenid": "joe@pve!ci", "regenerate": true}),
            vec![Change::TokenRegenerated(full())],
        ),
        (json!({"tokenid": "joe@pve!ci", "comment": "me"}), vec![]),
    ] {
        assert_eq!(early_lockout(&desired(task.clone())), want, "{task}");
    }
}

#[test]
fn what_is_taken_away_from_tokens() {
    let full = || "joe@pve!ci".to_string();
    let changes = |task: Value, cur: &Token| {
        let d = desired(task);
        let action = decide(&d, Some(cur), NOW);
        lockout_changes(&d, &action)
    };
    let open = token(None, NOW + DAY, false);
    assert_eq!(
        changes(json!({"tokenid": "joe@pve!ci", "state": "absent"}), &open),
        [Change::TokenDeleted(full())]
    );
    assert_eq!(
        changes(
            json!({"tokenid": "joe@pve!ci", "privsep": true, "expire": (NOW - 1).to_string()}),
            &open
        ),
        [
            Change::TokenPrivsepOn(full()),
            Change::TokenExpire {
                full: full(),
                from: NOW + DAY,
                to: NOW - 1
            }
        ]
    );
    // renew_before regenerates when due, and moves the expiry (later).
    assert_eq!(
        changes(
            json!({"tokenid": "joe@pve!ci", "renew_before": "14d", "expire_in": "90d"}),
            &open
        ),
        [
            Change::TokenRegenerated(full()),
            Change::TokenExpire {
                full: full(),
                from: NOW + DAY,
                to: NOW + 90 * DAY
            }
        ]
    );
    // A comment, or privsep turned off, takes nothing; nor does creating.
    for task in [
        json!({"tokenid": "joe@pve!ci", "comment": "me"}),
        json!({"tokenid": "joe@pve!ci", "privsep": false}),
    ] {
        assert_eq!(changes(task, &open), []);
    }
    let d = desired(json!({"tokenid": "joe@pve!new"}));
    let action = decide(&d, None, NOW);
    assert_eq!(lockout_changes(&d, &action), []);
}

#[test]
fn versions() {
    assert!(server((9, 1), vec![]).has_regenerate());
    assert!(server((10, 0), vec![]).has_regenerate());
    assert!(!server((9, 0), vec![]).has_regenerate());
}

#[test]
fn diff_views_never_hold_a_secret() {
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    let cur = token(None, 0, true);
    let p = run(&d, Some(&cur), Some(&server((9, 1), vec![])));
    for v in [&p.before, &p.after] {
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "comment",
                "expire",
                "full_tokenid",
                "privsep",
                "tokenid",
                "userid"
            ]
        );
    }
}

#[test]
fn a_token_regenerates_itself_only_with_pves_regenerate() {
    let d = desired(json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    assert!(refuse_recreating_itself(&d, "joe@pve!ci", &server((9, 1), vec![])).is_ok());
    let e = refuse_recreating_itself(&d, "joe@pve!ci", &server((8, 4), vec![]))
        .unwrap_err()
        .0;
    assert!(
        e.starts_with("cannot regenerate token 'joe@pve!ci' with itself on PVE 8.4"),
        "{e}"
    );
    assert!(refuse_recreating_itself(&d, "joe@pve", &server((8, 4), vec![])).is_ok());
}
