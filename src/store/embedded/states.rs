//! The embedded store's states, in memory in a compact form: per interned id its value
//! ([`Val`]), `ts`, `lc`, `q`, and the writer (`from`) as a number into a small table of
//! writers (a home has a handful: the adapter, admin, a script) with `ack` in its top bit:
//! 40 bytes a state (and 4 bytes a place per id, [`IdSlots`]). What is rare (`user`, `c`)
//! is kept apart, by id.

use std::collections::HashMap;
use std::io::{self, Write};

use indexmap::IndexSet;
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Serialize;

use crate::iobroker::IobState;
use crate::store::compact::{Strings, Val};
use crate::store::id_slots::IdSlots;
use crate::store::ids::{Id, Ids};

/// One state as stored.
pub(super) struct Stored {
    val: Val,
    ts: i64,
    lc: i64,
    q: u32,
    /// Index into [`StateTable::froms`], and [`ACK`].
    from_ack: u32,
}

/// The bit of [`Stored::from_ack`] that says the state is acknowledged.
const ACK: u32 = 1 << 31;

impl Stored {
    /// Whether the state is acknowledged.
    pub(super) fn ack(&self) -> bool {
        self.from_ack & ACK != 0
    }

    fn from(&self) -> usize {
        (self.from_ack & !ACK) as usize
    }
}

/// `user` and `c` of a state, when either is set.
type Extra = (Option<String>, Option<String>);

/// The states, by [`Id::index`].
#[derive(Default)]
pub(super) struct StateTable {
    slots: IdSlots<Stored>,
    froms: IndexSet<Box<str>>,
    /// `user` and `c`, for the few states that have either.
    extra: HashMap<Id, Extra>,
}

/// A state as written to `states.json`: [`IobState`]'s shape, borrowed.
#[derive(Serialize)]
struct Out<'a> {
    val: &'a Val,
    ack: bool,
    ts: i64,
    lc: i64,
    from: &'a str,
    q: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<&'a str>,
}

impl StateTable {
    /// Number of states.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Store `st` under `id`, replacing what was there.
    pub(super) fn insert(&mut self, id: Id, st: IobState, strings: &Strings) {
        let from = match self.froms.get_index_of(st.from.as_str()) {
            Some(i) => i,
            // Writers beyond 2^31 would reach the ack bit: the last one stands for them
            // (a home has a handful).
            None if self.froms.len() >= ACK as usize => self.froms.len() - 1,
            None => self.froms.insert_full(st.from.into_boxed_str()).0,
        };
        if st.user.is_some() || st.c.is_some() {
            self.extra.insert(id, (st.user, st.c));
        } else if !self.extra.is_empty() {
            self.extra.remove(&id);
        }
        let stored = Stored {
            val: Val::shared(&st.val, strings),
            ts: st.ts,
            lc: st.lc,
            q: st.q,
            from_ack: from as u32 | if st.ack { ACK } else { 0 },
        };
        self.slots.insert(id, stored);
    }

    /// Remove the state of `id`; whether there was one.
    pub(super) fn remove(&mut self, id: Id) -> bool {
        self.extra.remove(&id);
        self.slots.remove(id).is_some()
    }

    /// The stored state of `id`.
    pub(super) fn get(&self, id: Id) -> Option<&Stored> {
        self.slots.get(id)
    }

    /// Every state, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Id, &Stored)> + '_ {
        self.slots.iter()
    }

    /// The stored state of `id` as ioBroker's state.
    pub(super) fn state(&self, id: Id, s: &Stored) -> IobState {
        let (user, c) = self.extra.get(&id).cloned().unwrap_or_default();
        IobState {
            val: s.val.to_value(),
            ack: s.ack(),
            ts: s.ts,
            lc: s.lc,
            from: self.writer(s).to_string(),
            q: s.q,
            user,
            c,
        }
    }

    fn writer(&self, s: &Stored) -> &str {
        self.froms.get_index(s.from()).map_or("", |f| f)
    }

    /// All states as the JSON map of `states.json`.
    pub(super) fn write_json(&self, ids: &Ids, w: &mut dyn Write) -> io::Result<()> {
        let mut name = String::new();
        w.write_all(b"{")?;
        for (n, (id, s)) in self.iter().enumerate() {
            if n > 0 {
                w.write_all(b",")?;
            }
            name.clear();
            ids.write_name(id, &mut name);
            serde_json::to_writer(&mut *w, &name)?;
            w.write_all(b":")?;
            let extra = self.extra.get(&id);
            let out = Out {
                val: &s.val,
                ack: s.ack(),
                ts: s.ts,
                lc: s.lc,
                from: self.writer(s),
                q: s.q,
                user: extra.and_then(|e| e.0.as_deref()),
                c: extra.and_then(|e| e.1.as_deref()),
            };
            serde_json::to_writer(&mut *w, &out)?;
        }
        w.write_all(b"}\n")
    }

    /// Bytes of memory the states take.
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.heap_bytes()
            + self.iter().map(|(_, s)| s.val.heap_bytes()).sum::<usize>()
            + self
                .extra
                .values()
                .map(|e| {
                    64 + e.0.as_ref().map_or(0, String::len) + e.1.as_ref().map_or(0, String::len)
                })
                .sum::<usize>()
    }
}

/// Reads a `states.json` map straight into a table, one state at a time (never the whole
/// map parsed at once).
pub(super) struct Load<'a> {
    pub(super) ids: &'a mut Ids,
    pub(super) strings: &'a Strings,
    pub(super) table: &'a mut StateTable,
}

impl<'de> DeserializeSeed<'de> for Load<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Load<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of state id to state")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key::<String>()? {
            let st: IobState = map.next_value()?;
            let id = self.ids.intern(&id);
            self.table.insert(id, st, self.strings);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_state_takes_40_bytes_and_comes_back_whole() {
        assert_eq!(std::mem::size_of::<Option<Stored>>(), 40);
        let mut ids = Ids::default();
        let strings = Strings::default();
        let mut table = StateTable::default();
        let (a, b) = (ids.intern("x.a"), ids.intern("x.b"));
        let with_extra = IobState {
            val: json!("on"),
            ack: false,
            ts: 2,
            lc: 1,
            from: "system.adapter.admin.0".into(),
            q: 0x42,
            user: Some("system.user.admin".into()),
            c: Some("a script".into()),
        };
        let plain = IobState {
            val: json!(21.5),
            ack: true,
            ts: 4,
            lc: 3,
            from: "system.adapter.hmip.0".into(),
            q: 0,
            user: None,
            c: None,
        };
        table.insert(a, with_extra.clone(), &strings);
        table.insert(b, plain.clone(), &strings);
        assert_eq!(table.state(a, table.get(a).unwrap()), with_extra);
        assert_eq!(table.state(b, table.get(b).unwrap()), plain);
        // Written again without user and c: they go.
        table.insert(a, plain.clone(), &strings);
        assert_eq!(table.state(a, table.get(a).unwrap()), plain);
        assert!(table.extra.is_empty());
    }
}
