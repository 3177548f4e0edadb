//! `store::redis` against an in-process fake of js-controller's Redis-protocol simulator
//! (and, ignored by default, against a real Redis: see `real_redis` at the end, run by
//! tests/e2e/redis.test.js).
//!
//! The fake behaves as docs/iobroker-integration.md §1 describes the simulator: lowercase
//! command names only (`-GET NOT SUPPORTED`), only the commands of each port, `multi`
//! answered only at `exec`, only the first pattern of a `psubscribe`, one message per
//! connection for the first matching pattern, state channels without `io.` (messagebox
//! ones with it), writes published by `set`/`del` themselves (an explicit `publish io.…`
//! is ignored), an expired state published as `null`, `del` of one key only.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use iobroker_hmip::iobroker::{pattern_matches, IobObject, IobState};
use iobroker_hmip::store::redis::{DbConfig, RedisOptions, RedisStore};
use iobroker_hmip::store::{StateChange, Store, Subscription};
use redis_protocol::codec::Resp2;
use redis_protocol::resp2::types::BytesFrame as Frame;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::codec::Framed;

// ---------------------------------------------------------------------------------------
// The fake simulator
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Port {
    States,
    Objects,
}

const STATES_COMMANDS: &[&str] = &[
    "info",
    "quit",
    "publish",
    "mget",
    "get",
    "set",
    "setex",
    "del",
    "keys",
    "psubscribe",
    "punsubscribe",
    "subscribe",
    "config",
    "client",
    "multi",
    "exec",
];
const OBJECTS_EXTRA: &[&str] = &[
    "script", "evalsha", "rename", "exists", "scan", "sadd", "srem", "eval", "sscan",
];

struct Subscriber {
    tx: mpsc::UnboundedSender<Frame>,
    /// (type, pattern without namespace for states / with it for messagebox and log)
    patterns: Vec<(&'static str, String)>,
}

#[derive(Default)]
struct Data {
    kv: HashMap<String, (String, Option<Instant>)>,
    sets: HashMap<String, BTreeSet<String>>,
    /// Every command received, as text.
    log: Vec<Vec<String>>,
    /// The commands of each `multi … exec`.
    transactions: Vec<Vec<Vec<String>>>,
    subscribers: Vec<Subscriber>,
    /// Refuse every `set` (a database that fails writes), and count the refusals.
    refuse_sets: bool,
    refused: Vec<String>,
}

struct Fake {
    port: Port,
    addr: SocketAddr,
    data: Arc<Mutex<Data>>,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

fn bulk(s: impl Into<String>) -> Frame {
    Frame::BulkString(Bytes::from(s.into()))
}

fn simple(s: &str) -> Frame {
    Frame::SimpleString(Bytes::copy_from_slice(s.as_bytes()))
}

fn err(s: impl Into<String>) -> Frame {
    Frame::Error(s.into().into())
}

fn unescape(glob: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in glob.chars() {
        if c == '\\' && !esc {
            esc = true;
            continue;
        }
        esc = false;
        out.push(c);
    }
    out
}

impl Fake {
    async fn start(port: Port) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut data = Data::default();
        data.kv
            .insert("meta.states.protocolVersion".into(), ("4".into(), None));
        data.kv
            .insert("meta.objects.protocolVersion".into(), ("4".into(), None));
        data.kv
            .insert("meta.objects.features.useSets".into(), ("1".into(), None));
        let fake = Fake {
            port,
            addr,
            data: Arc::new(Mutex::new(data)),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        fake.serve(listener);
        // Expiry runs whether clients are connected or not, as in js-controller.
        let data = Arc::clone(&fake.data);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut d = lock(&data);
                let now = Instant::now();
                let gone: Vec<String> =
                    d.kv.iter()
                        .filter(|(_, (_, exp))| exp.is_some_and(|e| e <= now))
                        .map(|(k, _)| k.clone())
                        .collect();
                for k in gone {
                    d.kv.remove(&k);
                    if let Some(id) = k.strip_prefix("io.") {
                        notify(&mut d, "state", id, "null");
                    }
                }
            }
        });
        fake
    }

    fn serve(&self, listener: TcpListener) {
        let (data, tasks, port) = (Arc::clone(&self.data), Arc::clone(&self.tasks), self.port);
        let task_list = Arc::clone(&tasks);
        let t = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let t = tokio::spawn(connection(sock, port, Arc::clone(&data)));
                lock(&task_list).push(t.abort_handle());
            }
        });
        lock(&tasks).push(t.abort_handle());
    }

    /// js-controller goes away: listener and every connection closed.
    fn kill(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        lock(&self.data).subscribers.clear();
    }

    /// …and comes back on the same port, with its data.
    async fn restart(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn config(&self) -> DbConfig {
        DbConfig {
            host: "127.0.0.1".into(),
            port: self.addr.port(),
            password: None,
            db: None,
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.data)
    }

    fn get(&self, key: &str) -> Option<Value> {
        self.data()
            .kv
            .get(key)
            .map(|(v, _)| serde_json::from_str(v).unwrap())
    }

    fn set(&self, key: &str, v: &Value) {
        self.data().kv.insert(key.into(), (v.to_string(), None));
    }

    fn transactions(&self) -> usize {
        self.data().transactions.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Send a pmessage to each subscriber whose first matching pattern of `kind` matches, as
/// the simulator does.
fn notify(d: &mut Data, kind: &str, id: &str, payload: &str) {
    for s in &d.subscribers {
        let Some((_, pattern)) = s
            .patterns
            .iter()
            .find(|(k, p)| *k == kind && pattern_matches(&unescape(p), id))
        else {
            continue;
        };
        let (p, c) = if kind == "state" {
            (pattern.clone(), id.to_string())
        } else {
            (format!("io.{pattern}"), format!("io.{id}"))
        };
        let _ = s.tx.send(Frame::Array(vec![
            bulk("pmessage"),
            bulk(p),
            bulk(c),
            bulk(payload),
        ]));
    }
}

async fn connection(sock: TcpStream, port: Port, data: Arc<Mutex<Data>>) {
    let (mut sink, mut stream) = Framed::new(sock, Resp2::default()).split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let writer = tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            if sink.send(f).await.is_err() {
                return;
            }
        }
    });
    // Dropping the writer with this task closes the socket.
    struct AbortOnDrop(tokio::task::JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _writer = AbortOnDrop(writer);
    let sub_index = {
        let mut d = lock(&data);
        d.subscribers.push(Subscriber {
            tx: tx.clone(),
            patterns: Vec::new(),
        });
        d.subscribers.len() - 1
    };
    let mut multi: Option<Vec<Vec<String>>> = None;
    while let Some(Ok(frame)) = stream.next().await {
        let Frame::Array(parts) = frame else { continue };
        let args: Vec<String> = parts
            .iter()
            .map(|p| match p {
                Frame::BulkString(b) | Frame::SimpleString(b) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                _ => String::new(),
            })
            .collect();
        let mut d = lock(&data);
        d.log.push(args.clone());
        let name = args[0].as_str();
        let allowed = STATES_COMMANDS.contains(&name)
            || (port == Port::Objects && OBJECTS_EXTRA.contains(&name));
        if name == "multi" && allowed {
            multi = Some(Vec::new());
            continue;
        }
        if name == "exec" {
            let cmds = multi.take().unwrap_or_default();
            let _ = tx.send(simple("OK"));
            let results: Vec<Frame> = cmds
                .iter()
                .map(|c| {
                    let _ = tx.send(simple("QUEUED"));
                    run(&mut d, port, sub_index, c)
                })
                .collect();
            d.transactions.push(cmds);
            let _ = tx.send(Frame::Array(results));
            continue;
        }
        if let Some(m) = multi.as_mut() {
            m.push(args);
            continue;
        }
        let reply = run(&mut d, port, sub_index, &args);
        let _ = tx.send(reply);
    }
}

