//! `/pools`, `/pools/{poolid}` and `GET /cluster/resources`, with PVE's
//! texts from pve-manager's `PVE/API2/Pool.pm` (pve-oracle has no pool API,
//! so these are checked here rather than in the conformance test).

mod api_common;

use api_common::*;
use serde_json::{json, Value};

/// root; ops@pve may allocate pool `team` and VM 100 only; an auditor.
const CFG: &str = "user:root@pam:1:0:::root@localhost:::\nuser:ops@pve:1:0::::::\nuser:aud@pve:1:0::::::\n\npool:team::::\npool:other::101::\n\nacl:1:/pool/team:ops@pve:PVEPoolAdmin:\nacl:1:/vms/100:ops@pve:PVEVMAdmin:\nacl:1:/:aud@pve:PVEAuditor:\n";

fn pools(version: &str) -> Sim {
    sim_cfg(version, Some(CFG), None).with_inventory("100,101,200:lxc", "local,local-lvm")
}

fn user_cfg(s: &Sim) -> String {
    std::fs::read_to_string(s.dir.join("state/user.cfg")).unwrap()
}

fn ids(members: &Value) -> Vec<String> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lifecycle_in_both_shapes() {
    for version in ["8.4", "9.0", "9.1"] {
        let s = pools(version);
        let root = s.root();
        s.root_ok("POST", "/pools", &[("poolid", "dev"), ("comment", "Dev")]);
        s.call("POST", "/pools", &root, &[("poolid", "dev")])
            .status(500, "create pool failed: pool 'dev' already exists");
        s.root_ok("POST", "/pools", &[("poolid", "dev/web")]);
        s.call("POST", "/pools", &root, &[("poolid", "nope/web")])
            .status(
                500,
                "create pool failed: parent 'nope' of pool 'nope/web' does not exist",
            );
        s.root_ok(
            "PUT",
            "/pools",
            &[
                ("poolid", "dev/web"),
                ("vms", "100,200"),
                ("storage", "local"),
            ],
        );
        // The old shape on a top-level pool.
        s.root_ok("PUT", "/pools/dev", &[("vms", "999"), ("comment", "")]);
        assert!(
            user_cfg(&s).contains("\npool:dev::999::\npool:dev/web::100,200:local:\n"),
            "{}",
            user_cfg(&s)
        );

        // Members that exist only, guests before storages.
        let got = s.root_ok("GET", "/pools", &[("poolid", "dev/web")]);
        assert_eq!(got[0]["poolid"], "dev/web");
        assert_eq!(
            ids(&got[0]["members"]),
            ["qemu/100", "lxc/200", "storage/pve/local"]
        );
        let lxc = s.root_ok("GET", "/pools", &[("poolid", "dev/web"), ("type", "lxc")]);
        assert_eq!(ids(&lxc[0]["members"]), ["lxc/200"]);
        assert_eq!(
            s.root_ok("GET", "/pools/dev", &[]),
            json!({"poolid": "dev", "members": []})
        );
        assert_eq!(
            s.call("GET", "/pools/dev/web", &root, &[]).status,
            501,
            "the old shape has no nested ids"
        );

        s.call("DELETE", "/pools", &root, &[("poolid", "dev")])
            .status(
                500,
                "delete pool failed: pool 'dev' is not empty (contains pool 'dev/web')",
            );
        s.call("DELETE", "/pools", &root, &[("poolid", "dev/web")])
            .status(
                500,
                "delete pool failed: pool 'dev/web' is not empty (contains VM 100)",
            );
        s.root_ok(
            "PUT",
            "/pools",
            &[("poolid", "dev/web"), ("vms", "100,200"), ("delete", "1")],
        );
        s.call("DELETE", "/pools", &root, &[("poolid", "dev/web")])
            .status(
                500,
                "delete pool failed: pool 'dev/web' is not empty (contains storage 'local')",
            );
        s.root_ok(
            "PUT",
            "/pools",
            &[("poolid", "dev/web"), ("storage", "local"), ("delete", "1")],
        );
        s.root_ok("DELETE", "/pools", &[("poolid", "dev/web")]);
        // A guest that does not exist does not keep a pool.
        s.root_ok("DELETE", "/pools/dev", &[]);
        s.call("DELETE", "/pools/dev", &root, &[])
            .status(500, "delete pool failed: pool 'dev' does not exist");
        assert!(!user_cfg(&s).contains("pool:dev"), "{version}");
    }
}

#[test]
fn member_errors_are_pves() {
    let s = pools("9.1");
    let root = s.root();
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "team"), ("vms", "101")],
    )
    .status(
        500,
        "update pools failed: VM 101 belongs already to pool 'other' and 'allow-move' is not set",
    );
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "team"), ("vms", "100"), ("delete", "1")],
    )
    .status(500, "update pools failed: VM 100 is not a pool member");
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "other"), ("vms", "101")],
    )
    .status(500, "update pools failed: VM 101 is already a pool member");
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "team"), ("storage", "local"), ("delete", "1")],
    )
    .status(
        500,
        "update pools failed: Storage 'local' is not a pool member",
    );
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "gone"), ("vms", "100")],
    )
    .status(500, "update pools failed: pool 'gone' does not exist");
    // One bad member leaves the others unchanged too.
    s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "team"), ("vms", "100,101")],
    )
    .status(
        500,
        "update pools failed: VM 101 belongs already to pool 'other' and 'allow-move' is not set",
    );
    assert!(user_cfg(&s).contains("\npool:team::::\n"));
    s.root_ok(
        "PUT",
        "/pools",
        &[("poolid", "team"), ("vms", "100,101"), ("allow-move", "1")],
    );
    assert!(user_cfg(&s).contains("\npool:other::::\npool:team::100,101::\n"));

    let r = s.call("PUT", "/pools", &root, &[("poolid", "team"), ("vms", "99")]);
    assert_eq!(
        r.error("vms"),
        "invalid format - value does not look like a valid VM ID\n"
    );
    let r = s.call(
        "PUT",
        "/pools",
        &root,
        &[("poolid", "team"), ("storage", "1st")],
    );
    assert_eq!(
        r.error("storage"),
        "invalid format - storage ID '1st' contains illegal characters\n"
    );
    let r = s.call("POST", "/pools", &root, &[("poolid", "a/b/c/d")]);
    assert_eq!(
        r.error("poolid"),
        "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n"
    );
}

