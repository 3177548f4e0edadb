//! The transport choice, in one place: which [`Transport`] the adapter talks to and how it
//! gets one. Today that is the HmIP cloud client ([`HmipCloud`], found by the lookup); the
//! HCU's local transport comes next behind the same [`Transport`] trait, chosen here.
//! The runtime sees only the trait, through [`Swappable`] so that new credentials can
//! replace the connection while it runs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::cloud::stream::{CloudConfig, HmipCloud};
use crate::cloud::{CloudError, CloudEvent, CurrentState, Transport};

/// Connect to the cloud (the lookup), retrying with backoff while the network or the
/// cloud is down, so that the adapter never gives up on a passing outage. None when
/// `stop` turned true first; an error that waiting cannot fix (an unknown SGTIN) is
/// returned at once.
pub async fn connect_cloud(
    cfg: CloudConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<HmipCloud>, CloudError> {
    let mut delay = Duration::from_secs(2);
    loop {
        match HmipCloud::connect(cfg.clone()).await {
            Ok(c) => return Ok(Some(c)),
            Err(e) if e.is_transient() => {
                warn!("cloud lookup failed: {e}; retrying in {delay:?}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    r = stop.changed() => if r.is_err() || *stop.borrow() { return Ok(None) },
                }
                delay = (delay * 2).min(Duration::from_secs(300));
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
