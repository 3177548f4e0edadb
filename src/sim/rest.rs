//! The HTTP side of the simulated cloud: the router, the lookup and `/hmip/...` with the
//! cloud's header checks.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::{Fault, Shared};
use super::{control, hooks, pairing, time, ws};

/// The largest request body the simulator takes.
const SIM_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Which listener a request came in on: 0 the simulator's own, 1 the one `/sim/move`
/// starts. Only the host that serves the access point answers `/hmip/...` and websockets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Host(pub u8);

/// All routes of the simulator, as served by host `host`.
pub(crate) fn router(shared: Arc<Shared>, host: u8) -> Router {
    Router::new()
        .route("/getHost", post(lookup))
        .route("/hmip/{*path}", post(hmip))
        .route("/ws", get(ws::upgrade))
        .merge(hooks::routes())
        // Tests push oversized websocket frames through `/sim/push` (axum's default is 2 MB).
        .layer(DefaultBodyLimit::max(SIM_BODY_LIMIT))
        .layer(Extension(Host(host)))
        .with_state(shared)
}

/// A JSON answer.
pub(crate) fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// An error answer `{"errorCode": code}` as the cloud gives them.
pub(crate) fn error(status: StatusCode, code: &str) -> Response {
    answer(status, json!({ "errorCode": code }))
}

/// A header as text ("" when missing or not ASCII).
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `POST /getHost`: known SGTIN -> the URLs of the host serving the access point now (this
/// server, or the other one after `/sim/move`); anything else -> 418 like the real lookup.
async fn lookup(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .and_then(|id| crate::cloud::identity::normalize_sgtin(&id).ok());
    if id.as_deref() != Some(s.sgtin.as_str()) {
        tracing::info!("lookup for an unknown access point refused");
        return error(StatusCode::IM_A_TEAPOT, "INVALID_REQUEST");
    }
    tracing::info!("lookup for the simulated access point");
    let addr = s.active_addr();
    answer(
        StatusCode::OK,
        json!({
            "urlREST": format!("http://{addr}"),
            "urlWebSocket": format!("ws://{addr}/ws"),
            "apiVersion": "12",
        }),
    )
}

/// Check CLIENTAUTH and ACCESSPOINT-ID, and AUTHTOKEN unless `need_token` is false. The
/// error is the errorCode of the 403 to answer.
pub(crate) fn check_headers(
    s: &Shared,
    headers: &HeaderMap,
    need_token: bool,
) -> Result<(), &'static str> {
    let ap = crate::cloud::identity::normalize_sgtin(header(headers, "ACCESSPOINT-ID"))
        .unwrap_or_default();
    if header(headers, "CLIENTAUTH") != s.client_auth || ap != s.sgtin {
        return Err("INVALID_AUTHORIZATION");
    }
    if need_token && !s.token_valid(header(headers, "AUTHTOKEN")) {
        return Err("INVALID_AUTH_TOKEN");
    }
    Ok(())
}

/// The answer to a request that meets a fault, or None to serve it (after a delay, if
/// that is the fault).
pub(crate) async fn fault_answer(fault: Fault) -> Option<Response> {
    match fault {
        Fault::None => None,
        Fault::MovedAway => Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
        )),
        Fault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(error(status, "SIMULATED_FAULT"))
        }
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::Throttled => Some(error(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")),
    }
}

/// The journal read, answered from [`super::state::Inner::journal`].
const JOURNAL_PATH: &str = "home/security/getSecurityJournal";

/// `POST /hmip/{path}`: faults (another host serves the access point, `/sim/fail`,
/// throttling), header checks, then pairing, getCurrentState or a control call.
async fn hmip(
    State(s): State<Arc<Shared>>,
    Extension(Host(host)): Extension<Host>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = fault_answer(s.admit(host, &path)).await {
        return refused;
    }
    let is_auth = path.starts_with("auth/");
    if let Err(code) = check_headers(&s, &headers, !is_auth) {
        tracing::info!("refused /hmip/{path}: {code}");
        return error(StatusCode::FORBIDDEN, code);
    }
    // An empty body is an empty object; anything else must be JSON.
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        }
    };
    if is_auth {
        return pairing::handle(&s, &path, &headers, &body);
    }
    match call(&s, &path, body) {
        Ok(body) => answer(StatusCode::OK, body),
        Err(e) => error(e.status, e.code),
    }
}

/// `getCurrentState` or a control call `path` (below `/hmip/`) with `body`, after the
/// transport's own checks: shared by the cloud's REST API and the HCU's
/// `HMIP_SYSTEM_REQUEST`, so both record the call in `calls` and push its events alike.
/// Answers the response body or the error.
pub(crate) fn call(s: &Shared, path: &str, body: Value) -> Result<Value, control::CallError> {
    if path == "home/getCurrentState" {
        return Ok(s.home());
    }
    tracing::debug!("control call {path}");
    let now = time::now_ms();
    let mut inner = s.lock();
    let outcome = control::apply(&mut inner.home, path, &body, now);
    inner
        .calls
        .push(json!({"path": path, "body": body, "ts": now}));
    match outcome {
        Ok(mut outcome) => {
            if path == JOURNAL_PATH {
                // The journal is kept beside the home, not in it.
                outcome.answer = json!({ "entries": inner.journal });
            }
            // Pushed under the lock, so events leave in the order the changes were made.
            s.push_events(outcome.events);
            Ok(outcome.answer)
        }
        Err(e) => {
            tracing::info!("control call {path} refused: {}", e.code);
            Err(e)
        }
    }
}
