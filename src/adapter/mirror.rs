//! The mirror of what the store holds for this instance: each state's last written value,
//! quality and `lc`, and a hash of each object, so that only what changed is written
//! (and `lc` moves only when the value does). Every write of the runtime goes through here.
//!
//! Both are kept per interned id ([`IdTable`], the embedded store's own table when it has
//! one: each id is held once in the process) in `Vec`s indexed by it, and values in their
//! compact form ([`Val`]): a state costs about 56 bytes here, an object 8.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use tracing::error;

use super::Runtime;
use crate::iobroker::{now_ms, IobObject, IobState};
use crate::store::compact::{Strings, Val};
use crate::store::id_slots::IdSlots;
use crate::store::ids::{slot, Id, IdTable};
use crate::store::{object_digest, StoreError, UNCONFIRMED_DIGEST};
use crate::tree::{self, TreeSnapshot};

/// What the store holds for one state, as far as this runtime wrote or saw it.
#[derive(Debug, Clone)]
pub(super) struct Mirror {
    /// The last value confirmed by the cloud (in ioBroker's scale).
    pub(super) val: Val,
    pub(super) q: u32,
    pub(super) lc: i64,
    /// The store currently holds a user command (ack false) instead of `val`.
    pub(super) commanded: bool,
    /// `ts` of the newest store content this runtime knows of for the state: its own last
    /// write, the last user write it handled, or what it loaded at start. A replayed
    /// unacknowledged state no newer than this was handled (or is older than the adapter).
    pub(super) seen_ts: i64,
}

/// A state as the runtime writes it: acknowledged, from the instance `from`, at `now`.
pub(super) fn acked(from: &str, val: Value, lc: i64, q: u32, now: i64) -> IobState {
    IobState {
        val,
        ack: true,
        ts: now,
        lc,
        from: from.to_string(),
        q,
        user: None,
        c: None,
    }
}

impl Mirror {
    /// What a state found in the store at start says.
    pub(super) fn loaded(st: IobState, strings: &Strings) -> Mirror {
        Mirror {
            val: Val::shared(&st.val, strings),
            q: st.q,
            lc: st.lc,
            commanded: !st.ack,
            seen_ts: st.ts,
        }
    }
}

/// The mirror's states, by interned id.
pub(super) struct States {
    ids: Arc<IdTable>,
    slots: IdSlots<Mirror>,
    /// The states under each id of one depth (every device's, `hmip.0.devices.<id>`),
    /// found by [`States::index_under`] in one pass over all states and kept while no
    /// state is added or removed: a device whose reachability flips has its states
    /// re-qualified, and finding them by a scan of every state each time made that cost
    /// grow with the home. 4 bytes a state.
    under_cache: HashMap<Id, Vec<Id>>,
    /// `ts` and value of the last user write handled, per state: its announcement may
    /// still arrive after the same write was replayed (and executed) at a resubscription.
    /// Kept apart from the slots: few states are ever written by a user.
    handled: HashMap<Id, (i64, Value)>,
}

impl States {
    pub(super) fn new(ids: Arc<IdTable>) -> States {
        States {
            ids,
            slots: IdSlots::default(),
            under_cache: HashMap::new(),
            handled: HashMap::new(),
        }
    }

    /// The string values shared with the store.
    pub(super) fn strings(&self) -> &Strings {
        self.ids.strings()
    }

    fn slot(&self, id: &str) -> Option<Id> {
        self.ids.lookup(id)
    }

    pub(super) fn get(&self, id: &str) -> Option<&Mirror> {
        self.slots.get(self.slot(id)?)
    }

    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut Mirror> {
        let i = self.slot(id)?;
        self.slots.get_mut(i)
    }

    pub(super) fn insert(&mut self, id: &str, m: Mirror) {
        let i = self.ids.intern(id);
        self.put(i, m);
    }

    /// The interned number of a state id (added when new), for the `_at` calls: one
    /// look-up of the id's text per value written.
    pub(super) fn intern(&self, id: &str) -> Id {
        self.ids.intern(id)
    }

    pub(super) fn at(&self, i: Id) -> Option<&Mirror> {
        self.slots.get(i)
    }

    /// The full id of a handle.
    pub(super) fn name(&self, i: Id) -> String {
        self.ids.name(i)
    }

    pub(super) fn at_mut(&mut self, i: Id) -> Option<&mut Mirror> {
        self.slots.get_mut(i)
    }

    pub(super) fn put(&mut self, i: Id, m: Mirror) {
        if self.slots.insert(i, m).is_none() {
            self.under_cache.clear();
        }
    }

    /// The last user write handled for `id`: its `ts` and value.
    pub(super) fn handled(&self, id: &str) -> Option<&(i64, Value)> {
        self.handled.get(&self.slot(id)?)
    }

    /// Note a user write to `id` as handled.
    pub(super) fn set_handled(&mut self, id: &str, ts: i64, val: Value) {
        if let Some(i) = self.slot(id) {
            self.handled.insert(i, (ts, val));
        }
    }

