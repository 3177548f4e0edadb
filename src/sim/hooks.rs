//! Test hooks under `/sim/...`: change the simulated home as a device would, push raw
//! messages and inject faults. They need no credentials (the simulator only listens on
//! loopback). Every answer is JSON. With the HCU's local API served (`sim --hcu`), what a
//! hook says of "websockets" holds for the HCU's too, unless the table says otherwise.
//!
//! | hook | effect |
//! |---|---|
//! | `POST /sim/device/{deviceId}/channel/{index}` | merge the body into a channel, push `DEVICE_CHANGED` |
//! | `POST /sim/burst` `{"count": N, "seed": S, "changes": k}` | N device reports, each its own `DEVICE_CHANGED` |
//! | `POST /sim/push[?binary=true]` | send the raw body to every websocket (to the HCU's that asked for events: a `{"events": ...}` body as `HMIP_SYSTEM_EVENT`, anything else unchanged) |
//! | `POST /sim/drop` | close every websocket |
//! | `POST /sim/throttle` `{"count": N}` | the next N `/hmip/...` requests and websocket upgrades answer 429 (the cloud's only: the HCU has no rate limit) |
//! | `POST /sim/throttle` `{"forMs": D}` | every `/hmip/...` request and websocket upgrade answers 429 for the next D ms |
//! | `POST /sim/silence` `{"on": true\|false}` | while on, websockets (open and new) stay open but send nothing, answer no ping (the socket is not read) and lose the events pushed meanwhile |
//! | `POST /sim/move` | (the cloud only) the access point moves to the other host: a second listener on 127.0.0.1 (started once, random port); the lookup names it, the old host answers `/hmip/...` and upgrades with 503, its websockets close. Again: moves back. Answers `{"rest", "websocket"}` |
//! | `POST /sim/fail` `{"count": N, "status": S}` | the next N `/hmip/...` requests and websocket upgrades answer HTTP S |
//! | `POST /sim/fail` `{"count": N, "delayMs": D}` | the next N of them wait D ms, then are served normally |
//! | `POST /sim/fail` `{..., "path": P}` | only requests whose path below `/hmip/` (`ws` for an upgrade) starts with P count (e.g. `home/getCurrentState`); the HCU's `HMIP_SYSTEM_REQUEST`s and upgrades count too (a status becomes the response's `code`) |
//! | `POST /sim/revoke` / `POST /sim/unrevoke` | invalidate every token, the HCU's too (upgrade 401) / restore the default tokens (`DEFAULT_AUTH_TOKEN`, `DEFAULT_HCU_AUTH_TOKEN`) |
//! | `POST /sim/button` | press the blue button |
//! | `GET /sim/calls`, `DELETE /sim/calls` | recorded control calls / clear them |
//! | `GET /sim/stats` | request and websocket counters (`wsFramesSent`: pushed frames written to a cloud websocket), fault counters, `requestTimes` (the cloud's alone); the HCU's counters under `hcu` |
//! | `GET /sim/home` | the simulated home now |
//! | `POST /sim/home` | merge the body into the home object, push `HOME_CHANGED` (e.g. `{"connected": false}`) |
//! | `POST /sim/journal` `{"entries": [...]}` | the access point logs these security journal entries (before the older ones, in the order given): push `SECURITY_JOURNAL_CHANGED`; `getSecurityJournal` answers them |
//! | `POST /sim/hcu/activation-key` | a fresh HCU activation key, valid once (older unused keys stay valid): `{"activationKey"}` |
//! | `POST /sim/hcu/certificate` | the HCU presents a new certificate to new connections (a replaced HCU): `{"fingerprint"}` |
//! | `POST /sim/hcu/expose` `{"on": b}` | off: the HCU's websocket port refuses connections (its websockets close); on: bound again on the same port |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::burst::Burst;
use super::control::{device_changed, device_mut};
use super::rest::{answer, error};
use super::state::{Fail, Outgoing, Shared};
use super::{time, DEFAULT_AUTH_TOKEN};

/// The hook routes, merged into the simulator's router.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/sim/device/{device_id}/channel/{index}", post(set_channel))
        .route("/sim/burst", post(burst))
        .route("/sim/push", post(push))
        .route("/sim/drop", post(drop_sockets))
        .route("/sim/throttle", post(throttle))
        .route("/sim/silence", post(silence))
        .route("/sim/move", post(move_host))
        .route("/sim/fail", post(fail))
        .route("/sim/revoke", post(revoke))
        .route("/sim/unrevoke", post(unrevoke))
        .route("/sim/button", post(button))
        .route("/sim/calls", get(calls).delete(clear_calls))
        .route("/sim/stats", get(stats))
        .route("/sim/home", get(home).post(set_home))
        .route("/sim/journal", post(add_journal))
        .merge(super::hcu::hook_routes())
}

