//! A simulated Homematic IP cloud, so that anyone can try the adapter, and every test can
//! exercise it, without an access point.
//!
//! One HTTP server on 127.0.0.1 plays all parts of the cloud:
//! - the lookup (`POST /getHost`), which points clients at this same server;
//! - the REST API (`POST /hmip/...`): the pairing handshake, `home/getCurrentState` and the
//!   control endpoints, which really change the simulated home;
//! - the websocket (`GET /ws`), which pushes `DEVICE_CHANGED`, `GROUP_CHANGED`,
//!   `HOME_CHANGED`, `CLIENT_ADDED` and `SECURITY_JOURNAL_CHANGED` like the cloud does;
//! - with [`SimConfig::hcu`], the Home Control Unit's local Connect API for the same home
//!   (HTTPS pairing calls and a WSS websocket on their own loopback ports; `hcu` module);
//! - test hooks under `/sim/...` to change devices, send bursts of device reports, push
//!   raw messages and inject faults (throttling, revoked tokens, dropped sockets); the
//!   `hooks` module lists them.
//!
//! The home is kept as raw JSON ([`serde_json::Value`]) rather than the typed model, so that
//! any fixture, unknown device types included, is served back exactly as it was loaded.

mod alarm;
mod burst;
mod control;
mod hcu;
mod hooks;
mod manage;
mod pairing;
mod rest;
mod state;
pub mod synth;
mod time;
mod ws;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_2026;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use hcu::{HcuEndpoints, HcuSimConfig};
use state::Shared;
pub use synth::synthetic_home;

/// The SGTIN of the simulated access point.
pub const DEFAULT_SGTIN: &str = "3014F711A000000000000001";

/// An auth token the simulator accepts without pairing, so `run` works against it at once.
pub const DEFAULT_AUTH_TOKEN: &str = "SIMULATOR-TOKEN-0000000000000000";

/// The activation key the simulated HCU accepts at start (once, like any activation key).
pub const HCU_ACTIVATION_KEY: &str = "SIMKEY";

/// A token the simulated HCU's websocket accepts without pairing, with the plugin id
/// [`crate::hcu::PLUGIN_ID`] (the HCU's counterpart of [`DEFAULT_AUTH_TOKEN`]).
pub const DEFAULT_HCU_AUTH_TOKEN: &str =
    "5E1F0C0DE0000000000000000000000000000000000000000000000000000001";

/// How the blue button of the simulated access point gets pressed during pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Button {
    /// Pressed by itself about a second after each `auth/connectionRequest`.
    #[default]
    Auto,
    /// Pressed only through the hook `POST /sim/button`.
    Manual,
}

/// What the simulator serves and where.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The home as a `getCurrentState` answer (`{home, devices, groups, clients}`).
    pub home: Value,
    /// Where to listen; must be a loopback address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The access point's SGTIN (any spelling; it is normalised).
    pub sgtin: String,
    /// The access point's PIN; when set, `auth/connectionRequest` requires it.
    pub pin: Option<String>,
    /// How the blue button is pressed.
    pub button: Button,
    /// Serve the HCU's local Connect API too (None: the cloud alone).
    pub hcu: Option<HcuSimConfig>,
}

impl SimConfig {
    /// The bundled demo home with the default SGTIN, no PIN and an automatic button.
    pub fn demo(listen: SocketAddr) -> Self {
        SimConfig {
            home: demo_home(),
            listen,
            sgtin: DEFAULT_SGTIN.to_string(),
            pin: None,
            button: Button::Auto,
            hcu: None,
        }
    }

    /// A home read from a `getCurrentState` JSON file, otherwise the defaults of [`SimConfig::demo`].
    pub fn with_fixture_file(path: impl AsRef<Path>, listen: SocketAddr) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading fixture {}", path.display()))?;
        let home: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing fixture {} as JSON", path.display()))?;
        check_home(&home).with_context(|| format!("fixture {}", path.display()))?;
        Ok(SimConfig {
            home,
            ..SimConfig::demo(listen)
        })
    }
}

