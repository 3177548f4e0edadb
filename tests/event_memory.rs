//! A long run of device events must not grow the process: 100,000 `DEVICE_CHANGED`
//! events, each changing a value, leave the live heap (counted by the allocator) where a
//! warm-up left it. Whatever an event allocates must be freed or replaced in place; a
//! per-event leak of even one small string would show as megabytes here.
//!
//! One test in this file: the counter is process-wide, so nothing may run beside it.

use std::sync::Arc;

use iobroker_hmip::adapter::{AdapterOptions, Runtime};
use iobroker_hmip::cloud::events::parse_message;
use iobroker_hmip::cloud::{CloudEvent, CurrentState};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::Store;
use serde_json::{json, Value};

mod common;

use common::counting::live;

#[global_allocator]
static GLOBAL: common::counting::Counting = common::counting::Counting;

const WARM_UP: usize = 5_000;
const EVENTS: usize = 100_000;
/// What the heap may differ by after the run: tables that happen to grow once more, not
/// a per-event cost (one leaked 24-byte allocation per event would be 2.4 MB).
const SLACK: isize = 64 * 1024;

/// The frame for `device` as it stands in `home`.
fn frame(home: &Value, device: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"events": {"0": {
        "pushEventType": "DEVICE_CHANGED",
        "device": home["devices"][device],
    }}}))
    .expect("serialisable")
}

#[test]
fn a_hundred_thousand_events_do_not_grow_the_heap() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut home = common::fixture("home.json");
    let state: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let store = EmbeddedStore::in_memory();
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    let mut runtime = rt
        .block_on(Runtime::new(AdapterOptions::default(), dyn_store))
        .unwrap();
    rt.block_on(runtime.on_cloud(CloudEvent::Snapshot(Box::new(state))));

    // The values events change: every numeric and boolean field of every channel but the
    // ones that flip a device's reachability (those rewrite qualities, also fine, but
    // they make the run slower without covering anything more).
    let mut targets = Vec::new();
    for (key, d) in home["devices"].as_object().unwrap() {
        for (ch, c) in d["functionalChannels"].as_object().into_iter().flatten() {
            for (f, v) in c.as_object().into_iter().flatten() {
                if (v.is_boolean() || v.is_f64()) && f != "unreach" {
                    targets.push((key.clone(), ch.clone(), f.clone()));
                }
            }
        }
    }
    assert!(targets.len() > 100);

    let writes_before = store.write_count();
    let mut ts = 1_800_000_000_000i64;
    let mut measured_from = 0;
    for i in 0..WARM_UP + EVENTS {
        if i == WARM_UP {
            measured_from = live();
        }
        // Deterministic: the events walk the targets in a fixed stride.
        let (key, ch, f) = &targets[(i * 7919) % targets.len()];
        ts += 1;
        let dev = &mut home["devices"][key];
        dev["lastStatusUpdate"] = json!(ts);
        let v = &mut dev["functionalChannels"][ch][f];
        *v = match &*v {
            Value::Bool(b) => json!(!b),
            other => json!(other.as_f64().unwrap_or(0.0) + 0.5),
        };
        let bytes = frame(&home, key);
        let (events, _) = parse_message(&bytes).expect("a valid frame");
        rt.block_on(runtime.on_cloud(CloudEvent::Events(events)));
    }
    let grown = live() - measured_from;
    let writes = store.write_count() - writes_before;
    println!(
        "{EVENTS} events after {WARM_UP} of warm-up: live heap {:+} bytes; {writes} state writes",
        grown
    );
    // The events did change states (else this would measure nothing).
    assert!(writes >= 2 * (WARM_UP + EVENTS) as u64, "{writes} writes");
    assert!(
        grown.abs() <= SLACK,
        "the live heap changed by {grown} bytes over {EVENTS} events (slack {SLACK})"
    );
    drop(runtime);
}
