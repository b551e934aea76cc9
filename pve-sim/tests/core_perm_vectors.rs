//! Conformance: PVE's own permission tests (pve-access-control
//! `src/test/perm-test1..8`), each a user.cfg and the roles and privileges
//! PVE computes for users and tokens on paths. Every answer must match.

use pve_sim::model::PveVersion;
use pve_sim::{perms, usercfg};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    serde_json::from_str(include_str!("fixtures/perm-vectors.json")).unwrap()
}

fn joined<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let mut v: Vec<&str> = keys.map(String::as_str).collect();
    v.sort();
    v.join(",")
}

#[test]
fn every_perm_test_vector_matches() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for test in vectors() {
        let name = test["test"].as_str().unwrap();
        let (cfg, _) =
            usercfg::parse_user_cfg(test["user_cfg"].as_str().unwrap(), PveVersion::V9_1);
        for check in test["checks"].as_array().unwrap() {
            let who = check["who"].as_str().unwrap();
            let path = check["path"].as_str().unwrap();
            let expected = check["expected"].as_str().unwrap();
            let got = match check["kind"].as_str().unwrap() {
                "check_roles" => joined(perms::roles(&cfg, who, path).keys()),
                "check_permission" => joined(perms::permissions(&cfg, who, path).keys()),
                other => panic!("unknown check kind {other}"),
            };
            checked += 1;
            if got != expected {
                failures.push(format!(
                    "{name} {} {who} {path}: expected '{expected}', got '{got}'",
                    check["kind"]
                ));
            }
        }
    }
    assert_eq!(checked, 100);
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
