//! The websocket at `GET /ws`: checks credentials like the REST API, then forwards every
//! pushed frame until the client leaves or the simulator closes all sockets. While
//! `/sim/silence` is on it reads and sends nothing (no pong either) and loses the frames
//! pushed meanwhile, like a cloud connection that hangs.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, watch};

use super::rest::{check_headers, error, fault_answer, Host};
use super::state::{Outgoing, Shared, WsGuard};

/// Upgrade to a websocket if the headers carry valid credentials (else 403; 429 while
/// throttled, 503 on the host the access point moved away from, the status of `/sim/fail`).
pub(crate) async fn upgrade(
    State(s): State<Arc<Shared>>,
    Extension(Host(host)): Extension<Host>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Some(refused) = fault_answer(s.admit(host, "ws")).await {
        return refused;
    }
    if let Err(code) = check_headers(&s, &headers, true) {
        tracing::info!("websocket refused: {code}");
        return error(StatusCode::FORBIDDEN, code);
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Subscribe before the handshake answer leaves, so no event after it is lost.
    let frames = s.subscribe();
    let close = s.close_signal();
    let silence = s.silence_signal();
    let guard = WsGuard::new(s.clone());
    tracing::info!("websocket client connected");
    ws.on_upgrade(move |socket| serve(socket, frames, close, silence, guard))
}

async fn serve(
    mut socket: WebSocket,
    mut frames: broadcast::Receiver<Outgoing>,
    mut close: watch::Receiver<u64>,
    mut silence: watch::Receiver<bool>,
    guard: WsGuard,
) {
    loop {
        if *silence.borrow_and_update() {
            // Silent: the socket is not read (so tungstenite sends no pong) and pushed
            // frames are lost, as the real cloud loses events for a hung connection.
            tokio::select! {
                changed = silence.changed() => if changed.is_err() { break },
                frame = frames.recv() => if let Err(broadcast::error::RecvError::Closed) = frame { break },
                _ = close.changed() => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
            continue;
        }
        tokio::select! {
            changed = silence.changed() => if changed.is_err() { break },
            // Reading is what answers the client's pings, so read even though we ignore data.
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            frame = frames.recv() => {
                let msg = match frame {
                    Ok(Outgoing::Text(text)) => Message::Text(text.into()),
                    Ok(Outgoing::Binary(bytes)) => Message::Binary(bytes.into()),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("websocket client too slow: {n} messages skipped");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if socket.send(msg).await.is_err() {
                    break;
                }
                guard.frame_sent();
            }
            _ = close.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
    tracing::info!("websocket client disconnected");
}
