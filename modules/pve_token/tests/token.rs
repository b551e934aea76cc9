//! pve_token against pve-sim (PVE 9.1 and 8.4): the module binary run the
//! way Ansible runs it, the request log checked for what it sent, and the
//! secrets it returns used to authenticate later runs.

use pve_test_support::{
    diff_view, module_under_test, msg, on_each_version, pve_file_bytes, with_api_token, ModuleRun,
    Sim,
};
use serde_json::{json, Value};
use std::fs;

/// Secret of the seeded token `joe@pve!ci`.
const SEEDED: &str = "5bd1c3e2-7a40-4c1b-9d0e-1f2a3b4c5d6e";

/// root, joe (Administrator on /) with the token `ci` (privsep off), ann
/// (no rights).
const USER_CFG: &str = "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\ntoken:joe@pve!ci:0:0::\nuser:ann@pve:1:0::::::\n\nacl:1:/:joe@pve:Administrator:\n";

module_under_test!("pve_token");

fn seeded(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(USER_CFG)
        .token_cfg(&format!("joe@pve!ci {SEEDED}\n"))
        .start()
}

/// `args` authenticated with the whole token `api_token` instead of root's
/// password.
fn run_as(sim: &Sim, args: Value, api_token: &str) -> ModuleRun {
    module().run(sim, with_api_token(args, api_token))
}

/// The saved state file of the sim (`user.cfg` or `priv/token.cfg`).
fn state(sim: &Sim, file: &str) -> String {
    fs::read_to_string(sim.dir.join("state").join(file)).unwrap_or_default()
}

fn acl_lines(sim: &Sim) -> Vec<String> {
    state(sim, "user.cfg")
        .lines()
        .filter(|l| l.starts_with("acl:"))
        .map(str::to_string)
        .collect()
}

/// The whole result must not hold `secret` anywhere but in `secret` and
/// `api_token`.
fn secret_only_where_returned(r: &Value, secret: &str) {
    let mut rest = r.clone();
    if let Some(o) = rest.as_object_mut() {
        o.remove("secret");
        o.remove("api_token");
    }
    assert!(!rest.to_string().contains(secret), "secret leaked: {rest}");
}

fn lifecycle(version: &str) {
    let sim = seeded(version);

    // Create: the secret, once, and a warning without no_log.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "joe@pve", "tokenid": "terraform", "privsep": false, "comment": "Terraform"}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(msg(&r), "token 'joe@pve!terraform' created");
    let secret = r["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(secret.len(), 36, "{r}");
    assert_eq!(r["api_token"], format!("joe@pve!terraform={secret}"));
    assert_eq!(
        r["token"],
        json!({"full_tokenid": "joe@pve!terraform", "userid": "joe@pve", "tokenid": "terraform",
               "comment": "Terraform", "expire": 0, "privsep": false})
    );
    let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{r}");
    assert!(warnings[0]
        .as_str()
        .unwrap_or_default()
        .contains("set no_log: true"));
    secret_only_where_returned(&r, &secret);
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/joe@pve/token/terraform",
            "GET /access/users/joe@pve",
            "POST /access/users/joe@pve/token/terraform"
        ]
    );
    let api_token = r["api_token"].as_str().unwrap_or_default().to_string();

    // The new token authenticates a later run, which sees it unchanged:
    // no secret, one GET.
    sim.clear_requests();
    let r = run_as(
        &sim,
        json!({"tokenid": "joe@pve!terraform", "comment": "Terraform"}),
        &api_token,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["changed"], false);
    assert!(r.json.get("secret").is_none() && r.json.get("api_token").is_none());
    assert!(r.json.get("warnings").is_none(), "{}", r.stdout);
    let log = sim.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["path"], "/access/users/joe@pve/token/terraform");
    assert_eq!(log[0]["auth"], "token", "{log:?}");

    // Second run as root: changed false, one GET, aliases.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"user": "joe@pve", "token": "terraform", "privilege_separation": false}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(msg(&r), "token 'joe@pve!terraform' unchanged");
    assert!(r.get("secret").is_none());
    assert_eq!(
        sim.api_calls(),
        ["GET /access/users/joe@pve/token/terraform"]
    );

    // Each option alone; the others stay.
    for (opts, said) in [
        (json!({"comment": "CI"}), "comment set"),
        (
            json!({"expire": "2040-01-01"}),
            "expire 2040-01-01T00:00:00Z (was never)",
        ),
        (json!({"privsep": true}), "privsep on"),
        (json!({"privsep": "no"}), "privsep off"),
    ] {
        let mut task = opts.clone();
        task["tokenid"] = json!("joe@pve!terraform");
        sim.clear_requests();
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], true, "{task}");
        assert_eq!(
            msg(&r),
            format!("token 'joe@pve!terraform' updated: {said}")
        );
        assert!(r.get("secret").is_none());
        assert_eq!(
            sim.api_calls(),
            [
                "GET /access/users/joe@pve/token/terraform",
                "PUT /access/users/joe@pve/token/terraform"
            ]
        );
        assert_eq!(
            sim.state().token("joe@pve!terraform"),
            Some(r["token"].clone())
        );
        let again = ok(&sim, task.clone());
        assert_eq!(again["changed"], false, "{task}");
        assert_eq!(again["token"], r["token"]);
    }
    assert_eq!(
        sim.state().token("joe@pve!terraform"),
        Some(
            json!({"full_tokenid": "joe@pve!terraform", "userid": "joe@pve", "tokenid": "terraform",
               "comment": "CI", "expire": 2_208_988_800_i64, "privsep": false})
        )
    );
    // The secret still works: no update touched it.
    assert!(sim.token_authenticates(&api_token));

    // Absent, twice.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!terraform", "state": "absent"}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["token"], json!({}));
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/joe@pve/token/terraform",
            "DELETE /access/users/joe@pve/token/terraform"
        ]
    );
    assert!(!sim.token_authenticates(&api_token));
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!terraform", "state": "absent"}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(msg(&r), "token 'joe@pve!terraform' does not exist");
    assert_eq!(
        sim.api_calls(),
        ["GET /access/users/joe@pve/token/terraform"]
    );
}