fn run(d: &mut Data, port: Port, me: usize, args: &[String]) -> Frame {
    let name = args[0].as_str();
    let allowed =
        STATES_COMMANDS.contains(&name) || (port == Port::Objects && OBJECTS_EXTRA.contains(&name));
    if !allowed {
        return err(format!("{name} NOT SUPPORTED"));
    }
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let ns = if port == Port::States {
        "io."
    } else {
        "cfg.o."
    };
    match name {
        "info" => bulk("# Server\r\nredis_version:3.0.0-iobroker\r\n"),
        "get" => match d.kv.get(&arg(1)) {
            Some((v, _)) => bulk(v.clone()),
            None => Frame::Null,
        },
        "mget" => Frame::Array(
            args[1..]
                .iter()
                .map(|k| match d.kv.get(k) {
                    Some((v, _)) => bulk(v.clone()),
                    None => Frame::Null,
                })
                .collect(),
        ),
        "set" | "setex" if d.refuse_sets => {
            d.refused.push(arg(1));
            err("ERR the test refuses writes")
        }
        "set" | "setex" => {
            let (key, value, ttl) = if name == "set" {
                (arg(1), arg(2), None)
            } else {
                let secs: u64 = arg(2).parse().unwrap();
                (arg(1), arg(3), Some(Duration::from_secs(secs)))
            };
            if serde_json::from_str::<Value>(&value).is_err() {
                return err(format!("ERROR setState id={key}: not JSON"));
            }
            d.kv.insert(
                key.clone(),
                (value.clone(), ttl.map(|t| Instant::now() + t)),
            );
            if let Some(id) = key.strip_prefix("io.") {
                notify(d, "state", id, &value);
            }
            simple("OK")
        }
        "del" => {
            let key = arg(1);
            let existed = d.kv.remove(&key).is_some();
            if port == Port::Objects && !existed {
                return err(format!("ERROR delObject: {key} does not exist"));
            }
            if let Some(id) = key.strip_prefix("io.") {
                notify(d, "state", id, "null");
            }
            Frame::Integer(1)
        }
        "keys" | "scan" => {
            let pattern = if name == "keys" { arg(1) } else { arg(3) };
            let Some(glob) = pattern.strip_prefix(ns) else {
                return err(format!("KEYS-UNSUPPORTED for {pattern}"));
            };
            let glob = unescape(glob);
            let mut keys: Vec<Frame> =
                d.kv.keys()
                    .filter(|k| {
                        k.strip_prefix(ns)
                            .is_some_and(|id| pattern_matches(&glob, id))
                    })
                    .map(|k| bulk(k.clone()))
                    .collect();
            keys.sort_by_key(|k| format!("{k:?}"));
            if name == "scan" {
                Frame::Array(vec![bulk("0"), Frame::Array(keys)])
            } else {
                Frame::Array(keys)
            }
        }
        "publish" => {
            let channel = arg(1);
            if channel.starts_with("io.") || channel.starts_with("cfg.") {
                return Frame::Integer(0); // the `set` publishes
            }
            if serde_json::from_str::<Value>(&arg(2)).is_err() {
                return err("publish: message is not JSON");
            }
            let kind = if channel.starts_with("messagebox.") {
                "messagebox"
            } else {
                "log"
            };
            notify(d, kind, &channel, &arg(2));
            Frame::Integer(1)
        }
        "psubscribe" => {
            // Only the first pattern counts.
            let p = arg(1);
            let entry = if let Some(rest) = p.strip_prefix("io.") {
                ("state", rest.to_string())
            } else if p.starts_with("messagebox.") {
                ("messagebox", p.clone())
            } else if p.starts_with("log.") {
                ("log", p.clone())
            } else {
                return err(format!("PSUBSCRIBE-UNSUPPORTED for {p}"));
            };
            if let Some(s) = d.subscribers.get_mut(me) {
                s.patterns.push(entry);
            }
            Frame::Array(vec![bulk("psubscribe"), bulk(p), Frame::Integer(1)])
        }
        "subscribe" if arg(1).starts_with("__keyevent@") => {
            Frame::Array(vec![bulk("subscribe"), bulk(arg(1)), Frame::Integer(1)])
        }
        "sadd" => {
            let set = d.sets.entry(arg(1)).or_default();
            Frame::Integer(set.insert(arg(2)) as i64)
        }
        "srem" => {
            let set = d.sets.entry(arg(1)).or_default();
            Frame::Integer(set.remove(&arg(2)) as i64)
        }
        other => err(format!("{other} not implemented by the fake")),
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const FROM: &str = "system.adapter.hmip.0";

fn options() -> RedisOptions {
    RedisOptions {
        from: FROM.into(),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(400),
    }
}

async fn fakes() -> (Fake, Fake, RedisStore) {
    let states = Fake::start(Port::States).await;
    let objects = Fake::start(Port::Objects).await;
    let store = RedisStore::connect(states.config(), objects.config(), options())
        .await
        .expect("connect");
    (states, objects, store)
}

fn state(val: Value, ack: bool, ts: i64) -> IobState {
    IobState {
        val,
        ack,
        ts,
        lc: ts,
        from: FROM.into(),
        q: 0,
        user: Some("system.user.admin".into()),
        c: None,
    }
}

fn object(id: &str, obj_type: &str, name: &str) -> IobObject {
    serde_json::from_value(json!({
        "_id": id, "type": obj_type,
        "common": {"name": name, "type": "number", "role": "value", "read": true, "write": false},
        "native": {}
    }))
    .unwrap()
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("nothing arrived within 5 s")
        .expect("channel closed")
}

/// Nothing more arrives at these subscribers: a marker state, written and then deleted
/// after everything the test expects, is the next change each of them gets (their
/// changes come in order from one pub/sub connection; a fixed wait could show nothing).
/// The marker matches every pattern the tests use and, `ack: false`, `only_unacked` too.
async fn nothing_more(store: &RedisStore, rxs: &mut [&mut mpsc::UnboundedReceiver<StateChange>]) {
    const MARKER: &str = "hmip.0.info.test-marker";
    let st = state(json!("marker"), false, 900);
    store
        .set_states(vec![(MARKER.into(), st.clone())])
        .await
        .unwrap();
    for rx in rxs.iter_mut() {
        let c = recv(rx).await;
        assert_eq!(
            (c.id.as_str(), c.state.as_ref()),
            (MARKER, Some(&st)),
            "{c:?} came before the marker"
        );
    }
    store.del_states(&[MARKER.into()]).await.unwrap();
    for rx in rxs.iter_mut() {
        let c = recv(rx).await;
        assert_eq!((c.id.as_str(), c.state), (MARKER, None));
    }
}

async fn until(what: &str, cond: impl FnMut() -> bool) {
    until_within(Duration::from_secs(10), what, cond).await
}

async fn until_within(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Tests against the fake simulator
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_of_states_is_one_transaction_of_state_json() {
    let (states, _objects, store) = fakes().await;
    let before = states.transactions();
    let batch: Vec<(String, IobState)> = (0..50)
        .map(|i| (format!("hmip.0.s{i}"), state(json!(i), true, 1000 + i)))
        .collect();
    store.set_states(batch).await.unwrap();
    assert_eq!(states.transactions(), before + 1, "one multi/exec");
    let tx = states.data().transactions.last().unwrap().clone();
    assert_eq!(tx.len(), 100);
    assert_eq!(tx[0][0], "set");
    assert_eq!(tx[0][1], "io.hmip.0.s0");
    assert_eq!(tx[1][..2], ["publish", "io.hmip.0.s0"]);
    assert_eq!(
        states.get("io.hmip.0.s7").unwrap(),
        json!({"val": 7, "ack": true, "ts": 1007, "lc": 1007, "from": FROM, "q": 0,
               "user": "system.user.admin"})
    );
    // Every command the client sent was lowercase (the fake refuses others).
    assert!(states
        .data()
        .log
        .iter()
        .all(|c| c[0] == c[0].to_lowercase()));

    assert_eq!(
        store.get_state("hmip.0.s3").await.unwrap(),
        Some(state(json!(3), true, 1003))
    );
    assert_eq!(store.get_state("hmip.0.nope").await.unwrap(), None);
    let all = store.states("hmip.0.*").await.unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all["hmip.0.s49"].val, json!(49));
    assert!(store.states("hmip.1.*").await.unwrap().is_empty());

    store.del_states(&["hmip.0.s1".into()]).await.unwrap();
    assert_eq!(states.get("io.hmip.0.s1"), None);
    let tx = states.data().transactions.last().unwrap().clone();
    assert_eq!(
        tx,
        [
            vec!["del", "io.hmip.0.s1"],
            vec!["publish", "io.hmip.0.s1", "null"]
        ]
    );
    assert!(store.is_connected());
}

#[tokio::test]
async fn objects_carry_js_controller_fields_and_the_type_index() {
    let (_states, objects, store) = fakes().await;
    let before = objects.transactions();
    store
        .set_objects(vec![
            object("hmip.0.a", "state", "A"),
            object("hmip.0.b", "channel", "B"),
        ])
        .await
        .unwrap();
    assert_eq!(objects.transactions(), before + 1, "one multi/exec");
    let a = objects.get("cfg.o.hmip.0.a").unwrap();
    assert_eq!(a["_id"], "hmip.0.a");
    assert_eq!(a["type"], "state");
    assert_eq!(a["common"]["name"], "A");
    assert_eq!(a["from"], FROM);
    assert_eq!(a["user"], "system.user.admin");
    assert!(a["ts"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        a["acl"],
        json!({"owner": "system.user.admin", "ownerGroup": "system.group.administrator",
               "object": 1636, "state": 1636})
    );
    let tx = objects.data().transactions.last().unwrap().clone();
    assert!(tx.contains(&vec![
        "sadd".to_string(),
        "cfg.s.object.type.state".into(),
        "cfg.o.hmip.0.a".into()
    ]));
    assert!(tx.contains(&vec![
        "sadd".to_string(),
        "cfg.s.object.type.channel".into(),
        "cfg.o.hmip.0.b".into()
    ]));

    let got = store.get_object("hmip.0.a").await.unwrap().unwrap();
    assert_eq!(got.common["name"], "A");
    let all = store.objects("hmip.0.*").await.unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["hmip.0.a", "hmip.0.b"]);

    store
        .del_objects(&["hmip.0.a".into(), "hmip.0.missing".into()])
        .await
        .unwrap();
    assert_eq!(objects.get("cfg.o.hmip.0.a"), None);
    assert!(!objects.data().sets["cfg.s.object.type.state"].contains("cfg.o.hmip.0.a"));
    assert_eq!(store.get_object("hmip.0.a").await.unwrap(), None);
}

#[tokio::test]
async fn replacing_an_object_keeps_what_users_and_other_adapters_put_there() {
    let (_states, objects, store) = fakes().await;
    let custom = json!({"history.0": {"enabled": true, "changesOnly": true}});
    let acl = json!({"owner": "system.user.bob", "ownerGroup": "system.group.user",
                     "object": 1604, "state": 1604});
    objects.set(
        "cfg.o.hmip.0.t",
        &json!({"_id": "hmip.0.t", "type": "state",
                "common": {"name": "old", "custom": custom, "smartName": {"de": "Heizung"}},
                "native": {}, "acl": acl, "from": "system.adapter.admin.0", "ts": 1}),
    );
    store
        .set_objects(vec![object("hmip.0.t", "state", "new")])
        .await
        .unwrap();
    let t = objects.get("cfg.o.hmip.0.t").unwrap();
    assert_eq!(t["common"]["name"], "new");
    assert_eq!(t["common"]["custom"], custom);
    assert_eq!(t["common"]["smartName"], json!({"de": "Heizung"}));
    assert_eq!(t["acl"], acl);
    assert_eq!(t["from"], FROM);
    // The old object was read before the transaction, in the same batch.
    let log = objects.data().log.clone();
    let mget = log
        .iter()
        .rposition(|c| c[0] == "mget" && c.contains(&"cfg.o.hmip.0.t".to_string()))
        .expect("mget of the stored object");
    let multi = log.iter().rposition(|c| c[0] == "multi").unwrap();
    assert!(mget < multi);

    // An unchanged object is not written again.
    let before = objects.transactions();
    store
        .set_objects(vec![object("hmip.0.t", "state", "new")])
        .await
        .unwrap();
    assert_eq!(objects.transactions(), before);
}

#[tokio::test]
async fn subscribers_hear_writes_and_deletes_once_with_plain_ids() {
    let (states, _objects, store) = fakes().await;
    let mut all = store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: false,
    });
    let mut info = store.subscribe(Subscription {
        pattern: "hmip.0.info.*".into(),
        only_unacked: false,
    });
    let mut commands = store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: true,
    });
    store.wait_subscribed().await;
    // One psubscribe per pattern, with the `io.` prefix; the same pattern only once.
    let subs: Vec<Vec<String>> = states
        .data()
        .log
        .iter()
        .filter(|c| c[0] == "psubscribe")
        .cloned()
        .collect();
    assert_eq!(
        subs,
        [
            vec!["psubscribe", "io.hmip.0.*"],
            vec!["psubscribe", "io.hmip.0.info.*"]
        ]
    );

    let s1 = state(json!(21.5), true, 10);
    store
        .set_states(vec![("hmip.0.devices.x.temp".into(), s1.clone())])
        .await
        .unwrap();
    let c = recv(&mut all).await;
    assert_eq!(c.id, "hmip.0.devices.x.temp", "no io. prefix");
    assert_eq!(c.state, Some(s1));

    // A write matching both patterns: the simulator sends it once (for the first
    // pattern); each subscriber still hears it exactly once.
    let s2 = state(json!(true), true, 11);
    store
        .set_states(vec![("hmip.0.info.connection".into(), s2.clone())])
        .await
        .unwrap();
    assert_eq!(recv(&mut all).await.id, "hmip.0.info.connection");
    let c = recv(&mut info).await;
    assert_eq!(
        (c.id.as_str(), c.state),
        ("hmip.0.info.connection", Some(s2))
    );

    // A user command (ack false) reaches the only_unacked subscriber; acks did not.
    let cmd = state(json!(1), false, 12);
    store
        .set_states(vec![("hmip.0.devices.x.level".into(), cmd.clone())])
        .await
        .unwrap();
    let c = recv(&mut commands).await;
    assert_eq!(c.state, Some(cmd));
    assert_eq!(recv(&mut all).await.id, "hmip.0.devices.x.level");

    store
        .del_states(&["hmip.0.devices.x.temp".into()])
        .await
        .unwrap();
    let c = recv(&mut all).await;
    assert_eq!((c.id.as_str(), c.state), ("hmip.0.devices.x.temp", None));
    assert_eq!(recv(&mut commands).await.state, None);
    nothing_more(&store, &mut [&mut all, &mut info, &mut commands]).await;
}

