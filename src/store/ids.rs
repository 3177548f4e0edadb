//! Interned ioBroker ids, shared by the embedded store and the runtime's mirror.
//!
//! A home of 5,000 devices has half a million ids such as
//! `hmip.0.devices.3014F711A0000000000000AB.channels.1.actualTemperature`; kept as a
//! `String` per map they were about 70 % of the store's and the mirror's memory. Here an id
//! is a node of a tree of dot-separated segments: the node names its parent and its last
//! segment, and each distinct segment text (a field name, a device id, `channels`) is held
//! once. An [`Id`] is the node's index, dense from 0, so that whoever keeps something per
//! id can keep it in a `Vec` indexed by it instead of a map keyed by text.
//!
//! Nodes are never removed: an id deleted and created again gets its old number back, and
//! the table holds at most every id the process has seen (the tree of one home).

use std::hash::BuildHasher;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::compact::Strings;

/// An interned id: the index of its node in its [`IdTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u32);

impl Id {
    /// The index, for a `Vec` kept per id.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at an index of a `Vec` kept per id (below the table's [`Ids::len`]).
    pub fn from_index(i: usize) -> Id {
        Id(u32::try_from(i).expect("an index of an id"))
    }
}

const NO_PARENT: u32 = u32::MAX;

/// `v[id]`, growing `v` with `fill` when it is shorter (see [`reserve_by_eighth`]).
pub fn slot<T>(v: &mut Vec<T>, id: Id, fill: impl FnMut() -> T) -> &mut T {
    let i = id.index();
    if v.len() <= i {
        reserve_by_eighth(v, i + 1);
        v.resize_with(i + 1, fill);
    }
    &mut v[i]
}

/// Room in `v` for `len` elements, grown by an eighth at a time rather than doubling, so
/// that a `Vec` kept per id (or per state) wastes at most about 12 % of its room.
pub fn reserve_by_eighth<T>(v: &mut Vec<T>, len: usize) {
    if v.capacity() < len {
        let want = len.max(v.capacity() + v.capacity() / 8 + 16);
        v.reserve_exact(want - v.len());
    }
}

/// The table behind its lock; see [`IdTable::read`].
#[derive(Default)]
pub struct Ids {
    /// Per node: (parent node or `NO_PARENT`, segment number).
    nodes: Vec<(u32, u32)>,
    /// (parent, segment) -> node.
    children: Children,
    /// The distinct segment texts, numbered.
    segments: Segments,
}

/// Each distinct segment text once, numbered from 0: all of them in one `String`, not one
/// allocation each. Small blocks that live as long as the process, allocated while a
/// cold start's objects are built and sent, pin the holes those leave in the heap: after
/// the fixture's cold start under js-controller glibc held 1,267 small free blocks
/// (1.1 MB, resident), 920–1,050 with the segments in one buffer.
#[derive(Default)]
struct Segments {
    /// The texts, one after the other.
    text: String,
    /// Per segment number: where its text ends in `text` (it starts where the one before
    /// ends).
    ends: Vec<u32>,
    /// Text -> number, keyed by the numbers themselves (the text is read from `text`).
    /// Hashed with foldhash (randomly seeded per table): every state written looks up each
    /// segment of its id here, and SipHash was a tenth of the event path.
    numbers: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

/// Segment `n`'s text in [`Segments::text`]: from where the one before ends to its end.
fn segment_text<'t>(text: &'t str, ends: &[u32], n: u32) -> &'t str {
    let n = n as usize;
    let start = if n == 0 { 0 } else { ends[n - 1] as usize };
    &text[start..ends[n] as usize]
}

impl Segments {
    fn text(&self, n: u32) -> &str {
        segment_text(&self.text, &self.ends, n)
    }

    fn get(&self, seg: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(seg);
        self.numbers.find(hash, |&n| self.text(n) == seg).copied()
    }

    fn get_or_add(&mut self, seg: &str) -> u32 {
        if let Some(n) = self.get(seg) {
            return n;
        }
        let n = u32::try_from(self.ends.len()).expect("fewer than 2^32 segments");
        self.text.push_str(seg);
        self.ends
            .push(u32::try_from(self.text.len()).expect("less than 4 GiB of segment text"));
        let Segments {
            text,
            ends,
            numbers,
            hasher,
        } = self;
        // Growing the table re-hashes its entries: by their text, read beside it.
        numbers.insert_unique(hasher.hash_one(seg), n, |&m| {
            hasher.hash_one(segment_text(text, ends, m))
        });
        n
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4 + self.numbers.capacity() * 5
    }
}

