//! pve_user against pve-sim (PVE 9.1 and 8.4): the module binary run the way
//! Ansible runs it, the request log checked for what it sent.

use pve_test_support::{
    diff_view, module_under_test, msg, on_each_version, pve_file_bytes, with_api_token, Sim,
};
use serde_json::{json, Value};

const SECRET: &str = "5bd1c3e2-7a40-4c1b-9d0e-1f2a3b4c5d6e";
const ROOT_TOKEN: &str = "0c9a4f1e-3b2d-4e5f-8a7b-6c5d4e3f2a1b";

/// root@pam, the groups `dev` and `ops`, joe with a token `ci`, and an
/// auditor with a token `ro`; root has a token `adm` without privsep.
const SEED: &str = "user:root@pam:1:0:::root@localhost:::\ntoken:root@pam!adm:0:0::\nuser:auditor@pve:1:0::::::\ntoken:auditor@pve!ro:0:0::\nuser:joe@pve:1:0:::joe@example.com:::\ntoken:joe@pve!ci:0:1::\n\ngroup:dev:::\ngroup:ops:joe@pve::\n\nacl:1:/:auditor@pve:PVEAuditor:\n";

module_under_test!("pve_user");

fn seeded(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(SEED)
        .token_cfg(&format!(
            "auditor@pve!ro {SECRET}\nroot@pam!adm {ROOT_TOKEN}\n"
        ))
        .start()
}

/// The user as the server's API shows it (`GET /access/users?full=1`,
/// read without the module), in the shape the module returns; `{}` when
/// the server has no such user.
fn server_user(sim: &Sim, userid: &str) -> Value {
    let users = sim.get("/access/users?full=1");
    let Some(u) = users
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["userid"] == userid)
    else {
        return json!({});
    };
    // PVE leaves out a text field that is empty (email: may be "").
    let text = |key: &str| match u[key].as_str() {
        None | Some("") => Value::Null,
        Some(t) => json!(t),
    };
    let mut groups: Vec<&str> = u["groups"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort_unstable();
    let tokens: Vec<&Value> = u["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["tokenid"])
        .collect();
    json!({"userid": userid, "enable": u["enable"] == 1, "expire": u["expire"],
           "firstname": text("firstname"), "lastname": text("lastname"),
           "email": text("email"), "comment": text("comment"),
           "groups": groups, "tokens": tokens})
}

fn lifecycle(version: &str) {
    let sim = seeded(version);

    // Create.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "alice@pve", "email": "alice@example.com", "firstname": "Alice",
               "groups": ["ops"], "expire": "2030-01-01", "password": "alice-pass-1"}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "user 'alice@pve' created with a password");
    let want = json!({"userid": "alice@pve", "enable": true, "expire": 1_893_456_000i64,
                      "firstname": "Alice", "lastname": null, "email": "alice@example.com",
                      "comment": null, "groups": ["ops"], "tokens": []});
    assert_eq!(r["user"], want);
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/alice@pve",
            "GET /access/domains",
            "GET /access/groups",
            "POST /access/users"
        ]
    );
    assert_eq!(server_user(&sim, "alice@pve"), want);

    // Second run: one GET, nothing else.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "alice@pve", "email": "alice@example.com", "firstname": "Alice",
               "groups": ["ops"], "expire": "2030-01-01T00:00:00Z", "password": "alice-pass-1"}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(r["msg"], "user 'alice@pve' unchanged");
    assert_eq!(sim.api_calls(), ["GET /access/users/alice@pve"]);

    // Each option alone: only that parameter is sent.
    for (task, key, value) in [
        (json!({"enable": false}), "enable", json!(false)),
        (json!({"enabled": true}), "enable", json!(true)),
        (json!({"expire": "never"}), "expire", json!(0)),
        (json!({"firstname": "Al"}), "firstname", json!("Al")),
        (json!({"lastname": "Smith"}), "lastname", json!("Smith")),
        (json!({"email": ""}), "email", json!(null)),
        (
            json!({"comment": "ops on call"}),
            "comment",
            json!("ops on call"),
        ),
        (json!({"comment": ""}), "comment", json!(null)),
    ] {
        let mut args = task.clone();
        args["name"] = json!("alice@pve");
        let before = server_user(&sim, "alice@pve");
        sim.clear_requests();
        let r = ok(&sim, args);
        assert_eq!(r["changed"], true, "{task}");
        let mut expect = before.clone();
        expect[key] = value;
        assert_eq!(r["user"], expect, "{task}");
        assert_eq!(server_user(&sim, "alice@pve"), expect, "{task}");
        assert_eq!(
            sim.api_calls()[..2],
            ["GET /access/users/alice@pve", "PUT /access/users/alice@pve"]
        );
    }
    let log = sim.requests();
    let put = log
        .iter()
        .find(|r| r["method"] == "PUT")
        .cloned()
        .unwrap_or_default();
    assert_eq!(put["path"], "/access/users/alice@pve", "{put}");

    // Replace and append groups; order never matters.
    let r = ok(&sim, json!({"user": "alice@pve", "groups": ["dev"]}));
    assert_eq!(r["user"]["groups"], json!(["dev"]));
    assert_eq!(
        r["msg"],
        "user 'alice@pve' updated: groups (added dev; removed ops)"
    );
    let r = ok(
        &sim,
        json!({"userid": "alice@pve", "groups": ["ops"], "append": true}),
    );
    assert_eq!(r["user"]["groups"], json!(["dev", "ops"]));
    assert_eq!(
        server_user(&sim, "alice@pve")["groups"],
        json!(["dev", "ops"])
    );
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "alice@pve", "groups": ["ops", "dev"]}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /access/users/alice@pve"]);
    let r = ok(&sim, json!({"userid": "alice@pve", "groups": []}));
    assert_eq!(r["user"]["groups"], json!([]));
    assert_eq!(server_user(&sim, "alice@pve")["groups"], json!([]));

    // Absent, twice.
    sim.clear_requests();
    let r = ok(&sim, json!({"userid": "alice@pve", "state": "absent"}));
    assert_eq!(r["changed"], true);
    assert_eq!(r["user"], json!({}));
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/alice@pve",
            "DELETE /access/users/alice@pve"
        ]
    );
    sim.clear_requests();
    let r = ok(&sim, json!({"userid": "alice@pve", "state": "absent"}));
    assert_eq!(r["changed"], false);
    assert_eq!(r["msg"], "user 'alice@pve' does not exist");
    assert_eq!(sim.api_calls(), ["GET /access/users/alice@pve"]);
}