#[tokio::test]
async fn an_expired_state_arrives_as_none() {
    let (states, _objects, store) = fakes().await;
    let mut rx = store.subscribe(Subscription {
        pattern: "system.adapter.hmip.0.*".into(),
        only_unacked: false,
    });
    store.wait_subscribed().await;
    let alive = state(json!(true), true, 1);
    store
        .set_state_expiring("system.adapter.hmip.0.alive", alive.clone(), 1)
        .await
        .unwrap();
    let tx = states.data().transactions.last().unwrap().clone();
    assert_eq!(tx[0][..3], ["setex", "io.system.adapter.hmip.0.alive", "1"]);
    assert_eq!(recv(&mut rx).await.state, Some(alive));
    let c = recv(&mut rx).await;
    assert_eq!(
        (c.id.as_str(), c.state),
        ("system.adapter.hmip.0.alive", None)
    );
    assert_eq!(
        store
            .get_state("system.adapter.hmip.0.alive")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn raw_messages_on_the_messagebox() {
    let (_states, _objects, store) = fakes().await;
    let mut rx = store.subscribe_raw("messagebox.system.adapter.hmip.0");
    let mut states_rx = store.subscribe(Subscription {
        pattern: "*".into(),
        only_unacked: false,
    });
    store.wait_subscribed().await;
    let msg = r#"{"command":"createToken","message":{},"from":"system.adapter.admin.0"}"#;
    store
        .publish("messagebox.system.adapter.hmip.0", msg)
        .await
        .unwrap();
    let (channel, got) = recv(&mut rx).await;
    assert_eq!(channel, "messagebox.system.adapter.hmip.0");
    assert_eq!(got, msg);
    // Not a state change.
    nothing_more(&store, &mut [&mut states_rx]).await;
}

#[tokio::test]
async fn another_protocol_version_is_refused_clearly() {
    let states = Fake::start(Port::States).await;
    let objects = Fake::start(Port::Objects).await;
    objects.set("meta.objects.protocolVersion", &json!(3));
    let e = RedisStore::connect(states.config(), objects.config(), options())
        .await
        .map(|_| ())
        .expect_err("refused");
    let msg = e.to_string();
    assert!(msg.contains("objects database"), "{msg}");
    assert!(msg.contains("protocol version 3"), "{msg}");
    assert!(msg.contains("needs version 4"), "{msg}");

    states.data().kv.remove("meta.states.protocolVersion");
    let e = RedisStore::connect(states.config(), objects.config(), options())
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(
        e.to_string().contains("no meta.states.protocolVersion"),
        "{e}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_an_error() {
    let states = Fake::start(Port::States).await;
    let mut objects_cfg = states.config();
    objects_cfg.port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = RedisStore::connect(states.config(), objects_cfg, options())
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(e.to_string().contains("objects database"), "{e}");
}

/// Log lines written while the returned guard lives (on this thread: the tests run on a
/// current-thread runtime).
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf(Arc::new(Mutex::new(Vec::new())));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (buf.0, tracing::subscriber::set_default(subscriber))
}

fn lines_with(logs: &Mutex<Vec<u8>>, text: &str) -> usize {
    String::from_utf8_lossy(&lock(logs))
        .lines()
        .filter(|l| l.contains(text))
        .count()
}

#[tokio::test]
async fn a_password_never_shows() {
    let (logs, _guard) = capture_logs();
    let states = Fake::start(Port::States).await;
    let mut cfg = states.config();
    cfg.password = Some("s3cret-pw".into());
    assert!(!format!("{cfg:?}").contains("s3cret-pw"));
    // The simulator knows no `auth`: refused, and the error says so without the password.
    let e = RedisStore::connect(cfg.clone(), cfg, options())
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(e.to_string().contains("`auth` was refused"), "{e}");
    assert!(!e.to_string().contains("s3cret-pw"), "{e}");
    assert!(!String::from_utf8_lossy(&lock(&logs)).contains("s3cret-pw"));
}

#[tokio::test]
async fn writes_during_an_outage_arrive_after_the_restart_and_subscriptions_come_back() {
    let (logs, _guard) = capture_logs();
    let (states, objects, store) = fakes().await;
    let mut rx = store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: true,
    });
    let mut raw = store.subscribe_raw("messagebox.system.adapter.hmip.0");
    store.wait_subscribed().await;

    states.kill();
    objects.kill();
    until("the store to notice", || !store.is_connected()).await;

    // Written while down: accepted at once, nothing on the server yet.
    for i in 0..3 {
        store
            .set_states(vec![("hmip.0.x".into(), state(json!(i), true, 100 + i))])
            .await
            .unwrap();
    }
    store
        .set_state_expiring(
            "system.adapter.hmip.0.alive",
            state(json!(true), true, 5),
            60,
        )
        .await
        .unwrap();
    store
        .set_objects(vec![object("hmip.0.x", "state", "X")])
        .await
        .unwrap();
    assert!(
        store.get_state("hmip.0.x").await.is_err(),
        "reads fail while down"
    );
    assert_eq!(states.get("io.hmip.0.x"), None);

    tokio::time::sleep(Duration::from_millis(300)).await; // a few failed reconnects
    states.restart().await;
    objects.restart().await;
    tokio::time::timeout(Duration::from_secs(10), store.flush())
        .await
        .expect("flushed")
        .unwrap();
    assert_eq!(states.get("io.hmip.0.x").unwrap()["val"], 2);
    assert_eq!(
        states.get("io.system.adapter.hmip.0.alive").unwrap()["val"],
        true
    );
    assert_eq!(
        objects.get("cfg.o.hmip.0.x").unwrap()["common"]["name"],
        "X"
    );
    until("reconnected", || store.is_connected()).await;

    // Subscriptions were renewed on the new connection.
    store.wait_subscribed().await;
    let cmd = state(json!(42), false, 200);
    store
        .set_states(vec![("hmip.0.y".into(), cmd.clone())])
        .await
        .unwrap();
    loop {
        let c = recv(&mut rx).await;
        if c.id == "hmip.0.y" {
            assert_eq!(c.state, Some(cmd));
            break;
        }
    }
    store
        .publish("messagebox.system.adapter.hmip.0", "{\"x\":1}")
        .await
        .unwrap();
    assert_eq!(recv(&mut raw).await.1, "{\"x\":1}");
    assert_eq!(store.get_state("hmip.0.y").await.unwrap().unwrap().val, 42);
    // One warning for the outage and one line for the recovery, however many connections
    // and attempts it took.
    assert_eq!(
        lines_with(&logs, "WARN"),
        1,
        "{}",
        String::from_utf8_lossy(&lock(&logs))
    );
    assert_eq!(lines_with(&logs, "unreachable"), 1);
    assert_eq!(lines_with(&logs, "reachable again"), 1);
}

