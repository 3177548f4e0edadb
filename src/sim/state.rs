//! The simulator's shared state: the home, tokens, pending pairings, recorded calls,
//! counters, and the fan-out to connected websockets.
//!
//! Everything mutable sits behind one `std` mutex that is never held across an await: the
//! simulator is small and a single lock keeps changes and their pushed events in order.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::{broadcast, watch};

use super::{Button, SimConfig, DEFAULT_AUTH_TOKEN};

/// A frame for every connected websocket.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// A text frame (what the cloud sends).
    Text(String),
    /// A binary frame (some clients must cope with these).
    Binary(Vec<u8>),
}

/// A pairing started with `auth/connectionRequest`, keyed by the client's deviceId.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairingRequest {
    /// The name the client gave itself; becomes the client's label.
    pub device_name: String,
    /// The blue button was pressed for this request.
    pub acknowledged: bool,
    /// The token handed out by `auth/requestAuthToken`, valid once confirmed.
    pub issued_token: Option<String>,
}

/// Counters reported by `GET /sim/stats`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stats {
    pub requests: u64,
    pub throttled: u64,
    pub ws_connects: u64,
    pub ws_open: u64,
    /// Pushed frames written to a cloud websocket (a test's marker: an event has left).
    pub ws_frames_sent: u64,
    /// Websocket upgrade requests (accepted or not).
    pub upgrades: u64,
    /// Requests answered with the status of `/sim/fail`.
    pub failed: u64,
    /// Requests held back by the delay of `/sim/fail`.
    pub delayed: u64,
    /// Requests answered 503 because the access point moved to the other host.
    pub moved_away: u64,
}

/// A fault armed by `POST /sim/fail`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fail {
    /// How many more matching requests it affects.
    pub count: u64,
    /// Answer this status instead of serving the request.
    pub status: Option<u16>,
    /// Or: wait this long, then serve the request normally.
    pub delay: Option<Duration>,
    /// Only requests whose path (below `/hmip/`, or `ws` for the upgrade) starts with this.
    pub path: Option<String>,
}

/// What a request meets before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Nothing: serve it.
    None,
    /// The access point moved to the other host: 503.
    MovedAway,
    /// Answer this status (from `/sim/fail`).
    Status(u16),
    /// Wait, then serve it (from `/sim/fail`).
    Delay(Duration),
    /// Answer 429.
    Throttled,
}

/// What the lock protects.
pub(crate) struct Inner {
    /// The whole `getCurrentState` answer.
    pub home: Value,
    /// Tokens accepted in `AUTHTOKEN`.
    pub tokens: HashSet<String>,
    pub pairing: HashMap<String, PairingRequest>,
    /// Recorded control calls: `{path, body, ts}`.
    pub calls: Vec<Value>,
    pub stats: Stats,
    /// How many more requests answer 429.
    pub throttle: u64,
    /// Every request answers 429 until this time (epoch ms).
    pub throttle_until_ms: i64,
    /// The fault armed by `/sim/fail`.
    pub fail: Fail,
    /// Epoch-ms times of every `/hmip/...` request and websocket upgrade.
    pub request_times: Vec<i64>,
    /// Epoch-ms times of the websocket upgrades alone (reconnect attempts).
    pub upgrade_times: Vec<i64>,
    /// Which host serves the access point: 0 the first listener, 1 the one `/sim/move`
    /// started.
    pub active_host: u8,
    /// The security journal's entries, newest first, as `getSecurityJournal` answers them
    /// (added through `/sim/journal`).
    pub journal: Vec<Value>,
    /// The HCU's local API: activation keys, tokens and counters (kept even when the HCU
    /// is not served, so hooks need no special case).
    pub hcu: super::hcu::HcuInner,
}

