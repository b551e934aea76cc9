//! pve_realm against pve-sim, or with `PVE_TEST_SERVER=pve-oracle` the real
//! PVE code (9.1 and 8.4): the module binary run the way Ansible runs it,
//! the realm read back from the server itself (its API and the bind
//! password file it keeps).

use pve_test_support::{diff_view, module_under_test, msg, on_each_version, with_api_token, Sim};
use serde_json::{json, Value};

module_under_test!("pve_realm");

const BIND_PW: &str = "bind-Secret-4711";
const TOKEN: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

/// ops@corp (a user of the LDAP realm the tests create) has a token with
/// Realm.Allocate on /access/realm.
const SEED: &str = "user:root@pam:1:0:::root@localhost:::\nuser:ops@corp:1:0::::::\ntoken:ops@corp!ci:0:0::\n\nrole:RealmAdmin:Realm.Allocate,Sys.Audit:\n\nacl:1:/access/realm:ops@corp:RealmAdmin:\n";

fn seeded(version: &str) -> Sim {
    Sim::builder(version)
        .user_cfg(SEED)
        .token_cfg(&format!("ops@corp!ci {TOKEN}\n"))
        .start()
}

fn ldap() -> Value {
    json!({"realm": "corp", "type": "ldap", "server1": "ldap.example.com",
           "base_dn": "ou=people,dc=example,dc=com", "user_attr": "uid",
           "bind_dn": "cn=pve,dc=example,dc=com", "password": BIND_PW,
           "verify": true, "comment": "Corp directory"})
}

/// The realm as the server has it, `None` when it does not exist.
fn server_realm(sim: &Sim, realm: &str) -> Option<Value> {
    let list = sim.get("/access/domains");
    let exists = list
        .as_array()
        .is_some_and(|l| l.iter().any(|r| r["realm"] == realm));
    exists.then(|| {
        let mut r = sim.get(&format!("/access/domains/{realm}"));
        if let Some(o) = r.as_object_mut() {
            o.remove("digest");
        }
        r
    })
}

/// The bind password file PVE keeps for the realm, if any.
fn bind_password(sim: &Sim, realm: &str) -> Option<String> {
    let path = sim.state_dir.join(format!("priv/realm/{realm}.pw"));
    std::fs::read_to_string(path).ok()
}

/// Check mode, then the real run (both in diff mode): check mode writes
/// nothing and predicts the real run.
fn check_then_run(sim: &Sim, args: &Value) -> (Value, Value) {
    let mut check = args.clone();
    check["_ansible_check_mode"] = json!(true);
    check["_ansible_diff"] = json!(true);
    sim.clear_requests();
    let predicted = ok(sim, check);
    assert_eq!(sim.writes(), Vec::<String>::new(), "check mode wrote");
    let mut real = args.clone();
    real["_ansible_diff"] = json!(true);
    let done = ok(sim, real);
    for key in ["changed", "diff", "realm"] {
        assert_eq!(
            predicted[key], done[key],
            "check mode predicted another {key}"
        );
    }
    (predicted, done)
}

fn assert_no_secret(result: &Value, secret: &str) {
    assert!(
        !result.to_string().contains(secret),
        "a secret in the output: {result}"
    );
}

