//! The write queue of one database: nothing written is lost while the database is away.
//!
//! Every write becomes [`Op`]s with increasing sequence numbers. The command worker takes
//! them from the front in batches (one `multi … exec` each), puts a batch back at the front
//! when the connection broke under it, and publishes the highest sequence number it has
//! finished (`done`), so a writer can wait for its own writes and `flush` for all of them.
//!
//! The queue is bounded. When it overflows (a long outage under a stream of changes) it is
//! compacted: only the newest write of each state or object id survives, which is what a
//! reader would see after the reconnect anyway. Raw publishes (log lines, messagebox
//! replies) cannot be merged; if the queue is still too long the oldest of them are dropped,
//! and only then the oldest writes, each time with a warning.

use std::collections::{HashSet, VecDeque};

use crate::iobroker::IobObject;

/// One write.
#[derive(Debug, Clone)]
pub enum Op {
    /// `set io.<id>` (or `setex` with a TTL in seconds) and publish.
    SetState {
        /// State id.
        id: String,
        /// The state as JSON.
        json: String,
        /// Expire after this many seconds.
        ttl: Option<u64>,
    },
    /// `del io.<id>` and publish `null`.
    DelState {
        /// State id.
        id: String,
    },
    /// A raw `publish` on the states database.
    Publish {
        /// The channel, e.g. `messagebox.system.adapter.admin.0`.
        channel: String,
        /// The message.
        message: String,
    },
    /// Create or replace an object; merged with the stored one when it is written.
    SetObject(Box<IobObject>),
    /// Delete an object.
    DelObject {
        /// Object id.
        id: String,
    },
}

impl Op {
    /// Writes with the same key supersede each other; `None` for publishes.
    fn key(&self) -> Option<(bool, &str)> {
        match self {
            Op::SetState { id, .. } | Op::DelState { id } => Some((false, id)),
            Op::SetObject(o) => Some((true, &o.id)),
            Op::DelObject { id } => Some((true, id)),
            Op::Publish { .. } => None,
        }
    }

    /// The id (or channel) for messages.
    pub fn label(&self) -> &str {
        match self {
            Op::SetState { id, .. } | Op::DelState { id } | Op::DelObject { id } => id,
            Op::SetObject(o) => &o.id,
            Op::Publish { channel, .. } => channel,
        }
    }
}

/// Room for queued writes kept once the queue is empty.
const ROOM_KEPT: usize = 1024;

/// How many refusals are remembered for writers to pick up.
const FAILURES_KEPT: usize = 256;

/// The queue proper; lives behind a mutex in the database's shared state.
pub struct WriteQueue {
    ops: VecDeque<(u64, Op)>,
    /// The last sequence number handed out.
    last_seq: u64,
    cap: usize,
    /// Writes the server refused (sequence number, message), newest last.
    failures: VecDeque<(u64, String)>,
}

impl WriteQueue {
    /// An empty queue holding at most about `cap` writes.
    pub fn new(cap: usize) -> WriteQueue {
        WriteQueue {
            ops: VecDeque::new(),
            last_seq: 0,
            cap: cap.max(1),
            failures: VecDeque::new(),
        }
    }

    /// Append writes; returns the sequence numbers of the first and the last.
    pub fn push(&mut self, ops: Vec<Op>) -> (u64, u64) {
        let first = self.last_seq + 1;
        for op in ops {
            self.last_seq += 1;
            self.ops.push_back((self.last_seq, op));
        }
        if self.ops.len() > self.cap {
            self.compact();
        }
        (first, self.last_seq)
    }

    /// The last sequence number handed out (what `flush` waits for).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Number of queued writes.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Take up to `max` writes from the front.
    pub fn take(&mut self, max: usize) -> Vec<(u64, Op)> {
        let n = self.ops.len().min(max);
        let batch = self.ops.drain(..n).collect();
        // A start queues the whole tree (30,000 writes for the fixture, 72 bytes each);
        // once they are out, the room they took is given back rather than kept resident.
        if self.ops.is_empty() && self.ops.capacity() > ROOM_KEPT {
            self.ops.shrink_to(ROOM_KEPT);
        }
        batch
    }

    /// Put a batch that did not reach the server back at the front, in order.
    pub fn requeue_front(&mut self, batch: Vec<(u64, Op)>) {
        for item in batch.into_iter().rev() {
            self.ops.push_front(item);
        }
        if self.ops.len() > self.cap {
            self.compact();
        }
    }

