//! Test harness: the simulator, the adapter on an in-memory store, and the HTTP API, all
//! in-process on 127.0.0.1 with short timings.
#![allow(dead_code)]

pub mod counting;
pub mod counts;
pub mod proc;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use iobroker_hmip::adapter::{self, AdapterOptions};
use iobroker_hmip::cloud::stream::{CloudConfig, HmipCloud};
use iobroker_hmip::cloud::ClientOptions;
use iobroker_hmip::hcu::{HcuConfig, HcuTransport};
use iobroker_hmip::sim::{self, HcuSimConfig, SimConfig, SimHandle};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::{StateChange, Store, Subscription};
use iobroker_hmip::web;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

/// Which transport the adapter of a [`Harness`] uses: the simulated cloud, or the
/// simulated HCU's local Connect API (same home, same hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The cloud: lookup, REST and the cloud's websocket.
    Cloud,
    /// The HCU's Connect API websocket.
    Hcu,
}

tokio::task_local! {
    /// The transport of the harnesses a test starts; the cloud unless a test runs inside
    /// `VIA.scope(Via::Hcu, …)` (see [`over_both_transports`]).
    pub static VIA: Via;
}

/// The transport the current test asked for.
pub fn via() -> Via {
    VIA.try_with(|v| *v).unwrap_or(Via::Cloud)
}

/// Run each named `async fn` test twice: `NAME::cloud` over the simulated cloud and
/// `NAME::hcu` over the simulated HCU's local Connect API. The adapter must not care.
#[macro_export]
macro_rules! over_both_transports {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cloud() {
                super::$name().await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hcu() {
                $crate::common::VIA
                    .scope($crate::common::Via::Hcu, super::$name())
                    .await
            }
        }
    )*};
}

/// Client timings short enough for tests.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        bucket_capacity: 10,
        bucket_refill: Duration::from_millis(50),
        queue_limit: 120,
        throttle_backoff: Duration::from_millis(300),
        throttle_backoff_max: Duration::from_secs(2),
        ping_interval: Duration::from_millis(300),
        dead_timeout: Duration::from_secs(2),
        reconnect_min: Duration::from_millis(100),
        reconnect_max: Duration::from_millis(800),
        lookup_after_failures: 3,
    }
}

/// Adapter options for tests: hmip.0, short write debounce and confirmation wait.
pub fn fast_adapter_options() -> AdapterOptions {
    AdapterOptions {
        namespace: "hmip.0".into(),
        write_debounce: Duration::from_millis(50),
        confirm_timeout: Duration::from_secs(3),
        ..AdapterOptions::default()
    }
}

pub fn fixture_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(name)).unwrap()).unwrap()
}

/// A running simulator + adapter + HTTP API.
pub struct Harness {
    /// The adapter's transport.
    pub via: Via,
    pub sim: SimHandle,
    pub store: Arc<EmbeddedStore>,
    pub api: String,
    pub http: reqwest::Client,
    /// Every state write the store announced, in order.
    pub writes: mpsc::UnboundedReceiver<StateChange>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    /// Start with a home (a getCurrentState answer) and wait until the tree is loaded.
    pub async fn start(home: Value) -> Harness {
        Self::start_with(home, fast_options()).await
    }

    pub async fn start_with(home: Value, options: ClientOptions) -> Harness {
        Self::start_full(home, options, fast_adapter_options()).await
    }

    /// Start with client and adapter options of the test's choosing.
    pub async fn start_full(home: Value, options: ClientOptions, opts: AdapterOptions) -> Harness {
        Self::start_within(home, options, opts, Duration::from_secs(10)).await
    }

    /// [`Harness::start_full`], waiting up to `limit` for the home to load (a big home).
    pub async fn start_within(
        home: Value,
        options: ClientOptions,
        opts: AdapterOptions,
        limit: Duration,
    ) -> Harness {
        let via = via();
        let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
        cfg.home = home;
        if via == Via::Hcu {
            cfg.hcu = Some(HcuSimConfig {
                // Often, so that every test meets the HCU's PLUGIN_STATE_REQUEST and its
                // DEVICE_CHANGED without channels.
                plugin_state_interval: Duration::from_millis(700),
                ..HcuSimConfig::default()
            });
        }
        let sim = sim::start(cfg).await.expect("simulator starts");
        let store = Arc::new(EmbeddedStore::in_memory());
        let writes = store.subscribe(Subscription {
            pattern: "hmip.0.*".into(),
            only_unacked: false,
        });
        let dyn_store: Arc<dyn Store> = store.clone();
        // As standalone runs it: a PIN written through the API reaches the adapter's keeper.
        let web_opts = web::WebOptions {
            secrets: Some(opts.secrets.clone()),
            ..web::WebOptions::default()
        };
        let (addr, _server) =
            web::serve_with(dyn_store.clone(), "127.0.0.1:0".parse().unwrap(), web_opts)
                .await
                .unwrap();
        let transport = transport(via, &sim, options).await;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(adapter::run(transport, dyn_store, opts, stop_rx));
        let h = Harness {
            via,
            sim,
            store,
            api: format!("http://{addr}"),
            http: reqwest::Client::new(),
            writes,
            stop,
            task,
        };
        wait_until_within(limit, || async {
            h.state("hmip.0.info.connection")
                .await
                .is_some_and(|s| s["val"] == Value::Bool(true) && s["ack"] == Value::Bool(true))
        })
        .await;
        // info.connection turns true only once the snapshot after the connect is applied.
        h
    }

