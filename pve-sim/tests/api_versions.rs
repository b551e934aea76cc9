//! Differences between the simulated PVE versions (libpve-access-control 8.x vs 9.x): token update
//! parameters, privileges (VM.Monitor vs VM.GuestAgent.*), built-in roles.

mod api_common;

use api_common::*;
use serde_json::json;

fn with_token(version: &str) -> Sim {
    let s = sim(version);
    s.root_ok("POST", "/access/users", &[("userid", "joe@pve")]);
    s.root_ok(
        "POST",
        "/access/users/joe@pve/token/ci",
        &[("comment", "c1")],
    );
    s
}

#[test]
fn token_regenerate_only_on_9_1() {
    for (v, ok) in [("8.4", false), ("9.0", false), ("9.1", true)] {
        let s = with_token(v);
        let root = s.root();
        let r = s.call(
            "PUT",
            "/access/users/joe@pve/token/ci",
            &root,
            &[("regenerate", "1")],
        );
        if ok {
            assert!(r.ok()["value"].is_string(), "{v}");
        } else {
            r.status(400, "Parameter verification failed.");
            assert_eq!(
                r.error("regenerate"),
                "property is not defined in schema and the schema does not allow additional properties",
                "{v}"
            );
        }
    }
}

#[test]
fn token_delete_and_comment_clearing_not_on_8_4() {
    let s = with_token("8.4");
    let root = s.root();
    let r = s.call(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &root,
        &[("delete", "comment")],
    );
    assert!(r.error("delete").starts_with("property is not defined"));
    let d = s.root_ok("PUT", "/access/users/joe@pve/token/ci", &[("comment", "")]);
    assert_eq!(
        d["comment"], "c1",
        "an empty comment cannot clear it on PVE 8"
    );
    let s = with_token("9.0");
    let d = s.root_ok(
        "PUT",
        "/access/users/joe@pve/token/ci",
        &[("delete", "comment")],
    );
    assert!(d.get("comment").is_none());
}

#[test]
fn privileges_per_version() {
    let s8 = sim("8.4");
    let s9 = sim("9.1");
    s8.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Mon"), ("privs", "VM.Monitor")],
    );
    let root9 = s9.root();
    let r = s9.call(
        "POST",
        "/access/roles",
        &root9,
        &[("roleid", "Mon"), ("privs", "VM.Monitor")],
    );
    assert_eq!(
        r.error("privs"),
        "invalid format - invalid privilege 'VM.Monitor'\n"
    );
    s9.root_ok(
        "POST",
        "/access/roles",
        &[("roleid", "Ga"), ("privs", "VM.GuestAgent.Audit")],
    );
    let root8 = s8.root();
    let r = s8.call(
        "POST",
        "/access/roles",
        &root8,
        &[("roleid", "Ga"), ("privs", "VM.GuestAgent.Audit")],
    );
    assert_eq!(
        r.error("privs"),
        "invalid format - invalid privilege 'VM.GuestAgent.Audit'\n"
    );

    let count = |s: &Sim, role: &str| {
        s.root_ok("GET", &format!("/access/roles/{role}"), &[])
            .as_object()
            .unwrap()
            .len()
    };
    assert_eq!(
        (count(&s8, "Administrator"), count(&s9, "Administrator")),
        (42, 47)
    );
    assert_eq!(
        (count(&s8, "PVEVMAdmin"), count(&s9, "PVEVMAdmin")),
        (18, 23)
    );
    assert_eq!(
        s8.root_ok("GET", "/access/roles/PVEVMAdmin", &[])["VM.Monitor"],
        json!(1)
    );
    let root_perms = s8.root_ok("GET", "/access/permissions", &[("path", "/vms")]);
    assert_eq!(root_perms["/vms"]["VM.Monitor"], 1);
}

#[test]
fn password_length_from_the_schema() {
    // Both schemas (AC 8.2.x and 9.x) require 8 characters.
    for v in ["8.4", "9.1"] {
        let s = sim(v);
        let root = s.root();
        let r = s.call(
            "POST",
            "/access/users",
            &root,
            &[("userid", "a@pve"), ("password", "1234567")],
        );
        assert_eq!(
            r.error("password"),
            "value must be at least 8 characters long",
            "{v}"
        );
        let long = "x".repeat(65);
        let r = s.call(
            "POST",
            "/access/users",
            &root,
            &[("userid", "a@pve"), ("password", &long)],
        );
        assert_eq!(
            r.error("password"),
            "value may only be 64 characters long",
            "{v}"
        );
    }
}
