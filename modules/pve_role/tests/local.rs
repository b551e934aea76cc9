//! pve_role in local mode (no api_host): the real pvesh of PVE 9.1 and 8.4
//! (pve-oracle) on a node's state directory, read directly.

use pve_test_support::{local_nodes, module_under_test, msg, LocalNode};
use serde_json::json;

module_under_test!("pve_role");

fn role_line(node: &LocalNode, roleid: &str) -> Vec<String> {
    node.cfg_lines(&format!("role:{roleid}:"))
}

#[test]
fn lifecycle_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_role local lifecycle") {
        let v = &node.version;
        let args = json!({"roleid": "Monitoring", "privs": ["VM.Audit", "Sys.Audit"]});
        let (predicted, done) = m.check_then_run(&node, &args, &["role"], |s| s.role("Monitoring"));
        assert_eq!(
            predicted["msg"], "role 'Monitoring' would be created with Sys.Audit, VM.Audit",
            "{v}"
        );
        assert_eq!(done["changed"], true, "{v}");
        assert_eq!(
            role_line(&node, "Monitoring"),
            ["role:Monitoring:Sys.Audit,VM.Audit:"],
            "{v}"
        );

        // A no-op is one pvesh run.
        node.clear_requests();
        let r = m.ok(
            &node,
            json!({"roleid": "Monitoring", "privs": "VM.Audit,Sys.Audit"}),
        );
        assert_eq!(r["changed"], false, "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        node.clear_requests();
        let r = m.ok(
            &node,
            json!({"roleid": "Monitoring", "privs": ["VM.Audit", "Datastore.Audit"]}),
        );
        assert_eq!(
            r["msg"], "role 'Monitoring' updated: added Datastore.Audit; removed Sys.Audit",
            "{v}"
        );
        assert_eq!(
            node.api_calls(),
            ["GET /access/roles", "PUT /access/roles/Monitoring"],
            "{v}"
        );
        assert_eq!(
            role_line(&node, "Monitoring"),
            ["role:Monitoring:Datastore.Audit,VM.Audit:"],
            "{v}"
        );

        let gone = json!({"roleid": "Monitoring", "state": "absent"});
        let (_, done) = m.check_then_run(&node, &gone, &["role"], |s| s.role("Monitoring"));
        assert_eq!(done["changed"], true, "{v}");
        assert!(role_line(&node, "Monitoring").is_empty(), "{v}");
        let r = m.ok(&node, gone);
        assert_eq!(r["changed"], false, "{v}");
        node.assert_no_secret_in_argv(&[]);
    }
}

#[test]
fn pve_error_not_its_lock_progress() {
    // Each try waits PVE's 10 s for the lock: the versions run side by side.
    std::thread::scope(|s| {
        for node in local_nodes("pve_role local lock") {
            s.spawn(move || {
                let (m, v) = (module(), &node.version);
                m.ok(&node, json!({"roleid": "Held", "privs": ["VM.Audit"]}));
                let before = node.read("user.cfg");
                let lock = node.hold_lock("file-user_cfg");
                let r = m.fail(&node, json!({"roleid": "Held", "privs": ["Sys.Audit"]}));
                drop(lock);
                let msg = msg(&r);
                assert!(
                    msg.starts_with("PUT /access/roles/Held: 500 ")
                        && msg.contains("cfs-lock 'file-user_cfg' error: got lock request timeout"),
                    "{v}: {msg}"
                );
                assert!(!msg.contains("trying to acquire"), "{v}: {msg}");
                // A lock timeout is tried again: nothing was applied.
                assert!(
                    msg.ends_with("(tried 3 times). Nothing was changed"),
                    "{v}: {msg}"
                );
                assert_eq!(node.read("user.cfg"), before, "{v}");
            });
        }
    });
}
