//! The ioBroker data shapes: objects and states exactly as js-controller stores them,
//! and ioBroker's id glob patterns. Pure types shared by `tree` and `store`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// State quality flags (`q`), a bit field as in js-controller's `constants.ts`.
pub mod quality {
    /// Good value.
    pub const GOOD: u32 = 0x00;
    /// The device is not connected (unreachable): "device not connected".
    pub const DEVICE_NOT_CONNECTED: u32 = 0x42;
}

/// An ioBroker state: `{val, ack, ts, lc, from, q, user?, c?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IobState {
    /// The value: number, string, boolean, null, array or object.
    pub val: Value,
    /// true when the value is confirmed by the adapter (device), false for a user command.
    pub ack: bool,
    /// Time of this write, ms since the epoch.
    pub ts: i64,
    /// Time of the last change of `val`, ms since the epoch.
    pub lc: i64,
    /// Who wrote it, e.g. `system.adapter.hmip.0`.
    pub from: String,
    /// Quality bit field, see [`quality`].
    #[serde(default)]
    pub q: u32,
    /// The user on whose behalf it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// An optional comment (at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<String>,
}

impl IobState {
    /// The state that follows `prev` when `val` is written: `lc` moves only when the value
    /// changed, as js-controller does.
    pub fn next(
        prev: Option<&IobState>,
        val: Value,
        ack: bool,
        from: &str,
        q: u32,
        now: i64,
    ) -> IobState {
        let lc = match prev {
            Some(p) if p.val == val => p.lc,
            _ => now,
        };
        IobState {
            val,
            ack,
            ts: now,
            lc,
            from: from.to_string(),
            q,
            user: Some("system.user.admin".into()),
            c: None,
        }
    }
}

/// An ioBroker object: `{_id, type, common, native, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IobObject {
    /// The full id, e.g. `hmip.0.devices.3014F711A0000000000000AB`.
    #[serde(rename = "_id")]
    pub id: String,
    /// `device`, `channel`, `state`, `folder`, `meta`, `instance`, ...
    #[serde(rename = "type")]
    pub obj_type: String,
    /// The common part: name, role, type, unit, read, write, ...
    #[serde(default)]
    pub common: Map<String, Value>,
    /// Adapter-specific data.
    #[serde(default)]
    pub native: Map<String, Value>,
    /// Everything else js-controller keeps (`from`, `user`, `ts`, `acl`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Now in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Does `id` match the ioBroker glob `pattern`? `*` matches any run of characters (dots
/// included), everything else literally, as js-controller's pattern queries do.
pub fn pattern_matches(pattern: &str, id: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), id.as_bytes());
    // Iterative glob with backtracking to the last star: linear in practice, no recursion.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Check a value written by a user against its state object's `common`, as a UI would:
/// `type` (`null` is refused unless the state is `mixed` or untyped), `min`/`max` for
/// numbers, and the `states` map (the value must be one of its keys; keys are strings, so
/// a number or boolean is compared by its string form). The error is a message for the
/// user, e.g. `value 150 is above max 100`.
pub fn validate_value(common: &Map<String, Value>, val: &Value) -> Result<(), String> {
    if let Some(t) = common.get("type").and_then(Value::as_str) {
        let ok = match t {
            "number" => val.is_number(),
            "string" => val.is_string(),
            "boolean" => val.is_boolean(),
            "array" => val.is_array(),
            "object" => val.is_object(),
            // `mixed` and types we do not know take anything.
            _ => true,
        };
        if !ok {
            let article = if t == "array" || t == "object" {
                "an"
            } else {
                "a"
            };
            return Err(format!("expected {article} {t}, got {}", short(val)));
        }
    }
    if let Some(x) = val.as_f64() {
        if let Some(min) = common.get("min").and_then(Value::as_f64) {
            if x < min {
                return Err(format!("value {val} is below min {}", common["min"]));
            }
        }
        if let Some(max) = common.get("max").and_then(Value::as_f64) {
            if x > max {
                return Err(format!("value {val} is above max {}", common["max"]));
            }
        }
    }
    let keys: Vec<String> = match common.get("states") {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        // The legacy form "0:OFF;1:ON".
        Some(Value::String(s)) => s
            .split(';')
            .filter_map(|kv| kv.split(':').next())
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        // An array, or nothing: no key set to check against.
        _ => Vec::new(),
    };
    if !keys.is_empty() && !keys.iter().any(|k| state_key_matches(k, val)) {
        return Err(format!("{} is not one of {}", short(val), keys.join(", ")));
    }
    Ok(())
}

