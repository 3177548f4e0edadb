//! Writes the store did not confirm, written again until it does.
//!
//! The runtime's mirror records a value or an object as written when it sends it; a store
//! that refuses the write (a database error) or fails (its connection) would otherwise
//! leave that value missing until it changes again. So failed writes are noted here and
//! sent again, with the one jittered backoff, from what the runtime knows now: objects
//! from the model, states from the mirror, deletions by id.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, error, info};

use super::mirror::acked;
use super::Runtime;
use crate::backoff::Backoff;
use crate::iobroker::now_ms;
use crate::store::ids::Id;
use crate::store::StoreError;
use crate::tree;

/// Writes the store did not confirm (it refused them, or the connection failed): the
/// mirror holds them as written, so they are written again, with backoff, until the store
/// takes them. Without this a refused value stayed missing until it changed again.
pub(super) struct Unconfirmed {
    /// States to write again from the mirror.
    pub(super) states: HashSet<Id>,
    /// Some objects were not confirmed: write the tree's objects again (the unconfirmed
    /// ones carry [`UNCONFIRMED_DIGEST`], so exactly they are written).
    pub(super) objects: bool,
    /// Objects (with their states) to delete again.
    pub(super) deleted: Vec<String>,
    backoff: Backoff,
    next_try: Option<Instant>,
}

impl Unconfirmed {
    /// Nothing unconfirmed; attempts from 0.5 s apart, doubling up to `max`.
    pub(super) fn new(max: Duration) -> Unconfirmed {
        Unconfirmed {
            states: HashSet::new(),
            objects: false,
            deleted: Vec::new(),
            backoff: Backoff::new(Duration::from_millis(500), max),
            next_try: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.states.is_empty() && !self.objects && self.deleted.is_empty()
    }

    /// How many kinds of writes wait (for a log line): states, objects, deletions.
    fn len(&self) -> usize {
        self.states.len() + usize::from(self.objects) + self.deleted.len()
    }

    /// Plan the next attempt, unless one is planned.
    pub(super) fn schedule(&mut self) {
        if self.next_try.is_none() {
            self.next_try = Some(Instant::now() + self.backoff.next_wait());
        }
    }

    fn due(&self) -> bool {
        self.next_try.is_some_and(|t| t <= Instant::now())
    }
}

impl Runtime {
    /// States the store did not confirm: the mirror holds them as written, so they are
    /// written again (from the mirror) until it does.
    pub(super) fn states_unconfirmed(&mut self, ids: Vec<Id>, e: StoreError) {
        if self.unconfirmed.is_empty() {
            error!(
                "writing states failed: {e}; they are written again until the database takes them"
            );
        } else {
            debug!("writing states failed again: {e}");
        }
        self.unconfirmed.states.extend(ids);
        self.unconfirmed.schedule();
    }

    /// Write again what the store did not confirm, when its backoff says so: objects (the
    /// tree's, from the model), states (from the mirror), deletions. Called by the run loop's
    /// tick.
    pub(super) async fn retry_unconfirmed(&mut self) {
        if !self.unconfirmed.due() {
            return;
        }
        self.unconfirmed.next_try = None;
        let before = self.unconfirmed.len();
        let deletions = std::mem::take(&mut self.unconfirmed.deleted);
        self.remove_ids(deletions).await;
        if std::mem::take(&mut self.unconfirmed.objects) {
            let mut objects = tree::instance_objects(self.ns());
            if let Some(model) = &self.model {
                for part in tree::snapshot_parts_in(self.opts.convention, self.ns(), model) {
                    objects.extend(part.objects);
                }
            }
            // Failing again marks them again.
            let _ = self.write_objects(objects).await;
        }
        let ids: Vec<Id> = self.unconfirmed.states.drain().collect();
        if !ids.is_empty() {
            let now = now_ms();
            let mut writes = Vec::with_capacity(ids.len());
            let mut kept = Vec::with_capacity(ids.len());
            for at in ids {
                // A user command now in the store has taken the state's place.
                let Some(m) = self.states.at(at).filter(|m| !m.commanded) else {
                    continue;
                };
                writes.push((
                    self.states.name(at),
                    acked(&self.from, m.val.to_value(), m.lc, m.q, now),
                ));
                kept.push(at);
            }
            if !writes.is_empty() {
                if let Err(e) = self.store.set_states(writes).await {
                    self.states_unconfirmed(kept, e);
                }
            }
        }
        if self.unconfirmed.is_empty() {
            self.unconfirmed.backoff.reset();
            info!("the database took the writes it had not confirmed ({before} kinds of them)");
        } else {
            self.unconfirmed.schedule();
        }
    }
}
