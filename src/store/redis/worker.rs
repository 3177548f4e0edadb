//! The command worker of one database: owns its connection, writes the queue in batches,
//! answers reads, and reconnects.
//!
//! One task per database keeps things ordered without locks: queued writes always go
//! before reads (so a read after a write, or after a reconnect, sees it), every batch is one
//! `multi … exec` pipeline, and reads that arrive together share one pipeline too. When the
//! connection breaks, the batch in flight goes back to the front of the queue (a write may
//! thus reach the server twice, never zero times), the worker reconnects with backoff
//! (`reconnect_min` doubling to `reconnect_max`), checks the protocol version again and
//! carries on with the queue.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::commands::{self, BatchContext};
use super::connection::{ConnError, Connection};
use super::frame::{cmd, describe, text, Frame};
use super::health::Health;
use super::keys::{object_key, ObjectDefaults};
use super::queue::{Op, WriteQueue};
use super::{DbConfig, RedisOptions};
use crate::backoff::Backoff;
use crate::iobroker::{now_ms, IobObject};
use crate::store::StoreError;

/// The protocol version of js-controller's databases that this client speaks.
pub const PROTOCOL_VERSION: &str = "4";
/// At most this many writes per `multi … exec`. Small transactions let js-controller
/// apply one while the next is on its way: measured with `tests/e2e/bench-startup` (the
/// fixture's 18k objects, cold start, medians of 3), 100 / 250 / 500 / 1,000 / 5,000 /
/// 20,000 writes gave 1.05 / 1.00 / 1.20 / 1.16 / 1.54 / 1.59 s, and js-controller's CPU
/// 1.05 / 0.99 / 1.20 / 1.14 / 1.21 / 1.25 s (BENCHMARKS.md).
const MAX_BATCH: usize = 250;
/// Writes kept while a database is away (see `queue` for what happens beyond).
const QUEUE_CAP: usize = 200_000;
/// Reads that arrive together and share one pipeline.
const MAX_READS: usize = 64;

/// Which database: they differ in their version key and in how writes are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// `io.*` states, messagebox and log channels.
    States,
    /// `cfg.o.*` objects and their index sets.
    Objects,
}

impl DbKind {
    /// The name used in logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            DbKind::States => "states",
            DbKind::Objects => "objects",
        }
    }
}

/// A read: commands sent as one pipeline, and where their replies go.
struct ReadReq {
    frames: Vec<Frame>,
    reply: oneshot::Sender<Result<Vec<Frame>, StoreError>>,
}

/// What the store and the worker of one database share.
pub struct Db {
    kind: DbKind,
    cfg: DbConfig,
    opts: RedisOptions,
    health: Arc<Health>,
    queue: Mutex<WriteQueue>,
    wake: Notify,
    /// Every write with a sequence number up to this one is finished.
    done: watch::Sender<u64>,
    /// Is the connection up?
    up: watch::Sender<bool>,
    reads: mpsc::UnboundedSender<ReadReq>,
    /// `meta.objects.features.useSets` as last read (objects only).
    use_sets: AtomicBool,
}

impl Db {
    /// Connect (failing clearly when the database is unreachable or of another protocol
    /// version), and spawn the worker. Returns the shared handle and the worker's task.
    pub async fn start(
        kind: DbKind,
        cfg: DbConfig,
        opts: RedisOptions,
        health: Arc<Health>,
    ) -> Result<(Arc<Db>, tokio::task::JoinHandle<()>), StoreError> {
        let (reads_tx, reads_rx) = mpsc::unbounded_channel();
        let db = Arc::new(Db {
            kind,
            cfg,
            opts,
            health,
            queue: Mutex::new(WriteQueue::new(QUEUE_CAP)),
            wake: Notify::new(),
            done: watch::Sender::new(0),
            up: watch::Sender::new(false),
            reads: reads_tx,
            use_sets: AtomicBool::new(false),
        });
        let conn = db.open_checked().await.map_err(|e| {
            StoreError::Io(format!(
                "ioBroker {} database at {}: {e}",
                kind.name(),
                db.addr()
            ))
        })?;
        db.up.send_replace(true);
        let task = tokio::spawn(Arc::clone(&db).run(conn, reads_rx));
        Ok((db, task))
    }

    /// Is the connection up?
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Wait until the connection is up (at once when it is).
    pub async fn wait_up(&self) {
        let mut up = self.up.subscribe();
        let _ = up.wait_for(|u| *u).await;
    }

    /// Does the objects database keep type index sets?
    pub fn use_sets(&self) -> bool {
        self.use_sets.load(Ordering::Relaxed)
    }

