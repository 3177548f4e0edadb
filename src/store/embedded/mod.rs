//! The in-process store of standalone mode: objects and states in memory, change
//! notifications to subscribers, and persistence to `objects.json` / `states.json` in a
//! data directory.
//!
//! Writes only touch memory and flip a dirty flag; a background thread writes the files
//! atomically (temp file + rename) shortly after (debounced, [`PERSIST_DELAY`]) and on
//! [`Store::flush`], so the write path never waits for the disk.

mod persist;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{
    mpsc as std_mpsc, Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use serde_json::value::RawValue;

use super::{StateChange, Store, StoreError, Subscription};
use crate::iobroker::{pattern_matches, IobObject, IobState};

/// How long after the first unsaved change the files are written: bursts of writes end up
/// in one file write, and at most about this much is lost on a crash.
pub const PERSIST_DELAY: Duration = Duration::from_millis(500);

/// The same for states alone. Longer, because rewriting every state's value is what a
/// stream of events costs the disk and the CPU (the whole file each time), while a value
/// lost on a crash comes back with the cloud's snapshot after the restart anyway.
pub const STATES_PERSIST_DELAY: Duration = Duration::from_secs(5);

/// File name of the objects database in the data directory.
pub const OBJECTS_FILE: &str = "objects.json";
/// File name of the states database in the data directory.
pub const STATES_FILE: &str = "states.json";

/// The in-process ioBroker store. Cheap to share behind an `Arc<dyn Store>`.
///
/// Dropping it asks the background writer to save what is unsaved and stop; call
/// [`Store::flush`] first when you need to know that it is on disk.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// A raw pub/sub subscriber: its pattern and where (channel, message) pairs go.
type RawSubscriber = (String, mpsc::UnboundedSender<(String, String)>);

struct Inner {
    // BTreeMaps so that a pattern's literal prefix becomes a range scan. Objects are kept
    // as their JSON text: a parsed object took ten times the memory, and objects are read
    // rarely (a client's query, a restart) but kept for the adapter's life.
    objects: RwLock<BTreeMap<String, Box<RawValue>>>,
    states: RwLock<BTreeMap<String, IobState>>,
    subscribers: Mutex<Vec<Subscriber>>,
    /// Raw pub/sub (messagebox, logs): (pattern, sender).
    raw_subscribers: Mutex<Vec<RawSubscriber>>,
    write_count: AtomicU64,
    object_write_count: AtomicU64,
    /// None for an in-memory store.
    disk: Option<Disk>,
}

struct Disk {
    dir: PathBuf,
    dirty_objects: AtomicBool,
    dirty_states: AtomicBool,
    /// Wakes the background writer; Mutex because `Sender` must be shared by writers.
    wake: Mutex<std_mpsc::Sender<Wake>>,
    /// Held for snapshot + write, so a flush never returns while an older snapshot taken
    /// before it is still being written.
    save_lock: Mutex<()>,
}

enum Wake {
    Dirty,
    Shutdown,
}

struct Subscriber {
    sub: Subscription,
    tx: mpsc::UnboundedSender<StateChange>,
}

impl EmbeddedStore {
    /// A store without persistence (tests, demos).
    pub fn in_memory() -> EmbeddedStore {
        EmbeddedStore {
            inner: Arc::new(Inner::new(BTreeMap::new(), BTreeMap::new(), None)),
        }
    }

