//! Pub/sub on the states database: one dedicated connection, one `psubscribe` per pattern,
//! messages fanned out to the subscribers, everything renewed after a reconnect.
//!
//! The two servers differ in ways this module hides:
//! - js-controller's simulator honours only the first pattern of a `psubscribe`, so each
//!   pattern gets its own command.
//! - The simulator sends state channels and patterns without the `io.` prefix (and
//!   messagebox/log ones with it); a real Redis sends them verbatim. A leading `io.` is
//!   dropped from both before they are compared.
//! - For one write the simulator sends a single message per connection (for the first of
//!   the connection's patterns that matches), a real Redis one per matching pattern. So a
//!   message is delivered to every subscriber it matches, but only when it arrives for the
//!   first matching pattern in subscription order; the copies a real Redis sends for the
//!   other patterns are dropped. Patterns are subscribed in the same order after a
//!   reconnect, so both servers agree on which one is first.
//! - A state that expires arrives as `null` from the simulator; a real Redis announces it
//!   as a keyspace event (`__keyevent@<db>__:expired`, which js-controller enables on the
//!   server), which is subscribed too and delivered the same way.
//!
//! Pub/sub delivers only to who listens at that moment: a user's command written while the
//! connection was down (a Redis or js-controller restart, a killed connection) would be
//! lost. So whenever the server confirms a state pattern (the first time and after every
//! reconnect), its `only_unacked` subscribers also get the states matching it that hold
//! `ack: false`, read through the states command connection and marked `replayed`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};

use super::connection::Connection;
use super::frame::{array, cmd, describe, text, Frame};
use super::health::Health;
use super::keys::{redis_glob, strip_io, STATE_PREFIX};
use super::worker::Db;
use super::{DbConfig, RedisOptions, RedisStore};
use crate::iobroker::{pattern_matches, IobState};
use crate::store::{StateChange, Subscription};

/// The name of this connection in logs.
const NAME: &str = "states (pub/sub)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `io.<pattern>`: state changes.
    State,
    /// Anything else (messagebox, log): raw messages.
    Raw,
}

enum Sink {
    State {
        tx: mpsc::UnboundedSender<StateChange>,
        only_unacked: bool,
    },
    Raw(mpsc::UnboundedSender<(String, String)>),
}

impl Sink {
    fn is_closed(&self) -> bool {
        match self {
            Sink::State { tx, .. } => tx.is_closed(),
            Sink::Raw(tx) => tx.is_closed(),
        }
    }
}

/// One pattern subscribed on the server, and who listens to it.
struct Entry {
    /// As sent in `psubscribe`.
    wire: String,
    /// `wire` without a leading `io.`: what a message's pattern is compared with.
    key: String,
    /// The glob a channel (without `io.`) must match.
    glob: String,
    kind: Kind,
    sinks: Vec<Sink>,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    /// Patterns the server confirmed on the current connection.
    confirmed: HashSet<String>,
}

/// The subscriptions, shared by the store (which adds) and the pub/sub task.
pub struct PubSub {
    registry: Mutex<Registry>,
    /// The states command connection, for the replay of unacknowledged states.
    states: Arc<Db>,
    /// New patterns for the task to subscribe.
    new_patterns: mpsc::UnboundedSender<String>,
    /// Bumped whenever `confirmed` changes.
    changed: watch::Sender<u64>,
}

impl PubSub {
    /// Connect the pub/sub connection and spawn its task.
    pub async fn start(
        cfg: DbConfig,
        states: Arc<Db>,
        opts: RedisOptions,
        health: Arc<Health>,
    ) -> Result<(Arc<PubSub>, tokio::task::JoinHandle<()>), String> {
        let conn = Connection::open(&cfg)
            .await
            .map_err(|e| format!("ioBroker states database at {}:{}: {e}", cfg.host, cfg.port))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let ps = Arc::new(PubSub {
            registry: Mutex::new(Registry::default()),
            states,
            new_patterns: tx,
            changed: watch::Sender::new(0),
        });
        let task = tokio::spawn(Arc::clone(&ps).run(cfg, opts, health, conn, rx));
        Ok((ps, task))
    }

    /// Hear about state changes matching `sub`.
    pub fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange> {
        let (tx, rx) = mpsc::unbounded_channel();
        let wire = format!("{STATE_PREFIX}{}", redis_glob(&sub.pattern));
        let sink = Sink::State {
            tx,
            only_unacked: sub.only_unacked,
        };
        self.add(wire, sub.pattern, Kind::State, sink);
        rx
    }

