use super::*;

#[test]
fn seg_encodes_reserved_characters() {
    assert_eq!(seg("joe@pve"), "joe@pve");
    assert_eq!(seg("ci@pve!deploy"), "ci@pve!deploy");
    assert_eq!(seg("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
    assert_eq!(seg("jö@pve"), "j%C3%B6@pve");
}

#[test]
fn decode_undoes_seg() {
    for s in ["joe@pve", "a b/c?d#e%f", "jö@pve", "100%", "%zz"] {
        assert_eq!(decode(&seg(s)), s);
    }
    assert_eq!(decode("%zz%4"), "%zz%4");
}

#[test]
fn debug_redacts_passwords() {
    let req = ApiRequest::put("/access/password")
        .param("userid", "joe@pve")
        .param("password", "hunter2-secret")
        .param("confirmation-password", "root-secret");
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
