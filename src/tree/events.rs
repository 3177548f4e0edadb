//! Button presses, door bells and key-pad codes: events the cloud pushes once
//! (`DEVICE_CHANNEL_EVENT`, `DEVICE_CODE_STATE_EVENT`) rather than as changed fields.
//! ioBroker.hmip drops them; here each becomes a state written every time the event
//! arrives, even with an equal value, so "on update" triggers fire once per press.
//!
//! The press states carry ioBroker's button roles (`button.press`, `button.long`), which
//! the role rules make write-only. Writing `true` to one re-fires it locally: the cloud
//! offers no way to press a wall switch remotely, but scripts can test their triggers.
//!
//! ioBroker.hmip 3.x's ids are there too, with its meaning, so that migrated scripts keep
//! their triggers: `<channel>.events.<channelEventType>` (KEY_PRESS_SHORT, …,
//! DOOR_BELL_SENSOR_EVENT) and `devices.<id>.events.<codeState>` with `events.codeIndex`:
//! read-only `indicator` booleans, set to true (acknowledged) on every event and never
//! reset, so every event is an update to subscribe to.

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

/// ioBroker.hmip's channel types whose `events.*` states exist before the first event.
pub const HMIP_EVENT_CHANNEL_TYPES: &[&str] = &[
    "SINGLE_KEY_CHANNEL",
    "MULTI_MODE_INPUT_CHANNEL",
    "MULTI_MODE_INPUT_SWITCH_CHANNEL",
    "MULTI_MODE_INPUT_BLIND_CHANNEL",
    "MULTI_MODE_INPUT_DIMMER_CHANNEL",
    "MULTI_MODE_LOCK_INPUT_CHANNEL",
    "GENERIC_INPUT_CHANNEL",
    "GENERIC_SWITCH_INPUT_CHANNEL",
];

/// The `channelEventType`s whose `events.*` state those channels have from the start;
/// another event type gets its state on its first event.
pub const HMIP_CHANNEL_EVENTS: &[&str] = &[
    "DOOR_BELL_SENSOR_EVENT",
    "KEY_PRESS_SHORT",
    "KEY_PRESS_LONG",
    "KEY_PRESS_LONG_START",
    "KEY_PRESS_LONG_STOP",
];

/// Channel types that make a device a key pad: its `events.<codeState>` states exist
/// before the first code is entered (a code event names only the device).
pub const HMIP_CODE_CHANNEL_TYPES: &[&str] = &[
    "DEVICE_BLOCKING_WITH_TEACHABLE_CODE",
    "CODE_PROTECTED_PRIMARY_ACTION_CHANNEL",
    "CODE_PROTECTED_SECONDARY_ACTION_CHANNEL",
    "CODE_PROTECTED_SINGLE_ACTION_CHANNEL",
    "MULTI_MODE_LOCK_INPUT_CHANNEL",
];

/// The `codeState`s of a `DEVICE_CODE_STATE_EVENT` whose states exist from the start.
pub const HMIP_CODE_STATES: &[&str] = &["KNOWN_CODE_ID_RECEIVED", "UNKNOWN_CODE_DETECTED"];

/// The folder of ioBroker.hmip's event states below a channel or device.
pub const EVENTS: &str = "events";

/// The row of an ioBroker.hmip event state (`events.<name>`): a read-only indicator.
pub static HMIP_EVENT_ROW: FieldRow = FieldRow::new(&[], "", "indicator", "boolean");

/// The row of `events.codeIndex`, the index of the last code entered.
pub static HMIP_CODE_INDEX_ROW: FieldRow = FieldRow::new(&[], "codeIndex", "value", "number");

