//! Local control of the Home Control Unit (HmIP-HCU1) through its Connect API: pairing with
//! an activation key, a pinned self-signed certificate, and the websocket transport that
//! takes the cloud's place behind [`crate::cloud::Transport`].
//!
//! The HCU speaks the cloud's language one envelope deeper: the system state has the shape
//! of `getCurrentState`, events are the cloud's push events and control calls are the
//! cloud's paths and bodies. So this module only carries messages; the tree, the writes and
//! the event path are the cloud's. Like `cloud`, it knows nothing of ioBroker.

pub mod envelope;
pub mod pairing;
pub mod pin;
pub mod transport;

pub use pin::Fingerprint;
pub use transport::{HcuConfig, HcuTransport};

/// The plugin id this adapter registers with the HCU (reverse domain notation, as the
/// Connect API asks; one client per plugin id and HCU).
pub const PLUGIN_ID: &str = "net.iobroker.hmip-rs";

/// The port of the HCU's pairing calls (`/hmip/auth/...` over HTTPS).
pub const DEFAULT_AUTH_PORT: u16 = 6969;

/// The port of the HCU's Connect API websocket (WSS).
pub const DEFAULT_WEBSOCKET_PORT: u16 = 9001;

/// The API version header the pairing calls carry.
pub const API_VERSION: &str = "12";

/// The name the client gets in HCUweb and the app, in German (required) and English.
pub fn friendly_name() -> serde_json::Value {
    serde_json::json!({"de": "ioBroker (hmip)", "en": "ioBroker (hmip)"})
}
