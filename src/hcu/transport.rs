//! The HCU's Connect API as a [`Transport`]: one websocket carries everything. At every
//! connect the plugin says READY and loads the whole system (`getSystemState`); events
//! come as `HMIP_SYSTEM_EVENT` transactions and go through the cloud's event parser;
//! control calls go out as `HMIP_SYSTEM_REQUEST` with the cloud's paths and bodies and are
//! matched to their `HMIP_SYSTEM_RESPONSE` by id. Pings keep the connection honest, a
//! silent one is declared dead, and reconnects back off with jitter. A refused token (HTTP
//! 401) or a changed certificate stop the stream for good with one clear reason: neither
//! gets better by retrying.
//!
//! No request ever goes to the cloud in this mode, and there is no client-side rate limit:
//! the HCU documents none (the radio's duty cycle still applies, shown by `dutyCycle`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector;

use super::envelope::{self, Incoming, SystemEvent, SystemResponse};
use super::pin::{self, Fingerprint};
use crate::cloud::events::parse_events;
use crate::cloud::{lenient, ClientOptions, CloudError, CloudEvent, ControlCall, CurrentState};
use crate::cloud::{PushEvent, Transport};

/// The largest message taken from the HCU: a system state is several MB.
const MAX_MESSAGE: usize = 64 << 20;

/// What [`HcuTransport`] needs: where the HCU is, the token from pairing and the pinned
/// certificate.
#[derive(Clone)]
pub struct HcuConfig {
    /// The HCU's name or address.
    pub host: String,
    /// The Connect API websocket's port (9001).
    pub port: u16,
    /// The token from pairing (secret).
    pub auth_token: String,
    /// The plugin id the token was made for.
    pub plugin_id: String,
    /// The fingerprint of the HCU's certificate, recorded at pairing.
    pub fingerprint: Fingerprint,
    /// Timings (request timeout, pings, dead timeout, reconnect backoff).
    pub options: ClientOptions,
}

impl fmt::Debug for HcuConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HcuConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("auth_token", &"<redacted>")
            .field("plugin_id", &self.plugin_id)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl HcuConfig {
    /// The websocket URL, `wss://HOST:PORT` (an IPv6 address in brackets).
    pub fn url(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("wss://[{}]:{}", self.host, self.port)
        } else {
            format!("wss://{}:{}", self.host, self.port)
        }
    }
}

/// An answer to a request: the HCU's code and its body as JSON text.
struct Answer {
    code: u16,
    body: Option<String>,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Answer>>>>;

/// The open connection, as requests see it.
#[derive(Clone)]
struct Link {
    out: mpsc::Sender<String>,
    pending: Pending,
}

/// The HCU as a [`Transport`].
pub struct HcuTransport {
    cfg: HcuConfig,
    /// The connection requests go through; None while disconnected.
    link: watch::Sender<Option<Link>>,
    /// Why the HCU refused this client for good (401, a changed certificate).
    refused: watch::Sender<Option<String>>,
}

impl fmt::Debug for HcuTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HcuTransport")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// How one websocket session ended.
enum SessionEnd {
    Stop,
    Refused(String),
    ConnectFailed(String),
    Dropped { reason: String, up_for: Duration },
}

/// Clears the link when a session ends, however it ends: waiting requests fail at once.
struct LinkGuard<'a>(&'a watch::Sender<Option<Link>>);

impl Drop for LinkGuard<'_> {
    fn drop(&mut self) {
        if let Some(link) = self.0.send_replace(None) {
            link.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
    }
}

impl HcuTransport {
    /// A transport for the paired HCU. Nothing is sent until the event stream runs.
    pub fn new(cfg: HcuConfig) -> HcuTransport {
        HcuTransport {
            cfg,
            link: watch::channel(None).0,
            refused: watch::channel(None).0,
        }
    }

    /// Send a request over the current connection (waiting up to the request timeout for
    /// one) and wait for its answer.
    async fn request(&self, path: &str, body: &Value) -> Result<Answer, CloudError> {
        let timeout = self.cfg.options.request_timeout;
        let mut rx = self.link.subscribe();
        let link = tokio::time::timeout(timeout, async {
            loop {
                let refused = self.refused.borrow().clone();
                if let Some(reason) = refused {
                    return Err(CloudError::Refused(reason));
                }
                let link = rx.borrow_and_update().clone();
                if let Some(link) = link {
                    return Ok(link);
                }
                if rx.changed().await.is_err() {
                    return Err(CloudError::Network("the HCU transport stopped".into()));
                }
            }
        })
        .await
        .map_err(|_| {
            CloudError::Network(format!(
                "no connection to the HCU within {timeout:?} to send {path}"
            ))
        })??;
        self.request_on(&link, path, body).await
    }

