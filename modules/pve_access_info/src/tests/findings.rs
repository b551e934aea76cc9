use super::*;
use crate::plan::tests::{builtin_roles, default_realms, inventory, query, DAY, NOW};
use ansible_module::json;
use serde_json::Value as V;

fn audit_all(inv: &Inventory) -> Vec<Finding> {
    audit(&query(json!({})), inv, NOW).0
}

/// (kind, subject) of every finding, in order.
fn pairs(found: &[Finding]) -> Vec<(&str, &str)> {
    found.iter().map(|f| (f.kind, f.subject.as_str())).collect()
}

fn of_kind<'a>(found: &'a [Finding], kind: &str) -> Vec<&'a Finding> {
    found.iter().filter(|f| f.kind == kind).collect()
}

/// The subjects of the findings of one kind, in order.
fn subjects<'a>(found: &'a [Finding], kind: &str) -> Vec<&'a str> {
    of_kind(found, kind)
        .iter()
        .map(|f| f.subject.as_str())
        .collect()
}

fn user(userid: &str, extra: V) -> V {
    let mut u = json!({"userid": userid, "enable": 1, "expire": 0, "groups": "", "tokens": null,
                       "realm-type": userid.rsplit('@').next()});
    if let (Some(o), Some(e)) = (u.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    u
}

fn token(name: &str, privsep: u8, expire: i64) -> V {
    json!({"tokenid": name, "privsep": privsep, "expire": expire})
}

fn acl(path: &str, kind: &str, ugid: &str, role: &str) -> V {
    json!({"path": path, "type": kind, "ugid": ugid, "roleid": role, "propagate": 1})
}

/// Users and ACL entries, everything else empty but read.
fn with(users: V, acl: V) -> Inventory {
    inventory(
        users,
        json!([]),
        json!([]),
        builtin_roles(),
        acl,
        default_realms(),
    )
}

#[test]
fn every_rule_is_known_and_needs_what_it_reads() {
    let kinds: BTreeSet<&str> = RULES.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), RULES.len(), "no kind twice");
    for r in RULES {
        assert!(rule(r.kind).is_some());
        assert!(!r.needs.is_empty(), "{}", r.kind);
    }
    // Within the list the severities never go up: findings sort by them.
    assert!(RULES.windows(2).all(|w| w[0].severity <= w[1].severity));
    // Every rule runs on the full inventory; all but those on pools
    // without `kinds`.
    let mut inv = with(json!([]), json!([]));
    inv.pools = Some(Vec::new());
    let every = json!({"kinds": Kind::ALL.map(Kind::name)});
    let (_, checked) = audit(&query(every), &inv, NOW);
    assert_eq!(checked, RULES.iter().map(|r| r.kind).collect::<Vec<_>>());
    let (_, checked) = audit(&query(json!({})), &inv, NOW);
    assert!(!checked.contains(&"acl_unknown_pool") && checked.len() == RULES.len() - 1);
}

#[test]
fn acl_entries_on_pools_that_do_not_exist() {
    let mut inv = with(
        json!([user("joe@pve", json!({}))]),
        json!([
            acl("/pool/web", "user", "joe@pve", "PVEVMUser"),
            acl("/pool/gone", "user", "joe@pve", "PVEVMUser"),
            acl("/pool/web/old", "group", "ops", "PVEAuditor"),
            acl("/pool/web/old", "user", "joe@pve", "PVEAuditor"),
            acl("/pool", "user", "joe@pve", "PVEAuditor"),
        ]),
    );
    inv.pools = Some(vec![pve_pool::plan::Pool::new("web")]);
    let q = query(json!({"kinds": ["acl", "pools", "users", "groups", "roles"]}));
    let (found, _) = audit(&q, &inv, NOW);
    assert_eq!(
        subjects(&found, "acl_unknown_pool"),
        ["/pool/gone", "/pool/web/old"]
    );
    assert_eq!(
        of_kind(&found, "acl_unknown_pool")[1].message,
        "2 ACL entries on /pool/web/old, a pool that does not exist: group ops (PVEAuditor), user joe@pve (PVEAuditor); a pool created later under this id gives them its guests and storages: remove them"
    );
    assert_eq!(
        of_kind(&found, "acl_unknown_pool")[0].severity,
        Severity::Medium
    );
}

