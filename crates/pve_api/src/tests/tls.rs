use super::*;

#[test]
fn fingerprint_text() {
    assert_eq!(fingerprint_hex(&[0xab, 0x01, 0xff]), "AB:01:FF");
    let fp = sha256(b"abc");
    assert_eq!(
            fingerprint_hex(&fp),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
}

#[test]
fn ca_file_errors() {
    let dir = std::env::temp_dir().join(format!("pve_api_tls_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let e = load_ca_file(empty.to_str().unwrap()).unwrap_err();
    assert!(e.contains("contains no PEM certificate"), "{e}");
    let e = load_ca_file("/nonexistent/ca.pem").unwrap_err();
    assert!(
        e.starts_with("ca_path: cannot read /nonexistent/ca.pem: "),
        "{e}"
    );
    let broken = dir.join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\n!!!\n").unwrap();
    assert!(load_ca_file(broken.to_str().unwrap()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatch_message_names_both_fingerprints() {
    let (_, v) = client_config(&TlsMode::Pinned([0x11; 32])).unwrap();
    *v.presented.lock().unwrap() = Some([0x22; 32]);
    let m = handshake_error(
        &rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure),
        &v,
        "pve:8006",
    );
    assert!(
        m.contains(&format!("expected {}", fingerprint_hex(&[0x11; 32]))),
        "{m}"
    );
    assert!(
        m.contains(&format!("presented {}", fingerprint_hex(&[0x22; 32]))),
        "{m}"
    );
    assert!(m.contains("update fingerprint"), "{m}");
}
