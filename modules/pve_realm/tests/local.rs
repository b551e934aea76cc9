//! pve_realm in local mode (no api_host): the real pvesh of PVE 9.1 and 8.4
//! (pve-oracle) on a node's state directory, read directly.

use pve_test_support::{local_nodes, module_under_test, msg};
use serde_json::json;

module_under_test!("pve_realm");

#[test]
fn realms_through_pvesh_and_no_secret_on_a_command_line() {
    let m = module();
    for node in local_nodes("pve_realm local") {
        let v = &node.version;
        let args = json!({"realm": "corp", "type": "ldap", "server1": "ldap.example.com",
                          "base_dn": "dc=example,dc=com", "user_attr": "uid", "comment": "Corp"});
        let r = m.ok(&node, args.clone());
        assert_eq!(r["changed"], true, "{v}: {r}");
        let cfg = node.read("domains.cfg");
        assert!(
            cfg.contains("ldap: corp\n\tcomment Corp\n\tbase_dn dc=example,dc=com\n"),
            "{v}: {cfg}"
        );
        node.clear_requests();
        assert_eq!(m.ok(&node, args.clone())["changed"], false, "{v}");
        assert_eq!(node.calls().len(), 1, "{v}: {:?}", node.calls());

        // A bind password would go on pvesh's command line: refused before any write.
        node.clear_requests();
        let mut with_pw = args;
        with_pw["realm"] = json!("corp2");
        with_pw["password"] = json!("bind-Secret-1");
        let f = m.fail(&node, with_pw);
        assert!(
            msg(&f).contains("never puts a secret on a command line"),
            "{v}: {f}"
        );
        assert!(!f.to_string().contains("bind-Secret-1"), "{v}: {f}");
        assert_eq!(node.writes(), Vec::<String>::new(), "{v}");
        assert!(!node.read("domains.cfg").contains("corp2"), "{v}");

        let r = m.ok(&node, json!({"realm": "corp", "state": "absent"}));
        assert_eq!(r["changed"], true, "{v}");
        assert!(!node.read("domains.cfg").contains("corp"), "{v}");
        node.assert_no_secret_in_argv(&["bind-Secret-1"]);
    }
}