/// State shared by all handlers and websocket tasks.
pub(crate) struct Shared {
    /// Normalised SGTIN of the simulated access point.
    pub sgtin: String,
    /// The CLIENTAUTH value expected for that SGTIN.
    pub client_auth: String,
    pub pin: Option<String>,
    pub button: Button,
    /// Where the server is bound (answered by the lookup).
    pub addr: SocketAddr,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Outgoing>,
    /// Bumped to make every open websocket close (drop, revoke, shutdown).
    close: watch::Sender<u64>,
    /// True while open websockets are silent (`/sim/silence`).
    silence: watch::Sender<bool>,
    /// The second host, started by the first `/sim/move`.
    pub second: tokio::sync::OnceCell<SocketAddr>,
    /// The second host's server task, stopped with the simulator.
    pub second_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The HCU's servers, when the simulator serves the local API too.
    pub hcu: std::sync::OnceLock<Arc<super::hcu::Server>>,
}

impl Shared {
    pub fn new(cfg: &SimConfig, sgtin: String, addr: SocketAddr) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let (close, _) = watch::channel(0);
        let (silence, _) = watch::channel(false);
        Shared {
            client_auth: crate::cloud::identity::client_auth(&sgtin),
            sgtin,
            pin: cfg.pin.clone(),
            button: cfg.button,
            addr,
            inner: Mutex::new(Inner {
                home: cfg.home.clone(),
                tokens: HashSet::from([DEFAULT_AUTH_TOKEN.to_string()]),
                pairing: HashMap::new(),
                calls: Vec::new(),
                stats: Stats::default(),
                throttle: 0,
                throttle_until_ms: 0,
                fail: Fail::default(),
                request_times: Vec::new(),
                upgrade_times: Vec::new(),
                active_host: 0,
                journal: Vec::new(),
                hcu: super::hcu::HcuInner::default(),
            }),
            tx,
            close,
            silence,
            second: tokio::sync::OnceCell::new(),
            second_task: Mutex::new(None),
            hcu: std::sync::OnceLock::new(),
        }
    }

    /// Lock the state; a panic in another handler does not make the simulator unusable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The home as it is now.
    pub fn home(&self) -> Value {
        self.lock().home.clone()
    }

    /// Count a 429 if throttling is armed; true means "answer 429".
    fn throttled(inner: &mut Inner, now: i64) -> bool {
        if inner.throttle == 0 && now >= inner.throttle_until_ms {
            return false;
        }
        inner.throttle = inner.throttle.saturating_sub(1);
        inner.stats.throttled += 1;
        true
    }

    /// Record a `/hmip/{path}` request (`path` "ws" for a websocket upgrade) that reached
    /// host `host`, and say which fault it meets: the other host serves the access point,
    /// then `/sim/fail`, then throttling.
    pub fn admit(&self, host: u8, path: &str) -> Fault {
        let now = super::time::now_ms();
        let mut inner = self.lock();
        inner.request_times.push(now);
        if path == "ws" {
            inner.stats.upgrades += 1;
            inner.upgrade_times.push(now);
        } else {
            inner.stats.requests += 1;
        }
        if inner.active_host != host {
            inner.stats.moved_away += 1;
            return Fault::MovedAway;
        }
        let fail = &mut inner.fail;
        if fail.count > 0 && fail.path.as_deref().is_none_or(|p| path.starts_with(p)) {
            fail.count -= 1;
            if let Some(status) = fail.status {
                inner.stats.failed += 1;
                return Fault::Status(status);
            }
            if let Some(delay) = fail.delay {
                inner.stats.delayed += 1;
                return Fault::Delay(delay);
            }
        }
        if Self::throttled(&mut inner, now) {
            return Fault::Throttled;
        }
        Fault::None
    }

    /// The fault of `/sim/fail` a HCU request meets (`path` below `/hmip/`, or `ws` for a
    /// websocket upgrade). Unlike [`Shared::admit`] it counts nothing of the cloud's (not
    /// even `failed`/`delayed`) and knows no throttling: the HCU has no rate limit.
    pub fn hcu_fault(&self, path: &str) -> Fault {
        let mut inner = self.lock();
        let fail = &mut inner.fail;
        if fail.count == 0 || !fail.path.as_deref().is_none_or(|p| path.starts_with(p)) {
            return Fault::None;
        }
        fail.count -= 1;
        match (fail.status, fail.delay) {
            (Some(status), _) => Fault::Status(status),
            (None, Some(delay)) => Fault::Delay(delay),
            (None, None) => Fault::None,
        }
    }

    /// The address of the host that serves the access point now.
    pub fn active_addr(&self) -> SocketAddr {
        let active = self.lock().active_host;
        match (active, self.second.get()) {
            (1, Some(addr)) => *addr,
            _ => self.addr,
        }
    }

    /// Make open (and new) websockets silent, or talk again.
    pub fn set_silence(&self, on: bool) {
        self.silence.send_replace(on);
    }

    /// A receiver of the silence switch.
    pub fn silence_signal(&self) -> watch::Receiver<bool> {
        self.silence.subscribe()
    }

    pub fn token_valid(&self, token: &str) -> bool {
        self.lock().tokens.contains(token)
    }

    /// Push events (each `{"pushEventType": ..., ...}`) as one message, like the cloud groups
    /// the events of one change.
    pub fn push_events(&self, events: Vec<Value>) {
        if events.is_empty() {
            return;
        }
        let map: Map<String, Value> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i.to_string(), e))
            .collect();
        self.send(Outgoing::Text(json!({ "events": map }).to_string()));
    }

    /// Send a frame to every websocket; returns how many were listening.
    pub fn send(&self, frame: Outgoing) -> usize {
        // No receiver is not an error: nobody is connected.
        self.tx.send(frame).unwrap_or(0)
    }

    /// Messages sent but not yet taken by every websocket writer.
    pub fn pending(&self) -> usize {
        self.tx.len()
    }

    /// Close every open websocket, the cloud's and the HCU's; returns how many were open.
    pub fn close_all_websockets(&self) -> u64 {
        let hcu = self.lock().hcu.stats.ws_open;
        if let Some(server) = self.hcu.get() {
            server.close.send_modify(|generation| *generation += 1);
        }
        self.close_cloud_websockets() + hcu
    }

    /// Close the cloud's open websockets (not the HCU's); returns how many were open.
    pub fn close_cloud_websockets(&self) -> u64 {
        let open = self.lock().stats.ws_open;
        self.close.send_modify(|generation| *generation += 1);
        open
    }

    /// A receiver of pushed frames, taken before the websocket handshake completes so that
    /// no event sent right after the handshake is missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Outgoing> {
        self.tx.subscribe()
    }

    /// A receiver that changes when every websocket must close.
    pub fn close_signal(&self) -> watch::Receiver<u64> {
        let mut rx = self.close.subscribe();
        rx.borrow_and_update();
        rx
    }

    /// Press the blue button: acknowledge every pending pairing request (or only `device_id`).
    /// Returns how many requests were acknowledged.
    pub fn press_button(&self, device_id: Option<&str>) -> usize {
        let mut inner = self.lock();
        let mut n = 0;
        for (id, req) in inner.pairing.iter_mut() {
            if !req.acknowledged && (device_id.is_none() || device_id == Some(id.as_str())) {
                req.acknowledged = true;
                n += 1;
            }
        }
        n
    }
}

/// Counts an open websocket from the upgrade request until its task ends (or the upgrade
/// fails and the guard is dropped unused).
pub(crate) struct WsGuard(Arc<Shared>);

impl WsGuard {
    pub fn new(shared: Arc<Shared>) -> Self {
        {
            let mut inner = shared.lock();
            inner.stats.ws_connects += 1;
            inner.stats.ws_open += 1;
        }
        WsGuard(shared)
    }

    /// Count a pushed frame written to this websocket.
    pub fn frame_sent(&self) {
        self.0.lock().stats.ws_frames_sent += 1;
    }
}

impl Drop for WsGuard {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.stats.ws_open = inner.stats.ws_open.saturating_sub(1);
    }
}
