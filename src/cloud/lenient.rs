//! Reading the model from what the cloud sends when part of it does not fit.
//!
//! The typed model ([`super::model`]) refuses a whole `getCurrentState` answer when one
//! device has a `label` that is an object or `functionalChannels` that is a number. For a
//! bridge that must keep working that is the wrong scale of failure: the home would never
//! load, the adapter would reconnect and fetch it again forever, and no event would ever
//! reach ioBroker. So the answer is read entity by entity: a typed field of the wrong type
//! (`id`, `type`, `label`, `functionalChannels`, a channel, `functionalChannelType`) is left
//! out or, for an id, taken from the map key; an entity that cannot be read at all (no
//! id) is skipped. Everything else of it is kept. Each repair is described in a note.
//!
//! The same applies to the device, group, client or home of a pushed event
//! ([`entity`]), so that a device the cloud sends oddly keeps being updated, with one
//! difference: an event replaces the device in the adapter's model, so an event whose
//! `functionalChannels` or one of whose channels is not an object is refused whole
//! rather than read without them (which would drop those channels until the next
//! `getCurrentState`).
//!
//! A well-formed answer takes the strict path unchanged (and without notes); the fuzz
//! target `model` checks that both agree on it.
//!
//! The notes are logged by [`log_once`]: once per distinct note for the life of the
//! process, since a home is fetched again after every reconnect and a device reports
//! again and again.

use std::collections::HashSet;
use std::sync::Mutex;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::model::{CurrentState, Home};

/// Read a `getCurrentState` answer, repairing what does not fit the model. Fails only
/// when there is no home to speak of (not an object, or no home id). The notes say what
/// was repaired or skipped, one per cause.
pub fn current_state(answer: Value) -> Result<(CurrentState, Vec<String>), String> {
    // The common case: everything fits.
    if let Ok(state) = CurrentState::deserialize(&answer) {
        return Ok((state, Vec::new()));
    }
    let Value::Object(mut top) = answer else {
        return Err(format!("the answer is {}, not an object", kind(&answer)));
    };
    let mut notes = Vec::new();
    let home = match top.remove("home") {
        Some(h) => entity::<Home>("home", &h, &mut notes)?,
        None => return Err("the answer has no \"home\"".into()),
    };
    let devices = map_of(&mut top, "devices", "device", &mut notes);
    let groups = map_of(&mut top, "groups", "group", &mut notes);
    let clients = map_of(&mut top, "clients", "client", &mut notes);
    Ok((
        CurrentState {
            home,
            devices,
            groups,
            clients,
            extra: top,
        },
        notes,
    ))
}

/// Read one device, group, client or home (`what`), repairing typed fields of the wrong
/// type; notes are appended to `notes`. Fails when it cannot be read at all.
pub fn entity<T: DeserializeOwned>(
    what: &str,
    raw: &Value,
    notes: &mut Vec<String>,
) -> Result<T, String> {
    if let Ok(v) = T::deserialize(raw) {
        return Ok(v);
    }
    let fixed = repair(what, None, raw, notes, Source::Event)?;
    T::deserialize(&fixed).map_err(|e| format!("{what} cannot be read: {e}"))
}

/// The entities of one map of the answer (`devices`, …), each read on its own.
fn map_of<T: DeserializeOwned>(
    top: &mut Map<String, Value>,
    key: &str,
    what: &str,
    notes: &mut Vec<String>,
) -> IndexMap<String, T> {
    let mut out = IndexMap::new();
    match top.remove(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (k, raw) in entries {
                let read =
                    repair(what, Some(&k), &raw, notes, Source::Snapshot).and_then(|fixed| {
                        T::deserialize(&fixed)
                            .map_err(|e| format!("{what} {k} cannot be read: {e}"))
                    });
                match read {
                    Ok(v) => {
                        out.insert(k, v);
                    }
                    Err(e) => notes.push(format!("{e}; it is left out")),
                }
            }
        }
        Some(other) => notes.push(format!(
            "\"{key}\" is {}, not a map; no {what} is read from it",
            kind(&other)
        )),
    }
    out
}

/// Where an entity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A `getCurrentState` answer: what cannot be read is left out.
    Snapshot,
    /// A pushed event: a channel map or channel that cannot be read refuses the event.
    Event,
}

