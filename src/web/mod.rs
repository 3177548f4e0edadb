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
//!
//! Who may ask ([`WebOptions`]): a page the user visits must not reach the API through
//! DNS rebinding, so a request whose `Host` is a name other than `localhost` or one the
//! user configured is refused (403; an IP address cannot be rebound), and so is a write
//! whose `Origin` is not the API's own (403). Bound to anything but loopback, every
//! request but the page needs `Authorization: Bearer <token>` (401); without a token
//! such an address is refused at start. A write to a secret parameter (a lock's PIN)
//! goes to the adapter's keeper, never into the store: the state gets the mask.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};

use crate::adapter::secret_params::SecretParams;
use crate::iobroker::{now_ms, validate_value, IobState};
use crate::store::{Store, StoreError, Subscription};
use crate::tree;

/// `from` of a state written through `PUT /api/v1/state/{id}`. ioBroker's simple-api writes
/// with its own instance as `from` and the default user `system.user.admin`; we do the same
/// with this name, so the adapter can tell a user command from its own writes.
pub const USER_WRITE_FROM: &str = "system.adapter.web.0";

/// Changes an event stream client may be behind before its stream is ended: a whole
/// snapshot of the fixture's home (about 15,000 states) fits, so a page that is reading
/// keeps its stream through a start; about 4 MB at most per client.
pub const EVENT_BUFFER: usize = 16_384;

/// How often an idle event stream gets a keep-alive comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const PAGE: &str = include_str!("page.html");

/// Who may use the API, and where secret parameters go.
#[derive(Clone, Default)]
pub struct WebOptions {
    /// The keeper of secret parameters: a written PIN goes there. Without one, such a
    /// write is refused.
    pub secrets: Option<Arc<SecretParams>>,
    /// The API's token (`httpToken` of the config file).
    pub token: Option<String>,
    /// Require the token on every request but the page. [`serve_with`] turns it on for
    /// any address that is not loopback.
    pub require_token: bool,
    /// Host names the API answers to besides `localhost` and IP addresses (`httpHosts` of
    /// the config file: a name the user reaches it by, such as `nas.local`).
    pub hosts: Vec<String>,
}

impl std::fmt::Debug for WebOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebOptions")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("require_token", &self.require_token)
            .field("hosts", &self.hosts)
            .finish()
    }
}

#[derive(Clone)]
struct Shared {
    store: Arc<dyn Store>,
    opts: Arc<WebOptions>,
    /// The port the API listens on (0 when unknown: any port is its own).
    port: u16,
}

/// The HTTP API and page over `store`, open to loopback clients without a token.
pub fn router(store: Arc<dyn Store>) -> Router {
    router_with(store, WebOptions::default(), 0)
}

/// The HTTP API and page over `store`, guarded as `opts` says, for an API on `port`.
pub fn router_with(store: Arc<dyn Store>, opts: WebOptions, port: u16) -> Router {
    let shared = Shared {
        store,
        opts: Arc::new(opts),
        port,
    };
    Router::new()
        .route("/", get(page))
        .route("/api/v1/objects", get(list_objects))
        .route("/api/v1/states", get(list_states))
        .route("/api/v1/state/{*id}", get(get_state).put(put_state))
        .route("/api/v1/events", get(events))
        .route("/api/v1/stats", get(stats))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(middleware::from_fn_with_state(shared.clone(), guard::guard))
        .with_state(shared)
}

/// Bind `addr` (port 0 picks a free port) and serve [`router`] on a background task.
/// Returns the bound address and the task's handle (abort it to stop serving).
pub async fn serve(
    store: Arc<dyn Store>,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_with(store, addr, WebOptions::default()).await
}

