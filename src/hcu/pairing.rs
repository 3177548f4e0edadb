//! Pairing with the HCU: the user makes an activation key in HCUweb's developer mode; this
//! turns it into a Connect API token. Before the key is used, both ports are checked and
//! their certificates read (so a wrong host or a websocket that is not exposed costs no
//! key); the pairing calls then go over a connection pinned to what was read, and the new
//! token is tried at the websocket before anything is saved.
//!
//! Like the cloud's pairing, the steps are reported on a channel (CLI, admin page, tests
//! show the same), every failure is one clear sentence, and the activation key and token
//! appear in no message.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite;

use super::pin::{self, FetchError, Fingerprint};
use super::{friendly_name, HcuConfig, API_VERSION, PLUGIN_ID};
use crate::cloud::ClientOptions;

/// What to pair with.
#[derive(Clone)]
pub struct HcuPairingRequest {
    /// The HCU's name or address (`hcu1-XXXX.local`, `192.168.1.20`).
    pub host: String,
    /// The pairing calls' port (6969).
    pub auth_port: u16,
    /// The websocket's port (9001).
    pub websocket_port: u16,
    /// The activation key from HCUweb (secret, single use).
    pub activation_key: String,
    /// When the user already knows the certificate's fingerprint (from HCUweb or a former
    /// pairing), pairing refuses any other.
    pub expect_fingerprint: Option<Fingerprint>,
    /// Timeout of each step.
    pub timeout: Duration,
}

impl fmt::Debug for HcuPairingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HcuPairingRequest")
            .field("host", &self.host)
            .field("auth_port", &self.auth_port)
            .field("websocket_port", &self.websocket_port)
            .field("activation_key", &"<redacted>")
            .field("expect_fingerprint", &self.expect_fingerprint)
            .finish()
    }
}

impl HcuPairingRequest {
    /// A request for the default ports with a 15 s timeout per step.
    pub fn new(host: impl Into<String>, activation_key: impl Into<String>) -> Self {
        HcuPairingRequest {
            host: host.into(),
            auth_port: super::DEFAULT_AUTH_PORT,
            websocket_port: super::DEFAULT_WEBSOCKET_PORT,
            activation_key: activation_key.into(),
            expect_fingerprint: None,
            timeout: Duration::from_secs(15),
        }
    }
}

/// What pairing gives: the token (secret), the client's id, and the certificate to pin.
#[derive(Clone)]
pub struct HcuCredentials {
    /// The Connect API token.
    pub auth_token: String,
    /// The client's id on the HCU (shown in the app's user list).
    pub client_id: String,
    /// The fingerprint of the websocket's certificate.
    pub fingerprint: Fingerprint,
}

impl fmt::Debug for HcuCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HcuCredentials")
            .field("auth_token", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// A step of HCU pairing, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HcuPairingProgress {
    /// Reading the HCU's certificates.
    Checking,
    /// The certificate that will be pinned.
    Certificate(Fingerprint),
    /// Asking for a token with the activation key.
    Requesting,
    /// Confirming the token.
    Confirming,
    /// Trying the token at the websocket.
    TryingWebsocket,
    /// Paired.
    Done,
    /// Failed, with the reason (never a secret).
    Failed(String),
}

impl fmt::Display for HcuPairingProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HcuPairingProgress::Checking => f.write_str("checking the HCU's Connect API ports…"),
            HcuPairingProgress::Certificate(fp) => write!(
                f,
                "the HCU's certificate has the SHA-256 fingerprint {fp}; it is pinned: only this certificate is accepted from now on"
            ),
            HcuPairingProgress::Requesting => f.write_str("asking the HCU for a token with the activation key…"),
            HcuPairingProgress::Confirming => f.write_str("confirming the token…"),
            HcuPairingProgress::TryingWebsocket => f.write_str("connecting to the Connect API websocket with the new token…"),
            HcuPairingProgress::Done => f.write_str("paired with the HCU"),
            HcuPairingProgress::Failed(reason) => write!(f, "pairing failed: {reason}"),
        }
    }
}

