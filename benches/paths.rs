//! Criterion benchmarks of the in-process paths, on the fixture (150 devices):
//! parsing a device report, the runtime applying it (parse → changed states stored),
//! building the whole tree, and a state write becoming its control call.
//!
//! ```text
//! cargo bench --bench paths                 # full criterion runs
//! cargo bench --bench paths -- --quick      # shorter
//! ```
//! The event path's latency percentiles, throughput and heap, over homes of 150, 1,000
//! and 5,000 devices, come from `cargo bench --bench event_path`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use iobroker_hmip::adapter::{AdapterOptions, Runtime};
use iobroker_hmip::cloud::events::parse_message;
use iobroker_hmip::cloud::{CloudEvent, CurrentState};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::Store;
use iobroker_hmip::tree;
use serde_json::{json, Value};

fn fixture() -> Value {
    serde_json::from_str(include_str!("../tests/fixtures/home.json")).expect("fixture")
}

/// A switch actuator's report with `on` set to `on`: the most common device event.
fn switch_report(home: &Value, on: bool) -> (String, Vec<u8>) {
    let (id, dev) = home["devices"]
        .as_object()
        .expect("devices")
        .iter()
        .find(|(_, d)| {
            d["functionalChannels"].as_object().is_some_and(|chs| {
                chs.values()
                    .any(|c| c["functionalChannelType"] == "SWITCH_CHANNEL")
            })
        })
        .expect("a switch in the fixture");
    let mut dev = dev.clone();
    let key = dev["functionalChannels"]
        .as_object()
        .expect("channels")
        .iter()
        .find(|(_, c)| c["functionalChannelType"] == "SWITCH_CHANNEL")
        .map(|(k, _)| k.clone())
        .expect("switch channel");
    dev["functionalChannels"][&key]["on"] = json!(on);
    let frame = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": dev}}});
    (
        format!("hmip.0.devices.{id}.channels.{key}.on"),
        serde_json::to_vec(&frame).expect("frame"),
    )
}

fn benches(c: &mut Criterion) {
    let home = fixture();
    let state: CurrentState = serde_json::from_value(home.clone()).expect("model");
    let (switch_id, frame_on) = switch_report(&home, true);
    let (_, frame_off) = switch_report(&home, false);

    c.bench_function("parse a DEVICE_CHANGED frame", |b| {
        b.iter(|| parse_message(&frame_on).expect("frame"))
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory());
    let mut runtime = rt
        .block_on(Runtime::new(AdapterOptions::default(), store))
        .expect("runtime");
    rt.block_on(runtime.on_cloud(CloudEvent::Snapshot(Box::new(state.clone()))));
    let mut on = false;
    c.bench_function("event path: frame in, changed states stored", |b| {
        b.iter(|| {
            on = !on;
            let frame = if on { &frame_on } else { &frame_off };
            let (events, _) = parse_message(frame).expect("frame");
            rt.block_on(runtime.on_cloud(CloudEvent::Events(events)));
        })
    });

    c.bench_function("tree of the fixture (15k objects)", |b| {
        b.iter(|| tree::snapshot("hmip.0", &state))
    });

    c.bench_function("write path: state write to control call", |b| {
        b.iter(|| {
            tree::write_to_call("hmip.0", &state, &switch_id, &json!(true), &|_| None)
                .expect("a writable state")
        })
    });
}

criterion_group! {
    name = paths;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(paths);