/// Does `val` equal the `states` key `key` (a string)? Numbers also compare numerically,
/// so `1.0` matches the key `"1"`.
fn state_key_matches(key: &str, val: &Value) -> bool {
    match val {
        Value::String(s) => s == key,
        Value::Bool(b) => key == if *b { "true" } else { "false" },
        Value::Number(n) => {
            n.to_string() == key
                || matches!((n.as_f64(), key.parse::<f64>()), (Some(a), Ok(b)) if a == b)
        }
        _ => false,
    }
}

/// A value as JSON for a message, cut short when long.
fn short(val: &Value) -> String {
    let s = val.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("hmip.0.*", "hmip.0.devices.x.on"));
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches(
            "hmip.0.devices.*.on",
            "hmip.0.devices.a.channels.1.on"
        ));
        assert!(!pattern_matches(
            "hmip.0.devices.*.on",
            "hmip.0.devices.a.channels.1.online"
        ));
        assert!(pattern_matches(
            "hmip.0.info.connection",
            "hmip.0.info.connection"
        ));
        assert!(!pattern_matches("hmip.0.info", "hmip.0.info.connection"));
        assert!(!pattern_matches("hmip.1.*", "hmip.0.x"));
    }

    #[test]
    fn lc_kept_when_value_unchanged() {
        let a = IobState::next(None, Value::from(1), true, "x", 0, 100);
        let b = IobState::next(Some(&a), Value::from(1), true, "x", 0, 200);
        assert_eq!((b.ts, b.lc), (200, 100));
        let c = IobState::next(Some(&b), Value::from(2), true, "x", 0, 300);
        assert_eq!((c.ts, c.lc), (300, 300));
    }

    fn common(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn validate_type() {
        let num = common(serde_json::json!({"type": "number"}));
        assert_eq!(validate_value(&num, &Value::from(3)), Ok(()));
        assert_eq!(
            validate_value(&num, &Value::from("abc")),
            Err(r#"expected a number, got "abc""#.into())
        );
        assert_eq!(
            validate_value(&num, &Value::Null),
            Err("expected a number, got null".into())
        );
        let b = common(serde_json::json!({"type": "boolean"}));
        assert_eq!(validate_value(&b, &Value::from(false)), Ok(()));
        assert_eq!(
            validate_value(&b, &Value::from(1)),
            Err("expected a boolean, got 1".into())
        );
        let s = common(serde_json::json!({"type": "string"}));
        assert!(validate_value(&s, &Value::from(true)).is_err());
        let a = common(serde_json::json!({"type": "array"}));
        assert_eq!(
            validate_value(&a, &serde_json::json!({})),
            Err("expected an array, got {}".into())
        );
        let o = common(serde_json::json!({"type": "object"}));
        assert!(validate_value(&o, &serde_json::json!({"a": 1})).is_ok());
        let m = common(serde_json::json!({"type": "mixed"}));
        assert!(validate_value(&m, &Value::Null).is_ok());
        assert!(validate_value(&m, &Value::from("x")).is_ok());
        assert!(validate_value(&Map::new(), &Value::Null).is_ok());
    }

    #[test]
    fn validate_min_max() {
        let c = common(serde_json::json!({"type": "number", "min": 0, "max": 100}));
        assert_eq!(
            validate_value(&c, &Value::from(150)),
            Err("value 150 is above max 100".into())
        );
        assert_eq!(
            validate_value(&c, &Value::from(-0.5)),
            Err("value -0.5 is below min 0".into())
        );
        assert!(validate_value(&c, &Value::from(100)).is_ok());
        assert!(validate_value(&c, &Value::from(0.0)).is_ok());
    }

    #[test]
    fn validate_states_map() {
        let c = common(serde_json::json!({"type": "string",
            "states": {"OPEN": "open", "LOCKED": "locked", "UNLOCKED": "unlocked"}}));
        assert!(validate_value(&c, &Value::from("LOCKED")).is_ok());
        assert_eq!(
            validate_value(&c, &Value::from("FOO")),
            Err(r#""FOO" is not one of OPEN, LOCKED, UNLOCKED"#.into())
        );
        let n = common(
            serde_json::json!({"type": "number", "states": {"0": "off", "1": "on", "2": "auto"}}),
        );
        assert!(validate_value(&n, &Value::from(2)).is_ok());
        assert!(validate_value(&n, &serde_json::json!(1.0)).is_ok());
        assert_eq!(
            validate_value(&n, &Value::from(3)),
            Err("3 is not one of 0, 1, 2".into())
        );
        let b = common(
            serde_json::json!({"type": "boolean", "states": {"false": "closed", "true": "open"}}),
        );
        assert!(validate_value(&b, &Value::from(true)).is_ok());
        let legacy = common(serde_json::json!({"type": "number", "states": "0:OFF;1:ON"}));
        assert!(validate_value(&legacy, &Value::from(1)).is_ok());
        assert_eq!(
            validate_value(&legacy, &Value::from(5)),
            Err("5 is not one of 0, 1".into())
        );
    }
}