/// A copy of `raw` whose typed fields fit the model. `key` is the entity's map key (a
/// fallback id).
fn repair(
    what: &str,
    key: Option<&str>,
    raw: &Value,
    notes: &mut Vec<String>,
    source: Source,
) -> Result<Value, String> {
    let name = |id: &str| format!("{what} {id}");
    let Value::Object(obj) = raw else {
        return Err(format!(
            "{} is {}, not an object",
            key.map_or_else(|| what.to_string(), name),
            kind(raw)
        ));
    };
    let mut obj = obj.clone();
    let id = match (obj.get("id"), key) {
        (Some(Value::String(id)), _) => id.clone(),
        (found, Some(k)) if !k.is_empty() => {
            notes.push(format!(
                "{}: \"id\" is {}; the map key is used instead",
                name(k),
                found.map_or("missing", kind)
            ));
            obj.insert("id".into(), Value::String(k.to_string()));
            k.to_string()
        }
        (found, _) => {
            return Err(format!(
                "{what} has no usable id (\"id\" is {})",
                found.map_or("missing", kind)
            ))
        }
    };
    let who = name(&id);
    // The typed fields besides the id (a home has none; a client's `type` is untyped).
    let typed: &[&str] = match what {
        "device" | "group" => &["type", "label"],
        "client" => &["label"],
        _ => &[],
    };
    for &field in typed {
        drop_unless(&mut obj, field, &who, notes, |v| {
            v.is_string() || (field == "label" && v.is_null())
        });
    }
    if what == "device" {
        if source == Source::Event {
            let channels = obj.get("functionalChannels");
            if let Some(bad) = channels.filter(|c| !c.is_object()) {
                return Err(format!(
                    "{who}: \"functionalChannels\" is {}, not a map",
                    kind(bad)
                ));
            }
            let all = channels.and_then(Value::as_object).into_iter().flatten();
            if let Some((k, ch)) = all.into_iter().find(|(_, ch)| !ch.is_object()) {
                return Err(format!("{who}: channel {k} is {}, not an object", kind(ch)));
            }
        }
        drop_unless(
            &mut obj,
            "functionalChannels",
            &who,
            notes,
            Value::is_object,
        );
        if let Some(Value::Object(channels)) = obj.get_mut("functionalChannels") {
            channels.retain(|k, ch| {
                let ok = ch.is_object();
                if !ok {
                    notes.push(format!(
                        "{who}: channel {k} is {}, not an object; it is left out",
                        kind(ch)
                    ));
                }
                ok
            });
            for (k, ch) in channels.iter_mut() {
                if let Value::Object(ch) = ch {
                    let who = format!("{who} channel {k}");
                    drop_unless(ch, "functionalChannelType", &who, notes, Value::is_string);
                }
            }
        }
    }
    Ok(Value::Object(obj))
}

/// Remove `field` from `obj` (with a note) unless `fits` its value.
fn drop_unless(
    obj: &mut Map<String, Value>,
    field: &str,
    who: &str,
    notes: &mut Vec<String>,
    fits: impl Fn(&Value) -> bool,
) {
    if let Some(v) = obj.get(field).filter(|v| !fits(v)) {
        notes.push(format!(
            "{who}: \"{field}\" is {}, not what the model expects; it is read without it",
            kind(v)
        ));
        obj.shift_remove(field);
    }
}

/// At most this many distinct notes are remembered; past it, notes are logged again.
const REMEMBERED: usize = 10_000;

/// Log each note as a warning, once per distinct note for the life of the process.
pub fn log_once(context: &str, notes: &[String]) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    for note in notes {
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        if seen.insert(note.clone()) {
            tracing::warn!("{context}: {note}");
        }
    }
}

