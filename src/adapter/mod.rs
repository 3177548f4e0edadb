//! The runtime that wires cloud -> tree -> store, and store writes -> tree -> cloud.
//!
//! One task owns the home model and a mirror of what the store holds for this instance,
//! so that a state is written only when its value (or ack, or quality) changes, and no
//! lock is taken on the event path. Control calls leave through [`writes`], coalesced.

pub mod config;
pub mod instance;
pub mod iobroker_json;
pub mod logbus;
pub mod logfile;
pub mod secret;
pub mod writes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::cloud::{CloudError, CloudEvent, CurrentState, PushEvent, Transport};
use crate::iobroker::{now_ms, IobObject, IobState};
use crate::store::{StateChange, Store, StoreError, Subscription};
use crate::tree::{self, TreeSnapshot};

/// The adapter's name in ioBroker: instances are `hmip.N`.
pub const ADAPTER_NAME: &str = "hmip";

/// How the runtime behaves.
#[derive(Debug, Clone)]
pub struct AdapterOptions {
    /// The instance namespace, e.g. `hmip.0`.
    pub namespace: String,
    /// User writes to one state within this window become one control call.
    pub write_debounce: Duration,
    /// After a control call succeeded, wait this long for the cloud to confirm the value
    /// through the websocket; then show the real value again.
    pub confirm_timeout: Duration,
    /// How values are shown and written: this adapter's convention, or ioBroker.hmip's
    /// (the instance setting "values as ioBroker.hmip").
    pub convention: tree::Convention,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            namespace: "hmip.0".into(),
            write_debounce: Duration::from_millis(250),
            confirm_timeout: Duration::from_secs(10),
            convention: tree::Convention::Own,
        }
    }
}

/// What the store holds for one state, as far as this runtime wrote or saw it.
#[derive(Debug, Clone)]
struct Mirror {
    /// The last value confirmed by the cloud (in ioBroker's scale).
    val: Value,
    q: u32,
    lc: i64,
    /// The store currently holds a user command (ack false) instead of `val`.
    commanded: bool,
    /// `ts` of the newest store content this runtime knows of for the state: its own last
    /// write, the last user write it handled, or what it loaded at start. A replayed
    /// unacknowledged state no newer than this was handled (or is older than the adapter).
    seen_ts: i64,
    /// `ts` and value of the last user write handled: its announcement may still arrive
    /// after the same write was replayed (and executed) at a resubscription.
    handled: Option<Box<(i64, Value)>>,
}

/// The adapter's state and its handling of cloud events and user writes, owned by one
/// task ([`run`]); public so that benchmarks drive the very code the adapter runs.
pub struct Runtime {
    opts: AdapterOptions,
    from: String,
    store: Arc<dyn Store>,
    model: Option<CurrentState>,
    /// state id -> what the store holds.
    states: HashMap<String, Mirror>,
    /// object id -> hash of its type and common, to skip rewriting unchanged objects.
    objects: BTreeMap<String, u64>,
    /// state id -> when to give up waiting for the cloud to confirm a sent command.
    awaiting: HashMap<String, Instant>,
    /// Commands sent to states the cloud reports no value for (an action such as
    /// `setDimLevelWithTime`, `stop`, a reset): state id -> the value the user wrote,
    /// acknowledged as it is once the cloud accepted the call. Nothing would ever confirm
    /// them, so without this they stayed unacknowledged (ack false) for good.
    actions: HashMap<String, Value>,
    /// Unknown device, channel and group types already reported (each is logged once).
    reported: std::collections::HashSet<String>,
    /// The access point lost its cloud link (`HOME_CHANGED` with `connected: false`).
    ap_offline: bool,
    /// Device id segments whose maintenance channel reports `unreach: true`.
    unreachable: HashSet<String>,
    /// User writes that came before the home was loaded (a start, new credentials): state
    /// id -> the latest write and when to give up on it. Executed once the home is there,
    /// refused with a log line after [`HELD_WRITE_WAIT`].
    held: indexmap::IndexMap<String, (StateChange, Instant)>,
    /// The cloud said the security journal changed: read it (as `readSecurityJournal`
    /// does), once for a burst of such events.
    journal_changed: bool,
}

