//! pve_pool against pve-sim (PVE 9.1 and 8.4): the module binary run the
//! way Ansible runs it, the server's state read from its user.cfg and its
//! request log. pve-oracle has no pool API (it runs PVE's access-control
//! code, not pve-manager's `Pool.pm`), so these tests run on pve-sim only
//! (`SimBuilder::inventory` decides it).

use pve_test_support::{diff_view, module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

const SECRET: &str = "0c5a7e2d-41b9-4f3e-8a6d-2b9c7e1f3a50";

/// root@pam; a pool `db` holding guest 101; `web@pve` with a token `ci`
/// that may allocate pool `web` (and its sub-pools) but no guest or storage.
const SEED: &str = "user:root@pam:1:0:::root@localhost:::\nuser:web@pve:1:0::::::\ntoken:web@pve!ci:0:0::\n\npool:db::101::\n\nacl:1:/pool/web:web@pve:PVEPoolAdmin:\nacl:1:/vms:web@pve:PVEAuditor:\nacl:1:/storage:web@pve:PVEAuditor:\n";

module_under_test!("pve_pool");

fn seeded(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(SEED)
        .token_cfg(&format!("web@pve!ci {SECRET}\n"))
        .inventory("100,101,200:lxc", "local,local-lvm")
        .start()
}

/// The pool as the server saved it, `{}` when missing.
fn server_pool(sim: &Sim, poolid: &str) -> Value {
    sim.state().pool(poolid).unwrap_or_else(|| json!({}))
}

fn with_token(args: Value) -> Value {
    with_api_token(args, &format!("web@pve!ci={SECRET}"))
}

fn lifecycle(version: &str) {
    let sim = seeded(version);

    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"poolid": "web", "comment": "Web", "vms": [200, 100], "storage": ["local"]}),
    );
    assert_eq!(r["changed"], true);
    let want = json!({"poolid": "web", "comment": "Web", "vms": [100, 200], "storage": ["local"]});
    assert_eq!(r["pool"], want);
    assert_eq!(server_pool(&sim, "web"), want);
    assert_eq!(
        sim.api_calls(),
        [
            "GET /pools",
            "GET /cluster/resources",
            "POST /pools",
            "PUT /pools"
        ]
    );

    // Second run: one GET.
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"poolid": "web", "comment": "Web", "vms": [100, 200], "storage": ["local"]}),
    );
    assert_eq!(r["changed"], false);
    assert_eq!(sim.api_calls(), ["GET /pools"]);

    // Replace: a guest and the storage out, another storage in.
    let r = ok(
        &sim,
        json!({"name": "web", "vms": [100], "storage": ["local-lvm"]}),
    );
    assert_eq!(
        r["msg"],
        "pool 'web' updated: added storage local-lvm; removed guest 200 and storage local"
    );
    assert_eq!(
        server_pool(&sim, "web"),
        json!({"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local-lvm"]})
    );
    // Append; the comment cleared.
    let r = ok(
        &sim,
        json!({"pool": "web", "vms": [200], "append": true, "comment": ""}),
    );
    assert_eq!(r["pool"]["vms"], json!([100, 200]));
    assert_eq!(
        server_pool(&sim, "web"),
        json!({"poolid": "web", "comment": null, "vms": [100, 200], "storage": ["local-lvm"]})
    );

    // A nested pool.
    let r = ok(&sim, json!({"poolid": "web/stage", "comment": "staging"}));
    assert_eq!(r["changed"], true);
    assert_eq!(server_pool(&sim, "web/stage")["comment"], "staging");

    // Deleting: refused while it holds a pool, then members.
    for (task, want) in [
        (
            json!({"poolid": "web", "state": "absent"}),
            "it holds pool web/stage",
        ),
        (json!({"poolid": "web/stage", "state": "absent"}), ""),
        (
            json!({"poolid": "web", "state": "absent"}),
            "it holds guest 100, 200 and storage local-lvm; PVE deletes only empty pools",
        ),
    ] {
        sim.clear_requests();
        if want.is_empty() {
            assert_eq!(ok(&sim, task)["changed"], true);
        } else {
            let r = fail(&sim, task.clone());
            assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
            assert_eq!(sim.writes(), Vec::<String>::new());
        }
    }
    sim.clear_requests();
    let r = ok(
        &sim,
        json!({"poolid": "web", "state": "absent", "remove_members": true}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(sim.writes(), ["PUT /pools", "DELETE /pools"]);
    assert_eq!(server_pool(&sim, "web"), json!({}));
    let r = ok(&sim, json!({"poolid": "web", "state": "absent"}));
    assert_eq!(r["changed"], false);
}

on_each_version!(lifecycle);

fn moving_a_guest_needs_allow_move(version: &str) {
    let sim = seeded(version);
    ok(&sim, json!({"poolid": "web"}));
    sim.clear_requests();
    let r = fail(&sim, json!({"poolid": "web", "vms": [101]}));
    assert_eq!(
        msg(&r),
        "pool 'web' not changed: guest 101 is in pool 'db': a guest is in one pool at most; set allow_move: true to move it here"
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    let r = ok(
        &sim,
        json!({"poolid": "web", "vms": [101], "allow_move": true}),
    );
    assert_eq!(
        r["msg"],
        "pool 'web' updated: added guest 101 (guest 101 moved from pool 'db')"
    );
    assert_eq!(server_pool(&sim, "web")["vms"], json!([101]));
    assert_eq!(server_pool(&sim, "db")["vms"], json!([]));
}

on_each_version!(moving_a_guest_needs_allow_move);

#[test]
fn check_mode_predicts_the_real_run() {
    let sim = seeded("9.1");
    let steps = [
        json!({"poolid": "web", "vms": [100], "storage": ["local"]}),
        json!({"poolid": "web", "vms": [100], "storage": ["local"]}),
        json!({"poolid": "web", "vms": [200], "append": true, "comment": "c"}),
        json!({"poolid": "web", "vms": [101], "allow_move": true, "storage": []}),
        json!({"poolid": "web", "state": "absent", "remove_members": true}),
    ];
    for step in steps {
        let (predicted, _) = module().check_then_run(&sim, &step, &["pool"], |s| s.pool("web"));
        if predicted["changed"] == true {
            assert_ne!(
                diff_view(&predicted, "before"),
                diff_view(&predicted, "after")
            );
        }
    }
}

#[test]
fn validation_failures_write_nothing() {
    let sim = seeded("8.4");
    for (task, want) in [
        (json!({"poolid": "bad pool"}), "contains invalid characters"),
        (json!({"poolid": "a/b/c/d"}), "nested too deeply"),
        (json!({"poolid": "web", "vms": [42]}), "42 is not a valid VM ID"),
        (json!({"poolid": "web", "vms": ["x1"]}), "vms"),
        (json!({"poolid": "web", "storage": ["_x"]}), "storage ID '_x' is not valid"),
        (
            json!({"poolid": "web", "vms": [100, 300], "storage": ["ceph"]}),
            "guest 300 does not exist (or this login cannot see it: it needs VM.Audit on /vms/<id>); storage ceph does not exist",
        ),
        (json!({"poolid": "nope/child"}), "parent 'nope' of pool 'nope/child' does not exist"),
    ] {
        sim.clear_requests();
        let r = fail(&sim, task.clone());
        assert!(msg(&r).contains(want), "{task}: {}", msg(&r));
        assert_eq!(sim.writes().len(), usize::from(want.starts_with("parent")), "{task}");
    }
    assert_eq!(server_pool(&sim, "web"), json!({}));
}

#[test]
fn permission_refusals_say_what_is_needed() {
    let sim = seeded("9.1");
    // The token may create its pool, but add no guest (no VM.Allocate).
    let r = ok(&sim, with_token(json!({"poolid": "web"})));
    assert_eq!(r["changed"], true);
    let r = fail(&sim, with_token(json!({"poolid": "web", "vms": [100]})));
    let m = msg(&r);
    assert!(
        m.contains("PUT /pools: 500 update pools failed: 403 Permission check failed (/vms/100, Permissions.Modify|VM.Allocate)"),
        "{m}"
    );
    assert!(
        m.contains("on each member, VM.Allocate on /vms/<id>"),
        "{m}"
    );
    assert!(m.ends_with("Nothing was changed"), "{m}");
    assert!(!m.contains(SECRET));
    let r = fail(&sim, with_token(json!({"poolid": "other"})));
    assert!(
        msg(&r).contains("403 Permission check failed (/pool/other, Pool.Allocate). creating, changing and deleting a pool needs Pool.Allocate on /pool/other"),
        "{}",
        msg(&r)
    );
    assert_eq!(r["status"], 403);
}

#[test]
fn pool_names_start_with_a_letter_from_9_0() {
    for (version, allowed) in [("8.4", true), ("9.1", false)] {
        let sim = seeded(version);
        let r = module().run(&sim, json!({"poolid": "1st"}));
        assert_eq!(r.code == 0, allowed, "{version}: {}", r.stdout);
        if !allowed {
            assert!(
                msg(&r.json).contains("pool name must start with a letter. Nothing was changed"),
                "{}",
                r.stdout
            );
        }
    }
}

#[test]
fn a_failure_half_way_then_a_rerun_finishes() {
    let sim = Sim::builder("9.1")
        .user_cfg(SEED)
        .inventory("100,101,200:lxc", "local,local-lvm")
        .fault(json!({"method": "PUT", "path": "/pools", "status": 500,
                      "reason": "update pools failed: cfs-lock 'file-user_cfg' error: no quorum", "times": 1}))
        .start();
    let task = json!({"poolid": "web", "vms": [100]});
    let run = module().run(&sim, task.clone());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let r = run.json;
    let m = msg(&r);
    assert!(
        m.contains("Done before it: POST /pools. Not done: PUT /pools"),
        "{m}"
    );
    assert_eq!(r["changed"], true);
    assert_eq!(
        server_pool(&sim, "web"),
        json!({"poolid": "web", "comment": null, "vms": [], "storage": []})
    );
    let r = ok(&sim, task);
    assert_eq!(r["changed"], true);
    assert_eq!(server_pool(&sim, "web")["vms"], json!([100]));
}

#[test]
fn a_lost_answer_is_settled_by_reading_back() {
    let sim = Sim::builder("8.4")
        .user_cfg(SEED)
        .inventory("100", "local")
        .fault(json!({"method": "PUT", "path": "/pools", "drop": "after", "times": 1}))
        .start();
    let r = ok(&sim, json!({"poolid": "web", "vms": [100]}));
    assert_eq!(r["changed"], true);
    // Sent once: the second try would fail with "already a pool member".
    assert_eq!(sim.count_calls("PUT /pools"), 1, "{:?}", sim.api_calls());
    assert_eq!(server_pool(&sim, "web")["vms"], json!([100]));
}