on_each_version!(lifecycle);

#[test]
fn no_log_task_gets_no_warning() {
    let sim = seeded("9.1");
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!tk", "_ansible_no_log": true}),
    );
    assert!(r["secret"].is_string());
    assert!(r.get("warnings").is_none(), "{r}");
}

#[test]
fn comment_cleared_on_pve9_refused_on_pve8() {
    for version in ["9.1", "8.4"] {
        let sim = seeded(version);
        ok(&sim, json!({"tokenid": "joe@pve!tk", "comment": "x"}));
        sim.clear_requests();
        let task = json!({"tokenid": "joe@pve!tk", "comment": ""});
        if version == "9.1" {
            let r = ok(&sim, task);
            assert_eq!(r["changed"], true);
            assert_eq!(r["token"]["comment"], Value::Null);
            let saved = sim.state().token("joe@pve!tk").unwrap_or_default();
            assert_eq!(saved["comment"], Value::Null, "{saved}");
        } else {
            let r = fail(&sim, task);
            assert!(
                msg(&r).contains("PVE 8.4 cannot clear a token's comment"),
                "{r}"
            );
            assert_eq!(sim.writes(), Vec::<String>::new());
        }
    }
}

#[test]
fn check_mode_predicts_the_real_run() {
    for version in ["9.1", "8.4"] {
        let sim = seeded(version);
        let steps = [
            json!({"tokenid": "joe@pve!tk", "comment": "c", "privsep": false}),
            json!({"tokenid": "joe@pve!tk", "comment": "c"}),
            json!({"tokenid": "joe@pve!tk", "expire": "2040-01-01", "privsep": true}),
            json!({"tokenid": "joe@pve!tk", "regenerate": true}),
            json!({"tokenid": "joe@pve!tk", "state": "absent"}),
            json!({"tokenid": "joe@pve!tk", "state": "absent"}),
        ];
        for step in steps {
            let (predicted, _) =
                module().check_then_run(&sim, &step, &["token"], |s| s.token("joe@pve!tk"));
            assert!(predicted.get("secret").is_none(), "{predicted}");
            assert!(predicted.get("api_token").is_none(), "{predicted}");
        }
    }
}

