//! `/nodes/{node}/tasks`: a task's status and log, and the task list, as
//! pve-manager's `API2/Tasks.pm` answers them (read: the oracle does not
//! serve these), for the task's owner and for others.

mod api_common;

use api_common::*;
use serde_json::json;

#[test]
fn status_follows_a_task_to_its_end() {
    let s = sim("9.1");
    let node = s.api.tasks().node().to_string();
    let task = s.api.tasks().start("auth-realm-sync", "dir", "root@pam");
    let upid = task.upid.to_string();
    let path = format!("/nodes/{node}/tasks/{upid}/status");
    let running = s.root_ok("GET", &path, &[]);
    assert_eq!(
        running,
        json!({
            "upid": upid, "node": node, "pid": task.upid.pid, "pstart": task.upid.pstart,
            "starttime": task.upid.starttime, "type": "auth-realm-sync", "id": "dir",
            "user": "root@pam", "status": "running"
        })
    );
    task.finish(Err("ldap bind failed: Invalid credentials\n".into()));
    let stopped = s.root_ok("GET", &path, &[]);
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(
        stopped["exitstatus"],
        "ldap bind failed: Invalid credentials"
    );
    // `localhost` is this node too, as on PVE.
    let local = s.root_ok("GET", &format!("/nodes/localhost/tasks/{upid}/status"), &[]);
    assert_eq!(local["exitstatus"], stopped["exitstatus"]);
    assert_eq!(
        s.root_ok("GET", &format!("/nodes/any-node/tasks/{upid}"), &[]),
        json!([{"name": "log"}, {"name": "status"}])
    );

    let root = s.ticket_for("root@pam");
    // The text of a 400's error about `key`.
    let refused = |path: &str, key: &str| {
        let r = s.call("GET", path, &root, &[]);
        r.status(400, "Parameter verification failed.");
        r.error(key).to_string()
    };
    assert_eq!(
        refused(&format!("/nodes/{node}/tasks/nonsense/status"), "upid"),
        "unable to parse worker upid"
    );
    let unknown = upid.replace(":dir:", ":other:");
    assert_eq!(
        refused(&format!("/nodes/{node}/tasks/{unknown}/status"), "upid"),
        "no such task"
    );
    // The log of a task that never was is one line saying so.
    let r = s.call(
        "GET",
        &format!("/nodes/{node}/tasks/{unknown}/log"),
        &root,
        &[],
    );
    assert_eq!(
        r.ok(),
        &json!([{"n": 1, "t": "unable to open file - No such file or directory"}])
    );
    assert_eq!(r.body["total"], 1);
    s.call("GET", &format!("/nodes/other-node/tasks/{upid}/status"), &root, &[])
        .status(
            500,
            "hostname lookup 'other-node' failed - failed to get address info for: other-node: Name or service not known",
        );
    assert_eq!(
        refused(&format!("/nodes/bad_node/tasks/{upid}/status"), "node"),
        "invalid format - value does not look like a valid node name\n"
    );
}