    /// Remember that the server refused a write.
    pub fn record_failure(&mut self, seq: u64, message: String) {
        if self.failures.len() >= FAILURES_KEPT {
            self.failures.pop_front();
        }
        self.failures.push_back((seq, message));
    }

    /// Take the refusals of writes `first..=last`.
    pub fn take_failures(&mut self, first: u64, last: u64) -> Vec<String> {
        let mut out = Vec::new();
        self.failures.retain(|(seq, msg)| {
            let mine = (first..=last).contains(seq);
            if mine {
                out.push(msg.clone());
            }
            !mine
        });
        out
    }

    fn compact(&mut self) {
        let before = self.ops.len();
        let mut seen: HashSet<(bool, String)> = HashSet::new();
        let mut kept: VecDeque<(u64, Op)> = VecDeque::with_capacity(before);
        for (seq, op) in self.ops.drain(..).rev() {
            let newest = match op.key() {
                Some((obj, id)) => seen.insert((obj, id.to_string())),
                None => true,
            };
            if newest {
                kept.push_front((seq, op));
            }
        }
        self.ops = kept;
        let merged = before - self.ops.len();
        let mut dropped_publishes = 0;
        while self.ops.len() > self.cap {
            let Some(pos) = self
                .ops
                .iter()
                .position(|(_, op)| matches!(op, Op::Publish { .. }))
            else {
                break;
            };
            self.ops.remove(pos);
            dropped_publishes += 1;
        }
        let mut dropped = 0;
        while self.ops.len() > self.cap {
            self.ops.pop_front();
            dropped += 1;
        }
        tracing::warn!(
            queued = self.ops.len(),
            merged,
            dropped_publishes,
            dropped,
            "ioBroker database write queue full: kept only the newest write per id"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(id: &str, v: u32) -> Op {
        Op::SetState {
            id: id.into(),
            json: v.to_string(),
            ttl: None,
        }
    }

    fn jsons(q: &mut WriteQueue) -> Vec<String> {
        q.take(usize::MAX)
            .into_iter()
            .map(|(_, op)| match op {
                Op::SetState { id, json, .. } => format!("{id}={json}"),
                other => other.label().to_string(),
            })
            .collect()
    }

    #[test]
    fn an_emptied_queue_gives_back_the_room_a_start_took() {
        let mut q = WriteQueue::new(100_000);
        q.push((0..30_000).map(|i| set(&format!("s{i}"), i)).collect());
        assert!(q.ops.capacity() >= 30_000);
        while !q.take(250).is_empty() {}
        assert!(q.ops.capacity() <= ROOM_KEPT, "{}", q.ops.capacity());
        // Still a queue.
        q.push(vec![set("a", 1)]);
        assert_eq!(jsons(&mut q).len(), 1);
    }

    #[test]
    fn overflow_keeps_the_newest_value_per_id() {
        let mut q = WriteQueue::new(4);
        q.push(vec![set("a", 1), set("b", 1), set("a", 2), set("c", 1)]);
        assert_eq!(q.len(), 4);
        q.push(vec![set("b", 2)]);
        assert_eq!(jsons(&mut q), ["a=2", "c=1", "b=2"]);
    }

    #[test]
    fn overflow_drops_publishes_before_writes() {
        let mut q = WriteQueue::new(2);
        let publish = |c: &str| Op::Publish {
            channel: c.into(),
            message: "{}".into(),
        };
        q.push(vec![publish("log.x"), set("a", 1), publish("log.y")]);
        assert_eq!(jsons(&mut q), ["a=1", "log.y"]);
    }

    #[test]
    fn requeued_batch_goes_first_and_sequence_numbers_continue() {
        let mut q = WriteQueue::new(100);
        assert_eq!(q.push(vec![set("a", 1), set("b", 1)]), (1, 2));
        let batch = q.take(1);
        assert_eq!(q.push(vec![set("c", 1)]), (3, 3));
        q.requeue_front(batch);
        assert_eq!(jsons(&mut q), ["a=1", "b=1", "c=1"]);
        q.record_failure(2, "no".into());
        assert!(q.take_failures(3, 3).is_empty());
        assert_eq!(q.take_failures(1, 2), ["no"]);
        assert!(q.take_failures(1, 2).is_empty());
    }
}
