//! The outgoing side: user writes become control calls, coalesced per state.
//!
//! A slider dragged through 40 values within the debounce window sends one call with the
//! last value; calls leave one at a time, so the cloud client's rate limiter sees an
//! orderly queue rather than a burst.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cloud::{CloudError, ControlCall, Transport};

/// The outcome of one control call, for the state it came from.
#[derive(Debug)]
pub struct WriteResult {
    /// The state id the user wrote.
    pub id: String,
    /// The call that was sent.
    pub call: ControlCall,
    /// The cloud's answer (a JSON body, `{}` for most calls), or why it refused the call.
    pub result: Result<serde_json::Value, CloudError>,
}

/// Submit coalesced control calls.
#[derive(Clone)]
pub struct WriteQueue {
    tx: mpsc::UnboundedSender<(String, ControlCall)>,
}

impl WriteQueue {
    /// Queue `call` for state `id`, replacing a call for the same state not yet sent.
    pub fn submit(&self, id: String, call: ControlCall) {
        // The receiver lives as long as the adapter; a send error means it is stopping.
        let _ = self.tx.send((id, call));
    }
}

/// Start the sender task. Results arrive on the returned receiver.
pub fn spawn(
    transport: Arc<dyn Transport>,
    debounce: Duration,
) -> (WriteQueue, mpsc::UnboundedReceiver<WriteResult>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, ControlCall)>();
    let (res_tx, res_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // state id -> (latest call, when it is due)
        let mut queued: IndexMap<String, (ControlCall, Instant)> = IndexMap::new();
        loop {
            let next_due = queued.values().map(|(_, due)| *due).min();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some((id, call)) => {
                        // A newer value replaces the older one and restarts its debounce.
                        queued.insert(id, (call, Instant::now() + debounce));
                    }
                    None => break,
                },
                _ = sleep_until_opt(next_due), if next_due.is_some() => {
                    let now = Instant::now();
                    let due: Vec<String> = queued.iter().filter(|(_, (_, d))| *d <= now).map(|(k, _)| k.clone()).collect();
                    for id in due {
                        let Some((call, _)) = queued.shift_remove(&id) else { continue };
                        let result = transport.control(&call).await;
                        if res_tx.send(WriteResult { id, call, result }).is_err() {
                            return;
                        }
                        // Take in what arrived meanwhile, so it coalesces before the next send.
                        while let Ok((id, call)) = rx.try_recv() {
                            queued.insert(id, (call, Instant::now() + debounce));
                        }
                    }
                }
            }
        }
    });
    (WriteQueue { tx }, res_rx)
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