#[test]
fn diff_never_holds_the_secret() {
    let sim = seeded("9.1");
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!tk", "comment": "c", "_ansible_diff": true}),
    );
    let secret = r["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        json!({"before": diff_view(&r, "before"), "after": diff_view(&r, "after")}),
        json!({"before": {}, "after": {"full_tokenid": "joe@pve!tk", "userid": "joe@pve",
               "tokenid": "tk", "comment": "c", "expire": "never (0)", "privsep": true}})
    );
    secret_only_where_returned(&r, &secret);
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!tk", "regenerate": true, "_ansible_diff": true}),
    );
    let secret = r["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(diff_view(&r, "before"), diff_view(&r, "after"));
    secret_only_where_returned(&r, &secret);
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!tk", "state": "absent", "_ansible_diff": true}),
    );
    assert_eq!(diff_view(&r, "after"), json!({}));
    assert_eq!(diff_view(&r, "before")["comment"], "c");
}

/// A privsep token with its own ACL entries (User.Modify through
/// PVEUserAdmin on /access, so it can manage tokens; two roles on one
/// path, an entry without propagation) is regenerated: the entries stay,
/// the old secret is refused, the new one works and keeps those rights.
fn regenerate_keeps_the_acl(version: &str) {
    let sim = Sim::builder(version)
        .user_cfg(&format!(
            "{USER_CFG}acl:1:/access:joe@pve!ci:PVEUserAdmin:\nacl:1:/vms/100:joe@pve!ci:PVEAuditor,PVEVMUser:\nacl:0:/storage:joe@pve!ci:PVEDatastoreUser:\n"
        ))
        .token_cfg(&format!("joe@pve!ci {SEEDED}\n"))
        .start();
    ok(&sim, json!({"tokenid": "joe@pve!ci", "privsep": true}));
    let old = format!("joe@pve!ci={SEEDED}");
    assert!(sim.token_authenticates(&old));
    let acl_before = acl_lines(&sim);
    assert!(
        acl_before.iter().any(|l| l.contains("joe@pve!ci")),
        "{acl_before:?}"
    );

    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"tokenid": "joe@pve!ci", "regenerate": true, "_ansible_diff": true}),
    );
    assert_eq!(r["changed"], true);
    let secret = r["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(secret.len(), 36);
    assert_ne!(secret, SEEDED);
    assert_eq!(r["token"]["privsep"], true);
    if version == "9.1" {
        assert_eq!(msg(&r), "token 'joe@pve!ci' regenerated (new secret)");
        assert_eq!(
            sim.api_calls(),
            [
                "GET /access/users/joe@pve/token/ci",
                "GET /version",
                "PUT /access/users/joe@pve/token/ci"
            ]
        );
    } else {
        assert_eq!(
            msg(&r),
            "token 'joe@pve!ci' regenerated (new secret) by deleting and re-creating it (PVE 8.4 has no regenerate), re-adding its 4 ACL entries"
        );
        assert_eq!(
            sim.api_calls(),
            [
                "GET /access/users/joe@pve/token/ci",
                "GET /version",
                "GET /access/acl",
                "DELETE /access/users/joe@pve/token/ci",
                "POST /access/users/joe@pve/token/ci",
                "PUT /access/acl",
                "PUT /access/acl",
                "PUT /access/acl"
            ]
        );
    }
    assert_eq!(
        acl_lines(&sim),
        acl_before,
        "{version}: ACL entries changed"
    );
    let new = r["api_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(new, format!("joe@pve!ci={secret}"));
    assert!(
        !sim.token_authenticates(&old),
        "{version}: old secret still works"
    );
    // The new secret works, with the token's own rights (User.Modify on
    // /access): it may manage ann's tokens.
    let r = run_as(&sim, json!({"tokenid": "ann@pve!xx"}), &new);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["changed"], true);
}

on_each_version!(regenerate_keeps_the_acl);

