//! A state's value in a compact form: what the embedded store and the runtime's mirror
//! keep per state instead of a `serde_json::Value` (32 bytes plus, for a string, a
//! `String` with its spare capacity). Nearly every value of a home is a number, a boolean,
//! a short string or null; arrays and objects are rare and kept as their JSON text.
//!
//! The conversion is exact both ways: a value read back is the very `Value` that was
//! stored (an integer stays an integer, `21.0` stays a float), so the stores answer
//! ioBroker's JSON unchanged.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

/// A state's value.
#[derive(Debug, Clone)]
pub enum Val {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON integer within i64.
    Int(i64),
    /// A JSON float.
    Float(f64),
    /// A string, shared with the other values of the same text when made by
    /// [`Val::shared`] (the store's copy and the mirror's, a type name on every device).
    Str(Text),
    /// Anything else (array, object, an integer beyond i64) as its JSON text.
    Json(Box<Box<RawValue>>),
}

/// A shared string behind a thin pointer, so that a [`Val`] takes 16 bytes (a fat
/// `Arc<str>` made it 24; the extra allocation is once per distinct text in the pool).
#[derive(Debug, Clone)]
pub struct Text(Arc<Box<str>>);

impl Text {
    fn new(s: &str) -> Text {
        Text(Arc::new(s.into()))
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

impl Val {
    /// The compact form of `v`, reusing its string.
    pub fn from_value(v: Value) -> Val {
        match v {
            Value::String(s) => Val::Str(Text(Arc::new(s.into_boxed_str()))),
            other => Val::from_ref(&other),
        }
    }

    /// The compact form of `v`, its string taken from (or added to) `strings`.
    pub fn shared(v: &Value, strings: &Strings) -> Val {
        match v {
            Value::String(s) => Val::Str(strings.share(s)),
            other => Val::from_ref(other),
        }
    }

    /// The compact form of `v`.
    pub fn from_ref(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Val::Int(i)
                } else if n.is_f64() {
                    Val::Float(n.as_f64().unwrap_or_default())
                } else {
                    Val::json(v)
                }
            }
            Value::String(s) => Val::Str(Text::new(s)),
            _ => Val::json(v),
        }
    }

    fn json(v: &Value) -> Val {
        // A Value always serialises; the fallback keeps the type total.
        Val::Json(Box::new(serde_json::value::to_raw_value(v).unwrap_or_else(
            |_| RawValue::from_string("null".into()).expect("valid JSON"),
        )))
    }

    /// The value as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::Number((*i).into()),
            Val::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Json(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        }
    }

    /// Is `v` the same value for ioBroker? Numbers compare by value: a JSON number keeps
    /// no integer/float distinction, and js-controller's jsonl database gives back `21`
    /// for the `21.0` the adapter wrote. Anything else compares exactly.
    pub fn same_as(&self, v: &Value) -> bool {
        match (self, v) {
            (Val::Null, Value::Null) => true,
            (Val::Bool(a), Value::Bool(b)) => a == b,
            (Val::Int(a), Value::Number(n)) => {
                n.as_i64() == Some(*a) || n.as_f64() == Some(*a as f64)
            }
            (Val::Float(a), Value::Number(n)) => n.as_f64() == Some(*a),
            (Val::Str(a), Value::String(b)) => **a == *b.as_str(),
            (Val::Json(_), _) => match (self.to_value(), v) {
                (Value::Number(x), Value::Number(y)) => x == *y || x.as_f64() == y.as_f64(),
                (a, b) => a == *b,
            },
            _ => false,
        }
    }

    /// Heap bytes this value holds beyond its own size, shared strings left out (see
    /// [`Strings::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Val::Json(r) => r.get().len(),
            _ => 0,
        }
    }
}

/// String values shared by every value of the same text: a home's states repeat a few
/// hundred texts (types, modes, firmware versions) thousands of times, and the embedded
/// store and the runtime's mirror each hold every value. Texts no value holds any more are
/// dropped when the pool has doubled since it was last swept.
#[derive(Default)]
pub struct Strings(Mutex<Pool>);

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

/// Exact equality (the same JSON), as the `Value`s would compare.
impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Null, Val::Null) => true,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Float(a), Val::Float(b)) => a == b,
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Json(a), Val::Json(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl Serialize for Val {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Null => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Int(i) => s.serialize_i64(*i),
            Val::Float(f) => s.serialize_f64(*f),
            Val::Str(v) => s.serialize_str(v),
            Val::Json(raw) => raw.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_come_back_exactly() {
        for v in [
            json!(null),
            json!(true),
            json!(0),
            json!(-3),
            json!(21.0),
            json!(0.1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(""),
            json!("NOT_USED"),
            json!([1, "a", {"b": 2.0}]),
            json!({"z": 1, "a": [null]}),
        ] {
            let c = Val::from_ref(&v);
            assert_eq!(c.to_value(), v);
            // Exact: the variants of the number too.
            assert_eq!(
                serde_json::to_string(&c.to_value()).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
            assert_eq!(Val::from_value(v.clone()), c);
            assert_eq!(Val::shared(&v, &Strings::default()), c);
            assert!(c.same_as(&v));
        }
    }

    #[test]
    fn a_value_takes_16_bytes() {
        assert_eq!(std::mem::size_of::<Val>(), 16);
    }

    #[test]
    fn equal_strings_are_held_once() {
        let pool = Strings::default();
        let a = Val::shared(&json!("NOT_USED"), &pool);
        let b = Val::shared(&json!("NOT_USED"), &pool);
        match (&a, &b) {
            (Val::Str(x), Val::Str(y)) => assert!(Arc::ptr_eq(&x.0, &y.0)),
            _ => panic!("strings"),
        }
        // Texts no value holds go at a sweep; held ones stay.
        for i in 0..3000 {
            drop(Val::shared(&json!(format!("t{i}")), &pool));
        }
        assert!(pool.heap_bytes().0 < 1100, "{:?}", pool.heap_bytes());
        let c = Val::shared(&json!("NOT_USED"), &pool);
        assert_eq!(c, a);
    }

    #[test]
    fn numbers_are_the_same_by_value() {
        // What js-controller's jsonl database gives back for what the adapter wrote.
        let same = |a: Value, b: Value| Val::from_ref(&a).same_as(&b);
        assert!(same(json!(21), json!(21.0)));
        assert!(same(json!(21.0), json!(21)));
        assert!(same(json!(0.0), json!(0)));
        assert!(same(json!(-3), json!(-3.0)));
        assert!(!same(json!(21), json!(21.5)));
        assert!(!same(json!(1), json!(true)));
        assert!(!same(json!("1"), json!(1)));
        assert!(same(json!(null), json!(null)));
        assert!(!same(json!(null), json!(0)));
        assert!(same(json!([1]), json!([1])));
        assert!(!same(json!([1]), json!([1.0])));
    }
}