    pub(super) fn remove(&mut self, id: &str) -> Option<Mirror> {
        let i = self.slot(id)?;
        self.handled.remove(&i);
        let removed = self.slots.remove(i);
        if removed.is_some() {
            self.under_cache.clear();
        }
        removed
    }

    /// The states whose id starts with `prefix` (which ends with a dot): their handles and
    /// ids. Call [`States::index_under`] first: it finds them (or knows them already).
    pub(super) fn under(&self, prefix: &str) -> Vec<(Id, String)> {
        let ids = self.ids.read();
        let Some(found) = ids
            .lookup(prefix.strip_suffix('.').unwrap_or(prefix))
            .and_then(|root| self.under_cache.get(&root))
        else {
            return Vec::new();
        };
        found
            .iter()
            .filter(|&&id| self.slots.get(id).is_some())
            .map(|&id| (id, ids.name(id)))
            .collect()
    }

    /// Find the states under `prefix` for [`States::under`], unless it knows them: with
    /// those under every other id of the same depth, in one pass.
    pub(super) fn index_under(&mut self, prefix: &str) {
        let ids = self.ids.read();
        let Some(root) = ids.lookup(prefix.strip_suffix('.').unwrap_or(prefix)) else {
            return;
        };
        if self.under_cache.contains_key(&root) {
            return;
        }
        let depth = ids.depth(root);
        self.under_cache.clear();
        self.under_cache.insert(root, Vec::new());
        for (id, _) in self.slots.iter() {
            let below = ids.depth(id).saturating_sub(depth);
            if below == 0 {
                continue;
            }
            let ancestor = (0..below).try_fold(id, |n, _| ids.parent(n));
            if let Some(a) = ancestor {
                self.under_cache.entry(a).or_default().push(id);
            }
        }
        for list in self.under_cache.values_mut() {
            list.shrink_to_fit();
        }
    }

    /// Number of states and bytes of memory they take (for the benches).
    fn memory(&self) -> (usize, usize) {
        let count = self.slots.len();
        let heap: usize = self
            .slots
            .iter()
            .map(|(_, m)| m.val.heap_bytes())
            .sum::<usize>()
            + self.handled.len() * 64
            + self
                .under_cache
                .values()
                .map(|l| l.capacity() * 4 + 48)
                .sum::<usize>();
        (count, self.slots.heap_bytes() + heap)
    }
}

/// The hash of each object the store holds, by interned id (0: none).
pub(super) struct ObjectHashes {
    ids: Arc<IdTable>,
    hashes: Vec<u64>,
}

impl ObjectHashes {
    pub(super) fn new(ids: Arc<IdTable>) -> ObjectHashes {
        ObjectHashes {
            ids,
            hashes: Vec::new(),
        }
    }

    /// The id's number in the shared table.
    pub(super) fn intern(&self, id: &str) -> Id {
        self.ids.intern(id)
    }

    pub(super) fn get(&self, id: &str) -> Option<u64> {
        let i = self.ids.lookup(id)?;
        self.hashes.get(i.index()).copied().filter(|&h| h != 0)
    }

    pub(super) fn insert(&mut self, id: &str, hash: u64) {
        *slot(&mut self.hashes, self.ids.intern(id), || 0) = hash;
    }

    /// The object's write was not confirmed: it is written again whatever it holds.
    pub(super) fn mark_unconfirmed(&mut self, id: Id) {
        *slot(&mut self.hashes, id, || 0) = UNCONFIRMED_DIGEST;
    }

    pub(super) fn remove(&mut self, id: &str) {
        if let Some(h) = self
            .ids
            .lookup(id)
            .and_then(|i| self.hashes.get_mut(i.index()))
        {
            *h = 0;
        }
    }

    /// The objects below any of `roots` (and the roots themselves with `and_roots`) that
    /// `keep` does not keep, by id as the store sorts them.
    pub(super) fn within(
        &self,
        roots: &[String],
        and_roots: bool,
        keep: impl Fn(Id) -> bool,
    ) -> Vec<String> {
        let ids = self.ids.read();
        let roots: Vec<Id> = roots.iter().filter_map(|r| ids.lookup(r)).collect();
        let mut out: Vec<String> = self
            .hashes
            .iter()
            .enumerate()
            .filter(|(_, &h)| h != 0)
            .map(|(i, _)| Id::from_index(i))
            .filter(|&id| {
                roots
                    .iter()
                    .any(|&r| ids.is_within(id, r) && (and_roots || id != r))
                    && !keep(id)
            })
            .map(|id| ids.name(id))
            .collect();
        out.sort_unstable();
        out
    }

    /// Number of objects and bytes of memory their hashes take (for the benches).
    fn memory(&self) -> (usize, usize) {
        (
            self.hashes.iter().filter(|&&h| h != 0).count(),
            self.hashes.capacity() * 8,
        )
    }
}

