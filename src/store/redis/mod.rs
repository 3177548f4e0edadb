//! The ioBroker databases over RESP2: js-controller's own "jsonl" databases (served through
//! its Redis-protocol simulator) or a real Redis, as a [`Store`].
//!
//! Shaped like mini-redis, from the wire up:
//! - `frame`: commands (lowercase names) and replies, on `redis-protocol`'s RESP2 codec;
//! - `connection`: one socket, pipelined; `multi … exec` goes out as one pipeline because
//!   the simulator answers `multi` only at `exec`;
//! - `keys`: key layout, glob escaping, and the object fields js-controller keeps;
//! - `queue` and `commands`: writes as a queue of operations, sent as one transaction per
//!   batch;
//! - `worker`: one task per database that owns its connection, writes, reads, reconnects;
//! - `pubsub`: a dedicated connection for state changes and raw messages, and the
//!   replay of unacknowledged states whenever a subscription is (re)established;
//! - `health`: one log line when the databases go away, one when they are back.
//!
//! Why a queue rather than a call per write: performance (thousands of states in one
//! round trip) and outages. When js-controller or Redis restarts, writes keep being
//! accepted, are queued (bounded; the newest value per id wins when it must be compacted)
//! and reach the server after the reconnect, together with renewed subscriptions; nothing
//! is lost and the adapter does not have to care. [`Store::flush`] waits until they are on
//! the server.
//!
//! The password is sent with `auth` and never logged or put in an error.

pub mod codec;
mod commands;
mod connection;
mod frame;
mod health;
mod keys;
mod pubsub;
mod queue;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use self::commands::{mget, mget_values, parse, MGET_CHUNK};
use self::frame::{array, cmd, error_text, text, Frame};
use self::health::Health;
use self::keys::{object_key, redis_glob, state_key, OBJECT_PREFIX, STATE_PREFIX};
use self::pubsub::PubSub;
use self::queue::Op;
use self::worker::{Db, DbKind};
use super::{object_digest, StateChange, Store, StoreError, Subscription};
use crate::iobroker::{pattern_matches, IobObject, IobState};

pub use self::worker::PROTOCOL_VERSION;

/// Where one database is (from `iobroker.json`'s `states` / `objects`).
#[derive(Clone)]
pub struct DbConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port (9000 states, 9001 objects by default; 6379 for Redis).
    pub port: u16,
    /// `options.auth_pass`: sent with `auth`, never logged.
    pub password: Option<String>,
    /// `options.db`: the Redis database number (`select`), when not 0.
    pub db: Option<u32>,
}

impl std::fmt::Debug for DbConfig {
    // By hand so that the password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

/// How the store behaves.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `from` of objects written without one, e.g. `system.adapter.hmip.0`.
    pub from: String,
    /// First wait before reconnecting; doubled after each failed attempt.
    pub reconnect_min: Duration,
    /// Longest wait between reconnection attempts.
    pub reconnect_max: Duration,
}

/// The ioBroker states and objects databases over RESP2. Cheap to clone; the connections
/// close when the last clone is dropped (call [`Store::flush`] first).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    states: Arc<Db>,
    objects: Arc<Db>,
    pubsub: Arc<PubSub>,
    health: Arc<Health>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Aborts the tasks started so far when `connect` fails half-way.