#[test]
fn token_expiry() {
    let inv = with(
        json!([
            user(
                "a@pve",
                json!({"tokens": [
                    token("never", 1, 0),
                    token("gone", 1, NOW - DAY),
                    token("soon", 1, NOW + 5 * DAY + 3600),
                    token("edge", 1, NOW + 30 * DAY),
                    token("later", 1, NOW + 31 * DAY),
                ]})
            ),
            // No expiry of its own, but its owner ends in 20 days, and that
            // ends the token too.
            user(
                "b@pve",
                json!({"expire": NOW + 20 * DAY, "tokens": [token("t", 1, 0)]})
            ),
            user(
                "c@pve",
                json!({"expire": NOW - 2 * DAY, "enable": 1, "tokens": [token("t", 1, NOW + 100 * DAY)]})
            ),
        ]),
        json!([]),
    );
    let found = audit_all(&inv);
    assert_eq!(subjects(&found, "token_no_expiry"), ["a@pve!never"]);
    assert_eq!(subjects(&found, "token_expired"), ["a@pve!gone", "c@pve!t"]);
    assert_eq!(
        subjects(&found, "token_expiring"),
        ["a@pve!edge", "a@pve!soon", "b@pve!t"]
    );
    let soon = of_kind(&found, "token_expiring")[1];
    assert_eq!(soon.severity, Severity::Medium);
    assert_eq!(
        soon.message,
        "token 'a@pve!soon' expires on 2027-01-20T09:00:00Z, in 5 days: rotate it before then"
    );
    assert!(of_kind(&found, "token_expiring")[2]
        .message
        .contains("expires with its owner on 2027-02-04"));
    assert!(of_kind(&found, "token_expired")[1]
        .message
        .contains("expired with its owner on 2027-01-13T08:00:00Z"));
    assert_eq!(soon.owner.as_deref(), Some("a@pve"));

    // The window is the task's.
    let (found, _) = audit(&query(json!({"expiring_within": "1d"})), &inv, NOW);
    assert!(of_kind(&found, "token_expiring").is_empty());
}

