//! "Loses no user write": a command written while the store's subscription did not listen
//! (the database connection was down) reaches the adapter as a replayed unacked state when
//! the subscription is established again (see `Subscription::only_unacked`), and the
//! adapter executes it once; one it handled already, or one older than what it has seen
//! for the state, it does not. The outage is played by a store wrapper that drops
//! announcements and replays as the Redis store does after a reconnect (the Redis store's
//! own replay is shown in tests/redis_store.rs, the whole chain under js-controller with a
//! real Redis in tests/e2e/instance.test.js).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{fast_options, fixture, wait_until};
use iobroker_hmip::adapter;
use iobroker_hmip::cloud::stream::{CloudConfig, HmipCloud};
use iobroker_hmip::iobroker::{IobObject, IobState};
use iobroker_hmip::sim::{self, SimConfig};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::{StateChange, Store, StoreError, Subscription};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

/// The embedded store behind a connection that can miss announcements (a write that lands
/// while the connection is down) and come back (unacked states replayed to the command
/// subscribers, as the Redis store does after a reconnect).
struct Flaky {
    inner: Arc<EmbeddedStore>,
    /// (id, ts) of writes whose announcement is lost.
    unheard: Arc<Mutex<HashSet<(String, i64)>>>,
    /// (pattern, sender) of the only_unacked subscribers.
    commands: Mutex<Vec<(String, mpsc::UnboundedSender<StateChange>)>>,
}

impl Flaky {
    /// A write made while the connection is down: stored, announced to no one.
    async fn write_unheard(&self, id: &str, st: IobState) {
        self.unheard.lock().unwrap().insert((id.to_string(), st.ts));
        self.inner.set_states(vec![(id.into(), st)]).await.unwrap();
    }

    /// Back: the command subscribers hear every matching unacked state, replayed.
    async fn reconnect(&self) {
        let subs = self.commands.lock().unwrap().clone();
        for (pattern, tx) in subs {
            for (id, st) in self.inner.states(&pattern).await.unwrap() {
                if !st.ack {
                    let _ = tx.send(StateChange {
                        id,
                        state: Some(st),
                        replayed: true,
                    });
                }
            }
        }
    }

    /// A change as if the store announced it, to every command subscriber.
    fn announce(&self, change: StateChange) {
        for (_, tx) in self.commands.lock().unwrap().iter() {
            let _ = tx.send(change.clone());
        }
    }
}

#[async_trait]
impl Store for Flaky {
    async fn get_object(&self, id: &str) -> Result<Option<IobObject>, StoreError> {
        self.inner.get_object(id).await
    }
    async fn set_objects(&self, objects: Vec<IobObject>) -> Result<(), StoreError> {
        self.inner.set_objects(objects).await
    }
    async fn del_objects(&self, ids: &[String]) -> Result<(), StoreError> {
        self.inner.del_objects(ids).await
    }
    async fn objects(&self, pattern: &str) -> Result<BTreeMap<String, IobObject>, StoreError> {
        self.inner.objects(pattern).await
    }
    async fn get_state(&self, id: &str) -> Result<Option<IobState>, StoreError> {
        self.inner.get_state(id).await
    }
    async fn set_states(&self, states: Vec<(String, IobState)>) -> Result<(), StoreError> {
        self.inner.set_states(states).await
    }
    async fn del_states(&self, ids: &[String]) -> Result<(), StoreError> {
        self.inner.del_states(ids).await
    }
    async fn states(&self, pattern: &str) -> Result<BTreeMap<String, IobState>, StoreError> {
        self.inner.states(pattern).await
    }
    fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange> {
        let (tx, rx) = mpsc::unbounded_channel();
        if sub.only_unacked {
            self.commands
                .lock()
                .unwrap()
                .push((sub.pattern.clone(), tx.clone()));
        }
        // Forward the embedded store's announcements, except the lost ones.
        let mut from = self.inner.subscribe(sub);
        let unheard = Arc::clone(&self.unheard);
        tokio::spawn(async move {
            while let Some(c) = from.recv().await {
                let key = (c.id.clone(), c.state.as_ref().map_or(0, |s| s.ts));
                if unheard.lock().unwrap().contains(&key) {
                    continue;
                }
                if tx.send(c).is_err() {
                    return;
                }
            }
        });
        rx
    }
    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }
}

const SWITCH_ON: &str = "hmip.0.devices.3014F7110000000000000008.channels.1.on";

fn command(val: Value, ts: i64) -> IobState {
    IobState {
        val,
        ack: false,
        ts,
        lc: ts,
        from: "system.adapter.javascript.0".into(),
        q: 0,
        user: Some("system.user.admin".into()),
        c: None,
    }
}

/// The switch of the marker commands: another device than [`SWITCH_ON`]'s.
fn marker_switch() -> (String, String) {
    let (dev, ch) = common::marker_switch(&fixture("home.json"));
    assert!(!SWITCH_ON.contains(&dev), "the marker is another switch");
    (dev, ch)
}

/// A marker: a command to the marker switch, announced as usual; once its call arrives,
/// every command the adapter had before it has been sent (calls leave in the order they
/// are due). Returns the calls to [`SWITCH_ON`] by then.
async fn switch_calls_at_a_marker(
    store: &Flaky,
    http: &reqwest::Client,
    sim: &str,
    n: &mut u32,
) -> Vec<Value> {
    let (dev, ch) = marker_switch();
    *n += 1;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let ts = iobroker_hmip::iobroker::now_ms();
    store
        .inner
        .set_states(vec![(id, command(json!(*n % 2 == 1), ts))])
        .await
        .unwrap();
    let markers = || async {
        common::sim_calls(http, sim)
            .await
            .into_iter()
            .filter(|c| c["body"]["deviceId"] == dev.as_str())
            .count()
    };
    let want = *n as usize;
    wait_until(|| async { markers().await >= want }).await;
    switch_calls(http, sim).await
}