/// How long a user write waits for the home to be loaded before it is refused: a start or
/// a reconnect with new credentials loads it within seconds.
const HELD_WRITE_WAIT: Duration = Duration::from_secs(30);

/// Note in `unreachable` whether a device reports `unreach`; true when that changed.
fn note_reachability(unreachable: &mut HashSet<String>, d: &crate::cloud::Device) -> bool {
    let unreach = d
        .channels
        .get("0")
        .and_then(|c| c.fields.get("unreach"))
        .and_then(Value::as_bool)
        == Some(true);
    let seg = tree::ids::segment(&d.id);
    if unreach {
        unreachable.insert(seg)
    } else {
        unreachable.remove(&seg)
    }
}

/// ioBroker's quality "device not connected" (js-controller's `STATE_QUALITY`): the value
/// is the last one known, the device cannot confirm it now.
pub const Q_DEVICE_NOT_CONNECTED: u32 = 0x42;

/// Connect to the cloud (the lookup), retrying with backoff while the network or the
/// cloud is down, so that the adapter never gives up on a passing outage. None when
/// `stop` turned true first; an error that waiting cannot fix (an unknown SGTIN) is
/// returned at once.
pub async fn connect_cloud(
    cfg: crate::cloud::stream::CloudConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<crate::cloud::stream::HmipCloud>, CloudError> {
    let mut delay = Duration::from_secs(2);
    loop {
        match crate::cloud::stream::HmipCloud::connect(cfg.clone()).await {
            Ok(c) => return Ok(Some(c)),
            Err(e) if e.is_transient() => {
                warn!("cloud lookup failed: {e}; retrying in {delay:?}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    r = stop.changed() => if r.is_err() || *stop.borrow() { return Ok(None) },
                }
                delay = (delay * 2).min(Duration::from_secs(300));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Run the adapter until `shutdown` turns true. Returns after flushing the store.
pub async fn run(
    transport: Arc<dyn Transport>,
    store: Arc<dyn Store>,
    opts: AdapterOptions,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (_keep, none) = mpsc::channel(1);
    run_with(transport, none, store, opts, shutdown).await
}

/// A [`Transport`] that can be replaced while the adapter runs (new credentials after a
/// revoked token): the write queue keeps its pending writes and sends them through
/// whichever transport is current.
struct Swappable(std::sync::RwLock<Arc<dyn Transport>>);

impl Swappable {
    fn current(&self) -> Arc<dyn Transport> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Transport for Swappable {
    async fn current_state(&self) -> Result<CurrentState, CloudError> {
        self.current().current_state().await
    }
    async fn control(&self, call: &crate::cloud::ControlCall) -> Result<Value, CloudError> {
        self.current().control(call).await
    }
    async fn run_events(&self, tx: mpsc::Sender<CloudEvent>) {
        self.current().run_events(tx).await
    }
}

/// [`run`], and every transport that comes through `replacements` takes over from the
/// current one (its event stream replaces the old; the tree, the store subscription and
/// pending writes stay, so no user write falls between the two).
pub async fn run_with(
    transport: Arc<dyn Transport>,
    mut replacements: mpsc::Receiver<Arc<dyn Transport>>,
    store: Arc<dyn Store>,
    opts: AdapterOptions,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let ns = opts.namespace.clone();
    let mut rt = Runtime::new(opts, store.clone()).await?;
    let transport = Arc::new(Swappable(std::sync::RwLock::new(transport)));

    // Small: a parsed device report is tens of KB, and a deeper queue only held more of
    // them in memory during a burst; the websocket (TCP) buffers what waits.
    let (ev_tx, mut ev_rx) = mpsc::channel::<CloudEvent>(16);
    let spawn_events = |t: Arc<Swappable>, tx: mpsc::Sender<CloudEvent>| {
        tokio::spawn(async move { t.run_events(tx).await })
    };
    let mut events = spawn_events(transport.clone(), ev_tx.clone());
    let mut user_rx = store.subscribe(Subscription {
        pattern: format!("{ns}.*"),
        only_unacked: true,
    });
    let (queue, mut results) = writes::spawn(transport.clone(), rt.opts.write_debounce);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_event: Option<Instant> = None;

    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() { break; }
            }
            Some(next) = replacements.recv() => {
                info!("switching to the new cloud connection");
                events.abort();
                *transport.0.write().unwrap_or_else(|e| e.into_inner()) = next;
                events = spawn_events(transport.clone(), ev_tx.clone());
            }
            Some(ev) = ev_rx.recv() => {
                rt.on_cloud(ev).await;
                last_event = Some(Instant::now());
                // Queued under the button's id, so a burst of journal events (and a press
                // meanwhile) coalesces into one read.
                if let Some((id, call)) = rt.journal_read() {
                    queue.submit(id, call);
                }
                // Writes that waited for the home, now that it is loaded.
                if rt.model.is_some() {
                    for (_, (change, _)) in std::mem::take(&mut rt.held) {
                        rt.on_user_write(change, &queue).await;
                    }
                }
            }
            Some(change) = user_rx.recv() => rt.on_user_write(change, &queue).await,
            Some(res) = results.recv() => rt.on_write_result(res).await,
            _ = tick.tick() => {
                rt.expire_awaiting().await;
                // A burst is over: give back what it freed (see release_freed_memory).
                if last_event.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                    last_event = None;
                    release_freed_memory();
                }
            }
        }
    }
    events.abort();
    rt.set_connection(false).await;
    store.flush().await?;
    info!("adapter stopped");
    Ok(())
}

/// Hand the memory a snapshot's or a burst's transient data took back to the system: glibc
/// keeps freed small blocks for reuse, which left the resident size at twice the live heap
/// after loading a home. Once per snapshot and per quiet second after events, so its cost
/// (a walk of the heap, about a millisecond) does not matter.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Are two state values the same for ioBroker? Numbers compare by value: a JSON number
/// keeps no integer/float distinction, and js-controller's jsonl database gives back `21`
/// for the `21.0` the adapter wrote. Comparing serde_json's variants made the first
/// snapshot after a restart rewrite every whole-numbered float state (216 of the fixture),
/// found by tests/e2e/instance.test.js.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn object_hash(o: &IobObject) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.obj_type.hash(&mut h);
    // serde_json with preserve_order serialises deterministically.
    serde_json::to_string(&o.common)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

impl Runtime {
    /// Load what the store holds for the namespace and write the instance's own objects
    /// (`info.connection` false).
    pub async fn new(opts: AdapterOptions, store: Arc<dyn Store>) -> Result<Runtime, StoreError> {
        let ns = &opts.namespace;
        // Start from what the store already holds (a restart with a persisted tree), so the
        // first snapshot writes only what changed meanwhile.
        let mut states = HashMap::new();
        for (id, st) in store.states(&format!("{ns}.*")).await? {
            states.insert(
                id,
                Mirror {
                    val: st.val,
                    q: st.q,
                    lc: st.lc,
                    commanded: !st.ack,
                    seen_ts: st.ts,
                    handled: None,
                },
            );
        }
        let objects = store
            .objects(&format!("{ns}.*"))
            .await?
            .into_iter()
            .map(|(id, o)| (id, object_hash(&o)))
            .collect();
        let mut rt = Runtime {
            from: format!("system.adapter.{ns}"),
            opts,
            store,
            model: None,
            states,
            objects,
            awaiting: HashMap::new(),
            actions: HashMap::new(),
            reported: Default::default(),
            ap_offline: false,
            unreachable: HashSet::new(),
            held: Default::default(),
            journal_changed: false,
        };
        rt.write_instance_objects().await?;
        Ok(rt)
    }

    fn ns(&self) -> &str {
        &self.opts.namespace
    }

    async fn write_instance_objects(&mut self) -> Result<(), StoreError> {
        let objs = tree::instance_objects(self.ns());
        self.write_objects(objs).await?;
        self.set_connection(false).await;
        Ok(())
    }

    async fn set_connection(&mut self, connected: bool) {
        let id = format!("{}.info.connection", self.ns());
        self.write_values(vec![tree::TreeValue {
            id,
            val: Value::Bool(connected),
        }])
        .await;
    }

    /// Write the objects that are new or changed.
    async fn write_objects(&mut self, objs: Vec<IobObject>) -> Result<(), StoreError> {
        let mut changed = Vec::new();
        for o in objs {
            let h = object_hash(&o);
            if self.objects.get(&o.id) != Some(&h) {
                self.objects.insert(o.id.clone(), h);
                changed.push(o);
            }
        }
        if !changed.is_empty() {
            self.store.set_objects(changed).await?;
        }
        Ok(())
    }

    /// The quality a state's value carries now: [`Q_DEVICE_NOT_CONNECTED`] for the states of
    /// every device while the access point is offline, and for those of a device that
    /// reports `unreach` (except that `unreach` state itself, which is current news);
    /// 0 (good) otherwise.
    fn quality(&self, id: &str) -> u32 {
        let Some(rest) = id
            .strip_prefix(self.ns())
            .and_then(|r| r.strip_prefix(".devices."))
        else {
            return 0;
        };
        if self.ap_offline {
            return Q_DEVICE_NOT_CONNECTED;
        }
        match rest.split_once('.') {
            Some((device, field))
                if self.unreachable.contains(device) && !field.ends_with(".unreach") =>
            {
                Q_DEVICE_NOT_CONNECTED
            }
            _ => 0,
        }
    }

    /// Rewrite the device states under `prefix` whose quality changed (the access point went
    /// offline or came back, a device became unreachable or reachable), with their last
    /// confirmed value. A pending user command keeps its place; its confirmation brings
    /// the right quality.
    async fn requalify(&mut self, prefix: &str) {
        let stale: Vec<tree::TreeValue> = self
            .states
            .iter()
            .filter(|(id, m)| id.starts_with(prefix) && !m.commanded && m.q != self.quality(id))
            .map(|(id, m)| tree::TreeValue {
                id: id.clone(),
                val: m.val.clone(),
            })
            .collect();
        if !stale.is_empty() {
            debug!(
                count = stale.len(),
                prefix, "quality of device states changed"
            );
            self.write_values(stale).await;
        }
    }

    /// Follow the access point's link state (`connected` of a home report).
    async fn set_ap_offline(&mut self, offline: bool) {
        if offline != self.ap_offline {
            self.ap_offline = offline;
            if offline {
                warn!("the access point lost its cloud connection: every device's states are marked unreachable (q 0x42) until it is back");
            } else {
                info!("the access point is connected again");
            }
            let prefix = format!("{}.devices.", self.ns());
            self.requalify(&prefix).await;
        }
    }

    /// Write the values that differ from what the store holds, acknowledged.
    async fn write_values(&mut self, values: Vec<tree::TreeValue>) {
        self.write_values_with(values, false).await
    }

    /// Write values, acknowledged, each with its [`Runtime::quality`]; `force` writes even
    /// equal ones (events: every press must fire "on update" triggers).
    async fn write_values_with(&mut self, values: Vec<tree::TreeValue>, force: bool) {
        let now = now_ms();
        let mut writes = Vec::new();
        for v in values {
            let q = self.quality(&v.id);
            let lc = match self.states.get(&v.id) {
                Some(m) if same_value(&m.val, &v.val) && m.q == q && !m.commanded && !force => {
                    continue
                }
                Some(m) if same_value(&m.val, &v.val) => m.lc,
                _ => now,
            };
            self.awaiting.remove(&v.id);
            let handled = self.states.get_mut(&v.id).and_then(|m| m.handled.take());
            self.states.insert(
                v.id.clone(),
                Mirror {
                    val: v.val.clone(),
                    q,
                    lc,
                    commanded: false,
                    seen_ts: now,
                    handled,
                },
            );
            writes.push((
                v.id,
                IobState {
                    val: v.val,
                    ack: true,
                    ts: now,
                    lc,
                    from: self.from.clone(),
                    q,
                    user: None,
                    c: None,
                },
            ));
        }
        if !writes.is_empty() {
            if let Err(e) = self.store.set_states(writes).await {
                error!("writing states failed: {e}");
            }
        }
    }

    /// Write objects and values of a part of the tree.
    async fn apply(&mut self, snap: TreeSnapshot) {
        if let Err(e) = self.write_objects(snap.objects).await {
            error!("writing objects failed: {e}");
        }
        self.write_values(snap.values).await;
    }

    /// Delete an object and everything below it.
    async fn remove_subtree(&mut self, root: &str) {
        let prefix = format!("{root}.");
        let ids: Vec<String> = self
            .objects
            .range(root.to_string()..)
            .take_while(|(id, _)| id.as_str() == root || id.starts_with(&prefix))
            .map(|(id, _)| id.clone())
            .collect();
        self.remove_ids(ids).await;
    }

    async fn remove_ids(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let state_ids: Vec<String> = ids
            .iter()
            .filter(|id| self.states.remove(*id).is_some())
            .cloned()
            .collect();
        for id in &ids {
            self.objects.remove(id);
        }
        if let Err(e) = self.store.del_states(&state_ids).await {
            error!("deleting states failed: {e}");
        }
        if let Err(e) = self.store.del_objects(&ids).await {
            error!("deleting objects failed: {e}");
        }
    }

    /// Apply what the cloud reported: a snapshot, events, or a change of the connection.
    pub async fn on_cloud(&mut self, ev: CloudEvent) {
        match ev {
            CloudEvent::Connected => info!("websocket connected; loading the home"),
            // Connected means "the tree is current": only after the fresh snapshot.
            CloudEvent::Snapshot(state) => {
                self.on_snapshot(*state).await;
                self.set_connection(true).await;
            }
            CloudEvent::Events(events) => {
                for e in events {
                    self.on_push(e).await;
                }
            }
            CloudEvent::Disconnected { reason } => {
                warn!("cloud connection lost: {reason}");
                self.set_connection(false).await;
            }
            CloudEvent::AuthRevoked { code } => {
                error!("the cloud rejected the access token ({code}): pair again (`iobroker-hmip pair` or the admin page); the adapter stays offline until then");
                self.set_connection(false).await;
            }
        }
    }

    /// Log each device, channel or group type the mapping does not know, once.
    fn report_unknown(&mut self, kind: &str, type_name: &str, example: &str) {
        use tree::catalog;
        let known = match kind {
            "device" => catalog::is_known_device_type(type_name),
            "channel" => catalog::is_known_channel_type(type_name),
            _ => catalog::is_known_group_type(type_name),
        };
        if !known && self.reported.insert(format!("{kind}:{type_name}")) {
            warn!("unknown {kind} type {type_name} (e.g. {example}): its fields appear as states with inferred types; please report it so it gets a proper mapping");
        }
    }

    /// Log each cloud value of the wrong kind (its state shows null), once per cause.
    fn report_mismatches(&mut self, found: Vec<tree::check::Mismatch>) {
        for m in found {
            if self.reported.insert(format!("mismatch:{}", m.cause)) {
                warn!("{}", m.message);
            }
        }
    }

    fn report_unknown_device(&mut self, d: &crate::cloud::Device) {
        self.report_mismatches(tree::check::device(d));
        self.report_unknown("device", &d.device_type, &d.id);
        for (k, ch) in &d.channels {
            self.report_unknown(
                "channel",
                &ch.channel_type,
                &format!("{} channel {k}", d.id),
            );
        }
    }

    async fn on_snapshot(&mut self, state: CurrentState) {
        for d in state.devices.values() {
            self.report_unknown_device(d);
        }
        for g in state.groups.values() {
            self.report_unknown("group", &g.group_type, &g.id);
            self.report_mismatches(tree::check::group(g));
        }
        self.report_mismatches(tree::check::home(&state.home));
        // Qualities first, so that the values below are written with theirs.
        let offline = state.home.connected() == Some(false);
        if offline && !self.ap_offline {
            warn!("the access point has no cloud connection: every device's states are marked unreachable (q 0x42) until it is back");
        }
        self.ap_offline = offline;
        self.unreachable.clear();
        for d in state.devices.values() {
            note_reachability(&mut self.unreachable, d);
        }
        // Part by part (a device at a time), stored in batches: a large home never has
        // all its objects built at once, and the store still gets few, large writes.
        const BATCH: usize = 2048;
        let ns = self.opts.namespace.clone();
        let mut produced: HashSet<String> = HashSet::new();
        let mut batch = TreeSnapshot::default();
        for part in tree::snapshot_parts_in(self.opts.convention, &ns, &state) {
            produced.extend(part.objects.iter().map(|o| o.id.clone()));
            batch.extend(part);
            if batch.objects.len() >= BATCH {
                self.apply(std::mem::take(&mut batch)).await;
            }
        }
        self.apply(batch).await;
        // States the snapshot does not carry (button events) get their quality too.
        self.requalify(&format!("{ns}.devices.")).await;
        info!(
            devices = state.devices.len(),
            groups = state.groups.len(),
            objects = produced.len(),
            "home loaded"
        );
        // Whatever the tree no longer has (removed while we were away) goes.
        let roots = ["devices.", "groups.", "clients.", "homes."].map(|r| format!("{ns}.{r}"));
        let stale: Vec<String> = self
            .objects
            .keys()
            .filter(|id| {
                roots.iter().any(|r| id.starts_with(r.as_str())) && !produced.contains(id.as_str())
            })
            .cloned()
            .collect();
        if !stale.is_empty() {
            info!(
                count = stale.len(),
                "removing objects the cloud no longer has"
            );
        }
        self.remove_ids(stale).await;
        self.model = Some(state);
        release_freed_memory();
    }

    async fn on_push(&mut self, ev: PushEvent) {
        let ns = self.opts.namespace.clone();
        let conv = self.opts.convention;
        match &ev {
            PushEvent::DeviceChanged(d) => self.report_unknown_device(d),
            PushEvent::GroupChanged(g) => {
                self.report_unknown("group", &g.group_type, &g.id);
                self.report_mismatches(tree::check::group(g));
            }
            PushEvent::HomeChanged(h) => self.report_mismatches(tree::check::home(h)),
            _ => {}
        }
        let Some(model) = self.model.as_mut() else {
            debug!("event before the first snapshot ignored (the snapshot will carry it)");
            return;
        };
        match ev {
            PushEvent::DeviceChanged(d) => {
                // A report that keeps the device's objects (nearly all) yields only the
                // values of the fields that changed.
                let snap = match model.devices.get(&d.id) {
                    Some(old) if tree::same_objects(old, &d) => {
                        tree::device_changes_in(conv, &ns, &d, old, &model.groups)
                    }
                    _ => tree::device_in(conv, &ns, &d, &model.groups),
                };
                let reach_changed = note_reachability(&mut self.unreachable, &d);
                let prefix = format!("{}.", tree::ids::device(&ns, &d.id));
                model.devices.insert(d.id.clone(), *d);
                self.apply(snap).await;
                if reach_changed {
                    self.requalify(&prefix).await;
                }
            }
            PushEvent::GroupChanged(g) => {
                let snap = tree::group_in(conv, &ns, &g);
                model.groups.insert(g.id.clone(), *g);
                let alarm = tree::alarm::values(&ns, model);
                self.apply(snap).await;
                self.write_values(alarm).await;
            }
            PushEvent::ClientChanged(c) => {
                let snap = tree::client(&ns, &c);
                model.clients.insert(c.id.clone(), *c);
                self.apply(snap).await;
            }
            PushEvent::HomeChanged(h) => {
                let snap = tree::home_in(conv, &ns, &h);
                let offline = h.connected() == Some(false);
                model.home = *h;
                let alarm = tree::alarm::values(&ns, model);
                self.apply(snap).await;
                self.write_values(alarm).await;
                self.set_ap_offline(offline).await;
            }
            PushEvent::DeviceRemoved(id) => {
                model.devices.shift_remove(&id);
                self.unreachable.remove(&tree::ids::segment(&id));
                self.remove_subtree(&tree::ids::device(&ns, &id)).await;
            }
            PushEvent::GroupRemoved(id) => {
                model.groups.shift_remove(&id);
                self.remove_subtree(&tree::ids::group(&ns, &id)).await;
            }
            PushEvent::ClientRemoved(id) => {
                model.clients.shift_remove(&id);
                self.remove_subtree(&tree::ids::client(&ns, &id)).await;
            }
            PushEvent::ChannelEvent(ev) => {
                // Event states exist for key channels from the start; any other channel
                // gets them on its first event (the object cache makes this a no-op after).
                let objects = tree::channel_event_objects(&ns, &ev);
                if let Err(e) = self.write_objects(objects).await {
                    error!("writing objects failed: {e}");
                }
                let values = tree::events::channel_event_values(&ns, &ev, now_ms());
                self.write_values_with(values, true).await;
            }
            PushEvent::CodeStateEvent {
                device_id,
                code_index,
                code_state,
            } => {
                if let Err(e) = self
                    .write_objects(tree::code_objects(&ns, &device_id, &code_state))
                    .await
                {
                    error!("writing objects failed: {e}");
                }
                let values = tree::events::code_event_values(
                    &ns,
                    &device_id,
                    code_index,
                    &code_state,
                    now_ms(),
                );
                self.write_values_with(values, true).await;
            }
            PushEvent::SecurityJournalChanged => {
                debug!("security journal changed");
                self.journal_changed = true;
            }
            PushEvent::Unknown(raw) => {
                let kind = raw.get("pushEventType").cloned().unwrap_or_default();
                debug!(%kind, "unknown push event type ignored");
            }
        }
    }

    async fn on_user_write(&mut self, change: StateChange, queue: &writes::WriteQueue) {
        let Some(st) = change.state else { return };
        if st.ack {
            return;
        }
        let id = change.id;
        let mirror = self.states.get(&id);
        if mirror
            .and_then(|m| m.handled.as_deref())
            .is_some_and(|(ts, val)| *ts == st.ts && *val == st.val)
        {
            // This very write was executed already: the late announcement of one replayed
            // first, or a replay of one announced.
            return;
        }
        if change.replayed {
            // Found holding ack false when the subscription was (re)established: a command
            // written while the database connection was down is executed now; one older
            // than this adapter's view of the state is not.
            match mirror {
                Some(m) if st.ts > m.seen_ts => {
                    info!(%id, "executing a write made while the database connection was down")
                }
                _ => return,
            }
        }
        let Some(model) = &self.model else {
            // Not lost, not refused at once: it waits for the home (the latest per state).
            debug!(%id, "user write held until the home is loaded");
            let deadline = Instant::now() + HELD_WRITE_WAIT;
            let change = StateChange {
                id: id.clone(),
                state: Some(st),
                replayed: change.replayed,
            };
            self.held.insert(id, (change, deadline));
            return;
        };
        let action = {
            let states = &self.states;
            let param = |pid: &str| states.get(pid).map(|m| m.val.clone());
            tree::write_to_call_in(
                self.opts.convention,
                &self.opts.namespace,
                model,
                &id,
                &st.val,
                &param,
            )
            .map_err(|e| e.to_string())
        };
        if let Some(m) = self.states.get_mut(&id) {
            m.seen_ts = m.seen_ts.max(st.ts);
            m.handled = Some(Box::new((st.ts, st.val.clone())));
        }
        match action {
            Ok(tree::WriteAction::Call(call)) => {
                debug!(%id, path = %call.path, "user write queued");
                match self.states.get_mut(&id) {
                    Some(m) => m.commanded = true,
                    None => {
                        self.actions.insert(id.clone(), st.val.clone());
                    }
                }
                queue.submit(id, call);
            }
            Ok(tree::WriteAction::Local) => {
                // A parameter: the adapter keeps it; acknowledge it as it is.
                if let Some(m) = self.states.get_mut(&id) {
                    m.commanded = true;
                }
                self.write_values(vec![tree::TreeValue { id, val: st.val }])
                    .await;
            }
            Err(reason) => {
                warn!("write to {id} refused: {reason}");
                self.restore(&id).await;
            }
        }
    }

    async fn on_write_result(&mut self, res: writes::WriteResult) {
        if let Ok(answer) = &res.result {
            self.show_answer(&res.call, answer).await;
        }
        match res.result {
            Ok(answer) if !self.armed_as_asked(&res.call, &answer).await => {
                // Nothing was armed: like a refused call, the state shows the real mode
                // again and an action keeps the user's command unacknowledged.
                self.actions.remove(&res.id);
                self.restore(&res.id).await;
            }
            Ok(_) => {
                if let Some(val) = self.actions.remove(&res.id) {
                    self.ack_action(res.id, val).await;
                    return;
                }
                // Acknowledged when the cloud pushes the new value; until the deadline.
                if self.states.get(&res.id).is_some_and(|m| m.commanded) {
                    self.awaiting
                        .insert(res.id, Instant::now() + self.opts.confirm_timeout);
                }
            }
            Err(e) => {
                // An action keeps the user's command, unacknowledged: it did not happen.
                self.actions.remove(&res.id);
                error!(
                    "control call {} for {} failed: {e}; the state shows the real value again",
                    res.call.path, res.id
                );
                self.restore(&res.id).await;
            }
        }
    }

    /// The journal read a `SECURITY_JOURNAL_CHANGED` asks for (once), under the id of
    /// `readSecurityJournal`; None without one or without the security solution.
    fn journal_read(&mut self) -> Option<(String, crate::cloud::ControlCall)> {
        if !std::mem::take(&mut self.journal_changed) {
            return None;
        }
        let model = self.model.as_ref()?;
        tree::alarm::panel(model)?;
        let id = tree::alarm::state_id(self.ns(), model, tree::alarm::journal::READ);
        Some((id, tree::alarm::journal::call()))
    }

    /// What the answer of a read shows: the security journal's states.
    async fn show_answer(&mut self, call: &crate::cloud::ControlCall, answer: &Value) {
        let Some(model) = &self.model else {
            return;
        };
        if let Some(values) = tree::alarm::journal::values(self.ns(), model, call, answer) {
            self.write_values(values).await;
        }
    }

    /// Whether an arming call of the request-based alarm panel armed: its answer lists what
    /// blocked it, if anything. The list goes to `alarmActivationProblems` (emptied by a
    /// successful arming) and, when there is one, to one log line naming each device.
    /// Every other call is taken as the cloud answered it.
    async fn armed_as_asked(&mut self, call: &crate::cloud::ControlCall, answer: &Value) -> bool {
        if !tree::alarm::reports_problems(&call.path) {
            return true;
        }
        let Some(model) = &self.model else {
            return true;
        };
        let problems = tree::alarm::problems::parse(model, answer);
        let value = tree::alarm::problems::state_value(self.ns(), model, &problems);
        let blocked = !problems.is_empty();
        if blocked {
            warn!("{}", tree::alarm::problems::message(call, &problems));
        }
        self.write_values(vec![value]).await;
        !blocked
    }

    /// Commands the cloud did not confirm in time: show the real value again.
    async fn expire_awaiting(&mut self) {
        let now = Instant::now();
        let late: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in late {
            self.held.shift_remove(&id);
            warn!("write to {id} refused: the home is not loaded yet (not connected to the cloud)");
            self.restore(&id).await;
        }
        let expired: Vec<String> = self
            .awaiting
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.awaiting.remove(&id);
            debug!(%id, "no confirmation from the cloud; showing the real value");
            self.restore(&id).await;
        }
    }

    /// Acknowledge an action the cloud accepted, as written. No mirror: the state has no
    /// value of the cloud to show or to restore, and the next command is an action again.
    async fn ack_action(&mut self, id: String, val: Value) {
        let now = now_ms();
        let st = IobState {
            val,
            ack: true,
            ts: now,
            lc: now,
            from: self.from.clone(),
            q: 0,
            user: None,
            c: None,
        };
        if let Err(e) = self.store.set_states(vec![(id, st)]).await {
            error!("writing states failed: {e}");
        }
    }

    /// Write the last confirmed value again (acknowledged), replacing a user command.
    async fn restore(&mut self, id: &str) {
        if let Some(m) = self.states.get_mut(id) {
            m.commanded = true; // force the write
            let val = m.val.clone();
            self.write_values(vec![tree::TreeValue {
                id: id.to_string(),
                val,
            }])
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_value;
    use serde_json::json;

    #[test]
    fn numbers_are_the_same_by_value() {
        // What js-controller's jsonl database gives back for what the adapter wrote.
        assert!(same_value(&json!(21), &json!(21.0)));
        assert!(same_value(&json!(0.0), &json!(0)));
        assert!(same_value(&json!(-3), &json!(-3.0)));
        assert!(!same_value(&json!(21), &json!(21.5)));
        assert!(!same_value(&json!(1), &json!(true)));
        assert!(!same_value(&json!("1"), &json!(1)));
        assert!(same_value(&json!(null), &json!(null)));
    }
}