struct TaskGuard(Vec<tokio::task::AbortHandle>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

impl RedisStore {
    /// Connect both databases, check `meta.states.protocolVersion` and
    /// `meta.objects.protocolVersion` (must be [`PROTOCOL_VERSION`]; an error says which
    /// database has which version otherwise), read `meta.objects.features.useSets`, and
    /// open the pub/sub connection. Needs a tokio runtime.
    pub async fn connect(
        states: DbConfig,
        objects: DbConfig,
        opts: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let health = Arc::new(Health::default());
        let mut guard = TaskGuard(Vec::new());
        let (states_db, t) = Db::start(
            DbKind::States,
            states.clone(),
            opts.clone(),
            Arc::clone(&health),
        )
        .await?;
        guard.0.push(t.abort_handle());
        let (objects_db, t) =
            Db::start(DbKind::Objects, objects, opts.clone(), Arc::clone(&health)).await?;
        guard.0.push(t.abort_handle());
        let (pubsub, t) = PubSub::start(states, Arc::clone(&states_db), opts, Arc::clone(&health))
            .await
            .map_err(StoreError::Io)?;
        guard.0.push(t.abort_handle());
        tracing::info!(
            states = %states_db.addr(),
            objects = %objects_db.addr(),
            use_sets = objects_db.use_sets(),
            "connected to the ioBroker databases"
        );
        Ok(RedisStore {
            inner: Arc::new(Inner {
                states: states_db,
                objects: objects_db,
                pubsub,
                health,
                tasks: std::mem::take(&mut guard.0),
            }),
        })
    }

    /// Write a state that expires after `ttl_secs` (`setex` + publish), as `alive` and
    /// `connected` are. Queued like every write while the database is away.
    pub async fn set_state_expiring(
        &self,
        id: &str,
        state: IobState,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let op = Op::SetState {
            id: id.to_string(),
            json: to_json(&state)?,
            ttl: Some(ttl_secs.max(1)),
        };
        self.inner.states.write(vec![op]).await
    }

    /// Publish a raw message on the states database (messagebox replies on
    /// `messagebox.<id>`, log lines on `log.<id>`). The simulator parses it: send JSON.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError> {
        let op = Op::Publish {
            channel: channel.to_string(),
            message: message.to_string(),
        };
        self.inner.states.write(vec![op]).await
    }

    /// Raw `psubscribe` on the states database: (channel without any `io.` prefix,
    /// message) pairs, e.g. for `messagebox.system.adapter.hmip.0`. Renewed after a
    /// reconnect.
    pub fn subscribe_raw(&self, pattern: &str) -> mpsc::UnboundedReceiver<(String, String)> {
        self.inner.pubsub.subscribe_raw(pattern)
    }

    /// Wait until the server has confirmed every subscription made so far (messages
    /// published before that may not arrive). Waits through an outage.
    pub async fn wait_subscribed(&self) {
        self.inner.pubsub.wait_subscribed().await
    }

    /// Are the connections to both databases up now?
    pub fn is_connected(&self) -> bool {
        self.inner.health.all_up()
    }

    /// Keys matching a glob, then their values, in two round trips.
    async fn values(
        db: &Db,
        prefix: &str,
        pattern: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        Self::values_paged(db, prefix, pattern, |k, v| out.push((k.to_owned(), v))).await?;
        Ok(out)
    }

    /// Keys matching a glob, then their values a page ([`MGET_CHUNK`] keys) at a time,
    /// each handed to `each` before the next page is asked for: a caller that keeps less
    /// than the values (a digest, a compact form) never holds a whole database's replies.
    async fn values_paged(
        db: &Db,
        prefix: &str,
        pattern: &str,
        mut each: impl FnMut(&str, String) + Send,
    ) -> Result<(), StoreError> {
        let keys_reply = db
            .request(vec![cmd(
                "keys",
                [format!("{prefix}{}", redis_glob(pattern))],
            )])
            .await?;
        let keys: Vec<String> = one(keys_reply)
            .and_then(|r| array(r).ok_or_else(|| "keys did not answer a list".to_string()))
            .map_err(StoreError::Io)?
            .iter()
            .filter_map(text)
            .filter(|k| {
                k.strip_prefix(prefix)
                    .is_some_and(|id| pattern_matches(pattern, id))
            })
            .collect();
        for page in keys.chunks(MGET_CHUNK) {
            let values = mget_values(db.request(mget(page)).await?).map_err(StoreError::Io)?;
            for (k, v) in page.iter().zip(values) {
                if let Some(v) = v {
                    each(k, v);
                }
            }
        }
        Ok(())
    }

    async fn get_one(db: &Db, key: String) -> Result<Option<String>, StoreError> {
        let reply = one(db.request(vec![cmd("get", [key])]).await?).map_err(StoreError::Io)?;
        Ok(text(&reply))
    }
}