/// `POST /sim/device/{deviceId}/channel/{index}` with `{field: value, ...}`: merge the
/// fields into that channel (new fields are added), bump the device's `lastStatusUpdate`
/// and push `DEVICE_CHANGED`, as the cloud does when a device reports. Answers the device;
/// 404 `INVALID_DEVICE` / `INVALID_CHANNEL` for unknown ids, 400 if the body is not an object.
async fn set_channel(
    State(s): State<Arc<Shared>>,
    Path((device_id, index)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let mut inner = s.lock();
    match report(&mut inner.home, &device_id, &index, fields, time::now_ms()) {
        Ok(device) => {
            s.push_events(vec![device_changed(&device)]);
            drop(inner);
            answer(StatusCode::OK, device)
        }
        Err(code) => error(StatusCode::NOT_FOUND, code),
    }
}

/// A device reports: merge `fields` into channel `index` of `device_id`, set the device's
/// `lastStatusUpdate` to `ts`, and return the device as the cloud pushes it. The error is
/// the errorCode of a 404 (`INVALID_DEVICE`, `INVALID_CHANNEL`).
fn report(
    home: &mut Value,
    device_id: &str,
    index: &str,
    fields: Map<String, Value>,
    ts: i64,
) -> Result<Value, &'static str> {
    let device = device_mut(home, device_id).ok_or("INVALID_DEVICE")?;
    let channel = device
        .get_mut("functionalChannels")
        .and_then(|c| c.get_mut(index))
        .and_then(Value::as_object_mut)
        .ok_or("INVALID_CHANNEL")?;
    channel.extend(fields);
    device.insert("lastStatusUpdate".into(), json!(ts));
    Ok(Value::Object(device.clone()))
}

/// Events queued for the websocket writers above which a burst waits (the broadcast
/// channel holds 1024; a burst never lets a writer fall behind and lose messages).
const BURST_HIGH_WATER: usize = 768;
/// Reports made per lock hold, so that other requests get their turn during a burst.
const BURST_BATCH: usize = 256;
/// A burst gives up when the websocket writers take nothing for this long.
const BURST_STALL: Duration = Duration::from_secs(30);

/// `POST /sim/burst` with `{"count": N, "seed": S, "changes": k}` (seed 1 and k 1 by
/// default): N device reports as fast as the websocket writers take them, in order, each
/// its own `DEVICE_CHANGED` message: a channel (picked by the seed) with at least k
/// booleans or numbers, k of them changed to a new value (a boolean flips, a number moves),
/// and the device's `lastStatusUpdate` bumped (now, or one more than before, so that it
/// always changes). The home changes with them. Answers, once every message has been taken
/// by every websocket writer, `{"sent": N, "last": {"deviceId", "lastStatusUpdate"}}` (`last`
/// null for N = 0); 400 `INVALID_REQUEST` without a count or without a channel of k such
/// fields, 503 `WEBSOCKET_STALLED` when a websocket client takes nothing for 30 s.
async fn burst(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let Some(count) = req.get("count").and_then(Value::as_u64) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let seed = req.get("seed").and_then(Value::as_u64).unwrap_or(1);
    let changes = req.get("changes").and_then(Value::as_u64).unwrap_or(1) as usize;
    let Some(mut reports) = Burst::new(&s.lock().home, seed, changes) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let mut sent = 0u64;
    let mut last = Value::Null;
    while sent < count {
        if !wait_for_writers(&s, BURST_HIGH_WATER).await {
            return stalled(sent);
        }
        let mut inner = s.lock();
        for _ in 0..BURST_BATCH.min((count - sent) as usize) {
            let r = reports.next(&inner.home);
            let before = inner.home["devices"][&r.device]["lastStatusUpdate"]
                .as_i64()
                .unwrap_or(0);
            let ts = time::now_ms().max(before + 1);
            // The generator only names channels of the home: this cannot fail.
            let Ok(device) = report(&mut inner.home, &r.device, &r.channel, r.fields, ts) else {
                continue;
            };
            s.push_events(vec![device_changed(&device)]);
            // The device's own id (what the state ids are made of), which a home may
            // file under another key.
            last = json!({"deviceId": device.get("id").unwrap_or(&json!(r.device)), "lastStatusUpdate": ts});
            sent += 1;
        }
    }
    if !wait_for_writers(&s, 0).await {
        return stalled(sent);
    }
    answer(StatusCode::OK, json!({"sent": sent, "last": last}))
}

/// Wait until at most `max` pushed messages wait for a websocket writer; false when the
/// writers take nothing for [`BURST_STALL`].
async fn wait_for_writers(s: &Shared, max: usize) -> bool {
    let mut pending = s.pending();
    let mut since = tokio::time::Instant::now();
    while pending > max {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let now = s.pending();
        if now < pending {
            since = tokio::time::Instant::now();
        } else if since.elapsed() > BURST_STALL {
            return false;
        }
        pending = now;
    }
    true
}

