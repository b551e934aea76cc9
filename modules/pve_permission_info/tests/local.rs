//! pve_permission_info in local mode (no api_host): the real pvesh of PVE
//! 9.1 and 8.4 (pve-oracle) on a node's state directory; and credentials
//! given without api_host, which local mode cannot use.

use pve_test_support::{local_nodes, module_under_test, msg};
use serde_json::json;

const USER_CFG: &str =
    "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\n\nacl:1:/vms:joe@pve:PVEVMUser:\n";

module_under_test!("pve_permission_info");

#[test]
fn permissions_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_permission_info local") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        let r = m.ok(
            &node,
            json!({"userid": "joe@pve", "path": "/vms/100",
                                  "require": {"/vms/100": ["VM.Console", "VM.Audit"]}}),
        );
        assert_eq!(r["permissions"]["/vms/100"]["VM.Console"], true, "{v}: {r}");
        assert_eq!(node.api_calls(), ["GET /access/permissions"], "{v}");

        let r = m.fail(
            &node,
            json!({"userid": "joe@pve", "path": "/", "require": {"/": ["Sys.Modify"]}}),
        );
        let msg = msg(&r);
        assert!(
            msg.starts_with("user 'joe@pve' lacks a required privilege: /: Sys.Modify"),
            "{v}: {msg}"
        );

        let r = m.ok(&node, json!({"path": "/"}));
        assert!(
            r["msg"]
                .as_str()
                .unwrap_or_default()
                .starts_with("permissions of root@pam (local pvesh)"),
            "{v}: {r}"
        );
        assert_eq!(r["permissions"]["/"]["Permissions.Modify"], true, "{v}");
        node.assert_no_secret_in_argv(&[]);
    }
}

#[test]
fn credentials_without_api_host_fail_before_any_pvesh_run() {
    let m = module();
    for node in local_nodes("pve_permission_info local credentials") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        for (creds, named) in [
            (
                json!({"api_token": "joe@pve!made-up=not-a-real-secret"}),
                "api_token (or PROXMOX_VE_API_TOKEN)",
            ),
            (
                json!({"api_token_id": "joe@pve!ci", "api_token_secret": "not-a-real-secret"}),
                "api_token_id (or PROXMOX_TOKEN_ID), api_token_secret (or PROXMOX_TOKEN_SECRET)",
            ),
            (
                json!({"api_user": "root@pam", "api_password": "not-a-real-secret"}),
                "api_password (or PROXMOX_PASSWORD)",
            ),
            (json!({"api_user": "joe@pve"}), "api_user is 'joe@pve'"),
        ] {
            let mut args = creds.clone();
            args["path"] = json!("/");
            let r = m.fail(&node, args);
            let msg = msg(&r);
            assert!(msg.starts_with(named), "{v} {creds}: {msg}");
            assert!(
                msg.contains("api_host is not set (nor PROXMOX_HOST)"),
                "{v}: {msg}"
            );
            assert!(!msg.contains("not-a-real-secret"), "{v}: {msg}");
            assert!(r.get("permissions").is_none(), "{v}: {r}");
        }
        assert_eq!(node.all_calls(), Vec::<Vec<String>>::new(), "{v}");
    }
}
