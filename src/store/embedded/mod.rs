//! The in-process store of standalone mode: objects on disk (an append-only log, served
//! from there on a query: `objlog`), states in memory in a compact form (`states`), change
//! notifications to subscribers, and persistence to `objects.jsonl` / `states.json` in a
//! data directory. Ids are interned in a table ([`IdTable`]) that the runtime's mirror
//! shares ([`Store::ids`]), so each id is held once in the process.
//!
//! Writes never wait for the disk: an object write appends to the log (the page cache) and
//! a state write only touches memory and flips a dirty flag; a background thread syncs the
//! log and writes `states.json` atomically (temp file + rename) shortly after (debounced,
//! [`PERSIST_DELAY`]) and on [`Store::flush`].

mod objlog;
mod persist;
mod states;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{
    mpsc as std_mpsc, Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use serde_json::value::RawValue;

use super::ids::{Id, IdTable, Ids};
use super::{StateChange, Store, StoreError, Subscription};
use crate::iobroker::{pattern_matches, IobObject, IobState};
use objlog::ObjectLog;
use states::StateTable;

/// How long after the first unsaved change the files are written: bursts of writes end up
/// in one file write, and at most about this much is lost on a crash.
pub const PERSIST_DELAY: Duration = Duration::from_millis(500);

/// The same for states alone. Longer, because rewriting every state's value is what a
/// stream of events costs the disk and the CPU (the whole file each time), while a value
/// lost on a crash comes back with the cloud's snapshot after the restart anyway.
pub const STATES_PERSIST_DELAY: Duration = Duration::from_secs(5);

/// File name of the objects database (the log of object records) in the data directory.
pub const OBJECTS_FILE: &str = "objects.jsonl";
/// The objects file of earlier versions (one JSON map): moved into [`OBJECTS_FILE`] when
/// found, then removed.
pub const LEGACY_OBJECTS_FILE: &str = "objects.json";
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

/// What an [`EmbeddedStore`] holds in memory ([`EmbeddedStore::memory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMemory {
    /// Interned ids (those of the runtime's mirror included: the table is shared).
    pub ids: usize,
    /// Bytes of the id table.
    pub id_bytes: usize,
    /// Objects.
    pub objects: usize,
    /// Bytes of memory for the objects (their index; their text too without a data dir).
    pub object_bytes: usize,
    /// Bytes of the objects log (file or buffer).
    pub objects_file_bytes: u64,
    /// States.
    pub states: usize,
    /// Bytes of memory for the states (their strings left out).
    pub state_bytes: usize,
    /// Distinct string values, shared by the store's and the mirror's values.
    pub strings: usize,
    /// Bytes of memory for them.
    pub string_bytes: usize,
}

/// A raw pub/sub subscriber: its pattern and where (channel, message) pairs go.
type RawSubscriber = (String, mpsc::UnboundedSender<(String, String)>);

