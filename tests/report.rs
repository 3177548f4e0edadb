//! A device report applied field by field (`cloud::report`: its text scanned for the
//! places of its fields, only what differs parsed) must leave the stored device exactly as
//! parsing the whole report would, for every device of the fixture and for texts shaped
//! every way JSON allows: other values, whitespace, escapes, nulls, other kinds, fields
//! and channels added or removed, deep nesting. Where the spans cannot describe a text,
//! the report must say so (and be parsed whole), never apply something else.

use iobroker_hmip::cloud::events::parse_message;
use iobroker_hmip::cloud::report::Applied;
use iobroker_hmip::cloud::{Device, DeviceReport, Fields, PushEvent};
use iobroker_hmip::sim::synth::SplitMix64 as Rng;
use serde_json::{json, Map, Value};

mod common;

/// A changed value: of the same kind, or (now and then) of another kind.
fn other_value(v: &Value, rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => Value::Null,
        1 => json!("ä \"quoted\" \\ \u{1F600}"),
        2 => json!([1, {"a": [true, null]}]),
        _ => match v {
            Value::Bool(b) => json!(!b),
            Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) * 2.0 + 1.5),
            Value::String(s) => json!(format!("{s}x")),
            Value::Null => json!(0),
            Value::Array(a) => json!(a.len()),
            Value::Object(_) => json!({"nested": {"deeper": [1, 2, 3]}}),
        },
    }
}

/// A variant of a device as the cloud could send it (as a JSON value).
fn variant(d: &Value, rng: &mut Rng) -> Value {
    let mut d = d.clone();
    for _ in 0..1 + rng.below(3) {
        let channels: Vec<String> = d["functionalChannels"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        match rng.below(10) {
            // A channel field changes (the common case).
            0..=4 if !channels.is_empty() => {
                let ch = &mut d["functionalChannels"][&channels[rng.below(channels.len())]];
                let keys: Vec<String> = ch.as_object().unwrap().keys().cloned().collect();
                let k = &keys[rng.below(keys.len())];
                if k != "functionalChannelType" {
                    ch[k] = other_value(&ch[k], rng);
                }
            }
            // A device-level field changes.
            5 => {
                let keys: Vec<String> = d.as_object().unwrap().keys().cloned().collect();
                let k = &keys[rng.below(keys.len())];
                if !matches!(k.as_str(), "id" | "functionalChannels") {
                    d[k] = other_value(&d[k], rng);
                }
            }
            // A field appears or goes.
            6 if !channels.is_empty() => {
                let ch = d["functionalChannels"][&channels[rng.below(channels.len())]]
                    .as_object_mut()
                    .unwrap();
                if rng.below(2) == 0 {
                    ch.insert("newField".into(), json!(rng.below(100)));
                } else {
                    let k = ch.keys().nth(rng.below(ch.len())).unwrap().clone();
                    if k != "functionalChannelType" {
                        ch.shift_remove(&k);
                    }
                }
            }
            // A channel appears or goes.
            7 if !channels.is_empty() => {
                let map = d["functionalChannels"].as_object_mut().unwrap();
                if rng.below(2) == 0 {
                    map.insert(
                        "99".into(),
                        json!({"functionalChannelType": "NEW_CHANNEL", "index": 99}),
                    );
                } else {
                    map.shift_remove(&channels[rng.below(channels.len())]);
                }
            }
            // Another label or type.
            8 => {
                d["label"] = if rng.below(2) == 0 {
                    Value::Null
                } else {
                    json!("Küche \"2\"")
                }
            }
            _ => d["type"] = json!("ANOTHER_TYPE"),
        }
    }
    d
}

/// The text of a device: compact, pretty, or with escaped keys.
fn text_of(v: &Value, rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => serde_json::to_string_pretty(v).unwrap(),
        // An escaped key (`\u0069ndex`): the spans must refuse it.
        1 => serde_json::to_string(v)
            .unwrap()
            .replacen("\"index\"", "\"\\u0069ndex\"", 1),
        _ => serde_json::to_string(v).unwrap(),
    }
}

fn parse(text: &str) -> Device {
    serde_json::from_str(text).expect("a device")
}