/// What the runtime's mirror holds in memory ([`Runtime::mirror_memory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorMemory {
    /// States mirrored.
    pub states: usize,
    /// Bytes of memory for them.
    pub state_bytes: usize,
    /// Object hashes.
    pub objects: usize,
    /// Bytes of memory for them.
    pub object_bytes: usize,
}

impl Runtime {
    /// What the mirror holds in memory, for the benches' account of where memory goes.
    pub fn mirror_memory(&self) -> MirrorMemory {
        let (states, state_bytes) = self.states.memory();
        let (objects, object_bytes) = self.objects.memory();
        MirrorMemory {
            states,
            state_bytes,
            objects,
            object_bytes,
        }
    }

    pub(super) async fn write_instance_objects(&mut self) -> Result<(), StoreError> {
        let objs = tree::instance_objects(self.ns());
        self.write_objects(objs).await?;
        self.set_connection(false).await;
        Ok(())
    }

    pub(super) async fn set_connection(&mut self, connected: bool) {
        let id = format!("{}.info.connection", self.ns());
        self.write_values(vec![tree::TreeValue {
            id,
            val: Value::Bool(connected),
        }])
        .await;
    }

    /// Write the objects that are new or changed. Ones the store does not confirm are
    /// marked so, and written again by [`Runtime::retry_unconfirmed`].
    pub(super) async fn write_objects(&mut self, objs: Vec<IobObject>) -> Result<(), StoreError> {
        let mut changed = Vec::new();
        let mut ids = Vec::new();
        for o in objs {
            let h = object_digest(&o);
            if self.objects.get(&o.id) != Some(h) {
                self.objects.insert(&o.id, h);
                ids.push(self.objects.intern(&o.id));
                changed.push(o);
            }
        }
        if !changed.is_empty() {
            if let Err(e) = self.store.set_objects(changed).await {
                for id in ids {
                    self.objects.mark_unconfirmed(id);
                }
                self.unconfirmed.objects = true;
                self.unconfirmed.schedule();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Write the values that differ from what the store holds, acknowledged.
    pub(super) async fn write_values(&mut self, values: Vec<tree::TreeValue>) {
        self.write_values_with(values, false).await
    }

    /// Write values, acknowledged, each with its [`Runtime::quality`]; `force` writes even
    /// equal ones (events: every press must fire "on update" triggers).
    pub(super) async fn write_values_with(&mut self, values: Vec<tree::TreeValue>, force: bool) {
        let now = now_ms();
        let mut writes = Vec::new();
        let mut written = Vec::new();
        for v in values {
            let q = self.quality(&v.id);
            let at = self.states.intern(&v.id);
            let lc = match self.states.at_mut(at) {
                Some(m) if m.val.same_as(&v.val) && m.q == q && !m.commanded && !force => continue,
                Some(m) if m.val.same_as(&v.val) => m.lc,
                _ => now,
            };
            if !self.awaiting.is_empty() {
                self.awaiting.remove(&v.id);
            }
            written.push(at);
            self.states.put(
                at,
                Mirror {
                    val: Val::shared(&v.val, self.states.strings()),
                    q,
                    lc,
                    commanded: false,
                    seen_ts: now,
                },
            );
            writes.push((v.id, acked(&self.from, v.val, lc, q, now)));
        }
        if !writes.is_empty() {
            if let Err(e) = self.store.set_states(writes).await {
                self.states_unconfirmed(written, e);
            }
        }
    }

    /// Write objects and values of a part of the tree.
    pub(super) async fn apply(&mut self, snap: TreeSnapshot) {
        if let Err(e) = self.write_objects(snap.objects).await {
            error!("writing objects failed: {e}");
        }
        self.write_values(snap.values).await;
    }

    /// Delete an object and everything below it.
    pub(super) async fn remove_subtree(&mut self, root: &str) {
        let ids = self.objects.within(&[root.to_string()], true, |_| false);
        self.remove_ids(ids).await;
    }

    /// The objects below the tree's roots that the last snapshot did not produce.
    pub(super) fn stale_objects(&self, roots: &[String], produced: &HashSet<Id>) -> Vec<String> {
        self.objects
            .within(roots, false, |id| produced.contains(&id))
    }

    pub(super) async fn remove_ids(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let state_ids: Vec<String> = ids
            .iter()
            .filter(|id| self.states.remove(id).is_some())
            .cloned()
            .collect();
        for id in &ids {
            self.objects.remove(id);
        }
        // Deleted again, objects with their states, until the store confirms it.
        let states_failed = self.store.del_states(&state_ids).await.err();
        let objects_failed = self.store.del_objects(&ids).await.err();
        if let Some(e) = states_failed.or(objects_failed) {
            error!("deleting objects and states failed: {e}; deleted again until the database takes it");
            self.unconfirmed.deleted.extend(ids);
            self.unconfirmed.schedule();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Mirror;

    /// A mirrored state is 40 bytes; what few states need (a handled user write) is kept
    /// apart.
    #[test]
    fn a_mirrored_state_takes_40_bytes() {
        assert_eq!(std::mem::size_of::<Option<Mirror>>(), 40);
    }
}