/// [`serve`] guarded as `opts` says; an address that is not loopback requires the token,
/// and is refused without one.
pub async fn serve_with(
    store: Arc<dyn Store>,
    addr: SocketAddr,
    mut opts: WebOptions,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        opts.require_token = true;
    }
    if opts.require_token && opts.token.as_deref().is_none_or(str::is_empty) {
        anyhow::bail!(
            "the HTTP API on {addr} would be open to the network without a token: listen on 127.0.0.1, or give the config file an httpToken (`run` writes one at its first start)"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = router_with(store, opts, bound.port());
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

async fn list_objects(
    State(Shared { store, .. }): State<Shared>,
    Query(q): Query<PatternQuery>,
) -> Response {
    match store.objects(q.pattern()).await {
        Ok(map) => Json(map).into_response(),
        Err(e) => store_error(e),
    }
}

async fn list_states(
    State(Shared { store, .. }): State<Shared>,
    Query(q): Query<PatternQuery>,
) -> Response {
    match store.states(q.pattern()).await {
        Ok(map) => Json(map).into_response(),
        Err(e) => store_error(e),
    }
}

async fn get_state(State(Shared { store, .. }): State<Shared>, Path(id): Path<String>) -> Response {
    match store.get_state(&id).await {
        Ok(Some(state)) => Json(state).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no state {id}")),
        Err(e) => store_error(e),
    }
}

async fn put_state(
    State(Shared { store, opts, .. }): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
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
    if tree::is_secret(&obj) {
        return put_secret(&store, opts.secrets.as_deref(), id, val).await;
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

/// A write to a secret parameter (a lock's PIN): the value goes to the keeper; the store,
/// and so every reader and the adapter, gets only the mask ("" forgets the value), which
/// the adapter acknowledges. The mask written back keeps the value.
async fn put_secret(
    store: &Arc<dyn Store>,
    secrets: Option<&SecretParams>,
    id: String,
    val: Value,
) -> Response {
    let Some(secrets) = secrets else {
        return error(
            StatusCode::FORBIDDEN,
            format!("{id} is a secret and this API keeps none"),
        );
    };
    // Never echo the value: the answer may end up in a log.
    let Value::String(value) = val else {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "{id}: expected a string (a PIN), got {}",
                crate::cloud::lenient::kind(&val)
            ),
        );
    };
    if value != tree::SECRET_MASK {
        if let Err(e) = secrets.set(&id, &value).await {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{id}: the PIN could not be saved, the one kept before stays: {e:#}"),
            );
        }
    }
    let shown = if value.is_empty() {
        ""
    } else {
        tree::SECRET_MASK
    };
    let prev = match store.get_state(&id).await {
        Ok(p) => p,
        Err(e) => return store_error(e),
    };
    let state = IobState::next(
        prev.as_ref(),
        json!(shown),
        false,
        USER_WRITE_FROM,
        0,
        now_ms(),
    );
    match store.set_states(vec![(id, state.clone())]).await {
        Ok(()) => Json(state).into_response(),
        Err(e) => store_error(e),
    }
}

/// `GET /api/v1/stats`: the store's write counters, for benchmarks.
async fn stats(State(Shared { store, .. }): State<Shared>) -> Response {
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
    State(Shared { store, .. }): State<Shared>,
    Query(q): Query<PatternQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = store.subscribe(Subscription {
        pattern: q.pattern().to_string(),
        only_unacked: false,
    });
    // The store's queue is drained at once into a bounded one that the client's connection
    // empties: a client that stops reading (half-open, stalled) would otherwise grow the
    // process for ever. One that falls EVENT_BUFFER changes behind loses its subscription
    // (the store prunes it) and its stream ends; the page reconnects and reloads.
    let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        loop {
            // A client that left ends this at once, not at the next change.
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = tx.closed() => return,
            };
            let Some(change) = change else { return };
            match tx.try_send(change) {
                Ok(()) => {}
                Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        "an event stream client fell {EVENT_BUFFER} changes behind: its stream is ended (it reconnects and reloads)"
                    );
                    return;
                }
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(|change| {
        let data = json!({ "id": change.id, "state": change.state }).to_string();
        Ok(Event::default().data(data))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

mod guard;

#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod tests;
