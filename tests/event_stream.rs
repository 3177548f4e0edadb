//! An event-stream client that stops reading (half-open, stalled) must not grow the
//! process: its changes wait in a bounded queue, and once it is `web::EVENT_BUFFER`
//! changes behind its subscription is dropped.
//!
//! One test in this file: the heap counter is process-wide, so nothing may run beside it.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iobroker_hmip::iobroker::IobState;
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::Store;
use iobroker_hmip::web;
use serde_json::json;

mod common;

use common::counting::live;

#[global_allocator]
static GLOBAL: common::counting::Counting = common::counting::Counting;

/// Changes written while the client is stalled: about 100 MB if they were all kept.
const CHANGES: usize = 200_000;
/// What the stalled client may cost at most: its bounded queue (EVENT_BUFFER changes of
/// about 600 bytes here) and the connection's buffers, with room to spare.
const BOUND: isize = 32 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_event_stream_client_is_bounded_and_dropped() {
    let store = Arc::new(EmbeddedStore::in_memory());
    let dyn_store: Arc<dyn Store> = store.clone();
    let (addr, _server) = web::serve(dyn_store, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // A client that asks for the stream and never reads a byte of it.
    let mut stalled = TcpStream::connect(addr).unwrap();
    write!(
        stalled,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.subscriber_count() == 0 {
        assert!(Instant::now() < deadline, "the stream never subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = live();

    let text = "x".repeat(500);
    for batch in 0..CHANGES / 1000 {
        let writes = (0..1000)
            .map(|i| {
                let st = IobState::next(None, json!(format!("{text}{batch}")), true, "t", 0, 1);
                (format!("hmip.0.s{i}"), st)
            })
            .collect();
        store.set_states(writes).await.unwrap();
        tokio::task::yield_now().await;
    }
    // The marker: the store dropped the stalled client's subscription.
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.subscriber_count() != 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled client is still subscribed; the heap grew by {} MB",
            (live() - before) >> 20
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let grown = live() - before;
    println!(
        "a stalled client behind {CHANGES} changes: the heap grew by {:.1} MB",
        grown as f64 / (1 << 20) as f64
    );
    assert!(grown < BOUND, "the heap grew by {} MB", grown >> 20);
    drop(stalled);
}
