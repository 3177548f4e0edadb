//! The memory a home costs the process, counted by the allocator: the embedded store (on
//! a data directory, as standalone mode runs it) and the runtime's mirror must hold the
//! tree once, compactly — ids interned once and shared, values compact, objects on disk.
//! Three copies keyed by full id strings (what this replaced) took about 120 KB per device;
//! a regression towards that fails here.
//!
//! One test in this file: the counter is process-wide, so nothing may run beside it.

use std::sync::Arc;

use iobroker_hmip::adapter::{AdapterOptions, Runtime};
use iobroker_hmip::cloud::{CloudEvent, CurrentState};
use iobroker_hmip::sim::synth::synthetic_home;
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::Store;

mod common;

use common::counting::live;

#[global_allocator]
static GLOBAL: common::counting::Counting = common::counting::Counting;

/// Bytes per device that the store and the mirror may hold for a synthetic home (about
/// 128 objects and 105 states per device). Measured: about 20 KB; three copies keyed by
/// full ids, objects as text, took about 120 KB.
const BOUND_PER_DEVICE: isize = 26 * 1024;

#[test]
fn store_and_mirror_hold_a_home_once() {
    const DEVICES: usize = 300;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/home.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let home = synthetic_home(&fixture, DEVICES, 1);
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    let input = serde_json::to_vec(&home).unwrap();

    let start = live();
    let state: CurrentState = serde_json::from_slice(&input).unwrap();
    let model = live() - start;
    let mut runtime = rt
        .block_on(Runtime::new(AdapterOptions::default(), dyn_store))
        .unwrap();
    rt.block_on(runtime.on_cloud(CloudEvent::Snapshot(Box::new(state))));
    rt.block_on(store.flush()).unwrap();
    let total = live() - start;
    let held = total - model;

    let s = store.memory();
    let m = runtime.mirror_memory();
    let per = |b: usize| b as f64 / DEVICES as f64;
    println!(
        "{DEVICES} devices: model {:.0} B/device; store + mirror {:.0} B/device \
         ({} ids {:.0}, {} states in the store {:.0}, {} object index entries {:.0}, \
         {} mirrored states {:.0}, {} object hashes {:.0}, {} shared strings {:.0}; \
         objects file {:.0} B/device)",
        per(model as usize),
        per(held as usize),
        s.ids,
        per(s.id_bytes),
        s.states,
        per(s.state_bytes),
        s.objects,
        per(s.object_bytes),
        m.states,
        per(m.state_bytes),
        m.objects,
        per(m.object_bytes),
        s.strings,
        per(s.string_bytes),
        s.objects_file_bytes as f64 / DEVICES as f64,
    );
    // The whole tree is there, once: every state mirrored, every object hashed.
    assert!(s.objects > DEVICES * 50, "{s:?}");
    assert_eq!(m.states, s.states);
    assert_eq!(m.objects, s.objects);
    assert!(
        held <= BOUND_PER_DEVICE * DEVICES as isize,
        "the store and the mirror hold {held} bytes for {DEVICES} devices ({} per device; bound {BOUND_PER_DEVICE})",
        held / DEVICES as isize
    );
    drop(runtime);
}
