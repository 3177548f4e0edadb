//! Tests of the mapping over the real fixture.

use super::*;
use crate::cloud::model::{CurrentState, Device, Group};
use std::collections::{HashMap, HashSet};

#[path = "../../tests/common/counts.rs"]
mod counts;
use counts::expected_counts;

const NS: &str = "hmip.0";

fn fixture() -> CurrentState {
    serde_json::from_str(include_str!("../../tests/fixtures/home.json")).unwrap()
}

/// The project's 2026 home: one device of every device type the 2023 fixture lacks.
fn fixture_2026() -> CurrentState {
    serde_json::from_str(include_str!("../../tests/fixtures/home-2026.json")).unwrap()
}

/// Both fixtures, with their names.
fn fixtures() -> [(&'static str, CurrentState); 2] {
    [("home.json", fixture()), ("home-2026.json", fixture_2026())]
}

/// The objects of a snapshot by id; fails when an object is produced twice.
fn objects_by_id(snap: &TreeSnapshot) -> HashMap<&str, &IobObject> {
    let by_id: HashMap<&str, &IobObject> =
        snap.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    assert_eq!(
        by_id.len(),
        snap.objects.len(),
        "no object is produced twice"
    );
    by_id
}

#[test]
fn the_2026_home_maps_every_device_channel_field_and_group() {
    let home = fixture_2026();
    let snap = snapshot(NS, &home);
    let by_id = objects_by_id(&snap);
    let mut channel_types = HashSet::new();
    for d in home.devices.values() {
        for (k, ch) in &d.channels {
            channel_types.insert(ch.channel_type.as_str());
            let cid = format!("{}.channels.{k}", ids::device(NS, &d.id));
            assert_eq!(by_id[cid.as_str()].obj_type, "channel");
            for field in ch.fields.keys() {
                let sid = format!("{cid}.{field}");
                assert!(by_id.contains_key(sid.as_str()), "no state for {sid}");
            }
        }
    }
    for g in home.groups.values() {
        assert_eq!(by_id[ids::group(NS, &g.id).as_str()].obj_type, "device");
        for field in g.fields.keys() {
            let sid = format!("{}.{field}", ids::group(NS, &g.id));
            assert!(by_id.contains_key(sid.as_str()), "no state for {sid}");
        }
    }
    // Every type of the 2026 home is one the catalog knows: its rows are its own, those
    // of the type it is like, or, when no row names either, the rows for every type.
    for t in &channel_types {
        assert!(catalog::is_known_channel_type(t), "{t}: not in the catalog");
    }
    for g in home.groups.values() {
        let t = g.group_type.as_str();
        assert!(catalog::is_known_group_type(t), "{t}: not in the catalog");
    }
}

/// The fixture as plain JSON, to count what the tree must have without the model.
fn raw_fixture() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/home.json")).unwrap()
}

#[test]
fn every_device_channel_group_and_client_has_its_object() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let by_id = objects_by_id(&snap);
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
    let raw = raw_fixture();
    let raw_channels: usize = raw["devices"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["functionalChannels"].as_object().unwrap().len())
        .sum();
    assert_eq!(channels, raw_channels);
    for g in home.groups.values() {
        assert_eq!(by_id[ids::group(NS, &g.id).as_str()].obj_type, "device");
    }
    for c in home.clients.values() {
        assert!(by_id.contains_key(format!("{}.info.label", ids::client(NS, &c.id)).as_str()));
    }
    let count = |t: &str| snap.objects.iter().filter(|o| o.obj_type == t).count();
    // Group info is a folder, so that type-detector sees a group as one device.
    let (devices, channels, folders) = expected_counts(
        &raw,
        events::HMIP_EVENT_CHANNEL_TYPES,
        events::HMIP_CODE_CHANNEL_TYPES,
    );
    assert_eq!(count("device"), devices);
    assert_eq!(count("channel"), channels);
    assert_eq!(count("folder"), folders);
}

#[test]
fn every_object_has_its_parent_and_states_have_types() {
    for (_, home) in fixtures() {
        parents_and_types(&home);
    }
}

fn parents_and_types(home: &CurrentState) {
    let snap = snapshot(NS, home);
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
    for (_, home) in fixtures() {
        value_types_match(&home);
    }
}

