//! pve_token in local mode (no api_host): the real pvesh of PVE 9.1 and 8.4
//! (pve-oracle) on a node's state directory, read directly; the secrets it
//! returns used over HTTPS by a pve-oracle server on the same state.

use pve_test_support::{local_nodes, module_under_test};
use serde_json::{json, Value};

/// joe may do anything (Administrator on /), so his tokens without
/// privilege separation can read themselves.
const USER_CFG: &str =
    "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\n\nacl:1:/:joe@pve:Administrator:\n";

module_under_test!("pve_token");

fn secret(r: &Value) -> String {
    r["secret"].as_str().unwrap_or_default().to_string()
}

#[test]
fn lifecycle_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_token local lifecycle") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        let server = node.server();
        let args = json!({"tokenid": "joe@pve!deploy", "privsep": false, "comment": "Deploy"});
        let (predicted, done) =
            m.check_then_run(&node, &args, &["token"], |s| s.token("joe@pve!deploy"));
        assert_eq!(
            predicted["msg"],
            "token 'joe@pve!deploy' would be created (the real run returns its secret, once)",
            "{v}"
        );
        assert!(predicted.get("secret").is_none(), "{v}");
        let first = secret(&done);
        assert_eq!(first.len(), 36, "{v}: {done}");
        assert_eq!(
            node.cfg_lines("token:joe@pve!deploy:"),
            ["token:joe@pve!deploy:0:0:Deploy:"],
            "{v}"
        );
        assert_eq!(
            node.read("priv/token.cfg"),
            format!("joe@pve!deploy {first}\n"),
            "{v}"
        );
        let api_token = done["api_token"].as_str().unwrap_or_default().to_string();
        assert!(server.token_authenticates(&api_token), "{v}");

        // A no-op is one pvesh run, and returns no secret.
        node.clear_requests();
        let r = m.ok(&node, args.clone());
        assert_eq!(r["changed"], false, "{v}");
        assert!(r.get("secret").is_none(), "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        node.clear_requests();
        let r = m.ok(
            &node,
            json!({"tokenid": "joe@pve!deploy", "comment": "Deploy 2"}),
        );
        assert_eq!(r["changed"], true, "{v}");
        assert_eq!(
            node.writes(),
            ["PUT /access/users/joe@pve/token/deploy"],
            "{v}"
        );
        assert_eq!(
            node.cfg_lines("token:joe@pve!deploy:"),
            ["token:joe@pve!deploy:0:0:Deploy 2:"],
            "{v}"
        );

        let again = json!({"tokenid": "joe@pve!deploy", "regenerate": true});
        let (_, done) = m.check_then_run(&node, &again, &["token"], |s| s.token("joe@pve!deploy"));
        let second = secret(&done);
        assert!(second.len() == 36 && second != first, "{v}: {done}");
        assert_eq!(
            node.read("priv/token.cfg"),
            format!("joe@pve!deploy {second}\n"),
            "{v}"
        );
        assert!(!server.token_authenticates(&api_token), "{v}");
        let api_token = done["api_token"].as_str().unwrap_or_default().to_string();
        assert!(server.token_authenticates(&api_token), "{v}");

        // A token of a user that does not exist: refused before any write.
        node.clear_requests();
        let r = m.fail(&node, json!({"tokenid": "nobody@pve!x"}));
        assert!(
            r["msg"].as_str().unwrap_or_default().contains("nobody@pve"),
            "{v}: {r}"
        );
        assert_eq!(node.writes(), Vec::<String>::new(), "{v}");

        let gone = json!({"tokenid": "joe@pve!deploy", "state": "absent"});
        let (_, done) = m.check_then_run(&node, &gone, &["token"], |s| s.token("joe@pve!deploy"));
        assert_eq!(done["changed"], true, "{v}");
        assert!(node.cfg_lines("token:").is_empty(), "{v}");
        assert!(!server.token_authenticates(&api_token), "{v}");
        node.assert_no_secret_in_argv(&[&first, &second]);
    }
}
