//! pve_access_info against pve-sim or the real PVE code (PVE 9.1 and 8.4):
//! the module binary run the way Ansible runs it, its answer compared with
//! the server's own user.cfg and request log.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

mod common;

use common::ALL_GETS;
use pve_test_support::{module_under_test, msg, require_oracle, with_api_token, Server, Sim};
use serde_json::{json, Value};

const SECRET: &str = "5b0c7d4e-2f1a-4c3b-9d8e-7f6a5b4c3d2e";
const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A cluster with something for every rule: an administrator's token
/// without privilege separation, tokens without expiry, expired and about
/// to expire, a disabled user that keeps a token and an ACL entry, ACL
/// entries and a group member naming what does not exist, an unused custom
/// role, an empty group; and an auditor whose token reads it all.
fn user_cfg() -> String {
    // Less than 5 whole days from any moment of the test: always "in 4 days".
    let soon = now() + 5 * DAY - 3600;
    format!(
        "\
user:root@pam:1:0:::root@localhost:::
token:root@pam!ci:0:1::
user:admin@pve:1:0:Ada:Admin:ada@example.com:::
token:admin@pve!tf:0:0:terraform:
user:auditor@pve:1:0::::::
token:auditor@pve!audit:0:1::
user:joe@pve:1:0::::::
token:joe@pve!ci:0:1::
token:joe@pve!old:1000:1::
token:joe@pve!soon:{soon}:1::
user:off@pve:0:0::::::
token:off@pve!left:0:1::

group:admins:admin@pve::
group:empty:::
group:ops:gone@pve,joe@pve::

role:Unused:VM.Audit:
role:Used:Sys.Audit,VM.Audit:

acl:1:/:auditor@pve:PVEAuditor:
acl:1:/:auditor@pve!audit:PVEAuditor:
acl:1:/:@admins:Administrator:
acl:1:/storage:off@pve:PVEAuditor:
acl:1:/vms:gone@pve:PVEVMUser:
acl:1:/vms:@nogroup:PVEVMUser:
acl:1:/vms/100:joe@pve!ci:Used:
"
    )
}

fn sim(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(&user_cfg())
        .token_cfg(&format!(
            "auditor@pve!audit {SECRET}\njoe@pve!ci {SECRET}\n"
        ))
        .start()
}

module_under_test!("pve_access_info");

/// (severity, kind, subject) of every finding, in the module's order.
fn findings(r: &Value) -> Vec<(String, String, String)> {
    r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("severity"), s("kind"), s("subject"))
        })
        .collect()
}

