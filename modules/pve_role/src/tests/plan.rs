use super::*;
use ansible_module::{json, Map};

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

fn valid9() -> Vec<String> {
    s(&[
        "Datastore.Audit",
        "Sys.Audit",
        "Sys.Modify",
        "VM.Audit",
        "VM.Config.CPU",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.PowerMgmt",
    ])
}

fn valid8() -> Vec<String> {
    s(&[
        "Datastore.Audit",
        "Sys.Audit",
        "Sys.Modify",
        "VM.Audit",
        "VM.Config.CPU",
        "VM.Console",
        "VM.Monitor",
        "VM.PowerMgmt",
    ])
}

fn params(v: Value) -> Params {
    let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
    for (k, d) in [
        ("append", json!(false)),
        ("unknown_privs", json!("fail")),
        ("state", json!("present")),
    ] {
        m.entry(k).or_insert(d);
    }
    Params::from_map(m)
}

fn desired(v: Value) -> Desired {
    Desired::from_params(&params(v)).unwrap()
}

fn role(id: &str, privs: &[&str]) -> Role {
    Role {
        roleid: id.into(),
        privs: s(privs),
        special: ids::builtin_role(id),
    }
}

fn requests(p: &Plan) -> Vec<ApiRequest> {
    p.steps.iter().map(|s| s.request.clone()).collect()
}

fn ok(d: &Desired, cur: Option<&Role>) -> Plan {
    plan(d, cur, &valid9(), false).unwrap()
}

#[test]
fn options_are_read_and_split_like_pveum() {
    let d = desired(
        json!({"roleid": "ops", "privs": ["VM.Audit,Sys.Audit", "VM.Console; VM.PowerMgmt  Datastore.Audit"]}),
    );
    assert_eq!(
        d.privs,
        Some(s(&[
            "VM.Audit",
            "Sys.Audit",
            "VM.Console",
            "VM.PowerMgmt",
            "Datastore.Audit"
        ]))
    );
    assert_eq!(d.state, State::Present);
    assert_eq!(d.unknown_privs, UnknownPrivs::Fail);
    assert!(!d.append);
    let d = desired(json!({"roleid": "ops"}));
    assert_eq!(d.privs, None);
    let d = desired(
        json!({"roleid": "ops", "privs": [], "append": true, "unknown_privs": "warn", "state": "absent"}),
    );
    assert_eq!(d.privs, Some(vec![]));
    assert!(d.append);
    assert_eq!(d.unknown_privs, UnknownPrivs::Warn);
    assert_eq!(d.state, State::Absent);
}

#[test]
fn bad_ids_and_builtin_deletes_are_refused_before_any_request() {
    let e = Desired::from_params(&params(json!({"roleid": "my role"}))).unwrap_err();
    assert!(
        e.contains("role name 'my role' contains invalid characters"),
        "{e}"
    );
    let e = Desired::from_params(&params(json!({"roleid": "PVEVMUser", "state": "absent"})))
        .unwrap_err();
    assert_eq!(
            e,
            "role 'PVEVMUser' is built in (PVE generates it) and cannot be deleted: create a custom role (an id not starting with 'PVE') with the privileges you need and grant that one"
        );
}

#[test]
fn create() {
    let d = desired(json!({"roleid": "ops", "privs": "VM.Audit,Sys.Audit VM.Audit"}));
    let p = ok(&d, None);
    assert!(p.changed);
    assert_eq!(
        requests(&p),
        vec![ApiRequest::post("/access/roles")
            .param("roleid", "ops")
            .param("privs", "Sys.Audit,VM.Audit")]
    );
    assert_eq!(p.before, json!({}));
    assert_eq!(
        p.after,
        json!({"roleid": "ops", "privs": ["Sys.Audit", "VM.Audit"], "special": false})
    );
    assert_eq!(
        p.steps[0].settle,
        Settle::Exactly(s(&["Sys.Audit", "VM.Audit"]))
    );
    assert_eq!(p.msg, "role 'ops' created with Sys.Audit, VM.Audit");
    let p = plan(&d, None, &valid9(), true).unwrap();
    assert_eq!(
        p.msg,
        "role 'ops' would be created with Sys.Audit, VM.Audit"
    );

    // Without privileges (or with an empty list): no privs parameter.
    for d in [
        desired(json!({"roleid": "empty"})),
        desired(json!({"roleid": "empty", "privs": []})),
        desired(json!({"roleid": "empty", "privs": [], "append": true})),
    ] {
        let p = ok(&d, None);
        assert_eq!(
            requests(&p),
            vec![ApiRequest::post("/access/roles").param("roleid", "empty")]
        );
        assert_eq!(p.msg, "role 'empty' created with no privileges");
        assert_eq!(p.after["privs"], json!([]));
    }
}