#[test]
fn renew_rotates_only_when_due() {
    let sim = seeded("9.1");
    let task = json!({"tokenid": "joe@pve!rot", "renew_before": "14d", "expire_in": "90d", "privsep": false});
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true);
    let expire = r["token"]["expire"].as_i64().unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    assert!((expire - now - 90 * 86_400).abs() < 60, "{expire}");
    // Not due: nothing.
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], false);
    assert!(r.get("secret").is_none());
    // Due: a new secret and a new expiry.
    let soon = (now + 86_400).to_string();
    ok(&sim, json!({"tokenid": "joe@pve!rot", "expire": soon}));
    let r = ok(&sim, task);
    assert_eq!(r["changed"], true);
    assert!(r["secret"].is_string());
    assert!(r["token"]["expire"].as_i64().unwrap_or_default() > now + 80 * 86_400);
    assert!(sim.token_authenticates(r["api_token"].as_str().unwrap_or_default()));
}

#[test]
fn validation_fails_before_any_write() {
    let sim = seeded("9.1");
    for (task, text) in [
        (json!({"tokenid": "tk"}), "has no owner: give userid too"),
        (
            json!({"userid": "joe", "tokenid": "tk"}),
            "the realm is missing",
        ),
        (
            json!({"userid": "joe@pve", "tokenid": "bad name"}),
            "tokenid:",
        ),
        (
            json!({"userid": "ann@pve", "tokenid": "joe@pve!tk"}),
            "belongs to joe@pve but userid is ann@pve",
        ),
        (
            json!({"tokenid": "joe@pve!tk", "expire": "next week"}),
            "invalid expire 'next week'",
        ),
        (
            json!({"tokenid": "joe@pve!tk", "renew_before": "14d"}),
            "renew_before",
        ),
        (
            json!({"tokenid": "joe@pve!tk", "renew_before": "90d", "expire_in": "90d"}),
            "renew_before (90d) must be shorter than expire_in (90d)",
        ),
        (json!({"tokenid": "joe@pve!tk", "state": "gone"}), "state"),
    ] {
        for check_mode in [false, true] {
            let mut args = task.clone();
            args["_ansible_check_mode"] = json!(check_mode);
            sim.clear_requests();
            let r = fail(&sim, args);
            assert!(msg(&r).contains(text), "{task}: {r}");
            assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
        }
    }
}

#[test]
fn permission_denied_shows_pves_words() {
    // ann's token (privsep off) has ann's rights: none.
    let sim = Sim::builder("9.1")
        .user_cfg(&format!("{USER_CFG}token:ann@pve!ro:0:0::\n"))
        .token_cfg(&format!("ann@pve!ro {SEEDED}\n"))
        .start();
    let r = run_as(
        &sim,
        json!({"tokenid": "joe@pve!new"}),
        &format!("ann@pve!ro={SEEDED}"),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let m = msg(&r.json);
    assert!(m.contains("403 Permission check failed"), "{m}");
    assert!(!m.contains(SEEDED));
    assert_eq!(r.json["status"], 403);
}

#[test]
fn transient_lock_timeouts_are_retried() {
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .fault(json!({"method": "POST", "path": "/access/users/*/token/*", "status": 500,
                      "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}))
        .start();
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "privsep": false}));
    assert_eq!(r["changed"], true);
    assert_eq!(sim.count_calls("POST"), 3, "{:?}", sim.api_calls());
    assert!(sim.token_authenticates(r["api_token"].as_str().unwrap_or_default()));
}

/// A creation whose answer is lost: settled by reading the token back (never
/// a second POST), then a new secret at once, which works.
fn dropped_create(version: &str) {
    let sim = Sim::builder(version)
        .user_cfg(USER_CFG)
        .fault(json!({"method": "POST", "path": "/access/users/*/token/*", "drop": "after", "times": 1}))
        .start();
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "privsep": false}));
    assert_eq!(r["changed"], true);
    assert!(
        msg(&r).ends_with(
            "the answer to the creation was lost in transit, so a new secret was issued at once"
        ),
        "{r}"
    );
    let calls = sim.api_calls();
    // The lost creation, read back; then PVE's way to a new secret.
    let mut want = vec![
        "GET /access/users/joe@pve/token/tk",
        "GET /access/users/joe@pve",
        "POST /access/users/joe@pve/token/tk",
        "GET /access/users/joe@pve/token/tk",
        "GET /access/users/joe@pve/token/tk",
        "GET /version",
    ];
    if version == "9.1" {
        want.push("PUT /access/users/joe@pve/token/tk");
    } else {
        want.extend([
            "GET /access/acl",
            "DELETE /access/users/joe@pve/token/tk",
            "POST /access/users/joe@pve/token/tk",
        ]);
    }
    assert_eq!(calls, want, "{version}");
    assert_eq!(r["token"]["privsep"], false);
    assert!(sim.token_authenticates(r["api_token"].as_str().unwrap_or_default()));
}