/// The fields whose value differs between two versions of a device with the same shape.
fn differing(a: &Device, b: &Device) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let fields = |m: &Fields, n: &Fields, ch: Option<&String>| {
        m.iter()
            .filter(|(k, v)| n.get(k) != Some(*v))
            .map(|(k, _)| (ch.cloned(), k.to_owned()))
            .collect::<Vec<_>>()
    };
    out.extend(fields(&a.fields, &b.fields, None));
    for (k, ch) in &a.channels {
        if let Some(other) = b.channels.get(k) {
            out.extend(fields(&ch.fields, &other.fields, Some(k)));
        }
    }
    out
}

#[test]
fn a_report_applied_field_by_field_equals_the_report_parsed_whole() {
    let home = common::fixture("home.json");
    let mut rng = Rng::new(7);
    let (mut by_fields, mut reshaped, mut refused) = (0, 0, 0);
    for d in home["devices"].as_object().unwrap().values() {
        let original = parse(&serde_json::to_string(d).unwrap());
        for _ in 0..20 {
            let v = variant(d, &mut rng);
            let text = text_of(&v, &mut rng);
            let Ok(mut expected) = serde_json::from_str::<Device>(&text) else {
                // A typed field of another kind (a label that is an array): the model's
                // parser refuses it, so must the report, whichever way it goes.
                if let Some(report) = DeviceReport::from_text(&text) {
                    let mut stored = original.clone();
                    assert_eq!(report.apply_to(&mut stored), Applied::Reshaped, "{text}");
                    assert!(report.into_device().is_err(), "{text}");
                }
                refused += 1;
                continue;
            };
            // A report without channels says nothing about them (the HCU sends such
            // reports): the stored ones stay, whichever way it is applied.
            if expected.channels.is_empty() {
                expected.channels = original.channels.clone();
            }
            let Some(report) = DeviceReport::from_text(&text) else {
                refused += 1;
                continue;
            };
            assert_eq!(report.id, expected.id);
            let mut stored = original.clone();
            match report.apply_to(&mut stored) {
                Applied::Fields(changes) => {
                    by_fields += 1;
                    assert_eq!(stored, expected, "applied field by field: {text}");
                    let mut reported: Vec<(Option<String>, String)> = changes
                        .iter()
                        .map(|c| (c.channel.map(str::to_owned), c.field.to_owned()))
                        .collect();
                    let mut want = differing(&original, &expected);
                    reported.sort();
                    want.sort();
                    assert_eq!(reported, want, "changed fields of {text}");
                }
                Applied::Reshaped => {
                    reshaped += 1;
                    assert_eq!(stored, original, "a reshaped report changed the device");
                    let mut whole = report.into_device().unwrap();
                    if whole.channels.is_empty() {
                        whole.channels = original.channels.clone();
                    }
                    assert_eq!(whole, expected);
                }
            }
        }
    }
    println!("field by field {by_fields}, reshaped {reshaped}, refused {refused}");
    // Every way was taken (else this checked less than it says).
    assert!(by_fields > 500, "{by_fields} applied field by field");
    assert!(reshaped > 100, "{reshaped} reshaped");
    assert!(refused > 100, "{refused} refused");
}

