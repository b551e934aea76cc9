//! pve_access_info in local mode (no api_host): the real pvesh of PVE 9.1
//! and 8.4 (pve-oracle) on a node's state directory, one pvesh run per GET.

mod common;

use common::ALL_GETS;
use pve_test_support::{local_nodes, module_under_test};
use serde_json::json;

const USER_CFG: &str = "\
user:root@pam:1:0:::root@localhost:::
user:joe@pve:1:0::::::
token:joe@pve!full:0:0::
group:admins:joe@pve::
acl:1:/:@admins:Administrator:
";

module_under_test!("pve_access_info");

#[test]
fn the_audit_through_pvesh() {
    let m = module();
    for node in local_nodes("pve_access_info local") {
        let node = node.user_cfg(USER_CFG);
        let v = &node.version;
        let r = m.ok(&node, json!({"fail_on": ["low"]}));
        assert_eq!(node.api_calls(), ALL_GETS, "{v}");
        assert_eq!(
            r["users"][0]["tokens"][0]["full_tokenid"], "joe@pve!full",
            "{v}"
        );
        assert_eq!(r["findings"][0]["kind"], "token_privsep_admin", "{v}: {r}");
        assert_eq!(r["findings"][0]["subject"], "joe@pve!full", "{v}");

        let r = m.fail(
            &node,
            json!({"fail_on": ["high"], "kinds": ["users", "roles", "acl"]}),
        );
        assert!(
            r["msg"].as_str().unwrap_or_default().starts_with(
                "1 finding matched fail_on: [high] token_privsep_admin: token 'joe@pve!full'"
            ),
            "{v}: {r}"
        );
        node.assert_no_secret_in_argv(&[]);
    }
}