#[tokio::test]
async fn a_command_written_while_the_connection_was_down_is_replayed_after_the_reconnect() {
    let (states, objects, store) = fakes().await;
    let as_json = |s: &IobState| serde_json::to_value(s).unwrap();
    // A command already waiting when the subscription starts.
    let old = state(json!(1), false, 5);
    states.set("io.hmip.0.old", &as_json(&old));
    let mut rx = store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: true,
    });
    store.wait_subscribed().await;
    let c = recv(&mut rx).await;
    assert_eq!((c.id.as_str(), c.replayed), ("hmip.0.old", true));
    assert_eq!(c.state, Some(old.clone()));
    nothing_more(&store, &mut [&mut rx]).await;

    // The connections drop; meanwhile a user's command lands on the database (its
    // announcement reaches no one), and an acknowledged value.
    states.kill();
    objects.kill();
    until("the store to notice", || !store.is_connected()).await;
    let cmd = state(json!(42), false, 300);
    states.set("io.hmip.0.devices.x.level", &as_json(&cmd));
    states.set(
        "io.hmip.0.devices.x.temp",
        &as_json(&state(json!(20), true, 301)),
    );
    states.set(
        "io.hmip.1.devices.y.level",
        &as_json(&state(json!(7), false, 302)),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    states.restart().await;
    objects.restart().await;
    until("reconnected", || store.is_connected()).await;
    store.wait_subscribed().await;

    // After the resubscription: every unacked state under the pattern, marked replayed
    // (the subscriber tells the new command from the old one); no acked one, no other
    // namespace.
    let mut replayed = Vec::new();
    while let Ok(Some(c)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        assert!(c.replayed, "{c:?}");
        replayed.push((c.id, c.state.unwrap()));
    }
    replayed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        replayed,
        [
            ("hmip.0.devices.x.level".to_string(), cmd),
            ("hmip.0.old".to_string(), old),
        ]
    );

    // Live writes go on, not marked.
    let live = state(json!(43), false, 400);
    store
        .set_states(vec![("hmip.0.devices.x.level".into(), live.clone())])
        .await
        .unwrap();
    let c = recv(&mut rx).await;
    assert!(!c.replayed);
    assert_eq!(c.state, Some(live));
}