on_each_version!(dropped_create);

/// Before PVE 9.1 the new secret comes from a second creation: when its
/// answer is lost too, the task fails, says so, and a regeneration works.
#[test]
fn a_secret_lost_twice_fails_and_says_how_to_get_one() {
    let sim = Sim::builder("8.4")
        .user_cfg(USER_CFG)
        .fault(json!({"method": "POST", "path": "/access/users/*/token/*", "drop": "after", "times": 2}))
        .start();
    let r = fail_changed(&sim, json!({"tokenid": "joe@pve!tk", "privsep": false}));
    assert_eq!(
        msg(&r),
        "token 'joe@pve!tk' exists, but the answer holding its secret was lost in transit and PVE never shows a secret again (lost again while a new one was issued); run this task again with regenerate: true to issue a new secret"
    );
    assert!(r.get("secret").is_none(), "{r}");
    assert_eq!(
        sim.writes(),
        [
            "POST /access/users/joe@pve/token/tk",
            "DELETE /access/users/joe@pve/token/tk",
            "POST /access/users/joe@pve/token/tk",
        ]
    );
    assert!(sim.user_cfg_has("token:joe@pve!tk:0:0::"));
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "regenerate": true}));
    assert!(sim.token_authenticates(r["api_token"].as_str().unwrap_or_default()));

    // A regeneration that re-creates the token: its ACL entries are named
    // as not re-added.
    let sim = Sim::builder("8.4")
        .user_cfg(&format!("{USER_CFG}acl:1:/vms:joe@pve!ci:PVEVMUser:\n"))
        .token_cfg(&format!("joe@pve!ci {SEEDED}\n"))
        .fault(json!({"method": "POST", "path": "/access/users/*/token/*", "drop": "after", "times": 2}))
        .start();
    let r = fail_changed(&sim, json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    assert!(
        msg(&r).ends_with("(lost again while a new one was issued). Not done: re-add ACL entry /vms PVEVMUser (propagate 1) of token 'joe@pve!ci'; run this task again with regenerate: true to issue a new secret"),
        "{r}"
    );
}

#[test]
fn dropped_writes_are_settled() {
    let sim = Sim::builder("9.1")
        .user_cfg(USER_CFG)
        .fault(json!({"method": "PUT", "path": "/access/users/*/token/*", "drop": "after", "times": 2}))
        .fault(json!({"method": "DELETE", "path": "/access/users/*/token/*", "drop": "after", "times": 1}))
        .start();
    let created = ok(&sim, json!({"tokenid": "joe@pve!tk", "privsep": false}));
    // An update: read back, not sent again.
    sim.clear_requests();
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "comment": "x"}));
    assert_eq!(r["changed"], true);
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/joe@pve/token/tk",
            "PUT /access/users/joe@pve/token/tk",
            "GET /access/users/joe@pve/token/tk"
        ]
    );
    // A regeneration cannot be read back; sending it again is harmless.
    sim.clear_requests();
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "regenerate": true}));
    let puts = sim.writes();
    assert_eq!(puts.len(), 2, "{puts:?}");
    let new = r["api_token"].as_str().unwrap_or_default();
    assert!(sim.token_authenticates(new));
    assert!(!sim.token_authenticates(created["api_token"].as_str().unwrap_or_default()));
    // A deletion: read back.
    sim.clear_requests();
    let r = ok(&sim, json!({"tokenid": "joe@pve!tk", "state": "absent"}));
    assert_eq!(r["changed"], true);
    assert_eq!(sim.writes(), ["DELETE /access/users/joe@pve/token/tk"]);
    assert!(!sim.token_authenticates(new));
}