#[test]
fn no_op_in_any_order() {
    let cur = role("ops", &["Sys.Audit", "VM.Audit"]);
    for d in [
        desired(json!({"roleid": "ops", "privs": ["VM.Audit", "Sys.Audit"]})),
        desired(json!({"roleid": "ops", "privs": "Sys.Audit;VM.Audit,VM.Audit"})),
        desired(json!({"roleid": "ops"})),
        desired(json!({"roleid": "ops", "privs": ["VM.Audit"], "append": true})),
        desired(json!({"roleid": "ops", "privs": [], "append": true})),
    ] {
        let p = ok(&d, Some(&cur));
        assert!(!p.changed, "{d:?}");
        assert!(requests(&p).is_empty());
        assert_eq!(p.before, p.after);
        assert_eq!(p.after, cur.to_json());
        assert_eq!(p.msg, "role 'ops' unchanged");
    }
}

#[test]
fn replace() {
    let cur = role("ops", &["Sys.Audit", "VM.Audit"]);
    let d = desired(json!({"roleid": "ops", "privs": ["VM.Audit", "VM.Console"]}));
    let p = ok(&d, Some(&cur));
    assert!(p.changed);
    assert_eq!(
        requests(&p),
        vec![ApiRequest::put("/access/roles/ops").param("privs", "VM.Audit,VM.Console")]
    );
    assert_eq!(p.before, cur.to_json());
    assert_eq!(p.after["privs"], json!(["VM.Audit", "VM.Console"]));
    assert_eq!(
        p.msg,
        "role 'ops' updated: added VM.Console; removed Sys.Audit"
    );
    assert_eq!(
        p.steps[0].settle,
        Settle::Exactly(s(&["VM.Audit", "VM.Console"]))
    );
    let p = plan(&d, Some(&cur), &valid9(), true).unwrap();
    assert_eq!(
        p.msg,
        "role 'ops' would be updated: added VM.Console; removed Sys.Audit"
    );

    // An empty list empties the role: a PUT without privs.
    let d = desired(json!({"roleid": "ops", "privs": []}));
    let p = ok(&d, Some(&cur));
    assert_eq!(requests(&p), vec![ApiRequest::put("/access/roles/ops")]);
    assert_eq!(p.after["privs"], json!([]));
    assert_eq!(p.msg, "role 'ops' updated: removed Sys.Audit, VM.Audit");
    assert_eq!(p.steps[0].settle, Settle::Exactly(vec![]));
}

#[test]
fn append_uses_the_apis_append() {
    let cur = role("ops", &["Sys.Audit", "VM.Audit"]);
    let d = desired(json!({"roleid": "ops", "privs": ["VM.Console", "VM.Audit"], "append": true}));
    let p = ok(&d, Some(&cur));
    assert_eq!(
        requests(&p),
        vec![ApiRequest::put("/access/roles/ops")
            .param("privs", "VM.Audit,VM.Console")
            .param("append", 1)]
    );
    assert_eq!(
        p.after["privs"],
        json!(["Sys.Audit", "VM.Audit", "VM.Console"])
    );
    assert_eq!(p.msg, "role 'ops' updated: added VM.Console");
    assert_eq!(
        p.steps[0].settle,
        Settle::Includes(s(&["VM.Audit", "VM.Console"]))
    );
}

#[test]
fn absent() {
    let d = desired(json!({"roleid": "ops", "state": "absent", "privs": ["Bogus.Priv"]}));
    let p = ok(&d, None);
    assert!(!p.changed && requests(&p).is_empty());
    assert_eq!(p.msg, "role 'ops' does not exist");
    assert_eq!((p.before, p.after), (json!({}), json!({})));

    let cur = role("ops", &["VM.Audit"]);
    let p = ok(&d, Some(&cur));
    assert!(p.changed);
    assert_eq!(requests(&p), vec![ApiRequest::delete("/access/roles/ops")]);
    assert_eq!(p.before, cur.to_json());
    assert_eq!(p.after, json!({}));
    assert_eq!(p.steps[0].settle, Settle::Absent);
    assert_eq!(p.msg, "role 'ops' deleted");
    assert_eq!(
        plan(&d, Some(&cur), &valid9(), true).unwrap().msg,
        "role 'ops' would be deleted"
    );
    // A role the server calls special is never deleted, whatever its name.
    let mut special = role("Custom", &[]);
    special.special = true;
    let d = desired(json!({"roleid": "Custom", "state": "absent"}));
    assert!(matches!(
        plan(&d, Some(&special), &valid9(), false),
        Err(Refusal::Refused(Refused(m))) if m.contains("cannot be deleted")
    ));
}