fn lifecycle(version: &str) {
    let sim = seeded(version);
    let (predicted, done) = check_then_run(&sim, &ldap());
    assert_eq!(
        predicted["msg"],
        "realm 'corp' would be created with its password"
    );
    assert_eq!(done["changed"], true);
    assert_no_secret(&predicted, BIND_PW);
    assert_no_secret(&done, BIND_PW);
    assert_eq!(diff_view(&done, "after")["password"], "(changed)");
    assert_eq!(
        server_realm(&sim, "corp").unwrap(),
        json!({"type": "ldap", "server1": "ldap.example.com", "base_dn": "ou=people,dc=example,dc=com",
               "user_attr": "uid", "bind_dn": "cn=pve,dc=example,dc=com", "verify": 1,
               "comment": "Corp directory"})
    );
    assert_eq!(bind_password(&sim, "corp").as_deref(), Some(BIND_PW));

    // A rerun changes nothing, in one request, and keeps the password.
    sim.clear_requests();
    let r = ok(&sim, ldap());
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(r["realm"]["verify"], true);
    assert_eq!(sim.api_calls(), ["GET /access/domains/corp"]);

    // Update: what differs, an option removed with "".
    let args = json!({"realm": "corp", "comment": "", "port": 636, "mode": "ldaps",
                      "case_sensitive": false});
    let (_, done) = check_then_run(&sim, &args);
    assert_eq!(
        msg(&done),
        "realm 'corp' updated: case_sensitive, comment removed, mode, port"
    );
    let saved = server_realm(&sim, "corp").unwrap();
    assert_eq!(saved["port"], 636);
    assert_eq!(saved["mode"], "ldaps");
    assert_eq!(saved["case-sensitive"], 0);
    assert!(saved.get("comment").is_none(), "{saved}");
    assert_eq!(done["realm"]["case_sensitive"], false);
    // The view the change reported is the one the next run reads.
    let again = ok(&sim, args);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["realm"], done["realm"]);

    // What PVE cannot change is refused before any write.
    sim.clear_requests();
    let f = fail(
        &sim,
        json!({"realm": "corp", "type": "ad", "domain": "example.com"}),
    );
    assert!(msg(&f).contains("cannot change a realm's type"), "{f}");
    let f = fail(
        &sim,
        json!({"realm": "corp", "issuer_url": "https://id.example.com"}),
    );
    assert!(msg(&f).contains("has no issuer_url"), "{f}");
    let f = fail(&sim, json!({"realm": "new", "server1": "x"}));
    assert!(msg(&f).contains("give its type"), "{f}");
    let f = fail(
        &sim,
        json!({"realm": "new", "type": "ldap", "server1": "x"}),
    );
    assert!(msg(&f).contains("needs base_dn, user_attr"), "{f}");
    assert_eq!(sim.writes(), Vec::<String>::new());

    // update_secret: always sets the bind password again, with a warning.
    let r = ok(
        &sim,
        json!({"realm": "corp", "password": "other-bind-pw",
                            "update_secret": "always"}),
    );
    assert_eq!(r["changed"], true);
    assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1), "{r}");
    assert_no_secret(&r, "other-bind-pw");
    assert_eq!(
        bind_password(&sim, "corp").as_deref(),
        Some("other-bind-pw")
    );

    // Delete: the realm and its password go, its users stay.
    let (_, done) = check_then_run(&sim, &json!({"realm": "corp", "state": "absent"}));
    assert_eq!(done["realm"], json!({}));
    assert_eq!(server_realm(&sim, "corp"), None);
    assert_eq!(bind_password(&sim, "corp"), None);
    assert!(sim.state().user("ops@corp").is_some());
    let r = ok(&sim, json!({"realm": "corp", "state": "absent"}));
    assert_eq!(r["changed"], false);
}

fn openid(version: &str) {
    let sim = seeded(version);
    let args = json!({"realm": "sso", "type": "openid", "issuer_url": "https://id.example.com/realms/pve",
                      "client_id": "proxmox", "client_key": "oidc-key-1", "username_claim": "email",
                      "autocreate": true});
    let (_, done) = check_then_run(&sim, &args);
    assert_eq!(done["realm"]["client_key"], "(changed)");
    assert_no_secret(&done, "oidc-key-1");
    let saved = server_realm(&sim, "sso").unwrap();
    assert_eq!(saved["client-key"], "oidc-key-1");
    assert_eq!(saved["username-claim"], "email");

    // The key is compared with update_secret: always.
    let mut same = args.clone();
    same["update_secret"] = json!("always");
    let r = ok(&sim, same.clone());
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(r["realm"]["client_key"], "(set)");
    assert_no_secret(&r, "oidc-key-1");
    same["client_key"] = json!("oidc-key-2");
    let (_, done) = check_then_run(&sim, &same);
    assert_eq!(msg(&done), "realm 'sso' updated: client_key");
    assert_no_secret(&done, "oidc-key-2");
    assert_eq!(
        server_realm(&sim, "sso").unwrap()["client-key"],
        "oidc-key-2"
    );

    // username-claim is fixed at creation.
    sim.clear_requests();
    let f = fail(&sim, json!({"realm": "sso", "username_claim": "sub"}));
    assert!(msg(&f).contains("after creation"), "{f}");
    assert_eq!(sim.writes(), Vec::<String>::new());

    // audiences needs 9.1, checked before any write.
    let r = module().run(&sim, json!({"realm": "sso", "audiences": "pve-a,pve-b"}));
    if version == "8.4" {
        assert_eq!(r.json["failed"], true, "{}", r.stdout);
        assert!(msg(&r.json).contains("needs PVE 9.1"), "{}", r.stdout);
        assert_eq!(sim.writes(), Vec::<String>::new());
    } else {
        assert_eq!(r.json["changed"], true, "{}", r.stdout);
        assert_eq!(
            server_realm(&sim, "sso").unwrap()["audiences"],
            "pve-a,pve-b"
        );
    }
}

