//! Running as the ioBroker instance `hmip.N` under js-controller.
//!
//! The controller forks `main.js`, which starts this binary with `--instance N`. From
//! there the instance: reads its config from `system.adapter.hmip.N` (decrypting
//! `encryptedNative` with the system secret), reports health every 15 s (`alive` and
//! `connected` expire after 25 s, as admin expects), obeys `sigKill`, answers the admin
//! page's "Create token" button through the messagebox (pairing, with a live progress text
//! in `info.pairing`, tokens written back encrypted), and runs the adapter on the
//! instance's databases. Everything goes through [`InstanceBus`], so the same code runs,
//! and is tested, on the embedded store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::config::InstanceConfig;
use super::secret;
use super::secret_params::{SecretBackend, SecretParams};
use super::TransportConfig;
use super::{AdapterOptions, ADAPTER_NAME};
use crate::cloud::ClientOptions;
use crate::iobroker::{now_ms, IobObject, IobState};
use crate::store::{InstanceBus, Store, Subscription};

mod pairing;

/// How often health states are written, and how long they live.
const HEALTH_INTERVAL: Duration = Duration::from_secs(15);
const HEALTH_TTL_SECS: u64 = 25;

/// Options of an instance run; tests shorten the timings.
#[derive(Debug, Clone)]
pub struct InstanceOptions {
    /// The instance number N of `hmip.N`.
    pub instance: u32,
    /// Cloud client timings.
    pub client: ClientOptions,
    /// Give up waiting for the blue button after this long.
    pub pairing_timeout: Duration,
    /// Poll interval while waiting for the button.
    pub pairing_poll: Duration,
    /// Health states interval.
    pub health_interval: Duration,
}

impl InstanceOptions {
    /// The defaults for instance `n`.
    pub fn new(instance: u32) -> Self {
        InstanceOptions {
            instance,
            client: ClientOptions::default(),
            pairing_timeout: Duration::from_secs(300),
            pairing_poll: Duration::from_secs(2),
            health_interval: HEALTH_INTERVAL,
        }
    }
}

/// One instance: its ids and its databases.
struct Instance {
    ns: String,
    /// `system.adapter.hmip.N`
    id: String,
    bus: Arc<dyn InstanceBus>,
    opts: InstanceOptions,
    /// Counters for the health states.
    input: Arc<AtomicU64>,
    output: Arc<AtomicU64>,
}

/// Run the instance until the controller stops it (`sigKill`) or `shutdown` turns true.
pub async fn run(
    bus: Arc<dyn InstanceBus>,
    opts: InstanceOptions,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let ns = format!("{ADAPTER_NAME}.{}", opts.instance);
    let inst = Arc::new(Instance {
        id: format!("system.adapter.{ns}"),
        ns,
        bus,
        opts,
        input: Arc::default(),
        output: Arc::default(),
    });
    // Log lines reach admin from here on (the choice below logs one).
    let (logs_stop, logs_stopped) = watch::channel(false);
    let logs = super::logbus::take_receiver()
        .map(|rx| tokio::spawn(inst.clone().log_loop(rx, logs_stopped)));
    // Before the instance objects: they are the sign that this binary ran before.
    if let Err(e) = inst.choose_convention().await {
        warn!("cannot tell whether ioBroker.hmip left this tree: {e:#}");
    }
    inst.write_instance_objects().await?;

    // sigKill from the controller, or a signal from main, ends the run.
    let (stop_tx, stop_rx) = watch::channel(false);
    {
        let inst = inst.clone();
        let stop_tx = stop_tx.clone();
        let mut sigkill = inst.bus.subscribe(Subscription {
            pattern: format!("{}.sigKill", inst.id),
            only_unacked: false,
        });
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(change) = sigkill.recv() => {
                        // The controller stops an instance with -1 (ack false); other values
                        // (a pid) are bookkeeping.
                        if change.state.is_some_and(|s| !s.ack && s.val.as_i64() == Some(-1)) {
                            info!("stop requested by js-controller (sigKill)");
                            let _ = stop_tx.send(true);
                            return;
                        }
                    }
                    r = shutdown.changed() => {
                        if r.is_err() || *shutdown.borrow() {
                            let _ = stop_tx.send(true);
                            return;
                        }
                    }
                }
            }
        });
    }
    let health = tokio::spawn(inst.clone().health_loop(stop_rx.clone()));
    let messagebox = tokio::spawn(inst.clone().messagebox_loop());

    let config = match inst.load_config().await {
        Ok(c) => c,
        Err(e) => {
            error!("cannot read the instance configuration: {e:#}");
            InstanceConfig::default()
        }
    };
    let result = if config.is_paired() {
        inst.run_adapter(config, stop_rx.clone()).await
    } else {
        warn!(
            "not paired yet: open the instance settings in admin, {}",
            config.pairing_hint()
        );
        wait_for(stop_rx.clone()).await;
        Ok(())
    };
    messagebox.abort();
    health.abort();
    if let Some(l) = logs {
        // The receiver goes back for the next instance of this process (tests run several).
        // A publish stuck on a dead database does not hold the stop up.
        let _ = logs_stop.send(true);
        let abort = l.abort_handle();
        match tokio::time::timeout(Duration::from_secs(1), l).await {
            Ok(Ok(rx)) => super::logbus::give_back(rx),
            _ => abort.abort(),
        }
    }
    inst.set_alive(false).await;
    let _ = inst.bus.flush().await;
    result
}

