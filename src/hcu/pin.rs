//! Trust without switching TLS off: the HCU's certificate is self-signed, so it is pinned by
//! its SHA-256 fingerprint, recorded at pairing. Every later connection goes through
//! [`client_config`], which accepts that one certificate and nothing else; the handshake's
//! signatures are still verified, so the pin cannot be replayed by someone who only copied
//! the certificate. The one place that looks at a certificate without a pin is
//! [`fetch_fingerprint`], which completes a handshake to read it and sends no application
//! data over it.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SHA-256 fingerprint of a certificate (DER), shown as 32 upper-case hex pairs joined
/// by colons, as browsers show it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a certificate fingerprint is 64 hexadecimal digits (SHA-256, colons allowed)")]
pub struct BadFingerprint;

impl FromStr for Fingerprint {
    type Err = BadFingerprint;
    /// Hex digits, upper or lower case, with or without colons or spaces between pairs.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let bytes = hex::decode(hex).map_err(|_| BadFingerprint)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| BadFingerprint)?;
        Ok(Fingerprint(arr))
    }
}

/// The crypto provider of every HCU connection (ring, as the rest of the program).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts the pinned certificate only, by fingerprint; the handshake signatures are
/// verified with the certificate's key as usual. Names and dates are not checked: the HCU's
/// certificate is self-signed for a `.local` name a user may not use, and the pin already
/// says which one certificate is the HCU's.
#[derive(Debug)]
struct PinnedVerifier {
    pin: Fingerprint,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// The fingerprint last presented, for the "certificate changed" error.
    seen: Arc<Mutex<Option<Fingerprint>>>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity.as_ref());
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(presented);
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration that trusts exactly the certificate with fingerprint `pin`,
/// and a handle that tells, after a refused handshake, which certificate was presented.
pub fn client_config(pin: Fingerprint) -> (Arc<rustls::ClientConfig>, PresentedCertificate) {
    let provider = provider();
    let seen = Arc::new(Mutex::new(None));
    let verifier = PinnedVerifier {
        pin,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    (Arc::new(config), PresentedCertificate(seen))
}

/// Which certificate the server presented in the last handshake of a [`client_config`].
#[derive(Debug, Clone)]
pub struct PresentedCertificate(Arc<Mutex<Option<Fingerprint>>>);

impl PresentedCertificate {
    /// The fingerprint presented last, if a handshake got that far.
    pub fn get(&self) -> Option<Fingerprint> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Records the certificate and ends the handshake there: used once, at pairing, to learn
/// the fingerprint to pin. It never lets a connection complete, so nothing can be sent to
/// a server that was not verified.
#[derive(Debug)]
struct Recorder {
    provider: Arc<rustls::crypto::CryptoProvider>,
    seen: Arc<Mutex<Option<Fingerprint>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Fingerprint::of(end_entity.as_ref()));
        // Refuse: the handshake stops here, the fingerprint is all we wanted.
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "certificate is only recorded".into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "certificate is only recorded".into(),
        ))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why the fingerprint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Nothing answered (refused, unreachable, unknown name, timeout).
    #[error("{0}")]
    Connect(String),
    /// Something answered, but no TLS certificate came.
    #[error("{0}")]
    NoCertificate(String),
}

/// The fingerprint of the certificate `host:port` presents (trust on first use, at
/// pairing). The handshake is always aborted once the certificate is seen (a verifier
/// that records it and refuses): no byte of application data goes to the server.
pub async fn fetch_fingerprint(
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<Fingerprint, FetchError> {
    let provider = provider();
    let seen = Arc::new(Mutex::new(None));
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder {
            provider,
            seen: seen.clone(),
        }))
        .with_no_client_auth();
    let name = server_name(host)?;
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| FetchError::Connect(format!("cannot connect to {host}:{port}: {e}")))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        // Always an error: the recorder refuses every certificate.
        let _ = connector.connect(name, tcp).await;
        Ok::<(), FetchError>(())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => {
            return Err(FetchError::Connect(format!(
                "{host}:{port} did not answer within {timeout:?}"
            )))
        }
        Ok(r) => r?,
    }
    let fp = *seen.lock().unwrap_or_else(|e| e.into_inner());
    fp.ok_or_else(|| {
        FetchError::NoCertificate(format!("{host}:{port} answered without a TLS certificate"))
    })
}

/// The TLS server name for a host name or address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, FetchError> {
    ServerName::try_from(host.to_string())
        .map_err(|_| FetchError::Connect(format!("{host:?} is not a host name or address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_print_and_parse_alike() {
        let fp = Fingerprint::of(b"certificate");
        let text = fp.to_string();
        assert_eq!(text.len(), 32 * 3 - 1);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            text.replace(':', "").to_lowercase().parse::<Fingerprint>(),
            Ok(fp)
        );
        assert_eq!("AB:CD".parse::<Fingerprint>(), Err(BadFingerprint));
        assert_eq!("zz".repeat(32).parse::<Fingerprint>(), Err(BadFingerprint));
    }
}
