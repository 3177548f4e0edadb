//! The Home Control Unit's local Connect API for the simulated home, served beside the
//! simulated cloud (`sim --hcu`): a change made through one is seen through the other, as
//! on a real HCU.
//!
//! - HTTPS on `auth_addr`: the pairing calls `requestConnectApiAuthToken` and
//!   `confirmConnectApiAuthToken` with an activation key ([`super::HCU_ACTIVATION_KEY`] at
//!   start, fresh ones from `POST /sim/hcu/activation-key`), in `auth`;
//! - WSS on `ws_addr` at `/`: the Connect API websocket (`PLUGIN_STATE_REQUEST`,
//!   `HMIP_SYSTEM_REQUEST`/`RESPONSE`, `HMIP_SYSTEM_EVENT`, `ERROR_RESPONSE`), in `ws`;
//! - one self-signed certificate for both ports, made at start and replaced by
//!   `POST /sim/hcu/certificate`, and the TLS listener, in `tls`.
//!
//! The cloud's fault hooks act here too (drop, silence, revoke, fail); throttling does not
//! (the HCU has no rate limit), and none of the cloud's counters count HCU traffic.

mod auth;
mod tls;
mod ws;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use rand::Rng;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::rest::{answer, error};
use super::state::Shared;
use super::{DEFAULT_HCU_AUTH_TOKEN, HCU_ACTIVATION_KEY};
use crate::hcu::Fingerprint;
use tls::{Accepted, CertSlot};

/// Where and how the simulator serves the HCU's local API.
#[derive(Debug, Clone)]
pub struct HcuSimConfig {
    /// The pairing calls (HTTPS); loopback only, port 0 picks a free port.
    pub auth_listen: SocketAddr,
    /// The Connect API websocket (WSS); loopback only, port 0 picks a free port.
    pub ws_listen: SocketAddr,
    /// How often the HCU sends `PLUGIN_STATE_REQUEST` and, with it, one `DEVICE_CHANGED`
    /// without `functionalChannels` to sockets that asked for events.
    pub plugin_state_interval: Duration,
}

impl Default for HcuSimConfig {
    /// Free loopback ports, a plugin state request every 30 s.
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        HcuSimConfig {
            auth_listen: any,
            ws_listen: any,
            plugin_state_interval: Duration::from_secs(30),
        }
    }
}

/// Where the simulated HCU listens and which certificate it presents now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HcuEndpoints {
    /// The pairing calls: `https://auth_addr/hmip/auth/...`.
    pub auth_addr: SocketAddr,
    /// The websocket: `wss://ws_addr/`.
    pub ws_addr: SocketAddr,
    /// The fingerprint of the certificate served to new connections.
    pub fingerprint: Fingerprint,
}

/// A token handed out by `requestConnectApiAuthToken`, valid once confirmed.
#[derive(Debug, Clone)]
pub(crate) struct PendingToken {
    /// The activation key it was requested with; confirming uses it up.
    pub key: String,
    pub plugin_id: String,
    /// `friendlyName.de`, the client's label.
    pub label: String,
}

/// Counters of the HCU's traffic, reported under `hcu` by `GET /sim/stats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct HcuStats {
    /// `HMIP_SYSTEM_REQUEST`s.
    pub requests: u64,
    /// Websocket upgrade requests (accepted or not).
    pub upgrades: u64,
    pub ws_connects: u64,
    pub ws_open: u64,
    /// Pairing calls (both kinds, answered or refused).
    pub auth_requests: u64,
    /// The `pluginReadinessStatus` last reported.
    pub plugin_state: Option<String>,
    pub plugin_state_responses: u64,
    /// `ERROR_RESPONSE`s sent.
    pub error_responses: u64,
}

/// The HCU's part of the shared state.
#[derive(Debug, Clone)]
pub(crate) struct HcuInner {
    /// Activation keys not used yet.
    pub keys: HashSet<String>,
    /// Requested tokens awaiting confirmation.
    pub pending: HashMap<String, PendingToken>,
    /// Valid tokens and the plugin id each belongs to.
    pub tokens: HashMap<String, String>,
    pub stats: HcuStats,
    /// The round robin of the periodic `DEVICE_CHANGED` without channels.
    pub next_device: usize,
}