/// The project's own demo home: about 30 devices of the common kinds, groups, security
/// zones, all six functional homes, weather and a client.
pub fn demo_home() -> Value {
    serde_json::from_str(include_str!("demo_home.json"))
        .expect("the bundled demo home is valid JSON")
}

/// A `getCurrentState` answer needs at least a home object and maps of devices and groups.
fn check_home(home: &Value) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(home.get("home"), Some(Value::Object(_))),
        "no \"home\" object"
    );
    for key in ["devices", "groups"] {
        anyhow::ensure!(
            matches!(home.get(key), None | Some(Value::Object(_))),
            "\"{key}\" is not an object"
        );
    }
    Ok(())
}

/// Entry point of the simulator (same as [`start`]).
pub struct Simulator;

impl Simulator {
    /// Bind and serve; see [`start`].
    pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
        start(cfg).await
    }
}

/// A running simulator.
///
/// Dropping the handle leaves the simulator running until the tokio runtime stops; call
/// [`SimHandle::shutdown`] to stop it earlier.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Bind to `cfg.listen` (loopback only) and serve the simulated cloud in a background task.
/// Returns once the socket is bound, so the URLs of the handle are usable at once.
pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    // The simulator has no authentication worth the name: never expose it.
    anyhow::ensure!(
        cfg.listen.ip().is_loopback(),
        "the simulator listens on 127.0.0.1 only, not {}",
        cfg.listen.ip()
    );
    let sgtin = crate::cloud::identity::normalize_sgtin(&cfg.sgtin).context("simulator SGTIN")?;
    check_home(&cfg.home).context("simulator home")?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding the simulator to {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(&cfg, sgtin, addr));
    if let Some(hcu_cfg) = &cfg.hcu {
        hcu::start(&shared, hcu_cfg).await?;
    }
    let app = rest::router(shared.clone(), 0);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let signal = async move {
            // A dropped handle is not a stop request: keep serving.
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::warn!("simulator server failed: {e}");
        }
    });
    tracing::info!("simulated HmIP cloud listening on http://{addr}");
    Ok(SimHandle {
        addr,
        shared,
        stop,
        task,
    })
}

/// The second host of `/sim/move` (started on first use): another listener on the same
/// loopback address serving the same routes as host 1. Returns its address.
pub(crate) async fn second_host(shared: &Arc<Shared>) -> anyhow::Result<SocketAddr> {
    let addr = shared
        .second
        .get_or_try_init(|| async {
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(shared.addr.ip(), 0))
                .await
                .context("binding the simulator's second host")?;
            let addr = listener.local_addr()?;
            let app = rest::router(shared.clone(), 1);
            let task = tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::warn!("simulator's second host failed: {e}");
                }
            });
            *shared.second_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
            tracing::info!("simulated HmIP cloud's second host listening on http://{addr}");
            anyhow::Ok(addr)
        })
        .await?;
    Ok(*addr)
}

impl SimHandle {
    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The REST base URL, `http://ADDR` (what the lookup answers as `urlREST`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The lookup URL, `http://ADDR/getHost`, to configure in place of the real lookup.
    pub fn lookup_url(&self) -> String {
        format!("http://{}/getHost", self.addr)
    }

    /// The websocket URL, `ws://ADDR/ws` (what the lookup answers as `urlWebSocket`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Where the simulated HCU listens and the fingerprint of the certificate it serves now
    /// (call again after `/sim/hcu/certificate`); None without [`SimConfig::hcu`].
    pub fn hcu(&self) -> Option<HcuEndpoints> {
        self.shared.hcu.get().map(|server| server.endpoints())
    }

    /// The simulated home as it is now.
    pub fn home(&self) -> Value {
        self.shared.home()
    }

    /// Close every websocket, stop accepting requests and wait (at most a few seconds) for
    /// open requests to finish.
    pub async fn shutdown(self) {
        let SimHandle {
            shared,
            stop,
            mut task,
            ..
        } = self;
        // Websockets would otherwise keep the graceful shutdown waiting.
        shared.close_all_websockets();
        if let Some(hcu) = shared.hcu.get() {
            hcu.stop();
        }
        if let Some(second) = shared
            .second_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            second.abort();
        }
        let _ = stop.send(());
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
        tracing::info!("simulated HmIP cloud stopped");
    }
}
