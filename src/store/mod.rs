//! The ioBroker databases behind one trait: objects and states in ioBroker's exact JSON
//! shapes, pattern queries and change notifications.
//!
//! - [`embedded`]: in-process, persisted in a data directory (standalone mode).
//! - [`redis`]: RESP2 to js-controller's databases (its jsonl simulator) or a real Redis.

/// Compact values: the store's form of a state's value (kept crate-wide in [`crate::compact`]).
pub use crate::compact;
pub mod embedded;
pub mod id_slots;
pub mod ids;
pub mod redis;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::iobroker::{IobObject, IobState};

/// A state was written (`Some`) or deleted (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// The full state id.
    pub id: String,
    /// The new state, or None when it was deleted.
    pub state: Option<IobState>,
    /// Not a write just announced but a state found holding `ack: false` when the
    /// subscription was (re)established (see [`Subscription::only_unacked`]): it may have
    /// been handled already, or written while no subscription was listening.
    pub replayed: bool,
}

/// How many writes a store has applied since it was created or opened (what
/// `GET /api/v1/stats` reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// States written (each id of a `set_states` call counts once).
    pub state_writes: u64,
    /// Objects written (each object of a `set_objects` call counts once).
    pub object_writes: u64,
}

/// What a subscriber wants to hear about.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// An ioBroker glob such as `hmip.0.*`.
    pub pattern: String,
    /// Only writes with `ack: false` (user commands), as an adapter listens to its own states.
    ///
    /// Such a subscriber also hears, each time the subscription is established on the
    /// database (at first and after every reconnect), every matching state that holds
    /// `ack: false` at that moment, marked [`StateChange::replayed`]. A command written
    /// while the connection was down (its announcement went to no one) is thus not lost;
    /// the subscriber decides which of them it has not handled yet.
    pub only_unacked: bool,
}

/// What an adapter instance needs of ioBroker's databases beyond objects and states:
/// states that expire (`alive`), and raw pub/sub for the messagebox and log lines.
#[async_trait]
pub trait InstanceBus: Store {
    /// Write a state that disappears after `ttl_secs` unless written again.
    async fn set_state_expiring(
        &self,
        id: &str,
        state: IobState,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
    /// Publish a raw message (`messagebox.<id>`, `log.<id>`).
    async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError>;
    /// Hear raw messages on channels matching the glob: (channel, message).
    fn subscribe_raw(&self, pattern: &str) -> mpsc::UnboundedReceiver<(String, String)>;
    /// The same store as a plain [`Store`]: `Arc<dyn InstanceBus>` to `Arc<dyn Store>`
    /// without trait upcasting, which needs Rust 1.86 (the armv7 build has Debian's 1.85).
    fn into_store(self: Arc<Self>) -> Arc<dyn Store>;
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the data directory or the database connection failed.
    #[error("store I/O error: {0}")]
    Io(String),
    /// Stored data could not be read.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
}

/// A digest of what makes an object the same for a writer: its type and common part.
/// Never 0 (free to mark "no object") or 1 ([`UNCONFIRMED_DIGEST`]). Stable within a
/// process only.
pub fn object_digest(o: &IobObject) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.obj_type.hash(&mut h);
    // serde_json with preserve_order serialises deterministically.
    serde_json::to_string(&o.common)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish().max(2)
}

/// A digest no object has ([`object_digest`] is never 0 or 1): an object whose write the
/// store did not confirm, so that the next write of it is never skipped as unchanged.
pub const UNCONFIRMED_DIGEST: u64 = 1;

/// The ioBroker objects and states databases.
///
/// Writes are batched (one call for many ids) so that a network store can pipeline them.
/// The store writes exactly what it is given: `ts`/`lc` are the writer's (see
/// [`IobState::next`]).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One object.
    async fn get_object(&self, id: &str) -> Result<Option<IobObject>, StoreError>;
    /// Create or replace objects.
    async fn set_objects(&self, objects: Vec<IobObject>) -> Result<(), StoreError>;
    /// Delete objects (missing ids are ignored).
    async fn del_objects(&self, ids: &[String]) -> Result<(), StoreError>;
    /// All objects whose id matches the glob, by id.
    async fn objects(&self, pattern: &str) -> Result<BTreeMap<String, IobObject>, StoreError>;
    /// The [`object_digest`] of each object whose id matches the glob, handed to `each`:
    /// what a writer keeps to skip unchanged objects, without holding every object at once
    /// (a store that can reads them one at a time).
    async fn for_each_object_digest(
        &self,
        pattern: &str,
        each: &mut (dyn FnMut(String, u64) + Send),
    ) -> Result<(), StoreError> {
        for (id, o) in self.objects(pattern).await? {
            let d = object_digest(&o);
            each(id, d);
        }
        Ok(())
    }
    /// [`Store::for_each_object_digest`] collected.
    async fn object_digests(&self, pattern: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        self.for_each_object_digest(pattern, &mut |id, d| out.push((id, d)))
            .await?;
        Ok(out)
    }
    /// Each state whose id matches the glob, handed to `each` as it is read: a store that
    /// can reads them a page at a time rather than all at once.
    async fn for_each_state(
        &self,
        pattern: &str,
        each: &mut (dyn FnMut(String, IobState) + Send),
    ) -> Result<(), StoreError> {
        for (id, st) in self.states(pattern).await? {
            each(id, st);
        }
        Ok(())
    }
    /// One state.
    async fn get_state(&self, id: &str) -> Result<Option<IobState>, StoreError>;
    /// Write states; every write is announced to matching subscribers.
    async fn set_states(&self, states: Vec<(String, IobState)>) -> Result<(), StoreError>;
    /// Delete states (announced as `state: None`).
    async fn del_states(&self, ids: &[String]) -> Result<(), StoreError>;
    /// All states whose id matches the glob, by id.
    async fn states(&self, pattern: &str) -> Result<BTreeMap<String, IobState>, StoreError>;
    /// Hear about state changes matching `sub`, in write order.
    fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange>;
    /// Make everything written so far durable (called on shutdown).
    async fn flush(&self) -> Result<(), StoreError>;
    /// The writes applied so far, for stores that count them (the embedded one).
    fn write_stats(&self) -> Option<WriteStats> {
        None
    }
    /// The store's table of interned ids, for a store that keeps one (the embedded one):
    /// the runtime's mirror then interns into the same table, so each id is held once.
    fn ids(&self) -> Option<Arc<ids::IdTable>> {
        None
    }
}
