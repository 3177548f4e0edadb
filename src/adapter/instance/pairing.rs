//! Admin's "Create token" button: pairing through the messagebox, for the cloud (access
//! point or HCU through the cloud: SGTIN, PIN, blue button) and for the HCU's local Connect
//! API (address and activation key). The progress goes to `info.pairing` as it happens;
//! on success the answer fills admin's form and the secrets are written into the instance
//! object, encrypted where io-package's `encryptedNative` says so.

use serde_json::{json, Value};
use tracing::{info, warn};

use super::{secret, Instance};
use crate::cloud::pairing::{self, PairingProgress, PairingRequest};
use crate::cloud::DEFAULT_LOOKUP_URL;
use crate::hcu::pairing::{self as hcu_pairing, HcuPairingProgress, HcuPairingRequest};

/// Native keys and values to save after a pairing.
pub(super) type Natives = Vec<(&'static str, String)>;

impl Instance {
    /// Pair as the message (the form's fields) says: `connection: "hcu"` with the HCU,
    /// anything else with the access point through the cloud. Returns admin's answer and,
    /// on success, the settings to save.
    pub(super) async fn request_token(&self, message: Value) -> (Value, Option<Natives>) {
        // admin sends the jsonData template parsed; older admins send it as a string.
        let message = match message {
            Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
            other => other,
        };
        let field = |k: &str| {
            message
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let port = |k: &str| {
            message.get(k).and_then(|v| match v {
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        };
        if field("connection").as_deref() == Some("hcu") {
            let Some(host) = field("hcuHost") else {
                return (
                    json!({"error": "Enter the HCU's address first (hcu1-XXXX.local, XXXX the last four digits of its SGTIN, or its IP address)."}),
                    None,
                );
            };
            let Some(key) = field("hcuActivationKey") else {
                return (
                    json!({"error": "Enter an activation key first: HCUweb → developer mode → generate an activation key."}),
                    None,
                );
            };
            let mut req = HcuPairingRequest::new(host, key);
            if let Some(p) = port("hcuAuthPort") {
                req.auth_port = p;
            }
            if let Some(p) = port("hcuWebsocketPort") {
                req.websocket_port = p;
            }
            return self.pair_hcu(req).await;
        }
        self.pair_cloud(
            field("accessPointSgtin"),
            field("pin"),
            field("deviceName"),
            field("lookupUrl"),
        )
        .await
    }

    async fn pair_cloud(
        &self,
        sgtin: Option<String>,
        pin: Option<String>,
        device_name: Option<String>,
        lookup: Option<String>,
    ) -> (Value, Option<Natives>) {
        let Some(sgtin) = sgtin else {
            return (
                json!({"error": "Enter the SGTIN of the access point (3014-F711-A000-…) first."}),
                None,
            );
        };
        let config = self.load_config().await.unwrap_or_default();
        let lookup = lookup
            .or(config.lookup_url.clone())
            .unwrap_or_else(|| DEFAULT_LOOKUP_URL.to_string());
        let device_name = device_name.unwrap_or_else(|| "ioBroker".into());
        let mut req = PairingRequest::new(sgtin, pin, device_name, lookup);
        req.timeout = self.opts.pairing_timeout;
        req.poll_interval = self.opts.pairing_poll;

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PairingProgress>();
        let outcome = {
            let pairing = pairing::pair(&req, tx);
            tokio::pin!(pairing);
            loop {
                tokio::select! {
                    Some(p) = rx.recv() => self.set_pairing_text(&p.to_string()).await,
                    r = &mut pairing => break r,
                }
            }
        };
        while let Ok(p) = rx.try_recv() {
            self.set_pairing_text(&p.to_string()).await;
        }
        match outcome {
            Ok(creds) => {
                info!("paired with the access point");
                let natives: Natives = vec![
                    ("connection", "cloud".into()),
                    ("accessPointSgtin", creds.sgtin),
                    ("authToken", creds.auth_token),
                    ("clientAuthToken", creds.client_auth_token),
                    ("clientId", creds.client_id),
                    ("deviceId", creds.device_id),
                ];
                (answer(&natives), Some(natives))
            }
            Err(e) => {
                warn!("pairing failed: {e}");
                (json!({"error": e.to_string()}), None)
            }
        }
    }

    async fn pair_hcu(&self, req: HcuPairingRequest) -> (Value, Option<Natives>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<HcuPairingProgress>();
        let outcome = {
            let pairing = hcu_pairing::pair(&req, tx);
            tokio::pin!(pairing);
            loop {
                tokio::select! {
                    Some(p) = rx.recv() => self.on_hcu_progress(&p).await,
                    r = &mut pairing => break r,
                }
            }
        };
        while let Ok(p) = rx.try_recv() {
            self.on_hcu_progress(&p).await;
        }
        match outcome {
            Ok(creds) => {
                let natives: Natives = vec![
                    ("connection", "hcu".into()),
                    ("hcuHost", req.host.trim().to_string()),
                    ("hcuAuthToken", creds.auth_token),
                    ("hcuClientId", creds.client_id),
                    ("hcuFingerprint", creds.fingerprint.to_string()),
                ];
                (answer(&natives), Some(natives))
            }
            Err(e) => {
                warn!("pairing with the HCU failed: {e}");
                (json!({"error": e.to_string()}), None)
            }
        }
    }

    /// A step of HCU pairing: `info.pairing`, and the pinned certificate in the log too.
    async fn on_hcu_progress(&self, p: &HcuPairingProgress) {
        match p {
            HcuPairingProgress::Certificate(_) | HcuPairingProgress::Done => info!("{p}"),
            _ => {}
        }
        self.set_pairing_text(&p.to_string()).await;
    }

    pub(super) async fn set_pairing_text(&self, text: &str) {
        let id = format!("{}.info.pairing", self.ns);
        let _ = self
            .bus
            .set_states(vec![(id, self.state(json!(text)))])
            .await;
    }

    /// Write settings into the instance object, encrypted where the object says so.
    /// js-controller restarts the instance when its native part changes: the new tokens
    /// then take effect.
    pub(super) async fn save_natives(&self, natives: &Natives) -> anyhow::Result<()> {
        use anyhow::Context;
        let mut obj = self
            .bus
            .get_object(&self.id)
            .await?
            .with_context(|| format!("{} does not exist", self.id))?;
        // Secrets are encrypted and hidden from other adapters even in an instance object
        // made by a version that did not list them.
        for list in ["encryptedNative", "protectedNative"] {
            let keys = obj
                .extra
                .entry(list)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(keys) = keys {
                if !keys.iter().any(|k| k == "secrets") {
                    keys.push(Value::String("secrets".into()));
                }
            }
        }
        let encrypted = Self::encrypted_keys(&obj);
        let secret = self.system_secret().await;
        for (key, value) in natives {
            let stored = match (&secret, encrypted.iter().any(|k| k == key)) {
                (Some(secret), true) => secret::encrypt(secret, value)?,
                (None, true) => anyhow::bail!("system.config has no secret to encrypt {key}"),
                _ => value.clone(),
            };
            obj.native.insert((*key).into(), Value::String(stored));
        }
        self.bus.set_objects(vec![obj]).await?;
        Ok(())
    }
}

/// Admin's answer: the settings for the form, saved by admin at once.
fn answer(natives: &Natives) -> Value {
    let native: serde_json::Map<String, Value> = natives
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
        .collect();
    json!({"native": native, "saveConfig": true})
}
