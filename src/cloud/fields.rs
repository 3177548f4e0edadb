//! The untyped fields of a device or a channel, held compactly and in the cloud's order.
//!
//! A home's devices repeat one vocabulary of a few hundred field names (`lowBat`,
//! `rssiDeviceValue`, ...) and of string values (`UP_TO_DATE`, firmware versions) on every
//! device and channel. A `serde_json::Map` kept each field as a 104-byte entry (a hash, its
//! own `String` name, a 72-byte `Value`) plus a hash index, and each string value as its
//! own `String`. Here a field is 24 bytes: its name and, for a string value, the text,
//! shared process-wide through one pool, and a compact value ([`Val`]). Look-ups scan the
//! list: a device or channel holds 5 to 60 fields, and the event path walks them in order
//! anyway (`cloud::report`).

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::compact::Val;
use crate::shared_text::{texts, Text};

/// The compact form of a field's value, its string shared through the process's pool
/// ([`texts`]: every field name and string value in use, once; texts nothing holds any
/// more are swept when the pool doubles, so an odd text in one report does not stay for
/// the life of the process).
pub fn compact(v: &Value) -> Val {
    Val::shared(v, texts())
}

/// A device's or a channel's untyped fields, in the order the cloud sent them.
#[derive(Clone, Default, PartialEq)]
pub struct Fields(Vec<(Text, Val)>);

impl Fields {
    /// No fields.
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.0.iter().find(|(k, _)| **k == *name).map(|(_, v)| v)
    }

    /// The value of `name` as JSON (a copy).
    pub fn value(&self, name: &str) -> Option<Value> {
        self.get(name).map(Val::to_value)
    }

    /// The value of `name`, to change it in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Val> {
        self.0
            .iter_mut()
            .find(|(k, _)| **k == *name)
            .map(|(_, v)| v)
    }

    /// Whether `name` is one of the fields.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Set `name` to `value`: in its place when it exists (the old value is returned),
    /// else as the last field.
    pub fn insert(&mut self, name: impl AsRef<str>, value: Value) -> Option<Val> {
        let name = name.as_ref();
        let value = compact(&value);
        if let Some(v) = self.get_mut(name) {
            return Some(std::mem::replace(v, value));
        }
        self.0.push((texts().share(name), value));
        None
    }

    /// Take `name` out, keeping the order of the others.
    pub fn remove(&mut self, name: &str) -> Option<Val> {
        let at = self.0.iter().position(|(k, _)| **k == *name)?;
        Some(self.0.remove(at).1)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Val)> + Clone {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    /// The fields in order, their values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Val)> {
        self.0.iter_mut().map(|(k, v)| (&**k, v))
    }

    /// The names in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields as a JSON object (a copy).
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect()
    }

    /// Give back spare capacity: a parsed device is kept for the life of the home.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = Val;
    /// The value of `name`; panics when there is none, as a map's index does.
    fn index(&self, name: &str) -> &Val {
        self.get(name)
            .unwrap_or_else(|| panic!("no field {name:?}"))
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, &'a Val);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Text, Val)>,
        fn(&'a (Text, Val)) -> (&'a str, &'a Val),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Fields {
    /// Fields in the iterator's order; a repeated name keeps its first place and its last
    /// value, as a JSON object read by serde_json does.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Fields {
        let mut f = Fields::new();
        for (k, v) in iter {
            f.insert(k, v);
        }
        f.shrink_to_fit();
        f
    }
}