    /// Open (or create) the store in `data_dir`, loading `objects.json` and `states.json`.
    ///
    /// A file that cannot be parsed is renamed to `<name>.corrupt-<ms>` with a warning and
    /// that part of the store starts empty; an unreadable directory is an error.
    pub fn open(data_dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Io(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let objects = persist::load::<Box<RawValue>>(&data_dir.join(OBJECTS_FILE))?;
        let states = persist::load(&data_dir.join(STATES_FILE))?;
        tracing::info!(
            dir = %data_dir.display(),
            objects = objects.len(),
            states = states.len(),
            "embedded store opened"
        );
        let (tx, rx) = std_mpsc::channel();
        let disk = Disk {
            dir: data_dir.to_path_buf(),
            dirty_objects: AtomicBool::new(false),
            dirty_states: AtomicBool::new(false),
            wake: Mutex::new(tx),
            save_lock: Mutex::new(()),
        };
        let inner = Arc::new(Inner::new(objects, states, Some(disk)));
        let worker = Arc::clone(&inner);
        // A plain thread, not a tokio task: opening works outside a runtime and file I/O
        // never occupies a runtime worker.
        std::thread::Builder::new()
            .name("store-persist".into())
            .spawn(move || worker.persist_loop(rx))
            .map_err(|e| StoreError::Io(format!("cannot start the persistence thread: {e}")))?;
        Ok(EmbeddedStore { inner })
    }

    /// Number of state writes applied since this store was created or opened.
    pub fn write_count(&self) -> u64 {
        self.inner.write_count.load(Ordering::Relaxed)
    }

    /// Number of objects written since this store was created or opened.
    pub fn object_write_count(&self) -> u64 {
        self.inner.object_write_count.load(Ordering::Relaxed)
    }

    /// Number of live subscriptions (those whose receiver was dropped are pruned on the
    /// next notification or subscription).
    pub fn subscriber_count(&self) -> usize {
        let mut subs = lock(&self.inner.subscribers);
        subs.retain(|s| !s.tx.is_closed());
        subs.len()
    }
}

// On Inner, so that the last handle (clones included) asks for the final save.
impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(disk) = &self.disk {
            let _ = lock(&disk.wake).send(Wake::Shutdown);
        }
    }
}

impl Inner {
    fn new(
        objects: BTreeMap<String, Box<RawValue>>,
        states: BTreeMap<String, IobState>,
        disk: Option<Disk>,
    ) -> Inner {
        Inner {
            objects: RwLock::new(objects),
            states: RwLock::new(states),
            subscribers: Mutex::new(Vec::new()),
            raw_subscribers: Mutex::new(Vec::new()),
            write_count: AtomicU64::new(0),
            object_write_count: AtomicU64::new(0),
            disk,
        }
    }

    fn mark_dirty(&self, states: bool) {
        let Some(disk) = &self.disk else { return };
        let flag = if states {
            &disk.dirty_states
        } else {
            &disk.dirty_objects
        };
        // Only the first change after a save wakes the writer: bursts cost one message.
        if !flag.swap(true, Ordering::AcqRel) {
            let _ = lock(&disk.wake).send(Wake::Dirty);
        }
    }

    /// Called with the states write lock held, so every subscriber sees writes in the
    /// order they were applied.
    fn notify(&self, subs: &mut Vec<Subscriber>, id: &str, state: Option<&IobState>) {
        if subs.is_empty() {
            return;
        }
        let mut closed = false;
        for s in subs.iter() {
            if s.sub.only_unacked && state.is_some_and(|st| st.ack) {
                continue;
            }
            if !pattern_matches(&s.sub.pattern, id) {
                continue;
            }
            let change = StateChange {
                id: id.to_string(),
                state: state.cloned(),
                replayed: false,
            };
            closed |= s.tx.send(change).is_err();
        }
        if closed {
            subs.retain(|s| !s.tx.is_closed());
        }
    }

