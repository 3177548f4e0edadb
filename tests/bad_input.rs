//! Bad input from the cloud and from users: malformed, truncated, oversized and binary
//! websocket frames, unknown event types, fields of unexpected types in the home and in
//! events, a home of 10,000 devices, ids with characters ioBroker forbids, and writes of
//! every wrong JSON type to every writable state. The adapter never panics, keeps serving,
//! says what was wrong in one log line per cause, and loses no later event.
//!
//! The tests of this binary run one at a time (they count log lines of one global capture).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{capture_logs, fast_options, find_channel, fixture, Captured, Harness};
use iobroker_hmip::adapter::AdapterOptions;
use iobroker_hmip::cloud::CurrentState;
use iobroker_hmip::iobroker::validate_value;
use iobroker_hmip::store::Store;
use iobroker_hmip::tree::{self, ids, WriteAction};
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// One test at a time: they read the one log capture of this binary.
static SERIAL: Mutex<()> = Mutex::const_new(());

fn logs() -> Captured {
    capture_logs("debug")
}

/// The warnings and errors in `text`.
fn complaints(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect()
}

/// A value change made in the simulator (as the device would), awaited in the store: the
/// adapter still applies events, and none was lost behind the bad input.
struct Marker {
    state: String,
    path: String,
    n: u32,
}

impl Marker {
    fn new(home: &Value) -> Marker {
        let (dev, ch) = find_channel(home, "SWITCH_MEASURING_CHANNEL", "currentPowerConsumption");
        Marker {
            state: format!("hmip.0.devices.{dev}.channels.{ch}.currentPowerConsumption"),
            path: format!("/sim/device/{dev}/channel/{ch}"),
            n: 0,
        }
    }

    async fn arrives(&mut self, h: &Harness) {
        self.n += 1;
        let val = json!(5000 + self.n);
        let r = h
            .sim_post(&self.path, json!({ "currentPowerConsumption": val }))
            .await;
        assert_eq!(r.status(), 200);
        h.wait_state(&self.state, |s| s["val"] == val).await;
    }
}

