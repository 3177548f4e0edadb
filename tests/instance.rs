//! The ioBroker instance lifecycle on the embedded store (the same code runs on
//! js-controller's databases; tests/e2e checks that): config decrypted from the instance
//! object, health states, pairing through the messagebox exactly as admin sends it, tokens
//! written back encrypted, and sigKill.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{fast_options, fixture, wait_until};
use iobroker_hmip::adapter::instance::{self, InstanceOptions};
use iobroker_hmip::adapter::secret;
use iobroker_hmip::iobroker::{now_ms, IobObject, IobState};
use iobroker_hmip::sim::{self, Button, SimConfig};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::{InstanceBus, Store};
use serde_json::{json, Value};
use tokio::sync::watch;

const SECRET: &str = "00112233445566778899aabbccddeeff0011223344556677";

/// One instance at a time in this binary: an instance takes the process's one log bus
/// receiver (its log lines to admin), so a test that watches those lines must not have
/// another instance take it first.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn object(id: &str, obj_type: &str, body: Value) -> IobObject {
    let mut v = body;
    v["_id"] = json!(id);
    v["type"] = json!(obj_type);
    serde_json::from_value(v).unwrap()
}

/// A store as js-controller leaves it for a new instance: system.config with its secret
/// and the instance object with the given native settings.
async fn iobroker_like_store(native: Value) -> Arc<EmbeddedStore> {
    let store = Arc::new(EmbeddedStore::in_memory());
    store
        .set_objects(vec![
            object(
                "system.config",
                "config",
                json!({"common": {}, "native": {"secret": SECRET}}),
            ),
            object(
                "system.adapter.hmip.0",
                "instance",
                json!({"common": {"name": "hmip", "enabled": true}, "native": native,
                       "encryptedNative": ["authToken", "clientAuthToken", "clientId", "pin"],
                       "protectedNative": ["authToken", "clientAuthToken", "clientId", "pin"]}),
            ),
        ])
        .await
        .unwrap();
    store
}

fn options() -> InstanceOptions {
    let mut o = InstanceOptions::new(0);
    o.client = fast_options();
    o.pairing_timeout = Duration::from_secs(5);
    o.pairing_poll = Duration::from_millis(100);
    o.health_interval = Duration::from_millis(200);
    o
}

