//! The Connect API websocket at `wss://ws_addr/`. Every message both ways is
//! `{"id", "pluginId", "type", "body"}`.
//!
//! - `PLUGIN_STATE_REQUEST` right after connect and every `plugin_state_interval`; the
//!   `PLUGIN_STATE_RESPONSE`s are recorded.
//! - `HMIP_SYSTEM_REQUEST` `{"path", "body"}` answers `HMIP_SYSTEM_RESPONSE` (same id)
//!   `{"code", "body"}`: `/hmip/home/getSystemState` the whole home, `/hmip/home/getState`
//!   the home object, any other `/hmip/...` path the cloud's control call (shared with the
//!   REST API). A successful call whose answer is `{}` or null carries no `body`.
//! - Sockets opened with `hmip-system-events: true` get every event the cloud pushes as
//!   `HMIP_SYSTEM_EVENT` (raw `/sim/push` frames that are no `{"events"}` message go out
//!   unchanged), and with each periodic plugin state request one `DEVICE_CHANGED` without
//!   `functionalChannels` (as users report real HCUs send).
//! - Anything else answers `ERROR_RESPONSE`.
//!
//! `/sim/silence`, `/sim/drop` and `/sim/revoke` act as on the cloud's websockets.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::{broadcast, mpsc, watch};

use super::Server;
use crate::sim::control::device_changed;
use crate::sim::rest::{error, header};
use crate::sim::state::{Fault, Outgoing, Shared};
use crate::sim::time;

/// The routes of the HCU's websocket port.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/", get(upgrade)).with_state(shared)
}

/// Upgrade if `authtoken` is valid for `plugin-id` (else 401 `INVALID_AUTH_TOKEN`); the
/// status of `/sim/fail` (path `ws`) first.
async fn upgrade(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(server) = s.hcu.get().cloned() else {
        return error(StatusCode::NOT_FOUND, "HCU_NOT_SIMULATED");
    };
    s.lock().hcu.stats.upgrades += 1;
    match s.hcu_fault("ws") {
        Fault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "SIMULATED_FAULT");
        }
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let plugin_id = header(&headers, "plugin-id").to_string();
    let valid = s.lock().hcu.tokens.get(header(&headers, "authtoken")) == Some(&plugin_id);
    if !valid {
        tracing::info!("HCU websocket refused: invalid auth token");
        return error(StatusCode::UNAUTHORIZED, "INVALID_AUTH_TOKEN");
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let events = header(&headers, "hmip-system-events").eq_ignore_ascii_case("true");
    let conn = Conn {
        // Subscribed before the handshake answer leaves, so no event after it is lost.
        frames: events.then(|| s.subscribe()),
        close: {
            let mut rx = server.close.subscribe();
            rx.borrow_and_update();
            rx
        },
        silence: s.silence_signal(),
        guard: HcuWsGuard::new(s.clone()),
        plugin_id,
        shared: s,
        server,
    };
    tracing::info!("HCU websocket client connected");
    ws.on_upgrade(move |socket| conn.serve(socket))
}

/// Counts an open HCU websocket until its task ends.
struct HcuWsGuard(Arc<Shared>);

impl HcuWsGuard {
    fn new(shared: Arc<Shared>) -> Self {
        {
            let mut inner = shared.lock();
            inner.hcu.stats.ws_connects += 1;
            inner.hcu.stats.ws_open += 1;
        }
        HcuWsGuard(shared)
    }
}

impl Drop for HcuWsGuard {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.hcu.stats.ws_open = inner.hcu.stats.ws_open.saturating_sub(1);
    }
}

/// One open HCU websocket.
struct Conn {
    shared: Arc<Shared>,
    server: Arc<Server>,
    plugin_id: String,
    /// The cloud's pushed frames; None when the client asked for no events.
    frames: Option<broadcast::Receiver<Outgoing>>,
    /// Changes when every HCU websocket must close (drop, revoke, expose off, shutdown).
    close: watch::Receiver<u64>,
    silence: watch::Receiver<bool>,
    guard: HcuWsGuard,
}