fn owned(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// The item of `list` whose `key` is `value`.
fn item<'a>(list: &'a Value, key: &str, value: impl PartialEq<Value>) -> &'a Value {
    list.as_array()
        .and_then(|items| items.iter().find(|x| value == x[key]))
        .unwrap_or_else(|| panic!("no item with {key} in {list}"))
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|v| v[key].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_whole_state_and_its_findings_in_one_get_per_kind() {
    for version in ["9.1", "8.4"] {
        let sim = sim(version);
        sim.clear_requests();
        let r = module().ok(&sim, json!({}));
        assert_eq!(sim.api_calls(), ALL_GETS, "{version}");
        assert_eq!(r["changed"], false);

        // What the module returns is what the server keeps.
        let state = sim.state();
        assert_eq!(ids(&r["users"], "userid"), state.users(), "{version}");
        for u in r["users"].as_array().unwrap() {
            let id = u["userid"].as_str().unwrap();
            let kept = state.user(id).unwrap();
            for key in [
                "enable",
                "expire",
                "firstname",
                "lastname",
                "email",
                "groups",
            ] {
                assert_eq!(u[key], kept[key], "{version} {id} {key}");
            }
            let tokens: Vec<String> = ids(&u["tokens"], "full_tokenid");
            for t in &tokens {
                let kept = state.token(t).unwrap();
                let got = item(&u["tokens"], "full_tokenid", t.as_str());
                assert_eq!(
                    (&got["privsep"], &got["expire"]),
                    (&kept["privsep"], &kept["expire"]),
                    "{version} {t}"
                );
            }
            assert_eq!(
                tokens.len(),
                kept["tokens"].as_array().map_or(0, Vec::len),
                "{version} {id}"
            );
        }
        let acl: BTreeSet<String> = r["acl"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        let kept: BTreeSet<String> = state.acl().iter().map(Value::to_string).collect();
        assert_eq!(acl, kept, "{version}");
        for role in ["Used", "Unused"] {
            let got = item(&r["roles"], "roleid", role);
            assert_eq!(
                got["privs"],
                state.role(role).unwrap()["privs"],
                "{version}"
            );
            assert_eq!(got["special"], false);
        }
        let admin = item(&r["roles"], "roleid", "Administrator");
        assert_eq!(admin["special"], true);
        assert_eq!(
            admin["acl"],
            json!([{"path": "/", "type": "group", "ugid": "admins", "propagate": true}])
        );
        assert_eq!(
            r["groups"][2],
            json!({"groupid": "ops", "comment": null, "members": ["gone@pve", "joe@pve"]})
        );
        assert_eq!(ids(&r["realms"], "realm"), ["pam", "pve"], "{version}");

        let joe = item(&r["users"], "userid", "joe@pve");
        let soon = &joe["tokens"][2];
        assert_eq!(soon["expired"], false);
        assert_eq!(soon["expires_in_days"], 4, "{soon}");
        assert_eq!(joe["tokens"][1]["expired"], true);
        assert_eq!(joe["tokens"][1]["expire_date"], "1970-01-01T00:16:40Z");

        // pve-sim keeps no second factors (GET /access/tfa is not
        // implemented there); the real code answers, and nobody has one.
        let mut expected = vec![
            ("high", "token_privsep_admin", "admin@pve!tf"),
            ("medium", "token_no_expiry", "admin@pve!tf"),
            ("medium", "token_no_expiry", "auditor@pve!audit"),
            ("medium", "token_no_expiry", "joe@pve!ci"),
            ("medium", "token_no_expiry", "off@pve!left"),
            ("medium", "token_no_expiry", "root@pam!ci"),
            ("medium", "token_expiring", "joe@pve!soon"),
            ("medium", "root_token", "root@pam!ci"),
        ];
        let tfa_known = sim.server == Server::PveOracle;
        if tfa_known {
            expected.extend([
                ("medium", "user_no_tfa", "admin@pve"),
                ("medium", "user_no_tfa", "auditor@pve"),
                ("medium", "user_no_tfa", "joe@pve"),
                ("medium", "user_no_tfa", "root@pam"),
            ]);
            assert!(joe["tfa"] == json!([]), "{version}: {joe}");
            assert!(r.get("warnings").is_none(), "{version}: {r}");
        } else {
            assert!(joe.get("tfa").is_none(), "{joe}");
            let warnings = r["warnings"].to_string();
            assert!(
                warnings.contains(
                    "the server did not tell the users' second factors (GET /access/tfa: 501"
                ) && warnings.contains("user_no_tfa was not checked"),
                "{warnings}"
            );
        }
        expected.extend([
            ("medium", "acl_unknown_principal", "gone@pve"),
            ("medium", "acl_unknown_principal", "nogroup"),
            ("low", "token_expired", "joe@pve!old"),
            ("low", "inactive_user_access", "off@pve"),
            ("low", "group_unknown_member", "ops"),
            ("info", "token_without_acl", "joe@pve!old"),
            ("info", "token_without_acl", "joe@pve!soon"),
            ("info", "token_without_acl", "off@pve!left"),
            ("info", "token_without_acl", "root@pam!ci"),
            ("info", "role_unused", "Unused"),
            ("info", "group_empty", "empty"),
        ]);
        assert_eq!(findings(&r), owned(&expected), "{version}");
        assert_eq!(
            r["checked"].as_array().map(Vec::len),
            Some(if tfa_known { 12 } else { 11 })
        );
        let (n, medium) = if tfa_known { (23, 13) } else { (19, 9) };
        assert_eq!(
            msg(&r),
            format!("audited 5 users (with 7 tokens), 3 groups, {} roles, 7 ACL entries, 2 realms: {n} findings (1 high, {medium} medium, 3 low, 6 info)",
                r["roles"].as_array().map_or(0, Vec::len)),
            "{version}"
        );
        let off = &item(&r["findings"], "kind", "inactive_user_access")["message"];
        assert_eq!(
            off,
            "user 'off@pve' is disabled but still holds 1 token (left) and 1 ACL entry (/storage (PVEAuditor)): enabling it again brings them back; remove them, or the user"
        );
    }
}

#[test]
fn an_auditor_token_sees_it_all_and_nothing_secret() {
    let sim = sim("9.1");
    let token = format!("auditor@pve!audit={SECRET}");
    let as_root = module().ok(&sim, json!({}));
    sim.clear_requests();
    let r = module().ok(&sim, with_api_token(json!({}), &token));
    let mut calls = ALL_GETS.to_vec();
    calls.push("GET /access/permissions");
    assert_eq!(
        sim.api_calls(),
        calls,
        "a login but root@pam: what may it see?"
    );
    assert!(
        r.get("warnings")
            .is_none_or(|w| !w.to_string().contains("does not show")),
        "{r}"
    );
    assert!(sim.requests().iter().all(|q| q["auth"] != "ticket"));
    for key in ["users", "groups", "roles", "acl", "realms", "findings"] {
        assert_eq!(r[key], as_root[key], "{key}");
    }
    assert!(!r.to_string().contains(SECRET));
    // Check mode reads the same and writes nothing.
    sim.clear_requests();
    let checked = module().ok(&sim, json!({"_ansible_check_mode": true}));
    assert_eq!(checked["findings"], as_root["findings"]);
    assert!(sim.writes().is_empty());
}

#[test]
fn narrowed_by_kind_user_and_realm() {
    let sim = sim("9.1");
    sim.clear_requests();
    let r = module().ok(&sim, json!({"kinds": ["users"]}));
    assert_eq!(sim.api_calls(), ["GET /access/users", "GET /access/tfa"]);
    for key in ["groups", "roles", "acl", "realms"] {
        assert!(r.get(key).is_none(), "{key}");
    }
    assert_eq!(
        r["checked"],
        json!([
            "token_no_expiry",
            "token_expiring",
            "root_token",
            "token_expired"
        ])
    );
    assert_eq!(findings(&r).len(), 8);

    sim.clear_requests();
    let r = module().ok(&sim, json!({"kinds": "acl,roles"}));
    assert_eq!(sim.api_calls(), ["GET /access/roles", "GET /access/acl"]);
    assert_eq!(findings(&r), owned(&[("info", "role_unused", "Unused")]));

    let r = module().ok(&sim, json!({"userids": ["joe@pve"]}));
    assert_eq!(ids(&r["users"], "userid"), ["joe@pve"]);
    assert_eq!(
        ids(&r["acl"], "ugid"),
        ["joe@pve!ci"],
        "his own and his token's entries, and his groups'"
    );
    let subjects: Vec<String> = findings(&r).into_iter().map(|f| f.2).collect();
    assert!(
        subjects.iter().all(|s| s.starts_with("joe@pve")),
        "{subjects:?}"
    );
    assert!(subjects.contains(&"joe@pve!soon".to_string()));

    let r = module().ok(
        &sim,
        json!({"realms": ["pam"], "kinds": ["users", "realms"]}),
    );
    assert_eq!(ids(&r["users"], "userid"), ["root@pam"]);
    assert_eq!(ids(&r["realms"], "realm"), ["pam"]);
}

#[test]
fn fail_on_is_a_gate() {
    let sim = sim("9.1");
    let r = module().fail(&sim, json!({"fail_on": ["high", "group_empty"]}));
    assert_eq!(
        msg(&r),
        "2 findings matched fail_on: [high] token_privsep_admin: token 'admin@pve!tf' has privilege separation off, and its owner holds Permissions.Modify and Sys.Modify on / (role Administrator from group 'admins'): whoever holds the secret can do anything, including granting itself more; turn privsep on and give the token its own ACL entries; [info] group_empty: group 'empty' has no members"
    );
    assert!(findings(&r).len() > 2, "the failure carries every finding");
    let matched: Vec<&str> = r["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(matched, ["admin@pve!tf", "empty"]);
    assert!(r["users"].is_array());
    assert!(r.get("changed").is_none_or(|c| c == false));

    // Nothing of the gate's kinds: it passes.
    let r = module().ok(
        &sim,
        json!({"fail_on": ["token_privsep_admin"], "userids": ["joe@pve"]}),
    );
    assert_eq!(r["matched"], json!([]));
    assert!(module().ok(&sim, json!({})).get("matched").is_none());

    sim.clear_requests();
    let r = module().fail(&sim, json!({"fail_on": ["critical"]}));
    assert!(msg(&r).starts_with("fail_on: 'critical' is neither a severity (high, medium, low, info) nor a kind of finding"), "{}", msg(&r));
    let r = module().fail(
        &sim,
        json!({"kinds": ["users"], "fail_on": ["role_unused"]}),
    );
    assert_eq!(msg(&r), "fail_on names role_unused, which needs kinds roles, acl: add roles, acl to kinds (or leave kinds out)");
    assert!(sim.api_calls().is_empty(), "refused before any request");
}

/// Realms come from domains.cfg, which pve-sim does not simulate: the real
/// code only. A realm that requires a second factor covers its users; the
/// realm's other settings (server, bind user) are never returned.
#[test]
fn realms_and_their_second_factor_on_the_real_code() {
    if require_oracle("pve_access_info realms").is_none() {
        return;
    }
    for version in ["9.1", "8.4"] {
        let dir = std::env::temp_dir().join(format!(
            "pve-access-info-realms-{}-{version}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("domains.cfg"),
            "pam: pam\n\tcomment Linux PAM\n\npve: pve\n\tcomment PVE\n\tdefault 1\n\n\
             ldap: corp\n\tbase_dn dc=corp,dc=example\n\tserver1 ldap.example\n\tuser_attr uid\n\
             \tbind_dn cn=reader,dc=corp\n\ttfa type=oath\n\tcomment Corporate LDAP\n\n\
             openid: sso\n\tissuer-url https://sso.example\n\tclient-id pve\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("user.cfg"),
            "user:root@pam:1:0:::root@localhost:::\nuser:ann@corp:1:0::::::\nuser:bob@pve:1:0::::::\nuser:sso@sso:1:0::::::\n",
        )
        .unwrap();
        let sim = Sim::builder(version)
            .server(Server::PveOracle)
            .state_dir(&dir)
            .start();
        let r = module().ok(&sim, json!({"kinds": ["users", "realms"]}));
        assert_eq!(
            r["realms"],
            json!([
                {"realm": "corp", "type": "ldap", "default": false, "tfa": "oath", "comment": "Corporate LDAP"},
                {"realm": "pam", "type": "pam", "default": false, "comment": "Linux PAM"},
                {"realm": "pve", "type": "pve", "default": true, "comment": "PVE"},
                {"realm": "sso", "type": "openid", "default": false, "comment": null},
            ]),
            "{version}"
        );
        assert!(!r.to_string().contains("cn=reader"), "{version}");
        let ann = item(&r["users"], "userid", "ann@corp");
        assert_eq!(ann["realm_type"], "ldap");
        let no_tfa: Vec<String> = findings(&r)
            .into_iter()
            .filter(|f| f.1 == "user_no_tfa")
            .map(|f| f.2)
            .collect();
        assert_eq!(
            no_tfa,
            ["bob@pve", "root@pam"],
            "{version}: ann's realm requires OATH, sso logs in elsewhere"
        );
        drop(sim);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A token that may see little: PVE answers it only in part, the module
/// says so, and judges nothing it cannot see.
#[test]
fn a_login_that_sees_little_is_told_so() {
    let sim = sim("8.4");
    let token = format!("joe@pve!ci={SECRET}");
    let r = module().ok(&sim, with_api_token(json!({}), &token));
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("PVE does not show this login users, groups and second factors outside its groups (it lacks Sys.Audit on /access/groups), nor ACL entries on paths it may not change (it lacks Sys.Audit on /access)"),
        "{warnings}"
    );
    for kind in [
        "acl_unknown_principal",
        "group_unknown_member",
        "token_without_acl",
        "role_unused",
    ] {
        assert!(
            !r["checked"].as_array().unwrap().iter().any(|k| k == kind),
            "{kind}"
        );
    }
    assert!(findings(&r).iter().all(|f| f.1 != "acl_unknown_principal"));
    let r = module().fail(
        &sim,
        with_api_token(json!({"fail_on": ["acl_unknown_principal"]}), &token),
    );
    sim.clear_requests();
    module().ok(
        &sim,
        with_api_token(json!({"kinds": ["roles", "realms"]}), &token),
    );
    assert_eq!(
        sim.api_calls(),
        ["GET /access/roles", "GET /access/domains"],
        "nothing PVE filters: no need to ask what it hides"
    );
    assert_eq!(
        msg(&r),
        "fail_on names acl_unknown_principal, which this run could not check: PVE does not show this login everything (see the warning); the gate would pass whatever the state"
    );
}

/// Pools on pve-sim (pve-oracle has no pool API; `inventory` keeps this on
/// pve-sim): read only when `kinds` names them, each with its members as
/// the server keeps them, nested ones by their full id; entries on a pool
/// that does not exist are a finding.
#[test]
fn pools_with_their_members_and_entries_on_missing_pools() {
    for version in ["9.1", "8.4"] {
        let seed = "user:root@pam:1:0:::root@localhost:::\nuser:joe@pve:1:0::::::\n\npool:db:Databases:101,200:local:\npool:db/replica::100::\npool:empty::::\n\nacl:1:/pool/db:joe@pve:PVEVMUser:\nacl:1:/pool/gone:joe@pve:PVEVMUser:\nacl:1:/pool/db/old:joe@pve:PVEAuditor:\n";
        let sim = Sim::builder(version)
            .user_cfg(seed)
            .inventory("100,101,200:lxc", "local,local-lvm")
            .start();
        sim.clear_requests();
        let r = module().ok(&sim, json!({"kinds": ["pools", "acl"]}));
        assert_eq!(
            sim.api_calls(),
            [
                "GET /access/acl",
                "GET /pools",
                "GET /pools",
                "GET /pools",
                "GET /pools"
            ],
            "{version}"
        );
        let state = sim.state();
        let want: Vec<Value> = ["db", "db/replica", "empty"]
            .iter()
            .map(|id| state.pool(id).unwrap())
            .collect();
        assert_eq!(r["pools"], json!(want), "{version}");
        assert_eq!(r["pools"][0]["vms"], json!([101, 200]), "{version}");
        assert_eq!(r["pools"][0]["storage"], json!(["local"]), "{version}");
        assert_eq!(
            findings(&r),
            owned(&[
                ("medium", "acl_unknown_pool", "/pool/db/old"),
                ("medium", "acl_unknown_pool", "/pool/gone"),
            ]),
            "{version}"
        );
        // Without pools in kinds, no pool request and no pool finding.
        sim.clear_requests();
        let r = module().ok(&sim, json!({}));
        assert_eq!(sim.api_calls(), ALL_GETS, "{version}");
        assert!(r.get("pools").is_none());
    }
}
