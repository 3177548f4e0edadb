//! Watching the standalone config file for new credentials, so that pairing again fixes a
//! revoked token without restarting `run`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::info;

use crate::adapter::config::InstanceConfig;
use crate::adapter::TransportConfig;

/// How often `run` looks at its config file for new credentials.
pub const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Watch the config file: whenever `pair` (or the user) writes other credentials into it,
/// send the transport config they make. So a revoked token is fixed by pairing again, without
/// restarting `run`. Polls the file's modification time (cheap, and works on every file
/// system); a file that cannot be read or is not paired is ignored until it is fixed.
pub fn watch(
    path: PathBuf,
    mut current: InstanceConfig,
    transport_config: impl Fn(&InstanceConfig) -> anyhow::Result<TransportConfig> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<TransportConfig> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    tokio::spawn(async move {
        let mut seen = modified(&path);
        loop {
            tokio::time::sleep(CONFIG_POLL).await;
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let Ok(config) = InstanceConfig::load(&path) else {
                continue;
            };
            if !config.is_paired() || config.same_credentials(&current) {
                continue;
            }
            match transport_config(&config) {
                Ok(next) => {
                    info!(
                        "{} has new credentials: reconnecting with them",
                        path.display()
                    );
                    if tx.send(next).await.is_err() {
                        return;
                    }
                    current = config;
                }
                Err(e) => tracing::warn!("{}: {e:#}", path.display()),
            }
        }
    });
    rx
}