/// The shared table of interned ids (cheap to share behind an `Arc`).
#[derive(Default)]
pub struct IdTable(RwLock<Ids>);

impl IdTable {
    /// A new, empty table.
    pub fn new() -> Arc<IdTable> {
        Arc::new(IdTable::default())
    }

    /// Read access for many look-ups under one lock.
    pub fn read(&self) -> RwLockReadGuard<'_, Ids> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access, to intern many ids under one lock (loading a store). Never held while
    /// another lock is taken: the table's lock is always the innermost.
    pub fn write(&self) -> RwLockWriteGuard<'_, Ids> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The id's number, adding it when it is new.
    pub fn intern(&self, id: &str) -> Id {
        if let Some(n) = self.read().lookup(id) {
            return n;
        }
        self.write().intern(id)
    }

    /// Many ids at once, under one lock.
    pub fn intern_all<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Id> {
        let mut t = self.write();
        ids.into_iter().map(|id| t.intern(id)).collect()
    }

    /// The number of an id already interned.
    pub fn lookup(&self, id: &str) -> Option<Id> {
        self.read().lookup(id)
    }

    /// The id's text.
    pub fn name(&self, id: Id) -> String {
        self.read().name(id)
    }

    /// The pool of string values that whoever shares the table shares too: the
    /// process's one pool ([`crate::shared_text::texts`]).
    pub fn strings(&self) -> &'static Strings {
        crate::shared_text::texts()
    }
}

/// (parent, segment) -> node, by open addressing over node numbers: 4 bytes a slot, the
/// key read from the node itself (a `HashMap` took 13 bytes a slot for the same).
#[derive(Default)]
struct Children {
    /// Node numbers; `NO_PARENT` marks an empty slot. The length is a power of two.
    slots: Vec<u32>,
    len: usize,
}

impl Children {
    fn start(&self, key: (u32, u32)) -> usize {
        let x = (u64::from(key.0) << 32 | u64::from(key.1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (x >> 32) as usize & (self.slots.len() - 1)
    }

    fn find(&self, nodes: &[(u32, u32)], key: (u32, u32)) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.start(key);
        loop {
            let n = self.slots[i];
            if n == NO_PARENT {
                return None;
            }
            if nodes[n as usize] == key {
                return Some(n);
            }
            i = (i + 1) & mask;
        }
    }

    /// Add node `n` (already in `nodes`), growing at three quarters full.
    fn insert(&mut self, nodes: &[(u32, u32)], n: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let size = (self.slots.len() * 2).max(16);
            let old = std::mem::replace(&mut self.slots, vec![NO_PARENT; size]);
            self.len = 0;
            for m in old.into_iter().filter(|&m| m != NO_PARENT) {
                self.place(nodes, m);
            }
        }
        self.place(nodes, n);
    }

    fn place(&mut self, nodes: &[(u32, u32)], n: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.start(nodes[n as usize]);
        while self.slots[i] != NO_PARENT {
            i = (i + 1) & mask;
        }
        self.slots[i] = n;
        self.len += 1;
    }
}

impl Ids {
    /// Number of ids (nodes) in the table: every [`Id::index`] is below it.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The number of an id already interned.
    pub fn lookup(&self, id: &str) -> Option<Id> {
        let mut parent = NO_PARENT;
        for seg in id.split('.') {
            let s = self.segments.get(seg)?;
            parent = self.children.find(&self.nodes, (parent, s))?;
        }
        Some(Id(parent))
    }

    /// The id's number, adding it (and the ids of its prefixes) when new.
    pub fn intern(&mut self, id: &str) -> Id {
        let mut parent = NO_PARENT;
        for seg in id.split('.') {
            let s = self.segments.get_or_add(seg);
            parent = match self.children.find(&self.nodes, (parent, s)) {
                Some(n) => n,
                None => {
                    let n = u32::try_from(self.nodes.len()).expect("fewer than 2^32 ids");
                    assert!(n != NO_PARENT, "fewer than 2^32 - 1 ids");
                    self.nodes.push((parent, s));
                    self.children.insert(&self.nodes, n);
                    n
                }
            };
        }
        Id(parent)
    }

    /// The id's text.
    pub fn name(&self, id: Id) -> String {
        let mut s = String::new();
        self.write_name(id, &mut s);
        s
    }

