use super::*;

#[test]
fn seg_encodes_reserved_characters() {
    assert_eq!(seg("joe@pve"), "joe@pve");
    assert_eq!(seg("ci@pve!deploy"), "ci@pve!deploy");
    assert_eq!(seg("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
}

#[test]
fn seg_encodes_as_pve_decodes_paths_latin1() {
    // pveproxy takes each %XX as one character: ü is %FC, not %C3%BC.
    assert_eq!(seg("jürgen@pve"), "j%FCrgen@pve");
    assert_eq!(seg("\u{a0}\u{ff}"), "%A0%FF");
    // beyond Latin-1 there is no byte for it (such user ids are refused)
    assert_eq!(seg("j€"), "j%E2%82%AC");
}

#[test]
fn decode_undoes_seg() {
    for s in [
        "joe@pve",
        "a b/c?d#e%f",
        "jürgen@pve",
        "\u{ff}",
        "100%",
        "%zz",
    ] {
        assert_eq!(decode(&seg(s)), s);
    }
    assert_eq!(decode("%zz%4"), "%zz%4");
    assert_eq!(decode("%+1%4"), "%+1%4");
    // what PVE makes of a UTF-8 encoded path
    assert_eq!(decode("j%C3%BCrgen"), "jÃ¼rgen");
}

#[test]
fn form_encodes_utf8_with_plus_for_space() {
    let params = [
        ("comment".to_string(), "a b&c=d;e+f".to_string()),
        ("userid".to_string(), "jürgen@pve".to_string()),
        ("x".to_string(), "*-._~".to_string()),
    ];
    assert_eq!(
        form(&params),
        "comment=a+b%26c%3Dd%3Be%2Bf&userid=j%C3%BCrgen%40pve&x=*-._%7E"
    );
    assert_eq!(form(&[]), "");
}

#[test]
fn display_and_debug_redact_passwords() {
    let req = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "hunter2-secret")
        .param("confirmation-password", "root-secret");
    assert_eq!(
        req.to_string(),
        "PUT /access/password userid=joe@pve&password=********&confirmation-password=********"
    );
    assert_eq!(
        ApiRequest::delete("/access/groups/ops").to_string(),
        "DELETE /access/groups/ops"
    );
    let shown = format!("{req:?}");
    assert!(shown.contains("joe@pve"), "{shown}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(!shown.contains("root-secret"), "{shown}");
    assert_eq!(
        req.secrets().collect::<Vec<_>>(),
        ["hunter2-secret", "root-secret"]
    );
    assert_eq!(req.value("userid"), Some("joe@pve"));
    assert_eq!(req.value("comment"), None);
}
