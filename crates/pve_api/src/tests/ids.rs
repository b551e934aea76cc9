use super::*;

fn ok(u: &str) -> (String, String) {
    parse_userid(u).unwrap()
}

#[test]
fn userid_valid_forms() {
    assert_eq!(ok("joe@pve"), ("joe".into(), "pve".into()));
    assert_eq!(ok("root@pam"), ("root".into(), "pam".into()));
    // Greedy on the last '@': the name may hold '@' and '!'.
    assert_eq!(ok("a@b@pve"), ("a@b".into(), "pve".into()));
    assert_eq!(
        ok("x!y@ldap-1.corp_2"),
        ("x!y".into(), "ldap-1.corp_2".into())
    );
    assert_eq!(ok("jörg@pve"), ("jörg".into(), "pve".into()));
    assert_eq!(ok("a@bc"), ("a".into(), "bc".into()));
    let long = format!("{}@pve", "a".repeat(60));
    assert_eq!(long.len(), 64);
    assert!(parse_userid(&long).is_ok());
}

#[test]
fn userid_length_limits() {
    let e = parse_userid("a@").unwrap_err();
    assert!(e.starts_with("user name 'a@' is too short"), "{e}");
    assert!(e.contains("name@realm"), "{e}");
    assert!(parse_userid("").unwrap_err().contains("too short"));
    let long = format!("{}@pve", "a".repeat(61));
    let e = parse_userid(&long).unwrap_err();
    assert!(e.contains("is too long (65 > 64)"), "{e}");
    // Characters count, not bytes: 60 two-byte letters plus "@pve" are 64.
    let umlauts = format!("{}@pve", "ä".repeat(60));
    assert!(parse_userid(&umlauts).is_ok());
}

#[test]
fn userid_beyond_latin1_is_refused_with_the_reason() {
    assert_eq!(ok("jürgen@pve"), ("jürgen".into(), "pve".into()));
    assert!(parse_userid("\u{ff}x@pve").is_ok());
    for (id, c) in [("j€@pve", "'€' (U+20AC)"), ("łukasz@pve", "'ł' (U+0142)")] {
        let e = parse_userid(id).unwrap_err();
        assert!(
            e.starts_with(&format!("user name '{id}' has the character {c}")),
            "{e}"
        );
        assert!(e.contains("Latin-1"), "{e}");
    }
    // in the owner of a token too
    let e = parse_tokenid("j€@pve!ci", None).unwrap_err();
    assert!(e.contains("U+20AC"), "{e}");
}

#[test]
fn userid_invalid_forms() {
    let e = parse_userid("joe").unwrap_err();
    assert!(
        e.starts_with("value 'joe' does not look like a valid user name"),
        "{e}"
    );
    assert!(
        e.contains("realm is missing") && e.contains("'joe@pve'"),
        "{e}"
    );
    for bad in [
        "joe@p",        // realm of one character
        "joe@1pve",     // realm must start with a letter
        "joe@pv e",     // no space in the realm
        "jo e@pve",     // no whitespace in the name
        "jo\te@pve",    // tab
        "jo:e@pve",     // no ':'
        "jo/e@pve",     // no '/'
        "@pve",         // empty name
        "joe@pve!tok",  // a token id is not a user id
        "joe@pve\n",    // no trailing newline
        "joe@pve@",     // empty realm
        "joe@pv\u{e9}", // realm is ASCII only
    ] {
        let e = parse_userid(bad).unwrap_err();
        assert!(e.contains("name@realm"), "{bad}: {e}");
    }
}

#[test]
fn realm_rule() {
    assert!(valid_realm("pve"));
    assert!(valid_realm("ad"));
    assert!(valid_realm("L.d-a_p9"));
    assert!(!valid_realm("a"));
    assert!(!valid_realm("9ad"));
    assert!(!valid_realm(""));
    assert!(!valid_realm("a b"));
}

#[test]
fn tokenid_full() {
    let t = parse_tokenid("joe@pve!ci", None).unwrap();
    assert_eq!(t.userid, "joe@pve");
    assert_eq!(t.name, "ci");
    assert_eq!(t.full(), "joe@pve!ci");
    assert_eq!(t.to_string(), "joe@pve!ci");
    // The owner is ignored for a full id (the caller compares).
    let t = parse_tokenid("joe@pve!ci", Some("root@pam")).unwrap();
    assert_eq!(t.userid, "joe@pve");
    // '!' in the user name: the token is after the last '!'.
    let t = parse_tokenid("a!b@pve!tok-1.x", None).unwrap();
    assert_eq!((t.userid.as_str(), t.name.as_str()), ("a!b@pve", "tok-1.x"));
}

