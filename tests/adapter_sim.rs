//! The adapter end to end against the simulator, on the embedded store.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::counts::expected_counts;
use common::{find_channel, fixture, Harness};
use iobroker_hmip::cloud::CurrentState;
use iobroker_hmip::store::Store;
use iobroker_hmip::tree;
use serde_json::{json, Value};

fn count_types(
    objs: &std::collections::BTreeMap<String, iobroker_hmip::iobroker::IobObject>,
) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for o in objs.values() {
        *m.entry(o.obj_type.clone()).or_insert(0) += 1;
    }
    m
}

async fn the_whole_fixture_lands_in_the_store() {
    let home = fixture("home.json");
    let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let h = Harness::start(home.clone()).await;
    let objs = h.store.objects("hmip.0.*").await.unwrap();
    // Every device, channel, group and client.
    for d in model.devices.values() {
        assert_eq!(objs[&format!("hmip.0.devices.{}", d.id)].obj_type, "device");
        for k in d.channels.keys() {
            assert_eq!(
                objs[&format!("hmip.0.devices.{}.channels.{k}", d.id)].obj_type,
                "channel"
            );
        }
    }
    for g in model.groups.values() {
        assert_eq!(objs[&format!("hmip.0.groups.{}", g.id)].obj_type, "device");
    }
    for c in model.clients.values() {
        assert!(objs.contains_key(&format!("hmip.0.clients.{}.info.label", c.id)));
    }
    let counts = count_types(&objs);
    // A group's info is a folder, so that type-detector takes the group for one device.
    let (devices, channels, folders) = expected_counts(
        &home,
        tree::events::HMIP_EVENT_CHANNEL_TYPES,
        tree::events::HMIP_CODE_CHANNEL_TYPES,
    );
    assert_eq!(counts["device"], devices, "{counts:?}");
    assert_eq!(counts["channel"], channels, "{counts:?}");
    assert_eq!(counts["folder"], folders, "{counts:?}");
    let states = h.store.states("hmip.0.*").await.unwrap();
    // Every field the cloud sent has its value; every value has its object.
    for d in model.devices.values() {
        for (k, ch) in &d.channels {
            for field in ch.fields.keys() {
                let id = format!("hmip.0.devices.{}.channels.{k}.{field}", d.id);
                assert!(states.contains_key(&id), "no value for {id}");
            }
        }
    }
    assert!(states.keys().all(|id| objs.contains_key(id)));
    assert!(states
        .values()
        .all(|s| s.ack && s.from == "system.adapter.hmip.0"));
    h.stop().await.unwrap();
}

async fn unknown_types_load_and_appear() {
    let home = fixture("unknown_types.json");
    let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let h = Harness::start(home).await;
    let objs = h.store.objects("hmip.0.*").await.unwrap();
    let unknown = model
        .devices
        .values()
        .find(|d| d.id == "3014F7110000000000000050")
        .expect("the unknown device");
    assert!(objs.contains_key(&format!("hmip.0.devices.{}", unknown.id)));
    assert!(objs.contains_key(&format!("hmip.0.devices.{}.channels.0", unknown.id)));
    assert_eq!(
        h.state(&format!(
            "hmip.0.devices.{}.channels.0.functionalChannelType",
            unknown.id
        ))
        .await
        .unwrap()["val"],
        "DEVICE_UNKNOWN"
    );
    for g in model.groups.values() {
        assert!(objs.contains_key(&format!("hmip.0.groups.{}", g.id)));
    }
    h.stop().await.unwrap();
}

