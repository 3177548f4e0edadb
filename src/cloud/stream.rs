//! The cloud transport: [`HmipCloud`] implements [`Transport`] with the REST client and the
//! websocket event stream (§5): keep-alive pings, a dead-connection timeout, reconnects with
//! jittered exponential backoff, a repeated lookup after failed connects, and a fresh
//! `getCurrentState` after every (re)connect because events sent while disconnected are lost.

use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::backoff::Backoff;

use super::events::parse_message;
use super::identity::normalize_sgtin;
use super::lenient;
use super::lookup::{lookup, Endpoints};
use super::rest::{hmip_headers, http_client, RestClient};
use super::{
    client_characteristics, ClientOptions, CloudError, CloudEvent, ControlCall, CurrentState,
    Transport, DEFAULT_LOOKUP_URL,
};

/// What [`HmipCloud::connect`] needs: the paired access point and the client's timings.
#[derive(Clone)]
pub struct CloudConfig {
    /// The access point's SGTIN (printed form accepted).
    pub sgtin: String,
    /// The token from pairing (secret).
    pub auth_token: String,
    /// The lookup service.
    pub lookup_url: String,
    /// Timings and limits.
    pub options: ClientOptions,
}

impl CloudConfig {
    /// A config for the real cloud with the default timings.
    pub fn new(sgtin: impl Into<String>, auth_token: impl Into<String>) -> Self {
        CloudConfig {
            sgtin: sgtin.into(),
            auth_token: auth_token.into(),
            lookup_url: DEFAULT_LOOKUP_URL.to_string(),
            options: ClientOptions::default(),
        }
    }
}

impl fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConfig")
            .field("sgtin", &self.sgtin)
            .field("auth_token", &"<redacted>")
            .field("lookup_url", &self.lookup_url)
            .field("options", &self.options)
            .finish()
    }
}

/// The Homematic IP cloud as a [`Transport`].
pub struct HmipCloud {
    sgtin: String,
    auth_token: String,
    lookup_url: String,
    options: ClientOptions,
    http: reqwest::Client,
    endpoints: RwLock<Endpoints>,
    rest: RestClient,
}

impl fmt::Debug for HmipCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmipCloud")
            .field("sgtin", &self.sgtin)
            .field("endpoints", &self.endpoints())
            .field("rest", &self.rest)
            .finish_non_exhaustive()
    }
}

/// How one websocket session ended.
enum SessionEnd {
    /// The consumer closed its receiver: stop for good.
    Stop,
    /// The token was revoked: report and stop for good.
    Revoked(String),
    /// The connection failed before it delivered a snapshot.
    ConnectFailed(String),
    /// The connection was up (snapshot delivered) and then dropped.
    Dropped { reason: String, up_for: Duration },
}

impl HmipCloud {
    /// Look up the access point's endpoints and set up the REST client. Fails with a clear
    /// error for a malformed or unknown SGTIN or an unreachable lookup; the token is first
    /// checked by the first call that uses it.
    pub async fn connect(cfg: CloudConfig) -> Result<HmipCloud, CloudError> {
        let sgtin = normalize_sgtin(&cfg.sgtin)?;
        let http = http_client(&cfg.options)?;
        let endpoints = lookup(&http, &cfg.lookup_url, &sgtin).await?;
        let rest = RestClient::new(
            http.clone(),
            &endpoints.rest_url,
            &sgtin,
            &cfg.auth_token,
            cfg.options.clone(),
        )?;
        Ok(HmipCloud {
            sgtin,
            auth_token: cfg.auth_token,
            lookup_url: cfg.lookup_url,
            options: cfg.options,
            http,
            endpoints: RwLock::new(endpoints),
            rest,
        })
    }

    /// The REST client (shared rate limit; `requests_sent` for diagnostics).
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// The endpoints in use (they change when a repeated lookup moves this client).
    pub fn endpoints(&self) -> Endpoints {
        self.endpoints.read().unwrap().clone()
    }

    /// Repeat the lookup and switch REST and websocket to what it names.
    async fn relookup(&self) {
        match lookup(&self.http, &self.lookup_url, &self.sgtin).await {
            Ok(ep) => {
                self.rest.set_rest_url(&ep.rest_url);
                *self.endpoints.write().unwrap() = ep;
            }
            Err(e) => tracing::warn!(error = %e, "repeating the cloud lookup failed"),
        }
    }