fn value_types_match(home: &CurrentState) {
    let snap = snapshot(NS, home);
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
                ch.fields.get("shutterLevel").and_then(Val::as_f64),
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
        WriteAction::Local | WriteAction::Secret(_) => panic!("{id} is a local parameter"),
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
        d.channels[k].fields["shutterLevel"], call.body["shutterLevel"],
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
    let doc = doc::states_doc(&[&fixture(), &fixture_2026()]);
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

// ---------------------------------------------------------------------------------
// The table itself: every row names a real type and a real endpoint, and every writable
// state of the fixture becomes the right call.
// ---------------------------------------------------------------------------------

/// Every control endpoint of the protocol notes (§7).
const ENDPOINTS: &[&str] = crate::cloud::CONTROL_PATHS;

/// Roles the table may use (ioBroker's state roles, those we need).
const ROLES: &[&str] = &[
    "button",
    "button.stop.blind",
    "indicator",
    "indicator.alarm",
    "indicator.alarm.flood",
    "indicator.maintenance",
    "indicator.maintenance.alarm",
    "indicator.maintenance.lowbat",
    "indicator.maintenance.unreach",
    "indicator.reachable",
    "indicator.working",
    "level",
    "level.blind",
    "level.color.hue",
    "level.color.saturation",
    "level.color.temperature",
    "level.dimmer",
    "level.effect",
    "level.mode.fan",
    "level.mode.thermostat",
    "level.setting.temperature",
    "level.setting.tilt",
    "level.setting.timer",
    "level.setting.valve",
    "level.speed",
    "level.temperature",
    "level.tilt",
    "level.timer",
    "level.timer.off",
    "level.volume",
    "sensor.alarm.fire",
    "sensor.alarm.flood",
    "sensor.alarm.power",
    "sensor.alarm.secure",
    "sensor.motion",
    "sensor.rain",
    "sensor.switch",
    "sensor.window",
    "state",
    "switch",
    "switch.boost",
    "switch.enable",
    "switch.light",
    "switch.lock",
    "switch.setting",
    "text",
    "time.span",
    "value",
    "value.battery",
    "value.blind",
    "value.brightness",
    "value.co2",
    "value.dimmer",
    "value.direction.wind",
    "value.distance",
    "value.energy",
    "value.flow",
    "value.humidity",
    "value.humidity.absolute",
    "value.interval",
    "value.power",
    "value.pressure",
    "value.rain",
    "value.rain.today",
    "value.rssi",
    "value.speed.wind",
    "value.temperature",
    "value.temperature.max",
    "value.temperature.min",
    "value.tilt",
    "value.time",
    "value.valve",
    "value.window",
];

fn all_rows() -> impl Iterator<Item = (&'static str, &'static table::FieldRow)> {
    table::CHANNEL_ROWS
        .iter()
        .map(|r| ("channel", r))
        .chain(table::GROUP_ROWS.iter().map(|r| ("group", r)))
        .chain(table::HOME_ROWS.iter().map(|r| ("home", r)))
}

#[test]
fn every_row_names_a_known_type_role_and_endpoint() {
    let home = fixture();
    let mut channel_types: HashSet<&str> = HashSet::new();
    for d in home.devices.values() {
        for ch in d.channels.values() {
            channel_types.insert(&ch.channel_type);
        }
    }
    let raw = raw_fixture();
    let raw_types = |list: &str, key: &str, nested: Option<&str>| -> HashSet<String> {
        let mut out = HashSet::new();
        for item in raw[list].as_object().unwrap().values() {
            match nested {
                Some(n) => out.extend(
                    item[n]
                        .as_object()
                        .unwrap()
                        .values()
                        .map(|c| c[key].as_str().unwrap().to_string()),
                ),
                None => {
                    out.insert(item[key].as_str().unwrap().to_string());
                }
            }
        }
        out
    };
    let want = raw_types(
        "devices",
        "functionalChannelType",
        Some("functionalChannels"),
    );
    assert_eq!(channel_types.len(), want.len());
    let group_types: HashSet<&str> = home
        .groups
        .values()
        .map(|g| g.group_type.as_str())
        .collect();
    assert_eq!(group_types.len(), raw_types("groups", "type", None).len());
    let mut sections: HashSet<&str> = home.home.fields.keys().map(String::as_str).collect();
    sections.insert(HOME_SECTION);
    sections.extend(
        home.home.fields["functionalHomes"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str),
    );
    for (owner, row) in all_rows() {
        for t in row.types {
            let known = match owner {
                "channel" => catalog::is_known_channel_type(t),
                "group" => catalog::is_known_group_type(t),
                _ => sections.contains(t),
            };
            assert!(known, "{owner} row {} names unknown type {t}", row.field);
        }
        assert!(
            ROLES.contains(&row.role),
            "{}: role {}",
            row.field,
            row.role
        );
        if let Some(c) = row.control {
            assert!(ENDPOINTS.contains(&c.path), "{}: {}", row.field, c.path);
            let prefix = match (owner, c.via_group) {
                ("channel", None) => "device/",
                ("channel", Some(_)) | ("group", _) => "group/",
                _ => "home/",
            };
            assert!(
                c.path.starts_with(prefix),
                "{owner} row {} calls {}",
                row.field,
                c.path
            );
            for (_, p) in c.params {
                let param = all_rows()
                    .find(|(o, r)| *o == owner && r.field == *p && r.kind == table::Kind::Param);
                assert!(param.is_some(), "{}: parameter {p} has no row", row.field);
            }
        }
        // Buttons are write-only (repository checker E1010); states fit their role.
        if row.role.starts_with("button") {
            assert!(!row.readable() && row.writable() && row.value_type == "boolean");
        }
        if row.role.starts_with("level")
            || row.role.starts_with("switch.") && row.role != "switch.setting"
        {
            assert!(
                row.writable(),
                "{}: {} must be writable",
                row.field,
                row.role
            );
        }
        if ["value", "sensor", "indicator"]
            .iter()
            .any(|p| row.role.split('.').next() == Some(*p))
        {
            assert!(
                !row.writable(),
                "{}: {} must be read-only",
                row.field,
                row.role
            );
        }
    }
}

/// A value that fits a writable state's object.
fn sample(common: &Map<String, Value>) -> Value {
    if let Some(states) = common.get("states").and_then(Value::as_object) {
        let key = states.keys().next().unwrap();
        return match common["type"].as_str() {
            Some("number") => json!(key.parse::<u64>().unwrap()),
            _ => json!(key),
        };
    }
    match common["type"].as_str().unwrap() {
        "boolean" => json!(true),
        "number" => json!(common.get("min").and_then(Value::as_f64).unwrap_or(1.0)),
        _ => json!("2030_01_01 12:00"),
    }
}

#[test]
fn every_writable_state_of_the_fixture_becomes_its_call() {
    let mut calls = HashSet::new();
    for (_, home) in fixtures() {
        calls.extend(writable_states_become_calls(&home));
    }
    // Every endpoint the table names is reached by some state of the fixtures.
    for (_, row) in all_rows() {
        if let Some(c) = row.control {
            assert!(
                calls.contains(c.path),
                "no state of the fixtures calls {}",
                c.path
            );
        }
    }
}

/// Write every writable state of `home`; the paths called.
fn writable_states_become_calls(home: &CurrentState) -> HashSet<String> {
    let home = home.clone();
    let snap = snapshot(NS, &home);
    let params = |id: &str| -> Option<Value> {
        let field = id.rsplit('.').next().unwrap();
        Some(match field {
            "pin" => json!("1234"),
            "vacationTemperature" => json!(17.5),
            _ => json!(2),
        })
    };
    let mut calls = HashSet::new();
    for o in snap
        .objects
        .iter()
        .filter(|o| o.common.get("write") == Some(&json!(true)))
    {
        // The alarm's on-time is text (as in ioBroker.hmip) that holds seconds.
        let val = if o.id.ends_with(".securityAndAlarm.setOnTime") {
            json!("180")
        } else {
            sample(&o.common)
        };
        match write_to_call(NS, &home, &o.id, &val, &params) {
            Ok(WriteAction::Call(c)) => {
                assert!(ENDPOINTS.contains(&c.path.as_str()), "{}: {}", o.id, c.path);
                let body = c.body.as_object().unwrap();
                let addressed = if c.path.starts_with("device/") {
                    body.contains_key("deviceId") && body.contains_key("channelIndex")
                } else if c.path.starts_with("group/") {
                    body.contains_key("groupId")
                } else {
                    !body.contains_key("deviceId") && !body.contains_key("groupId")
                };
                assert!(addressed, "{}: {}", o.id, c.body);
                calls.insert(c.path);
            }
            Ok(WriteAction::Local | WriteAction::Secret(_)) => {}
            // A thermostat whose channel is in no HEATING group has nobody to ask.
            Err(WriteError::UnknownTarget(what)) => assert!(what.contains("HEATING"), "{what}"),
            Err(e) => panic!("{}: writing {val}: {e}", o.id),
        }
    }
    calls
}

fn channel_id(d: &Device, k: &str, field: &str) -> String {
    format!("{}.channels.{k}.{field}", ids::device(NS, &d.id))
}

fn group_of<'a>(home: &'a CurrentState, ty: &str) -> &'a Group {
    let mut gs: Vec<&Group> = home
        .groups
        .values()
        .filter(|g| g.group_type == ty)
        .collect();
    gs.sort_by(|a, b| a.id.cmp(&b.id));
    gs[0]
}