async fn switch_calls(http: &reqwest::Client, sim: &str) -> Vec<Value> {
    common::sim_calls(http, sim)
        .await
        .into_iter()
        .filter(|c| c["path"].as_str().unwrap_or("").ends_with("setSwitchState"))
        .filter(|c| SWITCH_ON.contains(c["body"]["deviceId"].as_str().unwrap_or("-")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_lost_in_an_outage_is_executed_once_after_the_reconnect() {
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.home = fixture("home.json");
    let sim = sim::start(cfg).await.expect("simulator starts");
    let inner = Arc::new(EmbeddedStore::in_memory());
    let store = Arc::new(Flaky {
        inner: Arc::clone(&inner),
        unheard: Arc::default(),
        commands: Mutex::new(Vec::new()),
    });
    let cloud = HmipCloud::connect(CloudConfig {
        sgtin: sim::DEFAULT_SGTIN.into(),
        auth_token: sim::DEFAULT_AUTH_TOKEN.into(),
        lookup_url: sim.lookup_url(),
        options: fast_options(),
    })
    .await
    .expect("lookup against the simulator");
    let opts = common::fast_adapter_options();
    let (stop, stop_rx) = watch::channel(false);
    let dyn_store: Arc<dyn Store> = store.clone();
    let task = tokio::spawn(adapter::run(Arc::new(cloud), dyn_store, opts, stop_rx));
    let state = |id: &'static str| {
        let inner = Arc::clone(&inner);
        async move { inner.get_state(id).await.unwrap() }
    };
    wait_until(|| async {
        state("hmip.0.info.connection")
            .await
            .is_some_and(|s| s.val == json!(true))
    })
    .await;
    let http = reqwest::Client::new();
    let sim_url = sim.url().to_string();
    let sim_url = sim_url.trim_end_matches('/');
    let acked = |want: bool| {
        move || async move {
            state(SWITCH_ON)
                .await
                .is_some_and(|s| s.ack && s.val == json!(want))
        }
    };

    // 1. The connection drops; a user's command lands meanwhile (no one hears of it).
    let before = state(SWITCH_ON).await.unwrap();
    assert!(before.ack);
    let want = !before.val.as_bool().unwrap();
    store
        .write_unheard(SWITCH_ON, command(json!(want), before.ts + 1))
        .await;
    let mut markers = 0;
    assert!(
        switch_calls_at_a_marker(&store, &http, sim_url, &mut markers)
            .await
            .is_empty(),
        "not heard yet"
    );
    // Back: replayed, executed, acknowledged; exactly one call.
    store.reconnect().await;
    wait_until(acked(want)).await;
    let calls = switch_calls(&http, sim_url).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["body"]["on"], json!(want), "{calls:?}");

    // 2. A replay of a command already executed, followed by its late live announcement
    //    (both arrive when a reconnect races a write): one call.
    let acked_state = state(SWITCH_ON).await.unwrap();
    let want2 = !want;
    let cmd2 = command(json!(want2), acked_state.ts + 1);
    store.write_unheard(SWITCH_ON, cmd2.clone()).await;
    store.reconnect().await;
    store.announce(StateChange {
        id: SWITCH_ON.into(),
        state: Some(cmd2),
        replayed: false,
    });
    wait_until(acked(want2)).await;
    let calls = switch_calls_at_a_marker(&store, &http, sim_url, &mut markers).await;
    assert_eq!(calls.len(), 2, "one call more: {calls:?}");

    // 3. An unacked state no newer than what the adapter last wrote (a stale command, or
    //    one from before the adapter's own newer value): replayed, not executed.
    let acked_state = state(SWITCH_ON).await.unwrap();
    store
        .write_unheard(SWITCH_ON, command(json!(want), acked_state.ts - 1000))
        .await;
    store.reconnect().await;
    assert_eq!(
        switch_calls_at_a_marker(&store, &http, sim_url, &mut markers)
            .await
            .len(),
        2,
        "no call for it"
    );

    // 4. Live commands still work as before.
    store
        .inner
        .set_states(vec![(
            SWITCH_ON.into(),
            command(json!(want), iobroker_hmip::iobroker::now_ms()),
        )])
        .await
        .unwrap();
    wait_until(|| async { switch_calls(&http, sim_url).await.len() == 3 }).await;

    // 5. A command to a state the adapter never wrote and did not find at start (a
    //    dimmer's parameter, which has no value until a user sets one): it came after the
    //    start, so it is executed (a parameter is kept and acknowledged as written).
    let (dim, dim_ch) = common::find_channel(&fixture("home.json"), "DIMMER_CHANNEL", "dimLevel");
    let param = format!("hmip.0.devices.{dim}.channels.{dim_ch}.controlOnTime");
    assert_eq!(inner.get_state(&param).await.unwrap(), None, "no value yet");
    store
        .write_unheard(
            &param,
            command(json!(12), iobroker_hmip::iobroker::now_ms()),
        )
        .await;
    store.reconnect().await;
    wait_until(|| async {
        inner
            .get_state(&param)
            .await
            .unwrap()
            .is_some_and(|s| s.ack && s.val == json!(12))
    })
    .await;

    let _ = stop.send(true);
    task.await.unwrap().unwrap();
    sim.shutdown().await;
}