async fn a_changed_value_arrives_and_an_unchanged_push_writes_nothing() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_MEASURING_CHANNEL", "currentPowerConsumption");
    let mut h = Harness::start(home).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.currentPowerConsumption");
    h.drain_writes();

    let r = h
        .sim_post(
            &format!("/sim/device/{dev}/channel/{ch}"),
            json!({"currentPowerConsumption": 123.4}),
        )
        .await;
    assert!(r.status().is_success());
    h.wait_state(&id, |s| s["val"] == json!(123.4) && s["ack"] == json!(true))
        .await;
    let writes = h.drain_until_marker().await;
    let ids: Vec<&str> = writes.iter().map(|w| w.id.as_str()).collect();
    assert!(ids.contains(&id.as_str()));
    // Only the changed value and the device's status timestamp.
    assert!(
        writes.len() <= 2,
        "a one-field change wrote {} states: {:?}",
        ids.len(),
        &ids[..ids.len().min(10)]
    );

    // The same device again, unchanged: the simulator pushes the full device as the cloud does.
    let device = h.sim_get("/sim/home").await["devices"][&dev].clone();
    let push = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": device}}});
    h.sim_post("/sim/push", push.clone()).await;
    h.sim_post("/sim/push", push).await;
    let writes = h.drain_until_marker().await;
    assert!(
        writes.is_empty(),
        "an unchanged device wrote {} states: {:?}",
        writes.len(),
        writes.iter().take(10).map(|w| &w.id).collect::<Vec<_>>()
    );
    h.stop().await.unwrap();
}

