//! A JSON value in a compact form: what the embedded store and the runtime's mirror keep
//! per state, and the model per field, instead of a `serde_json::Value` (72 bytes with
//! `preserve_order`, plus, for a string, a `String` with its spare capacity). Nearly every
//! value of a home is a number, a boolean, a short string or null; arrays and objects are
//! rare and kept as their JSON text.
//!
//! The conversion is exact both ways: a value read back is the very `Value` that was
//! stored (an integer stays an integer, `21.0` stays a float), so the stores answer
//! ioBroker's JSON unchanged.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

pub use crate::shared_text::{Strings, Text};

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

impl Val {
    /// The compact form of `v`, reusing its string.
    pub fn from_value(v: Value) -> Val {
        match v {
            Value::String(s) => Val::Str(Text::owned(s)),
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

    /// The JSON kind (null, boolean, number, string, array, object as 0 to 5), numbered
    /// as `tree::json_kind` numbers a `Value`'s.
    pub fn kind(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(_) => 1,
            Val::Int(_) | Val::Float(_) => 2,
            Val::Str(_) => 3,
            Val::Json(raw) => match raw.get().as_bytes().first() {
                Some(b'[') => 4,
                Some(b'{') => 5,
                Some(b'"') => 3,
                Some(b't' | b'f') => 1,
                Some(b'n') => 0,
                _ => 2,
            },
        }
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number as a float, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            Val::Json(_) => self.to_value().as_f64(),
            _ => None,
        }
    }

    /// Whether it is a boolean.
    pub fn is_boolean(&self) -> bool {
        self.kind() == 1
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

/// The same JSON, as `Value`s compare (numbers by their JSON form).
impl PartialEq<Value> for Val {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Val::Json(_), _) => self.to_value() == *other,
            (Val::Int(_) | Val::Float(_), Value::Number(_)) => self.to_value() == *other,
            _ => self.same_as(other),
        }
    }
}

impl PartialEq<&str> for Val {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Val {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

/// The value as compact JSON.
impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
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
            (Val::Str(x), Val::Str(y)) => assert!(x.same_copy(y)),
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
