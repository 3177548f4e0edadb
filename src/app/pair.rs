//! Pairing (`pair`): with an access point through the cloud, or with an HCU's local
//! Connect API (`pair --hcu`); the credentials go into the config file (mode 0600).

use std::path::PathBuf;
use std::time::Duration;

use tracing::error;

use crate::adapter::config::InstanceConfig;
use crate::cloud::pairing::{self, PairingRequest};
use crate::cloud::DEFAULT_LOOKUP_URL;

/// Pair with the access point `sgtin` (pressing its button, or with `pin`) and write the
/// credentials to `config_path`.
pub async fn pair(
    sgtin: String,
    pin: Option<String>,
    device_name: String,
    lookup_url: String,
    config_path: PathBuf,
    timeout: Duration,
) -> anyhow::Result<()> {
    let sgtin = crate::cloud::identity::normalize_sgtin(&sgtin)?;
    let mut req = PairingRequest::new(
        sgtin.clone(),
        pin.clone(),
        device_name.clone(),
        lookup_url.clone(),
    );
    req.timeout = timeout;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            eprintln!("pairing: {p}");
        }
    });
    let result = pairing::pair(&req, tx).await;
    let _ = printer.await;
    let creds = match result {
        Ok(c) => c,
        Err(e) => {
            error!("pairing failed: {e}");
            return Err(anyhow::anyhow!("pairing failed: {e}"));
        }
    };
    // Pairing again keeps what is not about the pairing: kept PINs, the API's token.
    let kept = InstanceConfig::load(&config_path).unwrap_or_default();
    let config = InstanceConfig {
        secrets: kept.secrets,
        http_token: kept.http_token,
        http_hosts: kept.http_hosts,
        access_point_sgtin: creds.sgtin.clone(),
        pin,
        device_name: Some(device_name),
        device_id: creds.device_id.clone(),
        auth_token: creds.auth_token.clone(),
        client_auth_token: creds.client_auth_token.clone(),
        client_id: creds.client_id.clone(),
        lookup_url: (lookup_url != DEFAULT_LOOKUP_URL).then_some(lookup_url),
        values_as_iobroker_hmip: false,
        ..InstanceConfig::default()
    };
    config.save(&config_path)?;
    eprintln!(
        "paired; config written to {} (mode 0600)",
        config_path.display()
    );
    Ok(())
}

/// Pair with the HCU's Connect API and write the credentials into `config_path` (the rest
/// of an existing config, such as "values as ioBroker.hmip", stays). Nothing is written
/// when pairing fails.
pub async fn pair_hcu(
    req: crate::hcu::pairing::HcuPairingRequest,
    config_path: PathBuf,
) -> anyhow::Result<()> {
    use crate::adapter::config::Connection;
    use crate::hcu::pairing;
    // Read first: a config that cannot be read must not be overwritten after the key is
    // spent.
    let mut config = if config_path.exists() {
        InstanceConfig::load(&config_path)?
    } else {
        InstanceConfig::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            eprintln!("pairing: {p}");
        }
    });
    let result = pairing::pair(&req, tx).await;
    let _ = printer.await;
    let creds = result.map_err(|e| {
        error!("pairing with the HCU failed: {e}");
        anyhow::anyhow!("pairing with the HCU failed: {e}")
    })?;
    config.connection = Connection::Hcu;
    config.hcu_host = req.host.trim().to_string();
    config.hcu_auth_port =
        (req.auth_port != crate::hcu::DEFAULT_AUTH_PORT).then_some(req.auth_port);
    config.hcu_websocket_port =
        (req.websocket_port != crate::hcu::DEFAULT_WEBSOCKET_PORT).then_some(req.websocket_port);
    config.hcu_auth_token = creds.auth_token;
    config.hcu_client_id = creds.client_id;
    config.hcu_fingerprint = creds.fingerprint.to_string();
    config.save(&config_path)?;
    eprintln!(
        "paired with the HCU {} (client {}); certificate pinned to {}; config written to {} (mode 0600)",
        config.hcu_host,
        config.hcu_client_id,
        config.hcu_fingerprint,
        config_path.display()
    );
    Ok(())
}
