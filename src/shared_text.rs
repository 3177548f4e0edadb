//! Shared strings behind a thin pointer, and a pool that hands out one copy per text: a
//! home repeats a few hundred texts (field names, types, modes, firmware versions)
//! thousands of times. The state stores and the model's field names use them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A shared string behind a thin pointer, so that a compact value ([`crate::compact::Val`])
/// takes 16 bytes (a fat `Arc<str>` made it 24; the extra allocation is once per distinct
/// text in the pool).
#[derive(Debug, Clone)]
pub struct Text(Arc<Box<str>>);

impl Text {
    /// A text of its own, not shared with a pool.
    pub fn new(s: &str) -> Text {
        Text(Arc::new(s.into()))
    }

    /// A text of its own that takes over `s` (no copy of its bytes).
    pub fn owned(s: String) -> Text {
        Text(Arc::new(s.into_boxed_str()))
    }

    /// Whether both are the same copy (not only the same text).
    pub fn same_copy(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self).hash(h)
    }
}

/// One shared copy per text: the embedded store and the runtime's mirror each hold every
/// state's value, and a home's states repeat a few hundred texts thousands of times. Texts
/// no value holds any more are dropped when the pool has doubled since it was last swept.
#[derive(Default)]
pub struct Strings(Mutex<Pool>);

/// The process's one pool: the model's field names and values, and the values the store
/// and the mirror hold. One pool rather than one for the model and one for the states:
/// most state values are texts the model holds already, and sharing them allocates
/// nothing while a cold start writes its states (small blocks made then, living as long
/// as the process, pinned the holes the start's transient data left in the heap).
pub fn texts() -> &'static Strings {
    static TEXTS: std::sync::LazyLock<Strings> = std::sync::LazyLock::new(Strings::default);
    &TEXTS
}

#[derive(Default)]
struct Pool {
    set: HashSet<Text>,
    sweep_at: usize,
}

impl Strings {
    /// The shared copy of `s`.
    pub fn share(&self, s: &str) -> Text {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = p.set.get(s) {
            return a.clone();
        }
        if p.set.len() >= p.sweep_at {
            p.set.retain(|a| Arc::strong_count(&a.0) > 1);
            p.sweep_at = (p.set.len() * 2).max(1024);
        }
        let a = Text::new(s);
        p.set.insert(a.clone());
        a
    }

    /// Number of distinct texts and the bytes they take.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let text: usize = p.set.iter().map(|a| a.len() + 48).sum();
        (p.set.len(), text + p.set.capacity() * 17)
    }
}