    fn persist_loop(self: Arc<Self>, rx: std_mpsc::Receiver<Wake>) {
        loop {
            match rx.recv() {
                Ok(Wake::Dirty) => {
                    // Let the burst finish; a shutdown during the wait saves at once.
                    let delay = if self
                        .disk
                        .as_ref()
                        .is_some_and(|d| d.dirty_objects.load(Ordering::Acquire))
                    {
                        PERSIST_DELAY
                    } else {
                        STATES_PERSIST_DELAY
                    };
                    let mut deadline = std::time::Instant::now() + delay;
                    let mut shutdown = false;
                    while let Some(left) =
                        deadline.checked_duration_since(std::time::Instant::now())
                    {
                        match rx.recv_timeout(left) {
                            // Objects changed meanwhile: they wait no longer than their delay.
                            Ok(Wake::Dirty) if delay > PERSIST_DELAY => {
                                let sooner = std::time::Instant::now() + PERSIST_DELAY;
                                if sooner < deadline {
                                    deadline = sooner;
                                }
                            }
                            Ok(Wake::Dirty) => continue,
                            Ok(Wake::Shutdown) | Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                                shutdown = true;
                                break;
                            }
                            Err(std_mpsc::RecvTimeoutError::Timeout) => break,
                        }
                    }
                    if let Err(e) = self.save() {
                        tracing::warn!(
                            "embedded store: saving failed, will retry on the next change: {e}"
                        );
                    }
                    if shutdown {
                        return;
                    }
                }
                Ok(Wake::Shutdown) | Err(_) => {
                    if let Err(e) = self.save() {
                        tracing::warn!("embedded store: saving on shutdown failed: {e}");
                    }
                    return;
                }
            }
        }
    }

    /// Write whatever is dirty. Blocking; runs on the persistence thread or in
    /// `spawn_blocking`.
    fn save(&self) -> Result<(), StoreError> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        let _guard = lock(&disk.save_lock);
        // Serialised under the read lock into one buffer (objects are JSON text already:
        // a copy), written without it: no clone of the maps.
        if disk.dirty_objects.swap(false, Ordering::AcqRel) {
            let text = persist::serialise(&*read(&self.objects));
            if let Err(e) = text.and_then(|t| persist::save(&disk.dir.join(OBJECTS_FILE), &t)) {
                disk.dirty_objects.store(true, Ordering::Release);
                return Err(e);
            }
        }
        if disk.dirty_states.swap(false, Ordering::AcqRel) {
            let text = persist::serialise(&*read(&self.states));
            if let Err(e) = text.and_then(|t| persist::save(&disk.dir.join(STATES_FILE), &t)) {
                disk.dirty_states.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Entries of `map` whose key matches `pattern`, scanning only the range of the pattern's
/// literal prefix.
fn matching<T: Clone>(map: &BTreeMap<String, T>, pattern: &str) -> BTreeMap<String, T> {
    matching_as(map, pattern, |v| Some(v.clone()))
}

/// [`matching`], converting each value (`None` leaves the entry out).
fn matching_as<T, U>(
    map: &BTreeMap<String, T>,
    pattern: &str,
    convert: impl Fn(&T) -> Option<U>,
) -> BTreeMap<String, U> {
    let prefix = pattern.split('*').next().unwrap_or("");
    if prefix.len() == pattern.len() {
        // No wildcard: an exact id.
        return map
            .get_key_value(pattern)
            .and_then(|(k, v)| Some((k.clone(), convert(v)?)))
            .into_iter()
            .collect();
    }
    map.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(k, _)| pattern_matches(pattern, k))
        .filter_map(|(k, v)| Some((k.clone(), convert(v)?)))
        .collect()
}

/// An object from its stored text. The store wrote the text itself, so a failure is a
/// bug: logged, and the object left out rather than a panic.
fn parse_object(raw: &RawValue) -> Option<IobObject> {
    serde_json::from_str(raw.get())
        .map_err(|e| tracing::error!("embedded store: a stored object does not parse: {e}"))
        .ok()
}

// A panic while holding a lock leaves plain data behind, still usable: ignore poisoning.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get_object(&self, id: &str) -> Result<Option<IobObject>, StoreError> {
        Ok(read(&self.inner.objects)
            .get(id)
            .and_then(|raw| parse_object(raw)))
    }

    async fn set_objects(&self, objects: Vec<IobObject>) -> Result<(), StoreError> {
        if objects.is_empty() {
            return Ok(());
        }
        self.inner
            .object_write_count
            .fetch_add(objects.len() as u64, Ordering::Relaxed);
        // Serialised before the lock is taken.
        let mut texts = Vec::with_capacity(objects.len());
        for obj in objects {
            let text = serde_json::value::to_raw_value(&obj)
                .map_err(|e| StoreError::Io(format!("cannot serialise {}: {e}", obj.id)))?;
            texts.push((obj.id, text));
        }
        {
            let mut map = write(&self.inner.objects);
            for (id, text) in texts {
                map.insert(id, text);
            }
        }
        self.inner.mark_dirty(false);
        Ok(())
    }

    async fn del_objects(&self, ids: &[String]) -> Result<(), StoreError> {
        let removed = {
            let mut map = write(&self.inner.objects);
            ids.iter()
                .filter(|id| map.remove(id.as_str()).is_some())
                .count()
        };
        if removed > 0 {
            self.inner.mark_dirty(false);
        }
        Ok(())
    }

    async fn objects(&self, pattern: &str) -> Result<BTreeMap<String, IobObject>, StoreError> {
        Ok(matching_as(&read(&self.inner.objects), pattern, |raw| {
            parse_object(raw)
        }))
    }

    async fn get_state(&self, id: &str) -> Result<Option<IobState>, StoreError> {
        Ok(read(&self.inner.states).get(id).cloned())
    }

    async fn set_states(&self, states: Vec<(String, IobState)>) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        let n = states.len() as u64;
        {
            let mut map = write(&self.inner.states);
            let mut subs = lock(&self.inner.subscribers);
            for (id, state) in states {
                self.inner.notify(&mut subs, &id, Some(&state));
                map.insert(id, state);
            }
        }
        self.inner.write_count.fetch_add(n, Ordering::Relaxed);
        self.inner.mark_dirty(true);
        Ok(())
    }

    async fn del_states(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let removed = {
            let mut map = write(&self.inner.states);
            let mut subs = lock(&self.inner.subscribers);
            let mut removed = 0;
            for id in ids {
                // Announced even when absent, as js-controller publishes `null` on every delete.
                removed += usize::from(map.remove(id.as_str()).is_some());
                self.inner.notify(&mut subs, id, None);
            }
            removed
        };
        if removed > 0 {
            self.inner.mark_dirty(true);
        }
        Ok(())
    }

    async fn states(&self, pattern: &str) -> Result<BTreeMap<String, IobState>, StoreError> {
        Ok(matching(&read(&self.inner.states), pattern))
    }

    fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange> {
        let (tx, rx) = mpsc::unbounded_channel();
        // The states lock is held while the subscriber is added (writers notify under it):
        // every write is either among the replayed states or announced afterwards.
        let states = read(&self.inner.states);
        if sub.only_unacked {
            for (id, st) in states.iter() {
                if !st.ack && pattern_matches(&sub.pattern, id) {
                    let _ = tx.send(StateChange {
                        id: id.clone(),
                        state: Some(st.clone()),
                        replayed: true,
                    });
                }
            }
        }
        let mut subs = lock(&self.inner.subscribers);
        subs.retain(|s| !s.tx.is_closed());
        subs.push(Subscriber { sub, tx });
        rx
    }

    async fn flush(&self) -> Result<(), StoreError> {
        if self.inner.disk.is_none() {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.save())
            .await
            .map_err(|e| StoreError::Io(format!("flush task failed: {e}")))?
    }

    fn write_stats(&self) -> Option<super::WriteStats> {
        Some(super::WriteStats {
            state_writes: self.write_count(),
            object_writes: self.object_write_count(),
        })
    }
}

