//! Which connections are down, and the log lines of an outage.
//!
//! Three connections make up the store (states commands, states pub/sub, objects
//! commands); a js-controller restart takes all of them away at once. Each reports here,
//! so an outage is logged once when the first connection drops (warn) and once when the
//! last one is back (info), however many connections and retries it took.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

#[derive(Default)]
struct State {
    down: BTreeSet<&'static str>,
    since: Option<Instant>,
}

/// The up/down bookkeeping shared by the connection tasks.
#[derive(Default)]
pub struct Health {
    state: Mutex<State>,
}

impl Health {
    /// Are all connections up?
    pub fn all_up(&self) -> bool {
        self.lock().down.is_empty()
    }

    /// `conn` (e.g. `states`) is down because of `why`; `addr` is `host:port`.
    pub fn down(&self, conn: &'static str, addr: &str, why: &str) {
        let mut s = self.lock();
        let first = s.down.is_empty();
        if s.down.insert(conn) && first {
            s.since = Some(Instant::now());
            tracing::warn!(
                "ioBroker {conn} database at {addr} is unreachable ({why}); \
                 writes are queued and sent when it is back"
            );
        } else {
            tracing::debug!("ioBroker {conn} database at {addr}: {why}");
        }
    }

    /// `conn` is up again.
    pub fn up(&self, conn: &'static str) {
        let mut s = self.lock();
        if s.down.remove(conn) && s.down.is_empty() {
            if let Some(since) = s.since.take() {
                tracing::info!(
                    "ioBroker databases are reachable again after {:.1} s; subscriptions renewed",
                    since.elapsed().as_secs_f64()
                );
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