fn stalled(sent: u64) -> Response {
    tracing::warn!("hook: burst stopped after {sent} reports: a websocket client takes nothing");
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"errorCode": "WEBSOCKET_STALLED", "sent": sent}),
    )
}

/// `POST /sim/push[?binary=true]`: send the body as it is, as a text frame (or a binary
/// frame with `binary=true`), to every websocket. Answers `{"sent": n}` (n sockets).
async fn push(
    State(s): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let frame = if query.get("binary").is_some_and(|b| b == "true" || b == "1") {
        Outgoing::Binary(body.to_vec())
    } else {
        Outgoing::Text(String::from_utf8_lossy(&body).into_owned())
    };
    answer(StatusCode::OK, json!({ "sent": s.send(frame) }))
}

/// `POST /sim/drop`: close every open websocket (clients should reconnect and resync).
/// Answers `{"dropped": n}`.
async fn drop_sockets(State(s): State<Arc<Shared>>) -> Response {
    let n = s.close_all_websockets();
    tracing::info!("hook: dropped {n} websocket(s)");
    answer(StatusCode::OK, json!({ "dropped": n }))
}

/// `POST /sim/throttle` with `{"count": N}`: the next N `/hmip/...` requests and websocket
/// upgrades answer 429; with `{"forMs": D}`: every one of them answers 429 for the next D ms
/// (as the real cloud blocks an IP for about an hour). Answers what it armed.
async fn throttle(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let count = req.get("count").and_then(Value::as_u64);
    let for_ms = req.get("forMs").and_then(Value::as_u64);
    if count.is_none() && for_ms.is_none() {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    let mut inner = s.lock();
    if let Some(count) = count {
        inner.throttle = count;
    }
    if let Some(ms) = for_ms {
        inner.throttle_until_ms = time::now_ms() + ms as i64;
        tracing::info!("hook: throttling every request for {ms} ms");
    }
    answer(StatusCode::OK, req)
}

/// `POST /sim/silence` with `{"on": true|false}`: while on, every websocket, open or new,
/// stays open but sends nothing and reads nothing (so no pong answers a ping); events pushed
/// meanwhile are lost for them. Answers `{"on": b}`.
async fn silence(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let on = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("on").and_then(Value::as_bool));
    let Some(on) = on else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    s.set_silence(on);
    tracing::info!(
        "hook: websockets {}",
        if on { "silent" } else { "talk again" }
    );
    answer(StatusCode::OK, json!({ "on": on }))
}

/// `POST /sim/move`: the access point moves to the other host (a second listener on
/// 127.0.0.1, started on first use): the lookup names it from now on, the old host answers
/// `/hmip/...` and websocket upgrades with 503 and its websockets close. Answers the new
/// host's `{"rest": url, "websocket": url}`.
async fn move_host(State(s): State<Arc<Shared>>) -> Response {
    if let Err(e) = super::second_host(&s).await {
        tracing::warn!("hook: move failed: {e:#}");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "MOVE_FAILED");
    }
    {
        let mut inner = s.lock();
        inner.active_host = 1 - inner.active_host;
    }
    let addr = s.active_addr();
    let n = s.close_cloud_websockets();
    tracing::info!("hook: the access point moved to {addr}; {n} websocket(s) closed");
    answer(
        StatusCode::OK,
        json!({"rest": format!("http://{addr}"), "websocket": format!("ws://{addr}/ws")}),
    )
}

/// `POST /sim/fail` with `{"count": N, "status": S}` (the next N `/hmip/...` requests and
/// websocket upgrades answer HTTP S) or `{"count": N, "delayMs": D}` (they wait D ms, then are
/// served normally); `"path": P` limits it to requests whose path below `/hmip/` (`ws` for an
/// upgrade) starts with P. Replaces what was armed before; answers the request.
async fn fail(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let count = req.get("count").and_then(Value::as_u64);
    let status = req
        .get("status")
        .and_then(Value::as_u64)
        .filter(|s| (100..=599).contains(s))
        .map(|s| s as u16);
    let delay = req
        .get("delayMs")
        .and_then(Value::as_u64)
        .map(Duration::from_millis);
    let path = req.get("path").and_then(Value::as_str).map(str::to_string);
    let (Some(count), true) = (count, status.is_some() != delay.is_some()) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    s.lock().fail = Fail {
        count,
        status,
        delay,
        path,
    };
    answer(StatusCode::OK, req)
}