#[cfg(test)]
mod tests;

/// In-process pub/sub and expiring states, so an instance's lifecycle (messagebox pairing,
/// health states) runs, and is tested, without js-controller.
#[async_trait]
impl crate::store::InstanceBus for EmbeddedStore {
    async fn set_state_expiring(
        &self,
        id: &str,
        state: IobState,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let ts = state.ts;
        self.set_states(vec![(id.to_string(), state)]).await?;
        // Expire unless written again meanwhile (a newer ts), announcing the deletion. A weak
        // handle: a pending expiry must not keep a dropped store alive.
        let weak = Arc::downgrade(&self.inner);
        let id = id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(ttl_secs)).await;
            let Some(inner) = weak.upgrade() else { return };
            let store = EmbeddedStore { inner };
            if store
                .get_state(&id)
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.ts == ts)
            {
                let _ = store.del_states(&[id]).await;
            }
        });
        Ok(())
    }

    async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError> {
        let mut subs = self
            .inner
            .raw_subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        subs.retain(|(pattern, tx)| {
            !pattern_matches(pattern, channel)
                || tx.send((channel.to_string(), message.to_string())).is_ok()
        });
        Ok(())
    }

    fn subscribe_raw(&self, pattern: &str) -> mpsc::UnboundedReceiver<(String, String)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .raw_subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((pattern.to_string(), tx));
        rx
    }

    fn into_store(self: Arc<Self>) -> Arc<dyn Store> {
        self
    }
}
