//! Conformance with PVE's own permission tests (pve-access-control
//! `src/test/perm-test1..8`, copied to `fixtures/perm-vectors.json`): each
//! test's user.cfg is loaded through the store and every `check_permission`
//! vector is asked of `GET /access/permissions?userid=..&path=..` as root.

mod api_common;

use api_common::*;
use serde_json::Value;

#[test]
fn permissions_answer_pve_perm_tests() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/perm-vectors.json"
    ))
    .expect("fixtures/perm-vectors.json");
    let tests: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for t in &tests {
        let name = t["test"].as_str().unwrap();
        let s = sim_cfg("9.1", Some(t["user_cfg"].as_str().unwrap()), None);
        for c in t["checks"].as_array().unwrap() {
            if c["kind"] != "check_permission" {
                continue;
            }
            let (who, path) = (c["who"].as_str().unwrap(), c["path"].as_str().unwrap());
            let d = s.root_ok(
                "GET",
                "/access/permissions",
                &[("userid", who), ("path", path)],
            );
            let privs = d[path].as_object().unwrap_or_else(|| panic!("{name}: {d}"));
            let mut got: Vec<&str> = privs.keys().map(String::as_str).collect();
            got.sort_unstable();
            assert_eq!(
                got.join(","),
                c["expected"].as_str().unwrap(),
                "{name}: {who} on {path}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 33, "the check_permission vectors of perm-test1..8");
}
