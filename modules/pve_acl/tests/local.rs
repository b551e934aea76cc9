//! pve_acl in local mode (no api_host): the real pvesh of PVE 9.1 and 8.4
//! (pve-oracle) on a node's state directory, read directly.

use pve_test_support::{local_nodes, module_under_test, UserCfg};
use serde_json::{json, Value};

const USER_CFG: &str = "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\ntoken:joe@pve!ci:0:1::\n\ngroup:ops:joe@pve::\n\nrole:Ops:VM.Audit:\n";

module_under_test!("pve_acl");

/// The entries the node saved on /vms/100, the task's path: all of them
/// name the task's principals.
fn saved(state: &UserCfg) -> Option<Value> {
    let entries = state.acl().into_iter().filter(|e| e["path"] == "/vms/100");
    Some(entries.collect())
}

#[test]
fn lifecycle_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_acl local lifecycle") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        let args = json!({"path": "/vms/100", "roles": ["Ops", "PVEAuditor"],
                          "users": ["joe@pve"], "groups": ["ops"], "tokens": ["joe@pve!ci"]});
        let (predicted, done) = m.check_then_run(&node, &args, &["acl", "changes"], saved);
        assert_eq!(
            predicted["msg"], "would add 6, change 0 and remove 0 ACL entries",
            "{v}"
        );
        assert_eq!(
            done["msg"], "added 6, changed 0 and removed 0 ACL entries",
            "{v}"
        );
        assert_eq!(
            node.cfg_lines("acl:"),
            ["acl:1:/vms/100:@ops,joe@pve,joe@pve!ci:Ops,PVEAuditor:"],
            "{v}"
        );

        // A no-op is one pvesh run.
        node.clear_requests();
        let r = m.ok(&node, args.clone());
        assert_eq!(r["changed"], false, "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        let mut no_propagate = args.clone();
        no_propagate["propagate"] = json!(false);
        let (_, done) = m.check_then_run(&node, &no_propagate, &["acl", "changes"], saved);
        assert_eq!(
            done["msg"], "added 0, changed 6 and removed 0 ACL entries",
            "{v}"
        );
        assert!(
            node.cfg_lines("acl:")
                .iter()
                .all(|l| l.starts_with("acl:0:")),
            "{v}"
        );

        // An unknown role: refused before any write.
        node.clear_requests();
        let r = m.fail(
            &node,
            json!({"path": "/", "roles": ["NoSuchRole"], "users": ["joe@pve"]}),
        );
        assert!(
            r["msg"].as_str().unwrap_or_default().contains("NoSuchRole"),
            "{v}: {r}"
        );
        assert_eq!(node.writes(), Vec::<String>::new(), "{v}");

        let mut gone = no_propagate.clone();
        gone["state"] = json!("absent");
        let (_, done) = m.check_then_run(&node, &gone, &["acl", "changes"], saved);
        assert_eq!(
            done["msg"], "added 0, changed 0 and removed 6 ACL entries",
            "{v}"
        );
        assert!(node.cfg_lines("acl:").is_empty(), "{v}");
        node.assert_no_secret_in_argv(&[]);
    }
}
