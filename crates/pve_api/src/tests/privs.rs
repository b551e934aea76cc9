use super::*;

fn pve9() -> Vec<String> {
    [
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Modify",
        "Mapping.Use",
        "Permissions.Modify",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.Allocate",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.AccessNetwork",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Incoming",
        "Sys.Modify",
        "Sys.PowerMgmt",
        "Sys.Syslog",
        "User.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// PVE 8.4: VM.Monitor, no VM.GuestAgent.*, no VM.Replicate.
fn pve8() -> Vec<String> {
    let mut v: Vec<String> = pve9()
        .into_iter()
        .filter(|p| !p.starts_with("VM.GuestAgent.") && p != "VM.Replicate")
        .collect();
    v.push("VM.Monitor".into());
    v.sort();
    v
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

#[test]
fn partition_keeps_order_and_drops_duplicates() {
    let (known, unknown) = partition(
        &s(&[
            "VM.Audit",
            "Sys.Audit",
            "VM.Audit",
            "Bogus.Thing",
            "Bogus.Thing",
        ]),
        &pve9(),
    );
    assert_eq!(known, s(&["VM.Audit", "Sys.Audit"]));
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].name, "Bogus.Thing");
    assert!(unknown[0].suggestions.is_empty());
    assert_eq!(unknown[0].describe(), "'Bogus.Thing'");
    let (known, unknown) = partition(&[], &pve9());
    assert!(known.is_empty() && unknown.is_empty());
}

#[test]
fn case_mistakes_suggest_the_exact_name() {
    let u = explain("VM.Config.cpu", &pve9());
    assert_eq!(u.suggestions, s(&["VM.Config.CPU"]));
    assert_eq!(u.note, None);
    assert_eq!(
        u.describe(),
        "'VM.Config.cpu' (did you mean VM.Config.CPU?)"
    );
    assert_eq!(explain("sys.audit", &pve9()).suggestions, s(&["Sys.Audit"]));
    assert_eq!(explain("SDN.USE", &pve9()).suggestions, s(&["SDN.Use"]));
}

#[test]
fn typos_suggest_the_closest_names() {
    let v = pve9();
    assert_eq!(explain("VM.Audti", &v).suggestions, s(&["VM.Audit"]));
    assert_eq!(explain("Sys.Adit", &v).suggestions, s(&["Sys.Audit"]));
    assert_eq!(
        explain("Datastore.Alocate", &v).suggestions,
        s(&["Datastore.Allocate"])
    );
    assert_eq!(
        explain("Permission.Modify", &v).suggestions,
        s(&["Permissions.Modify"])
    );
    assert_eq!(explain("VM.Snapshots", &v).suggestions[0], "VM.Snapshot");
    assert_eq!(
        explain("VM.Conf.Disk", &v).suggestions,
        s(&["VM.Config.Disk"])
    );
    // Several equally close names are all offered, at most 3.
    let u = explain("Pool.Audi", &v);
    assert_eq!(u.suggestions[0], "Pool.Audit");
    assert!(u.suggestions.len() <= 3);
    let u = explain("SDN.Aud", &v);
    assert!(u.suggestions.contains(&"SDN.Audit".to_string()), "{u:?}");
    // Nothing close: no guess.
    assert!(explain("Frobnicate.Everything", &v).suggestions.is_empty());
    assert!(explain("X", &v).suggestions.is_empty());
}

#[test]
fn vm_monitor_is_explained_on_pve9() {
    let u = explain("VM.Monitor", &pve9());
    assert!(u.suggestions.is_empty());
    assert_eq!(
            u.describe(),
            "'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access)"
        );
    // ... and valid on PVE 8.
    let (known, unknown) = partition(&s(&["VM.Monitor"]), &pve8());
    assert_eq!(known, s(&["VM.Monitor"]));
    assert!(unknown.is_empty());
}

#[test]
fn pve9_names_on_pve8() {
    let u = explain("VM.GuestAgent.Audit", &pve8());
    assert_eq!(
        u.note.as_deref(),
        Some("added in PVE 9.0; before, guest agent access is part of VM.Monitor")
    );
    assert!(u.suggestions.is_empty());
    assert_eq!(
        explain("VM.Replicate", &pve8()).note.as_deref(),
        Some("added in PVE 9.0")
    );
    // A typo of a guest agent privilege on PVE 9 is a typo, not history.
    let u = explain("VM.GuestAgent.FileReed", &pve9());
    assert_eq!(u.note, None);
    assert_eq!(u.suggestions, s(&["VM.GuestAgent.FileRead"]));
    let old = s(&["VM.Audit", "Sys.Audit"]);
    assert_eq!(
        explain("Sys.AccessNetwork", &old).note.as_deref(),
        Some("added in PVE 8.1")
    );
}

#[test]
fn old_names_are_renamed() {
    let v = pve9();
    let u = explain("Qemu.Config.Disk", &v);
    assert_eq!(u.suggestions, s(&["VM.Config.Disk"]));
    assert_eq!(
            u.describe(),
            "'Qemu.Config.Disk' (Qemu.* privileges are called VM.* in PVE; did you mean VM.Config.Disk?)"
        );
    assert_eq!(
        explain("Nodes.PowerMgmt", &v).suggestions,
        s(&["Sys.PowerMgmt"])
    );
    assert_eq!(explain("nodes.audit", &v).suggestions, s(&["Sys.Audit"]));
    assert_eq!(explain("Qemu.Audti", &v).suggestions, s(&["VM.Audit"]));
    let u = explain("Datastore.Browse", &v);
    assert_eq!(u.suggestions, s(&["Datastore.Audit"]));
    assert!(u.describe().contains("needs Datastore.Audit"));
    // A rename target the server lacks is not suggested, and what became
    // of it is said.
    let u = explain("Qemu.Monitor", &v);
    assert!(u.suggestions.is_empty());
    assert_eq!(
        u.describe(),
        "'Qemu.Monitor' (Qemu.* privileges are called VM.* in PVE, and VM.Monitor is removed in PVE 9.0: \
         use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access)"
    );
    // On PVE 8 the renamed name is there.
    assert_eq!(
        explain("Qemu.Monitor", &pve8()).suggestions,
        s(&["VM.Monitor"])
    );
}

#[test]
fn power_management_has_one_privilege() {
    for name in [
        "Nodes.Shutdown",
        "Sys.Shutdown",
        "sys.reboot",
        "Node.Reboot",
    ] {
        let u = explain(name, &pve9());
        assert_eq!(u.suggestions, s(&["Sys.PowerMgmt"]), "{name}");
        assert!(
            u.describe().contains("needs Sys.PowerMgmt"),
            "{name}: {}",
            u.describe()
        );
    }
    assert!(explain("Nodes.Shutdown", &pve9()).describe().starts_with(
        "'Nodes.Shutdown' (Nodes.* privileges are called Sys.* in PVE, and Sys.Shutdown is"
    ));
}

#[test]
fn message_names_everything_and_the_server() {
    let (_, unknown) = partition(&s(&["VM.Config.cpu", "VM.Monitor"]), &pve9());
    let msg = unknown_message(&unknown, Some("9.1.1"), 47);
    assert_eq!(
            msg,
            "unknown privileges 'VM.Config.cpu' (did you mean VM.Config.CPU?), 'VM.Monitor' (removed in PVE 9.0: use Sys.Audit for monitoring and VM.GuestAgent.* for guest agent access): PVE 9.1.1 has 47 privileges (those of the built-in Administrator role)"
        );
    let msg = unknown_message(&unknown[..1], None, 47);
    assert!(
        msg.starts_with("unknown privilege 'VM.Config.cpu'"),
        "{msg}"
    );
    assert!(msg.contains("this server has 47"), "{msg}");
}

#[test]
fn edit_distance() {
    assert_eq!(distance("", ""), 0);
    assert_eq!(distance("abc", ""), 3);
    assert_eq!(distance("", "ab"), 2);
    assert_eq!(distance("audit", "audti"), 1);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("ab", "ba"), 1);
    assert_eq!(or_list(&s(&["a", "b", "c"])), "a, b or c");
    assert_eq!(or_list(&s(&["a", "b"])), "a or b");
}
