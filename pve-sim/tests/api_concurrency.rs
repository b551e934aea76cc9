//! Many clients writing at once: every acknowledged change is kept, in
//! memory and in the state directory, because writes are serialised like
//! PVE's cluster lock (appends to the same group and ACL path included).

mod api_common;

use api_common::*;
use pve_sim::model::PveVersion;
use pve_sim::store::{Store, StoreOptions};

const WRITERS: usize = 8;
const USERS_EACH: usize = 15;

#[test]
fn parallel_writers_lose_nothing() {
    let s = sim("9.1");
    s.root_ok("POST", "/access/groups", &[("groupid", "all")]);
    let root = s.root();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (s, root) = (&s, root.clone());
            scope.spawn(move || {
                for i in 0..USERS_EACH {
                    let userid = format!("w{w}u{i}@pve");
                    s.call("POST", "/access/users", &root, &[("userid", &userid)])
                        .ok();
                    // Appends by different writers to the same group.
                    let path = format!("/access/users/{userid}");
                    s.call("PUT", &path, &root, &[("groups", "all"), ("append", "1")])
                        .ok();
                    // Entries by different writers on the same ACL path.
                    s.call(
                        "PUT",
                        "/access/acl",
                        &root,
                        &[
                            ("path", "/vms"),
                            ("roles", "PVEAuditor"),
                            ("users", &userid),
                        ],
                    )
                    .ok();
                }
            });
        }
    });

    let total = WRITERS * USERS_EACH;
    let group = s.root_ok("GET", "/access/groups/all", &[]);
    assert_eq!(group["members"].as_array().map(Vec::len), Some(total));
    let acl = s.root_ok("GET", "/access/acl", &[]);
    let on_vms = acl
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["path"] == "/vms")
        .count();
    assert_eq!(on_vms, total);

    // What was saved is all of it: a new simulator on the state directory
    // sees every user, membership and entry.
    let reopened = Store::open(StoreOptions {
        version: PveVersion::parse("9.1").unwrap(),
        user_cfg: None,
        token_cfg: None,
        state_dir: Some(s.dir.join("state")),
    })
    .unwrap();
    reopened.read(|state| {
        let users = state
            .cfg
            .users
            .keys()
            .filter(|u| u.starts_with('w'))
            .count();
        assert_eq!(users, total);
        assert_eq!(state.cfg.groups["all"].members.len(), total);
        assert_eq!(state.cfg.acl["/vms"].users.len(), total);
    });
}