fn call(home: &CurrentState, id: &str, val: Value) -> ControlCall {
    write(home, id, &val).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn device_body(d: &Device, k: &str, rest: Value) -> Value {
    let mut body = json!({"deviceId": d.id, "channelIndex": k.parse::<u32>().unwrap()});
    body.as_object_mut()
        .unwrap()
        .extend(rest.as_object().unwrap().clone());
    body
}

#[test]
fn representative_writes_spelled_out() {
    let home = fixture();
    let cc = |path: &str, body: Value| ControlCall {
        path: path.into(),
        body,
    };

    let (d, k) = first_channel(&home, "SWITCH_MEASURING_CHANNEL", "on");
    assert_eq!(
        call(&home, &channel_id(d, k, "on"), json!(false)),
        cc(
            "device/control/setSwitchState",
            device_body(d, k, json!({"on": false}))
        )
    );
    assert_eq!(
        call(&home, &channel_id(d, k, "resetEnergyCounter"), json!(true)),
        cc(
            "device/control/resetEnergyCounter",
            device_body(d, k, json!({}))
        )
    );

    let (d, k) = first_channel(&home, "UNIVERSAL_LIGHT_CHANNEL", "dimLevel");
    assert_eq!(
        call(&home, &channel_id(d, k, "dimLevel"), json!(55)),
        cc(
            "device/control/setDimLevel",
            device_body(d, k, json!({"dimLevel": 0.55}))
        )
    );

    let (d, k) = first_channel(&home, "SHUTTER_CHANNEL", "shutterLevel");
    assert_eq!(
        call(&home, &channel_id(d, k, "shutterLevel"), json!(30)),
        cc(
            "device/control/setShutterLevel",
            device_body(d, k, json!({"shutterLevel": 0.7}))
        )
    );
    assert_eq!(
        call(&home, &channel_id(d, k, "stop"), json!(true)),
        cc("device/control/stop", device_body(d, k, json!({})))
    );

    let (d, k) = first_channel(&home, "BLIND_CHANNEL", "slatsLevel");
    let shutter = d.channels[k].fields["shutterLevel"].clone();
    assert_eq!(
        call(&home, &channel_id(d, k, "slatsLevel"), json!(0)),
        cc(
            "device/control/setSlatsLevel",
            device_body(d, k, json!({"slatsLevel": 1, "shutterLevel": shutter}))
        )
    );

    // A lock: the target as the cloud names it, with the PIN parameter.
    let (d, k) = first_channel(&home, "DOOR_LOCK_CHANNEL", "lockState");
    let pin_id = channel_id(d, k, "pin");
    let with_pin = |id: &str, val: Value| match write_to_call(NS, &home, id, &val, &|p| {
        (p == pin_id).then(|| json!("0815"))
    }) {
        Ok(WriteAction::Call(c)) => c,
        other => panic!("{id}: {other:?}"),
    };
    let locked = json!({"targetLockState": "LOCKED", "authorizationPin": "0815"});
    assert_eq!(
        with_pin(&channel_id(d, k, "setLockState"), json!("LOCKED")),
        cc(
            "device/control/setLockState",
            device_body(d, k, locked.clone())
        )
    );
    // `unlocked` (switch.lock) false = lock it.
    assert_eq!(
        with_pin(&channel_id(d, k, "unlocked"), json!(false)),
        cc("device/control/setLockState", device_body(d, k, locked))
    );
    // The PIN is a secret: kept apart, never a state's value; the mask written back keeps
    // it, and a mask where the PIN would be is never sent as one.
    assert_eq!(
        write_to_call(NS, &home, &pin_id, &json!("0815"), &|_| None),
        Ok(WriteAction::Secret(Some("0815".into())))
    );
    assert_eq!(
        write_to_call(NS, &home, &pin_id, &json!(815), &|_| None),
        Ok(WriteAction::Secret(Some("815".into())))
    );
    assert_eq!(
        write_to_call(NS, &home, &pin_id, &json!(SECRET_MASK), &|_| None),
        Ok(WriteAction::Secret(None))
    );
    let refused = write_to_call(NS, &home, &pin_id, &json!([0, 8, 1, 5]), &|_| None);
    assert!(
        matches!(refused, Err(WriteError::BadValue { .. })),
        "{refused:?}"
    );
    assert!(
        !format!("{refused:?}").contains('8'),
        "the value is not echoed"
    );
    let masked = write_to_call(
        NS,
        &home,
        &channel_id(d, k, "setLockState"),
        &json!("OPEN"),
        &|p| (p == pin_id).then(|| json!(SECRET_MASK)),
    );
    match masked {
        Ok(WriteAction::Call(c)) => assert_eq!(c.body["authorizationPin"], json!("")),
        other => panic!("{other:?}"),
    }
    let pin_object = snapshot(NS, &home)
        .objects
        .into_iter()
        .find(|o| o.id == pin_id)
        .unwrap();
    assert!(is_secret(&pin_object), "{pin_object:?}");
    // No PIN written: a lock without one takes "".
    assert_eq!(
        call(&home, &channel_id(d, k, "setLockState"), json!("OPEN")).body["authorizationPin"],
        json!("")
    );

    let (d, k) = first_channel(&home, "IMPULSE_OUTPUT_CHANNEL", "impulseDuration");
    assert_eq!(
        call(&home, &channel_id(d, k, "startImpulse"), json!(true)),
        cc("device/control/startImpulse", device_body(d, k, json!({})))
    );

    // A device thermostat's set point goes to its HEATING group.
    let (d, k) = home
        .devices
        .values()
        .flat_map(|d| d.channels.iter().map(move |(k, ch)| (d, k.as_str(), ch)))
        .find(|(_, _, ch)| {
            ch.channel_type == "HEATING_THERMOSTAT_CHANNEL"
                && ch.fields["groups"]
                    .to_value()
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| home.groups[g.as_str().unwrap()].group_type == "HEATING")
        })
        .map(|(d, k, _)| (d, k))
        .unwrap();
    let groups = d.channels[k].fields["groups"].to_value();
    let heating = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .find(|g| home.groups[*g].group_type == "HEATING")
        .unwrap();
    assert_eq!(
        call(&home, &channel_id(d, k, "setPointTemperature"), json!(21)),
        cc(
            "group/heating/setSetPointTemperature",
            json!({"groupId": heating, "setPointTemperature": 21})
        )
    );

    let g = group_of(&home, "HEATING");
    let gid = ids::group(NS, &g.id);
    assert_eq!(
        call(&home, &format!("{gid}.boostMode"), json!(true)),
        cc(
            "group/heating/setBoost",
            json!({"groupId": g.id, "boost": true})
        )
    );
    // The mode is a number for type-detector (0 AUTOMATIC, 1 MANUAL, 2 ECO); the cloud's
    // names are accepted too.
    assert_eq!(
        call(&home, &format!("{gid}.controlMode"), json!(2)),
        cc(
            "group/heating/setControlMode",
            json!({"groupId": g.id, "controlMode": "ECO"})
        )
    );
    assert_eq!(
        call(&home, &format!("{gid}.controlMode"), json!("MANUAL")).body["controlMode"],
        json!("MANUAL")
    );

    let g = group_of(&home, "SWITCHING");
    assert_eq!(
        call(&home, &format!("{}.on", ids::group(NS, &g.id)), json!(true)),
        cc(
            "group/switching/setState",
            json!({"groupId": g.id, "on": true})
        )
    );

    let climate = format!(
        "{}.functionalHomes.indoorClimate",
        ids::home(NS, &home.home.id)
    );
    assert_eq!(
        call(&home, &format!("{climate}.setAbsenceDuration"), json!(90)),
        cc(
            "home/heating/activateAbsenceWithDuration",
            json!({"duration": 90})
        )
    );
    assert_eq!(
        call(&home, &format!("{climate}.setCooling"), json!(true)),
        cc("home/heating/setCooling", json!({"cooling": true}))
    );
    let temp_id = format!("{climate}.vacationTemperature");
    let vacation = write_to_call(
        NS,
        &home,
        &format!("{climate}.activateVacationWithEndTime"),
        &json!("2030_08_01 18:00"),
        &|p| (p == temp_id).then(|| json!(16.5)),
    );
    assert_eq!(
        vacation,
        Ok(WriteAction::Call(cc(
            "home/heating/activateVacation",
            json!({"endTime": "2030_08_01 18:00", "temperature": 16.5})
        )))
    );
}