#[test]
fn the_order_of_an_events_keys_and_its_whitespace_do_not_matter() {
    let home = common::fixture("home.json");
    for d in home["devices"].as_object().unwrap().values().take(20) {
        let text = serde_json::to_string(d).unwrap();
        let frames = [
            format!(r#"{{"events":{{"0":{{"pushEventType":"DEVICE_CHANGED","device":{text}}}}}}}"#),
            format!(
                "{{ \"events\" : {{ \"0\" : {{ \"pushEventType\" : \"DEVICE_ADDED\" ,\n \"device\" : {text} \n}} }} }}"
            ),
            format!(r#"{{"events":{{"0":{{"device":{text},"pushEventType":"DEVICE_CHANGED"}}}}}}"#),
            format!(
                r#"{{"events":{{"0":{{"pushEventType":"DEVICE_CHANGED","device":{text},"extra":{{"a":1}}}}}}}}"#
            ),
        ];
        for frame in frames {
            let (events, bad) = parse_message(frame.as_bytes()).expect("a message");
            assert!(bad.is_empty(), "{bad:?}");
            let [PushEvent::DeviceChanged(report)] = &events[..] else {
                panic!("one device event expected from {frame}: {events:?}");
            };
            // Kept as text (the fast way) in every shape, and the same device.
            let mut stored = parse(&text);
            assert!(
                matches!(report.apply_to(&mut stored), Applied::Fields(ref c) if c.is_empty()),
                "not applied field by field: {frame}"
            );
            assert_eq!((**report).clone().into_device().unwrap(), parse(&text));
        }
    }
}

/// A message of device reports is read in one pass that checks the syntax as it locates
/// the fields (`cloud::scan`), instead of serde_json reading it first. That pass must never
/// accept what serde_json refuses, nor read anything differently: on real messages and on
/// every kind of corruption of them, `parse_message` answers exactly as the general way.
#[test]
fn the_one_pass_way_answers_as_the_general_way_on_every_corruption() {
    use iobroker_hmip::cloud::events::{parse_message_in_general, read_in_one_pass};
    let home = common::fixture("home.json");
    let devices: Vec<&Value> = home["devices"].as_object().unwrap().values().collect();
    let mut rng = Rng::new(11);
    let (mut one_pass, mut accepted, mut refused) = (0, 0, 0);
    // Bytes that change what JSON means where they land.
    const SIGNIFICANT: &[u8] = b"\"\\,:{}[]0-.eE+u \x01\x7ftfn9";
    for round in 0..4_000 {
        // Messages as the cloud sends them: one or more device reports, now and then
        // pretty, with an extra member, or with another kind of event.
        let mut events = Map::new();
        for k in 0..1 + rng.below(3) {
            let d = devices[rng.below(devices.len())];
            let mut ev = json!({"pushEventType": if rng.below(4) == 0 { "DEVICE_ADDED" } else { "DEVICE_CHANGED" }, "device": d});
            match rng.below(20) {
                0 => ev["extra"] = json!({"a": [1, "x"]}),
                1 => ev = json!({"pushEventType": "DEVICE_REMOVED", "id": d["id"]}),
                _ => {}
            }
            events.insert(((k + rng.below(2)) * 3).to_string(), ev);
        }
        let msg = json!({"events": events, "origin": {"originType": "DEVICE"}});
        let text = if rng.below(5) == 0 {
            serde_json::to_string_pretty(&msg).unwrap()
        } else {
            serde_json::to_string(&msg).unwrap()
        };
        let mut frame = text.into_bytes();
        let clean = round % 4 == 0;
        if clean {
            let reports_only = msg["events"]
                .as_object()
                .unwrap()
                .values()
                .all(|e| e["pushEventType"] != "DEVICE_REMOVED");
            assert_eq!(
                read_in_one_pass(&frame),
                reports_only,
                "a message of device reports only is read in one pass, any other the general way"
            );
        } else {
            // One to three corruptions: a byte replaced, removed or inserted, or the tail cut.
            for _ in 0..1 + rng.below(3) {
                // Half of them where a value or a key starts, where the grammar is richest.
                let starts: Vec<usize> = (1..frame.len())
                    .filter(|&i| matches!(frame[i - 1], b':' | b',' | b'['))
                    .collect();
                let at = if rng.below(2) == 0 && !starts.is_empty() {
                    starts[rng.below(starts.len())]
                } else {
                    rng.below(frame.len())
                };
                let b = SIGNIFICANT[rng.below(SIGNIFICANT.len())];
                match rng.below(4) {
                    0 => frame[at] = b,
                    1 => {
                        frame.remove(at);
                    }
                    2 => frame.insert(at, b),
                    _ => frame.truncate(at),
                }
                if frame.is_empty() {
                    frame.push(b'{');
                }
            }
        }
        let fast = parse_message(&frame);
        let general = parse_message_in_general(&frame);
        assert_eq!(
            format!("{fast:?}"),
            format!("{general:?}"),
            "the two ways differ on {}",
            String::from_utf8_lossy(&frame)
        );
        one_pass += read_in_one_pass(&frame) as usize;
        match general {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    println!("read in one pass {one_pass}, accepted {accepted}, refused {refused}");
    // Both ways were exercised, on valid and on broken text.
    assert!(one_pass > 1_000, "{one_pass} read in one pass");
    assert!(
        accepted > one_pass + 100,
        "{accepted} accepted, {one_pass} in one pass"
    );
    assert!(refused > 1_000, "{refused} refused");
}
