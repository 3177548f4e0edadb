//! Events and derived states end to end: button presses, key-pad codes, the alarm mode,
//! removals, and a whole fixture pushed again.

mod common;

use common::{find_channel, fixture, Harness};
use iobroker_hmip::store::Store;
use serde_json::{json, Value};

/// Every device, group, client and the home of a getCurrentState answer as one
/// websocket message of *_CHANGED events.
fn whole_home_as_events(home: &Value) -> Value {
    let mut events = serde_json::Map::new();
    let mut push = |ev: Value| {
        events.insert(events.len().to_string(), ev);
    };
    push(json!({"pushEventType": "HOME_CHANGED", "home": home["home"]}));
    for d in home["devices"].as_object().unwrap().values() {
        push(json!({"pushEventType": "DEVICE_CHANGED", "device": d}));
    }
    for g in home["groups"].as_object().unwrap().values() {
        push(json!({"pushEventType": "GROUP_CHANGED", "group": g}));
    }
    for c in home["clients"].as_object().unwrap().values() {
        push(json!({"pushEventType": "CLIENT_CHANGED", "client": c}));
    }
    json!({ "events": events })
}

async fn pushing_the_whole_fixture_twice_writes_nothing_the_second_time() {
    let home = fixture("home.json");
    let mut h = Harness::start(home.clone()).await;
    h.drain_until_marker().await;
    for round in 1..=2 {
        // The home as the cloud has it now, every device, group and client pushed again.
        let message = whole_home_as_events(&h.sim_get("/sim/home").await);
        let r = h.sim_post("/sim/push", message).await;
        assert_eq!(r.json::<Value>().await.unwrap()["sent"], json!(1));
        // A marker after the push: once it is written, the push before it was applied.
        let (dev, ch) = find_channel(&home, "SWITCH_MEASURING_CHANNEL", "currentPowerConsumption");
        let marker = 1000.0 + round as f64;
        h.sim_post(
            &format!("/sim/device/{dev}/channel/{ch}"),
            json!({"currentPowerConsumption": marker}),
        )
        .await;
        h.wait_state(
            &format!("hmip.0.devices.{dev}.channels.{ch}.currentPowerConsumption"),
            |s| s["val"] == json!(marker),
        )
        .await;
        let writes: Vec<String> = h.drain_writes().into_iter().map(|w| w.id).collect();
        // Only the marker device's changed value and its status timestamp.
        assert!(
            writes.len() <= 2,
            "round {round}: the unchanged home wrote {} states, e.g. {:?}",
            writes.len(),
            &writes[..writes.len().min(8)]
        );
    }
    h.stop().await.unwrap();
}

async fn a_button_press_is_a_state_change_on_its_channel_every_time() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SINGLE_KEY_CHANNEL", "functionalChannelType");
    let mut h = Harness::start(home).await;
    let press = format!("hmip.0.devices.{dev}.channels.{ch}.press");
    let obj = h
        .store
        .get_object(&press)
        .await
        .unwrap()
        .expect("the press state exists before the first press");
    assert_eq!(obj.common["role"], "button.press");
    // ioBroker.hmip's id for the same press, a read-only indicator from the start.
    let hmip = format!("hmip.0.devices.{dev}.channels.{ch}.events.KEY_PRESS_SHORT");
    let obj = h
        .store
        .get_object(&hmip)
        .await
        .unwrap()
        .expect("events.KEY_PRESS_SHORT exists before the first press");
    assert_eq!(
        (
            &obj.common["role"],
            &obj.common["type"],
            &obj.common["write"]
        ),
        (&json!("indicator"), &json!("boolean"), &json!(false))
    );
    h.drain_writes();
    let event = json!({"events": {"0": {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": dev, "channelIndex": ch.parse::<u32>().unwrap(),
        "functionalChannelIndex": ch.parse::<u32>().unwrap(), "channelEventType": "KEY_PRESS_SHORT"}}});
    for n in 1..=2 {
        h.sim_post("/sim/push", event.clone()).await;
        common::wait_until(|| async { h.store.get_state(&press).await.unwrap().is_some() }).await;
        let writes = h.drain_until_marker().await;
        for id in [&press, &hmip] {
            let writes: Vec<_> = writes.iter().filter(|w| &w.id == id).collect();
            assert_eq!(
                writes.len(),
                1,
                "{id}: press {n} written once, even though the value is equal"
            );
            let st = writes[0].state.clone().unwrap();
            assert_eq!((st.val, st.ack), (json!(true), true));
        }
    }
    assert_eq!(
        h.state(&format!("hmip.0.devices.{dev}.channels.{ch}.lastEvent"))
            .await
            .unwrap()["val"],
        "KEY_PRESS_SHORT"
    );

    // A long press on a channel of another type creates its states on the fly.
    let (dev2, ch2) = find_channel(&h.sim_get("/sim/home").await, "SWITCH_CHANNEL", "on");
    let event = json!({"events": {"0": {"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": dev2, "channelIndex": 9,
        "functionalChannelIndex": ch2.parse::<u32>().unwrap(), "channelEventType": "KEY_PRESS_LONG"}}});
    h.sim_post("/sim/push", event).await;
    let long = format!("hmip.0.devices.{dev2}.channels.{ch2}.pressLong");
    h.wait_state(&long, |s| s["val"] == json!(true)).await;
    assert_eq!(
        h.store.get_object(&long).await.unwrap().unwrap().common["role"],
        "button.long"
    );
    let hmip_long = format!("hmip.0.devices.{dev2}.channels.{ch2}.events.KEY_PRESS_LONG");
    h.wait_state(&hmip_long, |s| s["val"] == json!(true)).await;
    assert_eq!(
        h.store
            .get_object(&hmip_long)
            .await
            .unwrap()
            .unwrap()
            .common["role"],
        "indicator"
    );
    h.stop().await.unwrap();
}