on_each_version!(lifecycle);

#[test]
fn append_uses_pves_append() {
    let sim = seeded("9.1");
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "joe@pve", "groups": ["dev"], "append": true}),
    );
    assert_eq!(r["user"]["groups"], json!(["dev", "ops"]));
    assert_eq!(sim.count_calls("PUT"), 1, "{:?}", sim.api_calls());
    assert_eq!(
        server_user(&sim, "joe@pve")["groups"],
        json!(["dev", "ops"])
    );
}

#[test]
fn check_mode_predicts_the_real_run() {
    let sim = seeded("9.1");
    let steps = [
        json!({"userid": "bob@pve", "groups": ["dev"], "email": "bob@example.com", "password": "bob-pass-12"}),
        json!({"userid": "bob@pve", "groups": ["dev"], "email": "bob@example.com"}),
        json!({"userid": "bob@pve", "groups": ["ops"], "append": true, "comment": "x"}),
        json!({"userid": "bob@pve", "enable": false, "expire": "2031-05-01"}),
        json!({"userid": "bob@pve", "password": "bob-pass-34", "update_password": "always"}),
        json!({"userid": "bob@pve", "state": "absent"}),
    ];
    for step in steps {
        module().check_then_run(&sim, &step, &["user"], |s| s.user("bob@pve"));
    }
}

#[test]
fn diff_mode() {
    let sim = seeded("9.1");
    let r = ok(
        &sim,
        json!({"userid": "joe@pve", "comment": "hi", "_ansible_diff": true}),
    );
    assert_eq!(diff_view(&r, "before")["comment"], json!(null));
    assert_eq!(diff_view(&r, "after")["comment"], "hi");
    assert_eq!(diff_view(&r, "after")["tokens"], json!(["ci"]));
    let r = ok(&sim, json!({"userid": "new@pve", "_ansible_diff": true}));
    assert_eq!(diff_view(&r, "before"), json!({}));
    assert_eq!(diff_view(&r, "after")["userid"], "new@pve");
    let r = ok(&sim, json!({"userid": "new@pve"}));
    assert!(r.get("diff").is_none());
}

