//! A value for some of the interned ids: a 4-byte place per id, the values themselves only
//! for the ids that have one.
//!
//! The store's and the mirror's states were a `Vec<Option<T>>` indexed by [`Id`]: 40 bytes
//! for every id, the folders, devices and channels and every prefix included, which have no
//! state (a fifth of the ids of a home). Here an id without a value costs its place only.

use super::ids::{reserve_by_eighth, slot, Id};

/// Values by [`Id`], for the ids that have one.
pub struct IdSlots<T> {
    /// Per id index: 1 + the value's position in `values`, 0 for none.
    places: Vec<u32>,
    /// The values; a `None` is a hole left by a removal, reused by the next insert.
    values: Vec<Option<T>>,
    /// The holes in `values`.
    holes: Vec<u32>,
}

impl<T> Default for IdSlots<T> {
    fn default() -> Self {
        IdSlots {
            places: Vec::new(),
            values: Vec::new(),
            holes: Vec::new(),
        }
    }
}

impl<T> IdSlots<T> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len() - self.holes.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn position(&self, id: Id) -> Option<usize> {
        match self.places.get(id.index()) {
            Some(&p) if p > 0 => Some(p as usize - 1),
            _ => None,
        }
    }

    /// The value of `id`.
    pub fn get(&self, id: Id) -> Option<&T> {
        self.values[self.position(id)?].as_ref()
    }

    /// The value of `id`, to change it.
    pub fn get_mut(&mut self, id: Id) -> Option<&mut T> {
        let p = self.position(id)?;
        self.values[p].as_mut()
    }

    /// Set the value of `id`; the one it replaces.
    pub fn insert(&mut self, id: Id, value: T) -> Option<T> {
        if let Some(p) = self.position(id) {
            return self.values[p].replace(value);
        }
        let p = match self.holes.pop() {
            Some(p) => {
                self.values[p as usize] = Some(value);
                p
            }
            None => {
                // Doubling would leave up to half of the values' room unused.
                let len = self.values.len() + 1;
                reserve_by_eighth(&mut self.values, len);
                self.values.push(Some(value));
                u32::try_from(self.values.len()).expect("fewer than 2^32 values") - 1
            }
        };
        *slot(&mut self.places, id, || 0) = p + 1;
        None
    }

    /// Remove the value of `id`; the one there was.
    pub fn remove(&mut self, id: Id) -> Option<T> {
        let p = self.position(id)?;
        self.places[id.index()] = 0;
        self.holes.push(p as u32);
        self.values[p].take()
    }

    /// Every value with its id, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &T)> + '_ {
        self.places.iter().enumerate().filter_map(|(i, &p)| {
            let value = self.values[(p as usize).checked_sub(1)?].as_ref()?;
            Some((Id::from_index(i), value))
        })
    }

    /// Bytes of memory the places and values take (not what the values point to).
    pub fn heap_bytes(&self) -> usize {
        self.places.capacity() * 4
            + self.values.capacity() * std::mem::size_of::<Option<T>>()
            + self.holes.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_id_with_holes_reused() {
        let mut s = IdSlots::default();
        let id = Id::from_index;
        assert!(s.is_empty());
        assert_eq!(s.get(id(5)), None);
        assert_eq!(s.insert(id(5), "five"), None);
        assert_eq!(s.insert(id(2), "two"), None);
        assert_eq!(s.insert(id(9), "nine"), None);
        assert_eq!(s.insert(id(5), "FIVE"), Some("five"));
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(id(5)), Some(&"FIVE"));
        assert_eq!(s.get(id(3)), None, "an id below the highest with no value");
        assert_eq!(s.get(id(100)), None, "an id beyond every place");
        *s.get_mut(id(2)).unwrap() = "TWO";
        let all: Vec<_> = s.iter().map(|(i, v)| (i.index(), *v)).collect();
        assert_eq!(all, [(2, "TWO"), (5, "FIVE"), (9, "nine")], "in id order");
        assert_eq!(s.remove(id(5)), Some("FIVE"));
        assert_eq!(s.remove(id(5)), None);
        assert_eq!(s.get(id(5)), None);
        assert_eq!(s.len(), 2);
        // The hole is taken again, not a new value's room.
        let room = s.values.len();
        assert_eq!(s.insert(id(7), "seven"), None);
        assert_eq!(s.values.len(), room);
        let all: Vec<_> = s.iter().map(|(i, v)| (i.index(), *v)).collect();
        assert_eq!(all, [(2, "TWO"), (7, "seven"), (9, "nine")]);
        // Many, removed and put back in another order: each id keeps its own value.
        let mut s = IdSlots::default();
        for i in 0..5000 {
            s.insert(id(i * 3), i);
        }
        for i in (0..5000).filter(|i| i % 2 == 0) {
            assert_eq!(s.remove(id(i * 3)), Some(i));
        }
        for i in (0..5000).filter(|i| i % 2 == 0).rev() {
            s.insert(id(i * 3 + 1), i + 10_000);
        }
        assert_eq!(s.len(), 5000);
        for i in 0..5000 {
            let (kept, moved) = (s.get(id(i * 3)), s.get(id(i * 3 + 1)));
            if i % 2 == 0 {
                assert_eq!((kept, moved), (None, Some(&(i + 10_000))));
            } else {
                assert_eq!((kept, moved), (Some(&i), None));
            }
        }
    }
}
