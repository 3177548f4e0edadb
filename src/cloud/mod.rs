//! The Homematic IP cloud protocol: lookup, pairing, REST control with a client-side rate
//! limit, the websocket event stream, and a typed model that keeps unknown fields.
//!
//! This layer knows nothing of ioBroker. The adapter talks to it through [`Transport`]
//! (snapshot, event stream, control call), so that a second transport (local control
//! through the HCU's Connect API) can take its place later.

pub mod endpoints;
pub mod error;
pub mod events;
pub mod fields;
pub mod identity;
pub mod lenient;
pub mod lookup;
pub mod model;
pub mod pairing;
pub mod report;
pub mod rest;
mod scan;
pub mod stream;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

pub use endpoints::CONTROL_PATHS;
pub use error::CloudError;
pub use events::{ChannelEvent, PushEvent};
pub use fields::Fields;
pub use model::{Channel, Client, CurrentState, Device, Group, Home};
pub use report::DeviceReport;

/// The lookup service of the real cloud.
pub const DEFAULT_LOOKUP_URL: &str = "https://lookup.homematic.com:48335/getHost";

/// One control call: `POST {urlREST}/hmip/{path}` with a JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlCall {
    /// The path below `/hmip/`, e.g. `device/control/setSwitchState`.
    pub path: String,
    /// The JSON body, e.g. `{"deviceId": "…", "channelIndex": 1, "on": true}`.
    pub body: Value,
}

/// What the event stream reports to its consumer.
#[derive(Debug, Clone)]
pub enum CloudEvent {
    /// The websocket is open.
    Connected,
    /// A fresh `getCurrentState`, fetched after every (re)connect because events sent while
    /// disconnected are lost.
    Snapshot(Box<CurrentState>),
    /// Events of one websocket message, in order.
    Events(Vec<PushEvent>),
    /// The websocket closed or died; the stream reconnects by itself with backoff.
    Disconnected {
        /// Why, for the log (never contains a secret).
        reason: String,
    },
    /// The token was revoked: the stream stopped and will not retry. Pair again.
    AuthRevoked {
        /// The cloud's error code.
        code: String,
    },
    /// The other end refused this client for good (the HCU's 401, a changed certificate):
    /// the stream stopped and will not retry. The reason says what the user must do.
    Refused {
        /// For the log: what happened and what to do (never a secret).
        reason: String,
    },
}

/// The interface the adapter uses to reach a Homematic IP installation.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// What the user calls this transport, for log lines ("cloud", "HCU").
    fn kind(&self) -> &'static str {
        "cloud"
    }
    /// The whole home now.
    async fn current_state(&self) -> Result<CurrentState, CloudError>;
    /// Send a control call; Ok once the cloud accepted it.
    async fn control(&self, call: &ControlCall) -> Result<Value, CloudError>;
    /// Run the event stream until `tx` is closed or the token is revoked: connect, report
    /// [`CloudEvent::Connected`] and a [`CloudEvent::Snapshot`], forward events, and on
    /// failure reconnect with backoff.
    async fn run_events(&self, tx: mpsc::Sender<CloudEvent>);
}

/// Timings and limits of the cloud client. The defaults are those of the best public
/// clients; tests shorten them.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Timeout of one REST request.
    pub request_timeout: Duration,
    /// Token bucket: burst capacity.
    pub bucket_capacity: u32,
    /// Token bucket: one token added per this interval.
    pub bucket_refill: Duration,
    /// At most this many requests wait for a token; more are refused with QueueFull.
    pub queue_limit: usize,
    /// First pause after a 429; doubles up to `throttle_backoff_max`.
    pub throttle_backoff: Duration,
    /// Longest pause after repeated 429s.
    pub throttle_backoff_max: Duration,
    /// Websocket ping interval.
    pub ping_interval: Duration,
    /// The connection is dead when nothing arrives for this long.
    pub dead_timeout: Duration,
    /// First reconnect delay; doubles with jitter up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
    /// Repeat the lookup after this many failed connects in a row.
    pub lookup_after_failures: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            bucket_capacity: 10,
            bucket_refill: Duration::from_secs(1),
            queue_limit: 120,
            throttle_backoff: Duration::from_secs(30),
            throttle_backoff_max: Duration::from_secs(15 * 60),
            ping_interval: Duration::from_secs(20),
            dead_timeout: Duration::from_secs(25),
            reconnect_min: Duration::from_secs(8),
            reconnect_max: Duration::from_secs(15 * 60),
            lookup_after_failures: 3,
        }
    }
}

/// Characteristics of this client, sent with the lookup and getCurrentState.
pub fn client_characteristics(sgtin: &str) -> Value {
    serde_json::json!({
        "clientCharacteristics": {
            "apiVersion": "12",
            "applicationIdentifier": "iobroker-hmip",
            "applicationVersion": env!("CARGO_PKG_VERSION"),
            "deviceManufacturer": "none",
            "deviceType": "Computer",
            "language": "en_US",
            "osType": std::env::consts::OS,
            "osVersion": "1"
        },
        "id": sgtin
    })
}
