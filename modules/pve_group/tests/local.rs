//! pve_group in local mode (no api_host): the real pvesh of PVE 9.1 and 8.4
//! (pve-oracle) on a node's state directory, read directly.

use pve_test_support::{local_nodes, module_under_test};
use serde_json::json;

const USER_CFG: &str =
    "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\nuser:ann@pve:1:0::::::\n";

module_under_test!("pve_group");

#[test]
fn lifecycle_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_group local lifecycle") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        let args = json!({"groupid": "ops", "comment": "Operators", "members": ["joe@pve"]});
        let (predicted, done) = m.check_then_run(&node, &args, &["group"], |s| s.group("ops"));
        assert_eq!(predicted["changed"], true, "{v}");
        assert_eq!(
            done["group"],
            json!({"groupid": "ops", "comment": "Operators", "members": ["joe@pve"]}),
            "{v}"
        );
        assert_eq!(
            node.cfg_lines("group:ops:"),
            ["group:ops:joe@pve:Operators:"],
            "{v}"
        );

        // A no-op is one pvesh run.
        node.clear_requests();
        let r = m.ok(&node, args.clone());
        assert_eq!(r["changed"], false, "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        let append = json!({"groupid": "ops", "members": ["ann@pve"], "append": true});
        let (_, done) = m.check_then_run(&node, &append, &["group"], |s| s.group("ops"));
        assert_eq!(
            done["msg"], "group 'ops' updated: members (added ann@pve)",
            "{v}"
        );
        assert_eq!(
            node.cfg_lines("group:ops:"),
            ["group:ops:ann@pve,joe@pve:Operators:"],
            "{v}"
        );

        let replace = json!({"groupid": "ops", "members": ["ann@pve"]});
        let (_, done) = m.check_then_run(&node, &replace, &["group"], |s| s.group("ops"));
        assert_eq!(
            done["msg"], "group 'ops' updated: members (removed joe@pve)",
            "{v}"
        );
        assert_eq!(
            node.cfg_lines("group:ops:"),
            ["group:ops:ann@pve:Operators:"],
            "{v}"
        );

        // A member that does not exist: refused before any write.
        node.clear_requests();
        let r = m.fail(&node, json!({"groupid": "ops", "members": ["nobody@pve"]}));
        assert!(
            r["msg"].as_str().unwrap_or_default().contains("nobody@pve"),
            "{v}: {r}"
        );
        assert_eq!(node.writes(), Vec::<String>::new(), "{v}");

        let gone = json!({"groupid": "ops", "state": "absent"});
        let (_, done) = m.check_then_run(&node, &gone, &["group"], |s| s.group("ops"));
        assert_eq!(done["changed"], true, "{v}");
        assert!(node.cfg_lines("group:ops:").is_empty(), "{v}");
        node.assert_no_secret_in_argv(&[]);
    }
}