#[test]
fn tokenid_full_invalid() {
    for bad in [
        "joe@pve!",
        "joe@pve!1ci",
        "joe@pve!c",
        "joe@pve!c i",
        "joe!ci",
        "joe@p!ci",
        "!ci",
    ] {
        let e = parse_tokenid(bad, Some("root@pam")).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "value '{bad}' does not look like a valid token ID"
            )),
            "{bad}: {e}"
        );
        assert!(e.contains("user@realm!name"), "{e}");
    }
}

#[test]
fn tokenid_bare() {
    let t = parse_tokenid("automation", Some("svc@pve")).unwrap();
    assert_eq!(t.full(), "svc@pve!automation");
    let e = parse_tokenid("automation", None).unwrap_err();
    assert!(e.contains("user@realm!automation"), "{e}");
    let e = parse_tokenid("automation", Some("svc")).unwrap_err();
    assert!(
        e.contains("invalid owner") && e.contains("name@realm"),
        "{e}"
    );
    let e = parse_tokenid("x", Some("svc@pve")).unwrap_err();
    assert!(e.contains("value does not match the regex pattern"), "{e}");
    let e = parse_tokenid("9lives", Some("svc@pve")).unwrap_err();
    assert!(e.contains("invalid token name '9lives'"), "{e}");
    assert!(parse_tokenid("svc@pve", Some("svc@pve")).is_err());
}

#[test]
fn group_and_role_ids() {
    for good in ["admins", "ops-team", "a.b_c", "1", "PVEAdmin"] {
        assert!(valid_groupid(good) && valid_roleid(good), "{good}");
        assert!(verify_groupid(good).is_ok() && verify_roleid(good).is_ok());
    }
    for bad in ["", "a b", "a:b", "a/b", "grüppe", "a(b)", "a?b", "@g"] {
        assert!(!valid_groupid(bad) && !valid_roleid(bad), "{bad}");
    }
    assert!(verify_groupid("a b")
        .unwrap_err()
        .starts_with("group name 'a b' contains invalid characters"));
    assert!(verify_roleid("a:b")
        .unwrap_err()
        .starts_with("role name 'a:b' contains invalid characters"));
}

#[test]
fn reserved_and_builtin_roles() {
    assert!(reserved_roleid("PVEFoo"));
    assert!(reserved_roleid("pveFoo"));
    assert!(reserved_roleid("PvE"));
    assert!(!reserved_roleid("PV"));
    assert!(!reserved_roleid("MyPVE"));
    assert!(!reserved_roleid("ä"));
    assert!(builtin_role("Administrator"));
    assert!(builtin_role("NoAccess"));
    assert!(builtin_role("PVEVMUser"));
    assert!(!builtin_role("administrator"));
    assert!(!builtin_role("PVEFoo"));
    assert!(BUILTIN_ROLES.iter().all(|r| valid_roleid(r)));
}

fn norm(p: &str) -> Option<String> {
    normalize_acl_path(p)
}

#[test]
fn path_normalisation() {
    assert_eq!(norm("/vms/100/").as_deref(), Some("/vms/100"));
    assert_eq!(norm("vms//100").as_deref(), Some("/vms/100"));
    assert_eq!(norm("vms//100/").as_deref(), Some("/vms/100"));
    assert_eq!(norm("//vms///100//").as_deref(), Some("/vms/100"));
    assert_eq!(norm("storage").as_deref(), Some("/storage"));
    assert_eq!(norm("/").as_deref(), Some("/"));
    assert_eq!(norm("//").as_deref(), Some("/"));
    assert_eq!(norm("/users").as_deref(), Some("/users"));
    assert_eq!(norm("/pool/a.b-c_d").as_deref(), Some("/pool/a.b-c_d"));
    assert_eq!(norm("/nodes/knoten-ü").as_deref(), Some("/nodes/knoten-ü"));
    assert_eq!(norm("/0").as_deref(), Some("/0"));
    assert_eq!(norm(""), None);
    assert_eq!(norm("0"), None);
    assert_eq!(norm("0/"), None);
    assert_eq!(norm("/vms/1 00"), None);
    assert_eq!(norm("/vms/100\n"), None);
    assert_eq!(norm("/vms/*"), None);
    assert_eq!(norm("/a:b"), None);
    assert_eq!(norm("/a@b"), None);
}

fn allowed(p: &str) -> bool {
    check_acl_path(&normalize_acl_path(p).unwrap())
}