async fn user_writes_become_control_calls_and_come_back_acked() {
    let home = fixture("home.json");
    let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let (shutter, sch) = find_channel(&home, "SHUTTER_CHANNEL", "shutterLevel");
    let (blind, bch) = find_channel(&home, "BLIND_CHANNEL", "slatsLevel");
    let (switch, swch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let (dimmer, dch) = find_channel(&home, "DIMMER_CHANNEL", "dimLevel");
    let heating = model
        .groups
        .values()
        .find(|g| g.group_type == "HEATING")
        .unwrap()
        .id
        .clone();
    let blind_shutter = home["devices"][&blind]["functionalChannels"][&bch]["shutterLevel"].clone();
    let switch_on = home["devices"][&switch]["functionalChannels"][&swch]["on"]
        .as_bool()
        .unwrap();
    let h = Harness::start(home).await;

    let cases: Vec<(String, Value, &str, Value)> = vec![
        (
            format!("hmip.0.devices.{shutter}.channels.{sch}.shutterLevel"),
            json!(30),
            "device/control/setShutterLevel",
            json!({"deviceId": shutter, "channelIndex": sch.parse::<u32>().unwrap(), "shutterLevel": 0.7}),
        ),
        (
            format!("hmip.0.devices.{blind}.channels.{bch}.slatsLevel"),
            json!(80),
            "device/control/setSlatsLevel",
            json!({"deviceId": blind, "channelIndex": bch.parse::<u32>().unwrap(), "slatsLevel": 0.2, "shutterLevel": blind_shutter}),
        ),
        (
            format!("hmip.0.devices.{switch}.channels.{swch}.on"),
            json!(!switch_on),
            "device/control/setSwitchState",
            json!({"deviceId": switch, "channelIndex": swch.parse::<u32>().unwrap(), "on": !switch_on}),
        ),
        (
            format!("hmip.0.devices.{dimmer}.channels.{dch}.dimLevel"),
            json!(45),
            "device/control/setDimLevel",
            json!({"deviceId": dimmer, "channelIndex": dch.parse::<u32>().unwrap(), "dimLevel": 0.45}),
        ),
        (
            format!("hmip.0.groups.{heating}.setPointTemperature"),
            json!(22.5),
            "group/heating/setSetPointTemperature",
            json!({"groupId": heating, "setPointTemperature": 22.5}),
        ),
    ];
    for (id, val, path, body) in cases {
        h.sim.url(); // keep the simulator borrowed for the whole loop
        let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
        let r = h.put(&id, val.clone()).await;
        assert_eq!(r.status(), 200, "{id}: {}", r.text().await.unwrap());
        let st = h
            .wait_state(&id, |s| s["val"] == val && s["ack"] == json!(true))
            .await;
        assert_eq!(st["from"], "system.adapter.hmip.0");
        let calls = h.calls().await;
        assert_eq!(calls.len(), 1, "{id}: {calls:?}");
        assert_eq!(calls[0]["path"], path, "{id}");
        assert_eq!(calls[0]["body"], body, "{id}");
    }
    h.stop().await.unwrap();
}

async fn a_value_changed_while_disconnected_is_there_after_the_reconnect() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let was = home["devices"][&dev]["functionalChannels"][&ch]["on"]
        .as_bool()
        .unwrap();
    let h = Harness::start(home).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let before: Value = h.transport_stats().await;

    // Refuse websocket upgrades for a while so the change happens while nobody listens.
    h.sim_post(
        "/sim/fail",
        json!({"count": 4, "status": 503, "path": "ws"}),
    )
    .await;
    h.sim_post("/sim/drop", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    h.sim_post(
        &format!("/sim/device/{dev}/channel/{ch}"),
        json!({"on": !was}),
    )
    .await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    h.wait_state(&id, |s| s["val"] == json!(!was) && s["ack"] == json!(true))
        .await;
    let after: Value = h.transport_stats().await;
    assert!(after["wsConnects"].as_u64() > before["wsConnects"].as_u64());
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_backs_off_with_a_bounded_request_count() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let h = Harness::start(home).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let before = h.sim_get("/sim/stats").await["requests"].as_u64().unwrap();
    // The cloud throttles; the user keeps writing for 1.5 s.
    h.sim_post("/sim/throttle", json!({"count": 1000})).await;
    for i in 0..30 {
        h.put(&id, json!(i % 2 == 0)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A window, not a marker: what is bounded is how many requests time lets through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = h.sim_get("/sim/stats").await["requests"].as_u64().unwrap() - before;
    // Without backoff, 30 writes would be 30 requests (and a reconnect loop more); with a
    // pause of at least 300 ms doubling after each 429, 2 s hold at most a handful.
    assert!(sent <= 8, "{sent} requests reached a throttling cloud");
    assert!(sent >= 1);
    h.stop().await.unwrap();
}

async fn a_revoked_token_goes_offline_without_a_retry_storm() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let h = Harness::start(home).await;
    h.sim_post("/sim/revoke", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    let before = h.transport_stats().await;
    // A user write meanwhile is refused by the latch, not sent.
    h.put(
        &format!("hmip.0.devices.{dev}.channels.{ch}.on"),
        json!(true),
    )
    .await;
    // A window, not a marker: a retry storm is requests over time, which no marker shows.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = h.transport_stats().await;
    let new_requests = after["requests"].as_u64().unwrap() - before["requests"].as_u64().unwrap();
    let new_connects =
        after["wsConnects"].as_u64().unwrap() - before["wsConnects"].as_u64().unwrap();
    assert!(
        new_requests <= 1,
        "{new_requests} requests after the token was revoked"
    );
    assert_eq!(new_connects, 0, "reconnected with a revoked token");
    assert_eq!(
        h.state("hmip.0.info.connection").await.unwrap()["val"],
        json!(false)
    );
    h.stop().await.unwrap();
}

async fn a_failed_call_puts_the_real_value_back() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let was = home["devices"][&dev]["functionalChannels"][&ch]["on"]
        .as_bool()
        .unwrap();
    let h = Harness::start(home).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    // The cloud (throttling) or the HCU (an error code) refuses the next request.
    match h.via {
        common::Via::Cloud => h.sim_post("/sim/throttle", json!({"count": 1})).await,
        common::Via::Hcu => {
            h.sim_post(
                "/sim/fail",
                json!({"count": 1, "status": 400, "path": "device/control"}),
            )
            .await
        }
    };
    assert_eq!(h.put(&id, json!(!was)).await.status(), 200);
    let st = h.wait_state(&id, |s| s["ack"] == json!(true)).await;
    assert_eq!(
        st["val"],
        json!(was),
        "the state shows the real value again"
    );
    assert!(
        h.calls().await.is_empty(),
        "the refused call changed nothing"
    );
    h.stop().await.unwrap();
}

/// Found by the soak: a command to a state the cloud reports no value for (an action such
/// as `setDimLevelWithTime`) stayed unacknowledged for good; it is acknowledged, as
/// written, once the cloud accepted the call.
async fn an_accepted_action_is_acknowledged_as_written() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "DIMMER_CHANNEL", "dimLevel");
    let h = Harness::start(home).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.setDimLevelWithTime");
    assert!(
        h.state(&id).await.is_none_or(|s| s["val"].is_null()),
        "an action has no value"
    );
    // Its parameters first, as a user sets them.
    for (param, val) in [("controlOnTime", 10), ("controlRampTime", 1)] {
        let pid = format!("hmip.0.devices.{dev}.channels.{ch}.{param}");
        assert_eq!(h.put(&pid, json!(val)).await.status(), 200);
        h.wait_state(&pid, |s| s["ack"] == json!(true) && s["val"] == json!(val))
            .await;
    }
    assert_eq!(h.put(&id, json!(40)).await.status(), 200);
    let st = h.wait_state(&id, |s| s["ack"] == json!(true)).await;
    assert_eq!(st["val"], json!(40), "acknowledged as written");
    assert!(h
        .calls()
        .await
        .iter()
        .any(|c| c["path"] == json!("device/control/setDimLevelWithTime")));
    // Again, with another value: an action again, not a value to restore.
    assert_eq!(h.put(&id, json!(60)).await.status(), 200);
    let st = h
        .wait_state(&id, |s| s["ack"] == json!(true) && s["val"] == json!(60))
        .await;
    // Past the confirmation timeout (3 s here): nothing puts another value back. The
    // marker, applied after the wait, shows the adapter's loop ran past the timeout.
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.marker().await;
    assert_eq!(h.state(&id).await.unwrap()["val"], st["val"]);
    h.stop().await.unwrap();
}

