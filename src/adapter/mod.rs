//! The runtime that wires cloud -> tree -> store, and store writes -> tree -> cloud.
//!
//! One task owns the home model and a mirror of what the store holds for this instance,
//! so that a state is written only when its value (or ack, or quality) changes, and no
//! lock is taken on the event path. Control calls leave through [`writes`], coalesced.
//!
//! The runtime's concerns, each in its file: `transport` (which transport the adapter
//! talks to: the one place to choose it), `mirror` (what the store holds, and every write
//! to it), `commands` (user writes and their confirmation), `reachability` (the quality of
//! device states), `unconfirmed` (writes the store did not confirm, written again until
//! it does), `secret_params` (a lock's PIN, kept where the tokens are). This file keeps
//! the run loop and the handling of cloud events.

pub mod config;
pub mod instance;
pub mod iobroker_json;
pub mod logbus;
pub mod logfile;
pub mod secret;
pub mod secret_params;
pub mod writes;

mod commands;
mod mirror;
mod reachability;
mod transport;
mod unconfirmed;

pub use crate::allocator::tune_allocator;
pub use mirror::MirrorMemory;
pub use reachability::Q_DEVICE_NOT_CONNECTED;
pub use transport::{connect, connect_cloud, TransportConfig};

use mirror::{Mirror, ObjectHashes, States};
use reachability::note_reachability;
use transport::Swappable;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::cloud::report::Applied;
use crate::cloud::{CloudEvent, CurrentState, PushEvent, Transport};
use crate::iobroker::now_ms;
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
    /// Where secret parameters (a lock's PIN) are kept; in memory by default.
    pub secrets: Arc<secret_params::SecretParams>,
    /// The longest pause between attempts to write again what the store did not confirm
    /// (from 0.5 s, doubling).
    pub store_retry_max: Duration,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            namespace: "hmip.0".into(),
            write_debounce: Duration::from_millis(250),
            confirm_timeout: Duration::from_secs(10),
            convention: tree::Convention::Own,
            secrets: secret_params::SecretParams::in_memory(),
            store_retry_max: Duration::from_secs(30),
        }
    }
}

/// The adapter's state and its handling of cloud events and user writes, owned by one
/// task ([`run`]); public so that benchmarks drive the very code the adapter runs.
pub struct Runtime {
    opts: AdapterOptions,
    from: String,
    store: Arc<dyn Store>,
    model: Option<CurrentState>,
    /// state id -> what the store holds.
    states: States,
    /// object id -> hash of its type and common, to skip rewriting unchanged objects.
    objects: ObjectHashes,
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
    /// refused with a log line after [`commands::HELD_WRITE_WAIT`].
    held: indexmap::IndexMap<String, (StateChange, Instant)>,
    /// The cloud said the security journal changed: read it (as `readSecurityJournal`
    /// does), once for a burst of such events.
    journal_changed: bool,
    /// Writes the store did not confirm, written again until it does.
    unconfirmed: unconfirmed::Unconfirmed,
    /// The store held no state of this instance's tree at start (its own `info` states
    /// aside): the instance's first start, or its tree was deleted.
    first_start: bool,
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
    // User writes. On the instance's first start (no state of its tree in the store yet)
    // the subscription starts only once the first home is written: a database announces
    // every state written to each subscriber whose pattern matches, and sending the tree's
    // 15,000 states back to us was a fifth of js-controller's CPU for the cold start
    // (BENCHMARKS.md). Nothing is lost by waiting: a subscription hands over every state
    // holding a command (ack false) when it starts, and before the tree is written there
    // is no state of it to command.
    let user_sub = Subscription {
        pattern: format!("{ns}.*"),
        only_unacked: true,
    };
    let mut user_rx = (!rt.first_start).then(|| store.subscribe(user_sub.clone()));
    let mut user_rx_coming: Option<oneshot::Receiver<mpsc::UnboundedReceiver<StateChange>>> = None;
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
                info!("switching to the new {} connection", next.kind());
                events.abort();
                *transport.0.write().unwrap_or_else(|e| e.into_inner()) = next;
                events = spawn_events(transport.clone(), ev_tx.clone());
            }
            Some(ev) = ev_rx.recv() => {
                if let CloudEvent::Disconnected { reason } = &ev {
                    warn!("{} connection lost: {reason}", transport.kind());
                }
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
                    if user_rx.is_none() && user_rx_coming.is_none() {
                        user_rx_coming = Some(subscribe_after_flush(store.clone(), user_sub.clone()));
                    }
                }
            }
            Some(Ok(rx)) = or_pending(user_rx_coming.as_mut()) => {
                user_rx_coming = None;
                user_rx = Some(rx);
            }
            Some(Some(change)) = or_pending(user_rx.as_mut().map(|rx| rx.recv())) => {
                rt.on_user_write(change, &queue).await
            }
            Some(res) = results.recv() => rt.on_write_result(res).await,
            _ = tick.tick() => {
                rt.expire_awaiting().await;
                rt.retry_unconfirmed().await;
                // A burst is over: give back what it freed (see allocator::release_freed_memory).
                if last_event.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                    last_event = None;
                    crate::allocator::release_freed_memory();
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

/// Subscribe once everything written so far is in the store (whatever the store says of
/// the flush: the subscription is what matters), in a task of its own: the run loop goes
/// on meanwhile.
fn subscribe_after_flush(
    store: Arc<dyn Store>,
    sub: Subscription,
) -> oneshot::Receiver<mpsc::UnboundedReceiver<StateChange>> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let _ = store.flush().await;
        let _ = tx.send(store.subscribe(sub));
    });
    rx
}