    /// Hear raw messages on channels matching `pattern` (given without `io.`).
    pub fn subscribe_raw(&self, pattern: &str) -> mpsc::UnboundedReceiver<(String, String)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let glob = strip_io(pattern).to_string();
        self.add(pattern.to_string(), glob, Kind::Raw, Sink::Raw(tx));
        rx
    }

    /// Wait until the server confirmed every pattern subscribed so far.
    pub async fn wait_subscribed(&self) {
        let mut changed = self.changed.subscribe();
        loop {
            {
                let reg = self.lock();
                if reg.entries.iter().all(|e| reg.confirmed.contains(&e.wire)) {
                    return;
                }
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    fn add(&self, wire: String, glob: String, kind: Kind, sink: Sink) {
        let mut reg = self.lock();
        if let Some(e) = reg.entries.iter_mut().find(|e| e.wire == wire) {
            e.sinks.push(sink);
            return;
        }
        reg.entries.push(Entry {
            key: strip_io(&wire).to_string(),
            wire: wire.clone(),
            glob,
            kind,
            sinks: vec![sink],
        });
        drop(reg);
        let _ = self.new_patterns.send(wire);
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_confirmed(&self, f: impl FnOnce(&mut HashSet<String>)) {
        f(&mut self.lock().confirmed);
        self.changed.send_modify(|n| *n += 1);
    }

    async fn run(
        self: Arc<Self>,
        cfg: DbConfig,
        opts: RedisOptions,
        health: Arc<Health>,
        conn: Connection,
        mut new_patterns: mpsc::UnboundedReceiver<String>,
    ) {
        let addr = format!("{}:{}", cfg.host, cfg.port);
        let expired = format!("__keyevent@{}__:expired", cfg.db.unwrap_or(0));
        let mut conn = Some(conn);
        let mut backoff = crate::backoff::Backoff::new(opts.reconnect_min, opts.reconnect_max);
        loop {
            let mut c = match conn.take() {
                Some(c) => c,
                None => match Connection::open(&cfg).await {
                    Ok(c) => c,
                    Err(e) => {
                        health.down(NAME, &addr, &e.to_string());
                        tokio::time::sleep(backoff.next_wait()).await;
                        continue;
                    }
                },
            };
            backoff.reset();
            let why = self
                .serve(&mut c, &expired, &health, &mut new_patterns)
                .await;
            self.set_confirmed(|c| c.clear());
            health.down(NAME, &addr, &why);
        }
    }

    /// Subscribe everything, then deliver messages until the connection fails.
    async fn serve(
        &self,
        conn: &mut Connection,
        expired: &str,
        health: &Health,
        new_patterns: &mut mpsc::UnboundedReceiver<String>,
    ) -> String {
        while new_patterns.try_recv().is_ok() {}
        let mut sent: HashSet<String> =
            self.lock().entries.iter().map(|e| e.wire.clone()).collect();
        let mut frames = vec![cmd("subscribe", [expired.to_string()])];
        // In registration order: both servers must agree on which pattern is first.
        frames.extend(
            self.lock()
                .entries
                .iter()
                .map(|e| cmd("psubscribe", [e.wire.clone()])),
        );
        if let Err(e) = conn.send(frames).await {
            return e.to_string();
        }
        health.up(NAME);
        loop {
            tokio::select! {
                Some(wire) = new_patterns.recv() => {
                    if sent.insert(wire.clone()) {
                        if let Err(e) = conn.send(vec![cmd("psubscribe", [wire])]).await {
                            return e.to_string();
                        }
                    }
                }
                frame = conn.next_frame() => match frame {
                    Ok(f) => self.handle(f, expired),
                    Err(e) => return e.to_string(),
                },
            }
        }
    }

    fn handle(&self, frame: Frame, expired: &str) {
        if let Frame::Error(e) = &frame {
            tracing::warn!("the ioBroker states database refused a subscription: {e}");
            return;
        }
        let desc = describe(&frame);
        let Some(parts) = array(frame) else {
            tracing::debug!("pub/sub: unexpected {desc}");
            return;
        };
        let texts: Vec<Option<String>> = parts.iter().map(text).collect();
        match texts.as_slice() {
            [Some(kind), Some(pattern), Some(channel), payload] if kind == "pmessage" => {
                let payload = payload.clone().unwrap_or_else(|| "null".into());
                self.deliver(pattern, channel, &payload);
            }
            [Some(kind), Some(channel), Some(key)] if kind == "message" && channel == expired => {
                if let Some(id) = key.strip_prefix(STATE_PREFIX) {
                    self.deliver_expired(id);
                }
            }
            [Some(kind), Some(pattern), _] if kind == "psubscribe" => {
                let pattern = pattern.clone();
                self.replay_unacked(&pattern);
                self.set_confirmed(|c| {
                    c.insert(pattern);
                });
            }
            [Some(kind), ..] if kind == "subscribe" => {}
            _ => tracing::debug!("pub/sub: unexpected {desc}"),
        }
    }

    /// The server confirmed `pattern` on this connection: read the states matching it that
    /// hold `ack: false` and hand them to its `only_unacked` subscribers, marked `replayed`
    /// (in a task: the pub/sub connection cannot send reads, and keeps delivering).
    fn replay_unacked(&self, pattern: &str) {
        let key = strip_io(pattern);
        let (glob, sinks) = {
            let reg = self.lock();
            let Some(e) = reg
                .entries
                .iter()
                .find(|e| e.kind == Kind::State && e.key == key)
            else {
                return;
            };
            let sinks: Vec<mpsc::UnboundedSender<StateChange>> = e
                .sinks
                .iter()
                .filter_map(|s| match s {
                    Sink::State {
                        tx,
                        only_unacked: true,
                    } => Some(tx.clone()),
                    _ => None,
                })
                .collect();
            (e.glob.clone(), sinks)
        };
        if sinks.is_empty() {
            return;
        }
        let db = Arc::clone(&self.states);
        tokio::spawn(async move {
            db.wait_up().await;
            // Page by page, only the commands kept: the states matching are usually a
            // whole tree of acknowledged values.
            let mut commands = Vec::new();
            let mut read_states = 0usize;
            let read = RedisStore::values_paged(&db, STATE_PREFIX, &glob, |key, json| {
                read_states += 1;
                if let Some(st) = super::commands::parse::<IobState>(key, &json) {
                    if !st.ack {
                        commands.push((key[STATE_PREFIX.len()..].to_string(), st));
                    }
                }
            })
            .await;
            if let Err(e) = read {
                // The connection dropped again: the next confirmation replays.
                tracing::debug!("replaying unacknowledged states of {glob}: {e}");
                return;
            }
            // A whole tree read (after an instance's first start, or a reconnect): its
            // key list and pages were megabytes that nothing else gives back soon.
            if read_states >= 1000 {
                crate::allocator::release_freed_memory();
            }
            for (id, st) in commands {
                for tx in &sinks {
                    let _ = tx.send(StateChange {
                        id: id.clone(),
                        state: Some(st.clone()),
                        replayed: true,
                    });
                }
            }
        });
    }

    /// A message for `pattern` on `channel` (either may carry `io.`).
    fn deliver(&self, pattern: &str, channel: &str, payload: &str) {
        let (pattern, channel) = (strip_io(pattern), strip_io(channel));
        let mut reg = self.lock();
        let Some(kind) = reg
            .entries
            .iter()
            .find(|e| e.key == pattern)
            .map(|e| e.kind)
        else {
            tracing::debug!("pub/sub: message for a pattern not subscribed: {pattern}");
            return;
        };
        let matching = |e: &Entry| e.kind == kind && pattern_matches(&e.glob, channel);
        // Only the copy for the first matching pattern counts (see the module docs).
        if reg
            .entries
            .iter()
            .find(|e| matching(e))
            .map(|e| e.key.as_str())
            != Some(pattern)
        {
            return;
        }
        // `null` is a deleted or expired state; anything else must be a state.
        let state: Option<IobState> = match kind {
            Kind::State if payload.trim() == "null" => None,
            Kind::State => match super::commands::parse(channel, payload) {
                Some(s) => Some(s),
                None => return,
            },
            Kind::Raw => None,
        };
        for e in reg.entries.iter_mut().filter(|e| matching(e)) {
            for sink in &e.sinks {
                match sink {
                    Sink::State { tx, only_unacked } => {
                        if *only_unacked && state.as_ref().is_some_and(|s| s.ack) {
                            continue;
                        }
                        let _ = tx.send(StateChange {
                            id: channel.to_string(),
                            state: state.clone(),
                            replayed: false,
                        });
                    }
                    Sink::Raw(tx) => {
                        let _ = tx.send((channel.to_string(), payload.to_string()));
                    }
                }
            }
            e.sinks.retain(|s| !s.is_closed());
        }
    }

    /// A state expired on a real Redis: every state subscriber whose pattern matches hears
    /// of it once.
    fn deliver_expired(&self, id: &str) {
        let mut reg = self.lock();
        for e in reg
            .entries
            .iter_mut()
            .filter(|e| e.kind == Kind::State && pattern_matches(&e.glob, id))
        {
            for sink in &e.sinks {
                if let Sink::State { tx, .. } = sink {
                    let _ = tx.send(StateChange {
                        id: id.to_string(),
                        state: None,
                        replayed: false,
                    });
                }
            }
            e.sinks.retain(|s| !s.is_closed());
        }
    }
}