async fn a_key_pad_code_is_recorded() {
    let home = fixture("home.json");
    let dev = home["devices"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let h = Harness::start(home).await;
    let event = json!({"events": {"0": {"pushEventType": "DEVICE_CODE_STATE_EVENT", "deviceId": dev, "codeIndex": 3, "codeState": "CODE_VALID"}}});
    h.sim_post("/sim/push", event).await;
    h.wait_state(&format!("hmip.0.devices.{dev}.info.lastCodeState"), |s| {
        s["val"] == "CODE_VALID"
    })
    .await;
    assert_eq!(
        h.state(&format!("hmip.0.devices.{dev}.info.lastCodeIndex"))
            .await
            .unwrap()["val"],
        json!(3)
    );
    // ioBroker.hmip's ids: the index, and the code state as an event.
    h.wait_state(&format!("hmip.0.devices.{dev}.events.CODE_VALID"), |s| {
        s["val"] == json!(true)
    })
    .await;
    assert_eq!(
        h.state(&format!("hmip.0.devices.{dev}.events.codeIndex"))
            .await
            .unwrap()["val"],
        json!(3)
    );
    h.stop().await.unwrap();
}

async fn the_alarm_mode_reads_the_zones_and_perimeter_arms_only_external() {
    let home = fixture("home.json");
    let home_id = home["home"]["id"].as_str().unwrap().to_string();
    let zones = home["home"]["functionalHomes"]["SECURITY_AND_ALARM"]["securityZones"].clone();
    let active = |z: &str| {
        home["groups"][zones[z].as_str().unwrap()]["active"]
            .as_bool()
            .unwrap()
    };
    let expected = match (active("INTERNAL"), active("EXTERNAL")) {
        (false, false) => "disarmed",
        (false, true) => "perimeter",
        (true, true) => "full",
        (true, false) => "internal",
    };
    let h = Harness::start(home.clone()).await;
    let id = format!("hmip.0.homes.{home_id}.functionalHomes.securityAndAlarm.alarmMode");
    assert_eq!(h.state(&id).await.unwrap()["val"], json!(expected));

    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    let target = if expected == "perimeter" {
        "full"
    } else {
        "perimeter"
    };
    let r = h.put(&id, json!(target)).await;
    assert_eq!(r.status(), 200);
    h.wait_state(&id, |s| {
        s["val"] == json!(target) && s["ack"] == json!(true)
    })
    .await;
    let calls = h.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["path"], "home/security/setZonesActivation");
    let want = if target == "perimeter" {
        json!({"INTERNAL": false, "EXTERNAL": true})
    } else {
        json!({"INTERNAL": true, "EXTERNAL": true})
    };
    assert_eq!(calls[0]["body"], json!({ "zonesActivation": want }));
    if target != "perimeter" {
        h.put(&id, json!("perimeter")).await;
        h.wait_state(&id, |s| {
            s["val"] == json!("perimeter") && s["ack"] == json!(true)
        })
        .await;
        assert_eq!(
            h.calls().await.last().unwrap()["body"],
            json!({"zonesActivation": {"INTERNAL": false, "EXTERNAL": true}})
        );
    }
    // A mode that does not exist is refused and nothing is sent.
    let before = h.calls().await.len();
    assert_eq!(h.put(&id, json!("armed")).await.status(), 400);
    assert_eq!(h.calls_until_marker().await.len(), before);
    h.stop().await.unwrap();
}