async fn a_slider_dragged_through_40_values_sends_one_call() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "DIMMER_CHANNEL", "dimLevel");
    // The product's debounce (250 ms), not the harness's short one.
    let opts = iobroker_hmip::adapter::AdapterOptions::default();
    let h = Harness::start_full(home, common::fast_options(), opts).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.dimLevel");
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    for v in 1..=40 {
        assert_eq!(h.put(&id, json!(v * 2)).await.status(), 200);
    }
    h.wait_state(&id, |s| s["val"] == json!(80) && s["ack"] == json!(true))
        .await;
    let calls = h.calls_until_marker().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["body"]["dimLevel"],
        json!(0.8),
        "the last value wins"
    );
    h.stop().await.unwrap();
}

/// The device states under hmip.0.devices. with their `q`.
async fn device_qualities(h: &Harness) -> std::collections::BTreeMap<String, u64> {
    h.store
        .states("hmip.0.devices.*")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, s)| (id, u64::from(s.q)))
        .collect()
}

/// HOME_CHANGED with `connected: false` (the access point lost its cloud link) marks every
/// device state "device not connected" (q 0x42) with its value kept, and only those; the
/// next report that says it is back clears them. A resync meanwhile changes nothing.
/// A single device that reports `unreach` gets the same for its states, except `unreach`.
async fn an_offline_access_point_marks_every_device_unreachable_until_it_is_back() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let mut h = Harness::start(home).await;
    // The fixture has one device that reports `unreach` (3014F711AAAAAAAAAAAAA002):
    // its states are marked from the start, its `unreach` state is not.
    let model: CurrentState = serde_json::from_value(fixture("home.json")).unwrap();
    let unreachable: Vec<String> = model
        .devices
        .values()
        .filter(|d| {
            d.channels
                .get("0")
                .and_then(|c| c.fields.get("unreach"))
                .and_then(|v| v.as_bool())
                == Some(true)
        })
        .map(|d| format!("hmip.0.devices.{}.", d.id))
        .collect();
    assert_eq!(unreachable.len(), 1);
    assert!(!unreachable.contains(&format!("hmip.0.devices.{dev}.")));
    let normal = |id: &str| -> u32 {
        if unreachable.iter().any(|p| id.starts_with(p)) && !id.ends_with(".unreach") {
            0x42
        } else {
            0
        }
    };
    let before = h.store.states("hmip.0.*").await.unwrap();
    for (id, s) in &before {
        assert_eq!(s.q, normal(id), "{id}");
    }
    let device_count = before
        .keys()
        .filter(|id| id.starts_with("hmip.0.devices.") && normal(id) == 0)
        .count();
    h.drain_writes();

    h.sim_post("/sim/home", json!({"connected": false})).await;
    h.wait_until(|| async { device_qualities(&h).await.values().all(|&q| q == 0x42) })
        .await;
    let after = h.store.states("hmip.0.*").await.unwrap();
    for (id, s) in &after {
        let old = &before[id];
        if id.starts_with("hmip.0.devices.") {
            assert_eq!(s.val, old.val, "{id}: the value stays");
            assert!(s.ack, "{id}");
        } else if id != "hmip.0.homes.connected" && !id.starts_with("hmip.0.homes.") {
            assert_eq!(s.q, 0, "{id}: not a device state");
            assert_eq!(s.ts, old.ts, "{id}: not rewritten");
        }
    }
    // Each device state written once, nothing else but the home's own fields.
    let writes = h.drain_writes();
    let device_writes = writes
        .iter()
        .filter(|w| w.id.starts_with("hmip.0.devices."))
        .count();
    assert_eq!(device_writes, device_count);
    assert!(writes
        .iter()
        .all(|w| w.id.starts_with("hmip.0.devices.") || w.id.starts_with("hmip.0.homes.")));

    // A report meanwhile: the new value, still marked.
    let on = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let was = after[&on].val.as_bool().unwrap();
    h.sim_post(
        &format!("/sim/device/{dev}/channel/{ch}"),
        json!({"on": !was}),
    )
    .await;
    h.wait_state(&on, |s| s["val"] == json!(!was) && s["q"] == json!(0x42))
        .await;

    // A reconnect (fresh snapshot, still offline) rewrites nothing.
    h.drain_writes();
    h.sim_post("/sim/drop", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    let resync: Vec<_> = h
        .drain_writes()
        .into_iter()
        .filter(|w| w.id.starts_with("hmip.0.devices."))
        .map(|w| w.id)
        .collect();
    assert!(resync.is_empty(), "rewritten on resync: {resync:?}");

    // Back: every device state good again, values kept.
    h.sim_post("/sim/home", json!({"connected": true})).await;
    h.wait_until(|| async {
        device_qualities(&h)
            .await
            .iter()
            .all(|(id, &q)| q == u64::from(normal(id)))
    })
    .await;
    assert_eq!(h.state(&on).await.unwrap()["val"], json!(!was));

    // One device unreachable: its states marked, `unreach` itself not, no other device's.
    h.drain_writes();
    h.sim_post(
        &format!("/sim/device/{dev}/channel/0"),
        json!({"unreach": true}),
    )
    .await;
    let prefix = format!("hmip.0.devices.{dev}.");
    let unreach = format!("{prefix}channels.0.unreach");
    h.wait_state(&unreach, |s| s["val"] == json!(true)).await;
    h.wait_state(&on, |s| s["q"] == json!(0x42)).await;
    for (id, q) in device_qualities(&h).await {
        let want = if id.starts_with(&prefix) && id != unreach {
            0x42
        } else {
            u64::from(normal(&id))
        };
        assert_eq!(q, want, "{id}");
    }
    h.sim_post(
        &format!("/sim/device/{dev}/channel/0"),
        json!({"unreach": false}),
    )
    .await;
    h.wait_until(|| async {
        device_qualities(&h)
            .await
            .iter()
            .all(|(id, &q)| q == u64::from(normal(id)))
    })
    .await;
    h.stop().await.unwrap();
}

