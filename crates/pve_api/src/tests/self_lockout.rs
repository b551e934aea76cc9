use super::*;

fn user(userid: &str, groups: &[&str]) -> Caller {
    Caller {
        userid: userid.into(),
        token: None,
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        privsep: None,
    }
}

fn token(full: &str, groups: &[&str], privsep: Option<bool>) -> Caller {
    let (owner, _) = full.split_once('!').unwrap();
    Caller {
        token: Some(full.into()),
        privsep,
        ..user(owner, groups)
    }
}

fn entry(path: &str, kind: PrincipalKind, ugid: &str, roleid: &str) -> AclEntry {
    AclEntry {
        path: path.into(),
        kind,
        ugid: ugid.into(),
        roleid: roleid.into(),
        propagate: true,
    }
}

fn removed(kind: PrincipalKind, ugid: &str) -> Change {
    Change::AclEntry {
        entry: entry("/", kind, ugid, "Administrator"),
        propagation_only: false,
    }
}

fn role_privs(roleid: &str, deleted: bool) -> Change {
    Change::RolePrivs {
        roleid: roleid.into(),
        removed: vec!["Sys.Audit".into()],
        deleted,
    }
}

/// What of `changes` is refused without the option.
fn refused(caller: &Caller, acl: &[AclEntry], changes: &[Change]) -> Vec<String> {
    weakened(caller, acl, changes)
        .into_iter()
        .map(|w| w.what)
        .collect()
}

use PrincipalKind::{Group, Token, User};

#[test]
fn the_identity_is_read_from_the_login() {
    let c = Caller::new(&Identity::Token {
        owner: "ci@pve".into(),
        full: "ci@pve!deploy".into(),
    });
    assert_eq!(c, token("ci@pve!deploy", &[], None).with_groups(None));
    assert_eq!(Caller::new(&Identity::LocalRoot).userid, "root@pam");
    assert_eq!(Caller::new(&Identity::User("a@pve".into())).token, None);
}

impl Caller {
    fn with_groups(mut self, groups: Option<Vec<String>>) -> Caller {
        self.groups = groups;
        self
    }
}

#[test]
fn own_user_group_and_privsep_token_entries_are_protected() {
    let alice = user("alice@pve", &["admins"]);
    let all = [
        removed(User, "alice@pve"),
        removed(Group, "admins"),
        removed(Group, "others"),
        removed(User, "bob@pve"),
        removed(Token, "alice@pve!t"),
    ];
    assert_eq!(
        refused(&alice, &[], &all),
        [
            "remove role 'Administrator' of user 'alice@pve' on '/'",
            "remove role 'Administrator' of group 'admins' on '/'",
        ]
    );
    // A privsep token: its owner's entries and its own.
    let t = token("alice@pve!t", &["admins"], Some(true));
    assert_eq!(refused(&t, &[], &all).len(), 3);
    // A full token: its own entries give it nothing.
    let full = token("alice@pve!t", &["admins"], Some(false));
    assert_eq!(refused(&full, &[], &all).len(), 2);
    // Unknown privsep counts as on; unknown groups make every group count.
    let unknown = token("alice@pve!t", &[], None).with_groups(None);
    let r = refused(&unknown, &[], &all);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(
        r[1].contains("cannot read the groups of alice@pve"),
        "{r:?}"
    );
}

#[test]
fn losing_propagation_is_weakening() {
    let alice = user("alice@pve", &[]);
    let c = Change::AclEntry {
        entry: entry("/vms", User, "alice@pve", "PVEVMAdmin"),
        propagation_only: true,
    };
    assert_eq!(
        refused(&alice, &[], &[c]),
        ["stop propagating role 'PVEVMAdmin' of user 'alice@pve' on '/vms'"]
    );
}

#[test]
fn memberships_and_group_deletion() {
    let alice = user("alice@pve", &["admins"]);
    let changes = [
        Change::Membership {
            userid: "alice@pve".into(),
            group: "admins".into(),
        },
        Change::Membership {
            userid: "bob@pve".into(),
            group: "admins".into(),
        },
        Change::GroupDeleted {
            group: "admins".into(),
            members: vec!["alice@pve".into(), "bob@pve".into()],
        },
        Change::GroupDeleted {
            group: "others".into(),
            members: vec!["bob@pve".into()],
        },
    ];
    assert_eq!(
        refused(&alice, &[], &changes),
        [
            "take alice@pve out of group 'admins'",
            "delete group 'admins', which alice@pve is a member of",
        ]
    );
    // A token's owner's memberships are the token's too.
    assert_eq!(
        refused(&token("alice@pve!t", &[], Some(false)), &[], &changes).len(),
        2
    );
}

