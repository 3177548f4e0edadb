use std::time::Duration;

use serde_json::{json, Map};

use super::*;
use crate::iobroker::IobObject;
use crate::store::embedded::EmbeddedStore;

const ON: &str = "hmip.0.devices.A.channels.1.on";
const LEVEL: &str = "hmip.0.devices.A.channels.1.shutterLevel";
const TEMP: &str = "hmip.0.devices.A.channels.1.actualTemperature";
const LOCK: &str = "hmip.0.devices.A.channels.1.lockState";

fn object(id: &str, obj_type: &str, common: Value) -> IobObject {
    IobObject {
        id: id.into(),
        obj_type: obj_type.into(),
        common: common.as_object().cloned().unwrap(),
        native: Map::new(),
        extra: Map::new(),
    }
}

fn acked(val: Value) -> IobState {
    IobState::next(None, val, true, "system.adapter.hmip.0", 0, 1_000)
}

/// A served API over an in-memory store with a few typical states.
async fn setup() -> (Arc<EmbeddedStore>, String) {
    let store = Arc::new(EmbeddedStore::in_memory());
    store
        .set_objects(vec![
            object("hmip.0.devices.A", "device", json!({"name": "Shutter"})),
            object("hmip.0.devices.A.channels.1", "channel", json!({"name": "ch 1"})),
            object(ON, "state", json!({"type": "boolean", "role": "switch", "read": true, "write": true})),
            object(
                LEVEL,
                "state",
                json!({"type": "number", "role": "level", "unit": "%", "min": 0, "max": 100, "read": true, "write": true}),
            ),
            object(TEMP, "state", json!({"type": "number", "role": "value.temperature", "read": true, "write": false})),
            object(
                LOCK,
                "state",
                json!({"type": "string", "write": true, "states": {"OPEN": "open", "LOCKED": "locked", "UNLOCKED": "unlocked"}}),
            ),
            object("javascript.0.x", "state", json!({"type": "number"})),
        ])
        .await
        .unwrap();
    store
        .set_states(vec![
            (ON.into(), acked(json!(false))),
            (LEVEL.into(), acked(json!(40))),
            (TEMP.into(), acked(json!(21.5))),
            ("javascript.0.x".into(), acked(json!(1))),
        ])
        .await
        .unwrap();
    let dyn_store: Arc<dyn Store> = store.clone();
    let (addr, _handle) = serve(dyn_store, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (store, format!("http://{addr}"))
}

async fn get_json(url: &str) -> (StatusCode, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
    (status, r.json().await.unwrap())
}

async fn put(base: &str, id: &str, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .put(format!("{base}/api/v1/state/{id}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn objects_and_states_by_pattern() {
    let (_store, base) = setup().await;
    let (s, objs) = get_json(&format!("{base}/api/v1/objects?pattern=hmip.0.devices.*")).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<_> = objs.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ids.len(), 6);
    assert!(ids.iter().all(|id| id.starts_with("hmip.0.devices.")));
    assert_eq!(objs[LEVEL]["_id"], LEVEL);
    assert_eq!(objs[LEVEL]["type"], "state");
    assert_eq!(objs[LEVEL]["common"]["max"], 100);

    let (_, all) = get_json(&format!("{base}/api/v1/objects")).await;
    assert_eq!(all.as_object().unwrap().len(), 7, "no pattern means all");

    let (s, states) = get_json(&format!("{base}/api/v1/states?pattern=hmip.0.*")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(states.as_object().unwrap().len(), 3);
    assert_eq!(states[TEMP]["val"], 21.5);
    assert_eq!(states[TEMP]["ack"], true);
    assert_eq!(states[TEMP]["from"], "system.adapter.hmip.0");

    let (_, none) = get_json(&format!("{base}/api/v1/states?pattern=nothing.*")).await;
    assert_eq!(none, json!({}));
}

#[tokio::test]
async fn get_one_state() {
    let (_store, base) = setup().await;
    let (s, st) = get_json(&format!("{base}/api/v1/state/{LEVEL}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        st,
        json!({"val": 40, "ack": true, "ts": 1000, "lc": 1000,
        "from": "system.adapter.hmip.0", "q": 0, "user": "system.user.admin"})
    );
    let (s, err) = get_json(&format!("{base}/api/v1/state/hmip.0.nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(err["error"].as_str().unwrap().contains("hmip.0.nope"));
    // An object without a state yet is still 404 for the state.
    let (s, _) = get_json(&format!("{base}/api/v1/state/{LOCK}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_writes_like_a_user() {
    let (store, base) = setup().await;
    let before = store.write_count();
    let (s, st) = put(&base, LEVEL, r#"{"val": 75}"#).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["val"], 75);
    assert_eq!(st["ack"], false);
    assert_eq!(st["from"], USER_WRITE_FROM);
    assert_eq!(st["user"], "system.user.admin");
    assert!(st["ts"].as_i64().unwrap() > 1000);
    assert_eq!(st["lc"], st["ts"], "value changed, so lc moves");
    let stored = store.get_state(LEVEL).await.unwrap().unwrap();
    assert_eq!(serde_json::to_value(&stored).unwrap(), st);
    assert_eq!(store.write_count(), before + 1);

    // Same value again: ts moves, lc stays.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_, again) = put(&base, LEVEL, r#"{"val": 75}"#).await;
    assert_eq!(again["lc"], st["lc"]);
    assert!(again["ts"].as_i64() > st["ts"].as_i64());

    // A state object without a value yet can be written; states map keys accepted.
    let (s, st) = put(&base, LOCK, r#"{"val": "LOCKED"}"#).await;
    assert_eq!((s, &st["val"]), (200, &json!("LOCKED")));
    let (s, _) = put(&base, ON, r#"{"val": true}"#).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn put_refusals_write_nothing() {
    let (store, base) = setup().await;
    let before = store.write_count();
    let cases: &[(&str, &str, u16, &str)] = &[
        (
            "hmip.0.nope",
            r#"{"val": 1}"#,
            404,
            "no state object hmip.0.nope",
        ),
        (
            "hmip.0.devices.A",
            r#"{"val": 1}"#,
            404,
            "is a device, not a state",
        ),
        (TEMP, r#"{"val": 30}"#, 403, "read-only"),
        (LEVEL, r#"{"val": 150}"#, 400, "value 150 is above max 100"),
        (
            LEVEL,
            r#"{"val": "abc"}"#,
            400,
            r#"expected a number, got "abc""#,
        ),
        (
            LEVEL,
            r#"{"val": null}"#,
            400,
            "expected a number, got null",
        ),
        (ON, r#"{"val": 1}"#, 400, "expected a boolean, got 1"),
        (
            LOCK,
            r#"{"val": "FOO"}"#,
            400,
            r#""FOO" is not one of OPEN, LOCKED, UNLOCKED"#,
        ),
        (LEVEL, "75", 400, r#"the body must be JSON {"val": …}"#),
        (LEVEL, "{}", 400, r#""val" is missing"#),
        (
            LEVEL,
            r#"{"val": 1, "ack": true}"#,
            400,
            r#"unexpected field "ack""#,
        ),
        (LEVEL, "not json", 400, "not JSON"),
    ];
    for (id, body, status, msg) in cases {
        let (s, err) = put(&base, id, body).await;
        assert_eq!(s, *status, "{id} {body}: {err}");
        let text = err["error"].as_str().unwrap_or_default();
        assert!(
            text.contains(msg),
            "{id} {body}: {text:?} should contain {msg:?}"
        );
    }
    assert_eq!(
        store.write_count(),
        before,
        "a refused write writes nothing"
    );
    assert_eq!(
        store.get_state(LEVEL).await.unwrap().unwrap().val,
        json!(40)
    );
    assert_eq!(
        store.get_state(TEMP).await.unwrap().unwrap().val,
        json!(21.5)
    );
    assert!(store.get_state(LOCK).await.unwrap().is_none());
}

/// Read the SSE body until a `data:` line satisfies `want`, or fail after a timeout.
async fn next_event(
    resp: &mut reqwest::Response,
    buf: &mut String,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(pos) = buf.find('\n') {
            let line: String = buf.drain(..=pos).collect();
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                let v: Value = serde_json::from_str(data.trim()).unwrap();
                if want(&v) {
                    return v;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("no matching event in time")
            .unwrap()
            .expect("event stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn events_stream_writes_and_deletions() {
    let (store, base) = setup().await;
    let mut resp = reqwest::get(format!("{base}/api/v1/events?pattern=hmip.0.*"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();

    // Not matching the pattern: never delivered; the PUT after it is the next event.
    store
        .set_states(vec![("javascript.0.x".into(), acked(json!(2)))])
        .await
        .unwrap();
    let (s, _) = put(&base, LEVEL, r#"{"val": 10}"#).await;
    assert_eq!(s, 200);
    let ev = next_event(&mut resp, &mut buf, |_| true).await;
    assert_eq!(ev["id"], LEVEL);
    assert_eq!(ev["state"]["val"], 10);
    assert_eq!(ev["state"]["ack"], false);

    store.del_states(&[ON.to_string()]).await.unwrap();
    let ev = next_event(&mut resp, &mut buf, |_| true).await;
    assert_eq!(ev, json!({"id": ON, "state": null}));
}

#[tokio::test]
async fn page_and_unknown_paths() {
    let (_store, base) = setup().await;
    let r = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("EventSource") && html.contains("/api/v1/states"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );

    let (s, err) = get_json(&format!("{base}/api/v2/nothing")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(err["error"].is_string());
}

#[tokio::test]
async fn stats_count_the_stores_writes() {
    let (store, base) = setup().await;
    let (s, v) = get_json(&format!("{base}/api/v1/stats")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"stateWrites": 4, "objectWrites": 7}));
    put(&base, LEVEL, r#"{"val": 50}"#).await;
    store
        .set_objects(vec![object("hmip.0.x", "state", json!({}))])
        .await
        .unwrap();
    let (_, v) = get_json(&format!("{base}/api/v1/stats")).await;
    assert_eq!(v, json!({"stateWrites": 5, "objectWrites": 8}));
}