/// A user write that arrives before the home is loaded (the adapter just started, or
/// reconnects with new credentials) waits for the home and is executed then, instead of
/// being refused.
async fn a_write_before_the_home_is_loaded_waits_for_it() {
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let mut h = Harness::start(home).await;
    let on = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let was = h.state(&on).await.unwrap()["val"].as_bool().unwrap();
    // The restarted adapter's getCurrentState takes 2 s.
    h.sim_post(
        "/sim/fail",
        json!({"count": 1, "delayMs": 2000, "path": h.home_read_path()}),
    )
    .await;
    h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    h.restart_adapter(common::fast_options(), common::fast_adapter_options())
        .await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    h.drain_writes();
    h.put(&on, json!(!was)).await;
    // Executed once the home is there, and confirmed by the cloud.
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    h.wait_state(&on, |s| s["val"] == json!(!was) && s["ack"] == json!(true))
        .await;
    // Held, not refused, all the while: the state went from the user's command straight
    // to its confirmation. A refusal, or the loaded home's old value, would have been
    // written in between (every write to the store is recorded, none is missed).
    let writes: Vec<(Value, bool)> = h
        .drain_writes()
        .into_iter()
        .filter(|w| w.id == on)
        .filter_map(|w| w.state.map(|s| (s.val, s.ack)))
        .collect();
    assert_eq!(writes, [(json!(!was), false), (json!(!was), true)]);
    let calls = h.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["path"], json!("device/control/setSwitchState"));
    assert_eq!(calls[0]["body"]["on"], json!(!was));
    h.stop().await.unwrap();
}

