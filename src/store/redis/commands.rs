//! The commands for a batch of writes, and what the replies say about each write.
//!
//! A batch is one `multi … exec` (sent as one pipeline, see `connection`), so many states
//! cost one round trip, and a reader never sees half of a batch. An object write first needs
//! the stored object (to keep what others put on it, see [`merge_object`]): the worker reads
//! all of a batch's objects with `mget` and hands them in as `current`.

use std::collections::HashMap;

use serde_json::Value;

use super::frame::{array, cmd, error_text, text, Frame};
use super::keys::{merge_object, object_key, state_key, type_set_key, ObjectDefaults};
use super::queue::Op;
use crate::iobroker::IobObject;

/// At most this many keys per `mget` (the simulator and Redis take more, but a huge
/// single reply only delays everything behind it).
pub const MGET_CHUNK: usize = 1000;

/// What an object batch needs to know besides the writes.
pub struct BatchContext<'a> {
    /// `from` and `ts` for objects that lack them.
    pub defaults: ObjectDefaults<'a>,
    /// Maintain the `cfg.s.object.type.<type>` index sets.
    pub use_sets: bool,
}

/// A batch's commands and, for each frame, the index of the write it belongs to.
pub struct Pipeline {
    /// `multi`, the commands, `exec`.
    pub frames: Vec<Frame>,
    owners: Vec<Option<usize>>,
}

impl Pipeline {
    fn new() -> Pipeline {
        Pipeline {
            frames: vec![cmd("multi", Vec::<String>::new())],
            owners: vec![None],
        }
    }

    fn push(&mut self, owner: usize, frame: Frame) {
        self.frames.push(frame);
        self.owners.push(Some(owner));
    }

    fn finish(mut self) -> Pipeline {
        self.frames.push(cmd("exec", Vec::<String>::new()));
        self.owners.push(None);
        self
    }

    /// Does the batch write anything (objects that did not change are left out)?
    pub fn is_empty(&self) -> bool {
        self.frames.len() <= 2
    }
}

/// The commands for `ops`. `current` holds the stored object of every object id in `ops`
/// (None when there is none) and is updated as the batch writes them.
pub fn build(
    ops: &[(u64, Op)],
    current: &mut HashMap<String, Option<IobObject>>,
    ctx: &BatchContext,
) -> Pipeline {
    let mut p = Pipeline::new();
    for (i, (_, op)) in ops.iter().enumerate() {
        match op {
            Op::SetState { id, json, ttl } => {
                let key = state_key(id);
                let set = match ttl {
                    Some(ttl) => cmd("setex", [key.clone(), ttl.to_string(), json.clone()]),
                    None => cmd("set", [key.clone(), json.clone()]),
                };
                p.push(i, set);
                p.push(i, cmd("publish", [key, json.clone()]));
            }
            Op::DelState { id } => {
                let key = state_key(id);
                p.push(i, cmd("del", [key.clone()]));
                p.push(i, cmd("publish", [key, "null".to_string()]));
            }
            Op::Publish { channel, message } => {
                p.push(i, cmd("publish", [channel.clone(), message.clone()]));
            }
            Op::SetObject(new) => {
                let old = current.get(&new.id).cloned().flatten();
                let merged = merge_object((**new).clone(), old.as_ref(), &ctx.defaults);
                if old.as_ref().is_some_and(|o| same_but_ts(o, &merged)) {
                    continue;
                }
                let key = object_key(&merged.id);
                let json = serde_json::to_string(&merged).unwrap_or_default();
                p.push(i, cmd("set", [key.clone(), json.clone()]));
                p.push(i, cmd("publish", [key.clone(), json]));
                if ctx.use_sets {
                    if let Some(old) = old.as_ref().filter(|o| o.obj_type != merged.obj_type) {
                        p.push(i, cmd("srem", [type_set_key(&old.obj_type), key.clone()]));
                    }
                    p.push(i, cmd("sadd", [type_set_key(&merged.obj_type), key]));
                }
                current.insert(merged.id.clone(), Some(merged));
            }
            Op::DelObject { id } => {
                // Deleting what is not there is not an error (the simulator says it is).
                let Some(old) = current.get(id).cloned().flatten() else {
                    continue;
                };
                let key = object_key(id);
                p.push(i, cmd("del", [key.clone()]));
                p.push(i, cmd("publish", [key.clone(), "null".to_string()]));
                if ctx.use_sets {
                    p.push(i, cmd("srem", [type_set_key(&old.obj_type), key]));
                }
                current.insert(id.clone(), None);
            }
        }
    }
    p.finish()
}

/// Equal apart from the write time: rewriting it would change nothing but `ts`.
fn same_but_ts(a: &IobObject, b: &IobObject) -> bool {
    let strip = |o: &IobObject| {
        let mut o = o.clone();
        o.extra.remove("ts");
        o
    };
    strip(a) == strip(b)
}

