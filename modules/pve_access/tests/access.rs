//! pve_access against pve-sim or the real PVE code (9.1 and 8.4): the
//! module binary run the way Ansible runs it; what it did read back from
//! the server's saved state, and its requests from the request log.

use pve_test_support::{diff_view, module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

module_under_test!("pve_access");

const SECRET: &str = "0b9a4c1e-7d2f-4e8a-9c3b-5f6e7d8c9b0a";

/// The Terraform and Packer identities of the runbooks: two users (one in
/// a group), two roles, four ACL entries, two tokens.
fn runbooks() -> Value {
    json!({
        "groups": [{"groupid": "automation", "comment": "machine identities"}],
        "users": [
            {"userid": "terraform@pve", "comment": "Terraform", "groups": ["automation"]},
            {"userid": "packer@pve", "comment": "Packer", "password": "packer-pass-1"}
        ],
        "roles": [
            {"roleid": "TerraformProv", "privs": ["VM.Allocate", "VM.Audit", "VM.Config.Disk", "Datastore.AllocateSpace"]},
            {"roleid": "PackerBuild", "privs": ["VM.Allocate", "VM.Config.CDROM", "Datastore.AllocateTemplate"]}
        ],
        "acl": [
            {"path": "/", "roles": ["TerraformProv"], "users": ["terraform@pve"]},
            {"path": "/storage", "roles": ["TerraformProv"], "groups": ["automation"], "propagate": false},
            {"path": "/vms", "roles": ["PackerBuild"], "users": ["packer@pve"]},
            {"path": "/vms", "roles": ["PackerBuild"], "tokens": ["packer@pve!build"]}
        ],
        "tokens": [
            {"userid": "terraform@pve", "tokenid": "tf", "privsep": false},
            {"tokenid": "packer@pve!build", "comment": "CI builds"}
        ]
    })
}

fn lines(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn in_check_mode(mut args: Value) -> Value {
    args["_ansible_check_mode"] = json!(true);
    args["_ansible_diff"] = json!(true);
    args
}

/// A change made by hand (as root, through the API), which must succeed.
fn by_hand(sim: &Sim, method: &str, path: &str, params: &[(&str, &str)]) {
    let r = sim.root_write(method, path, params);
    assert_eq!(r.status, 200, "{method} {path}: {}", r.reason);
}

fn bootstrap(version: &str) {
    let sim = Sim::start(version);
    // Check mode first: the drift is everything, and nothing is written
    // (the references between items need no assumption).
    sim.clear_requests();
    let predicted = ok(&sim, in_check_mode(runbooks()));
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert_eq!(predicted["changed"], true);
    assert!(predicted.get("warnings").is_none(), "{predicted}");
    assert_eq!(
        lines(&predicted["changes"]),
        [
            "group 'automation' would be created",
            "user 'terraform@pve' would be created",
            "user 'packer@pve' would be created with a password",
            "role 'TerraformProv' would be created with Datastore.AllocateSpace, VM.Allocate, VM.Audit, VM.Config.Disk",
            "role 'PackerBuild' would be created with Datastore.AllocateTemplate, VM.Allocate, VM.Config.CDROM",
            "token 'terraform@pve!tf' would be created (the real run returns its secret, once)",
            "token 'packer@pve!build' would be created (the real run returns its secret, once)",
            "would add 4, change 0 and remove 0 ACL entries",
        ]
    );
    assert!(sim.state().user("terraform@pve").is_none());
    // A new user's tokens are shown as tokens, not as an empty list of the
    // user's (which the same run fills).
    let after = diff_view(&predicted, "after");
    assert!(
        after["users"]["terraform@pve"].get("tokens").is_none(),
        "{after}"
    );
    assert!(after["tokens"].get("terraform@pve!tf").is_some(), "{after}");

    // The real run, in the safe order: what others reference first.
    sim.clear_requests();
    let mut real = runbooks();
    real["_ansible_diff"] = json!(true);
    let done = ok(&sim, real);
    assert_eq!(done["changed"], true);
    assert_eq!(diff_view(&done, "after"), diff_view(&predicted, "after"));
    let writes = sim.writes();
    let at = |call: &str| writes.iter().position(|w| w == call).unwrap();
    assert!(at("POST /access/groups") < at("POST /access/users"));
    assert!(at("POST /access/users/terraform@pve/token/tf") < at("PUT /access/acl"));
    let state = sim.state();
    assert_eq!(
        state.user("terraform@pve").unwrap()["groups"],
        json!(["automation"])
    );
    assert_eq!(
        state.group("automation").unwrap()["members"],
        json!(["terraform@pve"])
    );
    assert_eq!(
        state.role("PackerBuild").unwrap()["privs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(state.token("terraform@pve!tf").unwrap()["privsep"], false);
    assert_eq!(state.token("packer@pve!build").unwrap()["privsep"], true);
    assert_eq!(state.acl().len(), 4);
    assert!(state.acl().contains(&json!({"path": "/storage", "type": "group", "ugid": "automation", "roleid": "TerraformProv", "propagate": false})));
    assert!(sim.logs_in("packer@pve", "packer-pass-1"));
    // Each new token's secret, once, and it works.
    for full in ["terraform@pve!tf", "packer@pve!build"] {
        let api_token = done["secrets"][full]["api_token"].as_str().unwrap();
        assert_eq!(done["secrets"][full]["secret"].as_str().unwrap().len(), 36);
        assert!(sim.token_authenticates(api_token), "{full}");
    }
    // The password never shows; each secret only where it is handed over.
    let text = done.to_string();
    assert!(!text.contains("packer-pass-1"));
    for full in ["terraform@pve!tf", "packer@pve!build"] {
        let secret = done["secrets"][full]["secret"].as_str().unwrap();
        assert_eq!(
            text.matches(secret).count(),
            2,
            "{full}: secret and api_token only"
        );
    }
    // Without no_log, a warning for each secret.
    assert_eq!(done["warnings"].as_array().unwrap().len(), 2);

    // A rerun: one GET per kind, no write, no secret.
    sim.clear_requests();
    let again = ok(&sim, runbooks());
    assert_eq!(again["changed"], false);
    assert_eq!(
        msg(&again),
        "the access configuration matches the declaration"
    );
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users",
            "GET /access/groups",
            "GET /access/roles",
            "GET /access/acl"
        ]
    );
    assert!(again.get("secrets").is_none());
}

/// Changes made by hand through the API are the drift check mode reports,
/// and the run takes them back.
fn drift(version: &str) {
    let sim = Sim::start(version);
    ok(&sim, runbooks());
    let root = |method: &str, path: &str, body: &[(&str, &str)]| by_hand(&sim, method, path, body);
    root(
        "PUT",
        "/access/users/terraform@pve",
        &[("comment", "changed by hand")],
    );
    root(
        "PUT",
        "/access/roles/PackerBuild",
        &[("privs", "VM.Allocate,Sys.Console")],
    );
    root(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms"),
            ("roles", "PackerBuild"),
            ("users", "packer@pve"),
            ("delete", "1"),
        ],
    );
    let predicted = ok(&sim, in_check_mode(runbooks()));
    assert_eq!(
        lines(&predicted["changes"]),
        [
            "user 'terraform@pve' would be updated: comment",
            "role 'PackerBuild' would be updated: added Datastore.AllocateTemplate, VM.Config.CDROM; removed Sys.Console",
            "would add 1, change 0 and remove 0 ACL entries",
        ]
    );
    assert_eq!(
        diff_view(&predicted, "before")["users"]["terraform@pve"]["comment"],
        "changed by hand"
    );
    let mut real = runbooks();
    real["_ansible_diff"] = json!(true);
    let done = ok(&sim, real);
    assert_eq!(
        (&done["changed"], &done["diff"]),
        (&predicted["changed"], &predicted["diff"])
    );
    assert_eq!(
        sim.state().user("terraform@pve").unwrap()["comment"],
        "Terraform"
    );
    assert_eq!(
        sim.state().role("PackerBuild").unwrap()["privs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(ok(&sim, runbooks())["changed"], false);
}

/// A purge removes only what its scope owns and the task does not declare.
fn scoped_purge(version: &str) {
    let sim = Sim::start(version);
    ok(&sim, runbooks());
    let root = |method: &str, path: &str, body: &[(&str, &str)]| by_hand(&sim, method, path, body);
    // Added by hand: a token of a declared user, a user of pve and one of
    // pam, an entry under /vms and one on /.
    root("POST", "/access/users/terraform@pve/token/stray", &[]);
    root("POST", "/access/users", &[("userid", "olduser@pve")]);
    root("POST", "/access/users", &[("userid", "admin@pam")]);
    root(
        "PUT",
        "/access/acl",
        &[
            ("path", "/vms/100"),
            ("roles", "PVEVMUser"),
            ("users", "olduser@pve"),
        ],
    );
    root(
        "PUT",
        "/access/acl",
        &[
            ("path", "/"),
            ("roles", "PVEAuditor"),
            ("users", "admin@pam"),
        ],
    );

    let mut args = runbooks();
    args["purge"] =
        json!({"tokens": true, "users": {"realms": ["pve"]}, "acl": {"paths": ["/vms"]}});
    let predicted = ok(&sim, in_check_mode(args.clone()));
    assert_eq!(
        lines(&predicted["changes"]),
        [
            "user 'olduser@pve' would be deleted",
            "token 'terraform@pve!stray' would be deleted",
            "would add 0, change 0 and remove 1 ACL entries",
        ]
    );
    sim.clear_requests();
    let done = ok(&sim, args.clone());
    assert_eq!(
        lines(&done["changes"]),
        [
            "user 'olduser@pve' deleted",
            "token 'terraform@pve!stray' deleted",
            "added 0, changed 0 and removed 1 ACL entries",
        ]
    );
    // Removals come last, tokens before users.
    let writes = sim.writes();
    assert_eq!(
        writes,
        [
            "PUT /access/acl",
            "DELETE /access/users/terraform@pve/token/stray",
            "DELETE /access/users/olduser@pve"
        ]
    );
    let state = sim.state();
    assert!(state.user("olduser@pve").is_none());
    assert!(state.token("terraform@pve!stray").is_none());
    assert!(state.token("terraform@pve!tf").is_some());
    // Outside the scopes: the pam user and its entry on / stay.
    assert!(state.user("admin@pam").is_some());
    assert!(state.acl().iter().any(|e| e["ugid"] == "admin@pam"));
    assert_eq!(ok(&sim, args)["changed"], false);
}

/// What cannot be done is refused before the first write: references to
/// what neither exists nor is declared, unknown privileges, contradictions.
fn refusals(version: &str) {
    let sim = Sim::start(version);
    let cases = [
        (
            json!({"tokens": [{"tokenid": "ghost@pve!tk"}], "acl": [{"path": "/", "roles": ["Nope"], "groups": ["nogroup"]}]}),
            "the declaration references what neither exists nor is declared present in it (or is declared absent): token 'ghost@pve!tk': user 'ghost@pve'; ACL entry on '/': role 'Nope'; ACL entry on '/': group 'nogroup'",
        ),
        (
            json!({"roles": [{"roleid": "R", "privs": ["VM.Audit", "VM.Fly"]}]}),
            "VM.Fly",
        ),
        (
            json!({"users": [{"userid": "a@pve"}, {"userid": "a@pve", "comment": "x"}]}),
            "users: 'a@pve' is declared twice (users[0] and users[1]): keep one",
        ),
        (
            json!({"users": [{"userid": "a@pve", "groups": []}], "groups": [{"groupid": "g", "members": ["a@pve"]}]}),
            "group 'g' has 'a@pve' among its members, but user 'a@pve' does not have it among its groups",
        ),
        (
            json!({"users": [{"userid": "bad"}]}),
            "users[0]: userid",
        ),
        (
            // A refused item's password is never echoed.
            json!({"users": [{"userid": "p@pve", "password": "hunter2-secret", "email": "hunter2-secret"}]}),
            "users[0]: email '********' does not look like a valid email address",
        ),
        (
            json!({"purge": {"acl": {}}}),
            "purge.acl: give at least one of paths",
        ),
        (
            json!({"users": [{"userid": "root@pam", "state": "absent"}]}),
            "root@pam",
        ),
    ];
    for (args, want) in cases {
        sim.clear_requests();
        let r = fail(&sim, args.clone());
        assert!(msg(&r).contains(want), "{args}: {}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new(), "{args}");
        // Check mode refuses the same, also without a write.
        let r = fail(&sim, in_check_mode(args.clone()));
        assert!(msg(&r).contains(want), "{args} in check mode: {}", msg(&r));
    }
}

/// The login's own access is never purged: the token the task connects
/// with is not deleted by a purge of its user's tokens.
fn no_self_lockout(version: &str) {
    let seed = "user:root@pam:1:0:::root@localhost:::\nuser:ci@pve:1:0::::::\ntoken:ci@pve!run:0:0::\n\nacl:1:/:ci@pve:Administrator:\n";
    let sim = Sim::builder(version)
        .user_cfg(seed)
        .token_cfg(&format!("ci@pve!run {SECRET}\n"))
        .start();
    let args = with_api_token(
        json!({"users": [{"userid": "ci@pve"}], "purge": {"tokens": true}}),
        &format!("ci@pve!run={SECRET}"),
    );
    let r = fail(&sim, args.clone());
    assert!(msg(&r).contains("ci@pve!run"), "{}", msg(&r));
    assert!(sim.state().token("ci@pve!run").is_some());
    // Not even with allow_self_lockout: the module never deletes the token it runs with.
    let mut allowed = args;
    allowed["allow_self_lockout"] = json!(true);
    let r = fail(&sim, allowed);
    assert!(
        msg(&r).contains("not even with allow_self_lockout"),
        "{}",
        msg(&r)
    );
    assert!(sim.state().token("ci@pve!run").is_some());

    // Regenerating the token it runs with: the self-lockout rule speaks
    // first; past it, before 9.1, the re-creation is refused all the same.
    let regenerate = with_api_token(
        json!({"tokens": [{"tokenid": "ci@pve!run", "regenerate": true}]}),
        &format!("ci@pve!run={SECRET}"),
    );
    let r = fail(&sim, regenerate.clone());
    assert!(msg(&r).contains("allow_self_lockout: true"), "{}", msg(&r));
    if version == "8.4" {
        let mut allowed = regenerate;
        allowed["allow_self_lockout"] = json!(true);
        sim.clear_requests();
        let r = fail(&sim, allowed);
        assert!(msg(&r).contains("with itself on PVE 8.4"), "{}", msg(&r));
        assert_eq!(sim.writes(), Vec::<String>::new());
    }
}

/// A write that fails half way says what was done and what was not; the
/// rerun finishes the job.
fn half_way_and_rerun(version: &str) {
    let sim = Sim::builder(version)
        .fault(json!({"method": "PUT", "path": "/access/acl", "status": 500, "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 10}))
        .start();
    let r = module().run(&sim, runbooks());
    assert_eq!(r.code, 1, "{}", r.stdout);
    let text = msg(&r.json);
    assert_eq!(r.json["changed"], true);
    assert!(text.contains("got lock request timeout"), "{text}");
    assert!(
        text.contains("Done before it: POST /access/groups; POST /access/users"),
        "{text}"
    );
    assert!(text.contains("Not done: grant"), "{text}");
    assert!(
        text.ends_with("run the task again when the cause is fixed"),
        "{text}"
    );
    // The secrets of the tokens created before the failure are handed over.
    assert!(
        r.json["secrets"]["terraform@pve!tf"]["api_token"].is_string(),
        "{}",
        r.stdout
    );
    assert!(sim.state().acl().is_empty());
    assert!(sim.state().token("terraform@pve!tf").is_some());

    let sim2 = sim; // the fault is used up after 10 tries of each write
    let mut left = 10usize;
    let mut done = Value::Null;
    while left > 0 {
        let r = module().run(&sim2, runbooks());
        if r.code == 0 {
            done = r.json;
            break;
        }
        left -= 1;
    }
    assert_eq!(done["changed"], true, "{done}");
    assert_eq!(
        lines(&done["changes"]),
        ["added 4, changed 0 and removed 0 ACL entries"]
    );
    assert_eq!(sim2.state().acl().len(), 4);
    assert_eq!(ok(&sim2, runbooks())["changed"], false);
}

/// Pools on pve-sim (pve-oracle has no pool API: `inventory` keeps this
/// on pve-sim): a pool `db` holding guest 101, an empty `stale`, guests
/// 100, 101 and 200 and storages local and local-lvm.
fn with_pools(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg("user:root@pam:1:0:::root@localhost:::\n\npool:db::101::\npool:stale::::\n")
        .inventory("100,101,200:lxc", "local,local-lvm")
        .start()
}

/// Pools declared with the ACL entries on them: created before the
/// entries, predicted by check mode, read back, a second run changes
/// nothing; a purge removes only the empty undeclared pool.
fn pools(version: &str) {
    let sim = with_pools(version);
    let args = json!({
        "groups": [{"groupid": "webteam"}],
        "pools": [
            {"poolid": "web/app", "comment": "App servers", "vms": [200]},
            {"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local"]}
        ],
        "acl": [{"path": "/pool/web", "roles": ["PVEVMUser"], "groups": ["webteam"]}]
    });
    let predicted = ok(&sim, in_check_mode(args.clone()));
    assert_eq!(sim.writes(), Vec::<String>::new());
    assert!(predicted.get("warnings").is_none(), "{predicted}");
    assert_eq!(
        lines(&predicted["changes"]),
        [
            "group 'webteam' would be created",
            "pool 'web' would be created with guest 100 and storage local",
            "pool 'web/app' would be created with guest 200",
            "would add 1, change 0 and remove 0 ACL entries",
        ]
    );
    assert!(sim.state().pool("web").is_none());

    sim.clear_requests();
    let mut real = args.clone();
    real["_ansible_diff"] = json!(true);
    let done = ok(&sim, real);
    assert_eq!(done["diff"], predicted["diff"]);
    assert_eq!(
        diff_view(&done, "after")["pools"]["web"],
        json!({"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local"]})
    );
    let writes = sim.writes();
    assert_eq!(
        writes,
        [
            "POST /access/groups",
            "POST /pools",
            "PUT /pools",
            "POST /pools",
            "PUT /pools",
            "PUT /access/acl"
        ]
    );
    let state = sim.state();
    assert_eq!(
        state.pool("web").unwrap(),
        json!({"poolid": "web", "comment": "Web", "vms": [100], "storage": ["local"]})
    );
    assert_eq!(
        state.pool("web/app").unwrap(),
        json!({"poolid": "web/app", "comment": "App servers", "vms": [200], "storage": []})
    );
    assert!(state.acl().contains(&json!({"path": "/pool/web", "type": "group", "ugid": "webteam", "roleid": "PVEVMUser", "propagate": true})));

    // The rerun: the four lists, the pool index, each declared pool.
    sim.clear_requests();
    let again = ok(&sim, args.clone());
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(
        sim.api_calls(),
        [
            "GET /access/users",
            "GET /access/groups",
            "GET /access/roles",
            "GET /access/acl",
            "GET /pools",
            "GET /pools",
            "GET /pools"
        ]
    );

    // purge: stale (empty, undeclared) goes; db holds guest 101 and stays.
    let mut purge = args;
    purge["purge"] = json!({"pools": true});
    let predicted = ok(&sim, in_check_mode(purge.clone()));
    assert_eq!(
        lines(&predicted["changes"]),
        ["pool 'stale' would be deleted with its ACL entries, as PVE does"]
    );
    let done = ok(&sim, purge.clone());
    assert_eq!(
        lines(&done["changes"]),
        ["pool 'stale' deleted with its ACL entries, as PVE does"]
    );
    let warnings = done["warnings"].to_string();
    assert!(
        warnings.contains("pool 'db' is not declared but holds guest 101; it stays"),
        "{warnings}"
    );
    let state = sim.state();
    assert!(state.pool("stale").is_none());
    assert_eq!(state.pool("db").unwrap()["vms"], json!([101]));
    assert!(state.pool("web").is_some());
    assert_eq!(ok(&sim, purge)["changed"], false);
}

/// An entry on a pool that neither exists nor is declared: refused before
/// any write; check mode assumes an earlier task creates it, and says so.
/// A declaration without pools makes no pool request.
fn pool_references(version: &str) {
    let sim = with_pools(version);
    let args = json!({
        "users": [{"userid": "ops@pve"}],
        "acl": [{"path": "/pool/ghost", "roles": ["PVEAuditor"], "users": ["ops@pve"]}]
    });
    sim.clear_requests();
    let r = fail(&sim, args.clone());
    assert!(
        msg(&r).starts_with("ACL entries on /pool/<id> name pool 'ghost' that neither exists nor is declared present"),
        "{}",
        msg(&r)
    );
    assert_eq!(sim.writes(), Vec::<String>::new());
    let predicted = ok(&sim, in_check_mode(args));
    assert_eq!(
        predicted["warnings"],
        json!(["pool 'ghost' does not exist yet; assuming an earlier task creates it"])
    );
    assert_eq!(predicted["changed"], true);

    // A pool to delete that holds guests: pve_pool's refusal, no write.
    sim.clear_requests();
    let r = fail(
        &sim,
        json!({"pools": [{"poolid": "db", "state": "absent"}]}),
    );
    assert!(
        msg(&r).contains("pool 'db' not deleted: it holds guest 101"),
        "{}",
        msg(&r)
    );
    assert_eq!(sim.writes(), Vec::<String>::new());

    sim.clear_requests();
    ok(&sim, json!({"users": [{"userid": "ops@pve"}]}));
    assert!(
        !sim.api_calls().iter().any(|c| c.contains("/pools")),
        "{:?}",
        sim.api_calls()
    );
}

on_each_version!(
    pools,
    pool_references,
    bootstrap,
    drift,
    scoped_purge,
    refusals,
    no_self_lockout,
    half_way_and_rerun
);
