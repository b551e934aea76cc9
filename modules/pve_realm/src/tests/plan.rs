use super::*;
use ansible_module::json;

fn params(v: Value) -> Params {
    let Value::Object(m) = v else {
        panic!("params must be an object")
    };
    Params::from_map(m)
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn refused(v: Value) -> String {
    Desired::from_params(&params(v)).unwrap_err()
}

fn current(v: Value) -> Current {
    let Value::Object(m) = v else {
        panic!("a realm is an object")
    };
    m
}

fn ldap() -> Value {
    json!({"realm": "corp", "type": "ldap", "server1": "ldap.example.com",
           "base_dn": "dc=example,dc=com", "user_attr": "uid"})
}

fn existing() -> Current {
    current(
        json!({"type": "ldap", "server1": "ldap.example.com", "base_dn": "dc=example,dc=com",
                   "user_attr": "uid", "verify": 1, "digest": "abc"}),
    )
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

#[test]
fn every_option_has_a_type_and_a_unique_name() {
    let mut names: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
    names.extend(SECRETS.iter().map(|s| s.0));
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n);
    for o in &OPTIONS {
        assert!(!o.types.is_empty(), "{}", o.name);
        assert_eq!(o.name, o.pve.replace('-', "_"), "Ansible name of {}", o.pve);
        assert!(o.required_by.iter().all(|t| o.types.contains(t)));
    }
}

#[test]
fn ids_types_and_combinations_are_checked_before_any_request() {
    assert!(refused(json!({"realm": "1corp", "type": "ldap"})).contains("not a valid realm id"));
    assert!(refused(json!({"realm": "c", "type": "ldap"})).contains("not a valid realm id"));
    assert!(refused(json!({"realm": "pam", "type": "ldap"})).contains("built-in realm"));
    assert!(refused(json!({"realm": "corp", "type": "pve"})).contains("only its built-in realm"));
    assert!(refused(json!({"realm": "pve", "state": "absent"})).contains("cannot be deleted"));
    assert_eq!(
        refused(with(ldap(), json!({"issuer_url": "https://id", "client_key": "k"}))),
        "realm 'corp' is of type 'ldap', which has no issuer_url, client_key: leave them out, or use the type that has them"
    );
    assert!(refused(json!({"realm": "pam", "server1": "x"})).contains("type 'pam'"));
    assert!(refused(with(ldap(), json!({"server1": "not an address"}))).contains("server1"));
    assert!(refused(with(ldap(), json!({"port": 70000}))).contains("port"));
    assert!(refused(with(ldap(), json!({"group_name_attr": "c-n"}))).contains("group_name_attr"));
    assert!(refused(with(ldap(), json!({"comment": "a\nb"}))).contains("line breaks"));
    assert!(
        refused(with(ldap(), json!({"sync_defaults_options": "scope=all"}))).contains("scope=all")
    );
    // The built-in realms take their type from their name.
    assert_eq!(
        desired(json!({"realm": "pve", "comment": "x"}))
            .kind
            .as_deref(),
        Some("pve")
    );
}

#[test]
fn sync_options_are_compared_as_pve_stores_them() {
    assert_eq!(
        normalise_sync_options("scope=users, full=yes").unwrap(),
        "remove-vanished=entry;properties,scope=users"
    );
    assert_eq!(
        normalise_sync_options("purge=1,enable-new=0").unwrap(),
        "enable-new=0,remove-vanished=acl"
    );
    assert_eq!(
        normalise_sync_options("remove-vanished=acl,full=1").unwrap(),
        "remove-vanished=acl"
    );
    assert!(normalise_sync_options("color=blue").is_err());
}

#[test]
fn creation_needs_the_type_and_its_required_options() {
    let d = desired(json!({"realm": "corp", "server1": "x"}));
    assert!(plan(&d, None, false)
        .unwrap_err()
        .0
        .contains("give its type"));
    let d = desired(json!({"realm": "corp", "type": "ad", "server1": "dc1"}));
    assert_eq!(
        plan(&d, None, false).unwrap_err().0,
        "realm 'corp' not created: a realm of type 'ad' needs domain"
    );
    let d = desired(with(
        ldap(),
        json!({"password": "bind-pw", "verify": true, "comment": ""}),
    ));
    let p = plan(&d, None, true).unwrap();
    assert_eq!(p.msg, "realm 'corp' would be created with its password");
    let req = &p.steps[0].request;
    assert_eq!(req.path, "/access/domains");
    assert_eq!(req.value("type"), Some("ldap"));
    assert_eq!(req.value("verify"), Some("1"));
    assert_eq!(req.value("password"), Some("bind-pw"));
    assert_eq!(req.value("comment"), None, "an empty option is not sent");
    assert_eq!(p.after["password"], "(changed)");
    assert_eq!(p.after["verify"], true);
    assert!(!format!("{:?}", p.after).contains("bind-pw"));
    // As the server will answer it, so that the next run's view is the same.
    let d = desired(with(ldap(), json!({"port": 636})));
    assert_eq!(plan(&d, None, false).unwrap().after["port"], 636);
}

#[test]
fn a_rerun_changes_nothing_and_secrets_on_create_are_not_sent_again() {
    let d = desired(with(ldap(), json!({"verify": true, "password": "bind-pw"})));
    let p = plan(&d, Some(&existing()), false).unwrap();
    assert!(!p.changed, "{p:?}");
    assert!(p.steps.is_empty());
    assert_eq!(p.msg, "realm 'corp' unchanged");
}

#[test]
fn updates_send_only_what_differs_with_the_digest() {
    let d = desired(json!({"realm": "corp", "verify": false, "comment": "LDAP", "server2": ""}));
    let cur = current(with(Value::Object(existing()), json!({"server2": "ldap2"})));
    let p = plan(&d, Some(&cur), false).unwrap();
    assert_eq!(
        p.msg,
        "realm 'corp' updated: comment, server2 removed, verify"
    );
    let req = &p.steps[0].request;
    assert_eq!(req.path, "/access/domains/corp");
    assert_eq!(req.value("verify"), Some("0"));
    assert_eq!(req.value("delete"), Some("server2"));
    assert_eq!(req.value("digest"), Some("abc"));
    assert_eq!(p.before["server2"], "ldap2");
    assert_eq!(p.after["verify"], false);
    assert!(p.after.get("server2").is_none());
    let Settle::Options(want) = &p.steps[0].settle else {
        panic!("options settle")
    };
    assert_eq!(want["server2"], None);
}

#[test]
fn type_and_fixed_options_are_refused_with_what_to_do() {
    let d = desired(json!({"realm": "corp", "type": "ad"}));
    let e = plan(&d, Some(&existing()), false).unwrap_err().0;
    assert!(
        e.contains("cannot change a realm's type") && e.contains("state: absent"),
        "{e}"
    );
    // Without a type, options are checked against the realm's own.
    let d = desired(json!({"realm": "corp", "issuer_url": "https://id"}));
    assert!(plan(&d, Some(&existing()), false)
        .unwrap_err()
        .0
        .contains("type 'ldap'"));
    let oidc = current(
        json!({"type": "openid", "issuer-url": "https://id", "client-id": "pve",
                              "username-claim": "email", "client-key": "old-key", "digest": "d"}),
    );
    let d = desired(json!({"realm": "oi", "username_claim": "sub"}));
    let e = plan(&d, Some(&oidc), false).unwrap_err().0;
    assert!(
        e.contains("username_claim is 'email'") && e.contains("create it again"),
        "{e}"
    );
    let d = desired(json!({"realm": "oi", "username_claim": "email"}));
    assert!(!plan(&d, Some(&oidc), false).unwrap().changed);
}

#[test]
fn update_secret_always_compares_the_client_key_and_resends_the_password() {
    let oidc = current(
        json!({"type": "openid", "issuer-url": "https://id", "client-id": "pve",
                              "client-key": "old-key", "digest": "d"}),
    );
    let same = desired(json!({"realm": "oi", "client_key": "old-key", "update_secret": "always"}));
    let p = plan(&same, Some(&oidc), false).unwrap();
    assert!(!p.changed);
    assert_eq!(p.before["client_key"], "(set)");
    let new = desired(json!({"realm": "oi", "client_key": "new-key", "update_secret": "always"}));
    let p = plan(&new, Some(&oidc), false).unwrap();
    assert_eq!(p.msg, "realm 'oi' updated: client_key");
    assert_eq!(p.steps[0].request.value("client-key"), Some("new-key"));
    assert_eq!(p.after["client_key"], "(changed)");
    let text = format!("{:?} {:?}", p.before, p.after);
    assert!(
        !text.contains("old-key") && !text.contains("new-key"),
        "{text}"
    );
    let on_create = desired(json!({"realm": "oi", "client_key": "new-key"}));
    assert!(!plan(&on_create, Some(&oidc), false).unwrap().changed);

    let d = desired(with(
        ldap(),
        json!({"verify": true, "password": "pw", "update_secret": "always"}),
    ));
    let p = plan(&d, Some(&existing()), false).unwrap();
    assert_eq!(p.msg, "realm 'corp' updated: password");
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.after["password"], "(changed)");
}