#[test]
fn allowed_paths() {
    for p in [
        "/",
        "/access",
        "/access/groups",
        "/access/groups/admins",
        "/access/realm",
        "/access/realm/pve",
        "/access/realm/my-ldap.corp",
        "/nodes",
        "/nodes/pve1",
        "/pool",
        "/pool/a",
        "/pool/a/b",
        "/pool/a/b/c",
        "/sdn",
        "/sdn/controllers",
        "/sdn/controllers/evpn_1-a",
        "/sdn/dns",
        "/sdn/dns/pdns1",
        "/sdn/fabrics",
        "/sdn/fabrics/fab1",
        "/sdn/ipams",
        "/sdn/ipams/pve",
        "/sdn/prefix-lists",
        "/sdn/prefix-lists/pl1",
        "/sdn/route-maps",
        "/sdn/route-maps/rm1",
        "/sdn/zones",
        "/sdn/zones/zone1",
        "/sdn/zones/zone1/vnet1",
        "/sdn/zones/zone1/vnet1/1",
        "/sdn/zones/zone1/vnet1/4094",
        "/sdn/zones/zone1/vnet1/9999",
        "/storage",
        "/storage/local-lvm",
        "/vms",
        "/vms/100",
        "/vms/999999999",
        "/mapping",
        "/mapping/pci",
        "/mapping/pci/gpu0",
        "/mapping/usb/stick.1",
        "vms/100/",
        "//pool//a//b/",
    ] {
        assert!(allowed(p), "{p} should be allowed");
    }
}

#[test]
fn refused_paths() {
    for p in [
        "/users",
        "/vms/99",
        "/vms/0100",
        "/vms/abc",
        "/vms/100/disk",
        "/access/realms/pve",
        "/access/users",
        "/access/groups/a/b",
        "/pool/a/b/c/d",
        "/pool/pööl",
        "/nodes/a/b",
        "/storage/a/b",
        "/sdn/vnets",
        "/sdn/controllers/a.b",
        "/sdn/dns/a-b",
        "/sdn/fabrics/a_b",
        "/sdn/ipams/a.b",
        "/sdn/prefix-lists/a-1",
        "/sdn/zones/z/v/0",
        "/sdn/zones/z/v/01",
        "/sdn/zones/z/v/10000",
        "/sdn/zones/z/v/1/x",
        "/mapping/a/b/c",
        "/cluster",
    ] {
        assert!(!allowed(p), "{p} should be refused");
    }
    // Only normalised paths pass.
    assert!(!check_acl_path("/vms/100/"));
    assert!(!check_acl_path("vms/100"));
    assert!(!check_acl_path(""));
}

#[test]
fn paths_of_newer_versions() {
    assert_eq!(acl_path_min_version("/sdn/fabrics"), Some("9.0"));
    assert_eq!(acl_path_min_version("/sdn/fabrics/f1"), Some("9.0"));
    assert_eq!(acl_path_min_version("/sdn/prefix-lists/p"), Some("9.1"));
    assert_eq!(acl_path_min_version("/sdn/route-maps"), Some("9.1"));
    assert_eq!(acl_path_min_version("/sdn/fabricsx"), None);
    assert_eq!(acl_path_min_version("/sdn/zones/z"), None);
    assert_eq!(acl_path_min_version("/vms/100"), None);
    assert_eq!(acl_path_min_version("/sdn/fabrics/a-b"), None);
}

#[test]
fn list_splitting() {
    assert_eq!(
        split_list("VM.Audit,VM.Console;Sys.Audit  Datastore.Audit\tX\nY"),
        [
            "VM.Audit",
            "VM.Console",
            "Sys.Audit",
            "Datastore.Audit",
            "X",
            "Y"
        ]
    );
    assert_eq!(split_list(" , ;a,,b; "), ["a", "b"]);
    assert!(split_list("").is_empty());
    assert!(split_list(" ,; ").is_empty());
    // With a NUL only NUL separates (PVE's form of repeated values).
    assert_eq!(split_list("a b\0c,d"), ["a b", "c,d"]);
}

#[test]
fn pool_storage_and_guest_ids() {
    assert!(verify_poolid("ops").is_ok());
    assert!(verify_poolid("a/b.c/d-e_f").is_ok());
    assert!(verify_poolid("a/b/c/d")
        .unwrap_err()
        .contains("nested too deeply"));
    for bad in ["", "a//b", "a/", "/a", "a b", "a:b"] {
        assert!(
            verify_poolid(bad)
                .unwrap_err()
                .contains("invalid characters"),
            "{bad}"
        );
    }
    assert!(verify_storage_id("local-lvm").is_ok());
    assert!(verify_storage_id("NFS.1").is_ok());
    for bad in ["l", "1local", "local_", "loc al"] {
        assert!(verify_storage_id(bad).is_err(), "{bad}");
    }
    assert!(verify_vmid(100).is_ok());
    assert!(verify_vmid(999_999_999).is_ok());
    assert!(verify_vmid(99).unwrap_err().contains("100 to 999999999"));
    assert!(verify_vmid(1_000_000_000).is_err());
}