struct Inner {
    /// Every id the store holds, interned; its lock is always taken last.
    ids: Arc<IdTable>,
    // Objects are written once and read rarely (a client's query, a restart) but were
    // most of the memory: on disk, 8 bytes of index each in memory.
    objects: RwLock<ObjectLog>,
    states: RwLock<StateTable>,
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
            inner: Arc::new(Inner::new(
                IdTable::new(),
                ObjectLog::in_memory(),
                StateTable::default(),
                None,
            )),
        }
    }

    /// Open (or create) the store in `data_dir`: index `objects.jsonl` (importing the
    /// `objects.json` of an earlier version), load `states.json`.
    ///
    /// A states file that cannot be parsed is renamed to `<name>.corrupt-<ms>` with a
    /// warning and the states start empty; an object record torn by a crash is cut off;
    /// an unreadable directory is an error.
    pub fn open(data_dir: &Path) -> Result<EmbeddedStore, StoreError> {
        crate::private_file::create_private_dir(data_dir).map_err(|e| {
            StoreError::Io(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let log_path = data_dir.join(OBJECTS_FILE);
        import_legacy_objects(data_dir, &log_path)?;
        let ids = IdTable::new();
        let mut objects = ObjectLog::open(&log_path, &mut ids.write())?;
        if objects.wants_compaction() {
            objects.compact()?;
        }
        let mut states = StateTable::default();
        persist::load_states(
            &data_dir.join(STATES_FILE),
            &mut ids.write(),
            ids.strings(),
            &mut states,
        )?;
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
        let inner = Arc::new(Inner::new(ids, objects, states, Some(disk)));
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

    /// What the store holds in memory, for the benches' account of where memory goes.
    pub fn memory(&self) -> StoreMemory {
        let objects = read(&self.inner.objects);
        let states = read(&self.inner.states);
        let (strings, string_bytes) = self.inner.ids.strings().heap_bytes();
        let ids = self.inner.ids.read();
        StoreMemory {
            ids: ids.len(),
            id_bytes: ids.heap_bytes(),
            objects: objects.len(),
            object_bytes: objects.heap_bytes(),
            objects_file_bytes: objects.file_len(),
            states: states.len(),
            state_bytes: states.heap_bytes(),
            strings,
            string_bytes,
        }
    }

    /// Rewrite the objects log with the live records only, now (it is done by itself
    /// when most of the file is dead records).
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut log = write(&self.inner.objects);
        log.sync()?;
        log.compact()
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
    fn new(ids: Arc<IdTable>, objects: ObjectLog, states: StateTable, disk: Option<Disk>) -> Inner {
        Inner {
            ids,
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
        if disk.dirty_objects.swap(false, Ordering::AcqRel) {
            let mut log = write(&self.objects);
            let synced = log.sync().and_then(|()| {
                if log.wants_compaction() {
                    let before = log.file_len();
                    log.compact()?;
                    tracing::debug!(before, after = log.file_len(), "objects log compacted");
                }
                Ok(())
            });
            if let Err(e) = synced {
                disk.dirty_objects.store(true, Ordering::Release);
                return Err(e);
            }
        }
        if disk.dirty_states.swap(false, Ordering::AcqRel) {
            // Streamed into the temp file under the read lock: no copy of the states.
            let saved = persist::save_with(&disk.dir.join(STATES_FILE), |w| {
                let states = read(&self.states);
                states.write_json(&self.ids.read(), w)
            });
            if let Err(e) = saved {
                disk.dirty_states.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The ids among `candidates` that match `pattern` and that `keep` wants (it is asked
/// for an exact id too), with their names, by name. Only ids within the deepest interned
/// prefix of the pattern's literal part are named and matched.
fn matching(
    ids: &Ids,
    pattern: &str,
    candidates: impl Iterator<Item = Id>,
    keep: impl Fn(Id) -> bool,
) -> Vec<(String, Id)> {
    let prefix = pattern.split('*').next().unwrap_or("");
    if prefix.len() == pattern.len() {
        // No wildcard: an exact id.
        return match ids.lookup(pattern) {
            Some(id) if keep(id) => vec![(pattern.to_string(), id)],
            _ => Vec::new(),
        };
    }
    let root = ids.deepest_prefix(prefix);
    let mut out = Vec::new();
    for id in candidates {
        if root.is_some_and(|r| !ids.is_within(id, r)) || !keep(id) {
            continue;
        }
        let name = ids.name(id);
        if pattern_matches(pattern, &name) {
            out.push((name, id));
        }
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Move the objects of an earlier version's `objects.json` into a new log, then remove it.
/// Written to a temp file and renamed: a crash before the removal imports it again.
fn import_legacy_objects(dir: &Path, log_path: &Path) -> Result<(), StoreError> {
    let legacy = dir.join(LEGACY_OBJECTS_FILE);
    if !legacy.exists() {
        return Ok(());
    }
    let objects = persist::load::<Box<RawValue>>(&legacy)?;
    let tmp = log_path.with_extension("jsonl.import");
    let _ = std::fs::remove_file(&tmp);
    {
        let ids = IdTable::new();
        let mut log = ObjectLog::open(&tmp, &mut ids.write())?;
        let texts = objects
            .into_iter()
            .map(|(id, raw)| (ids.intern(&id), String::from(Box::<str>::from(raw))))
            .collect();
        log.put(texts)?;
        log.sync()?;
    }
    std::fs::rename(&tmp, log_path)
        .map_err(|e| StoreError::Io(format!("cannot rename {}: {e}", tmp.display())))?;
    crate::private_file::sync_dir(log_path);
    // Gone only once the log is in place (a missing file is already gone).
    let _ = std::fs::remove_file(&legacy);
    tracing::info!("moved {} into {}", legacy.display(), log_path.display());
    Ok(())
}

/// An object from its stored text. The store wrote the text itself, so a failure is a
/// bug: logged, and the object left out rather than a panic.
fn parse_object(raw: &str) -> Option<IobObject> {
    serde_json::from_str(raw)
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
        let Some(id) = self.inner.ids.lookup(id) else {
            return Ok(None);
        };
        let text = read(&self.inner.objects).get(id)?;
        Ok(text.and_then(|t| parse_object(&t)))
    }

    async fn set_objects(&self, objects: Vec<IobObject>) -> Result<(), StoreError> {
        if objects.is_empty() {
            return Ok(());
        }
        self.inner
            .object_write_count
            .fetch_add(objects.len() as u64, Ordering::Relaxed);
        // Serialised and interned before the lock is taken.
        let ids = self
            .inner
            .ids
            .intern_all(objects.iter().map(|o| o.id.as_str()));
        let mut texts = Vec::with_capacity(objects.len());
        for (obj, id) in objects.iter().zip(ids) {
            let text = serde_json::to_string(obj)
                .map_err(|e| StoreError::Io(format!("cannot serialise {}: {e}", obj.id)))?;
            texts.push((id, text));
        }
        drop(objects);
        write(&self.inner.objects).put(texts)?;
        self.inner.mark_dirty(false);
        Ok(())
    }

    async fn del_objects(&self, ids: &[String]) -> Result<(), StoreError> {
        let found: Vec<(&str, Id)> = {
            let table = self.inner.ids.read();
            ids.iter()
                .filter_map(|name| Some((name.as_str(), table.lookup(name)?)))
                .collect()
        };
        if found.is_empty() {
            return Ok(());
        }
        let removed = write(&self.inner.objects).delete(&found)?;
        if removed > 0 {
            self.inner.mark_dirty(false);
        }
        Ok(())
    }

    async fn objects(&self, pattern: &str) -> Result<BTreeMap<String, IobObject>, StoreError> {
        let texts = {
            let log = read(&self.inner.objects);
            let found = {
                let ids = self.inner.ids.read();
                matching(&ids, pattern, log.ids(), |id| log.contains(id))
            };
            let mut texts = Vec::with_capacity(found.len());
            for (name, id) in found {
                if let Some(t) = log.get(id)? {
                    texts.push((name, t));
                }
            }
            texts
        };
        Ok(texts
            .into_iter()
            .filter_map(|(name, t)| Some((name, parse_object(&t)?)))
            .collect())
    }

    async fn for_each_object_digest(
        &self,
        pattern: &str,
        each: &mut (dyn FnMut(String, u64) + Send),
    ) -> Result<(), StoreError> {
        // One object parsed at a time: a restart of a large home never holds them all.
        // `each` is called once the log's lock is released (it may intern ids).
        let digests = {
            let log = read(&self.inner.objects);
            let found = {
                let ids = self.inner.ids.read();
                matching(&ids, pattern, log.ids(), |id| log.contains(id))
            };
            let mut out = Vec::with_capacity(found.len());
            for (name, id) in found {
                if let Some(o) = log.get(id)?.and_then(|t| parse_object(&t)) {
                    out.push((name, super::object_digest(&o)));
                }
            }
            out
        };
        for (name, digest) in digests {
            each(name, digest);
        }
        Ok(())
    }

    async fn get_state(&self, id: &str) -> Result<Option<IobState>, StoreError> {
        let Some(id) = self.inner.ids.lookup(id) else {
            return Ok(None);
        };
        let states = read(&self.inner.states);
        Ok(states.get(id).map(|s| states.state(id, s)))
    }

    async fn set_states(&self, states: Vec<(String, IobState)>) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        let n = states.len() as u64;
        let ids = self
            .inner
            .ids
            .intern_all(states.iter().map(|(id, _)| id.as_str()));
        {
            let mut map = write(&self.inner.states);
            let mut subs = lock(&self.inner.subscribers);
            for ((name, state), id) in states.into_iter().zip(ids) {
                self.inner.notify(&mut subs, &name, Some(&state));
                map.insert(id, state, self.inner.ids.strings());
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
        let found: Vec<Option<Id>> = {
            let table = self.inner.ids.read();
            ids.iter().map(|name| table.lookup(name)).collect()
        };
        let removed = {
            let mut map = write(&self.inner.states);
            let mut subs = lock(&self.inner.subscribers);
            let mut removed = 0;
            for (name, id) in ids.iter().zip(found) {
                // Announced even when absent, as js-controller publishes `null` on every delete.
                removed += usize::from(id.is_some_and(|id| map.remove(id)));
                self.inner.notify(&mut subs, name, None);
            }
            removed
        };
        if removed > 0 {
            self.inner.mark_dirty(true);
        }
        Ok(())
    }

    async fn states(&self, pattern: &str) -> Result<BTreeMap<String, IobState>, StoreError> {
        let states = read(&self.inner.states);
        let found = {
            let ids = self.inner.ids.read();
            matching(&ids, pattern, states.iter().map(|(id, _)| id), |id| {
                states.get(id).is_some()
            })
        };
        Ok(found
            .into_iter()
            .filter_map(|(name, id)| Some((name, states.state(id, states.get(id)?))))
            .collect())
    }

    fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange> {
        let (tx, rx) = mpsc::unbounded_channel();
        // The states lock is held while the subscriber is added (writers notify under it):
        // every write is either among the replayed states or announced afterwards.
        let states = read(&self.inner.states);
        if sub.only_unacked {
            let waiting = {
                let ids = self.inner.ids.read();
                matching(&ids, &sub.pattern, states.iter().map(|(id, _)| id), |id| {
                    states.get(id).is_some_and(|st| !st.ack())
                })
            };
            for (name, id) in waiting {
                if let Some(st) = states.get(id) {
                    let _ = tx.send(StateChange {
                        id: name,
                        state: Some(states.state(id, st)),
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

    fn ids(&self) -> Option<Arc<IdTable>> {
        Some(Arc::clone(&self.inner.ids))
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
