use super::*;
use ansible_module::json;
use pve_api::access::{acl_from_json, group_from_json, role_from_json};

/// 2027-01-15T08:00:00Z
pub const NOW: i64 = 1_800_000_000;
pub const DAY: i64 = 86_400;

pub fn params(v: Value) -> Params {
    Params::from_map(v.as_object().cloned().unwrap_or_default())
}

pub fn query(v: Value) -> Query {
    Query::from_params(&params(v)).unwrap()
}

fn query_err(v: Value) -> String {
    Query::from_params(&params(v)).unwrap_err()
}

fn list<T>(v: &Value, key: &str, parse: impl Fn(&str, &Value) -> Result<T, String>) -> Vec<T> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|item| parse(item[key].as_str().unwrap(), item).unwrap())
        .collect()
}

/// An inventory from the answers PVE gives (`null` for a kind not read).
pub fn inventory(
    users: Value,
    tfa: Value,
    groups: Value,
    roles: Value,
    acl: Value,
    realms: Value,
) -> Inventory {
    let some = |v: &Value| !v.is_null();
    Inventory {
        users: some(&users).then(|| accounts_from_json(&users).unwrap()),
        tfa: some(&tfa).then(|| tfa_from_json(&tfa).unwrap()),
        groups: some(&groups).then(|| list(&groups, "groupid", group_from_json)),
        roles: some(&roles).then(|| list(&roles, "roleid", role_from_json)),
        acl: some(&acl).then(|| {
            acl.as_array()
                .unwrap()
                .iter()
                .map(|e| acl_from_json(e).unwrap())
                .collect()
        }),
        realms: some(&realms).then(|| realms_from_json(&realms).unwrap()),
        pools: None,
        hidden: Vec::new(),
    }
}

