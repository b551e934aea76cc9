//! pve_user in local mode (no api_host): the real pvesh and pveum of PVE 9.1
//! and 8.4 (pve-oracle) on a node's state directory, read directly; logins
//! checked over HTTPS by a pve-oracle server on the same state.

use pve_test_support::{local_nodes, module_under_test, msg};
use serde_json::json;

/// Non-ASCII on purpose: it must reach PVE as over HTTP.
const FIRST: &str = "Prüfer-pass-€1";
const SECOND: &str = "second-pass-22";

module_under_test!("pve_user");

#[test]
fn lifecycle_with_passwords_on_stdin() {
    let m = module();
    for node in local_nodes("pve_user local lifecycle") {
        let v = &node.version;
        let server = node.server();
        let create = json!({"userid": "alice@pve", "comment": "Jürgen's € account",
                            "email": "alice@example.com", "password": FIRST});
        let (predicted, done) =
            m.check_then_run(&node, &create, &["user"], |s| s.user("alice@pve"));
        assert_eq!(
            msg(&predicted),
            "user 'alice@pve' would be created with a password"
        );
        assert_eq!(done["changed"], true, "{v}");
        assert_eq!(
            node.api_calls()[2..],
            [
                "GET /access/users/alice@pve",
                "GET /access/domains",
                "POST /access/users",
                "PUT /access/password"
            ],
            "{v}"
        );
        // PVE escapes user.cfg text as UTF-8 bytes.
        assert_eq!(
            node.cfg_lines("user:alice@pve:"),
            ["user:alice@pve:1:0:::alice@example.com:J%C3%BCrgen's %E2%82%AC account::"],
            "{v}"
        );
        assert!(server.logs_in("alice@pve", FIRST), "{v}");

        // A no-op is one pvesh run.
        node.clear_requests();
        let r = m.ok(&node, create.clone());
        assert_eq!(r["changed"], false, "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        // update_password: always checks the login through pveum first.
        let mut always = create.clone();
        always["update_password"] = json!("always");
        node.clear_requests();
        let r = m.ok(&node, always.clone());
        assert_eq!(r["changed"], false, "{v}");
        let programs: Vec<(String, String)> = node
            .calls()
            .iter()
            .map(|a| (a[0].clone(), a[1].clone()))
            .collect();
        assert_eq!(
            programs,
            [
                ("pvesh".into(), "get".into()),
                ("pveum".into(), "ticket".into())
            ],
            "{v}"
        );
        always["password"] = json!(SECOND);
        let (predicted, done) =
            m.check_then_run(&node, &always, &["user"], |s| s.user("alice@pve"));
        assert_eq!(
            msg(&predicted),
            "user 'alice@pve' would be updated: password",
            "{v}"
        );
        assert_eq!(msg(&done), "user 'alice@pve' updated: password", "{v}");
        assert!(server.logs_in("alice@pve", SECOND), "{v}");
        assert!(!server.logs_in("alice@pve", FIRST), "{v}");

        node.clear_requests();
        let r = m.ok(&node, json!({"userid": "alice@pve", "comment": "plain"}));
        assert_eq!(msg(&r), "user 'alice@pve' updated: comment", "{v}");
        assert_eq!(node.writes(), ["PUT /access/users/alice@pve"], "{v}");

        let gone = json!({"userid": "alice@pve", "state": "absent"});
        let (_, done) = m.check_then_run(&node, &gone, &["user"], |s| s.user("alice@pve"));
        assert_eq!(done["changed"], true, "{v}");
        assert!(node.cfg_lines("user:alice@pve:").is_empty(), "{v}");
        assert!(!node.read("priv/shadow.cfg").contains("alice@pve"), "{v}");

        node.assert_no_secret_in_argv(&[FIRST, SECOND]);
    }
}

#[test]
fn a_password_pveum_cannot_read_is_refused_before_any_write() {
    for node in local_nodes("pve_user local multi-line password") {
        let args = json!({"userid": "bob@pve", "password": "two\nlines-pass"});
        // Check mode fails as the real run does.
        let mut check = args.clone();
        check["_ansible_check_mode"] = json!(true);
        let predicted = module().fail(&node, check);
        let r = module().fail(&node, args);
        assert_eq!(predicted["msg"], r["msg"]);
        let msg = msg(&r);
        assert!(msg.contains("holds a line break"), "{msg}");
        assert!(msg.contains("set api_host"), "{msg}");
        assert!(!msg.contains("lines-pass"), "{msg}");
        assert_eq!(node.writes(), Vec::<String>::new());
        assert!(node.cfg_lines("user:bob@pve:").is_empty());
        node.assert_no_secret_in_argv(&["lines-pass"]);
    }
}

#[test]
fn a_user_whose_password_cannot_be_set_is_removed_again() {
    for node in local_nodes("pve_user local create rollback") {
        let v = &node.version;
        node.program(
            "pveum",
            "echo 'simulated: shadow.cfg not writable' >&2; exit 1",
        );
        let r = module().fail(&node, json!({"userid": "carol@pve", "password": FIRST}));
        assert_eq!(
            msg(&r),
            "POST /access/users: 500 user 'carol@pve' was created, but setting its password with pveum failed: simulated: shadow.cfg not writable; the user was removed again. Nothing was changed",
            "{v}"
        );
        assert_eq!(
            node.writes(),
            [
                "POST /access/users",
                "PUT /access/password",
                "DELETE /access/users/carol@pve"
            ],
            "{v}"
        );
        assert!(node.cfg_lines("user:carol@pve:").is_empty(), "{v}");
        node.assert_no_secret_in_argv(&[FIRST]);
    }
}

#[test]
fn a_held_shadow_lock_is_reported_with_what_is_left() {
    // The password and the removal both wait for PVE's lock of shadow.cfg
    // (10 s each); the versions run side by side.
    std::thread::scope(|s| {
        for node in local_nodes("pve_user local shadow lock") {
            s.spawn(move || {
                let v = &node.version;
                let _lock = node.hold_lock("file-priv_shadow_cfg");
                let r = module().fail(
                    &node,
                    json!({"userid": "dave@pve", "password": FIRST, "api_timeout": 20}),
                );
                let msg = msg(&r);
                assert!(
                    msg.starts_with("POST /access/users: 500 user 'dave@pve' was created, but setting its password with pveum failed: "),
                    "{v}: {msg}"
                );
                assert!(msg.contains("got lock request timeout"), "{v}: {msg}");
                assert!(msg.contains("removing the user again failed too"), "{v}: {msg}");
                assert!(!msg.contains("trying to acquire"), "{v}: {msg}");
                assert_eq!(node.cfg_lines("user:dave@pve:").len(), 1, "{v}");
                node.assert_no_secret_in_argv(&[FIRST]);
            });
        }
    });
}