#[tokio::test]
async fn a_write_the_server_refuses_is_an_error() {
    let (_states, _objects, store) = fakes().await;
    // The simulator (and this fake) only publish JSON on raw channels.
    let e = store
        .publish("messagebox.system.adapter.hmip.0", "not json")
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(e.to_string().contains("refused"), "{e}");
    // The store carries on.
    store
        .set_states(vec![("hmip.0.z".into(), state(json!(1), true, 1))])
        .await
        .unwrap();
}

/// The adapter on a database that refuses writes for a while: the values it could not
/// write are written again once the database takes writes, though nothing changes meanwhile
/// (before, the runtime took them as written and never wrote them again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_a_database_refused_are_written_once_it_takes_writes_again() {
    use iobroker_hmip::adapter::{self, AdapterOptions};
    use iobroker_hmip::sim::{self, SimConfig};
    let (states, _objects, store) = fakes().await;
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    let home = common::fixture("home.json");
    cfg.home = home.clone();
    let sim = sim::start(cfg).await.unwrap();
    let transport = common::transport(common::Via::Cloud, &sim, common::fast_options()).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let store: Arc<dyn Store> = Arc::new(store);
    let task = tokio::spawn(adapter::run(
        transport,
        store,
        AdapterOptions {
            write_debounce: Duration::from_millis(50),
            store_retry_max: Duration::from_secs(1),
            ..AdapterOptions::default()
        },
        stop_rx,
    ));
    let stored = |id: &str| states.get(&format!("io.{id}"));
    // The fixture's 18k objects through the fake take seconds in a debug build.
    until_within(Duration::from_secs(60), "connected", || {
        stored("hmip.0.info.connection").is_some_and(|s| s["val"] == json!(true))
    })
    .await;

    // The database starts refusing writes; the home changes on three devices.
    states.data().refuse_sets = true;
    let changes = [
        ("SWITCH_CHANNEL", "on"),
        ("SHUTTER_CHANNEL", "shutterLevel"),
        ("DIMMER_CHANNEL", "dimLevel"),
    ];
    let http = reqwest::Client::new();
    let mut want = Vec::new();
    for (ty, field) in changes {
        let (dev, ch) = common::find_channel(&home, ty, field);
        let old = &home["devices"][&dev]["functionalChannels"][&ch][field];
        let new = if old.is_boolean() {
            json!(!old.as_bool().unwrap())
        } else {
            json!(if old.as_f64() == Some(0.25) {
                0.75
            } else {
                0.25
            })
        };
        let r = http
            .post(format!("{}/sim/device/{dev}/channel/{ch}", sim.url()))
            .json(&json!({ field: new }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        want.push(format!("hmip.0.devices.{dev}.channels.{ch}.{field}"));
    }
    // The marker: the database refused a write of each changed state.
    until("each change refused", || {
        let d = states.data();
        want.iter()
            .all(|id| d.refused.contains(&format!("io.{id}")))
    })
    .await;
    let before: Vec<Option<Value>> = want.iter().map(|id| stored(id)).collect();

    // It takes writes again: every refused value arrives, with nothing changing meanwhile.
    states.data().refuse_sets = false;
    let model: iobroker_hmip::cloud::CurrentState = serde_json::from_value(
        reqwest::get(format!("{}/sim/home", sim.url()))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
    )
    .unwrap();
    let snap = iobroker_hmip::tree::snapshot("hmip.0", &model);
    for (id, old) in want.iter().zip(before) {
        let expected = snap
            .values
            .iter()
            .find(|v| &v.id == id)
            .unwrap()
            .val
            .clone();
        assert_ne!(
            old.map(|s| s["val"].clone()),
            Some(expected.clone()),
            "{id} was written while refused"
        );
        until(id, || {
            stored(id).is_some_and(|s| s["val"] == expected && s["ack"] == json!(true))
        })
        .await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Against a real Redis (tests/e2e/redis.test.js runs this with a redis-server it started)
// ---------------------------------------------------------------------------------------

/// One command on a fresh connection to the real Redis.
async fn raw(port: u16, args: &[&str]) -> Frame {
    let sock = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut f = Framed::new(sock, Resp2::default());
    let frame = Frame::Array(args.iter().map(|a| bulk(*a)).collect());
    f.send(frame).await.unwrap();
    f.next().await.unwrap().unwrap()
}

/// `shutdown nosave`: Redis exits without answering.
async fn shutdown(port: u16) {
    let sock = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut f = Framed::new(sock, Resp2::default());
    let frame = Frame::Array(vec![bulk("shutdown"), bulk("nosave")]);
    f.send(frame).await.unwrap();
    let _ = f.next().await;
}

fn as_text(f: &Frame) -> Option<String> {
    match f {
        Frame::BulkString(b) | Frame::SimpleString(b) => Some(String::from_utf8_lossy(b).into()),
        _ => None,
    }
}

async fn next_for(rx: &mut mpsc::UnboundedReceiver<StateChange>, id: &str) -> StateChange {
    loop {
        let c = recv(rx).await;
        if c.id == id {
            return c;
        }
    }
}

/// Needs a redis-server on 127.0.0.1:$HMIP_TEST_REDIS_PORT with the ioBroker meta keys set
/// and a supervisor that starts it again (and sets the keys) when it exits: this test
/// shuts it down once to show that nothing written meanwhile is lost.
#[tokio::test]
#[ignore = "needs a real redis-server: run by tests/e2e/redis.test.js"]
async fn real_redis() {
    let port: u16 = std::env::var("HMIP_TEST_REDIS_PORT")
        .expect("HMIP_TEST_REDIS_PORT")
        .parse()
        .expect("a port number");
    let cfg = DbConfig {
        host: "127.0.0.1".into(),
        port,
        password: None,
        db: None,
    };
    // js-controller enables expiry events on its Redis; so does this test.
    raw(port, &["config", "set", "notify-keyspace-events", "Exe"]).await;
    let store = RedisStore::connect(cfg.clone(), cfg, options())
        .await
        .expect("connect to redis");
    let mut rx = store.subscribe(Subscription {
        pattern: "hmip.0.*".into(),
        only_unacked: false,
    });
    let mut info = store.subscribe(Subscription {
        pattern: "hmip.0.info.*".into(),
        only_unacked: false,
    });
    let mut alive_rx = store.subscribe(Subscription {
        pattern: "system.adapter.hmip.0.*".into(),
        only_unacked: false,
    });
    let mut mbox = store.subscribe_raw("messagebox.system.adapter.hmip.0");
    store.wait_subscribed().await;

    // States: stored under io.<id>, published with the io. prefix by Redis, delivered
    // without it, once per subscriber even where patterns overlap.
    let batch: Vec<(String, IobState)> = (0..200)
        .map(|i| (format!("hmip.0.s{i}"), state(json!(i), true, i)))
        .collect();
    store.set_states(batch).await.unwrap();
    let stored = as_text(&raw(port, &["get", "io.hmip.0.s5"]).await).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap(),
        serde_json::to_value(state(json!(5), true, 5)).unwrap()
    );
    assert_eq!(store.states("hmip.0.s1*").await.unwrap().len(), 111);
    let c = next_for(&mut rx, "hmip.0.s199").await;
    assert_eq!(c.state.unwrap().val, json!(199));
    let conn = state(json!(true), true, 1);
    store
        .set_states(vec![("hmip.0.info.connection".into(), conn.clone())])
        .await
        .unwrap();
    assert_eq!(
        next_for(&mut rx, "hmip.0.info.connection").await.state,
        Some(conn.clone())
    );
    assert_eq!(recv(&mut info).await.state, Some(conn));
    nothing_more(&store, &mut [&mut info]).await;
    store.del_states(&["hmip.0.s0".into()]).await.unwrap();
    assert_eq!(next_for(&mut rx, "hmip.0.s0").await.state, None);

    // Expiry: a keyspace event on Redis, None for the subscriber.
    store
        .set_state_expiring(
            "system.adapter.hmip.0.alive",
            state(json!(true), true, 2),
            1,
        )
        .await
        .unwrap();
    assert!(next_for(&mut alive_rx, "system.adapter.hmip.0.alive")
        .await
        .state
        .is_some());
    let c = tokio::time::timeout(
        Duration::from_secs(5),
        next_for(&mut alive_rx, "system.adapter.hmip.0.alive"),
    )
    .await
    .expect("expiry announced");
    assert_eq!(c.state, None);

    // Objects, with the type index set.
    store
        .set_objects(vec![object("hmip.0.s1", "state", "S1")])
        .await
        .unwrap();
    let members = raw(port, &["smembers", "cfg.s.object.type.state"]).await;
    assert!(
        matches!(&members, Frame::Array(m) if m.iter().any(|x| as_text(x).as_deref() == Some("cfg.o.hmip.0.s1")))
    );
    assert_eq!(store.objects("hmip.0.*").await.unwrap().len(), 1);

    store
        .publish("messagebox.system.adapter.hmip.0", "{\"command\":\"x\"}")
        .await
        .unwrap();
    assert_eq!(
        recv(&mut mbox).await,
        (
            "messagebox.system.adapter.hmip.0".to_string(),
            "{\"command\":\"x\"}".to_string()
        )
    );

    // Redis goes away (the supervisor starts it again, empty, with the meta keys).
    shutdown(port).await;
    until("the store to notice the outage", || !store.is_connected()).await;
    store
        .set_states(vec![(
            "hmip.0.during".into(),
            state(json!("queued"), true, 3),
        )])
        .await
        .unwrap();
    store
        .set_objects(vec![object("hmip.0.during", "state", "D")])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), store.flush())
        .await
        .expect("flushed after the restart")
        .unwrap();
    let during = as_text(&raw(port, &["get", "io.hmip.0.during"]).await).expect("written");
    assert_eq!(
        serde_json::from_str::<Value>(&during).unwrap()["val"],
        "queued"
    );
    assert!(as_text(&raw(port, &["get", "cfg.o.hmip.0.during"]).await).is_some());
    until("reconnected", || store.is_connected()).await;
    store.wait_subscribed().await;
    let after = state(json!("after"), true, 4);
    store
        .set_states(vec![("hmip.0.after".into(), after.clone())])
        .await
        .unwrap();
    assert_eq!(next_for(&mut rx, "hmip.0.after").await.state, Some(after));
    println!("real redis: all checks passed");
}