/// Why pairing with the HCU failed; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HcuPairingError {
    /// Nothing (or no TLS server) answers on the pairing port.
    #[error("nothing answers on {host}:{port} ({detail}): check the HCU's address, and that it is a Home Control Unit with firmware 1.4.7 or later")]
    NoHcu {
        /// The host tried.
        host: String,
        /// The pairing port.
        port: u16,
        /// What the connection said.
        detail: String,
    },
    /// The websocket port does not answer.
    #[error("the Connect API websocket on {host}:{port} is not reachable ({detail}): in HCUweb, enable the developer mode and switch on \"expose the Connect API websocket\" (if it is on, switch it off and on again)")]
    NotExposed {
        /// The host tried.
        host: String,
        /// The websocket port.
        port: u16,
        /// What the connection said.
        detail: String,
    },
    /// The certificate is not the one the user expected.
    #[error("the HCU presented a certificate with fingerprint {presented}, not the expected {expected}: not pairing")]
    UnexpectedCertificate {
        /// The fingerprint the user gave.
        expected: Fingerprint,
        /// The one presented.
        presented: Fingerprint,
    },
    /// The HCU refused the activation key.
    #[error("the HCU refused the activation key (HTTP {status}{}): a key works once and expires after a while; generate a new one in HCUweb's developer mode and try again", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    KeyRefused {
        /// The HTTP status.
        status: u16,
        /// The errorCode, if any.
        code: Option<String>,
    },
    /// The token was made but the websocket refused it.
    #[error("the HCU made a token but its websocket refused it (HTTP {0}): generate a new activation key and pair again")]
    TokenRefused(u16),
    /// Talking to the HCU failed midway.
    #[error("talking to the HCU failed: {0}")]
    Network(String),
    /// The HCU answered something this program does not understand.
    #[error("unexpected answer from the HCU: {0}")]
    BadAnswer(String),
    /// The input cannot be used.
    #[error("{0}")]
    BadInput(String),
}

/// Pair: check both ports, request and confirm a token, try it at the websocket. Progress
/// goes to `progress` (ends with `Done` or `Failed`).
pub async fn pair(
    req: &HcuPairingRequest,
    progress: UnboundedSender<HcuPairingProgress>,
) -> Result<HcuCredentials, HcuPairingError> {
    let result = pair_steps(req, &progress).await;
    let _ = progress.send(match &result {
        Ok(_) => HcuPairingProgress::Done,
        Err(e) => HcuPairingProgress::Failed(e.to_string()),
    });
    result
}