#[test]
fn privsep_off_tokens_of_administrators() {
    let users = json!([
        user("own@pve", json!({"tokens": [token("t", 0, 0)]})),
        user(
            "viagroup@pve",
            json!({"groups": "admins", "tokens": [token("t", 0, 0)]})
        ),
        // A user's own entry on / hides its groups' entries there.
        user(
            "override@pve",
            json!({"groups": "admins", "tokens": [token("t", 0, 0)]})
        ),
        user("denied@pve", json!({"tokens": [token("t", 0, 0)]})),
        user("custom@pve", json!({"tokens": [token("t", 0, 0)]})),
        user("below@pve", json!({"tokens": [token("t", 0, 0)]})),
        user("separated@pve", json!({"tokens": [token("t", 1, 0)]})),
        user(
            "root@pam",
            json!({"tokens": [token("ci", 0, 0), token("sep", 1, 0)]})
        ),
    ]);
    let acl = json!([
        acl("/", "user", "own@pve", "Administrator"),
        acl("/", "group", "admins", "Administrator"),
        acl("/", "user", "override@pve", "PVEAuditor"),
        acl("/", "user", "denied@pve", "Administrator"),
        acl("/", "user", "denied@pve", "NoAccess"),
        acl("/", "user", "custom@pve", "Granter"),
        acl("/vms", "user", "below@pve", "Administrator"),
        acl("/", "user", "separated@pve", "Administrator"),
    ]);
    let mut roles = builtin_roles();
    roles
        .as_array_mut()
        .unwrap()
        .push(json!({"roleid": "Granter", "privs": "Permissions.Modify", "special": 0}));
    let inv = inventory(users, json!([]), json!([]), roles, acl, default_realms());
    let found = audit_all(&inv);
    let admin = of_kind(&found, "token_privsep_admin");
    assert_eq!(
        subjects(&found, "token_privsep_admin"),
        ["custom@pve!t", "own@pve!t", "root@pam!ci", "viagroup@pve!t"]
    );
    assert!(admin.iter().all(|f| f.severity == Severity::High));
    assert_eq!(
        admin[1].message,
        "token 'own@pve!t' has privilege separation off, and its owner holds Permissions.Modify and Sys.Modify on / (role Administrator from its own ACL entry): whoever holds the secret can do anything, including granting itself more; turn privsep on and give the token its own ACL entries"
    );
    assert!(admin[0]
        .message
        .contains("holds Permissions.Modify on / (role Granter from its own ACL entry)"));
    assert!(admin[2]
        .message
        .contains("its owner is root@pam, which holds every privilege"));
    assert!(admin[3]
        .message
        .contains("(role Administrator from group 'admins')"));
    // Tokens of root@pam are a finding of their own, privsep or not.
    assert_eq!(
        subjects(&found, "root_token"),
        ["root@pam!ci", "root@pam!sep"]
    );
    // High first.
    assert_eq!(found[0].kind, "token_privsep_admin");
}

#[test]
fn password_logins_without_a_second_factor() {
    let users = json!([
        user("none@pve", json!({})),
        user("totp@pve", json!({})),
        user("recovery@pve", json!({})),
        user("off@pve", json!({"enable": 0})),
        user("over@pve", json!({"expire": NOW - 1})),
        user("sso@oidc", json!({"realm-type": "openid"})),
        user(
            "corp@corp",
            json!({"realm-type": "ldap", "keys": "yubikey1"})
        ),
        user("ghost@gone", json!({"realm-type": V::Null})),
    ]);
    let tfa = json!([
        {"userid": "totp@pve", "entries": [{"type": "totp"}]},
        {"userid": "recovery@pve", "entries": [{"type": "recovery"}, {"type": "webauthn", "enable": 0}]},
    ]);
    let mut realms = default_realms();
    let inv = |realms: &V| {
        inventory(
            users.clone(),
            tfa.clone(),
            json!([]),
            builtin_roles(),
            json!([]),
            realms.clone(),
        )
    };
    let found = audit_all(&inv(&realms));
    assert_eq!(
        subjects(&found, "user_no_tfa"),
        ["corp@corp", "none@pve", "recovery@pve"]
    );
    assert_eq!(
        of_kind(&found, "user_no_tfa")[1].message,
        "user 'none@pve' is enabled and logs in with a password alone: no second factor (TOTP, WebAuthn, U2F or Yubico) is set up"
    );
    // A realm that requires a second factor covers its users.
    realms
        .as_array_mut()
        .unwrap()
        .push(json!({"realm": "corp", "type": "ldap", "tfa": "yubico"}));
    let found = audit_all(&inv(&realms));
    assert!(!subjects(&found, "user_no_tfa").contains(&"corp@corp"));
    let out = crate::plan::result(&query(json!({})), &inv(&realms), &found, &[], NOW);
    assert_eq!(
        out["users"][0]["tfa"],
        json!(["yubico"]),
        "corp's keys for its realm's factor"
    );

    // Unknown second factors: the rule does not run.
    let mut unknown = inv(&realms);
    unknown.tfa = None;
    let (found, checked) = audit(&query(json!({})), &unknown, NOW);
    assert!(of_kind(&found, "user_no_tfa").is_empty());
    assert!(!checked.contains(&"user_no_tfa"));
}

