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
}