/// Whether the cloud's name can become the last segment of an id, as ioBroker.hmip
/// requires: one of its own upper-case identifiers.
pub fn is_event_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

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
/// ioBroker.hmip's `events.<type>`, the event type and its time. Unknown event types
/// still show in `lastEvent`.
pub fn channel_event_values(ns: &str, ev: &ChannelEvent, now_ms: i64) -> Vec<TreeValue> {
    let base = channel_id(ns, ev);
    let mut out = Vec::with_capacity(4);
    if let Some(field) = press_field(&ev.event_type) {
        out.push(TreeValue {
            id: format!("{base}.{field}"),
            val: Value::Bool(true),
        });
    }
    if is_event_name(&ev.event_type) {
        out.push(TreeValue {
            id: format!("{base}.{EVENTS}.{}", ev.event_type),
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
/// `lastCodeIndex`, `lastCodeState`, `lastCodeTime`; and ioBroker.hmip's
/// `events.codeIndex` before `events.<codeState>`, so that a script woken by the event
/// reads this event's index.
pub fn code_event_values(
    ns: &str,
    device_id: &str,
    code_index: i64,
    code_state: &str,
    now_ms: i64,
) -> Vec<TreeValue> {
    let device = ids::device(ns, device_id);
    let base = format!("{device}.info");
    let mut hmip = vec![TreeValue {
        id: format!("{device}.{EVENTS}.codeIndex"),
        val: json!(code_index),
    }];
    if is_event_name(code_state) {
        hmip.push(TreeValue {
            id: format!("{device}.{EVENTS}.{code_state}"),
            val: Value::Bool(true),
        });
    }
    let ours = vec![
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
    ];
    hmip.into_iter().chain(ours).collect()
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
        assert_eq!(
            v[1],
            TreeValue {
                id: "hmip.0.devices.D.channels.2.events.KEY_PRESS_SHORT".into(),
                val: json!(true)
            },
            "ioBroker.hmip's event state, true on every press"
        );
        assert_eq!(v[2].val, json!("KEY_PRESS_SHORT"));
        assert_eq!(v[3].val, json!(5));
        let ev = ChannelEvent {
            event_type: "SOMETHING_NEW".into(),
            ..ev
        };
        let v = channel_event_values("hmip.0", &ev, 5);
        assert_eq!(
            v.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            [
                "hmip.0.devices.D.channels.2.events.SOMETHING_NEW",
                "hmip.0.devices.D.channels.2.lastEvent",
                "hmip.0.devices.D.channels.2.lastEventTime"
            ],
            "an unknown event type gets its events state (as in ioBroker.hmip) and shows in lastEvent"
        );
        let ev = ChannelEvent {
            event_type: "../x".into(),
            ..ev
        };
        assert_eq!(
            channel_event_values("hmip.0", &ev, 5).len(),
            2,
            "a name that is no identifier makes no id"
        );
        assert!(
            !EVENT_ROWS[0].readable() && EVENT_ROWS[0].writable(),
            "button roles are write-only"
        );
    }

    #[test]
    fn a_code_event_sets_the_index_before_the_event() {
        let v = code_event_values("hmip.0", "D", 3, "KNOWN_CODE_ID_RECEIVED", 7);
        assert_eq!(v[0].id, "hmip.0.devices.D.events.codeIndex");
        assert_eq!(v[0].val, json!(3));
        assert_eq!(v[1].id, "hmip.0.devices.D.events.KNOWN_CODE_ID_RECEIVED");
        assert_eq!(v[1].val, json!(true));
        assert_eq!(v[2].id, "hmip.0.devices.D.info.lastCodeIndex");
    }

    /// ioBroker.hmip 3.2.0 creates 671 event states for the fixture: five on each of its
    /// 133 key, input and multi-mode channels, two on each of its 3 key pads.
    #[test]
    fn the_fixture_has_iobroker_hmips_event_states_from_the_start() {
        let home: crate::cloud::CurrentState =
            serde_json::from_str(include_str!("../../tests/fixtures/home.json")).unwrap();
        let snap = crate::tree::snapshot("hmip.0", &home);
        let events: Vec<_> = snap
            .objects
            .iter()
            .filter(|o| o.obj_type == "state" && o.id.contains(".events."))
            .collect();
        let on_channels = events
            .iter()
            .filter(|o| o.id.contains(".channels."))
            .count();
        assert_eq!((on_channels, events.len() - on_channels), (133 * 5, 3 * 2));
        for o in &events {
            assert_eq!(o.common["role"], "indicator", "{}", o.id);
            assert_eq!(o.common["type"], "boolean");
            assert_eq!(
                (&o.common["read"], &o.common["write"]),
                (&json!(true), &json!(false))
            );
            let parent = &o.id[..o.id.rfind('.').unwrap()];
            assert!(
                snap.objects
                    .iter()
                    .any(|p| p.id == parent && p.obj_type == "folder"),
                "{} has its folder",
                o.id
            );
        }
        assert!(events.iter().any(|o| o.id
            == "hmip.0.devices.3014F7110000000000000029.channels.1.events.KEY_PRESS_LONG_STOP"));
    }
}