/// The next pushed frame, or never without a subscription.
async fn next_frame(
    frames: &mut Option<broadcast::Receiver<Outgoing>>,
) -> Result<Outgoing, broadcast::error::RecvError> {
    match frames {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// A message of ours: `{"id", "pluginId", "type", "body"}`.
    fn envelope(&self, id: &str, kind: &str, body: Value) -> Message {
        envelope(&self.plugin_id, id, kind, body)
    }

    fn plugin_state_request(&self) -> Message {
        self.envelope(&uuid(), "PLUGIN_STATE_REQUEST", json!({}))
    }

    /// An `HMIP_SYSTEM_EVENT` carrying the push events `events` (`{"0": {...}, ...}`).
    fn system_event(&self, events: Value) -> Message {
        let body = json!({"eventTransaction": {
            "origin": {"originType": "DEVICE"},
            "accessPointId": self.shared.sgtin,
            "timestamp": time::now_ms(),
            "events": events,
        }});
        self.envelope(&uuid(), "HMIP_SYSTEM_EVENT", body)
    }

    /// A cloud frame as the HCU sends it: a `{"events": ...}` message as
    /// `HMIP_SYSTEM_EVENT`, anything else unchanged.
    fn pushed(&self, frame: Outgoing) -> Message {
        match frame {
            Outgoing::Text(text) => match serde_json::from_str::<Map<String, Value>>(&text) {
                Ok(mut map) if map.len() == 1 && map.contains_key("events") => {
                    self.system_event(map.remove("events").unwrap_or_default())
                }
                _ => Message::Text(text.into()),
            },
            Outgoing::Binary(bytes) => Message::Binary(bytes.into()),
        }
    }

    /// One device of the home, round robin, as `DEVICE_CHANGED` without its channels.
    fn device_without_channels(&self) -> Option<Message> {
        let device = {
            let mut inner = self.shared.lock();
            let devices = inner.home.get("devices").and_then(Value::as_object)?;
            let n = devices.len();
            if n == 0 {
                return None;
            }
            let i = inner.hcu.next_device % n;
            let mut device = inner.home["devices"].as_object()?.values().nth(i)?.clone();
            inner.hcu.next_device = (i + 1) % n;
            device.as_object_mut()?.remove("functionalChannels");
            device
        };
        Some(self.system_event(json!({"0": device_changed(&device)})))
    }

    /// Send the pushed frames already waiting; false when the socket is gone.
    async fn flush_frames(&mut self, socket: &mut WebSocket) -> bool {
        loop {
            let frame = match self.frames.as_mut().map(|rx| rx.try_recv()) {
                Some(Ok(frame)) => frame,
                Some(Err(broadcast::error::TryRecvError::Lagged(_))) => continue,
                _ => return true,
            };
            let msg = self.pushed(frame);
            if socket.send(msg).await.is_err() {
                return false;
            }
        }
    }

    async fn serve(mut self, mut socket: WebSocket) {
        let (replies, mut replies_rx) = mpsc::unbounded_channel::<Message>();
        let interval = self.server.plugin_state_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut greeted = false;
        loop {
            if *self.silence.borrow_and_update() {
                // Silent: nothing read (so no pong), nothing sent, pushed frames lost.
                tokio::select! {
                    changed = self.silence.changed() => if changed.is_err() { break },
                    frame = next_frame(&mut self.frames) => if let Err(broadcast::error::RecvError::Closed) = frame { break },
                    _ = replies_rx.recv() => {}
                    _ = tick.tick() => {}
                    _ = self.close.changed() => break,
                }
                continue;
            }
            if !greeted {
                greeted = true;
                if socket.send(self.plugin_state_request()).await.is_err() {
                    break;
                }
            }
            let msg = tokio::select! {
                changed = self.silence.changed() => if changed.is_err() { break } else { continue },
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => { self.received(text.as_str(), &replies); continue }
                    Some(Ok(Message::Binary(bytes))) => {
                        self.received(&String::from_utf8_lossy(&bytes), &replies);
                        continue
                    }
                    Some(Ok(_)) => continue,
                },
                frame = next_frame(&mut self.frames) => match frame {
                    Ok(frame) => self.pushed(frame),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("HCU websocket client too slow: {n} messages skipped");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                Some(reply) = replies_rx.recv() => {
                    // The events a call pushed go out before its answer, as on the cloud
                    // (pushed under the lock before answering).
                    if !self.flush_frames(&mut socket).await {
                        break;
                    }
                    reply
                }
                _ = tick.tick() => {
                    if socket.send(self.plugin_state_request()).await.is_err() {
                        break;
                    }
                    match self.frames.is_some().then(|| self.device_without_channels()).flatten() {
                        Some(event) => event,
                        None => continue,
                    }
                }
                _ = self.close.changed() => { let _ = socket.send(Message::Close(None)).await; break }
            };
            if socket.send(msg).await.is_err() {
                break;
            }
        }
        let _ = &self.guard;
        tracing::info!("HCU websocket client disconnected");
    }

    /// Handle one message from the client; replies go to `replies` (a delayed one by
    /// `/sim/fail` later, from its own task).
    fn received(&self, text: &str, replies: &mpsc::UnboundedSender<Message>) {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            let _ = replies.send(self.error_response(None, "not JSON", json!(text)));
            return;
        };
        let id = msg.get("id").and_then(Value::as_str);
        let kind = msg.get("type").and_then(Value::as_str);
        let (Some(id), Some(kind)) = (id, kind) else {
            let _ = replies.send(self.error_response(id, "no id or no type", msg.clone()));
            return;
        };
        let body = msg.get("body").cloned().unwrap_or(Value::Null);
        match kind {
            "PLUGIN_STATE_RESPONSE" => {
                let mut inner = self.shared.lock();
                let st = &mut inner.hcu.stats;
                st.plugin_state_responses += 1;
                st.plugin_state = body
                    .get("pluginReadinessStatus")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            "HMIP_SYSTEM_REQUEST" => {
                self.shared.lock().hcu.stats.requests += 1;
                let path = body.get("path").and_then(Value::as_str).unwrap_or_default();
                let call_body = body.get("body").cloned().unwrap_or_else(|| json!({}));
                let below = path.strip_prefix("/hmip/");
                let fault = below.map_or(Fault::None, |p| self.shared.hcu_fault(p));
                let reply = |result: Value| self.envelope(id, "HMIP_SYSTEM_RESPONSE", result);
                match fault {
                    Fault::Delay(delay) => {
                        let (shared, replies) = (self.shared.clone(), replies.clone());
                        let (path, id) = (path.to_string(), id.to_string());
                        let plugin_id = self.plugin_id.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let result = system_request(&shared, &path, call_body);
                            let reply = envelope(&plugin_id, &id, "HMIP_SYSTEM_RESPONSE", result);
                            let _ = replies.send(reply);
                        });
                    }
                    Fault::Status(code) => {
                        let _ = replies.send(reply(
                            json!({"code": code, "body": {"errorCode": "SIMULATED_FAULT"}}),
                        ));
                    }
                    _ => {
                        let _ = replies.send(reply(system_request(&self.shared, path, call_body)));
                    }
                }
            }
            other => {
                let why = format!("unknown message type {other}");
                let _ = replies.send(self.error_response(Some(id), &why, msg.clone()));
            }
        }
    }

    /// An `ERROR_RESPONSE` for a message we cannot handle (`original` as it came).
    fn error_response(&self, id: Option<&str>, why: &str, original: Value) -> Message {
        self.shared.lock().hcu.stats.error_responses += 1;
        tracing::info!("HCU websocket: invalid message: {why}");
        let id = id.map_or_else(uuid, str::to_string);
        let body = json!({
            "error": {"code": "INVALID_MESSAGE", "message": why},
            "originalMessage": original,
        });
        self.envelope(&id, "ERROR_RESPONSE", body)
    }
}

/// A message of ours: `{"id", "pluginId", "type", "body"}`.
fn envelope(plugin_id: &str, id: &str, kind: &str, body: Value) -> Message {
    let msg = json!({"id": id, "pluginId": plugin_id, "type": kind, "body": body});
    Message::Text(msg.to_string().into())
}

/// The `{"code", "body"}` of an `HMIP_SYSTEM_RESPONSE` to `path` with `body`.
fn system_request(s: &Shared, path: &str, body: Value) -> Value {
    let Some(below) = path.strip_prefix("/hmip/") else {
        return json!({"code": 404, "body": {"errorCode": "INVALID_REQUEST"}});
    };
    let result = match below {
        "home/getSystemState" => Ok(s.home()),
        "home/getState" => Ok(s.lock().home["home"].clone()),
        _ => crate::sim::rest::call(s, below, body),
    };
    match result {
        Ok(Value::Null) => json!({"code": 200}),
        Ok(Value::Object(map)) if map.is_empty() => json!({"code": 200}),
        Ok(answer) => json!({"code": 200, "body": answer}),
        Err(e) => json!({"code": e.status.as_u16(), "body": {"errorCode": e.code}}),
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