#[tokio::test]
async fn a_start_reads_the_database_a_page_at_a_time() {
    let (states, objects, store) = fakes().await;
    const N: usize = 2_500;
    for i in 0..N {
        let id = format!("hmip.0.devices.d{i}.x");
        objects.set(
            &format!("cfg.o.{id}"),
            &serde_json::to_value(object(&id, "state", &format!("x {i}"))).unwrap(),
        );
        states.set(
            &format!("io.{id}"),
            &serde_json::to_value(state(json!(i), true, 1)).unwrap(),
        );
    }
    // Another adapter's: not ours, not read.
    objects.set(
        "cfg.o.other.0.y",
        &serde_json::to_value(object("other.0.y", "state", "y")).unwrap(),
    );
    let whole: BTreeSet<(String, u64)> = store
        .objects("hmip.0.*")
        .await
        .unwrap()
        .iter()
        .map(|(id, o)| (id.clone(), iobroker_hmip::store::object_digest(o)))
        .collect();
    objects.data().log.clear();
    let paged: BTreeSet<(String, u64)> = store
        .object_digests("hmip.0.*")
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(paged.len(), N);
    assert_eq!(paged, whole, "the digests differ from the whole read's");
    // In pages of at most 1,000 keys.
    let pages: Vec<usize> = objects
        .data()
        .log
        .iter()
        .filter(|c| c[0] == "mget")
        .map(|c| c.len() - 1)
        .collect();
    assert_eq!(pages, vec![1000, 1000, 500], "{pages:?}");

    let mut seen = Vec::new();
    store
        .for_each_state("hmip.0.*", &mut |id, st| seen.push((id, st.val)))
        .await
        .unwrap();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let all: Vec<(String, Value)> = store
        .states("hmip.0.*")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, st)| (id, st.val))
        .collect();
    assert_eq!(seen.len(), N);
    assert_eq!(seen, all);
}