#[test]
fn tokens_are_never_touched() {
    let sim = seeded("9.1");
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": "joe@pve", "email": "joe@example.org", "groups": ["dev"], "enable": true}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["user"]["tokens"], json!(["ci"]));
    let log = sim.requests();
    assert!(
        log.iter()
            .all(|q| !q["path"].as_str().unwrap_or("").contains("/token")),
        "{log:?}"
    );
    let after = server_user(&sim, "joe@pve");
    assert_eq!(after["tokens"], json!(["ci"]));
    assert_eq!(after["email"], "joe@example.org");
    assert_eq!(after["groups"], json!(["dev"]));
}

#[test]
fn validation_failures_write_nothing() {
    let sim = seeded("9.1");
    for (task, want) in [
        (json!({"userid": "alice"}), "the realm is missing"),
        (
            json!({"userid": "alice@pve", "expire": "next week"}),
            "invalid expire 'next week'",
        ),
        (
            json!({"userid": "alice@pve", "email": "alice at example"}),
            "does not look like a valid email address",
        ),
        (
            json!({"userid": "alice@pve", "password": "short"}),
            "PVE accepts 8 to 64 characters",
        ),
        (
            json!({"userid": "alice@pam", "password": "long-enough"}),
            "only users of the 'pve' realm",
        ),
    ] {
        for check_mode in [false, true] {
            let mut args = task.clone();
            args["_ansible_check_mode"] = json!(check_mode);
            sim.clear_requests();
            let r = fail(&sim, args);
            assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
            assert!(!msg(&r).contains("long-enough"));
            assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
        }
    }
    // What does not exist yet: refused by a real run (check mode assumes an
    // earlier task creates it: check_mode_on_an_empty_server).
    for (task, want) in [
        (
            json!({"userid": "alice@corp"}),
            "the realm 'corp' does not exist on this server (it has pam, pve)",
        ),
        (
            json!({"userid": "alice@pve", "groups": ["ops", "nope"]}),
            "group 'nope' does not exist",
        ),
        (
            json!({"userid": "joe@pve", "groups": ["nope"], "append": true}),
            "group 'nope' does not exist",
        ),
    ] {
        sim.clear_requests();
        let r = fail(&sim, task.clone());
        assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new(), "{task}");
    }
    assert_eq!(server_user(&sim, "alice@pve"), json!({}));
}

#[test]
fn password_on_create_and_always() {
    for version in ["9.1", "8.4"] {
        let sim = seeded(version);
        let login = |user: &str, pw: &str| sim.logs_in(user, pw);
        ok(
            &sim,
            json!({"userid": "carl@pve", "password": "first-pass-1"}),
        );
        assert!(login("carl@pve", "first-pass-1"), "{version}");
        // on_create (the default): an existing user's password is left alone.
        let r = ok(
            &sim,
            json!({"userid": "carl@pve", "password": "other-pass-2"}),
        );
        assert_eq!(r["changed"], false);
        assert!(login("carl@pve", "first-pass-1"));
        // always: logs in first, changes only when that fails.
        sim.clear_requests();
        let r = ok(
            &sim,
            json!({"userid": "carl@pve", "password": "first-pass-1", "update_password": "always"}),
        );
        assert_eq!(r["changed"], false, "{version}");
        assert_eq!(sim.writes(), Vec::<String>::new());
        let r = ok(
            &sim,
            json!({"userid": "carl@pve", "password": "other-pass-2", "update_password": "always"}),
        );
        assert_eq!(r["changed"], true, "{version}");
        assert_eq!(r["msg"], "user 'carl@pve' updated: password");
        assert!(!r.to_string().contains("other-pass-2"), "{r}");
        assert!(login("carl@pve", "other-pass-2"), "{version}");
        assert!(!login("carl@pve", "first-pass-1"));
        // A token cannot change passwords: said before anything is written.
        sim.clear_requests();
        let r = fail(
            &sim,
            with_api_token(
                json!({"userid": "carl@pve", "password": "third-pass-3", "update_password": "always", "comment": "x"}),
                &format!("root@pam!adm={ROOT_TOKEN}"),
            ),
        );
        assert!(msg(&r).contains("to API tokens"), "{}", msg(&r));
        assert!(!msg(&r).contains(ROOT_TOKEN));
        assert_eq!(sim.writes(), Vec::<String>::new());
    }
}

