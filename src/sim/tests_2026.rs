//! The simulator serving the project's 2026 home: every control path that homematicip
//! 2.19.1 and ioBroker.hmip 3.x send (and the mapping learnt for the newer types) changes
//! the home and pushes the change as the cloud does.

use serde_json::{json, Value};

use super::control::{apply, Outcome};

const HOME_2026: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home-2026.json");

fn home() -> Value {
    serde_json::from_str(&std::fs::read_to_string(HOME_2026).unwrap()).unwrap()
}

/// Id of the device of a type.
fn device(h: &Value, ty: &str) -> String {
    h["devices"]
        .as_object()
        .unwrap()
        .values()
        .find(|d| d["type"] == ty)
        .unwrap_or_else(|| panic!("no {ty} in the 2026 home"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Id of the group of a type.
fn group(h: &Value, ty: &str) -> String {
    h["groups"]
        .as_object()
        .unwrap()
        .values()
        .find(|g| g["type"] == ty)
        .unwrap_or_else(|| panic!("no {ty} group in the 2026 home"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn call(h: &mut Value, path: &str, body: Value) -> Outcome {
    apply(h, path, &body, 1_800_000_000_000).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

fn kinds(o: &Outcome) -> Vec<&str> {
    o.events
        .iter()
        .map(|e| e["pushEventType"].as_str().unwrap())
        .collect()
}

/// The channel `index` of device `id` as pushed by the outcome's first event.
fn pushed_channel<'a>(o: &'a Outcome, index: &str) -> &'a Value {
    assert_eq!(o.events[0]["pushEventType"], "DEVICE_CHANGED");
    &o.events[0]["device"]["functionalChannels"][index]
}

#[test]
fn device_calls_of_the_newer_types_change_their_channel_and_push_it() {
    let mut h = home();
    let valve = device(&h, "WATER_SUPPLY_STOP");
    let wua = device(&h, "WALL_MOUNTED_UNIVERSAL_ACTUATOR");
    let lock = device(&h, "FULL_FLUSH_LOCK_CONTROLLER");
    let bulb = device(&h, "LIGHT_BULB");
    let cases: Vec<(&str, Value, &str, &str, Value)> = vec![
        // (path, body, device, channel, expected fields)
        (
            "device/control/setWaterSupplyState",
            json!({"deviceId": valve, "channelIndex": 1, "waterSupplyState": "NO_WATERFLOW"}),
            &valve,
            "1",
            json!({"waterSupplyState": "NO_WATERFLOW"}),
        ),
        (
            "device/control/setVentilationLevel",
            json!({"deviceId": wua, "channelIndex": 1, "ventilationLevel": 0.7}),
            &wua,
            "1",
            json!({"ventilationLevel": 0.7}),
        ),
        (
            "device/control/setVentilationState",
            json!({"deviceId": wua, "channelIndex": 1, "ventilationState": "NO_VENTILATION"}),
            &wua,
            "1",
            json!({"ventilationState": "NO_VENTILATION"}),
        ),
        (
            "device/control/setDoorLockActive",
            json!({"deviceId": lock, "channelIndex": 2, "doorLockActive": true}),
            &lock,
            "2",
            json!({"doorLockActive": true}),
        ),
        (
            "device/control/startLightScene",
            json!({"deviceId": bulb, "channelIndex": 1, "id": 3, "dimLevel": 0.6}),
            &bulb,
            "1",
            json!({"lightSceneId": 3, "dimLevel": 0.6, "on": true}),
        ),
        (
            "device/control/setColorTemperatureDimLevelWithTime",
            json!({"deviceId": bulb, "channelIndex": 1, "colorTemperature": 3000, "dimLevel": 0.4, "onTime": 10, "rampTime": 1}),
            &bulb,
            "1",
            json!({"colorTemperature": 3000, "dimLevel": 0.4}),
        ),
        (
            "device/control/setHueSaturationDimLevelWithTime",
            json!({"deviceId": bulb, "channelIndex": 1, "hue": 90, "saturationLevel": 0.5, "dimLevel": 0.0, "onTime": 10, "rampTime": 1}),
            &bulb,
            "1",
            json!({"hue": 90, "saturationLevel": 0.5, "dimLevel": 0.0, "on": false}),
        ),
    ];
    for (path, body, id, index, want) in cases {
        let out = call(&mut h, path, body);
        let ch = pushed_channel(&out, index);
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&ch[k], v, "{path}: {k}");
        }
        assert_eq!(
            &h["devices"][id]["functionalChannels"][index], ch,
            "{path}: the push carries the channel as now in the home"
        );
        assert!(
            ch.get("onTime").is_none() && ch.get("rampTime").is_none(),
            "{path}: the call's timing is no field of the channel"
        );
    }

    // The authorized variant addresses the access authorization channel and releases the
    // door of the device's door switch channel.
    let out = call(
        &mut h,
        "device/control/setDoorLockActiveWithAuthorization",
        json!({"deviceId": lock, "channelIndex": 3, "doorLockActive": false, "authorizationPin": "1234"}),
    );
    assert_eq!(pushed_channel(&out, "2")["doorLockActive"], false);
    assert!(pushed_channel(&out, "3").get("doorLockActive").is_none());
    assert!(
        !out.events[0].to_string().contains("1234"),
        "a PIN is never stored"
    );

    // Identify changes nothing but the device's last update, which the cloud pushes.
    let ap = device(&h, "WIRELESS_ACCESS_POINT");
    let before = h["devices"][&ap]["functionalChannels"].clone();
    let out = call(
        &mut h,
        "device/control/setIdentify",
        json!({"deviceId": ap, "channelIndex": 0}),
    );
    assert_eq!(kinds(&out), ["DEVICE_CHANGED"]);
    assert_eq!(h["devices"][&ap]["functionalChannels"], before);
}

#[test]
fn group_calls_of_the_newer_types_change_the_group_and_its_members() {
    let mut h = home();
    let linked = group(&h, "EXTENDED_LINKED_SWITCHING");
    let out = call(
        &mut h,
        "group/switching/linked/setOnTime",
        json!({"groupId": linked, "onTime": 300}),
    );
    assert_eq!(kinds(&out), ["GROUP_CHANGED"]);
    assert_eq!(out.events[0]["group"]["onTime"], 300);
    let out = call(
        &mut h,
        "group/switching/setState",
        json!({"groupId": linked, "on": true}),
    );
    assert_eq!(kinds(&out), ["GROUP_CHANGED", "DEVICE_CHANGED"]);
    let switch = device(&h, "SWITCH_BATTERY");
    assert_eq!(h["devices"][&switch]["functionalChannels"]["1"]["on"], true);

    let profile = group(&h, "SWITCHING_PROFILE");
    let channels = h["groups"][&profile]["channels"].clone();
    let out = call(
        &mut h,
        "group/switching/profile/setProfileMode",
        json!({"groupId": profile, "profileMode": "MANUAL", "channels": channels}),
    );
    assert_eq!(kinds(&out)[0], "GROUP_CHANGED");
    assert_eq!(h["groups"][&profile]["profileMode"], "MANUAL");
    let out = call(
        &mut h,
        "group/switching/profile/setGroupChannels",
        json!({"groupId": profile, "channels": []}),
    );
    assert_eq!(out.events[0]["group"]["channels"], json!([]));
    let out = call(
        &mut h,
        "group/setGroupLabel",
        json!({"groupId": profile, "label": "Pumpe"}),
    );
    assert_eq!(out.events[0]["group"]["label"], "Pumpe");

    let heating = group(&h, "HEATING");
    let out = call(
        &mut h,
        "group/heating/updateProfile",
        json!({"groupId": heating, "profileIndex": "PROFILE_1", "profile": {"name": "Winter"}}),
    );
    assert_eq!(
        out.events[0]["group"]["profiles"]["PROFILE_1"]["name"],
        "Winter"
    );
    let out = call(
        &mut h,
        "group/heating/getProfile",
        json!({"groupId": heating, "profileIndex": "PROFILE_1", "profileName": "Winter"}),
    );
    assert_eq!(
        (out.answer["name"].as_str(), out.events.len()),
        (Some("Winter"), 0)
    );
    let out = call(
        &mut h,
        "home/heating/setNonCoolingGroups",
        json!({"nonCoolingGroups": [heating]}),
    );
    assert_eq!(kinds(&out), ["GROUP_CHANGED"]);
    assert_eq!(h["groups"][&heating]["coolingIgnored"], true);

    let out = call(
        &mut h,
        "group/switching/profile/createSwitchingProfileGroup",
        json!({"label": "Neu"}),
    );
    let new_id = out.answer["groupId"].as_str().unwrap().to_string();
    assert_eq!(kinds(&out), ["GROUP_ADDED"]);
    assert_eq!(h["groups"][&new_id]["type"], "SWITCHING_PROFILE");
    let out = call(&mut h, "group/deleteGroup", json!({"groupId": new_id}));
    assert_eq!(
        out.events,
        [json!({"pushEventType": "GROUP_REMOVED", "id": new_id})]
    );
    assert!(h["groups"].get(&new_id).is_none());
}

#[test]
fn managing_calls_change_the_home_or_only_answer() {
    let mut h = home();
    let out = call(
        &mut h,
        "home/setTimezone",
        json!({"timezoneId": "Europe/Paris"}),
    );
    assert_eq!(kinds(&out), ["HOME_CHANGED"]);
    assert_eq!(h["home"]["timeZoneId"], "Europe/Paris");
    let out = call(&mut h, "home/setPin", json!({"pin": "4711"}));
    assert_eq!(h["home"]["pinAssigned"], true);
    assert!(
        !out.events[0].to_string().contains("4711"),
        "a PIN is never stored"
    );
    let out = call(
        &mut h,
        "home/heating/setCoolingEnabled",
        json!({"coolingEnabled": true}),
    );
    assert_eq!(kinds(&out), ["HOME_CHANGED"]);
    assert_eq!(
        h["home"]["functionalHomes"]["INDOOR_CLIMATE"]["coolingEnabled"],
        true
    );
    let out = call(&mut h, "home/getOAuthOTK", json!({}));
    assert!(out.answer["authToken"].is_string() && out.events.is_empty());
    let before = h.clone();
    for (path, body) in [
        (
            "home/startInclusionModeForDevice",
            json!({"deviceId": "3014F711000000000000NEW1"}),
        ),
        (
            "device/isUpdateApplicable",
            json!({"deviceId": device(&h, "ACCESS_POINT")}),
        ),
    ] {
        assert!(call(&mut h, path, body).events.is_empty(), "{path}");
    }
    assert_eq!(h, before, "reads change nothing");

    let ap = device(&h, "ACCESS_POINT");
    let out = call(&mut h, "device/authorizeUpdate", json!({"deviceId": ap}));
    assert_eq!(out.events[0]["device"]["updateState"], "TRANSFERING_UPDATE");
    let out = call(&mut h, "device/deleteDevice", json!({"deviceId": ap}));
    assert_eq!(
        out.events,
        [json!({"pushEventType": "DEVICE_REMOVED", "id": ap})]
    );
    assert!(h["devices"].get(&ap).is_none());
    let client = h["home"]["clients"][0].as_str().unwrap().to_string();
    let out = call(&mut h, "client/deleteClient", json!({"clientId": client}));
    assert_eq!(
        out.events,
        [json!({"pushEventType": "CLIENT_REMOVED", "id": client})]
    );
    assert_eq!(h["home"]["clients"], json!([]));

    // Rules: label and read one (the 2026 home has none, so one is added here).
    h["home"]["ruleMetaDatas"]["r1"] = json!({"id": "r1", "label": "Alt", "active": true});
    let out = call(
        &mut h,
        "rule/setRuleLabel",
        json!({"ruleId": "r1", "label": "Neu"}),
    );
    assert_eq!(kinds(&out), ["HOME_CHANGED"]);
    let out = call(&mut h, "rule/getSimpleRule", json!({"ruleId": "r1"}));
    assert_eq!(out.answer["label"], "Neu");
    let e = apply(&mut h, "rule/getSimpleRule", &json!({"ruleId": "nope"}), 0).unwrap_err();
    assert_eq!(e.code, "INVALID_RULE");
}

/// Every control path the mapping sends for the 2026 home (its golden file) is one the
/// simulator accepts and answers with success.
#[test]
fn every_call_of_the_2026_golden_file_succeeds() {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/writes-2026.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut h = home();
    let mut paths = std::collections::BTreeSet::new();
    for e in golden.as_object().unwrap().values() {
        let Some(path) = e["path"].as_str() else {
            continue;
        };
        let out =
            apply(&mut h, path, &e["body"], 1).unwrap_or_else(|err| panic!("{path}: {err:?}"));
        assert!(!out.events.is_empty(), "{path} pushed nothing");
        paths.insert(path);
    }
    for p in [
        "device/control/setWaterSupplyState",
        "device/control/setVentilationLevel",
        "device/control/setDoorLockActiveWithAuthorization",
        "group/switching/profile/setProfileMode",
        "group/switching/linked/setOnTime",
    ] {
        assert!(paths.contains(p), "the golden file never calls {p}");
    }
}