#[test]
fn privileges_of_roles_in_own_entries() {
    let acl = [
        entry("/", Group, "admins", "Ops"),
        entry("/vms", User, "bob@pve", "Other"),
        entry("/", Token, "alice@pve!t", "TokenRole"),
    ];
    let alice = user("alice@pve", &["admins"]);
    let changes = [
        role_privs("Ops", false),
        role_privs("Other", true),
        role_privs("TokenRole", true),
    ];
    assert_eq!(
        refused(&alice, &acl, &changes),
        ["remove Sys.Audit from role 'Ops', which the entries of group 'admins' on '/' use"]
    );
    let t = token("alice@pve!t", &["admins"], Some(true));
    assert_eq!(
        refused(&t, &acl, &changes)[1],
        "delete role 'TokenRole', which the entries of token 'alice@pve!t' on '/' use"
    );
    // A role that loses no privilege weakens nothing.
    let empty = Change::RolePrivs {
        roleid: "Ops".into(),
        removed: vec![],
        deleted: true,
    };
    assert!(refused(&alice, &acl, &[empty]).is_empty());
}

#[test]
fn root_needs_no_entry_group_or_role() {
    let root = user("root@pam", &["admins"]);
    let acl = [entry("/", Group, "admins", "Ops")];
    let changes = [
        removed(Group, "admins"),
        Change::Membership {
            userid: "root@pam".into(),
            group: "admins".into(),
        },
        role_privs("Ops", true),
    ];
    assert!(refused(&root, &acl, &changes).is_empty());
    assert!(!root.needs_reading(&changes) && !root.needs_acl(&changes));
    // But a privsep token of root@pam has only its own entries.
    let t = token("root@pam!t", &[], None);
    assert_eq!(
        refused(&t, &[], &[removed(Token, "root@pam!t")]),
        ["remove role 'Administrator' of token 'root@pam!t' on '/'"]
    );
}

#[test]
fn deleting_or_disabling_oneself_or_root_is_never_done() {
    let alice = user("alice@pve", &[]);
    let changes = [
        Change::UserDeleted("alice@pve".into()),
        Change::UserDisabled("root@pam".into()),
        Change::UserDeleted("bob@pve".into()),
    ];
    let w = weakened(&alice, &[], &changes);
    assert_eq!(w.len(), 2);
    assert!(w.iter().all(|w| w.hard));
    let msg = refusal(&alice, &w, true).unwrap();
    assert_eq!(
        msg,
        "refusing to delete alice@pve, the user this module authenticates as; disable root@pam, the administrator of last resort on every PVE node: this module never does that, not even with allow_self_lockout: true; do it with another login. Nothing was changed"
    );
    let t = token("alice@pve!t", &[], None);
    let w = weakened(
        &t,
        &[],
        &[
            Change::UserDisabled("alice@pve".into()),
            Change::TokenDeleted("alice@pve!t".into()),
            Change::TokenDeleted("alice@pve!other".into()),
        ],
    );
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].what.contains("the owner of the token"), "{w:?}");
}

#[test]
fn expiry_coming_sooner_is_weakening() {
    let alice = user("alice@pve", &[]);
    let expire = |from, to| Change::UserExpire {
        userid: "alice@pve".into(),
        from,
        to,
    };
    assert_eq!(
        refused(&alice, &[], &[expire(0, 1_800_000_000)]),
        ["set the expiry of alice@pve to 2027-01-15T08:00:00Z (was never)"]
    );
    assert_eq!(
        refused(&alice, &[], &[expire(1_900_000_000, 1_800_000_000)]).len(),
        1
    );
    // Later or never is fine.
    assert!(refused(&alice, &[], &[expire(1_800_000_000, 0), expire(1, 2)]).is_empty());
    // root@pam's expiry counts for anyone: it locks out the last resort.
    let root_expire = Change::UserExpire {
        userid: "root@pam".into(),
        from: 0,
        to: 5,
    };
    assert_eq!(refused(&user("bob@pve", &[]), &[], &[root_expire]).len(), 1);
}