/// The writes the server refused, as (index into the batch, message). `replies` has one
/// reply per frame of `p`: `+OK` to `multi`, `+QUEUED` (or an error) per command, and the
/// `exec` array with one result per command.
pub fn refusals(p: &Pipeline, replies: Vec<Frame>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut note = |owner: Option<usize>, msg: &str| {
        if let Some(i) = owner {
            if !out.iter().any(|(j, _)| *j == i) {
                out.push((i, msg.to_string()));
            }
        }
    };
    let n = replies.len();
    let mut replies = replies;
    let exec = replies.pop();
    for (k, r) in replies.iter().enumerate().skip(1).take(n.saturating_sub(2)) {
        if let Some(e) = error_text(r) {
            note(p.owners[k], e);
        }
    }
    let inner = &p.owners[1..p.owners.len() - 1];
    match exec {
        Some(Frame::Array(results)) => {
            for (owner, r) in inner.iter().zip(&results) {
                if let Some(e) = error_text(r) {
                    note(*owner, e);
                }
            }
        }
        Some(Frame::Error(e)) => inner.iter().for_each(|o| note(*o, &e)),
        Some(Frame::Null) => inner
            .iter()
            .for_each(|o| note(*o, "the transaction was aborted")),
        _ => {}
    }
    out
}

/// `mget` commands for `keys`, in chunks.
pub fn mget(keys: &[String]) -> Vec<Frame> {
    keys.chunks(MGET_CHUNK)
        .map(|c| cmd("mget", c.iter().cloned()))
        .collect()
}

/// The values of the `mget` replies, in key order (None for a missing key). Errors are
/// returned as such.
pub fn mget_values(replies: Vec<Frame>) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    for r in replies {
        if let Some(e) = error_text(&r) {
            return Err(e.to_string());
        }
        let items = array(r).ok_or("mget answered with something else than a list")?;
        out.extend(items.iter().map(text));
    }
    Ok(out)
}

/// Parse a stored JSON value; `None` (with a debug line) for what is not valid.
pub fn parse<T: serde::de::DeserializeOwned>(key: &str, json: &str) -> Option<T> {
    match serde_json::from_str::<T>(json) {
        Ok(v) => Some(v),
        Err(e) => {
            // `null` is what a deleted or expired state is published as.
            if serde_json::from_str::<Value>(json).ok() != Some(Value::Null) {
                tracing::debug!("ignoring {key}: not the expected JSON ({e})");
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(p: &Pipeline) -> Vec<String> {
        p.frames
            .iter()
            .map(|f| match f {
                Frame::Array(a) => a.iter().filter_map(text).collect::<Vec<_>>().join(" "),
                _ => String::new(),
            })
            .collect()
    }

    fn ctx(use_sets: bool) -> BatchContext<'static> {
        BatchContext {
            defaults: ObjectDefaults {
                from: "system.adapter.hmip.0",
                now: 5,
            },
            use_sets,
        }
    }

    #[test]
    fn states_and_deletes_in_one_transaction() {
        let ops = vec![
            (
                1,
                Op::SetState {
                    id: "a".into(),
                    json: "{}".into(),
                    ttl: None,
                },
            ),
            (
                2,
                Op::SetState {
                    id: "b".into(),
                    json: "{}".into(),
                    ttl: Some(25),
                },
            ),
            (3, Op::DelState { id: "c".into() }),
        ];
        let p = build(&ops, &mut HashMap::new(), &ctx(true));
        assert_eq!(
            names(&p),
            [
                "multi",
                "set io.a {}",
                "publish io.a {}",
                "setex io.b 25 {}",
                "publish io.b {}",
                "del io.c",
                "publish io.c null",
                "exec"
            ]
        );
    }

    #[test]
    fn object_type_change_moves_it_between_index_sets() {
        let old: IobObject =
            serde_json::from_value(json!({"_id": "x", "type": "channel"})).unwrap();
        let new: IobObject = serde_json::from_value(json!({"_id": "x", "type": "device"})).unwrap();
        let mut current = HashMap::from([("x".to_string(), Some(old))]);
        let ops = vec![
            (1, Op::SetObject(Box::new(new.clone()))),
            (2, Op::SetObject(Box::new(new))),
            (3, Op::DelObject { id: "x".into() }),
            (4, Op::DelObject { id: "y".into() }),
        ];
        let p = build(&ops, &mut current, &ctx(true));
        let n = names(&p);
        assert_eq!(n[3], "srem cfg.s.object.type.channel cfg.o.x");
        assert_eq!(n[4], "sadd cfg.s.object.type.device cfg.o.x");
        // The second identical write is left out; the delete of a missing object too.
        assert_eq!(n[5], "del cfg.o.x");
        assert_eq!(n[7], "srem cfg.s.object.type.device cfg.o.x");
        assert_eq!(n.len(), 9);
    }

    #[test]
    fn refusals_point_at_their_write() {
        let ops = vec![
            (1, Op::DelState { id: "a".into() }),
            (2, Op::DelState { id: "b".into() }),
        ];
        let p = build(&ops, &mut HashMap::new(), &ctx(false));
        let ok = || Frame::SimpleString("OK".into());
        let queued = || Frame::SimpleString("QUEUED".into());
        let replies = vec![
            ok(),
            queued(),
            queued(),
            queued(),
            queued(),
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Integer(0),
                Frame::Error("ERR nope".into()),
                Frame::Integer(0),
            ]),
        ];
        assert_eq!(refusals(&p, replies), [(1, "ERR nope".to_string())]);
    }
}
