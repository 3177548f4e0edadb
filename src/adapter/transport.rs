//! The transport choice, in one place: which [`Transport`] the adapter talks to and how it
//! gets one. The config's `connection` decides: the HmIP cloud client ([`HmipCloud`], found
//! by the lookup) or the HCU's local Connect API ([`HcuTransport`]). The runtime sees only
//! the trait, through [`Swappable`] so that new credentials can replace the connection
//! while it runs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::warn;

use super::config::{Connection, InstanceConfig};
use crate::cloud::stream::{CloudConfig, HmipCloud};
use crate::cloud::{ClientOptions, CloudError, CloudEvent, CurrentState, Transport};
use crate::hcu::{HcuConfig, HcuTransport};

/// The transport a config asks for, with what it needs to connect.
#[derive(Debug, Clone)]
pub enum TransportConfig {
    /// The eQ-3 cloud.
    Cloud(CloudConfig),
    /// The HCU's local Connect API.
    Hcu(HcuConfig),
}

impl TransportConfig {
    /// The transport of a paired config. `lookup_url` overrides the config's lookup (the
    /// cloud's only); `options` are the client's timings.
    pub fn from_config(
        config: &InstanceConfig,
        lookup_url: Option<String>,
        options: ClientOptions,
    ) -> anyhow::Result<TransportConfig> {
        match config.connection {
            Connection::Cloud => Ok(TransportConfig::Cloud(CloudConfig {
                sgtin: config.access_point_sgtin.clone(),
                auth_token: config.auth_token.clone(),
                lookup_url: lookup_url
                    .or(config.lookup_url.clone())
                    .unwrap_or_else(|| crate::cloud::DEFAULT_LOOKUP_URL.to_string()),
                options,
            })),
            Connection::Hcu => config.hcu_config(options).map(TransportConfig::Hcu),
        }
    }
}

/// Connect with `cfg`: the cloud after its lookup (retried while the network is down, see
/// [`connect_cloud`]); the HCU at once (its event stream connects and retries by itself).
/// None when `stop` turned true first.
pub async fn connect(
    cfg: TransportConfig,
    stop: watch::Receiver<bool>,
) -> Result<Option<Arc<dyn Transport>>, CloudError> {
    match cfg {
        TransportConfig::Cloud(cfg) => Ok(connect_cloud(cfg, stop)
            .await?
            .map(|c| Arc::new(c) as Arc<dyn Transport>)),
        TransportConfig::Hcu(cfg) => {
            tracing::info!(
                "connecting to the HCU at {} (local Connect API; certificate pinned to {})",
                cfg.url(),
                cfg.fingerprint
            );
            Ok(Some(Arc::new(HcuTransport::new(cfg))))
        }
    }
}

/// Connect to the cloud (the lookup), retrying with backoff while the network or the
/// cloud is down, so that the adapter never gives up on a passing outage. None when
/// `stop` turned true first; an error that waiting cannot fix (an unknown SGTIN) is
/// returned at once.
pub async fn connect_cloud(
    cfg: CloudConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<HmipCloud>, CloudError> {
    let mut backoff =
        crate::backoff::Backoff::new(Duration::from_secs(2), Duration::from_secs(300));
    loop {
        match HmipCloud::connect(cfg.clone()).await {
            Ok(c) => return Ok(Some(c)),
            Err(e) if e.is_transient() => {
                let wait = backoff.next_wait();
                warn!("cloud lookup failed: {e}; retrying in {wait:.1?}");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    r = stop.changed() => if r.is_err() || *stop.borrow() { return Ok(None) },
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A [`Transport`] that can be replaced while the adapter runs (new credentials after a
/// revoked token): the write queue keeps its pending writes and sends them through
/// whichever transport is current.
pub(super) struct Swappable(pub(super) std::sync::RwLock<Arc<dyn Transport>>);

impl Swappable {
    fn current(&self) -> Arc<dyn Transport> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Transport for Swappable {
    fn kind(&self) -> &'static str {
        self.current().kind()
    }
    async fn current_state(&self) -> Result<CurrentState, CloudError> {
        self.current().current_state().await
    }
    async fn control(&self, call: &crate::cloud::ControlCall) -> Result<Value, CloudError> {
        self.current().control(call).await
    }
    async fn run_events(&self, tx: mpsc::Sender<CloudEvent>) {
        self.current().run_events(tx).await
    }
}
