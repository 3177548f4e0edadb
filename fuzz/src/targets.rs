//! The fuzz targets. Each takes any bytes, runs them through the adapter's own code the way
//! the adapter does, and checks what must hold for every input. A panic is a bug in the
//! adapter (or a broken property below), never an expected outcome.
//!
//! - `event_parser`: a websocket message -> `cloud::events::parse_message` (which must
//!   answer as `parse_message_in_general` does) -> for each
//!   event what the adapter derives from it (the tree of a changed device, group, client or
//!   home, the alarm mode, the states of button and code events, the ids of removals).
//! - `model`: a `getCurrentState` answer -> the model the adapter reads
//!   (`cloud::lenient::current_state`) and the strict serde model -> `tree::snapshot`,
//!   every writable state written with values of every JSON type, and a round trip:
//!   a parsed model serialises and parses back equal.
//! - `resp_decoder`: bytes from an ioBroker database -> the codec of the redis store's
//!   connections (`store::redis::codec::decode_replies`) and what the store reads out of
//!   replies (text, arrays, `mget` values, states).
//!
//! The checks on every tree: ids are valid ioBroker ids below the namespace (no empty
//! level, no forbidden character), every value has its object, and a value fits its
//! object's `common.type` or is null.

use std::collections::HashMap;

use iobroker_hmip::cloud::events::{parse_message, parse_message_in_general};
use iobroker_hmip::cloud::{lenient, CurrentState, Home, PushEvent};
use iobroker_hmip::iobroker::{IobObject, IobState};
use iobroker_hmip::store::redis::codec;
use iobroker_hmip::tree::{self, TreeValue};
use serde_json::{json, Value};

/// The namespace the targets map into.
pub const NS: &str = "hmip.0";

/// A fuzz target: any bytes in, a panic when something is wrong.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/corpus/<name>/` and `cargo fuzz run <name>` know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("event_parser", event_parser),
    ("model", model),
    ("resp_decoder", resp_decoder),
];

/// A websocket message, as the cloud stream hands it to the adapter.
pub fn event_parser(data: &[u8]) {
    // The one-pass way (device reports) and the general way give the same answer.
    let read = parse_message(data);
    assert_eq!(
        format!("{read:?}"),
        format!("{:?}", parse_message_in_general(data)),
        "the one-pass and the general way differ"
    );
    let Ok((events, _malformed)) = read else {
        return;
    };
    let mut state = CurrentState {
        home: Home {
            id: "home".into(),
            fields: Default::default(),
        },
        devices: Default::default(),
        groups: Default::default(),
        clients: Default::default(),
        extra: Default::default(),
    };
    for ev in events {
        // Objects and values of events and of the alarm mode; a snapshot of a device,
        // group, client or home is checked whole on its own.
        let mut objects = Vec::new();
        let mut values = Vec::new();
        let add = |snap: tree::TreeSnapshot| check_tree(&snap.objects, &snap.values, true);
        match ev {
            PushEvent::DeviceChanged(report) => {
                let Ok(d) = report.into_device() else {
                    panic!("a device report that was accepted must parse");
                };
                add(tree::device(NS, &d, &state.groups));
                state.devices.insert(d.id.clone(), d);
            }
            PushEvent::GroupChanged(g) => {
                add(tree::group(NS, &g));
                state.groups.insert(g.id.clone(), *g);
                values.extend(tree::alarm::values(NS, &state));
            }
            PushEvent::ClientChanged(c) => add(tree::client(NS, &c)),
            PushEvent::HomeChanged(h) => {
                add(tree::home(NS, &h));
                state.home = *h;
                values.extend(tree::alarm::values(NS, &state));
            }
            PushEvent::DeviceRemoved(id) => check_id(&tree::ids::device(NS, &id)),
            PushEvent::GroupRemoved(id) => check_id(&tree::ids::group(NS, &id)),
            PushEvent::ClientRemoved(id) => check_id(&tree::ids::client(NS, &id)),
            PushEvent::ChannelEvent(ev) => {
                objects.extend(tree::channel_event_objects(NS, &ev));
                values.extend(tree::events::channel_event_values(NS, &ev, 0));
            }
            PushEvent::CodeStateEvent {
                device_id,
                code_index,
                code_state,
            } => {
                objects.extend(tree::code_objects(NS, &device_id, &code_state));
                values.extend(tree::events::code_event_values(
                    NS,
                    &device_id,
                    code_index,
                    &code_state,
                    0,
                ));
            }
            PushEvent::SecurityJournalChanged | PushEvent::Unknown(_) => {}
        }
        // The alarm mode's object comes with the home.
        check_tree(&objects, &values, false);
    }
}