async fn state(store: &EmbeddedStore, id: &str) -> Option<IobState> {
    store.get_state(id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_instance_connects_with_its_encrypted_token_and_stops_on_sigkill() {
    let _serial = SERIAL.lock().await;
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.home = fixture("home.json");
    let sim = sim::start(cfg).await.unwrap();
    let store = iobroker_like_store(json!({
        "accessPointSgtin": "3014-F711-A000-0000-0000-0001",
        "authToken": secret::encrypt(SECRET, sim::DEFAULT_AUTH_TOKEN).unwrap(),
        "clientAuthToken": "", "clientId": "", "pin": "", "deviceId": "",
        "lookupUrl": sim.lookup_url(),
    }))
    .await;
    let (_tx, rx) = watch::channel(false);
    let bus: Arc<dyn InstanceBus> = store.clone();
    let task = tokio::spawn(instance::run(bus, options(), rx));

    wait_until(|| async {
        state(&store, "hmip.0.info.connection")
            .await
            .is_some_and(|s| s.val == json!(true))
    })
    .await;
    assert!(store.objects("hmip.0.devices.*").await.unwrap().len() > 1000);
    wait_until(|| async {
        state(&store, "system.adapter.hmip.0.alive")
            .await
            .is_some_and(|s| s.val == json!(true))
    })
    .await;
    let rss = state(&store, "system.adapter.hmip.0.memRss").await.unwrap();
    assert!(rss.val.as_f64().unwrap() > 0.0);
    assert_eq!(
        state(&store, "system.adapter.hmip.0.connected")
            .await
            .unwrap()
            .from,
        "system.adapter.hmip.0"
    );

    // js-controller stops an instance by writing sigKill = -1 (ack false).
    let started = std::time::Instant::now();
    store
        .set_states(vec![(
            "system.adapter.hmip.0.sigKill".into(),
            common::written(json!(-1), false, "system.host.x"),
        )])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("stops within 2 s")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        state(&store, "system.adapter.hmip.0.alive")
            .await
            .unwrap()
            .val,
        json!(false)
    );
    assert_eq!(
        state(&store, "hmip.0.info.connection").await.unwrap().val,
        json!(false)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_through_the_messagebox_as_admin_sends_it() {
    let _serial = SERIAL.lock().await;
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.pin = Some("2468".into());
    cfg.button = Button::Manual;
    let sim = sim::start(cfg).await.unwrap();
    let store = iobroker_like_store(
        json!({"accessPointSgtin": "", "pin": "", "deviceName": "ioBroker", "authToken": "",
        "clientAuthToken": "", "clientId": "", "deviceId": "", "lookupUrl": sim.lookup_url()}),
    )
    .await;
    let (_tx, rx) = watch::channel(false);
    let bus: Arc<dyn InstanceBus> = store.clone();
    let task = tokio::spawn(instance::run(bus, options(), rx));
    // Not paired: the instance waits for the admin page.
    wait_until(|| async { state(&store, "system.adapter.hmip.0.alive").await.is_some() }).await;
    let mut replies = store.subscribe_raw("messagebox.system.adapter.admin.0");

    let send = |pin: &str, n: u64| {
        json!({"command": "requestToken",
               "message": {"accessPointSgtin": "3014-F711-A000-0000-0000-0001", "pin": pin, "deviceName": "ioBroker"},
               "from": "system.adapter.admin.0",
               "callback": {"message": {"accessPointSgtin": "3014-F711-A000-0000-0000-0001"}, "id": n, "ack": false, "time": now_ms()},
               "_id": n})
        .to_string()
    };
    // A wrong PIN: an error for admin's dialog.
    store
        .publish("messagebox.system.adapter.hmip.0", &send("1111", 1))
        .await
        .unwrap();
    let (_, reply) = tokio::time::timeout(Duration::from_secs(5), replies.recv())
        .await
        .unwrap()
        .unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["callback"]["id"], json!(1));
    assert_eq!(reply["callback"]["ack"], json!(true));
    assert_eq!(reply["from"], "system.adapter.hmip.0");
    assert!(
        reply["message"]["error"].as_str().unwrap().contains("PIN"),
        "{reply}"
    );

    // The right PIN; the page shows the hint until the button is pressed.
    store
        .publish("messagebox.system.adapter.hmip.0", &send("2468", 2))
        .await
        .unwrap();
    wait_until(|| async {
        state(&store, "hmip.0.info.pairing")
            .await
            .is_some_and(|s| s.val.as_str().unwrap_or("").contains("blue button"))
    })
    .await;
    reqwest::Client::new()
        .post(format!("{}/sim/button", sim.url()))
        .send()
        .await
        .unwrap();
    let (_, reply) = tokio::time::timeout(Duration::from_secs(5), replies.recv())
        .await
        .unwrap()
        .unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["callback"]["id"], json!(2));
    let native = &reply["message"]["native"];
    let token = native["authToken"].as_str().unwrap().to_string();
    assert!(
        !token.is_empty() && native["clientId"].is_string() && native["deviceId"].is_string(),
        "{reply}"
    );
    assert_eq!(reply["message"]["saveConfig"], json!(true));

    // The tokens are in the instance object (saved right after the reply), encrypted with
    // the system secret.
    wait_until(|| async {
        let obj = store
            .get_object("system.adapter.hmip.0")
            .await
            .unwrap()
            .unwrap();
        obj.native["authToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    })
    .await;
    let obj = store
        .get_object("system.adapter.hmip.0")
        .await
        .unwrap()
        .unwrap();
    let stored = obj.native["authToken"].as_str().unwrap();
    assert!(stored.starts_with("$/aes-192-cbc:"), "{stored}");
    assert_eq!(secret::decrypt(SECRET, stored).unwrap(), token);
    assert!(!obj.native["clientAuthToken"]
        .as_str()
        .unwrap()
        .contains(&native["clientAuthToken"].as_str().unwrap()[..16]));

    store
        .set_states(vec![(
            "system.adapter.hmip.0.sigKill".into(),
            common::written(json!(-1), false, "x"),
        )])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_reach_admin_live() {
    let _serial = SERIAL.lock().await;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // This binary's global subscriber forwards info lines, as the instance mode does.
    let _ = tracing_subscriber::registry()
        .with(iobroker_hmip::adapter::logbus::LogForward::new(
            tracing::Level::INFO,
        ))
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
    let store = iobroker_like_store(json!({"accessPointSgtin": "", "authToken": ""})).await;
    // admin's log tab is open: it set its logging flag.
    store
        .set_states(vec![(
            "system.adapter.admin.0.logging".into(),
            common::written(json!(true), true, "system.adapter.admin.0"),
        )])
        .await
        .unwrap();
    let mut log = store.subscribe_raw("log.system.adapter.admin.0");
    let (tx, rx) = watch::channel(false);
    let bus: Arc<dyn InstanceBus> = store.clone();
    let task = tokio::spawn(instance::run(bus, options(), rx));
    // Not paired: the instance says so, and admin sees it.
    let line = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (_, msg) = log.recv().await.unwrap();
            let v: Value = serde_json::from_str(&msg).unwrap();
            if v["message"].as_str().unwrap_or("").contains("not paired") {
                return v;
            }
        }
    })
    .await
    .expect("the line reaches admin");
    assert_eq!(line["severity"], "warn");
    assert_eq!(line["from"], "system.adapter.hmip.0");
    assert!(
        line["message"].as_str().unwrap().starts_with("hmip.0 ("),
        "{line}"
    );
    assert!(line["ts"].as_i64().unwrap() > 0);
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A store as js-controller leaves it for a paired instance hmip.0 against `sim`, with
/// `left` objects of a previous adapter under hmip.0.
async fn paired_store(sim: &sim::SimHandle, left: Vec<IobObject>) -> Arc<EmbeddedStore> {
    let store = iobroker_like_store(json!({
        "accessPointSgtin": "3014-F711-A000-0000-0000-0001",
        "authToken": secret::encrypt(SECRET, sim::DEFAULT_AUTH_TOKEN).unwrap(),
        "clientAuthToken": "", "clientId": "", "pin": "", "deviceId": "",
        "lookupUrl": sim.lookup_url(), "valuesAsIoBrokerHmip": false,
    }))
    .await;
    store.set_objects(left).await.unwrap();
    store
}

/// Runs the instance until it is connected; the store's `valuesAsIoBrokerHmip` and the
/// values of a blind's shutter level (cloud 0.0, open) and a contact's window (OPEN).
async fn first_start(store: Arc<EmbeddedStore>) -> (Value, Value, Value) {
    let (tx, rx) = watch::channel(false);
    let bus: Arc<dyn InstanceBus> = store.clone();
    let task = tokio::spawn(instance::run(bus, options(), rx));
    wait_until(|| async {
        state(&store, "hmip.0.info.connection")
            .await
            .is_some_and(|s| s.val == json!(true))
    })
    .await;
    let val = |id: &'static str| {
        let store = store.clone();
        async move { state(&store, id).await.unwrap().val }
    };
    let shutter = val("hmip.0.devices.3014F7110000000000022311.channels.1.shutterLevel").await;
    let window = val("hmip.0.devices.3014F7110000000000000000.channels.1.windowState").await;
    tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    let native = store
        .get_object("system.adapter.hmip.0")
        .await
        .unwrap()
        .unwrap()
        .native;
    (native["valuesAsIoBrokerHmip"].clone(), shutter, window)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_over_iobroker_hmips_tree_shows_its_values_and_a_fresh_one_does_not() {
    let _serial = SERIAL.lock().await;
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.home = fixture("home.json");
    let sim = sim::start(cfg).await.unwrap();

    // A fresh install: this adapter's convention (a shutter 100 % = open).
    let store = paired_store(&sim, vec![]).await;
    assert_eq!(
        first_start(store.clone()).await,
        (json!(false), json!(100), json!(2))
    );
    // Its next start keeps it so: the tree is this adapter's own.
    assert_eq!(first_start(store).await.0, json!(false));

    // Objects as ioBroker.hmip 3.2.0 left them (from its tree of the same fixture): the
    // setting turns on, and values are ioBroker.hmip's (0 = open, the cloud's string).
    let blind = "hmip.0.devices.3014F7110000000000022311";
    let left = vec![
        object(
            blind,
            "device",
            json!({"common": {"name": "Jalousie"}, "native": {}}),
        ),
        object(
            &format!("{blind}.channels.1"),
            "channel",
            json!({"common": {"name": "Channel 1"}, "native": {}}),
        ),
        object(
            &format!("{blind}.channels.1.shutterLevel"),
            "state",
            json!({"common": {"name": "shutterLevel", "type": "number", "role": "level.blind", "min": 0, "max": 100, "read": true, "write": true},
                   "native": {"parameter": "shutterlevel", "id": "3014F7110000000000022311", "channel": "1"}}),
        ),
    ];
    let store = paired_store(&sim, left).await;
    assert_eq!(
        first_start(store.clone()).await,
        (json!(true), json!(0), json!("OPEN"))
    );
    // The decision is taken once: a user who unticks the setting keeps it off.
    let mut obj = store
        .get_object("system.adapter.hmip.0")
        .await
        .unwrap()
        .unwrap();
    obj.native
        .insert("valuesAsIoBrokerHmip".into(), json!(false));
    store.set_objects(vec![obj]).await.unwrap();
    assert_eq!(
        first_start(store).await,
        (json!(false), json!(100), json!(2))
    );
}

/// Under ioBroker a lock's PIN written to its state is kept in the instance's settings,
/// encrypted with the system secret (even in an instance object made before `secrets` was
/// listed as encrypted); the state shows only the mask, and after a restart the lock's
/// commands still carry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_pin_is_kept_encrypted_in_the_instance_settings() {
    let _serial = SERIAL.lock().await;
    const PIN: &str = "86420975";
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.home = fixture("home.json");
    let sim = sim::start(cfg).await.unwrap();
    let store = paired_store(&sim, Vec::new()).await;
    let connected = || async {
        state(&store, "hmip.0.info.connection")
            .await
            .is_some_and(|s| s.val == json!(true) && s.ack)
    };
    let start = || {
        let (tx, rx) = watch::channel(false);
        let bus: Arc<dyn InstanceBus> = store.clone();
        (tx, tokio::spawn(instance::run(bus, options(), rx)))
    };
    let (stop, task) = start();
    wait_until(connected).await;
    let (dev, ch) = common::find_channel(&fixture("home.json"), "DOOR_LOCK_CHANNEL", "lockState");
    let pin_id = format!("hmip.0.devices.{dev}.channels.{ch}.pin");
    store
        .set_states(vec![(
            pin_id.clone(),
            common::written(json!(PIN), false, "system.adapter.javascript.0"),
        )])
        .await
        .unwrap();
    wait_until(|| async {
        state(&store, &pin_id)
            .await
            .is_some_and(|s| s.ack && s.val == json!(iobroker_hmip::tree::SECRET_MASK))
    })
    .await;
    let inst = store
        .get_object("system.adapter.hmip.0")
        .await
        .unwrap()
        .unwrap();
    let saved = inst.native["secrets"].as_str().unwrap();
    assert!(
        saved.starts_with("$/aes-192-cbc:") && !saved.contains(PIN),
        "{saved}"
    );
    let plain: Value = serde_json::from_str(&secret::decrypt(SECRET, saved).unwrap()).unwrap();
    assert_eq!(plain[&pin_id], PIN);
    for list in ["encryptedNative", "protectedNative"] {
        assert!(
            inst.extra[list]
                .as_array()
                .unwrap()
                .contains(&json!("secrets")),
            "{list}"
        );
    }

    // A restart (js-controller's, after the native change) reads it back.
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    let (stop, task) = start();
    wait_until(connected).await;
    let _ = reqwest::Client::new()
        .delete(format!("{}/sim/calls", sim.url()))
        .send()
        .await
        .unwrap();
    store
        .set_states(vec![(
            format!("hmip.0.devices.{dev}.channels.{ch}.setLockState"),
            common::written(json!("LOCKED"), false, "system.adapter.javascript.0"),
        )])
        .await
        .unwrap();
    let calls = || async {
        reqwest::get(format!("{}/sim/calls", sim.url()))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    wait_until(|| async { calls().await.as_array().is_some_and(|c| !c.is_empty()) }).await;
    assert_eq!(calls().await[0]["body"]["authorizationPin"], PIN);
    let all = serde_json::to_string(&store.states("*").await.unwrap()).unwrap();
    assert!(!all.contains(PIN), "a state holds the PIN");
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    sim.shutdown().await;
}