impl Default for HcuInner {
    fn default() -> Self {
        HcuInner {
            keys: HashSet::from([HCU_ACTIVATION_KEY.to_string()]),
            pending: HashMap::new(),
            tokens: default_tokens(),
            stats: HcuStats::default(),
            next_device: 0,
        }
    }
}

/// The token accepted without pairing, for our plugin id.
fn default_tokens() -> HashMap<String, String> {
    HashMap::from([(
        DEFAULT_HCU_AUTH_TOKEN.to_string(),
        crate::hcu::PLUGIN_ID.to_string(),
    )])
}

/// The running servers of the HCU.
pub(crate) struct Server {
    auth_addr: SocketAddr,
    ws_addr: SocketAddr,
    certs: CertSlot,
    pub plugin_state_interval: Duration,
    /// Where the websocket port's handshakes go (to its axum server).
    ws_accepted: Accepted,
    /// The websocket port's accept loop; None while not exposed.
    ws_accept: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    /// Bumped to close every HCU websocket: expose off, and with the cloud's through
    /// [`Shared::close_all_websockets`] (drop, revoke, shutdown; not `/sim/move`).
    pub close: tokio::sync::watch::Sender<u64>,
    /// The servers and the auth port's accept loop, stopped with the simulator.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Server {
    /// Where it listens and the certificate presented now.
    pub fn endpoints(&self) -> HcuEndpoints {
        HcuEndpoints {
            auth_addr: self.auth_addr,
            ws_addr: self.ws_addr,
            fingerprint: tls::current(&self.certs).fingerprint,
        }
    }

    /// Stop both servers (open websockets are closed by the simulator's close signal).
    pub fn stop(&self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
        if let Ok(mut accept) = self.ws_accept.try_lock() {
            if let Some(task) = accept.take() {
                task.abort();
            }
        }
    }

    /// Expose the websocket port or not: off stops its listener (connections are refused)
    /// and closes the HCU's websockets; on binds the same port again.
    async fn expose(&self, on: bool) -> anyhow::Result<()> {
        let mut accept = self.ws_accept.lock().await;
        match (on, accept.take()) {
            (false, Some(task)) => {
                task.abort();
                // Awaited, so the port is closed when the hook answers.
                let _ = task.await;
                self.close.send_modify(|g| *g += 1);
            }
            (true, None) => {
                let listener = tokio::net::TcpListener::bind(self.ws_addr)
                    .await
                    .with_context(|| format!("binding {} again", self.ws_addr))?;
                *accept = Some(tls::accept_loop(
                    listener,
                    self.certs.clone(),
                    self.ws_accepted.clone(),
                ));
            }
            (_, task) => *accept = task,
        }
        Ok(())
    }
}

/// Bind both ports, make the certificate and serve; the servers are recorded in
/// `shared.hcu`.
pub(crate) async fn start(shared: &Arc<Shared>, cfg: &HcuSimConfig) -> anyhow::Result<()> {
    for addr in [cfg.auth_listen, cfg.ws_listen] {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "the simulated HCU listens on loopback only, not {}",
            addr.ip()
        );
    }
    let certs = tls::slot(tls::generate()?);
    let auth_listener = tokio::net::TcpListener::bind(cfg.auth_listen)
        .await
        .with_context(|| format!("binding the simulated HCU to {}", cfg.auth_listen))?;
    let ws_listener = tokio::net::TcpListener::bind(cfg.ws_listen)
        .await
        .with_context(|| format!("binding the simulated HCU to {}", cfg.ws_listen))?;
    let auth_addr = auth_listener.local_addr()?;
    let ws_addr = ws_listener.local_addr()?;

    let (auth_accepted, auth_tls) = tls::listener(auth_addr);
    let (ws_accepted, ws_tls) = tls::listener(ws_addr);
    let auth_loop = tls::accept_loop(auth_listener, certs.clone(), auth_accepted);
    let ws_loop = tls::accept_loop(ws_listener, certs.clone(), ws_accepted.clone());
    let auth_app = auth::router(shared.clone());
    let ws_app = ws::router(shared.clone());
    let auth_server = tokio::spawn(async move {
        if let Err(e) = axum::serve(auth_tls, auth_app).await {
            tracing::warn!("simulated HCU's pairing server failed: {e}");
        }
    });
    let ws_server = tokio::spawn(async move {
        if let Err(e) = axum::serve(ws_tls, ws_app).await {
            tracing::warn!("simulated HCU's websocket server failed: {e}");
        }
    });
    let (close, _) = tokio::sync::watch::channel(0);
    let server = Server {
        auth_addr,
        ws_addr,
        certs,
        plugin_state_interval: cfg.plugin_state_interval,
        ws_accepted,
        ws_accept: tokio::sync::Mutex::new(Some(ws_loop)),
        close,
        tasks: Mutex::new(vec![auth_loop, auth_server, ws_server]),
    };
    anyhow::ensure!(
        shared.hcu.set(Arc::new(server)).is_ok(),
        "the simulated HCU is started once"
    );
    tracing::info!("simulated HCU listening on https://{auth_addr} (websocket wss://{ws_addr})");
    Ok(())
}