/// A `getCurrentState` answer.
pub fn model(data: &[u8]) {
    let Ok(raw) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // What the adapter reads: a bad device, group or field is left out, not the home.
    if let Ok((state, _notes)) = lenient::current_state(raw.clone()) {
        exercise(&state);
    }
    // The strict model: whatever it accepts survives a round trip.
    let Ok(state) = serde_json::from_value::<CurrentState>(raw) else {
        return;
    };
    let bytes = serde_json::to_vec(&state).expect("a parsed model serialises");
    let again: CurrentState =
        serde_json::from_slice(&bytes).expect("a serialised model parses again");
    assert_eq!(again, state, "the model changed in a round trip");
    let (lenient, notes) = lenient::current_state(serde_json::from_slice(&bytes).unwrap())
        .expect("what the strict model reads, the lenient one reads too");
    assert!(notes.is_empty(), "a valid model was repaired: {notes:?}");
    assert_eq!(
        lenient, state,
        "the lenient model differs from the strict one"
    );
}

/// The tree of a home and a write of every kind of value to every writable state.
fn exercise(state: &CurrentState) {
    let snap = tree::snapshot(NS, state);
    check_tree(&snap.objects, &snap.values, true);
    let values = [
        json!(true),
        json!(false),
        json!(0),
        json!(50.5),
        json!(-1),
        json!(1e300),
        json!("OPEN"),
        json!(""),
        Value::Null,
        json!([1]),
        json!({"a": 1}),
    ];
    for o in &snap.objects {
        if o.common.get("write") != Some(&Value::Bool(true)) {
            continue;
        }
        for v in &values {
            let _ = tree::write_to_call(NS, state, &o.id, v, &|_| Some(json!(1)));
        }
    }
}

/// Bytes from an ioBroker database (js-controller's simulator or Redis).
pub fn resp_decoder(data: &[u8]) {
    let replies = codec::decode_replies(data);
    assert!(replies.pending <= data.len());
    for f in &replies.frames {
        let _ = codec::describe(f);
        let _ = codec::error_text(f);
        if let Some(t) = codec::text(f) {
            // A state as the store reads it from a `get` or a published message.
            let _ = serde_json::from_str::<IobState>(&t);
        }
        if let Some(items) = codec::array(f.clone()) {
            for item in &items {
                let _ = codec::describe(item);
            }
        }
    }
    let _ = codec::mget_values(replies.frames);
}

/// Characters an ioBroker id must not contain: js-controller's FORBIDDEN_CHARS allows
/// ASCII letters and digits, `._-/ :!#$%&()+=@^{}|~`, and outside ASCII only letters of
/// Ll/Lu and digits of Nd (checked here more loosely, as alphanumeric), and the tree
/// replaces the space too.
fn forbidden(c: char) -> bool {
    if c.is_ascii() {
        !(c.is_ascii_alphanumeric() || "._-/:!#$%&()+=@^{}|~".contains(c))
    } else {
        !c.is_alphanumeric()
    }
}

fn check_id(id: &str) {
    let rel = id
        .strip_prefix(NS)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or_else(|| panic!("{id:?} is not below {NS}"));
    assert!(
        rel.split('.').all(|level| !level.is_empty()),
        "{id:?} has an empty level"
    );
    assert!(
        !id.chars().any(forbidden),
        "{id:?} has a character ioBroker forbids"
    );
}

/// Ids are valid, and each value fits its object (when `complete`, every value has one).
fn check_tree(objects: &[IobObject], values: &[TreeValue], complete: bool) {
    let by_id: HashMap<&str, &IobObject> = objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for o in objects {
        check_id(&o.id);
    }
    for v in values {
        check_id(&v.id);
        let Some(o) = by_id.get(v.id.as_str()) else {
            assert!(!complete, "the value of {} has no object", v.id);
            continue;
        };
        let t = o.common.get("type").and_then(Value::as_str).unwrap_or("");
        let fits = matches!(
            (&v.val, t),
            (Value::Null, _)
                | (Value::Bool(_), "boolean")
                | (Value::Number(_), "number")
                | (Value::String(_), "string")
                | (_, "mixed")
        );
        assert!(fits, "{} is {} but its object says {t}", v.id, v.val);
    }
}
