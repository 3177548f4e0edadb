//! A state's value in a compact form: what the embedded store and the runtime's mirror
//! keep per state instead of a `serde_json::Value` (32 bytes plus, for a string, a
//! `String` with its spare capacity). Nearly every value of a home is a number, a boolean,
//! a short string or null; arrays and objects are rare and kept as their JSON text.
//!
//! The conversion is exact both ways: a value read back is the very `Value` that was
//! stored (an integer stays an integer, `21.0` stays a float), so the stores answer
//! ioBroker's JSON unchanged.

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
    /// A string.
    Str(Box<str>),
    /// Anything else (array, object, an integer beyond i64) as its JSON text.
    Json(Box<RawValue>),
}

impl Val {
    /// The compact form of `v`, reusing its string.
    pub fn from_value(v: Value) -> Val {
        match v {
            Value::String(s) => Val::Str(s.into_boxed_str()),
            other => Val::from_ref(&other),
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
            Value::String(s) => Val::Str(s.as_str().into()),
            _ => Val::json(v),
        }
    }

    fn json(v: &Value) -> Val {
        // A Value always serialises; the fallback keeps the type total.
        Val::Json(
            serde_json::value::to_raw_value(v)
                .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("valid JSON")),
        )
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
            (Val::Str(a), Value::String(b)) => **a == **b,
            (Val::Json(_), _) => match (self.to_value(), v) {
                (Value::Number(x), Value::Number(y)) => x == *y || x.as_f64() == y.as_f64(),
                (a, b) => a == *b,
            },
            _ => false,
        }
    }

    /// Heap bytes this value holds beyond its own size.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Val::Str(s) => s.len(),
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
            assert!(c.same_as(&v));
        }
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