/// The JSON kind of a value, for messages ("a string", "an object", ...).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::model::{Client, Device, Group};
    use serde_json::json;

    fn home() -> Value {
        json!({
            "home": {"id": "H", "connected": true},
            "devices": {
                "good": {"id": "good", "type": "PLUGABLE_SWITCH", "label": "ok",
                    "functionalChannels": {"1": {"functionalChannelType": "SWITCH_CHANNEL", "on": true}}},
                "badLabel": {"id": "badLabel", "type": null, "label": {"x": 1}, "firmwareVersion": "1.0",
                    "functionalChannels": {"0": {"functionalChannelType": 7, "lowBat": false}, "1": 5}},
                "noChannels": {"id": 42, "functionalChannels": 3},
                "notAnObject": [1, 2]
            },
            "groups": {"G": {"id": "G", "type": ["HEATING"], "label": "g"}},
            "clients": 17,
            "somethingNew": true
        })
    }

    #[test]
    fn a_bad_device_spoils_only_its_bad_fields() {
        let (state, notes) = current_state(home()).unwrap();
        assert_eq!(
            state.devices.keys().collect::<Vec<_>>(),
            ["good", "badLabel", "noChannels"]
        );
        let d = &state.devices["badLabel"];
        assert_eq!((d.device_type.as_str(), d.label.as_deref()), ("", None));
        assert_eq!(d.fields["firmwareVersion"], "1.0");
        assert_eq!(d.channels.len(), 1);
        assert_eq!(d.channels["0"].channel_type, "");
        assert_eq!(d.channels["0"].fields["lowBat"], false);
        let d = &state.devices["noChannels"];
        assert_eq!(d.id, "noChannels", "the map key stands in for a bad id");
        assert!(d.channels.is_empty());
        assert_eq!(state.groups["G"].group_type, "");
        assert!(state.clients.is_empty());
        assert_eq!(state.extra["somethingNew"], true);
        let all = notes.join("\n");
        for needle in [
            "device badLabel: \"type\" is null",
            "device badLabel: \"label\" is an object",
            "device badLabel channel 0: \"functionalChannelType\" is a number",
            "device badLabel: channel 1 is a number",
            "device noChannels: \"id\" is a number; the map key is used instead",
            "device noChannels: \"functionalChannels\" is a number",
            "device notAnObject is an array, not an object; it is left out",
            "group G: \"type\" is an array",
            "\"clients\" is a number, not a map",
        ] {
            assert!(all.contains(needle), "no note {needle:?} in:\n{all}");
        }
        assert_eq!(notes.len(), 9, "{all}");
    }

    #[test]
    fn a_good_answer_has_no_notes_and_no_home_is_an_error() {
        let mut good = home();
        good["devices"] = json!({"good": good["devices"]["good"].clone()});
        good["groups"] = json!({});
        good["clients"] = json!({});
        let (state, notes) = current_state(good.clone()).unwrap();
        assert!(notes.is_empty());
        assert_eq!(state, serde_json::from_value::<CurrentState>(good).unwrap());
        assert!(current_state(json!([1])).is_err());
        assert!(current_state(json!({"devices": {}})).is_err());
        assert!(current_state(json!({"home": {"id": 5}})).is_err());
    }

    /// Regression (fuzz/corpus/model/regression-float-round-trip.json): an integer beyond
    /// u64 parsed as a float, serialised and parsed again came back one bit off, so a
    /// value persisted by the store and read back after a restart was not equal to the
    /// cloud's (serde_json's fast float parsing; the `float_roundtrip` feature fixes it).
    #[test]
    fn numbers_survive_a_round_trip_exactly() {
        let raw = r#"{"home": {"id": "H", "a": 15577675599318446744073709551615, "b": 0.1, "c": 1e-320}}"#;
        let state: CurrentState = serde_json::from_str(raw).unwrap();
        let again: CurrentState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn an_event_entity_is_repaired_the_same_way() {
        let mut notes = Vec::new();
        let d: Device = entity(
            "device",
            &json!({"id": "D", "label": 5, "functionalChannels": {"1": {"functionalChannelType": "SWITCH_CHANNEL", "on": false}}}),
            &mut notes,
        )
        .unwrap();
        assert_eq!((d.label, d.channels.len()), (None, 1));
        assert_eq!(notes.len(), 1);
        // Channels that cannot be read refuse the event: it would replace the device.
        for bad in [
            json!({"id": "D", "functionalChannels": 3}),
            json!({"id": "D", "functionalChannels": {"0": {"functionalChannelType": "DEVICE_BASE"}, "1": []}}),
        ] {
            let e = entity::<Device>("device", &bad, &mut notes).unwrap_err();
            assert!(e.starts_with("device D: "), "{e}");
        }
        let c: Result<Client, _> = entity("client", &json!({"label": "no id"}), &mut notes);
        assert!(c.is_err());
        let g: Group = entity("group", &json!({"id": "G", "label": []}), &mut notes).unwrap();
        assert_eq!(g.label, None);
    }
}