#[test]
fn own_token_is_never_deleted_or_regenerated() {
    let sim = seeded("9.1");
    let me = format!("joe@pve!ci={SEEDED}");
    for task in [
        json!({"tokenid": "joe@pve!ci", "state": "absent"}),
        json!({"tokenid": "ci", "userid": "joe@pve", "regenerate": true}),
    ] {
        for check_mode in [false, true] {
            let mut args = task.clone();
            args["_ansible_check_mode"] = json!(check_mode);
            sim.clear_requests();
            let r = run_as(&sim, args, &me);
            assert_eq!(r.code, 1, "{}", r.stdout);
            let m = msg(&r.json);
            assert!(m.starts_with("refusing to "), "{m}");
            assert!(m.contains("this module authenticates with"), "{m}");
            assert!(!r.stdout.contains(SEEDED));
            assert_eq!(sim.writes(), Vec::<String>::new());
        }
    }
    assert!(sim.token_authenticates(&me));
    // Root may.
    let r = ok(&sim, json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    assert_eq!(r["changed"], true);
    assert!(!sim.token_authenticates(&me));
}

#[test]
fn a_failure_half_way_keeps_the_new_secret_and_says_what_is_left() {
    // PVE 8.4: the token is re-created, then re-adding its ACL entry fails.
    let sim = Sim::builder("8.4")
        .user_cfg(&format!("{USER_CFG}acl:1:/vms:joe@pve!ci:PVEVMUser:\n"))
        .token_cfg(&format!("joe@pve!ci {SEEDED}\n"))
        .fault(
            json!({"method": "PUT", "path": "/access/acl", "status": 500,
                      "reason": "unexpected failure", "times": 1}),
        )
        .start();
    let r = fail_changed(&sim, json!({"tokenid": "joe@pve!ci", "regenerate": true}));
    let m = msg(&r);
    assert!(
        m.starts_with("PUT /access/acl: 500 unexpected failure"),
        "{m}"
    );
    assert!(
        m.contains("Done before it: DELETE /access/users/joe@pve/token/ci; POST /access/users/joe@pve/token/ci. "),
        "{m}"
    );
    assert!(
        m.contains("Not done: re-add ACL entry /vms PVEVMUser (propagate 1) of token 'joe@pve!ci'"),
        "{m}"
    );
    assert!(m.contains("new secret is in this result"), "{m}");
    let secret = r["secret"].as_str().unwrap_or_default();
    assert_eq!(secret.len(), 36);
    assert!(!m.contains(secret));
    assert!(sim.token_authenticates(r["api_token"].as_str().unwrap_or_default()));
}

/// A failure after a write: `changed` is true.
fn fail_changed(sim: &Sim, args: Value) -> Value {
    let r = module().run(sim, args.clone());
    assert_eq!(r.code, 1, "{args}: expected a failure, got {}", r.stdout);
    assert_eq!(r.json["failed"], true, "{}", r.stdout);
    assert_eq!(r.json["changed"], true, "{}", r.stdout);
    r.json
}

fn check_mode_on_an_empty_server(version: &str) {
    let empty = Sim::start(version);
    let ready = Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\nuser:terraform@pve:1:0::::::\n")
        .start();
    let args = json!({"tokenid": "terraform@pve!tf", "privsep": false, "comment": "Terraform",
        "_ansible_no_log": true});
    let (predicted, refused, done) = module().assumes_then_refuses(
        &empty,
        Some(&ready),
        &args,
        &["user 'terraform@pve'"],
        &["token"],
    );
    assert_eq!(
        predicted["msg"],
        "token 'terraform@pve!tf' would be created (the real run returns its secret, once)"
    );
    assert_eq!(
        msg(&refused),
        "user 'terraform@pve' does not exist: create it first (pve.access.pve_user), then its token 'terraform@pve!tf'"
    );
    assert!(done["secret"].is_string());
    assert!(ready.user_cfg_has("token:terraform@pve!tf:0:0:Terraform:"));
}

on_each_version!(check_mode_on_an_empty_server);

/// Before PVE 9.1 a regeneration re-creates the token and re-adds its ACL
/// entries: a login that may manage the token but not that ACL path gets
/// the hint for the request that failed.
#[test]
fn a_refused_acl_re_add_names_what_it_needs() {
    const ADMIN: &str = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
    let sim = Sim::builder("8.4")
        .user_cfg(&format!(
            "{USER_CFG}user:tokadmin@pve:1:0::::::\ntoken:tokadmin@pve!tk:0:0::\n\nrole:TokAdmin:Sys.Audit,User.Modify:\n\nacl:1:/:tokadmin@pve:TokAdmin:\nacl:1:/vms:joe@pve!ci:PVEVMUser:\n"
        ))
        .token_cfg(&format!("joe@pve!ci {SEEDED}\ntokadmin@pve!tk {ADMIN}\n"))
        .start();
    let r = run_as(
        &sim,
        json!({"tokenid": "joe@pve!ci", "regenerate": true}),
        &format!("tokadmin@pve!tk={ADMIN}"),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let m = msg(&r.json);
    assert!(
        m.starts_with("PUT /access/acl: 403 Permission check failed"),
        "{m}"
    );
    assert!(
        m.contains(
            "re-adding the ACL entries of token 'joe@pve!ci' needs Permissions.Modify on '/vms'"
        ),
        "{m}"
    );
    assert!(!m.contains("User.Modify"), "{m}");
    assert!(
        m.contains("Not done: re-add ACL entry /vms PVEVMUser (propagate 1) of token 'joe@pve!ci'"),
        "{m}"
    );
}

#[test]
fn diff_shows_expire_as_a_date() {
    let sim = seeded("9.1");
    let args = json!({"tokenid": "joe@pve!tk", "expire": "2027-01-31", "comment": "Grüße",
        "_ansible_no_log": true});
    let (predicted, _) =
        module().check_then_run(&sim, &args, &["token"], |s| s.token("joe@pve!tk"));
    assert_eq!(diff_view(&predicted, "before"), json!({}));
    assert_eq!(
        diff_view(&predicted, "after")["expire"],
        "2027-01-31T00:00:00Z (1801353600)"
    );
    assert_eq!(diff_view(&predicted, "after")["comment"], "Grüße");
    // The text Ansible shows, as it is (a mapping would be shown with \u escapes).
    let text = predicted["diff"]["after"].as_str().unwrap_or_default();
    assert!(text.contains("    \"comment\": \"Grüße\",\n"), "{text}");
    assert!(
        text.contains("    \"expire\": \"2027-01-31T00:00:00Z (1801353600)\",\n"),
        "{text}"
    );
    assert_eq!(predicted["token"]["expire"], 1_801_353_600);
}

// ---- non-ASCII user ids ------------------------------------------------------

fn latin1_owner(version: &str) {
    let seed = "user:root@pam:1:0:::root@localhost:::\nuser:jürgen@pve:1:0::::::\n\nacl:1:/:jürgen@pve:Administrator:\n";
    let sim = Sim::builder(version).user_cfg(seed).start();
    let stored = |file: &str, line: &str| {
        let line = pve_file_bytes(line);
        sim.state_lines(file).iter().any(|l| l.starts_with(&line))
    };
    let task = json!({"tokenid": "jürgen@pve!ci", "privsep": false, "comment": "Grüße"});

    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], true, "{r}");
    let secret = r["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(r["api_token"], format!("jürgen@pve!ci={secret}"));
    // PVE keeps both in Latin-1: j\xfcrgen
    assert!(stored("user.cfg", "token:jürgen@pve!ci:0:0:"));
    assert!(stored("priv/token.cfg", &format!("jürgen@pve!ci {secret}")));

    sim.clear_requests();
    let r = ok(&sim, task.clone());
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert!(
        sim.api_calls()
            .iter()
            .all(|c| c.starts_with("GET /access/users/jürgen@pve")),
        "{:?}",
        sim.api_calls()
    );

    // The token id goes in the Authorization header, in Latin-1 as PVE
    // reads it.
    assert!(sim.token_authenticates(&format!("jürgen@pve!ci={secret}")));

    let r = ok(&sim, json!({"tokenid": "jürgen@pve!ci", "state": "absent"}));
    assert_eq!(r["changed"], true, "{r}");
    assert!(!stored("user.cfg", "token:jürgen@pve!ci:"));
    assert!(!stored("priv/token.cfg", "jürgen@pve!ci "));
    assert!(!sim.token_authenticates(&format!("jürgen@pve!ci={secret}")));
}

on_each_version!(latin1_owner);