#[test]
fn acl_entries_of_principals_that_do_not_exist() {
    let inv = inventory(
        json!([user("joe@pve", json!({"tokens": [token("ci", 1, 0)]}))]),
        json!([]),
        json!([{"groupid": "ops", "users": "joe@pve"}]),
        builtin_roles(),
        json!([
            acl("/", "user", "gone@pve", "PVEAuditor"),
            acl("/vms", "user", "gone@pve", "Administrator"),
            acl("/vms", "group", "ops", "PVEAuditor"),
            acl("/vms", "group", "olds", "PVEAuditor"),
            acl("/vms", "token", "joe@pve!ci", "PVEAuditor"),
            acl("/vms", "token", "joe@pve!gone", "PVEAuditor"),
            acl("/vms", "user", "joe@pve", "PVEAuditor"),
        ]),
        default_realms(),
    );
    let found = audit_all(&inv);
    let unknown = of_kind(&found, "acl_unknown_principal");
    assert_eq!(
        subjects(&found, "acl_unknown_principal"),
        ["gone@pve", "joe@pve!gone", "olds"]
    );
    assert_eq!(
        unknown[0].message,
        "2 ACL entries name user 'gone@pve', which does not exist: / (PVEAuditor), /vms (Administrator); one created later under this id gets them: remove them"
    );
    assert_eq!(unknown[2].owner, None);
    assert_eq!(unknown[1].owner.as_deref(), Some("joe@pve"));
}

#[test]
fn disabled_or_expired_users_that_keep_access() {
    let inv = with(
        json!([
            user(
                "off@pve",
                json!({"enable": 0, "tokens": [token("a", 1, 0), token("b", 1, 0)]})
            ),
            user("old@pve", json!({"expire": NOW - DAY})),
            user("bare@pve", json!({"enable": 0})),
            user("fine@pve", json!({"tokens": [token("a", 1, 0)]})),
        ]),
        json!([
            acl("/", "user", "old@pve", "PVEAuditor"),
            acl("/vms", "token", "off@pve!a", "PVEAuditor"),
            acl("/", "user", "fine@pve", "PVEAuditor"),
        ]),
    );
    let found = audit_all(&inv);
    let inactive = of_kind(&found, "inactive_user_access");
    assert_eq!(
        subjects(&found, "inactive_user_access"),
        ["off@pve", "old@pve"]
    );
    assert_eq!(
        inactive[0].message,
        "user 'off@pve' is disabled but still holds 2 tokens (a, b) and 1 ACL entry (/vms (PVEAuditor)): enabling it again brings them back; remove them, or the user"
    );
    assert!(inactive[1].message.starts_with(
        "user 'old@pve' is expired on 2027-01-14T08:00:00Z but still holds 1 ACL entry"
    ));
    assert_eq!(inactive[0].severity, Severity::Low);
}

#[test]
fn tokens_roles_and_groups_that_do_nothing() {
    let mut roles = builtin_roles();
    roles.as_array_mut().unwrap().extend([
        json!({"roleid": "Used", "privs": "VM.Audit", "special": 0}),
        json!({"roleid": "Unused", "privs": "VM.Audit", "special": 0}),
    ]);
    let inv = inventory(
        json!([user(
            "joe@pve",
            json!({"tokens": [token("idle", 1, 0), token("busy", 1, 0), token("shared", 0, 0)]})
        ),]),
        json!([]),
        json!([
            {"groupid": "empty", "users": ""},
            {"groupid": "stale", "users": "joe@pve,gone@pve,left@pve"},
        ]),
        roles,
        json!([acl("/vms", "token", "joe@pve!busy", "Used")]),
        default_realms(),
    );
    let found = audit_all(&inv);
    assert_eq!(subjects(&found, "token_without_acl"), ["joe@pve!idle"]);
    assert_eq!(
        subjects(&found, "role_unused"),
        ["Unused"],
        "built-in roles are no finding"
    );
    assert_eq!(subjects(&found, "group_empty"), ["empty"]);
    assert_eq!(subjects(&found, "group_unknown_member"), ["stale"]);
    assert_eq!(
        of_kind(&found, "group_unknown_member")[0].message,
        "group 'stale' lists 2 members that do not exist: gone@pve, left@pve; a user created later under such an id is a member at once"
    );
    let info: Vec<&str> = found
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .map(|f| f.kind)
        .collect();
    assert_eq!(
        info,
        ["token_without_acl", "role_unused", "group_empty"],
        "sorted by rule"
    );
}