#[test]
fn self_lockout_is_refused() {
    let sim = seeded("9.1");
    let token = format!("auditor@pve!ro={SECRET}");
    for (task, want) in [
        (
            json!({"userid": "auditor@pve", "state": "absent"}),
            "refusing to delete auditor@pve, the owner of the token this module authenticates with",
        ),
        (
            json!({"userid": "auditor@pve", "enable": false, "allow_self_lockout": true}),
            "refusing to disable auditor@pve, the owner of the token",
        ),
    ] {
        sim.clear_requests();
        let r = fail(&sim, with_api_token(task.clone(), &token));
        assert!(msg(&r).starts_with(want), "{task}: {}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new());
    }
    for task in [
        json!({"userid": "root@pam", "state": "absent"}),
        json!({"userid": "root@pam", "enabled": false}),
    ] {
        let r = fail(&sim, task.clone());
        assert!(msg(&r).contains("refusing to"), "{task}: {}", msg(&r));
    }
    assert_eq!(server_user(&sim, "root@pam")["enable"], true);
}

#[test]
fn permission_denied_shows_pves_words() {
    let sim = seeded("9.1");
    let token = format!("auditor@pve!ro={SECRET}");
    let r = fail(&sim, with_api_token(json!({"userid": "eve@pve"}), &token));
    let m = msg(&r);
    assert!(
        m.contains("POST /access/users: 403 Permission check failed"),
        "{m}"
    );
    assert!(m.contains("Realm.AllocateUser"), "{m}");
    assert!(!m.contains(SECRET));
    assert_eq!(r["status"], 403);
    assert_eq!(server_user(&sim, "eve@pve"), json!({}));
}

#[test]
fn transient_lock_timeouts_are_retried() {
    let sim = Sim::builder("8.4")
        .user_cfg(SEED)
        .fault(json!({"method": "PUT", "path": "/access/users/*", "status": 500,
                      "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}))
        .start();
    let r = ok(&sim, json!({"userid": "joe@pve", "comment": "retried"}));
    assert_eq!(r["changed"], true);
    assert_eq!(sim.count_calls("PUT"), 3, "{:?}", sim.api_calls());
    assert_eq!(server_user(&sim, "joe@pve")["comment"], "retried");
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let sim = Sim::builder("9.1")
        .user_cfg(SEED)
        .fault(json!({"method": "POST", "path": "/access/users", "drop": "after", "times": 1}))
        .fault(json!({"method": "PUT", "path": "/access/users/*", "drop": "after", "times": 1}))
        .fault(json!({"method": "PUT", "path": "/access/password", "drop": "after", "times": 1}))
        .fault(json!({"method": "DELETE", "path": "/access/users/*", "drop": "after", "times": 1}))
        .start();
    for (task, write) in [
        (
            json!({"userid": "dan@pve", "groups": ["dev"], "password": "dan-pass-01"}),
            "POST /access/users",
        ),
        (
            json!({"userid": "dan@pve", "groups": ["ops"], "append": true}),
            "PUT /access/users/dan@pve",
        ),
        (
            json!({"userid": "dan@pve", "password": "dan-pass-02", "update_password": "always"}),
            "PUT /access/password",
        ),
        (
            json!({"userid": "dan@pve", "state": "absent"}),
            "DELETE /access/users/dan@pve",
        ),
    ] {
        sim.clear_requests();
        let r = ok(&sim, task.clone());
        assert_eq!(r["changed"], true, "{task}");
        let calls = sim.api_calls();
        let sent = sim.count_calls(write);
        assert_eq!(sent, 1, "{task}: the write was re-sent: {calls:?}");
    }
    assert_eq!(server_user(&sim, "dan@pve"), json!({}));
}

fn check_mode_on_an_empty_server(version: &str) {
    let empty = Sim::start(version);
    let ready = Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\n\ngroup:ops:::\ngroup:dev:::\n")
        .start();
    let args = json!({"userid": "terraform@pve", "comment": "Terraform", "groups": ["ops", "dev"]});
    let (predicted, refused, _) = module().assumes_then_refuses(
        &empty,
        Some(&ready),
        &args,
        &["group 'dev'", "group 'ops'"],
        &["user"],
    );
    assert_eq!(predicted["msg"], "user 'terraform@pve' would be created");
    assert_eq!(
        msg(&refused),
        "user 'terraform@pve' not changed: groups 'dev', 'ops' do not exist (create it first, e.g. with pve.access.pve_group)"
    );
    assert!(ready.user_cfg_has("group:dev:terraform@pve::"));
    assert!(ready.user_cfg_has("group:ops:terraform@pve::"));
    // A realm that does not exist yet: assumed in check mode, refused for real.
    let (_, refused, _) = module().assumes_then_refuses(
        &empty,
        None,
        &json!({"userid": "joe@corp"}),
        &["realm 'corp'"],
        &[],
    );
    assert!(
        msg(&refused).starts_with("cannot create user 'joe@corp': the realm 'corp' does not exist")
    );
}

on_each_version!(check_mode_on_an_empty_server);

#[test]
fn diff_shows_expire_as_a_date() {
    let sim = seeded("9.1");
    let r = ok(
        &sim,
        json!({"userid": "dora@pve", "expire": "2027-01-31", "_ansible_diff": true}),
    );
    assert_eq!(
        diff_view(&r, "after")["expire"],
        "2027-01-31T00:00:00Z (1801353600)"
    );
    assert_eq!(r["user"]["expire"], 1_801_353_600);
    assert!(sim.user_cfg_has("user:dora@pve:1:1801353600::::::"));
    let r = ok(
        &sim,
        json!({"userid": "dora@pve", "expire": "never", "_ansible_diff": true}),
    );
    assert_eq!(
        diff_view(&r, "before")["expire"],
        "2027-01-31T00:00:00Z (1801353600)"
    );
    assert_eq!(diff_view(&r, "after")["expire"], "never (0)");
}

// ---- non-ASCII user ids ------------------------------------------------------

/// The lines of the server's user.cfg for `userid`, as stored.
fn stored_user(sim: &Sim, userid: &str) -> Vec<Vec<u8>> {
    let prefix = pve_file_bytes(&format!("user:{userid}:"));
    sim.state_lines("user.cfg")
        .into_iter()
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

fn latin1_user_lifecycle(version: &str) {
    let sim = Sim::builder(version).user_cfg(SEED).start();
    let id = "jürgen@pve";

    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": id, "comment": "Grüße", "groups": ["dev"]}),
    );
    assert_eq!(
        (&r["changed"], &r["msg"]),
        (&json!(true), &json!("user 'jürgen@pve' created"))
    );
    assert_eq!(r["user"]["comment"], "Grüße");
    assert_eq!(
        sim.api_calls().first().map(String::as_str),
        Some("GET /access/users/jürgen@pve")
    );
    assert_eq!(
        sim.api_calls().last().map(String::as_str),
        Some("POST /access/users")
    );
    // PVE keeps it in Latin-1: j\xfcrgen
    let stored = stored_user(&sim, id);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0].starts_with(b"user:j\xfcrgen@pve:1:0:"),
        "{stored:?}"
    );

    // The rerun finds it with its one GET.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"userid": id, "comment": "Grüße", "groups": ["dev"]}),
    );
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(sim.api_calls(), ["GET /access/users/jürgen@pve"]);

    sim.clear_requests();
    let r = ok(&sim, json!({"userid": id, "comment": "Tschüß"}));
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/jürgen@pve",
            "PUT /access/users/jürgen@pve"
        ]
    );
    assert_eq!(server_user(&sim, id)["comment"], "Tschüß");
    assert_ne!(
        stored_user(&sim, id),
        stored,
        "the comment changed in user.cfg"
    );

    sim.clear_requests();
    let r = ok(&sim, json!({"userid": id, "state": "absent"}));
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users/jürgen@pve",
            "DELETE /access/users/jürgen@pve"
        ]
    );
    assert!(stored_user(&sim, id).is_empty());
    // PVE's "no such user ('jürgen@pve')" (reason phrase in Latin-1) is read
    // as not found.
    let r = ok(&sim, json!({"userid": id, "state": "absent"}));
    assert_eq!(r["msg"], "user 'jürgen@pve' does not exist");
}

on_each_version!(latin1_user_lifecycle);

#[test]
fn user_ids_beyond_latin1_are_refused_before_any_request() {
    let sim = seeded("9.1");
    sim.clear_requests();
    let r = fail(&sim, json!({"userid": "j€@pve"}));
    assert!(
        msg(&r).starts_with(
            "userid: user name 'j€@pve' has the character '€' (U+20AC), which PVE cannot keep"
        ),
        "{}",
        msg(&r)
    );
    assert_eq!(sim.requests(), Vec::<Value>::new(), "not even a login");
}