    /// Open the websocket with the HmIP headers.
    async fn open_websocket(
        &self,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        SessionEnd,
    > {
        let url = self.endpoints().websocket_url;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| SessionEnd::ConnectFailed(format!("bad websocket URL {url}: {e}")))?;
        let mut headers = hmip_headers(&self.sgtin, Some(&self.auth_token))
            .map_err(|e| SessionEnd::ConnectFailed(e.to_string()))?;
        // The upgrade is a GET: content-type and accept mean nothing there.
        headers.remove(reqwest::header::CONTENT_TYPE);
        headers.remove(reqwest::header::ACCEPT);
        request.headers_mut().extend(headers);
        let connect = tokio_tungstenite::connect_async(request);
        match tokio::time::timeout(self.options.request_timeout, connect).await {
            Err(_) => Err(SessionEnd::ConnectFailed(format!(
                "websocket connect timed out after {:?}",
                self.options.request_timeout
            ))),
            Ok(Err(tungstenite::Error::Http(resp))) if resp.status().as_u16() == 403 => {
                let code = resp
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                    .and_then(|v| v.get("errorCode")?.as_str().map(str::to_string))
                    .unwrap_or_else(|| "INVALID_AUTH_TOKEN".to_string());
                Err(SessionEnd::Revoked(code))
            }
            Ok(Err(e)) => Err(SessionEnd::ConnectFailed(format!(
                "websocket connect failed: {e}"
            ))),
            Ok(Ok((ws, _))) => Ok(ws),
        }
    }

    /// One websocket session: connect, Connected, Snapshot, then forward events until the
    /// connection ends.
    async fn session(&self, tx: &mpsc::Sender<CloudEvent>) -> SessionEnd {
        let mut revoked = self.rest.watch_revoked();
        let ws = match self.open_websocket().await {
            Ok(ws) => ws,
            Err(end) => return end,
        };
        let (mut sink, mut stream) = ws.split();
        if tx.send(CloudEvent::Connected).await.is_err() {
            return SessionEnd::Stop;
        }
        let state = match self.current_state().await {
            Ok(s) => s,
            Err(CloudError::AuthRevoked { code }) => return SessionEnd::Revoked(code),
            Err(e) => {
                let _ = sink.close().await;
                return SessionEnd::ConnectFailed(format!("getCurrentState failed: {e}"));
            }
        };
        if tx
            .send(CloudEvent::Snapshot(Box::new(state)))
            .await
            .is_err()
        {
            return SessionEnd::Stop;
        }
        let up_since = Instant::now();
        let dropped = |reason: String| SessionEnd::Dropped {
            reason,
            up_for: up_since.elapsed(),
        };

        let opts = &self.options;
        let mut ping =
            tokio::time::interval_at(Instant::now() + opts.ping_interval, opts.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        loop {
            tokio::select! {
                // Incoming data first: a backlog must not look like a dead connection.
                biased;
                _ = tx.closed() => {
                    let _ = sink.close().await;
                    return SessionEnd::Stop;
                }
                code = revoked_code(&mut revoked) => {
                    let _ = sink.close().await;
                    return SessionEnd::Revoked(code);
                }
                msg = stream.next() => {
                    last_seen = Instant::now();
                    let payload = match msg {
                        None => return dropped("the cloud closed the websocket".into()),
                        Some(Err(e)) => return dropped(format!("websocket error: {e}")),
                        Some(Ok(Message::Close(frame))) => {
                            return dropped(match frame {
                                Some(f) => format!("the cloud closed the websocket ({} {})", f.code, f.reason),
                                None => "the cloud closed the websocket".into(),
                            })
                        }
                        Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                        Some(Ok(Message::Binary(b))) => b.to_vec(),
                        // Pings are answered by tungstenite; pongs only prove liveness.
                        Some(Ok(_)) => continue,
                    };
                    if let Some(events) = decode(&payload) {
                        if tx.send(CloudEvent::Events(events)).await.is_err() {
                            let _ = sink.close().await;
                            return SessionEnd::Stop;
                        }
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                        return dropped(format!("websocket ping failed: {e}"));
                    }
                }
                _ = tokio::time::sleep_until(last_seen + opts.dead_timeout) => {
                    let _ = sink.close().await;
                    // Up only until the cloud last answered: a connection that went silent
                    // at once (a hung cloud host) must not earn the fast reconnect, or the
                    // client reconnects every dead_timeout + reconnect_min, with a
                    // getCurrentState each time, for as long as the cloud hangs.
                    // (tests/faults.rs a_silent_websocket_is_declared_dead_and_replaced)
                    return SessionEnd::Dropped {
                        reason: format!(
                            "no message or pong from the cloud for {:?}; connection considered dead",
                            opts.dead_timeout
                        ),
                        up_for: last_seen.duration_since(up_since),
                    };
                }
            }
        }
    }
}

/// Parse one websocket payload; malformed messages and events are logged (one line each)
/// and skipped. None when there is nothing to forward.
fn decode(payload: &[u8]) -> Option<Vec<crate::cloud::PushEvent>> {
    match parse_message(payload) {
        Ok((events, bad)) => {
            for reason in bad {
                tracing::warn!("skipping a malformed websocket event: {reason}");
            }
            (!events.is_empty()).then_some(events)
        }
        Err(e) => {
            tracing::warn!("skipping a malformed websocket message: {e}");
            None
        }
    }
}

/// Is a log event free of our secrets? `tungstenite` logs the raw websocket handshake
/// request at TRACE, and ours carries the `AUTHTOKEN` and `CLIENTAUTH` headers (the HTTP
/// client marks them sensitive; tungstenite logs the bytes). A program that logs must
/// drop that event whatever its log level says: `main` installs this as a global filter.
/// (Found by tests/security.rs, which runs every command at trace level.)
pub fn log_event_is_secret_free(meta: &tracing::Metadata<'_>) -> bool {
    !(*meta.level() == tracing::Level::TRACE && meta.target().starts_with("tungstenite::handshake"))
}

/// Wait until the token is revoked and return its errorCode. (The watch guard must not live
/// across an await: it is not `Send`.)
async fn revoked_code(rx: &mut watch::Receiver<Option<String>>) -> String {
    let code = match rx.wait_for(Option::is_some).await {
        Ok(code) => Some(code.clone().unwrap_or_default()),
        Err(_) => None,
    };
    match code {
        Some(code) => code,
        // The RestClient is gone; nothing will ever be revoked.
        None => std::future::pending().await,
    }
}

#[async_trait]
impl Transport for HmipCloud {
    async fn current_state(&self) -> Result<CurrentState, CloudError> {
        let answer = self
            .rest
            .call("home/getCurrentState", &client_characteristics(&self.sgtin))
            .await?;
        // Entity by entity: one odd device must not keep the whole home from loading.
        let (state, notes) = lenient::current_state(answer)
            .map_err(|e| CloudError::BadResponse(format!("home/getCurrentState: {e}")))?;
        lenient::log_once("home/getCurrentState", &notes);
        Ok(state)
    }