async fn push(h: &Harness, body: Vec<u8>, binary: bool) {
    let q = if binary { "?binary=true" } else { "" };
    let r = h
        .http
        .post(h.sim_url(&format!("/sim/push{q}")))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn events(evs: &[Value]) -> Vec<u8> {
    let map: serde_json::Map<String, Value> = evs
        .iter()
        .enumerate()
        .map(|(i, e)| (i.to_string(), e.clone()))
        .collect();
    json!({ "events": map }).to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_skipped_with_one_clear_line_each() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let home = fixture("home.json");
    let mut marker = Marker::new(&home);
    let h = Harness::start(home.clone()).await;
    let device = home["devices"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let good = events(&[json!({"pushEventType": "DEVICE_CHANGED", "device": device})]);
    let mut deep = String::from("{\"events\":{\"0\":{\"pushEventType\":\"X\",\"d\":");
    deep.push_str(&"[".repeat(300));
    deep.push_str(&"]".repeat(300));
    deep.push_str("}}}");

    // (what, payload, as a binary frame, the one warning it causes)
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        (
            "not JSON",
            b"{not json".to_vec(),
            false,
            "websocket message is not JSON",
        ),
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            false,
            "websocket message is not JSON: EOF while parsing",
        ),
        (
            "binary garbage",
            (0..=255u8).collect(),
            true,
            "websocket message is not JSON",
        ),
        (
            "invalid UTF-8",
            b"{\"events\":{\"0\":{\"pushEventType\":\"DEVICE_REMOVED\",\"id\":\"\xc3\x28\"}}}"
                .to_vec(),
            true,
            "websocket message is not JSON",
        ),
        (
            "nested too deep",
            deep.into_bytes(),
            false,
            "recursion limit exceeded",
        ),
        (
            "no events",
            b"{\"accessPointId\":\"x\"}".to_vec(),
            false,
            "has no \"events\" map",
        ),
        (
            "events an array",
            b"{\"events\":[{\"pushEventType\":\"DEVICE_REMOVED\",\"id\":\"x\"}]}".to_vec(),
            false,
            "has no \"events\" map",
        ),
        (
            "event a number",
            events(&[json!(5)]),
            false,
            "event 0: no pushEventType",
        ),
        (
            "no device",
            events(&[json!({"pushEventType": "DEVICE_CHANGED"})]),
            false,
            "event 0: no \"device\" in event",
        ),
        (
            "device without id",
            events(&[json!({"pushEventType": "DEVICE_CHANGED", "device": {"type": "X"}})]),
            false,
            "device has no usable id",
        ),
        (
            "removal without id",
            events(&[json!({"pushEventType": "GROUP_REMOVED", "group": {}})]),
            false,
            "removal event without an id",
        ),
        (
            "channel index beyond u32",
            events(&[
                json!({"pushEventType": "DEVICE_CHANNEL_EVENT", "deviceId": "D", "channelIndex": 4294967297u64, "channelEventType": "KEY_PRESS_SHORT"}),
            ]),
            false,
            "event 0: no channel index",
        ),
    ];
    for (what, payload, binary, expected) in cases {
        let mark = logs.mark();
        push(&h, payload, binary).await;
        marker.arrives(&h).await;
        let new = logs.since(mark);
        let warned = complaints(&new);
        assert_eq!(warned.len(), 1, "{what}: one warning, got {warned:#?}");
        assert!(warned[0].contains(expected), "{what}: {}", warned[0]);
    }

    // An unknown event type is not an error: a debug line, no warning.
    let mark = logs.mark();
    push(
        &h,
        events(&[json!({"pushEventType": "SOMETHING_NEW", "x": 1})]),
        false,
    )
    .await;
    marker.arrives(&h).await;
    let new = logs.since(mark);
    assert!(complaints(&new).is_empty(), "{new}");
    assert_eq!(
        new.lines()
            .filter(|l| l.contains("unknown push event type ignored") && l.contains("SOMETHING_NEW"))
            .count(),
        1,
        "{new}"
    );

    // A bad event does not spoil the good one beside it.
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let mut changed = home["devices"][&dev].clone();
    let on = !changed["functionalChannels"][&ch]["on"].as_bool().unwrap();
    changed["functionalChannels"][&ch]["on"] = json!(on);
    push(
        &h,
        events(&[
            json!({"pushEventType": "DEVICE_REMOVED"}),
            json!({"pushEventType": "DEVICE_CHANGED", "device": changed}),
        ]),
        false,
    )
    .await;
    h.wait_state(&format!("hmip.0.devices.{dev}.channels.{ch}.on"), |s| {
        s["val"] == json!(on)
    })
    .await;
    assert_eq!(
        h.sim_get("/sim/stats").await["wsConnects"],
        json!(1),
        "no reconnect"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_costs_a_reconnect_not_the_tree() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let home = fixture("home.json");
    let mut marker = Marker::new(&home);
    let h = Harness::start(home).await;
    let mark = logs.mark();
    // 20 MB: above the websocket's 16 MiB frame limit.
    let pad = "x".repeat(20 * 1024 * 1024);
    let big = format!(
        "{{\"events\":{{\"0\":{{\"pushEventType\":\"SOMETHING_NEW\",\"pad\":\"{pad}\"}}}}}}"
    );
    push(&h, big.into_bytes(), false).await;
    // The connection is dropped and opened again; the home is fetched again; later
    // events arrive.
    common::wait_until(|| async { h.sim_get("/sim/stats").await["wsConnects"] == json!(2) }).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    marker.arrives(&h).await;
    let new = logs.since(mark);
    let warned = complaints(&new);
    assert_eq!(warned.len(), 1, "one line for one drop: {warned:#?}");
    assert!(
        warned[0].contains("cloud connection lost") && warned[0].contains("Message too long"),
        "the cause is named: {}",
        warned[0]
    );
    h.stop().await.unwrap();
}

/// The fixture with fields of unexpected types on some of its devices and a group.
struct Damaged {
    home: Value,
    /// The ids of all devices, damaged ones included.
    ids: Vec<String>,
    /// The damaged devices: functionalChannels a number, label an object, type null, id a
    /// number, channel 0 a string.
    victims: Vec<String>,
    /// A state whose cloud value is a string where a number belongs.
    shutter_level: String,
    /// What each damage is called in its one log line.
    causes: Vec<String>,
}

fn damaged_home() -> Damaged {
    let mut home = fixture("home.json");
    let (marker, _) = find_channel(&home, "SWITCH_MEASURING_CHANNEL", "currentPowerConsumption");
    let (shutter, sch) = find_channel(&home, "SHUTTER_CHANNEL", "shutterLevel");
    let (switch, wch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    // The device ids (the tree's), and victims among the devices keyed by their id.
    let ids: Vec<String> = home["devices"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let victims: Vec<String> = home["devices"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, d)| d["id"] == json!(k) && ![&marker, &shutter, &switch].contains(k))
        .filter(|(_, d)| d["functionalChannels"].as_object().unwrap().len() >= 2)
        .map(|(k, _)| k.clone())
        .take(5)
        .collect();
    let group = home["groups"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let d = &mut home["devices"];
    d[&victims[0]]["functionalChannels"] = json!(5);
    d[&victims[1]]["label"] = json!({"de": "Flur"});
    d[&victims[2]]["type"] = Value::Null;
    d[&victims[3]]["id"] = json!(12345);
    d[&victims[4]]["functionalChannels"]["0"] = json!("broken");
    d[&shutter]["functionalChannels"][&sch]["shutterLevel"] = json!("half");
    d[&switch]["functionalChannels"][&wch]["on"] = json!({"state": true});
    home["groups"][&group]["label"] = json!(["a"]);
    let causes = vec![
        format!("device {}: \"functionalChannels\" is a number", victims[0]),
        format!("device {}: \"label\" is an object", victims[1]),
        format!("device {}: \"type\" is null", victims[2]),
        format!("device {}: \"id\" is a number; the map key is used instead", victims[3]),
        format!("device {}: channel 0 is a string", victims[4]),
        format!("device {shutter} channel {sch} (SHUTTER_CHANNEL): the cloud sent shutterLevel as a string"),
        format!("device {switch} channel {wch} (SWITCH_CHANNEL): the cloud sent on as an object"),
        format!("group {group}: \"label\" is an array"),
    ];
    Damaged {
        home,
        ids,
        victims,
        shutter_level: format!("hmip.0.devices.{shutter}.channels.{sch}.shutterLevel"),
        causes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_types_in_the_home_spoil_only_themselves() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let mark = logs.mark();
    let damaged = damaged_home();
    let mut marker = Marker::new(&fixture("home.json"));
    // Connected means the home loaded.
    let h = Harness::start(damaged.home.clone()).await;
    let objs = h.store.objects("hmip.0.devices.*").await.unwrap();
    for id in &damaged.ids {
        assert!(
            objs.contains_key(&format!("hmip.0.devices.{id}")),
            "{id} missing"
        );
    }
    let v = &damaged.victims;
    assert_eq!(
        objs[&format!("hmip.0.devices.{}", v[1])].common["name"],
        json!(v[1])
    );
    assert_eq!(
        h.state(&format!("hmip.0.devices.{}.info.type", v[2]))
            .await
            .unwrap()["val"],
        ""
    );
    // The other channels of the device whose channel 0 is broken are there.
    assert!(objs.contains_key(&format!("hmip.0.devices.{}.channels.1", v[4])));
    let level = h.state(&damaged.shutter_level).await.unwrap();
    assert_eq!(
        level["val"],
        Value::Null,
        "a value of the wrong type reads as null"
    );
    marker.arrives(&h).await;

    // A reconnect fetches the home again: nothing is logged twice.
    h.sim_post("/sim/drop", json!({})).await;
    common::wait_until(|| async { h.sim_get("/sim/stats").await["wsConnects"] == json!(2) }).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    marker.arrives(&h).await;
    let text = logs.since(mark);
    for cause in &damaged.causes {
        let n = complaints(&text)
            .iter()
            .filter(|l| l.contains(cause.as_str()))
            .count();
        assert_eq!(
            n,
            1,
            "{cause:?} logged {n} times:\n{}",
            complaints(&text).join("\n")
        );
    }
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_types_in_events_spoil_only_themselves() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let home = fixture("home.json");
    let mut marker = Marker::new(&home);
    let h = Harness::start(home.clone()).await;
    let (dev, ch) = find_channel(&home, "SWITCH_MEASURING_CHANNEL", "currentPowerConsumption");
    let state = format!("hmip.0.devices.{dev}.channels.{ch}.currentPowerConsumption");
    let device = home["devices"][&dev].clone();
    let with = |f: &dyn Fn(&mut Value), power: f64| {
        let mut d = device.clone();
        d["functionalChannels"][&ch]["currentPowerConsumption"] = json!(power);
        f(&mut d);
        events(&[json!({"pushEventType": "DEVICE_CHANGED", "device": d})])
    };

    // Repaired: the event's good values arrive, one line per cause, not per event.
    type Damage = Box<dyn Fn(&mut Value)>;
    let repairs: Vec<(Damage, String)> = vec![
        (
            Box::new(|d| d["label"] = json!({"x": 1})),
            format!("device {dev}: \"label\" is an object"),
        ),
        (
            Box::new(|d| d["type"] = Value::Null),
            format!("device {dev}: \"type\" is null"),
        ),
        (
            Box::new(|d| d["functionalChannels"]["0"]["functionalChannelType"] = json!(7)),
            format!("device {dev} channel 0: \"functionalChannelType\" is a number"),
        ),
        (
            Box::new(move |d| d["functionalChannels"]["0"]["unreach"] = json!("no")),
            format!("device {dev} channel 0 (DEVICE_BASE): the cloud sent unreach as a string"),
        ),
    ];
    let mut power = 100.0;
    for (damage, cause) in &repairs {
        let mark = logs.mark();
        for _ in 0..2 {
            power += 1.0;
            push(&h, with(damage.as_ref(), power), false).await;
            h.wait_state(&state, |s| s["val"] == json!(power)).await;
        }
        // A type that could not be read also shows, once, as an unknown (empty) type.
        let new = logs.since(mark);
        let warned: Vec<&str> = complaints(&new)
            .into_iter()
            .filter(|l| !l.contains("unknown device type") && !l.contains("unknown channel type"))
            .collect();
        assert_eq!(warned.len(), 1, "{cause}: {warned:#?}");
        assert!(warned[0].contains(cause.as_str()), "{cause}: {}", warned[0]);
    }
    // Refused: channels that cannot be read would drop the device's channels from the
    // model; the event is skipped with one line, and the next good one arrives.
    for (damage, cause) in [
        (
            json!(7),
            format!("device {dev}: \"functionalChannels\" is a number, not a map"),
        ),
        (
            json!({"0": [], "1": {}}),
            format!("device {dev}: channel 0 is an array, not an object"),
        ),
    ] {
        let mark = logs.mark();
        let mut d = device.clone();
        d["functionalChannels"] = damage;
        push(
            &h,
            events(&[json!({"pushEventType": "DEVICE_CHANGED", "device": d})]),
            false,
        )
        .await;
        marker.arrives(&h).await;
        let new = logs.since(mark);
        let warned = complaints(&new);
        assert_eq!(warned.len(), 1, "{cause}: {warned:#?}");
        assert!(warned[0].contains(&cause), "{cause}: {}", warned[0]);
    }
    h.stop().await.unwrap();
}

/// `n` devices cloned from the fixture's, with new ids (in their channels too).
fn big_home(n: usize) -> Value {
    let mut home = fixture("home.json");
    let originals: Vec<Value> = home["devices"]
        .as_object()
        .unwrap()
        .values()
        .cloned()
        .collect();
    let mut devices = serde_json::Map::new();
    for i in 0..n {
        let mut d = originals[i % originals.len()].clone();
        let id = format!("3014F711B{i:015}");
        d["id"] = json!(id);
        for ch in d["functionalChannels"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            if ch.get("deviceId").is_some() {
                ch["deviceId"] = json!(id);
            }
        }
        devices.insert(id, d);
    }
    home["devices"] = Value::Object(devices);
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_of_10000_devices_loads_completely() {
    let _serial = SERIAL.lock().await;
    let home = big_home(10_000);
    // What the tree must hold, kept small: the home itself is about 50 MB of JSON.
    let (object_count, value_ids, device_ids) = {
        let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
        let snap = tree::snapshot("hmip.0", &model);
        let values: Vec<String> = snap.values.into_iter().map(|v| v.id).collect();
        (
            snap.objects.len(),
            values,
            model.devices.keys().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(device_ids.len(), 10_000);
    let last = device_ids.last().unwrap().clone();
    let (_, ch) = find_channel(
        &json!({"devices": {last.clone(): home["devices"][&last]}}),
        "DEVICE_BASE",
        "functionalChannelType",
    );
    let opts = common::fast_adapter_options();
    let mut options = fast_options();
    options.request_timeout = Duration::from_secs(300);
    options.dead_timeout = Duration::from_secs(300);
    let h = Harness::start_within(home, options, opts, Duration::from_secs(600)).await;
    {
        let objs = h.store.objects("hmip.0.*").await.unwrap();
        assert_eq!(
            objs.len(),
            object_count,
            "every object of the tree is in the store"
        );
        for id in &device_ids {
            assert!(objs.contains_key(&format!("hmip.0.devices.{id}")), "{id}");
        }
    }
    {
        let states = h.store.states("hmip.0.*").await.unwrap();
        let missing: Vec<&String> = value_ids
            .iter()
            .filter(|id| !states.contains_key(*id))
            .take(5)
            .collect();
        assert!(missing.is_empty(), "values missing, e.g. {missing:?}");
    }
    // Still responsive: an event on the last device arrives.
    let id = format!("hmip.0.devices.{last}.channels.{ch}.rssiDeviceValue");
    h.sim_post(
        &format!("/sim/device/{last}/channel/{ch}"),
        json!({"rssiDeviceValue": -42}),
    )
    .await;
    common::wait_until_within(Duration::from_secs(120), || async {
        h.state(&id).await.is_some_and(|s| s["val"] == json!(-42))
    })
    .await;
    h.stop().await.unwrap();
}

/// Ids with every character ioBroker forbids (and dots, which would split a level).
const ODD_IDS: &[&str] = &[
    "3014F711.A000.0001",
    "with space",
    "star*",
    "what?",
    "[bracketed]",
    "quo\"te",
    "it's",
    "ünïcödé ✓",
    "comma,semi;",
    "<angle>",
    "back\\slash",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_ids_resolve_to_the_same_device_for_objects_states_and_writes() {
    let _serial = SERIAL.lock().await;
    let home = fixture("home.json");
    let (dev, ch) = find_channel(&home, "SWITCH_CHANNEL", "on");
    let switch = home["devices"][&dev].clone();
    let group = home["groups"]
        .as_object()
        .unwrap()
        .values()
        .find(|g| g["type"] == "SWITCHING" && g.get("on").is_some())
        .expect("a switching group")
        .clone();
    let mut odd = home.clone();
    let mut devices = serde_json::Map::new();
    let mut groups = serde_json::Map::new();
    for id in ODD_IDS {
        let mut d = switch.clone();
        d["id"] = json!(id);
        for c in d["functionalChannels"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            c["deviceId"] = json!(id);
        }
        devices.insert(id.to_string(), d);
        let mut g = group.clone();
        g["id"] = json!(format!("group {id}"));
        groups.insert(format!("group {id}"), g);
    }
    // Channel keys the cloud never sends: escaped like ids, and a write to one is refused
    // with a reason (the cloud addresses channels by number).
    let mut keyed = switch.clone();
    keyed["id"] = json!("odd-channels");
    let channel = switch["functionalChannels"][&ch].clone();
    let odd_keys = ["1.5", "x y", "ü*"];
    keyed["functionalChannels"] = Value::Object(
        odd_keys
            .iter()
            .map(|k| (k.to_string(), channel.clone()))
            .collect(),
    );
    devices.insert("odd-channels".into(), keyed);
    odd["devices"] = Value::Object(devices);
    odd["groups"] = Value::Object(groups);
    let logs = logs();
    let h = Harness::start(odd).await;
    let objs = h.store.objects("hmip.0.*").await.unwrap();
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    for id in ODD_IDS {
        let base = format!("hmip.0.devices.{}", ids::segment(id));
        assert_eq!(objs[&base].obj_type, "device", "{id}: {base}");
        assert!(
            !base["hmip.0.devices.".len()..].contains('.'),
            "{id}: one level, {base}"
        );
        let on = format!("{base}.channels.{ch}.on");
        let current = h
            .state(&on)
            .await
            .unwrap_or_else(|| panic!("{id}: no {on}"));
        let want = !current["val"].as_bool().unwrap_or(false);
        let r = h.put(&on, json!(want)).await;
        assert_eq!(r.status(), 200, "{id}: {}", r.text().await.unwrap());
        h.wait_state(&on, |s| s["val"] == json!(want) && s["ack"] == json!(true))
            .await;
        let gid = format!("group {id}");
        let gon = format!("hmip.0.groups.{}.on", ids::segment(&gid));
        assert_eq!(
            objs[&format!("hmip.0.groups.{}", ids::segment(&gid))].obj_type,
            "device"
        );
        let r = h.put(&gon, json!(true)).await;
        assert_eq!(r.status(), 200, "{gid}: {}", r.text().await.unwrap());
    }
    for key in odd_keys {
        let base = format!("hmip.0.devices.odd-channels.channels.{}", ids::segment(key));
        assert_eq!(objs[&base].obj_type, "channel", "{key}: {base}");
        let mark = logs.mark();
        let r = h.put(&format!("{base}.on"), json!(true)).await;
        assert_eq!(r.status(), 200);
        let reason = format!("the cloud addresses channels by number, not as {key:?}");
        common::wait_until(|| async { logs.since(mark).contains(&reason) }).await;
    }
    common::wait_until(|| async { h.calls().await.len() >= 2 * ODD_IDS.len() }).await;
    let calls = h.calls().await;
    for id in ODD_IDS {
        assert!(
            calls.iter().any(|c| c["body"]["deviceId"] == json!(id)),
            "no call with the original device id {id:?}: {calls:#?}"
        );
        assert!(
            calls
                .iter()
                .any(|c| c["body"]["groupId"] == json!(format!("group {id}"))),
            "no call with the original group id of {id:?}"
        );
    }
    assert_eq!(
        calls.len(),
        2 * ODD_IDS.len(),
        "nothing for the odd channel keys"
    );
    h.stop().await.unwrap();
}

/// One value of each JSON type.
fn every_type() -> [(&'static str, Value); 6] {
    [
        ("string", json!("x")),
        ("number", json!(7)),
        ("boolean", json!(true)),
        ("null", Value::Null),
        ("array", json!([1])),
        ("object", json!({"a": 1})),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wrong_type_to_every_writable_state_is_refused_or_mapped() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let home = fixture("home.json");
    let model: CurrentState = serde_json::from_value(home.clone()).unwrap();
    let snap = tree::snapshot("hmip.0", &model);
    let writable: Vec<_> = snap
        .objects
        .iter()
        .filter(|o| o.obj_type == "state" && o.common.get("write") == Some(&json!(true)))
        .collect();
    assert!(writable.len() > 1000, "{}", writable.len());
    let mut options = fast_options();
    options.bucket_capacity = 1000;
    options.bucket_refill = Duration::from_millis(1);
    options.queue_limit = 5000;
    let opts = AdapterOptions {
        namespace: "hmip.0".into(),
        write_debounce: Duration::from_millis(200),
        confirm_timeout: Duration::from_secs(30),
        ..AdapterOptions::default()
    };
    let h = Harness::start_full(home, options, opts).await;
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();

    // Through the HTTP API: a value of another type than the state's is refused with 400
    // and a message that names the state and the expected type; nothing is sent.
    let mut refused = 0;
    for o in &writable {
        let ty = o.common["type"].as_str().unwrap();
        for (name, val) in every_type() {
            if name == ty {
                continue;
            }
            let r = h.put(&o.id, val.clone()).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            match validate_value(&o.common, &val) {
                Err(_) => {
                    assert_eq!(status, 400, "{} took {val}", o.id);
                    let msg = body["error"].as_str().unwrap();
                    assert!(msg.starts_with(&o.id) && msg.contains("expected"), "{msg}");
                    refused += 1;
                }
                Ok(()) => assert_eq!(status, 200, "{} refused {val}: {body}", o.id),
            }
        }
    }
    assert!(refused >= writable.len() * 5, "{refused}");

    // Straight into the store, as another adapter's setState arrives through ioBroker
    // (which checks no types): the adapter sends exactly what the mapping makes of the
    // value, and refuses the rest with one line each. Per round one type for every state,
    // then the names of enums shown as numbers (a string a number state takes).
    let mut rounds: Vec<(String, Vec<(String, Value)>)> = every_type()
        .into_iter()
        .map(|(name, val)| {
            let writes = writable
                .iter()
                .filter(|o| o.common["type"] != json!(name))
                .map(|o| (o.id.clone(), val.clone()))
                .collect();
            (name.to_string(), writes)
        })
        .collect();
    let names: Vec<(String, Value)> = writable
        .iter()
        .filter(|o| o.common["type"] == json!("number"))
        .filter_map(|o| {
            let name = o
                .common
                .get("states")?
                .as_object()?
                .values()
                .next_back()?
                .clone();
            Some((o.id.clone(), name))
        })
        .collect();
    assert!(!names.is_empty());
    rounds.push(("enum name".into(), names));
    for (name, round) in rounds {
        let (refusals, sent) = write_into_store(&h, &logs, &model, round).await;
        println!("{name}: {refusals} writes refused, {sent} sent as mapped");
        if name == "enum name" {
            assert!(sent > 0, "enum names are taken");
        }
    }
    h.stop().await.unwrap();
}

/// Write `writes` (user commands, ack false) straight into the store and check that
/// the simulator receives exactly the calls the mapping makes of them, and that each
/// refused write is logged once. Returns (refused, sent).
async fn write_into_store(
    h: &Harness,
    logs: &Captured,
    model: &CurrentState,
    writes: Vec<(String, Value)>,
) -> (usize, usize) {
    let mark = logs.mark();
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    // The marker switch ends the round (below): it is not written here.
    let (marker_dev, _) = common::marker_switch(&h.sim_get("/sim/home").await);
    let marker_prefix = format!("hmip.0.devices.{marker_dev}.");
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    let mut refusals = 0;
    let mut states = Vec::new();
    for (id, val) in writes
        .into_iter()
        .filter(|(id, _)| !id.starts_with(&marker_prefix))
    {
        match tree::write_to_call("hmip.0", model, &id, &val, &|_| None) {
            Ok(WriteAction::Call(c)) => {
                expected.insert(id.clone(), json!({"path": c.path, "body": c.body}));
            }
            Ok(WriteAction::Local | WriteAction::Secret(_)) => {}
            Err(_) => refusals += 1,
        }
        states.push((id, common::written(val, false, "system.adapter.test.0")));
    }
    h.store.set_states(states).await.unwrap();
    common::wait_until(|| async {
        complaints(&logs.since(mark))
            .iter()
            .filter(|l| l.contains("refused"))
            .count()
            >= refusals
    })
    .await;
    // Every call the round makes is due before the marker's (written after it, with the
    // same debounce): the calls before the marker's are all of them.
    let calls = h.calls_until_marker().await;
    let new = logs.since(mark);
    let mut lines: HashMap<&str, usize> = HashMap::new();
    for id in complaints(&new)
        .iter()
        .filter_map(|l| l.split("write to ").nth(1)?.split(" refused: ").next())
    {
        *lines.entry(id).or_default() += 1;
    }
    assert_eq!(
        lines.values().sum::<usize>(),
        refusals,
        "one line per refused write"
    );
    assert!(lines.values().all(|&n| n == 1), "{lines:?}");
    let key = |v: &Value| v.to_string();
    let mut got: Vec<Value> = calls
        .into_iter()
        .map(|c| json!({"path": c["path"], "body": c["body"]}))
        .collect();
    let mut want: Vec<Value> = expected.into_values().collect();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want, "the calls sent are exactly the mapped ones");
    (refusals, got.len())
}