#[test]
fn only_rules_whose_data_was_read() {
    let inv = inventory(
        json!([user("joe@pve", json!({"tokens": [token("t", 1, 0)]}))]),
        json!([]),
        V::Null,
        V::Null,
        V::Null,
        V::Null,
    );
    let (found, checked) = audit(&query(json!({"kinds": ["users"]})), &inv, NOW);
    assert_eq!(
        checked,
        [
            "token_no_expiry",
            "token_expiring",
            "root_token",
            "token_expired"
        ]
    );
    assert_eq!(pairs(&found), [("token_no_expiry", "joe@pve!t")]);
}

#[test]
fn narrowed_to_some_users() {
    let inv = inventory(
        json!([
            user("joe@pve", json!({"tokens": [token("t", 1, 0)]})),
            user("ann@pam", json!({"tokens": [token("t", 1, 0)]})),
        ]),
        json!([]),
        json!([{"groupid": "empty", "users": ""}]),
        builtin_roles(),
        json!([
            acl("/", "user", "gone@pve", "PVEAuditor"),
            acl("/", "user", "gone@pam", "PVEAuditor")
        ]),
        default_realms(),
    );
    let (found, checked) = audit(&query(json!({"realms": ["pve"]})), &inv, NOW);
    assert!(!checked.contains(&"group_empty") && !checked.contains(&"role_unused"));
    assert!(checked.contains(&"acl_unknown_principal"));
    let subjects: Vec<&str> = found.iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(subjects, ["joe@pve!t", "joe@pve", "gone@pve", "joe@pve!t"]);
    let (found, _) = audit(&query(json!({"userids": ["ann@pam"]})), &inv, NOW);
    assert!(
        found.iter().all(|f| f.owner.as_deref() == Some("ann@pam")),
        "{found:?}"
    );
}

#[test]
fn summary_counts_by_severity() {
    assert_eq!(summary(&[]), "no findings");
    let inv = with(
        json!([user("joe@pve", json!({"tokens": [token("t", 1, 0)]}))]),
        json!([]),
    );
    let found = audit_all(&inv);
    assert_eq!(summary(&found), "3 findings (2 medium, 1 info)");
    assert_eq!(
        found[0].to_json(),
        json!({"severity": "medium", "kind": "token_no_expiry", "subject": "joe@pve!t",
               "message": "token 'joe@pve!t' never expires, nor does its owner: set expire and rotate it regularly (pve.access.pve_token with expire_in and renew_before)"})
    );
}

#[test]
fn what_the_login_cannot_see_is_not_judged() {
    let mut inv = with(
        json!([user("joe@pve", json!({"tokens": [token("t", 1, 0)]}))]),
        json!([acl("/", "user", "hidden@pve", "PVEAuditor")]),
    );
    inv.hidden = vec!["users"];
    let (found, checked) = audit(&query(json!({})), &inv, NOW);
    let whole: Vec<&str> = RULES.iter().filter(|r| r.whole).map(|r| r.kind).collect();
    assert_eq!(
        whole,
        [
            "acl_unknown_principal",
            "acl_unknown_pool",
            "group_unknown_member",
            "token_without_acl",
            "role_unused"
        ]
    );
    assert!(whole.iter().all(|k| !checked.contains(k)));
    assert!(found.iter().all(|f| !whole.contains(&f.kind)), "{found:?}");
    assert!(checked.contains(&"token_no_expiry"));
}
