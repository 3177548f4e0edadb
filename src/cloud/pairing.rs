//! Pairing with an access point: auth1, the user presses the blue button, auth2 (§3).
//!
//! The flow reports its progress on a channel so that the CLI, the admin page's messagebox
//! and tests can all show the same steps, and it always ends: a button never pressed ends in
//! [`CloudError::PairingTimeout`].

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::identity::{client_auth, normalize_sgtin};
use super::lookup::lookup;
use super::rest::{hmip_headers, http_client, post, secret_header};
use super::{ClientOptions, CloudError};

/// What to pair with and how long to wait for the button.
#[derive(Clone)]
pub struct PairingRequest {
    /// The access point's SGTIN (printed form accepted).
    pub sgtin: String,
    /// The system PIN, if one is set in the app.
    pub pin: Option<String>,
    /// The name this client gets in the Homematic IP app.
    pub device_name: String,
    /// The lookup service.
    pub lookup_url: String,
    /// How long to wait for the blue button after auth1 (the cloud accepts it ~5 min).
    pub timeout: Duration,
    /// How often to ask whether the button was pressed.
    pub poll_interval: Duration,
}

impl PairingRequest {
    /// A request with a 5 minute button timeout and a 2 s poll interval. `lookup_url` is
    /// usually [`super::DEFAULT_LOOKUP_URL`]; the simulator and tests pass their own.
    pub fn new(
        sgtin: impl Into<String>,
        pin: Option<String>,
        device_name: impl Into<String>,
        lookup_url: impl Into<String>,
    ) -> Self {
        PairingRequest {
            sgtin: sgtin.into(),
            pin,
            device_name: device_name.into(),
            lookup_url: lookup_url.into(),
            timeout: Duration::from_secs(5 * 60),
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl fmt::Debug for PairingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingRequest")
            .field("sgtin", &self.sgtin)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("device_name", &self.device_name)
            .field("lookup_url", &self.lookup_url)
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// A step of the pairing flow, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingProgress {
    /// Looking up the access point and sending auth1.
    Requesting,
    /// auth1 accepted: the user must press the blue button now.
    WaitingForButton,
    /// The button was pressed: fetching and confirming the token.
    Confirming,
    /// Paired.
    Done,
    /// Pairing failed, with the reason (never a secret).
    Failed(String),
}

impl fmt::Display for PairingProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairingProgress::Requesting => {
                f.write_str("contacting the cloud and asking the access point for a new client")
            }
            PairingProgress::WaitingForButton => {
                f.write_str("press the blue button on the access point")
            }
            PairingProgress::Confirming => {
                f.write_str("button pressed; fetching and confirming the access token")
            }
            PairingProgress::Done => f.write_str("paired successfully"),
            PairingProgress::Failed(reason) => write!(f, "pairing failed: {reason}"),
        }
    }
}