#[test]
fn the_log_is_read_in_pages() {
    let s = sim("9.1");
    let node = s.api.tasks().node().to_string();
    let task = s.api.tasks().start("auth-realm-sync", "dir", "root@pam");
    let path = format!("/nodes/{node}/tasks/{}/log", task.upid);
    let root = s.ticket_for("root@pam");
    // A task that logged nothing yet: one made-up line.
    let r = s.call("GET", &path, &root, &[]);
    assert_eq!(r.ok(), &json!([{"n": 1, "t": "no content"}]));
    assert_eq!(r.body["total"], 1);
    for line in ["one", "two", "three"] {
        task.log(line);
    }
    task.finish(Ok(()));
    let page = |params: &[(&str, &str)]| {
        let r = s.call("GET", &path, &root, params);
        let lines: Vec<(u64, String)> = r
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["n"].as_u64().unwrap(),
                    l["t"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(r.body["total"], 4, "total counts every line");
        lines
    };
    let all = page(&[]);
    assert_eq!(all.len(), 4);
    assert_eq!(all[3], (4, "TASK OK".to_string()));
    assert_eq!(
        page(&[("start", "1"), ("limit", "2")]),
        [(2, "two".to_string()), (3, "three".to_string())]
    );
    assert_eq!(
        page(&[("start", "2"), ("limit", "0")]).len(),
        2,
        "limit 0: to the end"
    );
    assert!(page(&[("start", "9")]).is_empty());
}

#[test]
fn others_see_a_task_with_sys_audit_on_the_node() {
    let s = sim("9.1");
    let node = s.api.tasks().node().to_string();
    s.root_ok("POST", "/access/users", &[("userid", "alice@pve")]);
    let alice = s.ticket_for("alice@pve");
    let token = s.token("alice@pve", "ci", &[("privsep", "0")]);
    let tasks = s.api.tasks();
    let roots = tasks.start("auth-realm-sync", "dir", "root@pam");
    let hers = tasks.start("auth-realm-sync", "dir", "alice@pve");
    let tokens = tasks.start("auth-realm-sync-test", "dir", "alice@pve!ci");
    for t in [&roots, &hers, &tokens] {
        t.finish(Ok(()));
    }
    let status = |auth: &Auth, upid: &str| {
        s.call(
            "GET",
            &format!("/nodes/{node}/tasks/{upid}/status"),
            auth,
            &[],
        )
    };
    assert_eq!(
        status(&alice, &hers.upid.to_string()).ok()["user"],
        "alice@pve"
    );
    // A token's task names the owner and the token; its owner sees it.
    let r = status(&alice, &tokens.upid.to_string());
    assert_eq!(
        (&r.ok()["user"], &r.ok()["tokenid"]),
        (&json!("alice@pve"), &json!("ci"))
    );
    let denied = format!("Permission check failed (/nodes/{node}, Sys.Audit)");
    status(&alice, &roots.upid.to_string()).status(403, &denied);
    s.call(
        "GET",
        &format!("/nodes/{node}/tasks/{}/log", roots.upid),
        &alice,
        &[],
    )
    .status(403, &denied);
    // A token sees its own tasks only, not its owner's.
    status(&token, &tokens.upid.to_string()).ok();
    status(&token, &hers.upid.to_string()).status(403, &denied);

    let listed = |auth: &Auth, params: &[(&str, &str)]| {
        let r = s.call("GET", &format!("/nodes/{node}/tasks"), auth, params);
        let upids: Vec<String> = r
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["upid"].as_str().unwrap().to_string())
            .collect();
        (upids, r.body["total"].clone())
    };
    let (upids, total) = listed(&alice, &[]);
    assert_eq!(
        upids,
        [tokens.upid.to_string(), hers.upid.to_string()],
        "her own, newest first"
    );
    assert_eq!(total, 2);
    s.root_ok(
        "PUT",
        "/access/acl",
        &[
            ("path", "/nodes"),
            ("users", "alice@pve"),
            ("roles", "PVEAuditor"),
        ],
    );
    status(&alice, &roots.upid.to_string()).ok();
    assert_eq!(listed(&alice, &[]).1, 3);
    let (upids, total) = listed(&alice, &[("typefilter", "auth-realm-sync"), ("limit", "1")]);
    assert_eq!(upids.len(), 1);
    assert_eq!(total, 2, "total counts past the limit");
    assert_eq!(
        listed(&alice, &[("userfilter", "ROOT")]).0,
        [roots.upid.to_string()]
    );
    assert_eq!(listed(&alice, &[("errors", "1")]).1, 0);

    let running = tasks.start("auth-realm-sync", "other", "root@pam");
    assert_eq!(listed(&alice, &[]).1, 3, "the archive lists finished tasks");
    let root = s.ticket_for("root@pam");
    let r = s.call(
        "GET",
        &format!("/nodes/{node}/tasks"),
        &root,
        &[("source", "active")],
    );
    assert_eq!(r.ok()[0]["upid"], running.upid.to_string());
    assert_eq!(r.ok()[0]["status"], "RUNNING");
    assert_eq!(r.body["total"], 1);
}