    async fn control(&self, call: &ControlCall) -> Result<Value, CloudError> {
        self.rest.call(&call.path, &call.body).await
    }

    async fn run_events(&self, tx: mpsc::Sender<CloudEvent>) {
        let opts = &self.options;
        let mut backoff = Backoff::new(opts.reconnect_min, opts.reconnect_max);
        let mut failures: u32 = 0;
        loop {
            if tx.is_closed() {
                return;
            }
            if let Some(code) = self.rest.revoked() {
                let _ = tx.send(CloudEvent::AuthRevoked { code }).await;
                return;
            }
            if failures > 0
                && opts.lookup_after_failures > 0
                && failures % opts.lookup_after_failures == 0
            {
                tracing::info!(failures, "repeating the cloud lookup after failed connects");
                self.relookup().await;
            }
            let reason = match self.session(&tx).await {
                SessionEnd::Stop => return,
                SessionEnd::Revoked(code) => {
                    self.rest.mark_revoked(&code);
                    let _ = tx.send(CloudEvent::AuthRevoked { code }).await;
                    return;
                }
                SessionEnd::ConnectFailed(reason) => {
                    failures += 1;
                    reason
                }
                SessionEnd::Dropped { reason, up_for } => {
                    failures = 0;
                    // Only a connection that stayed up earns a fast reconnect; one that drops
                    // at once keeps backing off (each reconnect costs a getCurrentState).
                    if up_for >= opts.dead_timeout {
                        backoff.reset();
                    }
                    reason
                }
            };
            // The adapter says so as a warning (`Disconnected`); here only for debugging.
            tracing::debug!(%reason, "cloud websocket down");
            if tx.send(CloudEvent::Disconnected { reason }).await.is_err() {
                return;
            }
            let wait = backoff.next_wait();
            let mut revoked = self.rest.watch_revoked();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tx.closed() => return,
                // Loop around to report it.
                _ = revoked_code(&mut revoked) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_redacts_the_token() {
        let c = CloudConfig::new("3014F711A000000000000001", "TOPSECRET");
        assert!(!format!("{c:?}").contains("TOPSECRET"));
    }
}