impl From<Map<String, Value>> for Fields {
    fn from(map: Map<String, Value>) -> Fields {
        map.into_iter().collect()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Fields to read, from a device or channel ([`Fields`]) or from a JSON object (a group,
/// the home, a nested section): the tree maps both the same way.
#[derive(Clone, Copy, Debug)]
pub enum FieldsRef<'a> {
    /// A device's or a channel's fields.
    Fields(&'a Fields),
    /// A JSON object's.
    Map(&'a Map<String, Value>),
}

impl<'a> FieldsRef<'a> {
    /// The value of `name` (a copy from [`Fields`]).
    pub fn get(self, name: &str) -> Option<Cow<'a, Value>> {
        match self {
            FieldsRef::Fields(f) => f.value(name).map(Cow::Owned),
            FieldsRef::Map(m) => m.get(name).map(Cow::Borrowed),
        }
    }

    /// Whether `name` is one of the fields.
    pub fn contains_key(self, name: &str) -> bool {
        match self {
            FieldsRef::Fields(f) => f.contains_key(name),
            FieldsRef::Map(m) => m.contains_key(name),
        }
    }

    /// The fields in order.
    pub fn iter(self) -> FieldsIter<'a> {
        match self {
            FieldsRef::Fields(f) => FieldsIter::Fields(f.0.iter()),
            FieldsRef::Map(m) => FieldsIter::Map(m.iter()),
        }
    }
}

impl<'a> From<&'a Fields> for FieldsRef<'a> {
    fn from(f: &'a Fields) -> FieldsRef<'a> {
        FieldsRef::Fields(f)
    }
}

impl<'a> From<&'a Map<String, Value>> for FieldsRef<'a> {
    fn from(m: &'a Map<String, Value>) -> FieldsRef<'a> {
        FieldsRef::Map(m)
    }
}

impl<'a> IntoIterator for FieldsRef<'a> {
    type Item = (&'a str, FieldValue<'a>);
    type IntoIter = FieldsIter<'a>;
    fn into_iter(self) -> FieldsIter<'a> {
        self.iter()
    }
}

/// The iterator of [`FieldsRef::iter`].
pub enum FieldsIter<'a> {
    /// Over [`Fields`].
    Fields(std::slice::Iter<'a, (Text, Val)>),
    /// Over a JSON object.
    Map(serde_json::map::Iter<'a>),
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = (&'a str, FieldValue<'a>);
    fn next(&mut self) -> Option<(&'a str, FieldValue<'a>)> {
        match self {
            FieldsIter::Fields(i) => i.next().map(|(k, v)| (&**k, FieldValue::Compact(v))),
            FieldsIter::Map(i) => i.next().map(|(k, v)| (k.as_str(), FieldValue::Json(v))),
        }
    }
}

/// A value of [`FieldsRef::iter`], made JSON only when asked: the event path passes over
/// the fields that did not change.
#[derive(Clone, Copy, Debug)]
pub enum FieldValue<'a> {
    /// A compact value of [`Fields`].
    Compact(&'a Val),
    /// A JSON object's value.
    Json(&'a Value),
}

impl<'a> FieldValue<'a> {
    /// The value as JSON (a copy of a compact one).
    pub fn json(self) -> Cow<'a, Value> {
        match self {
            FieldValue::Compact(v) => Cow::Owned(v.to_value()),
            FieldValue::Json(v) => Cow::Borrowed(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_the_clouds_order_and_answer_as_a_map() {
        let mut f: Fields = [("b", json!(1)), ("a", json!("x")), ("c", json!(null))]
            .into_iter()
            .collect();
        assert_eq!(f.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(f["a"], "x");
        assert_eq!(f.get("z"), None);
        assert_eq!(f.insert("a", json!(2)), Some(compact(&json!("x"))));
        assert_eq!(f.insert("d", json!(true)), None);
        assert_eq!(f.keys().collect::<Vec<_>>(), ["b", "a", "c", "d"]);
        assert_eq!(f.remove("b"), Some(Val::Int(1)));
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"a":2,"c":null,"d":true}"#
        );
        assert_eq!(Fields::from(f.to_map()), f);
    }

    #[test]
    fn a_name_is_held_once_for_every_device() {
        let a: Fields = [("lowBat", json!(false))].into_iter().collect();
        let b: Fields = [("lowBat", json!(true))].into_iter().collect();
        assert!(a.0[0].0.same_copy(&b.0[0].0));
        assert_eq!(std::mem::size_of::<(Text, Val)>(), 24);
        let c: Fields = [("x", json!("UP_TO_DATE"))].into_iter().collect();
        let d: Fields = [("y", json!("UP_TO_DATE"))].into_iter().collect();
        match (&c["x"], &d["y"]) {
            (Val::Str(a), Val::Str(b)) => assert!(a.same_copy(b)),
            other => panic!("{other:?}"),
        }
    }
}
