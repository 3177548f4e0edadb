//! The instance configuration: ioBroker.hmip's native keys, so tokens carry over.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The config file of standalone mode and the `native` part of the ioBroker instance.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceConfig {
    /// The access point's SGTIN (`3014-F711-A000-…`).
    #[serde(default)]
    pub access_point_sgtin: String,
    /// The system PIN, if one is set in the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The name this client has in the Homematic IP app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The UUID this client paired with.
    #[serde(default)]
    pub device_id: String,
    /// The auth token from pairing.
    #[serde(default)]
    pub auth_token: String,
    /// CLIENTAUTH (derived from the SGTIN).
    #[serde(default)]
    pub client_auth_token: String,
    /// The client id the cloud assigned.
    #[serde(default)]
    pub client_id: String,
    /// Lookup URL, for the simulator or tests; the real cloud's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_url: Option<String>,
    /// Show and accept values as ioBroker.hmip 3.2.0 did (shutter levels 0 = open,
    /// `windowState` as text, …), for users who move with scripts: see
    /// [`crate::tree::Convention`]. Admin's "Values as ioBroker.hmip".
    #[serde(
        default,
        rename = "valuesAsIoBrokerHmip",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub values_as_iobroker_hmip: bool,
    /// How the adapter reaches the installation: through the cloud (access point or HCU,
    /// the default, and what an ioBroker.hmip config means) or the HCU's local Connect API.
    #[serde(default, skip_serializing_if = "Connection::is_cloud")]
    pub connection: Connection,
    /// The HCU's name or address (`hcu1-XXXX.local`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hcu_host: String,
    /// The HCU's pairing port, when not 6969.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcu_auth_port: Option<u16>,
    /// The HCU's websocket port, when not 9001.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcu_websocket_port: Option<u16>,
    /// The Connect API token from pairing with the HCU (secret).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hcu_auth_token: String,
    /// The client id the HCU assigned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hcu_client_id: String,
    /// The SHA-256 fingerprint of the HCU's certificate, pinned at pairing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hcu_fingerprint: String,
    /// Secret parameters (a door lock's PIN): state id -> value, see
    /// [`super::secret_params`]. In the file a map; in ioBroker's native the same map as
    /// JSON text, since `encryptedNative` encrypts strings.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "map_or_json_text"
    )]
    pub secrets: BTreeMap<String, String>,
    /// Standalone: the HTTP API's token, written at the first start of `run`; required as
    /// `Authorization: Bearer` when the API listens on anything but loopback.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub http_token: String,
    /// Standalone: host names the HTTP API answers to besides `localhost` and IP
    /// addresses (a name the user reaches it by, such as `nas.local`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_hosts: Vec<String>,
}

/// A map of strings, or the same map as JSON text ("" = empty).
fn map_or_json_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Map(BTreeMap<String, String>),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Map(m) => Ok(m),
        Either::Text(t) if t.is_empty() => Ok(BTreeMap::new()),
        // The error names the setting, never its text.
        Either::Text(t) => serde_json::from_str(&t)
            .map_err(|_| serde::de::Error::custom("secrets: not a JSON map of strings")),
    }
}

/// How the adapter reaches the Homematic IP installation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// The eQ-3 cloud (access point or HCU).
    #[default]
    Cloud,
    /// The HCU's local Connect API.
    Hcu,
}

impl Connection {
    /// Is this the cloud (the default, left out of a written config)?
    pub fn is_cloud(&self) -> bool {
        *self == Connection::Cloud
    }
}

/// Debug never shows a secret.
impl std::fmt::Debug for InstanceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &str| {
            if s.is_empty() {
                "<unset>"
            } else {
                "<redacted>"
            }
        };
        f.debug_struct("InstanceConfig")
            .field("access_point_sgtin", &self.access_point_sgtin)
            .field("pin", &self.pin.as_deref().map(set))
            .field("device_name", &self.device_name)
            .field("device_id", &self.device_id)
            .field("auth_token", &set(&self.auth_token))
            .field("client_auth_token", &set(&self.client_auth_token))
            .field("client_id", &self.client_id)
            .field("lookup_url", &self.lookup_url)
            .field("values_as_iobroker_hmip", &self.values_as_iobroker_hmip)
            .field("connection", &self.connection)
            .field("hcu_host", &self.hcu_host)
            .field("hcu_auth_port", &self.hcu_auth_port)
            .field("hcu_websocket_port", &self.hcu_websocket_port)
            .field("hcu_auth_token", &set(&self.hcu_auth_token))
            .field("hcu_client_id", &self.hcu_client_id)
            .field("hcu_fingerprint", &self.hcu_fingerprint)
            .field("secrets", &self.secrets.len())
            .field("http_token", &set(&self.http_token))
            .field("http_hosts", &self.http_hosts)
            .finish()
    }
}