/// What `f` gives, or never while there is no `f` (the user-write subscription before it
/// exists, the one being made before it is there): a `select!` branch that waits for it.
async fn or_pending<F: std::future::Future>(f: Option<F>) -> Option<F::Output> {
    match f {
        Some(f) => Some(f.await),
        None => std::future::pending().await,
    }
}

impl Runtime {
    /// Load what the store holds for the namespace and write the instance's own objects
    /// (`info.connection` false).
    pub async fn new(opts: AdapterOptions, store: Arc<dyn Store>) -> Result<Runtime, StoreError> {
        let ns = &opts.namespace;
        // Start from what the store already holds (a restart with a persisted tree), so the
        // first snapshot writes only what changed meanwhile.
        let ids = store.ids().unwrap_or_default();
        let mut states = States::new(ids.clone());
        let info = format!("{ns}.info.");
        let mut first_start = true;
        store
            .for_each_state(&format!("{ns}.*"), &mut |id, st| {
                first_start &= id.starts_with(&info);
                states.insert(&id, Mirror::loaded(st, ids.strings()))
            })
            .await?;
        let mut objects = ObjectHashes::new(ids);
        store
            .for_each_object_digest(&format!("{ns}.*"), &mut |id, digest| {
                objects.insert(&id, digest)
            })
            .await?;
        let mut rt = Runtime {
            unconfirmed: unconfirmed::Unconfirmed::new(opts.store_retry_max),
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
            first_start,
        };
        rt.write_instance_objects().await?;
        Ok(rt)
    }