async fn a_defined_field_exists_from_the_start_and_takes_its_first_report() {
    // A DEVICE_BASE channel whose device has not reported `lastBootTimestamp` yet: the
    // state exists with no value, as in ioBroker.hmip, and the first report fills it in.
    let home = fixture("home.json");
    let (dev, ch) = home["devices"]
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(id, d)| {
            d["functionalChannels"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(_, c)| {
                    c["functionalChannelType"] == "DEVICE_BASE"
                        && c.get("lastBootTimestamp").is_none()
                })
                .map(|(k, _)| (id.clone(), k.clone()))
        })
        .expect("a DEVICE_BASE channel without lastBootTimestamp");
    let h = Harness::start(home).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.lastBootTimestamp");
    let before = h.store.objects(&id).await.unwrap()[&id].clone();
    assert_eq!(before.common["type"], "number");
    assert_eq!(before.common["write"], false);
    assert_eq!(h.state(&id).await.unwrap()["val"], Value::Null);

    let r = h
        .sim_post(
            &format!("/sim/device/{dev}/channel/{ch}"),
            json!({"lastBootTimestamp": 1764990000000u64}),
        )
        .await;
    assert!(r.status().is_success());
    h.wait_state(&id, |s| {
        s["val"] == json!(1764990000000u64) && s["ack"] == json!(true)
    })
    .await;
    let after = h.store.objects(&id).await.unwrap()[&id].clone();
    assert_eq!(before.common, after.common, "the object stays as it was");
    h.stop().await.unwrap();
}

crate::over_both_transports!(
    the_whole_fixture_lands_in_the_store,
    unknown_types_load_and_appear,
    a_changed_value_arrives_and_an_unchanged_push_writes_nothing,
    user_writes_become_control_calls_and_come_back_acked,
    a_value_changed_while_disconnected_is_there_after_the_reconnect,
    a_revoked_token_goes_offline_without_a_retry_storm,
    a_failed_call_puts_the_real_value_back,
    an_accepted_action_is_acknowledged_as_written,
    a_slider_dragged_through_40_values_sends_one_call,
    an_offline_access_point_marks_every_device_unreachable_until_it_is_back,
    a_write_before_the_home_is_loaded_waits_for_it,
    a_defined_field_exists_from_the_start_and_takes_its_first_report,
);
