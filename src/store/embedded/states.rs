//! The embedded store's states, in memory in a compact form: per interned id its value
//! ([`Val`]), `ack`, `ts`, `lc`, `q`, and the writer (`from`) as a number into a small
//! table of writers (a home has a handful: the adapter, admin, a script). What is rare
//! (`user`, `c`) is boxed apart.

use std::io::{self, Write};

use indexmap::IndexSet;
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Serialize;

use crate::iobroker::IobState;
use crate::store::compact::{Strings, Val};
use crate::store::ids::{slot, Id, Ids};

/// One state as stored.
pub(super) struct Stored {
    val: Val,
    ts: i64,
    lc: i64,
    /// `user` and `c`, when either is set.
    extra: Option<Box<(Option<String>, Option<String>)>>,
    q: u32,
    /// Index into [`StateTable::froms`].
    from: u32,
    /// Whether the state is acknowledged.
    pub(super) ack: bool,
}

/// The states, by [`Id::index`].
#[derive(Default)]
pub(super) struct StateTable {
    slots: Vec<Option<Stored>>,
    froms: IndexSet<Box<str>>,
    count: usize,
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
        self.count
    }

    /// Store `st` under `id`, replacing what was there.
    pub(super) fn insert(&mut self, id: Id, st: IobState, strings: &Strings) {
        let from = match self.froms.get_index_of(st.from.as_str()) {
            Some(i) => i,
            None => self.froms.insert_full(st.from.into_boxed_str()).0,
        };
        let extra = (st.user.is_some() || st.c.is_some()).then(|| Box::new((st.user, st.c)));
        let stored = Stored {
            val: Val::shared(&st.val, strings),
            ts: st.ts,
            lc: st.lc,
            extra,
            q: st.q,
            from: from as u32,
            ack: st.ack,
        };
        if slot(&mut self.slots, id, || None).replace(stored).is_none() {
            self.count += 1;
        }
    }

    /// Remove the state of `id`; whether there was one.
    pub(super) fn remove(&mut self, id: Id) -> bool {
        let removed = self.slots.get_mut(id.index()).and_then(Option::take);
        self.count -= usize::from(removed.is_some());
        removed.is_some()
    }

    /// The stored state of `id`.
    pub(super) fn get(&self, id: Id) -> Option<&Stored> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    /// Every state, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Id, &Stored)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((Id::from_index(i), s.as_ref()?)))
    }

    /// A stored state as ioBroker's state.
    pub(super) fn state(&self, s: &Stored) -> IobState {
        let (user, c) = s.extra.as_deref().cloned().unwrap_or_default();
        IobState {
            val: s.val.to_value(),
            ack: s.ack,
            ts: s.ts,
            lc: s.lc,
            from: self.writer(s).to_string(),
            q: s.q,
            user,
            c,
        }
    }

    fn writer(&self, s: &Stored) -> &str {
        self.froms.get_index(s.from as usize).map_or("", |f| f)
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
            let extra = s.extra.as_deref();
            let out = Out {
                val: &s.val,
                ack: s.ack,
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
        self.slots.capacity() * std::mem::size_of::<Option<Stored>>()
            + self
                .iter()
                .map(|(_, s)| {
                    s.val.heap_bytes()
                        + s.extra.as_ref().map_or(0, |e| {
                            48 + e.0.as_ref().map_or(0, String::len)
                                + e.1.as_ref().map_or(0, String::len)
                        })
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