#[test]
fn bad_values_are_refused_by_range_type_and_states() {
    let home = fixture();
    let bad = |id: &str, val: Value| {
        assert!(
            matches!(write(&home, id, &val), Err(WriteError::BadValue { .. })),
            "{id} accepted {val}"
        )
    };
    let g = group_of(&home, "HEATING");
    let gid = ids::group(NS, &g.id);
    bad(&format!("{gid}.setPointTemperature"), json!(31));
    bad(&format!("{gid}.setPointTemperature"), json!("21"));
    bad(&format!("{gid}.controlMode"), json!(3));
    bad(&format!("{gid}.controlMode"), json!("PARTY"));
    bad(&format!("{gid}.boostMode"), json!("on"));
    let (d, k) = first_channel(&home, "DOOR_LOCK_CHANNEL", "lockState");
    bad(&channel_id(d, k, "setLockState"), json!("AJAR"));
    bad(&channel_id(d, k, "setLockState"), json!(2));
    assert!(matches!(
        write(&home, &channel_id(d, k, "stop"), &json!(true)),
        Err(WriteError::NotWritable(_))
    ));
    let (d, k) = first_channel(&home, "SHUTTER_CHANNEL", "shutterLevel");
    bad(&channel_id(d, k, "stop"), json!(false));
    bad(&channel_id(d, k, "shutterLevel"), json!(-1));
    let climate = format!(
        "{}.functionalHomes.indoorClimate",
        ids::home(NS, &home.home.id)
    );
    // The vacation temperature was never written: refused, not sent as null.
    bad(
        &format!("{climate}.activateVacationWithEndTime"),
        json!("2030_08_01 18:00"),
    );
    bad(&format!("{climate}.setAbsenceDuration"), json!(0));
}

