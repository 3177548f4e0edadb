//! Pairing with an access point (`pair`): the credentials go into the config file.

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
    let config = InstanceConfig {
        access_point_sgtin: creds.sgtin.clone(),
        pin,
        device_name: Some(device_name),
        device_id: creds.device_id.clone(),
        auth_token: creds.auth_token.clone(),
        client_auth_token: creds.client_auth_token.clone(),
        client_id: creds.client_id.clone(),
        lookup_url: (lookup_url != DEFAULT_LOOKUP_URL).then_some(lookup_url),
        values_as_iobroker_hmip: false,
    };
    config.save(&config_path)?;
    eprintln!(
        "paired; config written to {} (mode 0600)",
        config_path.display()
    );
    Ok(())
}