/// What pairing yields; the adapter stores it in its config.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The normalised SGTIN.
    pub sgtin: String,
    /// The token (secret).
    pub auth_token: String,
    /// CLIENTAUTH derived from the SGTIN (secret enough not to log).
    pub client_auth_token: String,
    /// The client id the cloud assigned.
    pub client_id: String,
    /// The UUID this client chose for itself.
    pub device_id: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("sgtin", &self.sgtin)
            .field("auth_token", &"<redacted>")
            .field("client_auth_token", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// Run the pairing handshake, reporting each step on `progress` (ending with `Done` or
/// `Failed(reason)`). A closed progress receiver does not stop the flow.
pub async fn pair(
    req: &PairingRequest,
    progress: UnboundedSender<PairingProgress>,
) -> Result<Credentials, CloudError> {
    let result = run(req, &progress).await;
    let _ = progress.send(match &result {
        Ok(_) => PairingProgress::Done,
        Err(e) => PairingProgress::Failed(e.to_string()),
    });
    match &result {
        Ok(c) => tracing::info!(sgtin = %c.sgtin, client_id = %c.client_id, "paired"),
        Err(e) => tracing::warn!(error = %e, "pairing failed"),
    }
    result
}

async fn run(
    req: &PairingRequest,
    progress: &UnboundedSender<PairingProgress>,
) -> Result<Credentials, CloudError> {
    let sgtin = normalize_sgtin(&req.sgtin)?;
    let options = ClientOptions::default();
    let timeout = options.request_timeout;
    let http = http_client(&options)?;
    let _ = progress.send(PairingProgress::Requesting);
    let endpoints = lookup(&http, &req.lookup_url, &sgtin).await?;
    let device_id = uuid::Uuid::new_v4().to_string();
    let url = |path: &str| format!("{}/hmip/{path}", endpoints.rest_url);
    let headers = hmip_headers(&sgtin, None)?;

    // auth1
    let path = "auth/connectionRequest";
    let mut h1 = headers.clone();
    if let Some(pin) = req.pin.as_deref().filter(|p| !p.trim().is_empty()) {
        h1.insert("pin", secret_header("PIN", pin)?);
    }
    let body = json!({"deviceId": device_id, "deviceName": req.device_name, "sgtin": sgtin});
    post(&http, &url(path), path, h1, &body, timeout).await?;

    // Wait for the blue button, bounded by req.timeout.
    let _ = progress.send(PairingProgress::WaitingForButton);
    let path = "auth/isRequestAcknowledged";
    let body = json!({"deviceId": device_id, "accessPointId": sgtin});
    let wait = async {
        loop {
            match post(&http, &url(path), path, headers.clone(), &body, timeout).await {
                Ok(_) => return Ok(()),
                // 400 = not pressed yet.
                Err(CloudError::Http { status: 400, .. }) => {}
                // A short network hiccup must not abort a pairing the user is in the middle of.
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "asking for the button press failed; retrying")
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(req.poll_interval).await;
        }
    };
    tokio::time::timeout(req.timeout, wait)
        .await
        .map_err(|_| CloudError::PairingTimeout(req.timeout))??;

    // auth2
    let _ = progress.send(PairingProgress::Confirming);
    let path = "auth/requestAuthToken";
    let (_, answer) = post(
        &http,
        &url(path),
        path,
        headers.clone(),
        &json!({"deviceId": device_id}),
        timeout,
    )
    .await?;
    let auth_token = string_field(&answer, "authToken", path)?;
    let path = "auth/confirmAuthToken";
    let body = json!({"deviceId": device_id, "authToken": auth_token});
    let (_, answer) = post(&http, &url(path), path, headers, &body, timeout).await?;
    let client_id = string_field(&answer, "clientId", path)?;

    Ok(Credentials {
        client_auth_token: client_auth(&sgtin),
        sgtin,
        auth_token,
        client_id,
        device_id,
    })
}

fn string_field(v: &Value, name: &str, path: &str) -> Result<String, CloudError> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| CloudError::BadResponse(format!("{path}: answer has no {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::DEFAULT_LOOKUP_URL;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            sgtin: "3014F711A000000000000001".into(),
            auth_token: "TOPSECRET".into(),
            client_auth_token: "CLIENTSECRET".into(),
            client_id: "cid".into(),
            device_id: "did".into(),
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("TOPSECRET") && !dbg.contains("CLIENTSECRET"),
            "{dbg}"
        );
        assert!(dbg.contains("cid") && dbg.contains("did"));
        let r = PairingRequest::new(
            "3014F711A000000000000001",
            Some("1234".into()),
            "x",
            DEFAULT_LOOKUP_URL,
        );
        assert!(!format!("{r:?}").contains("1234"));
        assert_eq!(r.timeout, Duration::from_secs(300));
        assert_eq!(r.poll_interval, Duration::from_secs(2));
    }

    #[test]
    fn progress_texts() {
        assert_eq!(
            PairingProgress::WaitingForButton.to_string(),
            "press the blue button on the access point"
        );
        assert!(PairingProgress::Failed("x".into())
            .to_string()
            .contains('x'));
    }
}