/// `POST /sim/revoke`: every auth token becomes invalid (403 `INVALID_AUTH_TOKEN` from now
/// on, as when the user removes the client in the app) and every websocket is closed.
async fn revoke(State(s): State<Arc<Shared>>) -> Response {
    {
        let mut inner = s.lock();
        inner.tokens.clear();
        super::hcu::revoke(&mut inner);
    }
    let n = s.close_all_websockets();
    tracing::info!("hook: all tokens revoked, {n} websocket(s) closed");
    answer(StatusCode::OK, json!({}))
}

/// `POST /sim/unrevoke`: make [`DEFAULT_AUTH_TOKEN`] valid again (tokens issued by pairing
/// stay revoked), for recovery tests.
async fn unrevoke(State(s): State<Arc<Shared>>) -> Response {
    let mut inner = s.lock();
    inner.tokens.insert(DEFAULT_AUTH_TOKEN.to_string());
    super::hcu::unrevoke(&mut inner);
    drop(inner);
    answer(StatusCode::OK, json!({}))
}

/// `POST /sim/button`: press the blue button; acknowledges every pending pairing request.
/// Answers `{"acknowledged": n}`.
async fn button(State(s): State<Arc<Shared>>) -> Response {
    let n = s.press_button(None);
    tracing::info!("hook: blue button pressed ({n} request(s) acknowledged)");
    answer(StatusCode::OK, json!({ "acknowledged": n }))
}

/// `GET /sim/calls`: the recorded control calls, `[{"path", "body", "ts"}]`, oldest first
/// (`path` without `/hmip/`, `ts` in epoch milliseconds). Pairing and getCurrentState are
/// not recorded.
async fn calls(State(s): State<Arc<Shared>>) -> Response {
    answer(StatusCode::OK, Value::Array(s.lock().calls.clone()))
}

/// `DELETE /sim/calls`: forget the recorded calls.
async fn clear_calls(State(s): State<Arc<Shared>>) -> Response {
    s.lock().calls.clear();
    answer(StatusCode::OK, json!({}))
}

/// `GET /sim/stats`: `{"requests", "upgrades", "throttled", "failed", "delayed",
/// "movedAway", "wsConnects", "wsOpen", "requestTimes", "upgradeTimes", "rest"}`: `/hmip` requests so far,
/// websocket upgrade requests, of both those answered 429, answered the status of
/// `/sim/fail`, delayed by it, answered 503 by the host the access point left; websocket
/// connections accepted so far, open now; the epoch-ms time of every `/hmip` request and
/// upgrade, oldest first, and of the upgrades alone; the REST URL of the host serving the
/// access point. None of these count the HCU's traffic: `hcu` has its own counters
/// `{"requests", "upgrades", "wsConnects", "wsOpen", "authRequests", "pluginState",
/// "pluginStateResponses", "errorResponses"}`.
async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let addr = s.active_addr();
    let inner = s.lock();
    let st = inner.stats;
    answer(
        StatusCode::OK,
        json!({
            "requests": st.requests,
            "upgrades": st.upgrades,
            "throttled": st.throttled,
            "failed": st.failed,
            "delayed": st.delayed,
            "movedAway": st.moved_away,
            "wsConnects": st.ws_connects,
            "wsOpen": st.ws_open,
            "wsFramesSent": st.ws_frames_sent,
            "requestTimes": inner.request_times,
            "upgradeTimes": inner.upgrade_times,
            "rest": format!("http://{addr}"),
            "hcu": super::hcu::stats(&inner),
        }),
    )
}

/// `GET /sim/home`: the simulated home now (what getCurrentState would answer).
async fn home(State(s): State<Arc<Shared>>) -> Response {
    answer(StatusCode::OK, s.home())
}

/// `POST /sim/home` with `{field: value, ...}`: merge the fields into the home object and
/// push `HOME_CHANGED`, as the cloud does when the home changes (`{"connected": false}`:
/// the access point lost its cloud link). Answers the home object; 400 if the body is not
/// an object.
async fn set_home(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let mut inner = s.lock();
    let Some(home) = inner.home.get_mut("home").and_then(Value::as_object_mut) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "NO_HOME");
    };
    home.extend(fields);
    let home = Value::Object(home.clone());
    s.push_events(vec![json!({"pushEventType": "HOME_CHANGED", "home": home})]);
    drop(inner);
    answer(StatusCode::OK, home)
}

/// `POST /sim/journal` with `{"entries": [...]}`: the access point logs these entries;
/// the cloud then pushes `SECURITY_JOURNAL_CHANGED` (no data). Answers the whole journal.
async fn add_journal(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let Some(Value::Array(entries)) = body.remove("entries") else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    let mut inner = s.lock();
    inner.journal.splice(0..0, entries);
    s.push_events(vec![json!({"pushEventType": "SECURITY_JOURNAL_CHANGED"})]);
    let journal = json!({ "entries": inner.journal });
    drop(inner);
    answer(StatusCode::OK, journal)
}
