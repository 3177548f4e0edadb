//! The simulated HCU's certificate and TLS listener. The certificate is self-signed, like
//! a real HCU's, and swappable (`/sim/hcu/certificate`): each handshake reads the current
//! one. Handshakes run in their own tasks, so a client that stalls mid-handshake does not
//! hold up the next connection.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::hcu::Fingerprint;

/// The names the certificate is made out to.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "hcu1-sim.local"];

/// A handshake that takes longer is given up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate with its server configuration.
pub(crate) struct Certificate {
    pub fingerprint: Fingerprint,
    config: Arc<rustls::ServerConfig>,
    /// The certificate itself (DER), for the tests' root store.
    #[cfg(test)]
    der: CertificateDer<'static>,
}

/// The certificate served now, shared by both ports.
pub(crate) type CertSlot = Arc<RwLock<Arc<Certificate>>>;

/// A fresh self-signed certificate for [`NAMES`].
pub(crate) fn generate() -> anyhow::Result<Certificate> {
    let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let certified =
        rcgen::generate_simple_self_signed(names).context("generating the HCU certificate")?;
    let der: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .context("the HCU certificate")?;
    Ok(Certificate {
        fingerprint: Fingerprint::of(&der),
        config: Arc::new(config),
        #[cfg(test)]
        der,
    })
}

pub(crate) fn slot(cert: Certificate) -> CertSlot {
    Arc::new(RwLock::new(Arc::new(cert)))
}

/// The certificate served now.
pub(crate) fn current(slot: &CertSlot) -> Arc<Certificate> {
    slot.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Serve `cert` to new connections from now on.
pub(crate) fn replace(slot: &CertSlot, cert: Certificate) {
    *slot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(cert);
}

/// Where finished handshakes go.
pub(crate) type Accepted = mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>;

/// The listener axum serves: connections whose TLS handshake has completed.
pub(crate) struct TlsListener {
    addr: SocketAddr,
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

/// A listener reporting `addr`, and the sender its accept loops feed.
pub(crate) fn listener(addr: SocketAddr) -> (Accepted, TlsListener) {
    let (tx, rx) = mpsc::channel(64);
    (tx, TlsListener { addr, rx })
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(accepted) => accepted,
            // Every sender gone: the simulator stops; nothing more to accept.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Accept TCP connections on `listener` and run each handshake, with the certificate
/// current at that moment, in its own task; finished ones go to `accepted`. Aborting the
/// task closes the port.
pub(crate) fn accept_loop(
    listener: TcpListener,
    certs: CertSlot,
    accepted: Accepted,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::debug!("simulated HCU: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let acceptor = TlsAcceptor::from(current(&certs).config.clone());
            let accepted = accepted.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = accepted.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!("simulated HCU: TLS handshake failed: {e}"),
                    Err(_) => tracing::debug!("simulated HCU: TLS handshake timed out"),
                }
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificate is valid, by the ordinary checks, for its three names and no other.
    #[tokio::test]
    async fn the_certificate_names_localhost_the_loopback_address_and_the_hcu() {
        let cert = generate().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, mut incoming) = super::listener(addr);
        let _loop = accept_loop(listener, slot(cert), accepted);
        // Keep the finished handshakes open until the test ends.
        tokio::spawn(async move { while incoming.rx.recv().await.is_some() {} });
        for (name, ok) in [
            ("localhost", true),
            ("127.0.0.1", true),
            ("hcu1-sim.local", true),
            ("other.local", false),
        ] {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
            let result = connector.connect(server_name, tcp).await;
            assert_eq!(result.is_ok(), ok, "{name}: {:?}", result.err());
        }
    }
}