#[test]
fn role_ids_are_path_segments() {
    let cur = role("a.b-c_d", &["VM.Audit"]);
    let d = desired(json!({"roleid": "a.b-c_d", "state": "absent"}));
    assert_eq!(
        requests(&ok(&d, Some(&cur))),
        vec![ApiRequest::delete("/access/roles/a.b-c_d")]
    );
}

#[test]
fn unknown_privileges_fail_before_any_write() {
    let d = desired(json!({"roleid": "ops", "privs": ["VM.Audit", "VM.Config.cpu", "VM.Monitor"]}));
    for cur in [None, Some(role("ops", &["VM.Audit"]))] {
        let Err(Refusal::UnknownPrivs(u)) = plan(&d, cur.as_ref(), &valid9(), false) else {
            panic!("expected a refusal");
        };
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].suggestions, s(&["VM.Config.CPU"]));
        let msg = unknown_privs_message("ops", &u, Some("9.1.1"), 47);
        assert_eq!(
                msg,
                "role 'ops' not changed: unknown privileges 'VM.Config.cpu' (did you mean VM.Config.CPU?), 'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access): PVE 9.1.1 has 47 privileges (those of the built-in Administrator role). Fix the names, or set unknown_privs: warn to leave out names a server does not know (for playbooks shared by PVE 8 and 9 clusters)"
            );
    }
    // Append mode checks as well, even when the rest is already there.
    let d = desired(json!({"roleid": "ops", "privs": ["VM.Audit", "VM.Audti"], "append": true}));
    assert!(matches!(
        plan(&d, Some(&role("ops", &["VM.Audit"])), &valid9(), false),
        Err(Refusal::UnknownPrivs(u)) if u[0].suggestions == s(&["VM.Audit"])
    ));
}

#[test]
fn vm_monitor_valid_on_pve8_only() {
    let d = desired(json!({"roleid": "mon", "privs": ["VM.Monitor", "VM.Audit"]}));
    let p = plan(&d, None, &valid8(), false).unwrap();
    assert_eq!(p.after["privs"], json!(["VM.Audit", "VM.Monitor"]));
    assert!(p.warnings.is_empty());
    assert!(matches!(
        plan(&d, None, &valid9(), false),
        Err(Refusal::UnknownPrivs(_))
    ));
}

#[test]
fn unknown_privileges_are_left_out_with_warn() {
    let d = desired(
        json!({"roleid": "mon", "privs": ["VM.Monitor", "VM.Audit", "VM.GuestAgent.Audit"], "unknown_privs": "warn"}),
    );
    // PVE 9: VM.Monitor left out.
    let p = plan(&d, None, &valid9(), false).unwrap();
    assert_eq!(p.after["privs"], json!(["VM.Audit", "VM.GuestAgent.Audit"]));
    assert_eq!(
        requests(&p),
        vec![ApiRequest::post("/access/roles")
            .param("roleid", "mon")
            .param("privs", "VM.Audit,VM.GuestAgent.Audit")]
    );
    assert_eq!(
            p.warnings,
            vec!["left out of role 'mon' because this server does not know them (unknown_privs: warn): 'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access)".to_string()]
        );
    // PVE 8: VM.GuestAgent.Audit left out; second run unchanged, still warned.
    let p = plan(&d, None, &valid8(), false).unwrap();
    assert_eq!(p.after["privs"], json!(["VM.Audit", "VM.Monitor"]));
    assert!(p.warnings[0].contains("'VM.GuestAgent.Audit' (added in PVE 9.0"));
    let cur = role("mon", &["VM.Audit", "VM.Monitor"]);
    let p = plan(&d, Some(&cur), &valid8(), false).unwrap();
    assert!(!p.changed && requests(&p).is_empty());
    assert_eq!(p.warnings.len(), 1);
}