/// PVE's two realms.
pub fn default_realms() -> Value {
    json!([
        {"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
        {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server", "default": 1},
    ])
}

/// Administrator and PVEAuditor as the index shows them.
pub fn builtin_roles() -> Value {
    json!([
        {"roleid": "Administrator", "privs": "Permissions.Modify,Sys.Audit,Sys.Modify,VM.Audit", "special": 1},
        {"roleid": "NoAccess", "privs": "", "special": 1},
        {"roleid": "PVEAuditor", "privs": "Sys.Audit,VM.Audit", "special": 1},
    ])
}

#[test]
fn options() {
    let q = query(json!({}));
    assert_eq!(q.kinds.len(), 5);
    assert_eq!(q.expiring_within, 30 * DAY);
    assert!(!q.narrowed());
    assert!(q.fail_on.is_empty());

    let q = query(json!({"kinds": ["acl", "users"], "expiring_within": "2w",
                         "fail_on": ["high", "token_no_expiry"]}));
    assert_eq!(q.kinds, [Kind::Users, Kind::Acl].into_iter().collect());
    assert_eq!(q.expiring_within, 14 * DAY);
    assert_eq!(
        q.fail_on,
        [
            Gate::Severity(Severity::High),
            Gate::Kind("token_no_expiry")
        ]
    );

    let q = query(json!({"userids": ["joe@pve"], "realms": ["ldap1"]}));
    assert!(q.narrowed());
    assert!(!q.selects("joe@pve"), "both must hold");
    let q = query(json!({"realms": ["pve"]}));
    assert!(q.selects("joe@pve") && !q.selects("root@pam"));
    assert!(query(json!({"userids": ["a@b@pve"]})).selects("a@b@pve"));
}

#[test]
fn bad_options_say_what_to_do() {
    assert_eq!(
        query_err(json!({"kinds": []})),
        "kinds is empty: name at least one of users, groups, roles, acl, realms, pools, or leave it out for all but pools"
    );
    assert!(query_err(json!({"kinds": ["tokens"]})).starts_with("kinds: unknown kind 'tokens'"));
    let e = query_err(json!({"fail_on": ["critical"]}));
    assert!(
        e.starts_with("fail_on: 'critical' is neither a severity (high, medium, low, info) nor a kind of finding (token_privsep_admin, "),
        "{e}"
    );
    assert_eq!(
        query_err(json!({"kinds": ["users"], "fail_on": ["token_privsep_admin"]})),
        "fail_on names token_privsep_admin, which needs kinds users, roles, acl: add roles, acl to kinds (or leave kinds out)"
    );
    // A severity gates whatever the kinds allow.
    query(json!({"kinds": ["users"], "fail_on": ["high"]}));
    assert!(query_err(json!({"expiring_within": "soon"}))
        .starts_with("expiring_within: invalid duration 'soon'"));
    assert!(query_err(json!({"userids": ["joe"]})).starts_with("userids: "));
    assert!(query_err(json!({"realms": ["p ve"]})).starts_with("realms: 'p ve' is not a realm id"));
}

#[test]
fn the_user_index_with_tokens_and_what_it_hides() {
    let accounts = accounts_from_json(&json!([
        {"userid": "joe@pve", "enable": 1, "expire": 0, "realm-type": "pve", "groups": "ops,admins",
         "keys": "x!oathsecret", "email": "",
         "tokens": [{"tokenid": "ci", "privsep": 0, "expire": NOW + DAY, "comment": "CI"},
                    {"tokenid": "a", "privsep": 1, "expire": 0}]},
        {"userid": "alice@pam", "enable": 0, "expire": NOW - DAY, "groups": "", "tokens": null},
    ]))
    .unwrap();
    assert_eq!(accounts[0].user.userid, "alice@pam", "sorted");
    assert_eq!(accounts[0].realm_type, None);
    assert!(accounts[0].tokens.is_empty());
    let joe = &accounts[1];
    assert_eq!(joe.user.groups, ["admins", "ops"]);
    assert!(joe.has_keys);
    assert_eq!(joe.user.email, None);
    let names: Vec<&str> = joe.tokens.iter().map(|t| t.tokenid.as_str()).collect();
    assert_eq!(names, ["a", "ci"]);
    assert!(!joe.tokens[1].privsep);
    assert_eq!(joe.tokens[1].comment.as_deref(), Some("CI"));

    assert!(accounts_from_json(&json!({"userid": "x@pve"})).is_err());
    assert!(accounts_from_json(&json!([{"userid": "x@pve", "tokens": [{"privsep": 1}]}])).is_err());
}

#[test]
fn second_factors_enabled_only() {
    let tfa = tfa_from_json(&json!([
        {"userid": "joe@pve", "entries": [
            {"type": "totp", "id": "t1", "created": 1},
            {"type": "webauthn", "id": "w1", "enable": 0},
            {"type": "recovery", "id": "r", "enable": 1},
            {"type": "totp", "id": "t2", "enable": true},
        ]},
        {"userid": "ann@pve", "entries": []},
    ]))
    .unwrap();
    assert_eq!(tfa["joe@pve"], ["recovery", "totp"]);
    assert!(tfa["ann@pve"].is_empty());
    assert!(tfa_from_json(&json!([{"entries": []}])).is_err());
}

#[test]
fn realms_keep_no_other_attribute() {
    let realms = realms_from_json(&json!([
        {"realm": "pve", "type": "pve", "default": 1, "comment": "PVE"},
        {"realm": "corp", "type": "ldap", "tfa": "oath", "password": "bind-secret", "bind_dn": "cn=x"},
    ]))
    .unwrap();
    let v: Vec<Value> = realms.iter().map(realm_json).collect();
    assert_eq!(
        Value::Array(v),
        json!([
            {"realm": "corp", "type": "ldap", "default": false, "tfa": "oath", "comment": null},
            {"realm": "pve", "type": "pve", "default": true, "comment": "PVE"},
        ])
    );
}

fn sample() -> Inventory {
    inventory(
        json!([
            {"userid": "joe@pve", "enable": 1, "expire": NOW + 10 * DAY, "realm-type": "pve",
             "groups": "ops", "keys": "x!secretkey", "firstname": "Joe",
             "tokens": [{"tokenid": "ci", "privsep": 1, "expire": 0},
                        {"tokenid": "old", "privsep": 0, "expire": NOW - 3 * DAY - 1}]},
            {"userid": "root@pam", "enable": 1, "expire": 0, "realm-type": "pam", "groups": "", "tokens": null},
        ]),
        json!([{"userid": "joe@pve", "entries": [{"type": "totp"}]}]),
        json!([{"groupid": "ops", "users": "joe@pve", "comment": "Ops"}]),
        builtin_roles(),
        json!([
            {"path": "/", "type": "user", "ugid": "root@pam", "roleid": "PVEAuditor", "propagate": 1},
            {"path": "/vms", "type": "group", "ugid": "ops", "roleid": "PVEAuditor", "propagate": 1},
            {"path": "/vms/100", "type": "token", "ugid": "joe@pve!ci", "roleid": "PVEAuditor", "propagate": 0},
        ]),
        default_realms(),
    )
}

#[test]
fn the_result() {
    let out = result(&query(json!({})), &sample(), &[], &["group_empty"], NOW);
    assert_eq!(out["changed"], false);
    let joe = &out["users"][0];
    assert_eq!(joe["userid"], "joe@pve");
    assert_eq!(joe["realm"], "pve");
    assert_eq!(joe["realm_type"], "pve");
    assert_eq!(joe["expire"], NOW + 10 * DAY);
    assert_eq!(joe["expire_date"], "2027-01-25T08:00:00Z");
    assert_eq!(joe["expired"], false);
    assert_eq!(joe["expires_in_days"], 10);
    assert_eq!(joe["tfa"], json!(["totp"]));
    assert!(joe.get("keys").is_none(), "OATH keys are secrets");
    assert!(!out.values().any(|v| v.to_string().contains("secretkey")));
    // A token without an expiry of its own ends with its owner.
    let ci = &joe["tokens"][0];
    assert_eq!(ci["full_tokenid"], "joe@pve!ci");
    assert_eq!(
        (ci["expire"].clone(), ci["expire_date"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(ci["expires_in_days"], 10);
    let old = &joe["tokens"][1];
    assert_eq!(
        (old["expired"].clone(), old["expires_in_days"].clone()),
        (json!(true), json!(-4))
    );
    assert_eq!(old["privsep"], false);
    let root = &out["users"][1];
    assert_eq!(root["tfa"], json!([]));
    assert_eq!(
        (root["expire_date"].clone(), root["expires_in_days"].clone()),
        (Value::Null, Value::Null)
    );

    assert_eq!(
        out["groups"],
        json!([{"groupid": "ops", "comment": "Ops", "members": ["joe@pve"]}])
    );
    let auditor = &out["roles"][2];
    assert_eq!(auditor["roleid"], "PVEAuditor");
    assert_eq!(auditor["special"], true);
    assert_eq!(auditor["acl"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        auditor["acl"][2],
        json!({"path": "/vms/100", "type": "token", "ugid": "joe@pve!ci", "propagate": false})
    );
    assert_eq!(out["roles"][0]["acl"], json!([]));
    assert_eq!(out["acl"].as_array().map(Vec::len), Some(3));
    assert_eq!(out["realms"][1]["default"], true);
    assert_eq!(out["checked"], json!(["group_empty"]));
    assert_eq!(
        out["msg"],
        "audited 2 users (with 2 tokens), 1 group, 3 roles, 3 ACL entries, 2 realms: no findings"
    );
}

#[test]
fn without_tfa_answer_users_have_no_tfa() {
    let mut inv = sample();
    inv.tfa = None;
    let out = result(&query(json!({})), &inv, &[], &[], NOW);
    assert!(out["users"][0].get("tfa").is_none());
}

#[test]
fn narrowed_to_users_and_realms() {
    let inv = sample();
    let out = result(&query(json!({"userids": ["joe@pve"]})), &inv, &[], &[], NOW);
    assert_eq!(out["users"].as_array().map(Vec::len), Some(1));
    let ugids: Vec<&str> = out["acl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ugid"].as_str().unwrap())
        .collect();
    assert_eq!(
        ugids,
        ["ops", "joe@pve!ci"],
        "his groups' and tokens' entries, not root's"
    );
    assert_eq!(
        out["groups"].as_array().map(Vec::len),
        Some(1),
        "groups are not narrowed"
    );

    let out = result(&query(json!({"realms": ["pam"]})), &inv, &[], &[], NOW);
    assert_eq!(out["users"][0]["userid"], "root@pam");
    assert_eq!(
        out["realms"],
        json!([{"realm": "pam", "type": "pam", "default": false, "comment": "Linux PAM standard authentication"}])
    );
    assert_eq!(out["acl"].as_array().map(Vec::len), Some(1));
}

#[test]
fn only_the_kinds_read() {
    let inv = inventory(
        json!([]),
        Value::Null,
        Value::Null,
        builtin_roles(),
        Value::Null,
        Value::Null,
    );
    let out = result(
        &query(json!({"kinds": ["users", "roles"]})),
        &inv,
        &[],
        &[],
        NOW,
    );
    let keys: Vec<&String> = out.keys().collect();
    assert_eq!(
        keys,
        ["changed", "checked", "findings", "msg", "roles", "users"]
    );
    assert!(out["roles"][0].get("acl").is_none(), "the ACL was not read");
    assert_eq!(
        out["msg"],
        "audited 0 users (with 0 tokens), 3 roles: no findings"
    );
}

#[test]
fn the_gate_lists_every_match() {
    let f = |severity, kind: &'static str, subject: &str| Finding {
        severity,
        kind,
        subject: subject.into(),
        message: format!("{subject} is bad"),
        owner: None,
    };
    let found = [
        f(Severity::High, "token_privsep_admin", "a@pve!t"),
        f(Severity::Medium, "token_no_expiry", "b@pve!t"),
        f(Severity::Info, "group_empty", "g"),
    ];
    let q = query(json!({"fail_on": ["high", "group_empty"]}));
    let matched = gated(&q, &found);
    assert_eq!(matched.len(), 2);
    assert_eq!(
        gate_message(&matched),
        "2 findings matched fail_on: [high] token_privsep_admin: a@pve!t is bad; [info] group_empty: g is bad"
    );
    assert!(gated(&query(json!({})), &found).is_empty());
    assert!(gated(&query(json!({"fail_on": ["low"]})), &found).is_empty());
}

fn perms(v: Value) -> Permissions {
    pve_api::access::permissions_from_json(&v).unwrap()
}

#[test]
fn what_pve_hides_from_a_login() {
    let all = query(json!({}));
    let auditor = perms(
        json!({"/": {"Sys.Audit": 1}, "/access": {"Sys.Audit": 1}, "/access/groups": {"Sys.Audit": 1}}),
    );
    assert!(hidden(&all, &auditor).is_empty());
    let user_admin =
        perms(json!({"/access": {"Sys.Audit": 1}, "/access/groups": {"User.Modify": 1}}));
    assert!(hidden(&all, &user_admin).is_empty());
    let nobody = perms(json!({"/vms": {"VM.Audit": 1}}));
    assert_eq!(
        hidden(&all, &nobody),
        [
            "users, groups and second factors outside its groups (it lacks Sys.Audit on /access/groups)",
            "ACL entries on paths it may not change (it lacks Sys.Audit on /access)",
        ]
    );
    // Only what the task reads matters.
    assert!(hidden(&query(json!({"kinds": ["roles", "realms"]})), &nobody).is_empty());
    assert_eq!(hidden(&query(json!({"kinds": ["acl"]})), &nobody).len(), 1);
    // The pool index lists only the pools the login may audit.
    let pools = query(json!({"kinds": ["pools"]}));
    assert_eq!(
        hidden(&pools, &nobody),
        ["pools it may not audit (it lacks Pool.Audit on /pool)"]
    );
    assert!(hidden(&pools, &perms(json!({"/pool": {"Pool.Audit": 1}}))).is_empty());
}

#[test]
fn pools_are_read_only_when_named_and_listed_with_their_members() {
    assert!(!query(json!({})).kinds.contains(&Kind::Pools));
    assert_eq!(
        query_err(json!({"kinds": ["acl"], "fail_on": ["acl_unknown_pool"]})),
        "fail_on names acl_unknown_pool, which needs kinds acl, pools: add pools to kinds"
    );
    let mut inv = sample();
    let mut web = pve_pool::plan::Pool::new("web");
    web.vms = vec![100];
    web.storage = vec!["local".into()];
    inv.pools = Some(vec![web, pve_pool::plan::Pool::new("web/app")]);
    let q = query(json!({"kinds": ["pools"]}));
    let out = result(&q, &inv, &[], &[], NOW);
    assert_eq!(
        out["pools"],
        json!([
            {"poolid": "web", "comment": null, "vms": [100], "storage": ["local"]},
            {"poolid": "web/app", "comment": null, "vms": [], "storage": []}
        ])
    );
    assert!(
        out["msg"].as_str().unwrap().contains("2 pools"),
        "{}",
        out["msg"]
    );
}

#[test]
fn a_gate_on_what_was_not_checked_fails() {
    let mut inv = sample();
    let q = query(json!({"fail_on": ["high", "acl_unknown_principal"]}));
    let all: Vec<&str> = findings::RULES.iter().map(|r| r.kind).collect();
    assert_eq!(unchecked_gate(&q, &inv, &all), None);
    inv.hidden = vec!["ACL entries"];
    let (_, checked) = findings::audit(&q, &inv, NOW);
    assert_eq!(
        unchecked_gate(&q, &inv, &checked).as_deref(),
        Some("fail_on names acl_unknown_principal, which this run could not check: PVE does not show this login everything (see the warning); the gate would pass whatever the state")
    );
    let q = query(json!({"fail_on": ["group_empty"], "userids": ["joe@pve"]}));
    let (_, checked) = findings::audit(&q, &sample(), NOW);
    assert!(unchecked_gate(&q, &sample(), &checked)
        .unwrap()
        .contains("userids and realms narrow the audit"));
    let q = query(json!({"fail_on": ["user_no_tfa"]}));
    let mut no_tfa = sample();
    no_tfa.tfa = None;
    let (_, checked) = findings::audit(&q, &no_tfa, NOW);
    assert!(unchecked_gate(&q, &no_tfa, &checked)
        .unwrap()
        .contains("did not tell the users' second factors"));
    // A severity gates whatever was checked.
    assert_eq!(
        unchecked_gate(&query(json!({"fail_on": ["info"]})), &no_tfa, &checked),
        None
    );
}

#[test]
fn root_and_its_shared_tokens_see_everything() {
    let inv = inventory(
        json!([{"userid": "root@pam", "groups": "", "tokens": [
            {"tokenid": "full", "privsep": 0}, {"tokenid": "sep", "privsep": 1}]}]),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    );
    assert!(sees_everything("root@pam", &inv));
    assert!(sees_everything("root@pam!full", &inv));
    assert!(
        !sees_everything("root@pam!sep", &inv),
        "only what its own ACL entries give it"
    );
    assert!(!sees_everything("root@pam!gone", &inv));
    assert!(!sees_everything("admin@pve", &inv));
    assert!(
        !sees_everything("root@pam!full", &Inventory::default()),
        "the users were not read"
    );
}