fn builtin_realms(version: &str) {
    let sim = seeded(version);
    let (_, done) = check_then_run(
        &sim,
        &json!({"realm": "pve", "default": true, "comment": "Local users"}),
    );
    assert_eq!(done["changed"], true);
    let saved = server_realm(&sim, "pve").unwrap();
    assert_eq!(saved["default"], 1);
    assert_eq!(saved["comment"], "Local users");
    let r = ok(
        &sim,
        json!({"realm": "pve", "default": true, "comment": "Local users"}),
    );
    assert_eq!(r["changed"], false);
    sim.clear_requests();
    let f = fail(&sim, json!({"realm": "pam", "state": "absent"}));
    assert!(msg(&f).contains("cannot be deleted"), "{f}");
    let f = fail(&sim, json!({"realm": "pam", "server1": "x"}));
    assert!(msg(&f).contains("type 'pam'"), "{f}");
    assert!(sim.requests().is_empty(), "refused before any request");
}

fn self_lockout(version: &str) {
    let sim = seeded(version);
    ok(&sim, ldap());
    let as_token = |args: Value| with_api_token(args, &format!("ops@corp!ci={TOKEN}"));
    let args = as_token(json!({"realm": "corp", "state": "absent"}));
    let f = fail(&sim, args.clone());
    assert!(
        msg(&f).contains("delete realm 'corp', the realm of ops@corp"),
        "{f}"
    );
    assert!(server_realm(&sim, "corp").is_some());
    let mut allowed = args;
    allowed["allow_self_lockout"] = json!(true);
    assert_eq!(ok(&sim, allowed)["changed"], true);
    assert_eq!(server_realm(&sim, "corp"), None);
}

on_each_version!(lifecycle, openid, builtin_realms, self_lockout);

/// A write that fails, then the rerun; and a write whose answer is lost,
/// settled by reading the realm back (pve-sim's faults).
#[test]
fn failures_half_way_and_reruns() {
    let sim = Sim::builder("9.1")
        .user_cfg(SEED)
        .fault(
            json!({"method": "PUT", "path": "/access/domains/corp", "status": 500,
                      "reason": "update auth server failed: No space left on device", "times": 1}),
        )
        .fault(json!({"method": "POST", "path": "/access/domains", "drop": "after", "times": 1}))
        .start();
    // The create's answer is lost: the module reads the realm back.
    let r = ok(&sim, ldap());
    assert_eq!(r["changed"], true, "{r}");
    assert!(server_realm(&sim, "corp").is_some());
    assert_eq!(sim.count_calls("POST /access/domains"), 1, "not sent twice");

    let args = json!({"realm": "corp", "comment": "changed"});
    let f = fail(&sim, args.clone());
    assert!(msg(&f).contains("No space left on device"), "{f}");
    assert!(msg(&f).contains("Nothing was changed"), "{f}");
    assert_eq!(
        server_realm(&sim, "corp").unwrap()["comment"],
        "Corp directory"
    );
    let r = ok(&sim, args);
    assert_eq!(r["changed"], true);
    assert_eq!(server_realm(&sim, "corp").unwrap()["comment"], "changed");
}
