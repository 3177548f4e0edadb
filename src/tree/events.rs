//! Button presses, door bells and key-pad codes: events the cloud pushes once
//! (`DEVICE_CHANNEL_EVENT`, `DEVICE_CODE_STATE_EVENT`) rather than as changed fields.
//! ioBroker.hmip drops them; here each becomes a state written every time the event
//! arrives, even with an equal value, so "on update" triggers fire once per press.
//!
//! The press states carry ioBroker's button roles (`button.press`, `button.long`), which
//! the role rules make write-only. Writing `true` to one re-fires it locally: the cloud
//! offers no way to press a wall switch remotely, but scripts can test their triggers.

use serde_json::{json, Value};

use super::table::FieldRow;
use super::{ids, TreeValue};
use crate::cloud::ChannelEvent;

/// Channel types that send `DEVICE_CHANNEL_EVENT` (keys, inputs, bells): their event
/// states exist before the first press, so scripts can subscribe to them.
pub const EVENT_CHANNEL_TYPES: &[&str] = &[
    "SINGLE_KEY_CHANNEL",
    "MULTI_MODE_INPUT_CHANNEL",
    "MULTI_MODE_LOCK_INPUT_CHANNEL",
    "GENERIC_INPUT_CHANNEL",
    "INPUT_QUICK_ACTION_DISPLAY_CHANNEL",
];

/// The event states of a channel; empty `types` because a channel of another type gets
/// them too, on its first event.
pub static EVENT_ROWS: &[FieldRow] = &[
    FieldRow::param(&[], "press", "button.press", "boolean"),
    FieldRow::param(&[], "pressLong", "button.long", "boolean"),
    FieldRow::param(&[], "doorBell", "button.press", "boolean"),
    FieldRow::new(&[], "lastEvent", "text", "string"),
    FieldRow::new(&[], "lastEventTime", "value.time", "number"),
];

/// The event state a channel event type sets to true, if any.
fn press_field(event_type: &str) -> Option<&'static str> {
    match event_type {
        "KEY_PRESS_SHORT" => Some("press"),
        // A long press repeats while held; START marks its beginning. STOP only shows
        // in lastEvent.
        "KEY_PRESS_LONG" | "KEY_PRESS_LONG_START" => Some("pressLong"),
        "DOOR_BELL_SENSOR_EVENT" => Some("doorBell"),
        _ => None,
    }
}

/// The channel id an event belongs to.
pub fn channel_id(ns: &str, ev: &ChannelEvent) -> String {
    format!(
        "{}.channels.{}",
        ids::device(ns, &ev.device_id),
        ev.channel_index
    )
}

/// The values a channel event writes (every time, even when equal): the press state,
/// the event type and its time. Unknown event types still show in `lastEvent`.
pub fn channel_event_values(ns: &str, ev: &ChannelEvent, now_ms: i64) -> Vec<TreeValue> {
    let base = channel_id(ns, ev);
    let mut out = Vec::with_capacity(3);
    if let Some(field) = press_field(&ev.event_type) {
        out.push(TreeValue {
            id: format!("{base}.{field}"),
            val: Value::Bool(true),
        });
    }
    out.push(TreeValue {
        id: format!("{base}.lastEvent"),
        val: json!(ev.event_type),
    });
    out.push(TreeValue {
        id: format!("{base}.lastEventTime"),
        val: json!(now_ms),
    });
    out
}

/// The states a key-pad code event writes, under the device's `info`:
/// `lastCodeIndex`, `lastCodeState`, `lastCodeTime`.
pub fn code_event_values(
    ns: &str,
    device_id: &str,
    code_index: i64,
    code_state: &str,
    now_ms: i64,
) -> Vec<TreeValue> {
    let base = format!("{}.info", ids::device(ns, device_id));
    vec![
        TreeValue {
            id: format!("{base}.lastCodeIndex"),
            val: json!(code_index),
        },
        TreeValue {
            id: format!("{base}.lastCodeState"),
            val: json!(code_state),
        },
        TreeValue {
            id: format!("{base}.lastCodeTime"),
            val: json!(now_ms),
        },
    ]
}

/// Rows of the key-pad code states (under the device's `info` channel).
pub static CODE_ROWS: &[FieldRow] = &[
    FieldRow::new(&[], "lastCodeIndex", "value", "number"),
    FieldRow::new(&[], "lastCodeState", "text", "string"),
    FieldRow::new(&[], "lastCodeTime", "value.time", "number"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_map_to_button_states() {
        let ev = ChannelEvent {
            device_id: "D".into(),
            channel_index: 2,
            event_type: "KEY_PRESS_SHORT".into(),
        };
        let v = channel_event_values("hmip.0", &ev, 5);
        assert_eq!(
            v[0],
            TreeValue {
                id: "hmip.0.devices.D.channels.2.press".into(),
                val: json!(true)
            }
        );
        assert_eq!(v[1].val, json!("KEY_PRESS_SHORT"));
        assert_eq!(v[2].val, json!(5));
        let ev = ChannelEvent {
            event_type: "SOMETHING_NEW".into(),
            ..ev
        };
        let v = channel_event_values("hmip.0", &ev, 5);
        assert_eq!(v.len(), 2, "an unknown event type still shows in lastEvent");
        assert!(
            !EVENT_ROWS[0].readable() && EVENT_ROWS[0].writable(),
            "button roles are write-only"
        );
    }
}
