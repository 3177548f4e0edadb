//! The standalone adapter (`run --config FILE`, and `demo`): the embedded store, the HTTP
//! API, the cloud connection (replaced when the config file gets new credentials).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tracing::{error, info};

use super::{credentials, shutdown_signal};
use crate::adapter::config::InstanceConfig;
use crate::adapter::secret_params::{self, SecretParams};
use crate::adapter::TransportConfig;
use crate::adapter::{self, AdapterOptions};
use crate::cloud::stream::CloudConfig;
use crate::cloud::ClientOptions;
use crate::hcu::HcuConfig;
use crate::sim::{self, SimConfig};
use crate::store::embedded::EmbeddedStore;
use crate::store::Store;
use crate::web;

fn default_data_dir(config: &Path) -> PathBuf {
    config.with_extension("data")
}

/// Run standalone from the config file at `config_path` (paired by `pair`).
pub async fn run(
    config_path: PathBuf,
    lookup_url: Option<String>,
    http: SocketAddr,
    data_dir: Option<PathBuf>,
    namespace: String,
) -> anyhow::Result<()> {
    let mut config = InstanceConfig::load(&config_path)?;
    if !config.is_paired() {
        anyhow::bail!(
            "{} is not paired: {}",
            config_path.display(),
            config.pairing_hint()
        );
    }
    let make = move |config: &InstanceConfig| {
        TransportConfig::from_config(config, lookup_url.clone(), ClientOptions::default())
    };
    let first = make(&config).with_context(|| format!("{}", config_path.display()))?;
    let data_dir = data_dir.unwrap_or_else(|| default_data_dir(&config_path));
    let store: Arc<dyn Store> = Arc::new(
        EmbeddedStore::open(&data_dir)
            .with_context(|| format!("opening the store in {}", data_dir.display()))?,
    );
    if config.http_token.is_empty() {
        // The API's token, made once and kept beside the other tokens (0600). A config
        // that cannot be written still runs on loopback, which needs no token.
        let mut with_token = config.clone();
        with_token.http_token = new_token();
        match with_token.save(&config_path) {
            Ok(()) => {
                config = with_token;
                info!(
                    "the HTTP API's token is now in {} (httpToken)",
                    config_path.display()
                );
            }
            Err(e) => tracing::warn!("the HTTP API has no token (needed off loopback): {e:#}"),
        }
    }
    // Read at start: a change of the setting takes a restart, as under js-controller.
    let convention = config.convention();
    let web = web::WebOptions {
        secrets: Some(SecretParams::new(
            config.secrets.clone(),
            Some(Arc::new(secret_params::ConfigFile(config_path.clone()))),
        )),
        token: Some(config.http_token.clone()).filter(|t| !t.is_empty()),
        require_token: false,
        hosts: config.http_hosts.clone(),
    };
    let credentials = credentials::watch(config_path, config, make);
    run_standalone(
        first,
        Some(credentials),
        store,
        http,
        web,
        namespace,
        convention,
    )
    .await
}

/// A fresh token: 32 random bytes as hex.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// The standalone runtime: HTTP API, then the transport (the cloud's lookup retried with
/// backoff while the network or the cloud is down), then the adapter until a signal. New
/// credentials from `credentials` become a new connection that takes over in the running
/// adapter (same tree, store subscription and pending writes).
async fn run_standalone(
    transport: TransportConfig,
    credentials: Option<tokio::sync::mpsc::Receiver<TransportConfig>>,
    store: Arc<dyn Store>,
    http: SocketAddr,
    web: web::WebOptions,
    namespace: String,
    convention: crate::tree::Convention,
) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let secrets = web.secrets.clone().unwrap_or_else(SecretParams::in_memory);
    let (bound, _server) = web::serve_with(store.clone(), http, web)
        .await
        .with_context(|| format!("starting the HTTP API on {http}"))?;
    info!(
        "HTTP API on http://{bound}/ (states: http://{bound}/api/v1/states?pattern={namespace}.*)"
    );
    let (replace, replacements) = tokio::sync::mpsc::channel::<Arc<dyn crate::cloud::Transport>>(1);
    if let Some(mut credentials) = credentials {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            while let Some(cfg) = credentials.recv().await {
                match adapter::connect(cfg, stop.clone()).await {
                    Ok(Some(next)) => {
                        if replace.send(next).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => error!("connecting with the new credentials failed: {e}"),
                }
            }
        });
    }
    let Some(first) = adapter::connect(transport, shutdown.clone())
        .await
        .context("connecting to the Homematic IP installation")?
    else {
        return Ok(());
    };
    let opts = AdapterOptions {
        namespace,
        convention,
        secrets,
        ..AdapterOptions::default()
    };
    adapter::run_with(first, replacements, store, opts, shutdown).await
}

/// The demo: a simulated home served by the simulated cloud, run standalone in memory;
/// with `hcu`, through the simulated HCU's local Connect API instead of the cloud.
pub async fn demo(http: SocketAddr, hcu: bool) -> anyhow::Result<()> {
    let mut sim_config = SimConfig::demo("127.0.0.1:0".parse()?);
    if hcu {
        sim_config.hcu = Some(sim::HcuSimConfig::default());
    }
    let handle = sim::start(sim_config).await?;
    info!("simulated cloud on {}", handle.url());
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory());
    let transport = match handle.hcu() {
        Some(local) => TransportConfig::Hcu(HcuConfig {
            host: local.ws_addr.ip().to_string(),
            port: local.ws_addr.port(),
            auth_token: sim::DEFAULT_HCU_AUTH_TOKEN.to_string(),
            plugin_id: crate::hcu::PLUGIN_ID.to_string(),
            fingerprint: local.fingerprint,
            options: ClientOptions::default(),
        }),
        None => TransportConfig::Cloud(CloudConfig {
            sgtin: sim::DEFAULT_SGTIN.to_string(),
            auth_token: sim::DEFAULT_AUTH_TOKEN.to_string(),
            lookup_url: handle.lookup_url(),
            options: ClientOptions::default(),
        }),
    };
    let via = if hcu {
        "the simulated HCU's local Connect API"
    } else {
        "the simulated cloud"
    };
    eprintln!("demo: a simulated home of {} devices through {via}; open the page below to watch and switch it, Ctrl-C stops", sim::demo_home()["devices"].as_object().map_or(0, |d| d.len()));
    // In memory: the demo has no config file to keep a token or a PIN in.
    let web = web::WebOptions {
        secrets: Some(SecretParams::in_memory()),
        ..web::WebOptions::default()
    };
    let res = run_standalone(
        transport,
        None,
        store,
        http,
        web,
        "hmip.0".into(),
        crate::tree::Convention::Own,
    )
    .await;
    handle.shutdown().await;
    res
}