impl InstanceConfig {
    /// Read a config file.
    pub fn load(path: &Path) -> anyhow::Result<InstanceConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config file {} is not valid: {e}", path.display()))
    }

    /// Write a config file readable by its owner only (it holds tokens): mode 0600, via a
    /// temporary file and rename so a crash never leaves half a file. The temporary file
    /// is always created afresh: one left over (by a crash, or by someone else, with
    /// looser permissions or as a symlink) would keep its mode or lead elsewhere.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::private_file::write_atomically(path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| anyhow::anyhow!("cannot write the config file: {e}"))
    }

    /// The value convention the setting asks for.
    pub fn convention(&self) -> crate::tree::Convention {
        if self.values_as_iobroker_hmip {
            crate::tree::Convention::IoBrokerHmip
        } else {
            crate::tree::Convention::Own
        }
    }

    /// Is this config paired (has a token for the chosen connection)?
    pub fn is_paired(&self) -> bool {
        match self.connection {
            Connection::Cloud => !self.auth_token.is_empty() && !self.access_point_sgtin.is_empty(),
            Connection::Hcu => {
                !self.hcu_host.is_empty()
                    && !self.hcu_auth_token.is_empty()
                    && !self.hcu_fingerprint.is_empty()
            }
        }
    }

    /// Do both configs name the same installation with the same credentials?
    pub fn same_credentials(&self, other: &InstanceConfig) -> bool {
        self.connection == other.connection
            && self.access_point_sgtin == other.access_point_sgtin
            && self.auth_token == other.auth_token
            && self.lookup_url == other.lookup_url
            && self.hcu_host == other.hcu_host
            && self.hcu_websocket_port == other.hcu_websocket_port
            && self.hcu_auth_token == other.hcu_auth_token
            && self.hcu_fingerprint == other.hcu_fingerprint
    }

    /// What to do to pair, for the chosen connection.
    pub fn pairing_hint(&self) -> &'static str {
        match self.connection {
            Connection::Cloud => "enter the access point's SGTIN (and PIN) and press \"Create token\" (or run `iobroker-hmip pair --sgtin …`)",
            Connection::Hcu => "enter the HCU's address and an activation key from HCUweb's developer mode and press \"Create token\" (or run `iobroker-hmip pair --hcu HOST --activation-key KEY`)",
        }
    }

    /// The local transport's config, for a config paired with an HCU. The error says what
    /// is missing or wrong (never a secret).
    pub fn hcu_config(
        &self,
        options: crate::cloud::ClientOptions,
    ) -> anyhow::Result<crate::hcu::HcuConfig> {
        anyhow::ensure!(
            self.is_paired(),
            "not paired with an HCU: {}",
            self.pairing_hint()
        );
        let fingerprint = self.hcu_fingerprint.parse().map_err(|e| {
            anyhow::anyhow!("hcuFingerprint in the configuration is not valid ({e}): pair again")
        })?;
        Ok(crate::hcu::HcuConfig {
            host: self.hcu_host.clone(),
            port: self
                .hcu_websocket_port
                .unwrap_or(crate::hcu::DEFAULT_WEBSOCKET_PORT),
            auth_token: self.hcu_auth_token.clone(),
            plugin_id: crate::hcu::PLUGIN_ID.into(),
            fingerprint,
            options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_and_save_is_private() {
        let c = InstanceConfig {
            access_point_sgtin: "S".into(),
            auth_token: "SECRET1".into(),
            pin: Some("1234".into()),
            ..Default::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET1") && !d.contains("1234"), "{d}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        c.save(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(InstanceConfig::load(&p).unwrap(), c);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("accessPointSgtin") && text.contains("authToken"));
    }

    #[test]
    fn values_as_iobroker_hmip_is_off_unless_set() {
        let c: InstanceConfig = serde_json::from_str(r#"{"accessPointSgtin": "S"}"#).unwrap();
        assert_eq!(c.convention(), crate::tree::Convention::Own);
        let c: InstanceConfig =
            serde_json::from_str(r#"{"accessPointSgtin": "S", "valuesAsIoBrokerHmip": true}"#)
                .unwrap();
        assert_eq!(c.convention(), crate::tree::Convention::IoBrokerHmip);
        assert!(serde_json::to_string(&c)
            .unwrap()
            .contains("\"valuesAsIoBrokerHmip\":true"));
    }

    /// Regression: a temporary file left over with mode 0644 kept its mode through
    /// `truncate`, and the config holding the tokens became world-readable; a symlink in
    /// its place was followed.
    #[cfg(unix)]
    #[test]
    fn a_leftover_temporary_file_does_not_loosen_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let c = InstanceConfig {
            access_point_sgtin: "S".into(),
            auth_token: "SECRET2".into(),
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let tmp = crate::private_file::temporary(&p);
        std::fs::write(&tmp, "old").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        c.save(&p).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        // A symlink where the temporary file goes is replaced, not followed.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "untouched").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        c.save(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "untouched");
        assert_eq!(mode(&p), 0o600);
        assert_eq!(InstanceConfig::load(&p).unwrap(), c);
    }
}
