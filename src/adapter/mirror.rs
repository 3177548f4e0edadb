//! The mirror of what the store holds for this instance: each state's last written value,
//! quality and `lc`, and a hash of each object, so that only what changed is written
//! (and `lc` moves only when the value does). Every write of the runtime goes through here.

use std::hash::{Hash, Hasher};

use serde_json::Value;
use tracing::error;

use super::Runtime;
use crate::iobroker::{now_ms, IobObject, IobState};
use crate::store::StoreError;
use crate::tree::{self, TreeSnapshot};

/// What the store holds for one state, as far as this runtime wrote or saw it.
#[derive(Debug, Clone)]
pub(super) struct Mirror {
    /// The last value confirmed by the cloud (in ioBroker's scale).
    pub(super) val: Value,
    pub(super) q: u32,
    pub(super) lc: i64,
    /// The store currently holds a user command (ack false) instead of `val`.
    pub(super) commanded: bool,
    /// `ts` of the newest store content this runtime knows of for the state: its own last
    /// write, the last user write it handled, or what it loaded at start. A replayed
    /// unacknowledged state no newer than this was handled (or is older than the adapter).
    pub(super) seen_ts: i64,
    /// `ts` and value of the last user write handled: its announcement may still arrive
    /// after the same write was replayed (and executed) at a resubscription.
    pub(super) handled: Option<Box<(i64, Value)>>,
}

/// Are two state values the same for ioBroker? Numbers compare by value: a JSON number
/// keeps no integer/float distinction, and js-controller's jsonl database gives back `21`
/// for the `21.0` the adapter wrote. Comparing serde_json's variants made the first
/// snapshot after a restart rewrite every whole-numbered float state (216 of the fixture),
/// found by tests/e2e/instance.test.js.
pub(super) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

pub(super) fn object_hash(o: &IobObject) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.obj_type.hash(&mut h);
    // serde_json with preserve_order serialises deterministically.
    serde_json::to_string(&o.common)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

impl Runtime {
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

    /// Write the objects that are new or changed.
    pub(super) async fn write_objects(&mut self, objs: Vec<IobObject>) -> Result<(), StoreError> {
        let mut changed = Vec::new();
        for o in objs {
            let h = object_hash(&o);
            if self.objects.get(&o.id) != Some(&h) {
                self.objects.insert(o.id.clone(), h);
                changed.push(o);
            }
        }
        if !changed.is_empty() {
            self.store.set_objects(changed).await?;
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
        for v in values {
            let q = self.quality(&v.id);
            let lc = match self.states.get(&v.id) {
                Some(m) if same_value(&m.val, &v.val) && m.q == q && !m.commanded && !force => {
                    continue
                }
                Some(m) if same_value(&m.val, &v.val) => m.lc,
                _ => now,
            };
            self.awaiting.remove(&v.id);
            let handled = self.states.get_mut(&v.id).and_then(|m| m.handled.take());
            self.states.insert(
                v.id.clone(),
                Mirror {
                    val: v.val.clone(),
                    q,
                    lc,
                    commanded: false,
                    seen_ts: now,
                    handled,
                },
            );
            writes.push((
                v.id,
                IobState {
                    val: v.val,
                    ack: true,
                    ts: now,
                    lc,
                    from: self.from.clone(),
                    q,
                    user: None,
                    c: None,
                },
            ));
        }
        if !writes.is_empty() {
            if let Err(e) = self.store.set_states(writes).await {
                error!("writing states failed: {e}");
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
        let prefix = format!("{root}.");
        let ids: Vec<String> = self
            .objects
            .range(root.to_string()..)
            .take_while(|(id, _)| id.as_str() == root || id.starts_with(&prefix))
            .map(|(id, _)| id.clone())
            .collect();
        self.remove_ids(ids).await;
    }

    pub(super) async fn remove_ids(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let state_ids: Vec<String> = ids
            .iter()
            .filter(|id| self.states.remove(*id).is_some())
            .cloned()
            .collect();
        for id in &ids {
            self.objects.remove(id);
        }
        if let Err(e) = self.store.del_states(&state_ids).await {
            error!("deleting states failed: {e}");
        }
        if let Err(e) = self.store.del_objects(&ids).await {
            error!("deleting objects failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_value;
    use serde_json::json;

    #[test]
    fn numbers_are_the_same_by_value() {
        // What js-controller's jsonl database gives back for what the adapter wrote.
        assert!(same_value(&json!(21), &json!(21.0)));
        assert!(same_value(&json!(0.0), &json!(0)));
        assert!(same_value(&json!(-3), &json!(-3.0)));
        assert!(!same_value(&json!(21), &json!(21.5)));
        assert!(!same_value(&json!(1), &json!(true)));
        assert!(!same_value(&json!("1"), &json!(1)));
        assert!(same_value(&json!(null), &json!(null)));
    }
}