    /// Send a request over `link` and wait for its answer.
    async fn request_on(
        &self,
        link: &Link,
        path: &str,
        body: &Value,
    ) -> Result<Answer, CloudError> {
        let timeout = self.cfg.options.request_timeout;
        let id = envelope::new_id();
        let (tx, rx) = oneshot::channel();
        link.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        let text = envelope::system_request(&id, &self.cfg.plugin_id, path, body);
        let closed = || {
            CloudError::Network(format!(
                "the HCU connection closed before it answered {path}"
            ))
        };
        if link.out.send(text).await.is_err() {
            return Err(closed());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(closed()),
            Err(_) => {
                link.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                Err(CloudError::Timeout {
                    path: path.to_string(),
                    timeout,
                })
            }
        }
    }

    /// The system state from an answer.
    fn system_state(answer: Answer) -> Result<CurrentState, CloudError> {
        let answer = Self::accepted(answer, "home/getSystemState")?;
        // Entity by entity, as from the cloud: one odd device must not keep the home out.
        let (state, notes) = lenient::current_state(answer)
            .map_err(|e| CloudError::BadResponse(format!("home/getSystemState: {e}")))?;
        lenient::log_once("home/getSystemState", &notes);
        Ok(state)
    }

    /// The body of an accepted answer (code 200), or the error the code means.
    fn accepted(answer: Answer, path: &str) -> Result<Value, CloudError> {
        let body: Value = match &answer.body {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| CloudError::BadResponse(format!("{path}: {e}")))?,
            None => Value::Null,
        };
        if answer.code == 200 {
            return Ok(body);
        }
        Err(CloudError::HcuRefused {
            code: answer.code,
            error_code: body
                .get("errorCode")
                .and_then(Value::as_str)
                .map(str::to_string),
            path: path.to_string(),
        })
    }

    /// Open the websocket: pinned certificate, the Connect API's headers.
    async fn open(
        &self,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        SessionEnd,
    > {
        let url = self.cfg.url();
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| SessionEnd::ConnectFailed(format!("bad HCU address {url}: {e}")))?;
        let header = |v: &str, what: &str| {
            HeaderValue::from_str(v).map_err(|_| {
                SessionEnd::ConnectFailed(format!(
                    "the {what} has characters a header cannot carry"
                ))
            })
        };
        let headers = request.headers_mut();
        let mut token = header(&self.cfg.auth_token, "HCU token")?;
        token.set_sensitive(true);
        headers.insert("authtoken", token);
        headers.insert("plugin-id", header(&self.cfg.plugin_id, "plugin id")?);
        headers.insert("hmip-system-events", HeaderValue::from_static("true"));
        let (tls, presented) = pin::client_config(self.cfg.fingerprint);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(ws_config),
            false,
            Some(Connector::Rustls(tls)),
        );
        let timeout = self.cfg.options.request_timeout;
        match tokio::time::timeout(timeout, connect).await {
            Err(_) => Err(SessionEnd::ConnectFailed(format!(
                "the HCU's websocket at {url} did not answer within {timeout:?}"
            ))),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(resp))) if resp.status().as_u16() == 401 => {
                Err(SessionEnd::Refused(
                    "the HCU refused the access token (HTTP 401; the client was deleted in the app, or the token is no longer valid): generate a new activation key in HCUweb and pair again".into(),
                ))
            }
            Ok(Err(tungstenite::Error::Http(resp))) => Err(SessionEnd::ConnectFailed(format!(
                "the HCU answered the websocket upgrade with HTTP {}",
                resp.status().as_u16()
            ))),
            Ok(Err(e)) => match presented.get() {
                Some(fp) if fp != self.cfg.fingerprint => Err(SessionEnd::Refused(
                    certificate_changed(&self.cfg.fingerprint, &fp),
                )),
                _ => Err(SessionEnd::ConnectFailed(format!(
                    "cannot connect to the HCU's websocket at {url}: {e}"
                ))),
            },
        }
    }

    /// One session: connect, READY, Connected, the system state (events that come before
    /// it wait for it), then events until the connection ends.
    async fn session(&self, tx: &mpsc::Sender<CloudEvent>) -> SessionEnd {
        let ws = match self.open().await {
            Ok(ws) => ws,
            Err(end) => return end,
        };
        let (mut sink, mut stream) = ws.split();
        let plugin_id = self.cfg.plugin_id.as_str();
        if let Err(e) = sink
            .send(Message::Text(
                envelope::ready(&envelope::new_id(), plugin_id).into(),
            ))
            .await
        {
            return SessionEnd::ConnectFailed(format!("sending READY to the HCU failed: {e}"));
        }
        let (out_tx, mut out_rx) = mpsc::channel::<String>(64);
        let link = Link {
            out: out_tx,
            pending: Arc::default(),
        };
        self.link.send_replace(Some(link.clone()));
        let _guard = LinkGuard(&self.link);
        if tx.send(CloudEvent::Connected).await.is_err() {
            return SessionEnd::Stop;
        }
        let empty = json!({});
        let snapshot = self.request_on(&link, "home/getSystemState", &empty);
        tokio::pin!(snapshot);
        // Events that arrive before the system state wait for it, as on the cloud.
        let mut held: Option<Vec<Vec<PushEvent>>> = Some(Vec::new());

        let up_since = Instant::now();
        let opts = &self.cfg.options;
        let mut ping =
            tokio::time::interval_at(Instant::now() + opts.ping_interval, opts.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        let dropped = |reason: String| SessionEnd::Dropped {
            reason,
            up_for: up_since.elapsed(),
        };
        loop {
            tokio::select! {
                biased;
                _ = tx.closed() => {
                    let _ = sink.close().await;
                    return SessionEnd::Stop;
                }
                answer = &mut snapshot, if held.is_some() => {
                    let state = match answer.and_then(Self::system_state) {
                        Ok(state) => state,
                        Err(e) => {
                            let _ = sink.close().await;
                            return SessionEnd::ConnectFailed(format!("getSystemState failed: {e}"));
                        }
                    };
                    if tx.send(CloudEvent::Snapshot(Box::new(state))).await.is_err() {
                        return SessionEnd::Stop;
                    }
                    for events in held.take().unwrap_or_default() {
                        if tx.send(CloudEvent::Events(events)).await.is_err() {
                            return SessionEnd::Stop;
                        }
                    }
                }
                msg = stream.next() => {
                    last_seen = Instant::now();
                    let text = match msg {
                        None => return dropped("the HCU closed the websocket".into()),
                        Some(Err(e)) => return dropped(format!("websocket error: {e}")),
                        Some(Ok(Message::Close(frame))) => {
                            return dropped(match frame {
                                Some(f) => format!("the HCU closed the websocket ({} {})", f.code, f.reason),
                                None => "the HCU closed the websocket".into(),
                            })
                        }
                        Some(Ok(Message::Text(t))) => t.to_string(),
                        Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                        Some(Ok(_)) => continue,
                    };
                    match self.on_message(&text, &link.pending) {
                        Received::Nothing => {}
                        Received::Reply(reply) => {
                            if let Err(e) = sink.send(Message::Text(reply.into())).await {
                                return dropped(format!("websocket send failed: {e}"));
                            }
                        }
                        Received::Events(events) => match held.as_mut() {
                            Some(waiting) => waiting.push(events),
                            None => {
                                if tx.send(CloudEvent::Events(events)).await.is_err() {
                                    let _ = sink.close().await;
                                    return SessionEnd::Stop;
                                }
                            }
                        },
                    }
                }
                Some(out) = out_rx.recv() => {
                    if let Err(e) = sink.send(Message::Text(out.into())).await {
                        return dropped(format!("websocket send failed: {e}"));
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                        return dropped(format!("websocket ping failed: {e}"));
                    }
                }
                _ = tokio::time::sleep_until(last_seen + opts.dead_timeout) => {
                    let _ = sink.close().await;
                    // Up only until the HCU last answered (see cloud::stream): a connection
                    // that went silent at once keeps backing off.
                    return SessionEnd::Dropped {
                        reason: format!(
                            "no message or pong from the HCU for {:?}; connection considered dead",
                            opts.dead_timeout
                        ),
                        up_for: last_seen.duration_since(up_since),
                    };
                }
            }
        }
    }

    /// What a message from the HCU asks for.
    fn on_message(&self, text: &str, pending: &Pending) -> Received {
        let msg: Incoming<'_> = match envelope::decode(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("skipping a malformed message from the HCU: {e}");
                return Received::Nothing;
            }
        };
        match msg.kind.as_str() {
            envelope::HMIP_SYSTEM_RESPONSE => {
                let Some(id) = msg.id else {
                    tracing::warn!("skipping an HMIP_SYSTEM_RESPONSE without an id");
                    return Received::Nothing;
                };
                let answer = match msg
                    .body
                    .map(|b| serde_json::from_str::<SystemResponse<'_>>(b.get()))
                {
                    Some(Ok(r)) => Answer {
                        code: r.code,
                        body: r.body.map(|b| b.get().to_string()),
                    },
                    _ => {
                        tracing::warn!("skipping an HMIP_SYSTEM_RESPONSE without a code");
                        return Received::Nothing;
                    }
                };
                match pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id)
                {
                    Some(waiting) => {
                        let _ = waiting.send(answer);
                    }
                    None => tracing::debug!("an answer to no pending request (timed out?)"),
                }
                Received::Nothing
            }
            envelope::HMIP_SYSTEM_EVENT => {
                let parsed = msg
                    .body
                    .ok_or_else(|| "no body".to_string())
                    .and_then(|b| {
                        serde_json::from_str::<SystemEvent<'_>>(b.get()).map_err(|e| e.to_string())
                    })
                    .and_then(|ev| parse_events(ev.transaction.events).map_err(|e| e.to_string()));
                match parsed {
                    Ok((events, bad)) => {
                        for reason in bad {
                            tracing::warn!("skipping a malformed HCU event: {reason}");
                        }
                        if events.is_empty() {
                            Received::Nothing
                        } else {
                            Received::Events(events)
                        }
                    }
                    Err(e) => {
                        tracing::warn!("skipping a malformed HMIP_SYSTEM_EVENT: {e}");
                        Received::Nothing
                    }
                }
            }
            envelope::PLUGIN_STATE_REQUEST => {
                let id = msg.id.unwrap_or_else(envelope::new_id);
                Received::Reply(envelope::ready(&id, &self.cfg.plugin_id))
            }
            envelope::ERROR_RESPONSE => {
                let (text, original) = envelope::describe_error(msg.body);
                tracing::warn!("the HCU could not process a message: {text}");
                if let Some(waiting) = original.and_then(|id| {
                    pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id)
                }) {
                    let _ = waiting.send(Answer {
                        code: 400,
                        body: Some(json!({ "errorCode": text }).to_string()),
                    });
                }
                Received::Nothing
            }
            other => {
                // Device inclusion, configuration and user messages are for plugins that
                // bring their own devices; this one does not.
                tracing::debug!("ignoring an HCU message of type {other}");
                Received::Nothing
            }
        }
    }
}

