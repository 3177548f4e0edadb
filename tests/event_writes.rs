//! What one device event writes, in-process (the adapter's runtime against the embedded
//! store, as `benches/event_path.rs` drives it): nothing for an event that changes
//! nothing, k + 1 states (the k values and the device's `lastStatusUpdate`) for an event
//! that changes k values — for every channel of the fixture that has such values.

use std::collections::BTreeSet;
use std::sync::Arc;

use iobroker_hmip::adapter::{AdapterOptions, Runtime};
use iobroker_hmip::cloud::events::parse_message;
use iobroker_hmip::cloud::{CloudEvent, CurrentState};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::{StateChange, Store, Subscription};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

mod common;

/// Fields whose change writes more than their own state, by design: `unreach` also
/// rewrites the quality of every state of the device (ioBroker's `q` = 0x42 while a device
/// is unreachable), so it is not a "k values" field. The rest map one field to one state.
const FIELDS_WITH_DERIVED_STATES: &[&str] = &["unreach"];

/// The fixture's home loaded into a runtime over an in-memory embedded store, with a
/// subscription that hears every state written after the load.
struct Loaded {
    home: Value,
    runtime: Runtime,
    writes: UnboundedReceiver<StateChange>,
}

async fn load() -> Loaded {
    let home = common::fixture("home.json");
    let state: CurrentState = serde_json::from_value(home.clone()).expect("a home");
    let store = EmbeddedStore::in_memory();
    let dyn_store: Arc<dyn Store> = Arc::new(store);
    let mut runtime = Runtime::new(AdapterOptions::default(), dyn_store.clone())
        .await
        .expect("runtime");
    runtime
        .on_cloud(CloudEvent::Snapshot(Box::new(state)))
        .await;
    let mut writes = dyn_store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: false,
    });
    while writes.try_recv().is_ok() {}
    Loaded {
        home,
        runtime,
        writes,
    }
}

impl Loaded {
    /// Push the device as it stands in `self.home` and return the ids of the states this
    /// wrote. The runtime has handled the event when `on_cloud` returns, and the embedded
    /// store announces a write before `set_states` returns, so everything it wrote is in
    /// the channel by then.
    async fn push(&mut self, device: &str) -> Vec<String> {
        let frame = serde_json::to_vec(&json!({"events": {"0": {
            "pushEventType": "DEVICE_CHANGED",
            "device": self.home["devices"][device],
        }}}))
        .expect("serialisable");
        let (events, _) = parse_message(&frame).expect("a valid frame");
        self.runtime.on_cloud(CloudEvent::Events(events)).await;
        let mut ids = Vec::new();
        while let Ok(w) = self.writes.try_recv() {
            ids.push(w.id);
        }
        ids
    }
}

/// A different value of the same JSON kind.
fn changed(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!(n.as_i64().unwrap_or(0) + 1),
        Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) + 0.25),
        other => other.clone(),
    }
}