async fn removal_events_delete_the_objects() {
    let home = fixture("home.json");
    let dev = home["devices"]
        .as_object()
        .unwrap()
        .keys()
        .nth(3)
        .unwrap()
        .clone();
    let group = home["groups"]
        .as_object()
        .unwrap()
        .keys()
        .nth(2)
        .unwrap()
        .clone();
    let client = home["clients"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let h = Harness::start(home).await;
    assert!(!h
        .store
        .objects(&format!("hmip.0.devices.{dev}*"))
        .await
        .unwrap()
        .is_empty());
    let msg = json!({"events": {
        "0": {"pushEventType": "DEVICE_REMOVED", "id": dev},
        "1": {"pushEventType": "GROUP_REMOVED", "group": {"id": group}},
        "2": {"pushEventType": "CLIENT_REMOVED", "client": {"id": client}}}});
    h.sim_post("/sim/push", msg).await;
    for root in [
        format!("hmip.0.devices.{dev}"),
        format!("hmip.0.groups.{group}"),
        format!("hmip.0.clients.{client}"),
    ] {
        common::wait_until(|| async {
            h.store
                .objects(&format!("{root}*"))
                .await
                .unwrap()
                .is_empty()
        })
        .await;
        assert!(
            h.store
                .states(&format!("{root}.*"))
                .await
                .unwrap()
                .is_empty(),
            "{root} states left"
        );
    }
    h.stop().await.unwrap();
}

/// A `DEVICE_CHANGED` whose device lost a channel, and a field of another channel, removes
/// their objects and states at once (before, they stayed until the next full load); what
/// is left under the device is exactly what the report maps to.
async fn a_report_without_a_channel_or_a_field_removes_their_objects_and_states() {
    let home = fixture("home.json");
    // A device with at least three channels: its last channel goes, and a plain field of
    // channel 1 (one with a state of its own).
    let (dev, device) = home["devices"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, d)| d["functionalChannels"].as_object().unwrap().len() >= 3)
        .unwrap();
    let mut device = device.clone();
    let channels = device["functionalChannels"].as_object_mut().unwrap();
    let last = channels.keys().next_back().unwrap().clone();
    channels.remove(&last);
    let root = format!("hmip.0.devices.{dev}");
    let gone_channel = format!("{root}.channels.{last}");
    // A field whose object exists only while the cloud sends it (a writable control's
    // object stays for its commands).
    let mapped = |device: &Value| {
        let mut now = home.clone();
        now["devices"][dev] = device.clone();
        let model: iobroker_hmip::cloud::CurrentState = serde_json::from_value(now).unwrap();
        iobroker_hmip::tree::snapshot("hmip.0", &model)
            .objects
            .into_iter()
            .map(|o| o.id)
            .filter(|id| id.starts_with(&format!("{root}.")))
            .collect::<std::collections::BTreeSet<String>>()
    };
    let keys: Vec<String> = device["functionalChannels"]["1"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let field = keys
        .into_iter()
        .find(|k| {
            let mut without = device.clone();
            without["functionalChannels"]["1"]
                .as_object_mut()
                .unwrap()
                .remove(k);
            !mapped(&without).contains(&format!("{root}.channels.1.{k}"))
                && mapped(&device).contains(&format!("{root}.channels.1.{k}"))
        })
        .expect("channel 1 has a field whose object goes with it");
    device["functionalChannels"]["1"]
        .as_object_mut()
        .unwrap()
        .remove(&field);
    let gone_field = format!("{root}.channels.1.{field}");

    let h = Harness::start(home.clone()).await;
    for id in [&gone_channel, &gone_field] {
        assert!(
            h.store.get_object(id).await.unwrap().is_some(),
            "{id} before"
        );
    }
    assert!(h.state(&gone_field).await.is_some());
    let msg = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": device}}});
    h.sim_post("/sim/push", msg).await;
    // The marker: the field's object is gone.
    common::wait_until(|| async { h.store.get_object(&gone_field).await.unwrap().is_none() }).await;
    let objects = h.store.objects(&format!("{root}.*")).await.unwrap();
    assert!(
        !objects
            .keys()
            .any(|id| id.starts_with(&format!("{gone_channel}.")) || *id == gone_channel),
        "the removed channel's objects stay"
    );
    let states = h.store.states(&format!("{root}.*")).await.unwrap();
    assert!(!states.contains_key(&gone_field), "its state stays");
    assert!(
        !states
            .keys()
            .any(|id| id.starts_with(&format!("{gone_channel}."))),
        "the removed channel's states stay"
    );
    // What is left is exactly what the report maps to.
    let have: std::collections::BTreeSet<String> = objects.keys().cloned().collect();
    assert_eq!(have, mapped(&device));
    h.stop().await.unwrap();
}

crate::over_both_transports!(
    pushing_the_whole_fixture_twice_writes_nothing_the_second_time,
    a_button_press_is_a_state_change_on_its_channel_every_time,
    a_key_pad_code_is_recorded,
    the_alarm_mode_reads_the_zones_and_perimeter_arms_only_external,
    removal_events_delete_the_objects,
    a_report_without_a_channel_or_a_field_removes_their_objects_and_states,
);