    /// Stop the adapter and start it again on the same store and simulator (as a process
    /// restart would), without waiting for it to connect.
    pub async fn restart_adapter(&mut self, options: ClientOptions, opts: AdapterOptions) {
        let _ = self.stop.send(true);
        (&mut self.task).await.unwrap().unwrap();
        let transport = transport(self.via, &self.sim, options).await;
        let (stop, stop_rx) = watch::channel(false);
        let store: Arc<dyn Store> = self.store.clone();
        self.task = tokio::spawn(adapter::run(transport, store, opts, stop_rx));
        self.stop = stop;
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let r = self.task.await.unwrap();
        self.sim.shutdown().await;
        r
    }

    /// The simulator's counters of the transport in use (`requests`, `upgrades`,
    /// `wsConnects`, `wsOpen`): the cloud's, or the HCU's local API's.
    pub async fn transport_stats(&self) -> Value {
        let stats = self.sim_get("/sim/stats").await;
        match self.via {
            Via::Cloud => stats,
            Via::Hcu => stats["hcu"].clone(),
        }
    }

    /// The path (below `/hmip/`) of the whole-home read of the transport in use, as
    /// `/sim/fail` matches it.
    pub fn home_read_path(&self) -> &'static str {
        match self.via {
            Via::Cloud => "home/getCurrentState",
            Via::Hcu => "home/getSystemState",
        }
    }

    pub fn sim_url(&self, path: &str) -> String {
        format!("{}{}", self.sim.url(), path)
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.sim_url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        self.http
            .get(self.sim_url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn state(&self, id: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/api/v1/state/{id}", self.api))
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            None
        } else {
            Some(r.json().await.unwrap())
        }
    }

    pub async fn put(&self, id: &str, val: Value) -> reqwest::Response {
        self.http
            .put(format!("{}/api/v1/state/{id}", self.api))
            .json(&serde_json::json!({ "val": val }))
            .send()
            .await
            .unwrap()
    }

    /// Wait (up to 10 s) until the state satisfies `pred`; returns it.
    pub async fn wait_state(&self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.state(id).await {
                if pred(&s) {
                    return s;
                }
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "state {id} never satisfied the condition; last: {:?}",
                    self.state(id).await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_until<F, Fut>(&self, f: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        wait_until(f).await
    }

    /// The control calls the simulator recorded.
    pub async fn calls(&self) -> Vec<Value> {
        sim_calls(&self.http, &self.sim.url()).await
    }

    /// Drain the writes seen so far.
    pub fn drain_writes(&mut self) -> Vec<StateChange> {
        let mut out = Vec::new();
        while let Ok(w) = self.writes.try_recv() {
            out.push(w);
        }
        out
    }

    /// A marker event, for checks that something did *not* happen: the simulator changes
    /// the marker weather sensor's `windSpeed` to a value never used before and pushes it;
    /// once the store holds it, the adapter (which applies events in order) has applied
    /// every event pushed before it. Returns the marker device's id prefix.
    pub async fn marker(&self) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let v = 1000.25 + N.fetch_add(1, Ordering::SeqCst) as f64;
        let home = self.sim_get("/sim/home").await;
        let (dev, ch) = find_channel(&home, MARKER_CHANNEL, "windSpeed");
        let r = self
            .sim_post(
                &format!("/sim/device/{dev}/channel/{ch}"),
                serde_json::json!({ "windSpeed": v }),
            )
            .await;
        assert!(r.status().is_success(), "the marker event");
        let id = format!("hmip.0.devices.{dev}.channels.{ch}.windSpeed");
        self.wait_state(&id, |s| s["val"] == serde_json::json!(v))
            .await;
        format!("hmip.0.devices.{dev}.")
    }

    /// The writes up to a [`Harness::marker`], without the marker's own.
    pub async fn drain_until_marker(&mut self) -> Vec<StateChange> {
        let marker = self.marker().await;
        self.drain_writes()
            .into_iter()
            .filter(|w| !w.id.starts_with(&marker))
            .collect()
    }

    /// A marker control call, for checks that no call was sent: a user write to the
    /// marker switch, waited for until the simulator records its call (calls leave in the
    /// order they are due; one due before it has left by then). Returns the calls before it.
    pub async fn calls_until_marker(&self) -> Vec<Value> {
        let home = self.sim_get("/sim/home").await;
        let (dev, ch) = marker_switch(&home);
        let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
        let was = self.state(&id).await.map(|s| s["val"] == Value::Bool(true)) == Some(true);
        assert_eq!(self.put(&id, Value::Bool(!was)).await.status(), 200);
        let is_marker = |c: &Value| {
            c["path"] == "device/control/setSwitchState" && c["body"]["deviceId"] == dev.as_str()
        };
        wait_until(|| async { self.calls().await.iter().any(is_marker) }).await;
        let calls = self.calls().await;
        let at = calls.iter().position(is_marker).unwrap();
        calls[..at].to_vec()
    }
}

/// The control calls the simulator at `sim` (its base URL) recorded, oldest first.
pub async fn sim_calls(http: &reqwest::Client, sim: &str) -> Vec<Value> {
    http.get(format!("{}/sim/calls", sim.trim_end_matches('/')))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The channel type of the marker events ([`Harness::marker`]): no test changes it.
pub const MARKER_CHANNEL: &str = "WEATHER_SENSOR_PRO_CHANNEL";

/// The switch of the marker calls ([`Harness::calls_until_marker`]): the last switch of the
/// home (tests take the first one they find).
pub fn marker_switch(home: &Value) -> (String, String) {
    let mut last = None;
    for (id, d) in home["devices"].as_object().unwrap() {
        for (k, ch) in d["functionalChannels"].as_object().unwrap() {
            if ch["functionalChannelType"] == "SWITCH_CHANNEL" && ch.get("on").is_some() {
                last = Some((id.clone(), k.clone()));
            }
        }
    }
    last.expect("a switch for the marker calls")
}

/// The adapter's transport to the simulator: the cloud after its lookup, or the HCU's
/// local API with the simulator's token and certificate.
pub async fn transport(
    via: Via,
    sim: &SimHandle,
    options: ClientOptions,
) -> Arc<dyn iobroker_hmip::cloud::Transport> {
    match via {
        Via::Cloud => Arc::new(
            HmipCloud::connect(CloudConfig {
                sgtin: sim::DEFAULT_SGTIN.into(),
                auth_token: sim::DEFAULT_AUTH_TOKEN.into(),
                lookup_url: sim.lookup_url(),
                options,
            })
            .await
            .expect("lookup against the simulator"),
        ),
        Via::Hcu => Arc::new(HcuTransport::new(hcu_config(sim, options))),
    }
}

/// The local transport's config for the simulated HCU (its default token, its
/// certificate now).
pub fn hcu_config(sim: &SimHandle, options: ClientOptions) -> HcuConfig {
    let local = sim.hcu().expect("the simulator serves the HCU's local API");
    HcuConfig {
        host: local.ws_addr.ip().to_string(),
        port: local.ws_addr.port(),
        auth_token: sim::DEFAULT_HCU_AUTH_TOKEN.into(),
        plugin_id: iobroker_hmip::hcu::PLUGIN_ID.into(),
        fingerprint: local.fingerprint,
        options,
    }
}

/// Tests that read the log hold this for their whole run: the parallel tests of one binary
/// share the one log capture, so another test's lines would satisfy (or spoil) their
/// checks (the same test over both transports, above all).
pub async fn log_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Everything logged in this test binary from the first call on (one global subscriber
/// per binary; the filter of the first call wins), without ANSI colours.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// All of it.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Where the log is now, for [`Captured::since`].
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// What was logged after `mark`.
    pub fn since(&self, mark: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[mark..]).into_owned()
    }
}

/// Capture the logs of this test binary at level `filter` (e.g. `debug`).
pub fn capture_logs(filter: &str) -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let logs = Captured::default();
            let writer = logs.clone();
            tracing_subscriber::fmt()
                .with_max_level(filter.parse::<tracing::Level>().expect("a log level"))
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            logs
        })
        .clone()
}

pub async fn wait_until<F, Fut>(f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_until_within(Duration::from_secs(10), f).await
}

/// [`wait_until`] with a bound of the caller's choosing (for work that scales with the home).
pub async fn wait_until_within<F, Fut>(limit: Duration, f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Find `(device id, channel index)` of the first channel of `ty` with `field` in a home.
pub fn find_channel(home: &Value, ty: &str, field: &str) -> (String, String) {
    for (id, d) in home["devices"].as_object().unwrap() {
        for (k, ch) in d["functionalChannels"].as_object().unwrap() {
            if ch["functionalChannelType"] == ty && ch.get(field).is_some() {
                return (id.clone(), k.clone());
            }
        }
    }
    panic!("no {ty} channel with {field}")
}

/// A state as another writer (a script, js-controller) would write it.
pub fn written(val: Value, ack: bool, from: &str) -> iobroker_hmip::iobroker::IobState {
    let now = iobroker_hmip::iobroker::now_ms();
    iobroker_hmip::iobroker::IobState {
        val,
        ack,
        ts: now,
        lc: now,
        from: from.into(),
        q: 0,
        user: None,
        c: None,
    }
}
