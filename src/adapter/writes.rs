//! The outgoing side: user writes become control calls, coalesced per state.
//!
//! A slider dragged through 40 values within the debounce window sends one call with the
//! last value; calls leave one at a time, so the cloud client's rate limiter sees an
//! orderly queue rather than a burst. A newer write restarts the debounce, but never past
//! [`MAX_DELAY`] after the first write still waiting: a script or slider that writes more
//! often than the debounce still reaches the cloud, with its latest value, at least once a
//! second.

use std::collections::HashMap;
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

/// The longest a write waits for newer ones to the same state: the first write of a run
/// is sent at most this long after it was made (the latest value of the run wins).
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// A call waiting to be sent: the latest for its state, and when it is due.
struct Waiting {
    call: ControlCall,
    /// When the first write of this run was made: the call is due by then + [`MAX_DELAY`].
    first: Instant,
    due: Instant,
}

/// Take in a newer write for `id`: it replaces the waiting call and restarts the debounce,
/// but is due at most [`MAX_DELAY`] after the first write still waiting, or, while the
/// writes keep coming, after the state's previous call (`sent`), so that a steady stream
/// of writes leaves a call at least every [`MAX_DELAY`].
fn coalesce(
    queued: &mut IndexMap<String, Waiting>,
    sent: &HashMap<String, Instant>,
    id: String,
    call: ControlCall,
    debounce: Duration,
) {
    let now = Instant::now();
    let first = queued.get(&id).map_or(now, |w| w.first);
    let most = MAX_DELAY.max(debounce);
    let bound = match sent.get(&id) {
        Some(prev) if *prev + most > first => *prev + most,
        _ => first + most,
    };
    let due = (now + debounce).min(bound);
    queued.insert(id, Waiting { call, first, due });
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
        let mut queued: IndexMap<String, Waiting> = IndexMap::new();
        // state id -> when its last call left (kept for MAX_DELAY).
        let mut sent: HashMap<String, Instant> = HashMap::new();
        loop {
            let next_due = queued.values().map(|w| w.due).min();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some((id, call)) => coalesce(&mut queued, &sent, id, call, debounce),
                    None => break,
                },
                _ = sleep_until_opt(next_due), if next_due.is_some() => {
                    let now = Instant::now();
                    let due: Vec<String> = queued.iter().filter(|(_, w)| w.due <= now).map(|(k, _)| k.clone()).collect();
                    sent.retain(|_, at| now.duration_since(*at) < MAX_DELAY.max(debounce));
                    for id in due {
                        let Some(Waiting { call, .. }) = queued.shift_remove(&id) else { continue };
                        sent.insert(id.clone(), Instant::now());
                        let result = transport.control(&call).await;
                        if res_tx.send(WriteResult { id, call, result }).is_err() {
                            return;
                        }
                        // Take in what arrived meanwhile, so it coalesces before the next send.
                        while let Ok((id, call)) = rx.try_recv() {
                            coalesce(&mut queued, &sent, id, call, debounce);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::{json, Value};
    use tokio::sync::mpsc;

    use crate::cloud::{CloudEvent, CurrentState};

    /// Records when each call arrives (on tokio's clock).
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Instant, ControlCall)>>);

    #[async_trait]
    impl Transport for Recorder {
        async fn current_state(&self) -> Result<CurrentState, CloudError> {
            unreachable!("the write queue never reads the home")
        }
        async fn control(&self, call: &ControlCall) -> Result<Value, CloudError> {
            self.0.lock().unwrap().push((Instant::now(), call.clone()));
            Ok(json!({}))
        }
        async fn run_events(&self, _tx: mpsc::Sender<CloudEvent>) {}
    }

    fn call(level: u32) -> ControlCall {
        ControlCall {
            path: "device/control/setDimLevel".into(),
            body: json!({"deviceId": "d", "channelIndex": 1, "dimLevel": level}),
        }
    }

    /// A script writing a state every 100 ms for 5 s, on tokio's paused clock: each write
    /// restarts the 250 ms debounce, yet calls leave at most a second apart, each with the
    /// latest value written before it, and the last value is the last call.
    #[tokio::test(start_paused = true)]
    async fn writes_faster_than_the_debounce_still_leave_once_a_second() {
        let rec = Arc::new(Recorder::default());
        let (queue, mut results) = spawn(rec.clone(), Duration::from_millis(250));
        let start = Instant::now();
        let mut written = Vec::new();
        for i in 0..50u32 {
            written.push((Instant::now(), i));
            queue.submit("hmip.0.x.dimLevel".into(), call(i));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The last write's call is the marker: everything before it has been sent.
        loop {
            let r = results.recv().await.unwrap();
            if r.call == call(49) {
                break;
            }
        }
        let calls = rec.0.lock().unwrap().clone();
        assert!(calls.len() >= 5, "{} calls in 5 s", calls.len());
        let mut last = start;
        for (at, c) in &calls {
            assert!(*at - last <= MAX_DELAY, "{:?} between calls", *at - last);
            // The latest value written before the call left (a write at the very same
            // instant may or may not be in it: on the paused clock both happen at once).
            let before = written.iter().rev().find(|(t, _)| t < at).unwrap().1;
            let upto = written.iter().rev().find(|(t, _)| t <= at).unwrap().1;
            assert!(
                (before..=upto).any(|v| c == &call(v)),
                "at {:?}: {c:?}",
                *at - start
            );
            last = *at;
        }
        assert_eq!(calls.last().unwrap().1, call(49));
    }

    /// Writes that pause longer than the debounce leave one call per pause, 250 ms after the
    /// last write: the maximum delay changes nothing for a slider let go.
    #[tokio::test(start_paused = true)]
    async fn a_burst_within_the_debounce_is_one_call_after_it() {
        let rec = Arc::new(Recorder::default());
        let (queue, mut results) = spawn(rec.clone(), Duration::from_millis(250));
        let start = Instant::now();
        for i in 0..5u32 {
            queue.submit("hmip.0.x.dimLevel".into(), call(i));
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        let r = results.recv().await.unwrap();
        assert_eq!(r.call, call(4));
        let calls = rec.0.lock().unwrap().clone();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0 - start, Duration::from_millis(160 + 250));
    }
}