    /// `host:port` for messages.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.cfg.host, self.cfg.port)
    }

    /// Queue writes. While connected, wait until they are on the server (and report a
    /// refusal); while the database is away, return at once: they are sent after the
    /// reconnect ([`Db::flush`] waits for that).
    pub async fn write(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let (first, last) = self.lock_queue().push(ops);
        self.wake.notify_one();
        let mut done = self.done.subscribe();
        let mut up = self.up.subscribe();
        loop {
            if *done.borrow_and_update() >= last {
                let refused = self.lock_queue().take_failures(first, last);
                return match refused.is_empty() {
                    true => Ok(()),
                    false => Err(StoreError::Io(format!(
                        "the {} database refused {} write(s): {}",
                        self.kind.name(),
                        refused.len(),
                        refused.join("; ")
                    ))),
                };
            }
            if !*up.borrow_and_update() {
                return Ok(());
            }
            tokio::select! {
                r = done.changed() => r.map_err(|_| self.stopped())?,
                r = up.changed() => r.map_err(|_| self.stopped())?,
            }
        }
    }

    /// Wait until everything queued so far is on the server (however long the database is
    /// away: bound it with a timeout where that matters).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let last = self.lock_queue().last_seq();
        let mut done = self.done.subscribe();
        done.wait_for(|d| *d >= last)
            .await
            .map(|_| ())
            .map_err(|_| self.stopped())
    }

    /// Send commands as one pipeline and return their replies (after every queued write).
    pub async fn request(&self, frames: Vec<Frame>) -> Result<Vec<Frame>, StoreError> {
        if !self.is_up() {
            return Err(self.not_connected());
        }
        let (tx, rx) = oneshot::channel();
        self.reads
            .send(ReadReq { frames, reply: tx })
            .map_err(|_| self.stopped())?;
        self.wake.notify_one();
        rx.await.map_err(|_| self.not_connected())?
    }

    fn not_connected(&self) -> StoreError {
        StoreError::Io(format!(
            "the ioBroker {} database at {} is not connected",
            self.kind.name(),
            self.addr()
        ))
    }

    fn stopped(&self) -> StoreError {
        StoreError::Io(format!("the {} database client stopped", self.kind.name()))
    }

    fn lock_queue(&self) -> MutexGuard<'_, WriteQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connect and check that this is an ioBroker database of protocol version 4; for the
    /// objects database also read whether it keeps type index sets.
    async fn open_checked(&self) -> Result<Connection, String> {
        let mut conn = Connection::open(&self.cfg)
            .await
            .map_err(|e| e.to_string())?;
        let version_key = format!("meta.{}.protocolVersion", self.kind.name());
        let mut frames = vec![cmd("get", [version_key.clone()])];
        if self.kind == DbKind::Objects {
            frames.push(cmd("get", ["meta.objects.features.useSets".to_string()]));
        }
        let replies = conn.pipeline(frames).await.map_err(|e| e.to_string())?;
        match replies.first() {
            Some(r) if text(r).as_deref() == Some(PROTOCOL_VERSION) => {}
            Some(Frame::Null) => {
                return Err(format!(
                    "no {version_key}: not an ioBroker database, or js-controller has not \
                     set it up yet"
                ))
            }
            Some(r) => {
                let got = text(r).unwrap_or_else(|| describe(r));
                return Err(format!(
                    "it speaks ioBroker protocol version {got} ({version_key}), this \
                     adapter needs version {PROTOCOL_VERSION}: use a js-controller that \
                     matches"
                ));
            }
            None => return Err("no answer".into()),
        }
        if let Some(r) = replies.get(1) {
            let on = text(r).is_some_and(|v| v == "1" || v == "true");
            self.use_sets.store(on, Ordering::Relaxed);
        }
        Ok(conn)
    }

    async fn run(self: Arc<Self>, conn: Connection, mut reads: mpsc::UnboundedReceiver<ReadReq>) {
        let name = self.kind.name();
        let mut conn = Some(conn);
        let mut backoff = Backoff::new(self.opts.reconnect_min, self.opts.reconnect_max);
        loop {
            let mut c = match conn.take() {
                Some(c) => c,
                None => match self.open_checked().await {
                    Ok(c) => c,
                    Err(e) => {
                        self.health.down(name, &self.addr(), &e);
                        self.backoff(backoff.next_wait(), &mut reads).await;
                        continue;
                    }
                },
            };
            backoff.reset();
            self.up.send_replace(true);
            self.health.up(name);
            let why = self.serve(&mut c, &mut reads).await;
            self.up.send_replace(false);
            self.health.down(name, &self.addr(), &why);
        }
    }

    /// Wait before the next connection attempt, refusing reads meanwhile.
    async fn backoff(&self, delay: Duration, reads: &mut mpsc::UnboundedReceiver<ReadReq>) {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                Some(r) = reads.recv() => { let _ = r.reply.send(Err(self.not_connected())); }
            }
        }
    }

    /// Work on a live connection until it fails; returns why.
    async fn serve(
        &self,
        conn: &mut Connection,
        reads: &mut mpsc::UnboundedReceiver<ReadReq>,
    ) -> String {
        loop {
            let batch = self.lock_queue().take(MAX_BATCH);
            if let Some(&(last, _)) = batch.last() {
                match self.write_batch(conn, &batch).await {
                    Ok(refused) => {
                        let mut q = self.lock_queue();
                        for (i, msg) in refused {
                            let (seq, op) = &batch[i];
                            tracing::warn!(
                                "the {} database refused writing {}: {msg}",
                                self.kind.name(),
                                op.label()
                            );
                            q.record_failure(*seq, format!("{}: {msg}", op.label()));
                        }
                        drop(q);
                        self.done.send_replace(last);
                    }
                    Err(e) => {
                        self.lock_queue().requeue_front(batch);
                        return e.to_string();
                    }
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                Some(first) = reads.recv() => {
                    let mut reqs = vec![first];
                    while reqs.len() < MAX_READS {
                        match reads.try_recv() {
                            Ok(r) => reqs.push(r),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = self.answer(conn, reqs).await {
                        return e.to_string();
                    }
                }
                frame = conn.next_frame() => match frame {
                    Err(e) => return e.to_string(),
                    Ok(f) => tracing::debug!("{} database sent an unexpected {}", self.kind.name(), describe(&f)),
                },
            }
        }
    }

    /// Answer reads with one pipeline.
    async fn answer(&self, conn: &mut Connection, reqs: Vec<ReadReq>) -> Result<(), ConnError> {
        let counts: Vec<usize> = reqs.iter().map(|r| r.frames.len()).collect();
        let frames: Vec<Frame> = reqs.iter().flat_map(|r| r.frames.iter().cloned()).collect();
        match conn.pipeline(frames).await {
            Ok(mut replies) => {
                for (req, n) in reqs.into_iter().zip(counts) {
                    let rest = replies.split_off(n);
                    let _ = req.reply.send(Ok(std::mem::replace(&mut replies, rest)));
                }
                Ok(())
            }
            Err(e) => {
                for req in reqs {
                    let _ = req.reply.send(Err(self.not_connected()));
                }
                Err(e)
            }
        }
    }

    /// Write one batch as one transaction; returns the writes the server refused.
    async fn write_batch(
        &self,
        conn: &mut Connection,
        batch: &[(u64, Op)],
    ) -> Result<Vec<(usize, String)>, ConnError> {
        let mut current = match self.stored_objects(conn, batch).await? {
            Ok(current) => current,
            // Without the stored objects a write could wipe what others put on them.
            Err(e) => {
                return Ok(batch
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, op))| matches!(op, Op::SetObject(_) | Op::DelObject { .. }))
                    .map(|(i, _)| (i, format!("reading the stored object failed: {e}")))
                    .collect())
            }
        };
        let ctx = BatchContext {
            defaults: ObjectDefaults {
                from: &self.opts.from,
                now: now_ms(),
            },
            use_sets: self.use_sets(),
        };
        let pipeline = commands::build(batch, &mut current, &ctx);
        if pipeline.is_empty() {
            return Ok(Vec::new());
        }
        let replies = conn.pipeline(pipeline.frames.clone()).await?;
        Ok(commands::refusals(&pipeline, replies))
    }

    /// The stored objects of the batch's object writes, read in one round trip (the outer
    /// error: the connection broke; the inner one: the server refused the read).
    async fn stored_objects(
        &self,
        conn: &mut Connection,
        batch: &[(u64, Op)],
    ) -> Result<Result<HashMap<String, Option<IobObject>>, String>, ConnError> {
        let mut seen = HashSet::new();
        let ids: Vec<String> = batch
            .iter()
            .filter(|(_, op)| matches!(op, Op::SetObject(_) | Op::DelObject { .. }))
            .map(|(_, op)| op.label().to_string())
            .filter(|id| seen.insert(id.clone()))
            .collect();
        if ids.is_empty() {
            return Ok(Ok(HashMap::new()));
        }
        let keys: Vec<String> = ids.iter().map(|id| object_key(id)).collect();
        let replies = conn.pipeline(commands::mget(&keys)).await?;
        let values = match commands::mget_values(replies) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(ids
            .into_iter()
            .zip(keys)
            .zip(values.into_iter().chain(std::iter::repeat(None)))
            .map(|((id, key), v)| {
                let obj = v.and_then(|json| commands::parse::<IobObject>(&key, &json));
                (id, obj)
            })
            .collect()))
    }
}
