//! The event path in-process: a `DEVICE_CHANGED` websocket frame in → its changed states
//! stored. Drives the adapter's own [`Runtime`] on one thread (a current-thread tokio
//! runtime) against the embedded store, and prints per-event latency percentiles,
//! throughput and database writes per event, for homes of 150 (the fixture), 1,000 and
//! 5,000 devices.
//!
//! ```text
//! cargo bench --bench event_path                      # 150,1000,5000 devices, 100,000 events
//! cargo bench --bench event_path -- --devices 150 --events 20000
//! cargo bench --bench event_path -- --smoke           # seconds; what CI runs
//! ```
//!
//! Each event changes `k` scalar fields of one channel (`--changes k`, default 1) and the
//! device's `lastStatusUpdate`, like a real device report; building the frame is not
//! timed, parsing it is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iobroker_hmip::adapter::{AdapterOptions, Runtime};
use iobroker_hmip::cloud::events::parse_message;
use iobroker_hmip::cloud::{CloudEvent, CurrentState};
use iobroker_hmip::sim::synth::SplitMix64 as Rng;
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::Store;
use serde_json::{json, Value};

/// The system allocator, as the binary uses it, counting the bytes allocated and not yet
/// freed (the live heap, which RSS only bounds from above).
#[global_allocator]
static ALLOCATOR: Counting = Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

fn live_mib() -> f64 {
    LIVE.load(Relaxed) as f64 / (1024.0 * 1024.0)
}

struct Args {
    devices: Vec<usize>,
    events: usize,
    changes: usize,
}

fn args() -> Args {
    let mut a = Args {
        devices: vec![150, 1000, 5000],
        events: 100_000,
        changes: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => {
                a.devices = vec![150];
                a.events = 2_000;
            }
            "--devices" => {
                a.devices = it
                    .next()
                    .expect("--devices 150,1000")
                    .split(',')
                    .map(|n| n.trim().parse().expect("--devices: numbers"))
                    .collect()
            }
            "--events" => a.events = it.next().and_then(|n| n.parse().ok()).expect("--events N"),
            "--changes" => a.changes = it.next().and_then(|n| n.parse().ok()).expect("--changes K"),
            // cargo bench passes --bench; criterion-style filters are ignored.
            _ => {}
        }
    }
    a
}

/// The home of `devices` devices: the fixture itself for 150, else a synthetic home
/// generated from it (seed 1).
fn home(devices: usize) -> Value {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/home.json"
        ))
        .expect("tests/fixtures/home.json"),
    )
    .expect("fixture is JSON");
    if devices == 150 {
        fixture
    } else {
        iobroker_hmip::sim::synth::synthetic_home(&fixture, devices, 1)
    }
}

/// Where an event can change a value: (device id, channel key, scalar fields).
fn targets(home: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for (id, d) in home["devices"].as_object().expect("devices") {
        for (key, ch) in d["functionalChannels"].as_object().into_iter().flatten() {
            let fields: Vec<String> = ch
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| {
                    (v.is_boolean() || v.is_f64())
                        && !matches!(k.as_str(), "index" | "groupIndex" | "label")
                })
                .map(|(k, _)| k.clone())
                .collect();
            if !fields.is_empty() {
                out.push((id.clone(), key.clone(), fields));
            }
        }
    }
    out
}

/// Change `k` fields of the target (bools flip, numbers move), bump the timestamp, and
/// return the frame the cloud would send.
fn next_frame(
    home: &mut Value,
    t: &(String, String, Vec<String>),
    k: usize,
    rng: &mut Rng,
    ts: i64,
) -> Vec<u8> {
    let dev = &mut home["devices"][&t.0];
    dev["lastStatusUpdate"] = json!(ts);
    let ch = &mut dev["functionalChannels"][&t.1];
    for i in 0..k.min(t.2.len()) {
        let field = &t.2[(rng.below(t.2.len()) + i) % t.2.len()];
        let v = &mut ch[field];
        let new = match &*v {
            Value::Bool(b) => Value::Bool(!*b),
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                json!(if x >= 0.5 { x - 0.25 } else { x + 0.25 })
            }
            other => other.clone(),
        };
        *v = new;
    }
    let frame = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": dev}}});
    serde_json::to_vec(&frame).expect("serialisable")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // As the binary does at start.
    iobroker_hmip::adapter::tune_allocator();
    let args = args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("| devices | events | p50 µs | p99 µs | p99.9 µs | max µs | events/s (one core) | writes/event | writes of an unchanged event |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut heap = Vec::new();
    for &n in &args.devices {
        let mut home = home(n);
        // Allocated first, so that the heap figures leave it out.
        let mut lat = Vec::with_capacity(args.events);
        let live_before = live_mib();
        let state: CurrentState = serde_json::from_value(home.clone()).expect("a home");
        let model_mib = live_mib() - live_before;
        let store = EmbeddedStore::in_memory();
        let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
        let mut runtime = rt
            .block_on(Runtime::new(AdapterOptions::default(), dyn_store))
            .expect("runtime");
        rt.block_on(runtime.on_cloud(CloudEvent::Snapshot(Box::new(state))));
        let loaded_mib = live_mib() - live_before;
        let targets = targets(&home);
        let mut rng = Rng::new(1);
        let writes_before = store.write_count();
        let mut ts = 1_700_000_000_000i64;
        for _ in 0..args.events {
            let t = &targets[rng.below(targets.len())];
            ts += 1;
            let frame = next_frame(&mut home, t, args.changes, &mut rng, ts);
            let start = Instant::now();
            let (events, _) = parse_message(&frame).expect("a valid frame");
            rt.block_on(runtime.on_cloud(CloudEvent::Events(events)));
            lat.push(start.elapsed());
        }
        let writes = store.write_count() - writes_before;
        // The same device again, unchanged: must write nothing.
        let t = &targets[0];
        let dev = &home["devices"][&t.0];
        let same = serde_json::to_vec(
            &json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": dev}}}),
        )
        .expect("serialisable");
        let before = store.write_count();
        let (events, _) = parse_message(&same).expect("a valid frame");
        rt.block_on(runtime.on_cloud(CloudEvent::Events(events)));
        let unchanged = store.write_count() - before;

        let after_mib = live_mib() - live_before;
        heap.push(format!(
            "| {n} | {model_mib:.1} | {:.1} | {loaded_mib:.1} | {after_mib:.1} |",
            loaded_mib - model_mib
        ));
        let total: Duration = lat.iter().sum();
        lat.sort();
        let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
        println!(
            "| {n} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {unchanged} |",
            args.events,
            us(percentile(&lat, 0.5)),
            us(percentile(&lat, 0.99)),
            us(percentile(&lat, 0.999)),
            us(*lat.last().expect("events")),
            args.events as f64 / total.as_secs_f64(),
            writes as f64 / args.events as f64,
        );
    }
    println!();
    println!("| devices | heap: model MiB | heap: store + mirror MiB | heap after start MiB | heap after the events MiB |");
    println!("|---:|---:|---:|---:|---:|");
    for line in heap {
        println!("{line}");
    }
}