#[test]
fn deleting_a_realm_and_what_it_takes_away() {
    let d = desired(json!({"realm": "corp", "state": "absent"}));
    assert!(!plan(&d, None, false).unwrap().changed);
    assert!(lockout_changes(&d, None).is_empty());
    let p = plan(&d, Some(&existing()), true).unwrap();
    assert!(p.msg.starts_with("realm 'corp' would be deleted"));
    assert_eq!(p.steps[0].settle, Settle::Absent);
    assert_eq!(
        lockout_changes(&d, Some(&existing())),
        [Change::RealmDeleted("corp".into())]
    );
}

#[test]
fn options_of_newer_releases_need_them() {
    let d = desired(json!({"realm": "oi", "audiences": "a,b"}));
    assert!(d.needs_version());
    assert!(d.check_version("9.1.13").is_ok());
    assert_eq!(
        d.check_version("8.4.14").unwrap_err(),
        "audiences needs PVE 9.1 or later; this server runs 8.4.14"
    );
    assert!(!desired(json!({"realm": "oi", "audiences": ""})).needs_version());
}

#[test]
fn settle_reads_the_options_back() {
    let s = Settle::Options(
        [
            ("verify".to_string(), Some("1".to_string())),
            ("server2".to_string(), None),
        ]
        .into(),
    );
    assert!(s.met_by(Some(&existing())));
    assert!(!s.met_by(None));
    assert!(Settle::Absent.met_by(None));
}