/// A fresh activation key: 6 upper-case letters and digits, as HCUweb shows them.
fn new_activation_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Revoke every HCU token (the cloud's `/sim/revoke`); the caller closes the websockets.
pub(crate) fn revoke(inner: &mut super::state::Inner) {
    inner.hcu.tokens.clear();
    inner.hcu.pending.clear();
}

/// Make [`DEFAULT_HCU_AUTH_TOKEN`] valid again (the cloud's `/sim/unrevoke`).
pub(crate) fn unrevoke(inner: &mut super::state::Inner) {
    inner.hcu.tokens.extend(default_tokens());
}

/// The `hcu` object of `GET /sim/stats`.
pub(crate) fn stats(inner: &super::state::Inner) -> Value {
    let st = &inner.hcu.stats;
    json!({
        "requests": st.requests,
        "upgrades": st.upgrades,
        "wsConnects": st.ws_connects,
        "wsOpen": st.ws_open,
        "authRequests": st.auth_requests,
        "pluginState": st.plugin_state,
        "pluginStateResponses": st.plugin_state_responses,
        "errorResponses": st.error_responses,
    })
}

/// The HCU's hooks, merged into the simulator's hook routes.
pub(crate) fn hook_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/sim/hcu/activation-key", post(activation_key))
        .route("/sim/hcu/certificate", post(certificate))
        .route("/sim/hcu/expose", post(expose))
}

/// `POST /sim/hcu/activation-key`: a fresh activation key, valid once (older unused keys
/// stay valid). Answers `{"activationKey": key}`.
async fn activation_key(State(s): State<Arc<Shared>>) -> Response {
    let key = new_activation_key();
    s.lock().hcu.keys.insert(key.clone());
    tracing::info!("hook: a new HCU activation key");
    answer(StatusCode::OK, json!({ "activationKey": key }))
}

/// The 404 of a simulator that does not serve the HCU.
fn not_simulated() -> Response {
    error(StatusCode::NOT_FOUND, "HCU_NOT_SIMULATED")
}

/// `POST /sim/hcu/certificate`: a new certificate for new connections from now on (a
/// replaced HCU). Answers `{"fingerprint": fp}`.
async fn certificate(State(s): State<Arc<Shared>>) -> Response {
    let Some(server) = s.hcu.get().cloned() else {
        return not_simulated();
    };
    match tls::generate() {
        Ok(cert) => {
            let fingerprint = cert.fingerprint;
            tls::replace(&server.certs, cert);
            tracing::info!("hook: the HCU's certificate is now {fingerprint}");
            answer(
                StatusCode::OK,
                json!({ "fingerprint": fingerprint.to_string() }),
            )
        }
        Err(e) => {
            tracing::warn!("hook: no new certificate: {e:#}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "CERTIFICATE_FAILED")
        }
    }
}

/// `POST /sim/hcu/expose` with `{"on": b}`: while off, the websocket port refuses
/// connections and the HCU's websockets are closed; on binds the same port again.
/// Answers `{"on": b}`.
async fn expose(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(on) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("on").and_then(Value::as_bool))
    else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let Some(server) = s.hcu.get().cloned() else {
        return not_simulated();
    };
    if let Err(e) = server.expose(on).await {
        tracing::warn!("hook: expose {on} failed: {e:#}");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "EXPOSE_FAILED");
    }
    tracing::info!(
        "hook: the HCU's websocket is {}",
        if on { "exposed" } else { "not exposed" }
    );
    answer(StatusCode::OK, json!({ "on": on }))
}