/// Every (device, channel, scalar fields) of the fixture where an event can change values.
fn targets(home: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for (id, d) in home["devices"].as_object().expect("devices") {
        for (key, ch) in d["functionalChannels"].as_object().into_iter().flatten() {
            let fields: Vec<String> = ch
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| {
                    (v.is_boolean() || v.is_number())
                        && !matches!(k.as_str(), "index" | "groupIndex")
                        && !FIELDS_WITH_DERIVED_STATES.contains(&k.as_str())
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

#[tokio::test(flavor = "current_thread")]
async fn an_unchanged_event_writes_nothing_for_any_device() {
    let mut l = load().await;
    let devices: Vec<String> = l.home["devices"]
        .as_object()
        .expect("devices")
        .keys()
        .cloned()
        .collect();
    for device in &devices {
        let wrote = l.push(device).await;
        assert!(
            wrote.is_empty(),
            "device {device} pushed unchanged wrote {} states: {:?}",
            wrote.len(),
            &wrote[..wrote.len().min(8)]
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_event_changing_k_values_writes_k_plus_one_states() {
    let mut l = load().await;
    let mut ts = 1_800_000_000_000i64;
    let mut checked = 0;
    for (device, channel, fields) in targets(&l.home) {
        // k = 1 for every field, then all of the channel's fields at once.
        let mut sets: Vec<Vec<String>> = fields.iter().map(|f| vec![f.clone()]).collect();
        if fields.len() > 1 {
            sets.push(fields.clone());
        }
        for set in sets {
            ts += 1;
            let dev = &mut l.home["devices"][&device];
            dev["lastStatusUpdate"] = json!(ts);
            for f in &set {
                let ch = &mut dev["functionalChannels"][&channel];
                ch[f] = changed(&ch[f]);
            }
            let wrote: BTreeSet<String> = {
                let ids = l.push(&device).await;
                let n = ids.len();
                let set_ids: BTreeSet<String> = ids.into_iter().collect();
                assert_eq!(n, set_ids.len(), "a state was written twice by one event");
                set_ids
            };
            // The fixture keys one device by something else than its id ("f").
            let id = l.home["devices"][&device]["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let prefix = format!("hmip.0.devices.{id}");
            let status = format!("{prefix}.info.lastStatusUpdate");
            assert!(
                wrote.contains(&status),
                "{device} ch {channel} {set:?}: lastStatusUpdate not written: {wrote:?}"
            );
            assert_eq!(
                wrote.len(),
                set.len() + 1,
                "{device} ch {channel}: changing {set:?} wrote {wrote:?}"
            );
            // Each of the other k writes is a state of the changed channel.
            let channel_prefix = format!("{prefix}.channels.{channel}.");
            assert!(
                wrote
                    .iter()
                    .filter(|id| **id != status)
                    .all(|id| id.starts_with(&channel_prefix)),
                "{device} ch {channel}: {set:?} wrote outside the channel: {wrote:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} events checked");
}

/// An unreachable device has every state written with quality 0x42 (and back to 0 when it
/// is reachable again), and no other device's: whichever devices flipped before it.
#[tokio::test(flavor = "current_thread")]
async fn a_device_that_becomes_unreachable_has_its_states_requalified_and_no_others() {
    let mut l = load().await;
    let keys: Vec<String> = l.home["devices"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, d)| d["functionalChannels"]["0"]["unreach"].is_boolean())
        .map(|(k, _)| k.clone())
        .take(12)
        .collect();
    assert!(keys.len() >= 10);
    for round in 0..2 {
        for key in &keys {
            let id = l.home["devices"][key]["id"].as_str().unwrap().to_owned();
            let unreachable = round == 0;
            l.home["devices"][key]["functionalChannels"]["0"]["unreach"] = json!(unreachable);
            let frame = serde_json::to_vec(&json!({"events": {"0": {
                "pushEventType": "DEVICE_CHANGED", "device": l.home["devices"][key],
            }}}))
            .unwrap();
            let (events, _) = parse_message(&frame).unwrap();
            l.runtime.on_cloud(CloudEvent::Events(events)).await;
            let mut writes = Vec::new();
            while let Ok(w) = l.writes.try_recv() {
                writes.push(w);
            }
            let prefix = format!("hmip.0.devices.{id}.");
            let unreach_id = format!("{prefix}channels.0.unreach");
            let want_q = if unreachable { 0x42 } else { 0 };
            assert!(writes.len() > 5, "{id}: only {} writes", writes.len());
            for w in &writes {
                assert!(
                    w.id.starts_with(&prefix),
                    "{id}: wrote another device's {}",
                    w.id
                );
                let q = w.state.as_ref().unwrap().q;
                if w.id != unreach_id {
                    assert_eq!(q, want_q, "{}: quality", w.id);
                }
            }
            assert!(writes.iter().any(|w| w.id == unreach_id));
        }
    }
}