#[test]
fn own_token_privsep_expiry_and_secret() {
    let t = token("ci@pve!t", &[], Some(false));
    let changes = [
        Change::TokenPrivsepOn("ci@pve!t".into()),
        Change::TokenRegenerated("ci@pve!t".into()),
        Change::TokenExpire {
            full: "ci@pve!t".into(),
            from: 0,
            to: 10,
        },
        Change::TokenPrivsepOn("ci@pve!other".into()),
        Change::TokenRegenerated("ci@pve!other".into()),
    ];
    let w = weakened(&t, &[], &changes);
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w.iter().all(|w| !w.hard));
    // A password login's tokens are not its access.
    assert!(weakened(&user("ci@pve", &[]), &[], &changes).is_empty());
}

#[test]
fn the_message_names_each_item_and_the_way_out() {
    let t = token("ci@pve!t", &["ops"], Some(true));
    let w = weakened(
        &t,
        &[],
        &[
            removed(Group, "ops"),
            Change::TokenPrivsepOn("ci@pve!t".into()),
        ],
    );
    assert_eq!(
        refusal(&t, &w, false).unwrap(),
        "refusing to remove role 'Administrator' of group 'ops' on '/'; turn on privilege separation of token 'ci@pve!t', which leaves it only its own ACL entries: that is what gives ci@pve!t, which this module authenticates as, its access, and the task could lock it out. Nothing was changed. Run the task with another login (such as root@pam), or set allow_self_lockout: true if this is intended"
    );
    assert_eq!(refusal(&t, &w, true), None);
    assert_eq!(refusal(&t, &[], false), None);
}

#[test]
fn reads_only_when_a_change_could_concern_the_caller() {
    let fresh = Caller::new(&Identity::Token {
        owner: "ci@pve".into(),
        full: "ci@pve!t".into(),
    });
    assert!(!fresh.needs_reading(&[removed(User, "ci@pve"), removed(Token, "x@pve!y")]));
    assert!(fresh.needs_reading(&[removed(Group, "ops")]));
    assert!(fresh.needs_reading(&[removed(Token, "ci@pve!t")]));
    assert!(fresh.needs_reading(&[role_privs("Ops", false)]));
    assert!(fresh.needs_acl(&[role_privs("Ops", false)]));
    let known = token("ci@pve!t", &[], Some(true));
    assert!(!known.needs_reading(&[removed(Group, "ops"), role_privs("Ops", false)]));
    let root = Caller::new(&Identity::LocalRoot);
    assert!(!root.needs_reading(&[removed(Group, "ops"), role_privs("Ops", true)]));
    assert!(!root.needs_acl(&[role_privs("Ops", true)]));
}

#[test]
fn granting_noaccess_to_oneself_is_weakening() {
    let alice = user("alice@pve", &["admins"]);
    let grant = |kind, ugid| Change::NoAccessGranted(entry("/storage", kind, ugid, "NoAccess"));
    assert_eq!(
        refused(
            &alice,
            &[],
            &[grant(Group, "admins"), grant(Group, "others"), grant(User, "bob@pve")]
        ),
        ["grant NoAccess to group 'admins' on '/storage', which takes away every privilege there"]
    );
    assert!(refused(&user("root@pam", &[]), &[], &[grant(User, "root@pam")]).is_empty());
    assert!(Caller::new(&Identity::User("a@pve".into())).needs_reading(&[grant(Group, "g")]));
}

#[test]
fn deleting_the_login_realm_is_weakening() {
    let joe = user("joe@corp", &[]);
    let w = weakened(
        &joe,
        &[],
        &[
            Change::RealmDeleted("corp".into()),
            Change::RealmDeleted("other".into()),
        ],
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(!w[0].hard);
    assert_eq!(
        w[0].what,
        "delete realm 'corp', the realm of joe@corp, which then cannot log in"
    );
    assert!(refusal(&joe, &w, true).is_none(), "allowed with the option");
}
