//! The standalone HTTP API over any [`Store`], and a small live page.
//!
//! - `GET /api/v1/objects?pattern=P`, `GET /api/v1/states?pattern=P`: JSON map id -> object /
//!   state (`pattern` is an ioBroker glob, `*` when missing).
//! - `GET /api/v1/state/{id}`: one state, 404 when unknown.
//! - `PUT /api/v1/state/{id}` with `{"val": …}`: a user write (ack false), checked against
//!   the state object (exists: 404, `common.write` not false: 403, [`validate_value`]: 400).
//! - `GET /api/v1/events?pattern=P`: server-sent events `{"id", "state"}` (`state` null when
//!   deleted).
//! - `GET /api/v1/stats`: `{"stateWrites", "objectWrites"}`, what the store has written
//!   since it started (404 for a store that does not count).
//! - `GET /`: a page listing `hmip.0.*`, updated live.
//!
//! Every 4xx/5xx answer is `{"error": "…"}`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};

use crate::iobroker::{now_ms, validate_value, IobState};
use crate::store::{Store, StoreError, Subscription};

/// `from` of a state written through `PUT /api/v1/state/{id}`. ioBroker's simple-api writes
/// with its own instance as `from` and the default user `system.user.admin`; we do the same
/// with this name, so the adapter can tell a user command from its own writes.
pub const USER_WRITE_FROM: &str = "system.adapter.web.0";

/// How often an idle event stream gets a keep-alive comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const PAGE: &str = include_str!("page.html");

type Shared = Arc<dyn Store>;

/// The HTTP API and page over `store`.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/v1/objects", get(list_objects))
        .route("/api/v1/states", get(list_states))
        .route("/api/v1/state/{*id}", get(get_state).put(put_state))
        .route("/api/v1/events", get(events))
        .route("/api/v1/stats", get(stats))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(store)
}

/// Bind `addr` (port 0 picks a free port) and serve [`router`] on a background task.
/// Returns the bound address and the task's handle (abort it to stop serving).
pub async fn serve(
    store: Arc<dyn Store>,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = router(store);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("HTTP server on {bound} stopped: {e}");
        }
    });
    tracing::debug!("HTTP API on http://{bound}");
    Ok((bound, handle))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn store_error(e: StoreError) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

#[derive(Deserialize)]
struct PatternQuery {
    pattern: Option<String>,
}

impl PatternQuery {
    fn pattern(&self) -> &str {
        match self.pattern.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => "*",
        }
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn list_objects(State(store): State<Shared>, Query(q): Query<PatternQuery>) -> Response {
    match store.objects(q.pattern()).await {
        Ok(map) => Json(map).into_response(),
        Err(e) => store_error(e),
    }
}

async fn list_states(State(store): State<Shared>, Query(q): Query<PatternQuery>) -> Response {
    match store.states(q.pattern()).await {
        Ok(map) => Json(map).into_response(),
        Err(e) => store_error(e),
    }
}

async fn get_state(State(store): State<Shared>, Path(id): Path<String>) -> Response {
    match store.get_state(&id).await {
        Ok(Some(state)) => Json(state).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no state {id}")),
        Err(e) => store_error(e),
    }
}

async fn put_state(State(store): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    // Parsed by hand (not `Json<…>`) so that a missing content type or a bad body gets
    // our `{"error"}` shape and a message that says what is expected.
    let val = match parse_write(&body) {
        Ok(v) => v,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let obj = match store.get_object(&id).await {
        Ok(Some(o)) if o.obj_type == "state" => o,
        Ok(Some(o)) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("{id} is a {}, not a state", o.obj_type),
            )
        }
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no state object {id}")),
        Err(e) => return store_error(e),
    };
    // ioBroker's default for `common.write` is true: only an explicit false refuses.
    if obj.common.get("write") == Some(&Value::Bool(false)) {
        return error(StatusCode::FORBIDDEN, format!("{id} is read-only"));
    }
    if let Err(msg) = validate_value(&obj.common, &val) {
        return error(StatusCode::BAD_REQUEST, format!("{id}: {msg}"));
    }
    let prev = match store.get_state(&id).await {
        Ok(p) => p,
        Err(e) => return store_error(e),
    };
    let state = IobState::next(prev.as_ref(), val, false, USER_WRITE_FROM, 0, now_ms());
    match store.set_states(vec![(id, state.clone())]).await {
        Ok(()) => Json(state).into_response(),
        Err(e) => store_error(e),
    }
}

/// `GET /api/v1/stats`: the store's write counters, for benchmarks.
async fn stats(State(store): State<Shared>) -> Response {
    match store.write_stats() {
        Some(s) => Json(json!({"stateWrites": s.state_writes, "objectWrites": s.object_writes}))
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "this store does not count its writes",
        ),
    }
}

/// The value of a `{"val": …}` body, or a message saying what is wrong.
fn parse_write(body: &[u8]) -> Result<Value, String> {
    const EXPECTED: &str = r#"the body must be JSON {"val": …}"#;
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("{EXPECTED}; it is not JSON: {e}"))?;
    let Value::Object(mut map) = v else {
        return Err(format!("{EXPECTED}; got {v}"));
    };
    if let Some(other) = map.keys().find(|k| *k != "val") {
        return Err(format!("{EXPECTED}; unexpected field \"{other}\""));
    }
    map.remove("val")
        .ok_or_else(|| format!("{EXPECTED}; \"val\" is missing"))
}

async fn events(
    State(store): State<Shared>,
    Query(q): Query<PatternQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = store.subscribe(Subscription {
        pattern: q.pattern().to_string(),
        only_unacked: false,
    });
    // The receiver lives in the stream: when the client goes, the stream and the
    // subscription are dropped and the store prunes it.
    let stream = UnboundedReceiverStream::new(rx).map(|change| {
        let data = json!({ "id": change.id, "state": change.state }).to_string();
        Ok(Event::default().data(data))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

#[cfg(test)]
mod tests;