/// The only reply of a one-command request, or the server's error.
fn one(replies: Vec<Frame>) -> Result<Frame, String> {
    let reply = replies.into_iter().next().ok_or("no reply")?;
    match error_text(&reply) {
        Some(e) => Err(format!("the database refused: {e}")),
        None => Ok(reply),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Store for RedisStore {
    async fn get_object(&self, id: &str) -> Result<Option<IobObject>, StoreError> {
        let key = object_key(id);
        let json = Self::get_one(&self.inner.objects, key.clone()).await?;
        Ok(json.and_then(|j| parse(&key, &j)))
    }

    async fn set_objects(&self, objects: Vec<IobObject>) -> Result<(), StoreError> {
        let ops = objects
            .into_iter()
            .map(|o| Op::SetObject(Box::new(o)))
            .collect();
        self.inner.objects.write(ops).await
    }

    async fn del_objects(&self, ids: &[String]) -> Result<(), StoreError> {
        let ops = ids
            .iter()
            .map(|id| Op::DelObject { id: id.clone() })
            .collect();
        self.inner.objects.write(ops).await
    }

    async fn for_each_object_digest(
        &self,
        pattern: &str,
        each: &mut (dyn FnMut(String, u64) + Send),
    ) -> Result<(), StoreError> {
        // Page by page, each object parsed, digested and dropped: a warm start compares
        // the tree with the database without holding the database's objects (that took
        // more memory than the cold start's whole tree).
        Self::values_paged(&self.inner.objects, OBJECT_PREFIX, pattern, |k, v| {
            if let Some(o) = parse::<IobObject>(k, &v) {
                each(k[OBJECT_PREFIX.len()..].to_string(), object_digest(&o));
            }
        })
        .await
    }

    async fn for_each_state(
        &self,
        pattern: &str,
        each: &mut (dyn FnMut(String, IobState) + Send),
    ) -> Result<(), StoreError> {
        Self::values_paged(&self.inner.states, STATE_PREFIX, pattern, |k, v| {
            if let Some(s) = parse::<IobState>(k, &v) {
                each(k[STATE_PREFIX.len()..].to_string(), s);
            }
        })
        .await
    }

    async fn objects(&self, pattern: &str) -> Result<BTreeMap<String, IobObject>, StoreError> {
        let values = Self::values(&self.inner.objects, OBJECT_PREFIX, pattern).await?;
        Ok(values
            .into_iter()
            .filter_map(|(k, v)| {
                let o: IobObject = parse(&k, &v)?;
                Some((k[OBJECT_PREFIX.len()..].to_string(), o))
            })
            .collect())
    }

    async fn get_state(&self, id: &str) -> Result<Option<IobState>, StoreError> {
        let key = state_key(id);
        let json = Self::get_one(&self.inner.states, key.clone()).await?;
        Ok(json.and_then(|j| parse(&key, &j)))
    }

    async fn set_states(&self, states: Vec<(String, IobState)>) -> Result<(), StoreError> {
        let ops = states
            .into_iter()
            .map(|(id, s)| {
                Ok(Op::SetState {
                    json: to_json(&s)?,
                    id,
                    ttl: None,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.inner.states.write(ops).await
    }

    async fn del_states(&self, ids: &[String]) -> Result<(), StoreError> {
        let ops = ids
            .iter()
            .map(|id| Op::DelState { id: id.clone() })
            .collect();
        self.inner.states.write(ops).await
    }

    async fn states(&self, pattern: &str) -> Result<BTreeMap<String, IobState>, StoreError> {
        let values = Self::values(&self.inner.states, STATE_PREFIX, pattern).await?;
        Ok(values
            .into_iter()
            .filter_map(|(k, v)| {
                let s: IobState = parse(&k, &v)?;
                Some((k[STATE_PREFIX.len()..].to_string(), s))
            })
            .collect())
    }

    fn subscribe(&self, sub: Subscription) -> mpsc::UnboundedReceiver<StateChange> {
        self.inner.pubsub.subscribe(sub)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.states.flush().await?;
        self.inner.objects.flush().await
    }
}

/// The instance lifecycle's view of js-controller's databases.
#[async_trait::async_trait]
impl crate::store::InstanceBus for RedisStore {
    async fn set_state_expiring(
        &self,
        id: &str,
        state: IobState,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        RedisStore::set_state_expiring(self, id, state, ttl_secs).await
    }

    async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError> {
        RedisStore::publish(self, channel, message).await
    }

    fn subscribe_raw(
        &self,
        pattern: &str,
    ) -> tokio::sync::mpsc::UnboundedReceiver<(String, String)> {
        RedisStore::subscribe_raw(self, pattern)
    }

    fn into_store(self: Arc<Self>) -> Arc<dyn Store> {
        self
    }
}