    /// Append the id's text to `out`.
    pub fn write_name(&self, id: Id, out: &mut String) {
        let mut segs = Vec::with_capacity(12);
        let mut n = id.0;
        while n != NO_PARENT {
            let (parent, seg) = self.nodes[n as usize];
            segs.push(seg);
            n = parent;
        }
        for (i, seg) in segs.iter().rev().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(self.segments.text(*seg));
        }
    }

    /// The id one segment up (`a.b` of `a.b.c`), None for a first segment.
    pub fn parent(&self, id: Id) -> Option<Id> {
        let p = self.nodes.get(id.index())?.0;
        (p != NO_PARENT).then_some(Id(p))
    }

    /// How many segments the id has (1 for `a`, 3 for `a.b.c`).
    pub fn depth(&self, id: Id) -> usize {
        std::iter::successors(Some(id), |i| self.parent(*i)).count()
    }

    /// Whether `id` is `root` or below it (`root.…`).
    pub fn is_within(&self, id: Id, root: Id) -> bool {
        let mut n = id.0;
        while n != NO_PARENT {
            if n == root.0 {
                return true;
            }
            n = self.nodes[n as usize].0;
        }
        false
    }

    /// The deepest interned id that is a whole-segment prefix of `text` (`a.b` for
    /// `a.b.c*` when `a.b` is interned and `a.b.c*` is not): every id starting with `text`
    /// lies within it. None when not even the first segment is interned or `text` has no
    /// complete segment.
    pub fn deepest_prefix(&self, text: &str) -> Option<Id> {
        let mut parent = NO_PARENT;
        let mut rest = text;
        // Only segments followed by a dot are complete: `a.b` of `a.bc` is not a prefix.
        while let Some((seg, tail)) = rest.split_once('.') {
            let Some(s) = self.segments.get(seg) else {
                break;
            };
            let Some(n) = self.children.find(&self.nodes, (parent, s)) else {
                break;
            };
            parent = n;
            rest = tail;
        }
        (parent != NO_PARENT).then_some(Id(parent))
    }

    /// Bytes held by the table (for the benches' figures of what memory is made of).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * 8 + self.children.slots.capacity() * 4 + self.segments.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_share_prefixes() {
        let t = IdTable::new();
        let a = t.intern("hmip.0.devices.A.channels.1.on");
        let b = t.intern("hmip.0.devices.B.channels.1.on");
        assert_ne!(a, b);
        assert_eq!(t.intern("hmip.0.devices.A.channels.1.on"), a);
        assert_eq!(t.name(a), "hmip.0.devices.A.channels.1.on");
        assert_eq!(t.name(b), "hmip.0.devices.B.channels.1.on");
        // A node per prefix: 7 for A's id, 4 more for B's own part.
        assert_eq!(t.read().len(), 11);
        let dev = t.lookup("hmip.0.devices.A").unwrap();
        assert!(t.read().is_within(a, dev));
        assert!(t.read().is_within(dev, dev));
        assert!(!t.read().is_within(b, dev));
        assert_eq!(t.lookup("hmip.0.devices.C"), None);
        // Odd ids survive unchanged.
        for odd in ["", "a..b", "trailing.", ".lead", "x"] {
            let id = t.intern(odd);
            assert_eq!(t.name(id), odd);
            assert_eq!(t.lookup(odd), Some(id));
        }
        let deep = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(".");
        let id = t.intern(&deep);
        assert_eq!(t.name(id), deep);
        // Many: every one found again, each with its own number.
        let many: Vec<String> = (0..20_000)
            .map(|i| format!("hmip.0.devices.D{}.channels.{}.f{}", i / 100, i % 7, i))
            .collect();
        let numbers = t.intern_all(many.iter().map(String::as_str));
        let r = t.read();
        for (name, n) in many.iter().zip(&numbers) {
            assert_eq!(r.lookup(name), Some(*n));
            assert_eq!(&r.name(*n), name);
        }
        let distinct: std::collections::HashSet<_> = numbers.iter().collect();
        assert_eq!(distinct.len(), many.len());
        assert_eq!(r.lookup("hmip.0.devices.D0.channels.0.f1"), None);
    }

    #[test]
    fn deepest_prefix_takes_only_whole_segments() {
        let t = IdTable::new();
        t.intern("hmip.0.devices.AB.on");
        let r = t.read();
        let devices = r.lookup("hmip.0.devices").unwrap();
        assert_eq!(r.deepest_prefix("hmip.0.devices.A*"), Some(devices));
        assert_eq!(r.deepest_prefix("hmip.0.devices.*"), Some(devices));
        assert_eq!(r.deepest_prefix("hmip.0.devices"), r.lookup("hmip.0"));
        assert_eq!(r.deepest_prefix("*"), None);
        assert_eq!(r.deepest_prefix("other.x"), None);
    }
}