#[test]
fn derived_and_indexed_states_read_the_cloud_enums() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let vals: HashMap<&str, &Value> = snap
        .values
        .iter()
        .map(|v| (v.id.as_str(), &v.val))
        .collect();
    let objs: HashMap<&str, &IobObject> = snap.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut seen = 0;
    for d in home.devices.values() {
        for (k, ch) in &d.channels {
            let Some(ws) = ch.fields.get("windowState").and_then(Val::as_str) else {
                continue;
            };
            let index = ["CLOSED", "TILTED", "OPEN"]
                .iter()
                .position(|s| *s == ws)
                .unwrap();
            assert_eq!(
                *vals[channel_id(d, k, "windowState").as_str()],
                json!(index)
            );
            assert_eq!(
                *vals[channel_id(d, k, "windowOpen").as_str()],
                json!(ws != "CLOSED")
            );
            seen += 1;
        }
        for (k, ch) in &d.channels {
            if ch.channel_type == "DOOR_LOCK_CHANNEL" {
                let ls = ch.fields["lockState"].as_str().unwrap();
                assert_eq!(
                    *vals[channel_id(d, k, "unlocked").as_str()],
                    json!(ls != "LOCKED")
                );
                let o = objs[channel_id(d, k, "unlocked").as_str()];
                assert_eq!(o.common["role"], json!("switch.lock"));
            }
        }
    }
    assert!(seen > 10);
    let handle = home
        .devices
        .values()
        .flat_map(|d| d.channels.iter().map(move |(k, ch)| (d, k, ch)))
        .find(|(_, _, ch)| ch.channel_type == "ROTARY_HANDLE_CHANNEL")
        .unwrap();
    let o = objs[channel_id(handle.0, handle.1, "windowState").as_str()];
    assert_eq!(o.common["role"], json!("value.window"));
    assert_eq!(
        o.common["states"],
        json!({"0": "CLOSED", "1": "TILTED", "2": "OPEN"})
    );
}