#[test]
fn builtin_roles() {
    let cur = role("PVEAuditor", &["Sys.Audit", "VM.Audit"]);
    // Unchanged is fine: no privs, or exactly its privileges, or a subset appended.
    for d in [
        desired(json!({"roleid": "PVEAuditor"})),
        desired(json!({"roleid": "PVEAuditor", "privs": ["VM.Audit", "Sys.Audit"]})),
        desired(json!({"roleid": "PVEAuditor", "privs": ["VM.Audit"], "append": true})),
    ] {
        let p = ok(&d, Some(&cur));
        assert!(!p.changed && requests(&p).is_empty());
        assert_eq!(p.after["special"], json!(true));
    }
    for d in [
        desired(json!({"roleid": "PVEAuditor", "privs": ["VM.Audit"]})),
        desired(json!({"roleid": "PVEAuditor", "privs": ["VM.Console"], "append": true})),
    ] {
        let Err(Refusal::Refused(Refused(m))) = plan(&d, Some(&cur), &valid9(), false) else {
            panic!("expected a refusal");
        };
        assert_eq!(
                m,
                "role 'PVEAuditor' is built in (PVE generates it) and cannot be changed: create a custom role (an id not starting with 'PVE') with the privileges you need and grant that one"
            );
    }
}

#[test]
fn pve_prefix_is_refused_for_new_roles_only() {
    for id in ["PVEMonitoring", "pveThing", "Pve"] {
        let d = desired(json!({"roleid": id, "privs": ["VM.Audit"]}));
        let Err(Refusal::Refused(Refused(m))) = plan(&d, None, &valid9(), false) else {
            panic!("expected a refusal for {id}");
        };
        assert!(
            m.starts_with(&format!(
                "cannot create role '{id}': role ids starting with 'PVE'"
            )),
            "{m}"
        );
    }
    // An old custom role with such a name (PVE 7) can still be managed.
    let cur = role("PVEOldCustom", &["VM.Audit"]);
    let d = desired(json!({"roleid": "PVEOldCustom", "privs": ["VM.Audit", "Sys.Audit"]}));
    let p = ok(&d, Some(&cur));
    assert_eq!(
        requests(&p),
        vec![ApiRequest::put("/access/roles/PVEOldCustom").param("privs", "Sys.Audit,VM.Audit")]
    );
    let d = desired(json!({"roleid": "PVEOldCustom", "state": "absent"}));
    assert!(ok(&d, Some(&cur)).changed);
}

#[test]
fn settling_a_lost_answer() {
    let r = role("ops", &["Sys.Audit", "VM.Audit"]);
    assert!(Settle::Exactly(s(&["Sys.Audit", "VM.Audit"])).met_by(Some(&r)));
    assert!(!Settle::Exactly(s(&["VM.Audit"])).met_by(Some(&r)));
    assert!(!Settle::Exactly(vec![]).met_by(None));
    assert!(Settle::Includes(s(&["VM.Audit"])).met_by(Some(&r)));
    assert!(!Settle::Includes(s(&["VM.Console"])).met_by(Some(&r)));
    assert!(Settle::Absent.met_by(None));
    assert!(!Settle::Absent.met_by(Some(&r)));
}

#[test]
fn what_is_taken_away_from_roles() {
    let cur = role("Ops", &["Sys.Audit", "VM.Audit"]);
    let changes = |args: Value, cur: Option<&Role>| {
        let p = ok(&desired(args), cur);
        lockout_changes(cur, &p)
    };
    assert_eq!(
        changes(
            json!({"roleid": "Ops", "privs": ["VM.Audit", "VM.Console"]}),
            Some(&cur)
        ),
        [Change::RolePrivs {
            roleid: "Ops".into(),
            removed: s(&["Sys.Audit"]),
            deleted: false
        }]
    );
    assert_eq!(
        changes(json!({"roleid": "Ops", "state": "absent"}), Some(&cur)),
        [Change::RolePrivs {
            roleid: "Ops".into(),
            removed: s(&["Sys.Audit", "VM.Audit"]),
            deleted: true
        }]
    );
    // Adding, appending, no change and creating take nothing away.
    for args in [
        json!({"roleid": "Ops", "privs": ["Sys.Audit", "VM.Audit", "VM.Console"]}),
        json!({"roleid": "Ops", "privs": ["VM.Console"], "append": true}),
        json!({"roleid": "Ops", "privs": ["VM.Audit", "Sys.Audit"]}),
    ] {
        assert_eq!(changes(args, Some(&cur)), []);
    }
    assert_eq!(changes(json!({"roleid": "Ops", "privs": []}), None), []);
}
