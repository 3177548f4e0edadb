//! Key names, glob escaping and the object fields js-controller keeps: pure functions.
//!
//! Keys follow js-controller's layout: states `io.<id>`, objects `cfg.o.<id>`, the
//! object-type index sets `cfg.s.object.type.<type>`. An ioBroker glob only knows `*`,
//! which means the same in a Redis glob; Redis' other glob characters are escaped so that
//! they match themselves (ioBroker forbids them in ids anyway, so this is belt and braces).

use serde_json::{json, Map, Value};

use crate::iobroker::IobObject;

/// Prefix of state keys (and of state channels on a real Redis).
pub const STATE_PREFIX: &str = "io.";
/// Prefix of object keys and channels.
pub const OBJECT_PREFIX: &str = "cfg.o.";
/// Prefix of the object-type index sets.
pub const TYPE_SET_PREFIX: &str = "cfg.s.object.type.";

/// The key of a state.
pub fn state_key(id: &str) -> String {
    format!("{STATE_PREFIX}{id}")
}

/// The key of an object.
pub fn object_key(id: &str) -> String {
    format!("{OBJECT_PREFIX}{id}")
}

/// The index set of an object type.
pub fn type_set_key(obj_type: &str) -> String {
    format!("{TYPE_SET_PREFIX}{obj_type}")
}

/// An ioBroker glob as a Redis glob: `*` stays, `?`, `[`, `]` and `\` are escaped.
pub fn redis_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if matches!(c, '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A channel or pattern as the states simulator and a real Redis agree on it: the
/// simulator sends state channels without the `io.` prefix (and messagebox channels with
/// it), a real Redis verbatim, so a leading `io.` is dropped.
pub fn strip_io(s: &str) -> &str {
    s.strip_prefix(STATE_PREFIX).unwrap_or(s)
}

/// Who wrote an object and with which rights, when the writer did not say.
pub struct ObjectDefaults<'a> {
    /// `from`, e.g. `system.adapter.hmip.0`.
    pub from: &'a str,
    /// `ts`, ms since the epoch.
    pub now: i64,
}

/// The user js-controller records for adapter writes.
pub const ADMIN_USER: &str = "system.user.admin";

/// js-controller's default ACL of a new object.
pub fn default_acl() -> Value {
    json!({
        "owner": ADMIN_USER,
        "ownerGroup": "system.group.administrator",
        "object": 1636,
        "state": 1636
    })
}

/// The object to store when `new` replaces `old` (if any): what users and other adapters
/// put on the existing object survives unless the writer set it itself — `common.custom`
/// (history, influxdb, … settings), `common.smartName` (iot), `enums` and the `acl` (users
/// change it in admin) — and `from`, `user`, `ts` and a default `acl` are filled in as
/// js-controller does.
pub fn merge_object(mut new: IobObject, old: Option<&IobObject>, d: &ObjectDefaults) -> IobObject {
    if let Some(old) = old {
        for key in ["custom", "smartName"] {
            if !new.common.contains_key(key) {
                if let Some(v) = old.common.get(key) {
                    new.common.insert(key.into(), v.clone());
                }
            }
        }
        if !new.extra.contains_key("enums") {
            if let Some(v) = old.extra.get("enums") {
                new.extra.insert("enums".into(), v.clone());
            }
        }
        if !new.extra.contains_key("acl") {
            if let Some(acl) = old.extra.get("acl") {
                new.extra.insert("acl".into(), acl.clone());
            }
        }
    }
    fill(&mut new.extra, "from", || Value::from(d.from));
    fill(&mut new.extra, "user", || Value::from(ADMIN_USER));
    fill(&mut new.extra, "ts", || Value::from(d.now));
    fill(&mut new.extra, "acl", default_acl);
    new
}

fn fill(map: &mut Map<String, Value>, key: &str, value: impl FnOnce() -> Value) {
    if !map.contains_key(key) {
        map.insert(key.into(), value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> IobObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn globs_escape_redis_specials_only() {
        assert_eq!(redis_glob("hmip.0.*"), "hmip.0.*");
        assert_eq!(redis_glob("a?b[c]\\d"), "a\\?b\\[c\\]\\\\d");
    }

    #[test]
    fn io_prefix_dropped_once() {
        assert_eq!(strip_io("io.hmip.0.x"), "hmip.0.x");
        assert_eq!(strip_io("hmip.0.x"), "hmip.0.x");
        assert_eq!(strip_io("io.io.x"), "io.x");
    }

    #[test]
    fn new_object_gets_js_controller_fields() {
        let d = ObjectDefaults {
            from: "system.adapter.hmip.0",
            now: 42,
        };
        let o = merge_object(obj(json!({"_id": "a", "type": "state"})), None, &d);
        assert_eq!(o.extra["from"], "system.adapter.hmip.0");
        assert_eq!(o.extra["user"], ADMIN_USER);
        assert_eq!(o.extra["ts"], 42);
        assert_eq!(o.extra["acl"], default_acl());
    }

    #[test]
    fn replace_keeps_what_others_put_there() {
        let d = ObjectDefaults { from: "x", now: 1 };
        let old = obj(json!({"_id": "a", "type": "state",
            "common": {"name": "old", "custom": {"history.0": {"enabled": true}}, "smartName": "Lamp"},
            "enums": {"enum.rooms.kitchen": "Kitchen"},
            "acl": {"owner": "system.user.bob", "ownerGroup": "g", "object": 1604, "state": 1604}}));
        let new =
            obj(json!({"_id": "a", "type": "state", "common": {"name": "new"}, "from": "me"}));
        let m = merge_object(new, Some(&old), &d);
        assert_eq!(m.common["name"], "new");
        assert_eq!(m.common["custom"], old.common["custom"]);
        assert_eq!(m.common["smartName"], "Lamp");
        assert_eq!(m.extra["enums"], old.extra["enums"]);
        assert_eq!(m.extra["acl"], old.extra["acl"]);
        assert_eq!(m.extra["from"], "me");
        // What the writer sets itself wins.
        let new = obj(
            json!({"_id": "a", "type": "state", "common": {"custom": {}},
            "acl": {"owner": "system.user.admin"}}),
        );
        let m = merge_object(new, Some(&old), &d);
        assert_eq!(m.common["custom"], json!({}));
        assert_eq!(m.extra["acl"], json!({"owner": "system.user.admin"}));
    }
}
