//! Tests of the mapping over the real fixture.

use super::*;
use crate::cloud::model::CurrentState;
use std::collections::{HashMap, HashSet};

const NS: &str = "hmip.0";

fn fixture() -> CurrentState {
    serde_json::from_str(include_str!("../../tests/fixtures/home.json")).unwrap()
}

#[test]
fn every_device_channel_group_and_client_has_its_object() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let by_id: HashMap<&str, &IobObject> =
        snap.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    assert_eq!(
        by_id.len(),
        snap.objects.len(),
        "no object is produced twice"
    );
    let mut channels = 0;
    for d in home.devices.values() {
        assert_eq!(by_id[ids::device(NS, &d.id).as_str()].obj_type, "device");
        for (k, ch) in &d.channels {
            channels += 1;
            let cid = format!("{}.channels.{k}", ids::device(NS, &d.id));
            assert_eq!(by_id[cid.as_str()].obj_type, "channel");
            for (field, v) in &ch.fields {
                let sid = format!("{cid}.{field}");
                let o = by_id
                    .get(sid.as_str())
                    .unwrap_or_else(|| panic!("no state for {sid} = {v}"));
                assert_eq!(o.obj_type, "state");
            }
        }
    }
    assert_eq!(channels, 612);
    for g in home.groups.values() {
        assert_eq!(by_id[ids::group(NS, &g.id).as_str()].obj_type, "device");
    }
    for c in home.clients.values() {
        assert!(by_id.contains_key(format!("{}.info.label", ids::client(NS, &c.id)).as_str()));
    }
    let count = |t: &str| snap.objects.iter().filter(|o| o.obj_type == t).count();
    assert_eq!(count("device"), 150 + 45 + 2 + 1);
    assert_eq!(
        count("channel"),
        612 + 150 + 45 + 2 + 1 + 6 + 5, /* info + device/group/client info + home nested */
        "{}",
        count("channel")
    );
}

#[test]
fn every_object_has_its_parent_and_states_have_types() {
    let snap = snapshot(NS, &fixture());
    let ids: HashSet<&str> = snap.objects.iter().map(|o| o.id.as_str()).collect();
    for o in &snap.objects {
        let parent = &o.id[..o.id.rfind('.').unwrap()];
        if parent != NS {
            assert!(ids.contains(parent), "{} has no parent object", o.id);
        }
        if o.obj_type == "state" {
            let t = o.common["type"].as_str().unwrap();
            assert!(
                ["number", "string", "boolean", "mixed"].contains(&t),
                "{}: {t}",
                o.id
            );
            assert!(o.common["role"].is_string());
        }
    }
    // Every value has its state object.
    for v in &snap.values {
        assert!(
            ids.contains(v.id.as_str()),
            "value without object: {}",
            v.id
        );
    }
}

#[test]
fn value_types_match_their_objects() {
    let snap = snapshot(NS, &fixture());
    let objs: HashMap<&str, &IobObject> = snap.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for v in &snap.values {
        let t = objs[v.id.as_str()].common["type"].as_str().unwrap();
        let ok = matches!(
            (&v.val, t),
            (Value::Null, _)
                | (Value::Bool(_), "boolean")
                | (Value::Number(_), "number")
                | (Value::String(_), "string")
                | (_, "mixed")
        );
        assert!(ok, "{} is {} but declared {t}", v.id, v.val);
    }
}

#[test]
fn levels_are_percent_and_shutters_open_at_100() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let vals: HashMap<&str, &Value> = snap
        .values
        .iter()
        .map(|v| (v.id.as_str(), &v.val))
        .collect();
    let mut checked = 0;
    for d in home.devices.values() {
        for (k, ch) in &d.channels {
            let base = format!("{}.channels.{k}", ids::device(NS, &d.id));
            if let (Some(cloud), Some(state)) = (
                ch.fields.get("shutterLevel").and_then(Value::as_f64),
                vals.get(format!("{base}.shutterLevel").as_str()),
            ) {
                let expect = ((1.0 - cloud) * 100.0 * 100.0).round() / 100.0;
                assert_eq!(state.as_f64().unwrap(), expect, "{base}");
                checked += 1;
            }
            if ch.channel_type == "DIMMER_CHANNEL" {
                let cloud = ch.fields["dimLevel"].as_f64().unwrap();
                assert_eq!(
                    vals[format!("{base}.dimLevel").as_str()].as_f64().unwrap(),
                    (cloud * 10000.0).round() / 100.0
                );
            }
        }
    }
    assert!(checked > 5);
}

/// The control call a write becomes (no parameters set).
fn write(home: &CurrentState, id: &str, val: &Value) -> Result<ControlCall, WriteError> {
    match write_to_call(NS, home, id, val, &|_| None)? {
        WriteAction::Call(c) => Ok(c),
        WriteAction::Local => panic!("{id} is a local parameter"),
    }
}

