//! The websocket at `GET /ws`: checks credentials like the REST API, then forwards every
//! pushed frame until the client leaves or the simulator closes all sockets.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, watch};

use super::rest::{check_headers, error};
use super::state::{Outgoing, Shared, WsGuard};

/// Upgrade to a websocket if the headers carry valid credentials (else 403, or 429 while
/// throttled).
pub(crate) async fn upgrade(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if s.take_throttle() {
        return error(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
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
    let guard = WsGuard::new(s.clone());
    tracing::info!("websocket client connected");
    ws.on_upgrade(move |socket| serve(socket, frames, close, guard))
}

async fn serve(
    mut socket: WebSocket,
    mut frames: broadcast::Receiver<Outgoing>,
    mut close: watch::Receiver<u64>,
    _guard: WsGuard,
) {
    loop {
        tokio::select! {
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
            }
            _ = close.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
    tracing::info!("websocket client disconnected");
}