/// What to do with a received message.
enum Received {
    Nothing,
    Reply(String),
    Events(Vec<PushEvent>),
}

/// The error for a certificate other than the pinned one.
pub fn certificate_changed(pinned: &Fingerprint, presented: &Fingerprint) -> String {
    format!(
        "the HCU's certificate changed: pair again if you replaced it (pinned {pinned}, presented {presented}); not connecting"
    )
}

#[async_trait]
impl Transport for HcuTransport {
    fn kind(&self) -> &'static str {
        "HCU"
    }

    async fn current_state(&self) -> Result<CurrentState, CloudError> {
        let answer = self.request("home/getSystemState", &json!({})).await?;
        Self::system_state(answer)
    }

    async fn control(&self, call: &ControlCall) -> Result<Value, CloudError> {
        let answer = self.request(&call.path, &call.body).await?;
        Self::accepted(answer, &call.path)
    }

    async fn run_events(&self, tx: mpsc::Sender<CloudEvent>) {
        let opts = &self.cfg.options;
        let mut backoff = crate::backoff::Backoff::new(opts.reconnect_min, opts.reconnect_max);
        loop {
            if tx.is_closed() {
                return;
            }
            let refused = self.refused.borrow().clone();
            if let Some(reason) = refused {
                let _ = tx.send(CloudEvent::Refused { reason }).await;
                return;
            }
            let reason = match self.session(&tx).await {
                SessionEnd::Stop => return,
                SessionEnd::Refused(reason) => {
                    self.refused.send_replace(Some(reason));
                    continue;
                }
                SessionEnd::ConnectFailed(reason) => reason,
                SessionEnd::Dropped { reason, up_for } => {
                    if up_for >= opts.dead_timeout {
                        backoff.reset();
                    }
                    reason
                }
            };
            tracing::debug!(%reason, "HCU websocket down");
            if tx.send(CloudEvent::Disconnected { reason }).await.is_err() {
                return;
            }
            let wait = backoff.next_wait();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tx.closed() => return,
            }
        }
    }
}