/// State ids of ioBroker.hmip that scripts use, kept: (channel or group type, field).
#[test]
fn iobroker_hmip_action_ids_are_kept() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let ids_: HashSet<&str> = snap.objects.iter().map(|o| o.id.as_str()).collect();
    let channel_fields = [
        ("SHUTTER_CHANNEL", "stop"),
        ("BLIND_CHANNEL", "stop"),
        ("ACCESS_AUTHORIZATION_CHANNEL", "pullLatch"),
        ("ACCESS_AUTHORIZATION_CHANNEL", "pin"),
        ("DOOR_LOCK_CHANNEL", "pin"),
        ("DOOR_LOCK_CHANNEL", "setLockState"),
        ("IMPULSE_OUTPUT_CHANNEL", "startImpulse"),
        ("SWITCH_MEASURING_CHANNEL", "resetEnergyCounter"),
        ("PASSAGE_DETECTOR_CHANNEL", "resetPassageCounter"),
        ("WATERING_ACTUATOR_CHANNEL", "resetWaterVolume"),
        ("WATERING_ACTUATOR_CHANNEL", "toggleWateringState"),
        ("WATERING_ACTUATOR_CHANNEL", "setWateringSwitchState"),
        ("SHADING_CHANNEL", "setFavoriteShadingPosition"),
        ("DIMMER_CHANNEL", "controlOnTime"),
        ("DIMMER_CHANNEL", "controlRampTime"),
        ("DOOR_CHANNEL", "doorCommand"),
        ("MOTION_DETECTION_CHANNEL", "motionDetectionActive"),
        ("SHUTTER_CONTACT_CHANNEL", "windowOpen"),
    ];
    for (ty, field) in channel_fields {
        let (d, k) = home
            .devices
            .values()
            .flat_map(|d| d.channels.iter().map(move |(k, ch)| (d, k.as_str(), ch)))
            .find(|(_, _, ch)| {
                ch.channel_type == ty
                    && (field != "motionDetectionActive" || ch.fields.contains_key(field))
            })
            .map(|(d, k, _)| (d, k))
            .unwrap();
        assert!(
            ids_.contains(channel_id(d, k, field).as_str()),
            "{ty} {field}"
        );
    }
    for (ty, field) in [("SHUTTER_PROFILE", "stop"), ("HEATING", "windowOpen")] {
        let g = group_of(&home, ty);
        assert!(ids_.contains(format!("{}.{field}", ids::group(NS, &g.id)).as_str()));
    }
    let h = ids::home(NS, &home.home.id);
    for field in [
        "indoorClimate.activateAbsencePermanent",
        "indoorClimate.setAbsenceDuration",
        "indoorClimate.setAbsenceEndTime",
        "indoorClimate.deactivateAbsence",
        "indoorClimate.activateVacationWithEndTime",
        "indoorClimate.deactivateVacation",
        "indoorClimate.vacationTemperature",
        "indoorClimate.setCooling",
        "securityAndAlarm.setIntrusionAlertThroughSmokeDetectors",
    ] {
        assert!(
            ids_.contains(format!("{h}.functionalHomes.{field}").as_str()),
            "{field}"
        );
    }
}

