use super::*;

fn refusal(m: &[Missing]) -> String {
    let names: Vec<String> = m.iter().map(Missing::name).collect();
    format!("missing: {}", names.join(", "))
}

#[test]
fn nothing_missing_is_silent_in_both_modes() {
    assert_eq!(assume_created(false, &[], refusal), Ok(vec![]));
    assert_eq!(assume_created(true, &[], refusal), Ok(vec![]));
}

#[test]
fn a_real_run_refuses_every_missing_object_once() {
    let m = [
        Missing::new(Kind::Role, "TerraformRole"),
        Missing::new(Kind::User, "terraform@pve"),
        Missing::new(Kind::Role, "TerraformRole"),
    ];
    assert_eq!(
        assume_created(false, &m, refusal),
        Err("missing: role 'TerraformRole', user 'terraform@pve'".into())
    );
}

#[test]
fn check_mode_assumes_and_names_each_assumption() {
    let m = [
        Missing::new(Kind::Role, "TerraformRole"),
        Missing::new(Kind::Token, "terraform@pve!tf"),
        Missing::new(Kind::Group, "ops"),
        Missing::new(Kind::Realm, "ldap"),
        Missing::new(Kind::Group, "ops"),
    ];
    assert_eq!(
        assume_created(true, &m, refusal),
        Ok(vec![
            "role 'TerraformRole' does not exist yet; assuming an earlier task creates it".into(),
            "token 'terraform@pve!tf' does not exist yet; assuming an earlier task creates it"
                .into(),
            "group 'ops' does not exist yet; assuming an earlier task creates it".into(),
            "realm 'ldap' does not exist yet; assuming an earlier task creates it".into(),
        ])
    );
}

#[test]
fn check_mode_refuses_what_no_task_can_create() {
    // A built-in role missing on this version, and a name PVE reserves.
    let m = [
        Missing::new(Kind::Role, "Mine"),
        Missing::new(Kind::Role, "PVESDNUser"),
        Missing::new(Kind::Role, "pveMine"),
        Missing::new(Kind::User, "PVEAuditor@pve"),
    ];
    assert!(!m[1].creatable() && !m[2].creatable());
    assert!(m[0].creatable() && m[3].creatable());
    assert_eq!(
        assume_created(true, &m, refusal),
        Err("missing: role 'PVESDNUser', role 'pveMine'".into())
    );
}

#[test]
fn a_thousand_missing_objects_make_a_readable_answer() {
    let missing: Vec<Missing> = (0..1000)
        .map(|i| Missing::new(Kind::User, format!("u{i}@pve")))
        .collect();
    let warnings = assume_created(true, &missing, refusal).unwrap();
    assert_eq!(warnings.len(), 11);
    assert_eq!(
        warnings[10],
        "and 990 more objects do not exist yet; assuming earlier tasks create them"
    );
    let refused = assume_created(false, &missing, refusal).unwrap_err();
    assert!(
        refused.ends_with("user 'u9@pve' (and 990 more that do not exist)"),
        "{refused}"
    );
}