async fn pair_steps(
    req: &HcuPairingRequest,
    progress: &UnboundedSender<HcuPairingProgress>,
) -> Result<HcuCredentials, HcuPairingError> {
    let host = req.host.trim();
    if host.is_empty() {
        return Err(HcuPairingError::BadInput(
            "enter the HCU's address (hcu1-XXXX.local, XXXX the last four digits of its SGTIN, or its IP address)".into(),
        ));
    }
    let key = req.activation_key.trim();
    if key.is_empty() {
        return Err(HcuPairingError::BadInput(
            "enter the activation key generated in HCUweb's developer mode".into(),
        ));
    }
    let _ = progress.send(HcuPairingProgress::Checking);
    let auth_fp = pin::fetch_fingerprint(host, req.auth_port, req.timeout)
        .await
        .map_err(|e| HcuPairingError::NoHcu {
            host: host.into(),
            port: req.auth_port,
            detail: fetch_detail(e),
        })?;
    let ws_fp = pin::fetch_fingerprint(host, req.websocket_port, req.timeout)
        .await
        .map_err(|e| HcuPairingError::NotExposed {
            host: host.into(),
            port: req.websocket_port,
            detail: fetch_detail(e),
        })?;
    if let Some(expected) = req.expect_fingerprint {
        for presented in [auth_fp, ws_fp] {
            if presented != expected {
                return Err(HcuPairingError::UnexpectedCertificate {
                    expected,
                    presented,
                });
            }
        }
    }
    let _ = progress.send(HcuPairingProgress::Certificate(ws_fp));

    let (tls, _) = pin::client_config(auth_fp);
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .timeout(req.timeout)
        .build()
        .map_err(|e| HcuPairingError::Network(e.to_string()))?;
    let base = format!("https://{}:{}", url_host(host), req.auth_port);
    let _ = progress.send(HcuPairingProgress::Requesting);
    let answer = auth_call(
        &http,
        &format!("{base}/hmip/auth/requestConnectApiAuthToken"),
        json!({"activationKey": key, "pluginId": PLUGIN_ID, "friendlyName": friendly_name()}),
    )
    .await?;
    let token = answer
        .get("authToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| HcuPairingError::BadAnswer("no authToken in the answer".into()))?
        .to_string();
    let _ = progress.send(HcuPairingProgress::Confirming);
    let answer = auth_call(
        &http,
        &format!("{base}/hmip/auth/confirmConnectApiAuthToken"),
        json!({"activationKey": key, "authToken": token}),
    )
    .await?;
    let client_id = answer
        .get("clientId")
        .and_then(Value::as_str)
        .ok_or_else(|| HcuPairingError::BadAnswer("no clientId in the answer".into()))?
        .to_string();

    let _ = progress.send(HcuPairingProgress::TryingWebsocket);
    try_websocket(&HcuConfig {
        host: host.into(),
        port: req.websocket_port,
        auth_token: token.clone(),
        plugin_id: PLUGIN_ID.into(),
        fingerprint: ws_fp,
        options: ClientOptions {
            request_timeout: req.timeout,
            ..ClientOptions::default()
        },
    })
    .await?;
    Ok(HcuCredentials {
        auth_token: token,
        client_id,
        fingerprint: ws_fp,
    })
}

/// One pairing call: POST with `VERSION: 12`; a non-200 answer is the key refused.
async fn auth_call(
    http: &reqwest::Client,
    url: &str,
    body: Value,
) -> Result<Value, HcuPairingError> {
    let resp = http
        .post(url)
        .header("VERSION", API_VERSION)
        .json(&body)
        .send()
        .await
        .map_err(|e| HcuPairingError::Network(without_url(&e)))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| HcuPairingError::Network(without_url(&e)))?;
    if status != 200 {
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("errorCode")?.as_str().map(str::to_string));
        return Err(HcuPairingError::KeyRefused { status, code });
    }
    serde_json::from_str(&text).map_err(|e| HcuPairingError::BadAnswer(e.to_string()))
}

/// Open the websocket with the new token and close it again.
async fn try_websocket(cfg: &HcuConfig) -> Result<(), HcuPairingError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = cfg
        .url()
        .as_str()
        .into_client_request()
        .map_err(|e| HcuPairingError::BadInput(format!("bad HCU address: {e}")))?;
    let header = |v: &str| {
        tungstenite::http::HeaderValue::from_str(v)
            .map_err(|_| HcuPairingError::BadAnswer("a token a header cannot carry".into()))
    };
    let mut token = header(&cfg.auth_token)?;
    token.set_sensitive(true);
    request.headers_mut().insert("authtoken", token);
    request
        .headers_mut()
        .insert("plugin-id", header(&cfg.plugin_id)?);
    let (tls, _) = pin::client_config(cfg.fingerprint);
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(tls)),
    );
    match tokio::time::timeout(cfg.options.request_timeout, connect).await {
        Err(_) => Err(HcuPairingError::Network(
            "the websocket did not answer in time".into(),
        )),
        Ok(Err(tungstenite::Error::Http(resp))) => {
            Err(HcuPairingError::TokenRefused(resp.status().as_u16()))
        }
        Ok(Err(e)) => Err(HcuPairingError::Network(format!("websocket: {e}"))),
        Ok(Ok((mut ws, _))) => {
            let _ = ws.close(None).await;
            Ok(())
        }
    }
}

fn fetch_detail(e: FetchError) -> String {
    match e {
        FetchError::Connect(s) | FetchError::NoCertificate(s) => s,
    }
}

/// A host for a URL: an IPv6 address in brackets.
fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A request error with its causes (a refused connection, a certificate refused by the
/// pin), without the URL the caller already names.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