/// Every scalar field of a device changed to another value of the same kind (labels and
/// group lists excepted): what a device report does.
fn with_values_changed(d: &Device) -> Device {
    fn bump(v: &mut Val) {
        *v = match &*v {
            Val::Bool(b) => Val::Bool(!b),
            Val::Int(_) | Val::Float(_) => Val::Float(v.as_f64().unwrap_or(0.0) + 0.5),
            Val::Str(s) => Val::from_value(Value::String(format!("{}x", &**s))),
            other => other.clone(),
        };
    }
    let mut d = d.clone();
    for (k, v) in d.fields.iter_mut() {
        if k != "label" {
            bump(v);
        }
    }
    for ch in d.channels.values_mut() {
        for (k, v) in ch.fields.iter_mut() {
            if k != "label" && k != "groups" {
                bump(v);
            }
        }
    }
    d
}

#[test]
fn same_objects_holds_when_only_values_change() {
    let home = fixture();
    for d in home.devices.values() {
        let changed = with_values_changed(d);
        assert!(same_objects(d, &changed), "{}", d.id);
        assert_eq!(
            device(NS, d, &home.groups).objects,
            device(NS, &changed, &home.groups).objects,
            "{}: objects depend on a value that same_objects ignores",
            d.id
        );
    }
}

#[test]
fn same_objects_fails_when_the_objects_change() {
    let home = fixture();
    let d = home
        .devices
        .values()
        .find(|d| d.channels.len() > 1)
        .unwrap();
    let mut relabelled = d.clone();
    relabelled.label = Some("another label".into());
    let mut new_field = d.clone();
    new_field.channels[1].fields.insert("brandNew", json!(1));
    let mut new_kind = d.clone();
    let (k, _) = new_field.channels[1]
        .fields
        .iter()
        .find(|(_, v)| v.is_boolean())
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .unwrap_or_else(|| ("index".into(), Val::Int(1)));
    new_kind.channels[1].fields.insert(k, json!("text"));
    let mut channel_label = d.clone();
    channel_label.channels[1]
        .fields
        .insert("label", json!("renamed"));
    let mut regrouped = d.clone();
    regrouped.channels[1]
        .fields
        .insert("groups", json!(["another-group"]));
    let mut fewer = d.clone();
    fewer.channels.pop();
    for (what, other) in [
        ("label", relabelled),
        ("new field", new_field),
        ("kind", new_kind),
        ("channel label", channel_label),
        ("groups", regrouped),
        ("channels", fewer),
    ] {
        assert!(!same_objects(d, &other), "{what}");
    }
}

