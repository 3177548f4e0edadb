//! The pairing handshake (`auth/...`): connection request, blue button, token, confirm.
//!
//! Tokens and the PIN never reach a log line.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand::Rng;
use serde_json::{json, Value};

use super::rest::{answer, error, header};
use super::state::{Inner, PairingRequest, Shared};
use super::Button;

/// How long after a connection request the automatic button is pressed.
const AUTO_PRESS_DELAY: Duration = Duration::from_secs(1);

/// Answer one `auth/...` request (headers other than PIN already checked).
pub(crate) fn handle(s: &Arc<Shared>, path: &str, headers: &HeaderMap, body: &Value) -> Response {
    let device_id = body
        .get("deviceId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if device_id.is_empty() {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    match path {
        "auth/connectionRequest" => connection_request(s, device_id, headers, body),
        "auth/isRequestAcknowledged" => {
            let acknowledged = s
                .lock()
                .pairing
                .get(&device_id)
                .is_some_and(|r| r.acknowledged);
            if acknowledged {
                answer(StatusCode::OK, json!({}))
            } else {
                // 400 is how the cloud says "not yet": clients keep polling.
                error(StatusCode::BAD_REQUEST, "NOT_ACKNOWLEDGED")
            }
        }
        "auth/requestAuthToken" => request_token(s, &device_id),
        "auth/confirmAuthToken" => confirm_token(s, &device_id, body),
        _ => error(StatusCode::NOT_FOUND, "UNKNOWN_REQUEST"),
    }
}

fn connection_request(
    s: &Arc<Shared>,
    device_id: String,
    headers: &HeaderMap,
    body: &Value,
) -> Response {
    if let Some(pin) = &s.pin {
        if header(headers, "PIN") != pin {
            tracing::info!("pairing refused: wrong or missing PIN");
            return error(StatusCode::FORBIDDEN, "INVALID_PIN");
        }
    }
    let device_name = body
        .get("deviceName")
        .and_then(Value::as_str)
        .unwrap_or("unnamed client")
        .to_string();
    tracing::info!(
        "pairing: connection request from \"{device_name}\"; waiting for the blue button"
    );
    s.lock().pairing.insert(
        device_id.clone(),
        PairingRequest {
            device_name,
            ..Default::default()
        },
    );
    if s.button == Button::Auto {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(AUTO_PRESS_DELAY).await;
            if s.press_button(Some(&device_id)) > 0 {
                tracing::info!("pairing: blue button pressed (automatically)");
            }
        });
    }
    answer(StatusCode::OK, json!({}))
}

fn request_token(s: &Shared, device_id: &str) -> Response {
    let mut inner = s.lock();
    let Some(request) = inner.pairing.get_mut(device_id) else {
        return error(StatusCode::FORBIDDEN, "INVALID_REQUEST");
    };
    if !request.acknowledged {
        return error(StatusCode::BAD_REQUEST, "NOT_ACKNOWLEDGED");
    }
    let token = new_token();
    request.issued_token = Some(token.clone());
    tracing::info!("pairing: auth token issued, awaiting confirmation");
    answer(StatusCode::OK, json!({ "authToken": token }))
}

fn confirm_token(s: &Shared, device_id: &str, body: &Value) -> Response {
    let offered = body
        .get("authToken")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut inner = s.lock();
    let issued = inner
        .pairing
        .get(device_id)
        .and_then(|r| r.issued_token.as_deref());
    if issued.is_none() || issued != Some(offered) {
        return error(StatusCode::FORBIDDEN, "INVALID_AUTH_TOKEN");
    }
    let request = inner.pairing.remove(device_id).unwrap_or_default();
    inner.tokens.insert(offered.to_string());
    let client_id = add_client(s, &mut inner, &request.device_name);
    drop(inner);
    tracing::info!("pairing: complete, client {client_id} added");
    answer(StatusCode::OK, json!({ "clientId": client_id }))
}

/// A fresh token: 64 uppercase hex digits, like the cloud's.
pub(crate) fn new_token() -> String {
    let mut rng = rand::rng();
    (0..64)
        .map(|_| {
            char::from_digit(rng.random_range(0..16), 16)
                .unwrap_or('0')
                .to_ascii_uppercase()
        })
        .collect()
}

/// Add a client labelled `label` to the home (its `clients` map and the home's list) and
/// push `CLIENT_ADDED`, as the cloud does when a pairing completes. Returns the client id.
/// Called under the lock, so the event cannot overtake a concurrent change.
pub(crate) fn add_client(s: &Shared, inner: &mut Inner, label: &str) -> String {
    let client_id = uuid::Uuid::new_v4().to_string();
    let home_id = inner.home["home"]["id"].clone();
    let client = json!({"homeId": home_id, "id": client_id, "label": label, "clientType": "APP"});
    if let Some(clients) = inner.home.get_mut("clients").and_then(Value::as_object_mut) {
        clients.insert(client_id.clone(), client.clone());
    } else if let Some(state) = inner.home.as_object_mut() {
        state.insert(
            "clients".into(),
            json!({ client_id.clone(): client.clone() }),
        );
    }
    if let Some(list) = inner.home["home"]
        .get_mut("clients")
        .and_then(Value::as_array_mut)
    {
        list.push(json!(client_id));
    }
    s.push_events(vec![
        json!({"pushEventType": "CLIENT_ADDED", "client": client}),
    ]);
    client_id
}
