//! The HCU's pairing calls over HTTPS: `requestConnectApiAuthToken` hands out a token for
//! an activation key and a plugin id, `confirmConnectApiAuthToken` makes it valid, uses the
//! key up and adds the client to the home (`CLIENT_ADDED` on both APIs).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::PendingToken;
use crate::sim::pairing::{add_client, new_token};
use crate::sim::rest::{answer, error, header};
use crate::sim::state::Shared;

/// The routes of the HCU's HTTPS port.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/hmip/auth/requestConnectApiAuthToken", post(request_token))
        .route("/hmip/auth/confirmConnectApiAuthToken", post(confirm_token))
        .with_state(shared)
}

/// Count the call and check the `VERSION` header and the JSON body; None: answer 400.
fn admit(s: &Shared, headers: &HeaderMap, body: &[u8]) -> Option<Value> {
    s.lock().hcu.stats.auth_requests += 1;
    if header(headers, "VERSION") != crate::hcu::API_VERSION {
        return None;
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `POST /hmip/auth/requestConnectApiAuthToken` `{"activationKey", "pluginId",
/// "friendlyName": {"de", ...}}`: 200 `{"authToken"}` (pending until confirmed); 400
/// `INVALID_REQUEST` without `VERSION: 12`, pluginId or friendlyName.de; 403
/// `INVALID_ACTIVATION_KEY` for an unknown or used key.
async fn request_token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(body) = admit(&s, &headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let (Some(plugin_id), Some(label)) = (
        text(&body, "pluginId"),
        body.get("friendlyName").and_then(|n| text(n, "de")),
    ) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let key = text(&body, "activationKey").unwrap_or_default();
    let mut inner = s.lock();
    if !inner.hcu.keys.contains(key) {
        tracing::info!("HCU pairing: unknown or used activation key");
        return error(StatusCode::FORBIDDEN, "INVALID_ACTIVATION_KEY");
    }
    let token = new_token();
    inner.hcu.pending.insert(
        token.clone(),
        PendingToken {
            key: key.to_string(),
            plugin_id: plugin_id.to_string(),
            label: label.to_string(),
        },
    );
    tracing::info!("HCU pairing: auth token issued, awaiting confirmation");
    answer(StatusCode::OK, json!({ "authToken": token }))
}

/// `POST /hmip/auth/confirmConnectApiAuthToken` `{"activationKey", "authToken"}`: 200
/// `{"clientId"}`, the token valid for its plugin id from now on; 403
/// `INVALID_AUTH_TOKEN` for a token not handed out (or confirmed already), 403
/// `INVALID_ACTIVATION_KEY` for another key than the token's or one used meanwhile.
async fn confirm_token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(body) = admit(&s, &headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let token = text(&body, "authToken").unwrap_or_default();
    let key = text(&body, "activationKey").unwrap_or_default();
    let mut inner = s.lock();
    let Some(pending) = inner.hcu.pending.get(token).cloned() else {
        return error(StatusCode::FORBIDDEN, "INVALID_AUTH_TOKEN");
    };
    if pending.key != key || !inner.hcu.keys.remove(key) {
        return error(StatusCode::FORBIDDEN, "INVALID_ACTIVATION_KEY");
    }
    inner.hcu.pending.remove(token);
    inner
        .hcu
        .tokens
        .insert(token.to_string(), pending.plugin_id.clone());
    let client_id = add_client(&s, &mut inner, &pending.label);
    drop(inner);
    tracing::info!("HCU pairing: complete, client {client_id} added");
    answer(StatusCode::OK, json!({ "clientId": client_id }))
}