#[test]
fn device_changes_yields_exactly_the_values_that_differ() {
    let home = fixture();
    for d in home.devices.values() {
        let changed = with_values_changed(d);
        let before: HashMap<String, Value> = device(NS, d, &home.groups)
            .values
            .into_iter()
            .map(|v| (v.id, v.val))
            .collect();
        let mut want: Vec<TreeValue> = device(NS, &changed, &home.groups)
            .values
            .into_iter()
            .filter(|v| before.get(&v.id) != Some(&v.val))
            .collect();
        let diff = device_changes(NS, &changed, d, &home.groups);
        assert!(diff.objects.is_empty(), "{}", d.id);
        let mut got = diff.values;
        want.sort_by(|a, b| a.id.cmp(&b.id));
        got.sort_by(|a, b| a.id.cmp(&b.id));
        // A changed field may map to an unchanged state value (a rounded level): such a
        // value is written again, which the adapter's mirror then filters out.
        let got_ids: HashSet<&str> = got.iter().map(|v| v.id.as_str()).collect();
        for w in &want {
            assert!(
                got_ids.contains(w.id.as_str()),
                "{}: {} missing",
                d.id,
                w.id
            );
        }
        let all: HashMap<String, Value> = device(NS, &changed, &home.groups)
            .values
            .into_iter()
            .map(|v| (v.id, v.val))
            .collect();
        for g in &got {
            assert_eq!(all.get(&g.id), Some(&g.val), "{}: {}", d.id, g.id);
        }
        // Unchanged: nothing at all.
        assert!(device_changes(NS, d, d, &home.groups).values.is_empty());
    }
}

#[test]
fn the_fields_a_channel_type_defines_exist_from_the_start_with_no_value() {
    let home = fixture();
    let snap = snapshot(NS, &home);
    let objects: HashMap<&str, &IobObject> =
        snap.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    let values: HashMap<&str, &Value> = snap
        .values
        .iter()
        .map(|v| (v.id.as_str(), &v.val))
        .collect();
    let mut filled = 0;
    for d in home.devices.values() {
        for (k, ch) in &d.channels {
            let defined = catalog::lookup(catalog::Owner::Channel, &ch.channel_type).unwrap();
            for f in &defined.fields {
                let id = format!("{}.channels.{k}.{}", ids::device(NS, &d.id), f.name);
                let o = objects
                    .get(id.as_str())
                    .unwrap_or_else(|| panic!("{} defines {}: no {id}", ch.channel_type, f.name));
                assert_ne!(o.common["type"], "mixed", "{id}");
                let role = o.common["role"].as_str().unwrap();
                assert!(ROLES.contains(&role) || role == "json", "{id}: role {role}");
                if !ch.fields.contains_key(f.name) {
                    filled += 1;
                    assert_eq!(values.get(id.as_str()), Some(&&Value::Null), "{id}");
                    assert_eq!(o.common["write"], false, "{id}: nothing to write to");
                }
            }
        }
    }
    assert!(filled > 1000, "{filled}");
}

#[test]
fn a_first_report_of_a_defined_field_fills_its_value_and_keeps_the_objects() {
    let home = fixture();
    let (d, k) = home
        .devices
        .values()
        .find_map(|d| {
            d.channels
                .iter()
                .find(|(_, c)| {
                    c.channel_type == "DEVICE_BASE" && !c.fields.contains_key("bootedRecently")
                })
                .map(|(k, _)| (d, k.clone()))
        })
        .unwrap();
    let mut later = d.clone();
    later.channels[k.as_str()]
        .fields
        .insert("bootedRecently", json!(true));
    // As the adapter does on a device report.
    let snap = if same_objects(d, &later) {
        device_changes(NS, &later, d, &home.groups)
    } else {
        device(NS, &later, &home.groups)
    };
    let id = format!("{}.channels.{k}.bootedRecently", ids::device(NS, &d.id));
    assert!(snap.values.contains(&TreeValue {
        id: id.clone(),
        val: json!(true)
    }));
    let sorted = |mut v: Vec<IobObject>| {
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    assert_eq!(
        sorted(device(NS, d, &home.groups).objects),
        sorted(device(NS, &later, &home.groups).objects),
        "the objects stay as they were"
    );
}