async fn wait_for(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

impl Instance {
    fn state(&self, val: Value) -> IobState {
        let now = now_ms();
        IobState {
            val,
            ack: true,
            ts: now,
            lc: now,
            from: self.id.clone(),
            q: 0,
            user: None,
            c: None,
        }
    }

    /// On the first start over a tree that ioBroker.hmip left, turn "values as
    /// ioBroker.hmip" on, so that its users' scripts keep reading and writing what they
    /// did (shutters 0 = open, `windowState` as text), and say so once.
    ///
    /// The sign: objects under `hmip.N.devices.` but no `hmip.N.devices` folder.
    /// ioBroker.hmip never creates that folder; this binary writes it on every start,
    /// right after this check, so the decision is taken once (a fresh install has neither,
    /// and stays off). The setting goes into the instance's native, where admin shows it
    /// and the user can change it; js-controller then restarts the instance with it.
    async fn choose_convention(&self) -> anyhow::Result<()> {
        let folder = format!("{}.devices", self.ns);
        if self.bus.get_object(&folder).await?.is_some() {
            return Ok(());
        }
        let left = self.bus.objects(&format!("{folder}.*")).await?;
        if left.is_empty() {
            return Ok(());
        }
        let mut obj = self
            .bus
            .get_object(&self.id)
            .await?
            .with_context(|| format!("{} does not exist", self.id))?;
        if obj.native.get("valuesAsIoBrokerHmip") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        // The folder first: should the native write restart the instance at once, the
        // decision is already taken.
        self.write_instance_objects().await?;
        info!(
            "{} objects that ioBroker.hmip left under {folder}: \"Values as ioBroker.hmip\" is now on, so scripts and views see shutter levels 0 = open, windowState as text and its other values as before. To use this adapter's own values (shutter 100 % = open, windowState as a number), untick it in the instance settings",
            left.len()
        );
        obj.native
            .insert("valuesAsIoBrokerHmip".into(), Value::Bool(true));
        self.bus.set_objects(vec![obj]).await?;
        Ok(())
    }

    /// `info.pairing` beside `info.connection` (io-package's instanceObjects create them
    /// too; writing them here makes the standalone and test runs alike).
    async fn write_instance_objects(&self) -> anyhow::Result<()> {
        let pairing = IobObject {
            id: format!("{}.info.pairing", self.ns),
            obj_type: "state".into(),
            common: json!({"name": "Pairing progress", "type": "string", "role": "text", "read": true, "write": false, "def": ""})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            native: Map::new(),
            extra: Map::new(),
        };
        let mut objs = crate::tree::instance_objects(&self.ns);
        objs.push(pairing);
        self.bus.set_objects(objs).await?;
        Ok(())
    }

    /// The system secret of `system.config`, for encryptedNative.
    async fn system_secret(&self) -> Option<String> {
        let cfg = self.bus.get_object("system.config").await.ok().flatten()?;
        cfg.native
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// The instance object's `encryptedNative` list.
    fn encrypted_keys(obj: &IobObject) -> Vec<String> {
        obj.extra
            .get("encryptedNative")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The native config, decrypted.
    async fn load_config(&self) -> anyhow::Result<InstanceConfig> {
        let obj = self
            .bus
            .get_object(&self.id)
            .await?
            .with_context(|| format!("{} does not exist", self.id))?;
        let mut native = obj.native.clone();
        let encrypted = Self::encrypted_keys(&obj);
        if !encrypted.is_empty() {
            let secret = self
                .system_secret()
                .await
                .context("system.config has no secret to decrypt the settings")?;
            for key in &encrypted {
                if let Some(Value::String(v)) = native.get(key) {
                    if !v.is_empty() {
                        let plain = secret::decrypt(&secret, v)
                            .with_context(|| format!("setting {key}"))?;
                        native.insert(key.clone(), Value::String(plain));
                    }
                }
            }
        }
        // Empty strings mean "unset" in admin's forms.
        native.retain(|_, v| !matches!(v, Value::String(s) if s.is_empty()));
        serde_json::from_value(Value::Object(native)).context("the instance settings are not valid")
    }

    async fn set_alive(&self, alive: bool) {
        let id = format!("{}.alive", self.id);
        let r = if alive {
            self.bus
                .set_state_expiring(&id, self.state(json!(true)), HEALTH_TTL_SECS)
                .await
        } else {
            self.bus
                .set_states(vec![(id, self.state(json!(false)))])
                .await
        };
        if let Err(e) = r {
            warn!("writing the health state failed: {e}");
        }
    }

    /// alive, connected (25 s TTL), memRss, cpu, uptime, inputCount, outputCount.
    async fn health_loop(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let started = Instant::now();
        let mut last_cpu = cpu_seconds();
        let mut tick = tokio::time::interval(self.opts.health_interval);
        loop {
            tick.tick().await;
            if *stop.borrow() {
                return;
            }
            self.set_alive(true).await;
            let connected = format!("{}.connected", self.id);
            let _ = self
                .bus
                .set_state_expiring(&connected, self.state(json!(true)), HEALTH_TTL_SECS)
                .await;
            let cpu = cpu_seconds();
            let interval = self.opts.health_interval.as_secs_f64().max(0.001);
            let cpu_pct = ((cpu - last_cpu) / interval * 100.0 * 100.0).round() / 100.0;
            last_cpu = cpu;
            let states = vec![
                (
                    format!("{}.memRss", self.id),
                    self.state(json!(mem_rss_mb())),
                ),
                (format!("{}.cpu", self.id), self.state(json!(cpu_pct))),
                (
                    format!("{}.uptime", self.id),
                    self.state(json!(started.elapsed().as_secs())),
                ),
                (
                    format!("{}.inputCount", self.id),
                    self.state(json!(self.input.swap(0, Ordering::Relaxed))),
                ),
                (
                    format!("{}.outputCount", self.id),
                    self.state(json!(self.output.swap(0, Ordering::Relaxed))),
                ),
            ];
            let _ = self.bus.set_states(states).await;
        }
    }

    /// Publish log lines to every log subscriber (admin's log tab sets
    /// `system.adapter.<X>.logging` true), refreshing the list every 10 s.
    async fn log_loop(
        self: Arc<Self>,
        mut rx: tokio::sync::mpsc::Receiver<super::logbus::LogLine>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::sync::mpsc::Receiver<super::logbus::LogLine> {
        let pid = std::process::id();
        let mut subscribers: Vec<String> = Vec::new();
        let mut refreshed: Option<Instant> = None;
        let mut n: u64 = 0;
        loop {
            let line = tokio::select! {
                line = rx.recv() => line,
                _ = stop.changed() => None,
            };
            let Some(line) = line else { return rx };
            if refreshed.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                subscribers = self.log_subscribers().await;
                refreshed = Some(Instant::now());
            }
            for sub in &subscribers {
                n += 1;
                let msg = json!({
                    "severity": line.severity,
                    "ts": line.ts,
                    "message": format!("{} ({pid}) {}", self.ns, line.message),
                    "from": self.id,
                    "_id": n,
                });
                let _ = self
                    .bus
                    .publish(&format!("log.{sub}"), &msg.to_string())
                    .await;
            }
        }
    }

    /// The adapters whose `logging` state is true.
    async fn log_subscribers(&self) -> Vec<String> {
        match self.bus.states("system.adapter.*.logging").await {
            Ok(states) => states
                .into_iter()
                .filter(|(_, s)| s.val == Value::Bool(true))
                .filter_map(|(id, _)| id.strip_suffix(".logging").map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Admin's sendTo: `requestToken` pairs with the access point or the HCU.
    async fn messagebox_loop(self: Arc<Self>) {
        let mut rx = self.bus.subscribe_raw(&format!("messagebox.{}", self.id));
        while let Some((_channel, raw)) = rx.recv().await {
            self.input.fetch_add(1, Ordering::Relaxed);
            let Ok(msg) = serde_json::from_str::<Value>(&raw) else {
                warn!("messagebox: a message that is not JSON was ignored");
                continue;
            };
            let command = msg
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let (result, paired) = match command.as_str() {
                "requestToken" => {
                    self.request_token(msg.get("message").cloned().unwrap_or(Value::Null))
                        .await
                }
                other => (json!({"error": format!("unknown command {other:?}")}), None),
            };
            // Reply first: saving the tokens makes js-controller restart this instance,
            // which must not cut the answer admin waits for.
            self.reply(&msg, &command, result).await;
            if let Some(natives) = paired {
                if let Err(e) = self.save_natives(&natives).await {
                    error!("pairing worked, but saving the tokens failed: {e:#}");
                }
            }
        }
    }

    async fn reply(&self, msg: &Value, command: &str, result: Value) {
        let (Some(from), Some(callback)) =
            (msg.get("from").and_then(Value::as_str), msg.get("callback"))
        else {
            return; // no callback: nobody waits for an answer
        };
        let mut callback = callback.clone();
        callback["ack"] = json!(true);
        let reply = json!({
            "command": command,
            "message": result,
            "from": self.id,
            "callback": callback,
            "_id": rand::random::<u32>() % 10_000_000,
        });
        self.output.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self
            .bus
            .publish(&format!("messagebox.{from}"), &reply.to_string())
            .await
        {
            warn!("messagebox reply failed: {e}");
        }
    }

    /// The adapter on the instance's databases until stopped.
    async fn run_adapter(
        self: &Arc<Self>,
        config: InstanceConfig,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let transport = TransportConfig::from_config(&config, None, self.opts.client.clone());
        let connected = match transport {
            Ok(cfg) => super::connect(cfg, stop.clone())
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let transport = match connected {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(()),
            Err(e) => {
                error!("cannot connect to the Homematic IP installation: {e:#}");
                wait_for(stop).await;
                return Ok(());
            }
        };
        let store: Arc<dyn Store> = self.bus.clone().into_store();
        let opts = AdapterOptions {
            namespace: self.ns.clone(),
            convention: config.convention(),
            secrets: SecretParams::new(
                config.secrets.clone(),
                Some(Arc::new(InstanceSecrets(self.clone()))),
            ),
            ..AdapterOptions::default()
        };
        super::run(transport, store, opts, stop).await
    }
}

/// Secret parameters under ioBroker: in the instance's native `secrets`, encrypted with
/// the system secret like the tokens. js-controller restarts the instance when its native
/// part changes; the restart reads them back.
struct InstanceSecrets(Arc<Instance>);

#[async_trait::async_trait]
impl SecretBackend for InstanceSecrets {
    async fn save(&self, all: &std::collections::BTreeMap<String, String>) -> anyhow::Result<()> {
        let text = if all.is_empty() {
            String::new()
        } else {
            serde_json::to_string(all)?
        };
        self.0.save_natives(&vec![("secrets", text)]).await
    }
}

/// Resident set size in MB (Linux), 0 elsewhere.
fn mem_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    (kb / 1024.0 * 100.0).round() / 100.0
}

/// CPU seconds used by this process so far (Linux), 0 elsewhere.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    if hz > 0.0 {
        ticks / hz
    } else {
        0.0
    }
}