fn first_channel<'a>(home: &'a CurrentState, ty: &str, field: &str) -> (&'a Device, &'a str) {
    for d in home.devices.values() {
        for (k, ch) in &d.channels {
            if ch.channel_type == ty && ch.fields.contains_key(field) {
                return (d, k.as_str());
            }
        }
    }
    panic!("no {ty} with {field} in the fixture")
}

#[test]
fn writes_become_control_calls() {
    let home = fixture();
    let (d, k) = first_channel(&home, "SWITCH_CHANNEL", "on");
    let id = format!("{}.channels.{k}.on", ids::device(NS, &d.id));
    let call = write(&home, &id, &json!(true)).unwrap();
    assert_eq!(call.path, "device/control/setSwitchState");
    assert_eq!(
        call.body,
        json!({"deviceId": d.id, "channelIndex": k.parse::<u32>().unwrap(), "on": true})
    );

    let (d, k) = first_channel(&home, "DIMMER_CHANNEL", "dimLevel");
    let id = format!("{}.channels.{k}.dimLevel", ids::device(NS, &d.id));
    let call = write(&home, &id, &json!(40)).unwrap();
    assert_eq!(call.body["dimLevel"], json!(0.4));

    let (d, k) = first_channel(&home, "BLIND_CHANNEL", "slatsLevel");
    let id = format!("{}.channels.{k}.slatsLevel", ids::device(NS, &d.id));
    let call = write(&home, &id, &json!(25)).unwrap();
    assert_eq!(call.path, "device/control/setSlatsLevel");
    assert_eq!(call.body["slatsLevel"], json!(0.75));
    assert_eq!(
        call.body["shutterLevel"], d.channels[k].fields["shutterLevel"],
        "current shutter level sent along"
    );

    let (d, k) = first_channel(&home, "SHUTTER_CHANNEL", "shutterLevel");
    let id = format!("{}.channels.{k}.shutterLevel", ids::device(NS, &d.id));
    assert_eq!(
        write(&home, &id, &json!(100)).unwrap().body["shutterLevel"],
        json!(0),
        "100 % = open = cloud 0"
    );

    let g = home
        .groups
        .values()
        .find(|g| g.group_type == "HEATING")
        .unwrap();
    let id = format!("{}.setPointTemperature", ids::group(NS, &g.id));
    let call = write(&home, &id, &json!(21.5)).unwrap();
    assert_eq!(
        call,
        ControlCall {
            path: "group/heating/setSetPointTemperature".into(),
            body: json!({"groupId": g.id, "setPointTemperature": 21.5})
        }
    );
}

#[test]
fn bad_writes_are_refused() {
    let home = fixture();
    let (d, k) = first_channel(&home, "DIMMER_CHANNEL", "dimLevel");
    let id = format!("{}.channels.{k}.dimLevel", ids::device(NS, &d.id));
    assert!(matches!(
        write(&home, &id, &json!(150)),
        Err(WriteError::BadValue { .. })
    ));
    assert!(matches!(
        write(&home, &id, &json!("x")),
        Err(WriteError::BadValue { .. })
    ));
    let (d, k) = first_channel(&home, "SWITCH_CHANNEL", "on");
    let id = format!("{}.channels.{k}.on", ids::device(NS, &d.id));
    assert!(matches!(
        write(&home, &id, &json!(1)),
        Err(WriteError::BadValue { .. })
    ));
    let id = format!("{}.channels.0.rssiDeviceValue", ids::device(NS, &d.id));
    assert!(matches!(
        write(&home, &id, &json!(1)),
        Err(WriteError::NotWritable(_))
    ));
    assert!(matches!(
        write(&home, "hmip.0.devices.NOPE.channels.1.on", &json!(true)),
        Err(WriteError::UnknownTarget(_))
    ));
    assert!(matches!(
        write(&home, "other.0.x", &json!(true)),
        Err(WriteError::UnknownId(_))
    ));
}

#[test]
fn unknown_types_still_appear() {
    let home: CurrentState =
        serde_json::from_str(include_str!("../../tests/fixtures/unknown_types.json")).unwrap();
    let snap = snapshot(NS, &home);
    let ids: HashSet<&str> = snap.objects.iter().map(|o| o.id.as_str()).collect();
    for d in home.devices.values() {
        assert!(ids.contains(ids::device(NS, &d.id).as_str()));
        for k in d.channels.keys() {
            assert!(ids.contains(format!("{}.channels.{k}", ids::device(NS, &d.id)).as_str()));
        }
    }
    for g in home.groups.values() {
        assert!(ids.contains(ids::group(NS, &g.id).as_str()));
    }
}

#[test]
fn states_doc_is_current() {
    let doc = doc::states_doc(&fixture());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/states.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/docs")).unwrap();
        std::fs::write(path, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/states.md is stale: regenerate it with `UPDATE_DOCS=1 cargo test states_doc`"
    );
}
