//! The tests' LDAP directory (`pve_test_support::ldap::Directory`, over
//! `scripts/slapd.sh`): it serves the fixture to the realm's bind account
//! only, takes changes, and is gone after drop.

use std::net::TcpStream;

use pve_test_support::ldap::{Directory, FIXTURE_USERS};

#[test]
fn serves_the_fixture_takes_changes_and_stops_on_drop() {
    let dir = Directory::start();
    assert_eq!(dir.url, format!("ldap://{}:{}", dir.host, dir.port));
    let people = dir.search("(objectClass=inetOrgPerson)");
    for uid in FIXTURE_USERS {
        assert!(
            people.contains(&format!("\nuid: {uid}\n")),
            "{uid} missing:\n{people}"
        );
    }
    let admins = dir.search("(cn=admins)");
    assert!(
        admins.contains("member: uid=bob,ou=people,dc=pve-access,dc=test"),
        "{admins}"
    );

    dir.modify(
        "dn: uid=erin,ou=people,dc=pve-access,dc=test\nchangetype: modify\nreplace: mail\nmail: erin@new.test\n",
    );
    assert!(dir.search("(uid=erin)").contains("mail: erin@new.test"));
    dir.modify("dn: uid=dave,ou=people,dc=pve-access,dc=test\nchangetype: delete\n");
    assert_eq!(dir.search("(uid=dave)"), "");

    let (host, port) = (dir.host.clone(), dir.port);
    drop(dir);
    assert!(
        TcpStream::connect((host.as_str(), port)).is_err(),
        "slapd still listens on {host}:{port} after drop"
    );
}

/// The access rule a realm relies on: the bind account reads, anonymous
/// clients see nothing, so a realm without its bind password finds no user.
#[test]
fn only_the_bind_account_reads() {
    let dir = Directory::start();
    let password_file = dir.bind_password_file.to_string_lossy().into_owned();
    let search = |auth: &[&str]| {
        let mut args = vec!["-x", "-LLL", "-b", &dir.base_dn];
        args.extend_from_slice(auth);
        args.push("(uid=alice)");
        String::from_utf8_lossy(&dir.client("ldapsearch", &args).stdout).into_owned()
    };
    assert!(search(&["-D", &dir.bind_dn, "-y", &password_file]).contains("uid: alice"));
    assert!(!search(&[]).contains("uid: alice"));
    let wrong = dir.client("ldapwhoami", &["-x", "-D", &dir.bind_dn, "-w", "wrong"]);
    assert!(
        !wrong.status.success(),
        "a wrong bind password was accepted"
    );
}

/// With TLS: StartTLS on the ldap port and TLS from the first byte on the
/// ldaps port, both with a certificate for 127.0.0.1 that the directory's
/// CA signed; a directory without TLS refuses StartTLS.
#[test]
fn serves_tls_with_a_certificate_of_its_ca() {
    let dir = Directory::start_with_tls();
    let tls = dir
        .tls
        .as_ref()
        .expect("a TLS directory's ldaps port and CA");
    let password_file = dir.bind_password_file.to_string_lossy().into_owned();
    let whoami = dir.client(
        "ldapwhoami",
        &["-x", "-ZZ", "-D", &dir.bind_dn, "-y", &password_file],
    );
    assert!(
        whoami.status.success(),
        "StartTLS: {}",
        String::from_utf8_lossy(&whoami.stderr)
    );

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&tls.ca_cert).expect("read the CA");
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("add the CA");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(dir.host.as_str())
        .expect("an IP address")
        .to_owned();
    let mut conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("a TLS client");
    let mut sock = TcpStream::connect((dir.host.as_str(), tls.ldaps_port)).expect("connect");
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .expect("the ldaps port's certificate verifies against the CA");
    }

    let plain = Directory::start();
    assert!(plain.tls.is_none());
    let refused = plain.client("ldapwhoami", &["-x", "-ZZ"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unsupported extended operation"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