#[test]
fn names_start_with_a_letter_since_9_0() {
    for (version, allowed) in [("8.4", true), ("9.0", false), ("9.1", false)] {
        let s = pools(version);
        let r = s.call("POST", "/pools", &s.root(), &[("poolid", "1st")]);
        if allowed {
            r.ok();
        } else {
            r.status(
                500,
                "create pool failed: pool name must start with a letter",
            );
        }
        let r = s.call("POST", "/pools", &s.root(), &[("poolid", "team/_x")]);
        assert_eq!(r.status == 200, allowed, "{version}");
    }
}

#[test]
fn permissions_as_pve_checks_them() {
    let s = pools("9.1");
    let ops = s.ticket_for("ops@pve");
    // Pool.Allocate on /pool/team, VM.Allocate on /vms/100 only.
    s.call("PUT", "/pools", &ops, &[("poolid", "team"), ("vms", "100")])
        .ok();
    s.call("PUT", "/pools", &ops, &[("poolid", "team"), ("storage", "local")]).status(
        500,
        "update pools failed: 403 Permission check failed (/storage/local, Permissions.Modify|Datastore.Allocate)",
    );
    s.call(
        "PUT",
        "/pools",
        &ops,
        &[("poolid", "other"), ("comment", "x")],
    )
    .status(403, "Permission check failed (/pool/other, Pool.Allocate)");
    s.call("POST", "/pools", &ops, &[("poolid", "mine")])
        .status(403, "Permission check failed (/pool/mine, Pool.Allocate)");
    // Moving needs Pool.Allocate on the pool the guest leaves.
    s.root_ok(
        "PUT",
        "/pools",
        &[("poolid", "other"), ("vms", "100"), ("allow-move", "1")],
    );
    s.call(
        "PUT",
        "/pools",
        &ops,
        &[("poolid", "team"), ("vms", "100"), ("allow-move", "1")],
    )
    .status(
        500,
        "update pools failed: 403 Permission check failed (/pool/other, Pool.Allocate)",
    );
    // The list shows auditable pools; a pool by id is read without a check.
    assert_eq!(
        s.call("GET", "/pools", &ops, &[]).ok(),
        &json!([{"poolid": "team"}])
    );
    assert_eq!(
        s.call("GET", "/pools", &ops, &[("poolid", "other")]).ok()[0]["poolid"],
        "other"
    );
    s.call("GET", "/pools/other", &ops, &[])
        .status(403, "Permission check failed (/pool/other, Pool.Audit)");
}

#[test]
fn deleting_a_pool_deletes_its_acl_entries_as_pve_does() {
    let s = pools("9.1");
    s.root_ok("POST", "/pools", &[("poolid", "team/sub")]);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/pool/team/sub"),
            ("users", "aud@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    // A nested pool's own entries stay (PVE looks for them in the wrong place).
    s.root_ok("DELETE", "/pools", &[("poolid", "team/sub")]);
    assert!(user_cfg(&s).contains("acl:1:/pool/team/sub:aud@pve:PVEAuditor:"));
    // A top-level pool takes its subtree with it.
    s.root_ok("DELETE", "/pools", &[("poolid", "team")]);
    assert!(!user_cfg(&s).contains("/pool/team"), "{}", user_cfg(&s));
}

#[test]
fn cluster_resources_show_what_the_caller_may_audit() {
    let s = pools("8.4");
    let all = s.root_ok("GET", "/cluster/resources", &[]);
    assert_eq!(
        ids(&all),
        [
            "/pool/other",
            "/pool/team",
            "qemu/100",
            "qemu/101",
            "lxc/200",
            "node/pve",
            "storage/pve/local",
            "storage/pve/local-lvm"
        ]
    );
    assert_eq!(all[3]["pool"], "other");
    let vms = s.root_ok("GET", "/cluster/resources", &[("type", "vm")]);
    assert_eq!(ids(&vms), ["qemu/100", "qemu/101", "lxc/200"]);
    // ops sees VM 100 (VM.Audit there), pool team, no storage.
    let ops = s.ticket_for("ops@pve");
    let seen = s.call("GET", "/cluster/resources", &ops, &[]).ok().clone();
    assert_eq!(ids(&seen), ["/pool/team", "qemu/100", "node/pve"]);
}

#[test]
fn nested_pools_bring_their_parents() {
    let s = sim_cfg(
        "9.1",
        Some("user:root@pam:1:0::::::\npool:a/b/c:x:100::\npool:a/b/c::101::\n"),
        None,
    );
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/"),
            ("users", "root@pam"),
            ("roles", "NoAccess"),
            ("delete", "1"),
        ],
    );
    assert!(
        user_cfg(&s).contains("\npool:a::::\npool:a/b::::\npool:a/b/c:x:100,101::\n"),
        "{}",
        user_cfg(&s)
    );
}