    fn ns(&self) -> &str {
        &self.opts.namespace
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
            // Logged by the run loop, which knows the transport.
            CloudEvent::Disconnected { .. } => {
                self.set_connection(false).await;
            }
            CloudEvent::Refused { reason } => {
                error!("{reason}; the adapter stays offline until then");
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
        let mut produced = HashSet::new();
        let mut batch = TreeSnapshot::default();
        let mut secret_ids = Vec::new();
        for part in tree::snapshot_parts_in(self.opts.convention, &ns, &state) {
            produced.extend(part.objects.iter().map(|o| self.objects.intern(&o.id)));
            secret_ids.extend(
                part.objects
                    .iter()
                    .filter(|o| tree::is_secret(o))
                    .map(|o| o.id.clone()),
            );
            batch.extend(part);
            if batch.objects.len() >= BATCH {
                self.apply(std::mem::take(&mut batch)).await;
            }
        }
        self.apply(batch).await;
        self.settle_secrets(secret_ids).await;
        // States the snapshot does not carry (button events) get their quality too.
        self.requalify(&format!("{ns}.devices.")).await;
        info!(
            devices = state.devices.len(),
            groups = state.groups.len(),
            objects = produced.len(),
            "home loaded"
        );
        // Whatever the tree no longer has (removed while we were away) goes.
        let roots = ["devices", "groups", "clients", "homes"].map(|r| format!("{ns}.{r}"));
        let stale = self.stale_objects(&roots, &produced);
        if !stale.is_empty() {
            info!(
                count = stale.len(),
                "removing objects the cloud no longer has"
            );
        }
        self.remove_ids(stale).await;
        self.model = Some(state);
        crate::allocator::release_freed_memory();
    }

    /// The event path of nearly every event: a device report applied to the stored device
    /// field by field (only what differs is parsed), and the changed values written.
    /// None when the report must be parsed whole: no model yet, a new device, or one
    /// whose objects change (its unknown types and mismatches are reported then; a
    /// report applied here has the types and value kinds reported before).
    async fn apply_report(&mut self, report: &crate::cloud::DeviceReport) -> Option<()> {
        let model = self.model.as_mut()?;
        let stored = model.devices.get_mut(&report.id)?;
        let Applied::Fields(changes) = report.apply_to(stored) else {
            return None;
        };
        if changes.is_empty() {
            return Some(());
        }
        let ns = &self.opts.namespace;
        let snap =
            tree::device_changes_by(self.opts.convention, ns, stored, &changes, &model.groups);
        let reach_changed = changes.iter().any(|c| c.field == "unreach")
            && note_reachability(&mut self.unreachable, stored);
        let prefix = reach_changed.then(|| format!("{}.", tree::ids::device(ns, &report.id)));
        self.apply(snap).await;
        if let Some(prefix) = prefix {
            self.requalify(&prefix).await;
        }
        Some(())
    }

    async fn on_push(&mut self, ev: PushEvent) {
        let ns = self.opts.namespace.clone();
        let conv = self.opts.convention;
        match &ev {
            PushEvent::GroupChanged(g) => {
                self.report_unknown("group", &g.group_type, &g.id);
                self.report_mismatches(tree::check::group(g));
            }
            PushEvent::HomeChanged(h) => self.report_mismatches(tree::check::home(h)),
            _ => {}
        }
        let ev = match ev {
            PushEvent::DeviceChanged(report) => match self.apply_report(&report).await {
                Some(()) => return,
                None => match report.into_device() {
                    Ok(d) => {
                        self.report_unknown_device(&d);
                        PushEvent::DeviceChanged(Box::new(crate::cloud::DeviceReport::parsed(d)))
                    }
                    Err(e) => {
                        error!("a device report could not be read: {e}");
                        return;
                    }
                },
            },
            ev => ev,
        };
        let Some(model) = self.model.as_mut() else {
            debug!("event before the first snapshot ignored (the snapshot will carry it)");
            return;
        };
        match ev {
            PushEvent::DeviceChanged(report) => {
                let Ok(mut d) = report.into_device() else {
                    return; // parsed just above
                };
                // The HCU sometimes reports a device without its channels (users report it;
                // hcu-connect-api.md): that says nothing about them, so they stay. Every
                // real device has at least channel 0, so an empty map is such a report.
                if d.channels.is_empty() {
                    if let Some(old) = model.devices.get(&d.id) {
                        d.channels = old.channels.clone();
                    }
                }
                // A report that keeps the device's objects yields only the values of the
                // fields that changed.
                let (snap, reshaped) = match model.devices.get(&d.id) {
                    Some(old) if tree::same_objects(old, &d) => (
                        tree::device_changes_in(conv, &ns, &d, old, &model.groups),
                        false,
                    ),
                    _ => (tree::device_in(conv, &ns, &d, &model.groups), true),
                };
                let reach_changed = note_reachability(&mut self.unreachable, &d);
                let root = tree::ids::device(&ns, &d.id);
                model.devices.insert(d.id.clone(), d);
                // What the report no longer has (a channel, a field) goes now, as a full
                // load would remove it: the tree follows what the cloud says now.
                let produced: HashSet<_> = if reshaped {
                    snap.objects
                        .iter()
                        .map(|o| self.objects.intern(&o.id))
                        .collect()
                } else {
                    HashSet::new()
                };
                self.apply(snap).await;
                if reshaped {
                    let gone = self.stale_objects(std::slice::from_ref(&root), &produced);
                    if !gone.is_empty() {
                        debug!(count = gone.len(), device = %root, "removing what the device report no longer has");
                    }
                    self.remove_ids(gone).await;
                }
                if reach_changed {
                    self.requalify(&format!("{root}.")).await;
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
}
