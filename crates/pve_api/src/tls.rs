//! TLS with rustls (ring): the certificate checks of `validate_certs`,
//! `ca_path` and `fingerprint`, and error texts that say what to change.

use crate::connection::TlsMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Reads the PEM certificates of `ca_path`.
pub(crate) fn load_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("ca_path: cannot read {path}: {e}"))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("ca_path: {path} is not a readable PEM file: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "ca_path: {path} contains no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate, e.g. a copy of a node's /etc/pve/pve-root-ca.pem"
        ));
    }
    Ok(certs)
}

/// `AB:CD:...`, as `pvenode cert info` and the PVE web UI show it.
pub(crate) fn fingerprint_hex(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn sha256(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, der).as_ref());
    out
}

enum Check {
    /// The chain must lead to a trusted root, for the host name.
    WebPki(Arc<WebPkiServerVerifier>),
    /// `validate_certs` true but no trusted root at all.
    NoRoots,
    /// `validate_certs: false`.
    Any,
    /// `fingerprint`: only the end-entity certificate's SHA-256 counts.
    Pinned([u8; 32]),
}

/// Checks the server certificate and remembers the fingerprint of the last
/// one presented, so that a failure can name it.
pub(crate) struct Verifier {
    check: Check,
    algorithms: WebPkiSupportedAlgorithms,
    presented: Mutex<Option<[u8; 32]>>,
}

impl Verifier {
    /// The SHA-256 of the last end-entity certificate the server presented.
    pub(crate) fn presented(&self) -> Option<[u8; 32]> {
        self.presented.lock().ok().and_then(|p| *p)
    }
    pub(crate) fn pinned(&self) -> Option<[u8; 32]> {
        match self.check {
            Check::Pinned(fp) => Some(fp),
            _ => None,
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check = match &self.check {
            Check::WebPki(_) => "trust store".to_string(),
            Check::NoRoots => "trust store (empty)".to_string(),
            Check::Any => "none".to_string(),
            Check::Pinned(fp) => format!("fingerprint {}", fingerprint_hex(fp)),
        };
        f.debug_struct("Verifier").field("check", &check).finish()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = sha256(end_entity);
        if let Ok(mut presented) = self.presented.lock() {
            *presented = Some(fp);
        }
        match &self.check {
            Check::WebPki(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Check::NoRoots => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            Check::Any => Ok(ServerCertVerified::assertion()),
            Check::Pinned(expected) if *expected == fp => Ok(ServerCertVerified::assertion()),
            Check::Pinned(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    // The handshake signature is checked in every mode: it proves that the
    // server holds the key of the certificate it showed (a pinned
    // certificate is public, its key is not).
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The client configuration for `mode`. One configuration serves all
/// connections of a client, so reconnects resume the TLS session.
pub(crate) fn client_config(mode: &TlsMode) -> Result<(Arc<ClientConfig>, Arc<Verifier>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let check = match mode {
        TlsMode::Insecure => Check::Any,
        TlsMode::Pinned(fp) => Check::Pinned(*fp),
        TlsMode::Verify { extra_roots } => {
            let mut roots = RootCertStore::empty();
            // Unreadable system certificates are skipped: ca_path or a
            // fingerprint may still make the connection work, and a failed
            // handshake explains both.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            for (i, cert) in extra_roots.iter().enumerate() {
                roots.add(cert.clone()).map_err(|e| {
                    format!("ca_path: certificate {} cannot be used as a CA: {e}", i + 1)
                })?;
            }
            if roots.is_empty() {
                Check::NoRoots
            } else {
                let v =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
                Check::WebPki(v)
            }
        }
    };
    let verifier = Arc::new(Verifier {
        check,
        algorithms,
        presented: Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((Arc::new(config), verifier))
}

/// The message for a failed handshake: what the server showed and which
/// option to change.
pub(crate) fn handshake_error(err: &rustls::Error, verifier: &Verifier, authority: &str) -> String {
    let presented = verifier.presented();
    let shown = presented
        .map(|fp| format!(" (SHA-256 fingerprint {})", fingerprint_hex(&fp)))
        .unwrap_or_default();
    if let (Some(expected), Some(got)) = (verifier.pinned(), presented) {
        if expected != got {
            return format!(
                "the certificate of {authority} does not match the pinned fingerprint: expected {}, the server presented {}. If the node's certificate was replaced on purpose, check the new one with `pvenode cert info` on the node and update fingerprint; otherwise something else answers at this address",
                fingerprint_hex(&expected),
                fingerprint_hex(&got)
            );
        }
    }
    let pin_hint = "set ca_path to the CA certificate (a copy of a node's /etc/pve/pve-root-ca.pem), or fingerprint to the certificate's SHA-256 fingerprint (compare it with `pvenode cert info` on the node first), or validate_certs: false";
    match err {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the certificate of {authority}{shown} is not signed by a trusted CA (PVE nodes use their own CA by default): {pin_hint}"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the certificate of {authority}{shown} is not valid for that name: use a name the certificate was issued for in api_host, or {pin_hint}"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the certificate of {authority}{shown} has expired: renew it on the node (`pvenode cert`), or {pin_hint}"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                "the certificate of {authority}{shown} is not valid yet (check the clocks), or {pin_hint}"
            ),
            other => format!("the certificate of {authority}{shown} was refused ({other:?}): {pin_hint}"),
        },
        other => format!("the TLS handshake with {authority} failed: {other}"),
    }
}

#[cfg(test)]
#[path = "tests/tls.rs"]
mod tests;
