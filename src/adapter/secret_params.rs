//! Secret parameters (a door lock's PIN): kept where the tokens are, never in a state.
//!
//! A PIN opens a door. Its state shows only whether one is kept ([`tree::SECRET_MASK`]
//! or ""); the value lives here, in memory, and is saved by a [`SecretBackend`]: the 0600
//! config file standalone, the instance's settings encrypted with the system secret under
//! ioBroker. The adapter reads it when a lock command needs it; the HTTP API hands a
//! written PIN here instead of to the store.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::config::InstanceConfig;
use crate::tree;

/// Where the kept secrets are saved.
#[async_trait]
pub trait SecretBackend: Send + Sync {
    /// Save every kept secret (state id -> value), replacing what was saved.
    async fn save(&self, all: &BTreeMap<String, String>) -> anyhow::Result<()>;
}

/// The secret parameters of an instance: state id -> value.
pub struct SecretParams {
    values: Mutex<BTreeMap<String, String>>,
    /// None: in memory only (the demo, tests).
    backend: Option<Arc<dyn SecretBackend>>,
    /// One save at a time, in the order of the changes.
    saving: tokio::sync::Mutex<()>,
}

impl fmt::Debug for SecretParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the values; how many there are says nothing about them.
        let n = self.values.lock().map(|v| v.len()).unwrap_or(0);
        write!(f, "SecretParams({n} kept)")
    }
}

impl SecretParams {
    /// Kept in memory only.
    pub fn in_memory() -> Arc<SecretParams> {
        SecretParams::new(BTreeMap::new(), None)
    }

    /// Start from `saved` (what the backend saved before), saving changes to `backend`.
    pub fn new(
        saved: BTreeMap<String, String>,
        backend: Option<Arc<dyn SecretBackend>>,
    ) -> Arc<SecretParams> {
        Arc::new(SecretParams {
            values: Mutex::new(saved),
            backend,
            saving: tokio::sync::Mutex::new(()),
        })
    }

    fn values(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value kept for the state `id`.
    pub fn get(&self, id: &str) -> Option<String> {
        self.values().get(id).cloned()
    }

    /// What the state `id` shows: the mask while a value is kept, else "".
    pub fn shown(&self, id: &str) -> &'static str {
        if self.values().contains_key(id) {
            tree::SECRET_MASK
        } else {
            ""
        }
    }

    /// Keep `value` for `id` ("" forgets it) and save all when that changed anything.
    /// On a failed save the change is undone, so what is kept is what is saved.
    pub async fn set(&self, id: &str, value: &str) -> anyhow::Result<()> {
        let _one = self.saving.lock().await;
        let (before, all) = {
            let mut v = self.values();
            let before = if value.is_empty() {
                v.remove(id)
            } else {
                v.insert(id.to_string(), value.to_string())
            };
            if before.as_deref() == Some(value) || (before.is_none() && value.is_empty()) {
                return Ok(());
            }
            (before, v.clone())
        };
        let Some(backend) = &self.backend else {
            return Ok(());
        };
        if let Err(e) = backend.save(&all).await {
            let mut v = self.values();
            match before {
                Some(b) => v.insert(id.to_string(), b),
                None => v.remove(id),
            };
            return Err(e);
        }
        Ok(())
    }
}

/// Standalone: the secrets go into the config file (mode 0600), beside the tokens.
pub struct ConfigFile(pub PathBuf);

#[async_trait]
impl SecretBackend for ConfigFile {
    async fn save(&self, all: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let path = self.0.clone();
        let all = all.clone();
        // Read afresh: `pair` may have written new tokens since the start.
        tokio::task::spawn_blocking(move || {
            let mut config = InstanceConfig::load(&path)?;
            config.secrets = all;
            config.save(&path)
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;
    #[async_trait]
    impl SecretBackend for Failing {
        async fn save(&self, _: &BTreeMap<String, String>) -> anyhow::Result<()> {
            anyhow::bail!("disk full")
        }
    }

    #[tokio::test]
    async fn a_value_is_kept_forgotten_and_shown_only_as_the_mask() {
        let s = SecretParams::in_memory();
        assert_eq!(s.shown("a.pin"), "");
        s.set("a.pin", "4711").await.unwrap();
        assert_eq!(s.get("a.pin").as_deref(), Some("4711"));
        assert_eq!(s.shown("a.pin"), tree::SECRET_MASK);
        assert!(!format!("{s:?}").contains("4711"));
        s.set("a.pin", "").await.unwrap();
        assert_eq!(s.get("a.pin"), None);
        assert_eq!(s.shown("a.pin"), "");
    }

    #[tokio::test]
    async fn a_failed_save_keeps_what_was_saved() {
        let s = SecretParams::new(
            BTreeMap::from([("a.pin".to_string(), "1111".to_string())]),
            Some(Arc::new(Failing)),
        );
        assert!(s.set("a.pin", "2222").await.is_err());
        assert_eq!(s.get("a.pin").as_deref(), Some("1111"));
        assert!(s.set("b.pin", "3333").await.is_err());
        assert_eq!(s.get("b.pin"), None);
    }

    #[tokio::test]
    async fn the_config_file_keeps_them_beside_the_tokens_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hmip.json");
        let config = InstanceConfig {
            auth_token: "t".into(),
            ..InstanceConfig::default()
        };
        config.save(&path).unwrap();
        let s = SecretParams::new(BTreeMap::new(), Some(Arc::new(ConfigFile(path.clone()))));
        s.set("hmip.0.devices.d.channels.1.pin", "4711")
            .await
            .unwrap();
        let back = InstanceConfig::load(&path).unwrap();
        assert_eq!(back.secrets["hmip.0.devices.d.channels.1.pin"], "4711");
        assert_eq!(back.auth_token, "t", "the tokens stay");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