// ---------------------------------------------------------------------------------------
// The adapter on the fake: when it subscribes to user writes
// ---------------------------------------------------------------------------------------

/// The adapter as a process runs it, on these databases, against the simulator.
async fn start_adapter(
    states: &Fake,
    objects: &Fake,
    sim: &iobroker_hmip::sim::SimHandle,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let store = RedisStore::connect(states.config(), objects.config(), options())
        .await
        .expect("connect");
    let store: Arc<dyn Store> = Arc::new(store);
    let transport = common::transport(common::Via::Cloud, sim, common::fast_options()).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(iobroker_hmip::adapter::run(
        transport,
        store,
        common::fast_adapter_options(),
        stop_rx,
    ));
    (stop, task)
}

/// Index in the states database's command log of the adapter's subscription to its
/// user writes, from `from` on.
fn user_write_subscription(states: &Fake, from: usize) -> Option<usize> {
    let data = states.data();
    data.log[from..]
        .iter()
        .position(|c| c[0] == "psubscribe" && c[1] == "io.hmip.0.*")
        .map(|i| i + from)
}

fn is_tree_state_write(c: &[String]) -> bool {
    c[0] == "set" && c[1].starts_with("io.hmip.0.devices.")
}

/// The instance's first start (no state of its tree in the database yet): the adapter
/// subscribes to user writes only once the tree is in the database, so that the database
/// announces none of the tree's states back to it (each announcement cost js-controller
/// CPU, BENCHMARKS.md). A later start subscribes at once, before it writes anything of
/// the home. A user's command is executed after either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_subscribes_to_user_writes_once_the_tree_is_written() {
    let states = Fake::start(Port::States).await;
    let objects = Fake::start(Port::Objects).await;
    let sim = iobroker_hmip::sim::start(iobroker_hmip::sim::SimConfig::demo(
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .unwrap();
    let (dev, ch) = common::marker_switch(&sim.home());
    let on = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let user = RedisStore::connect(states.config(), objects.config(), options())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let switch_calls = || async {
        common::sim_calls(&http, &sim.url())
            .await
            .iter()
            .filter(|c| c["body"]["deviceId"] == dev.as_str())
            .map(|c| c["body"]["on"].clone())
            .collect::<Vec<_>>()
    };

    // A value the second start finds changed, so that it has something to write.
    let (other, other_ch) = common::find_channel(&sim.home(), "SWITCH_CHANNEL", "on");
    assert_ne!(other, dev);
    for (run, want) in [("first start", true), ("second start", false)] {
        let from = states.data().log.len();
        let (stop, task) = start_adapter(&states, &objects, &sim).await;
        until(&format!("{run}: connected"), || {
            states
                .get("io.hmip.0.info.connection")
                .is_some_and(|s| s["val"] == true)
                && user_write_subscription(&states, from).is_some()
        })
        .await;
        let at = user_write_subscription(&states, from).unwrap();
        let log = states.data().log.clone();
        let before = log[from..at]
            .iter()
            .filter(|c| is_tree_state_write(c))
            .count();
        let after = log[at..].iter().filter(|c| is_tree_state_write(c)).count();
        if run == "first start" {
            // Every state of the tree written, then the subscription.
            assert!(
                before > 100,
                "{run}: {before} states written before subscribing"
            );
            assert_eq!(
                after, 0,
                "{run}: states of the tree written after subscribing"
            );
        } else {
            // Subscribed first, then the changed value (and its device's
            // lastStatusUpdate) written.
            assert_eq!(before, 0, "{run}: tree states written before subscribing");
            assert!(after > 0, "{run}: the changed value was not written");
        }
        // A user's command reaches the cloud.
        user.set_states(vec![(
            on.clone(),
            state(json!(want), false, iobroker_hmip::iobroker::now_ms()),
        )])
        .await
        .unwrap();
        common::wait_until(|| async { switch_calls().await.contains(&json!(want)) }).await;
        let _ = stop.send(true);
        task.await.unwrap().unwrap();
        let r = http
            .post(format!(
                "{}/sim/device/{other}/channel/{other_ch}",
                sim.url()
            ))
            .json(&json!({"on": run == "first start"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    sim.shutdown().await;
}
