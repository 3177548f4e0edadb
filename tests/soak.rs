//! Soak: random device reports, user writes, malformed pushes and faults against the
//! simulator for a while, then every state of the store compared with the simulator's home.
//!
//! ```sh
//! cargo test --release --test soak -- --minutes 30 [--seed S] [--fixture FILE] [--without a,b]
//!                                      [--transport cloud|hcu]
//! cargo test --test soak -- --minutes 1          # CI (debug build)
//! ```
//!
//! Not part of `cargo test` (`test = false` in Cargo.toml): it runs only when named. It
//! spawns the real binary: `sim --fixture F`, `pair` against it (the simulator presses the
//! button), then `run` on a fresh embedded store, all on free 127.0.0.1 ports in a temporary
//! directory, with the adapter's real default timings. Until the time is up, with a seeded
//! RNG, each step is one of: a device report (`/sim/device/…`, a changed boolean or number
//! of a random channel), a burst (`/sim/burst`), a user write of a random valid value to a
//! random writable state (`PUT /api/v1/state/…`), a malformed websocket message
//! (`/sim/push`), or a fault from [`FAULTS`] (injected, held, ended). At the end every fault
//! is ended, the soak waits (bounded) until `info.connection` is true and the store is
//! quiet, then prints every difference:
//! - a state under `devices`, `groups`, `clients`, `homes` whose value in the store is not
//!   the value `tree::snapshot` gives for `/sim/home` (local parameters: the value last
//!   written), or an object id on one side only;
//! - an accepted user write (HTTP 200 that maps to a control call) that never reached the
//!   cloud (`/sim/calls`) and was not refused with an error line in the adapter's log;
//! - a delivered write that the state never showed acknowledged before the next write to
//!   it, while no report, burst or fault touched its device: silently reverted (an
//!   accepted command without a value of its own: not acknowledged as written);
//! - more requests in a 60 s window than the client's budget (bucket 10 + 1/s); over the
//!   HCU's local Connect API (`--transport hcu`: `sim --hcu`, `pair --hcu`), any request
//!   that reached the simulated cloud at all (the faults there are the ones the HCU has:
//!   revoke, drop, silence, failures; it has no throttling and no lookup to move).
//!
//! Exit 0 with zero differences; 1 and `soak: N differences` otherwise (the logs of the
//! three processes stay in the directory it names); 2 for a usage error or a simulator
//! without a hook the fault table needs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use iobroker_hmip::cloud::lenient::current_state;
use iobroker_hmip::cloud::CurrentState;
use iobroker_hmip::sim::DEFAULT_SGTIN;
use iobroker_hmip::tree::{self, WriteAction};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_iobroker-hmip");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json");
const NS: &str = "hmip.0";
const CONNECTION: &str = "hmip.0.info.connection";
/// The default ClientOptions bucket: 10 at once, then one per second.
const BUDGET_BURST: u64 = 10;
const BUDGET_PER_MIN: u64 = BUDGET_BURST + 60;
/// The compared part of the tree.
const COMPARED: &[&str] = &["devices.", "groups.", "clients.", "homes."];
/// Channel fields that identify or link rather than report (as the simulator's burst).
const STRUCTURAL: &[&str] = &["index", "groupIndex", "deviceId", "functionalChannelType"];
/// The end: how long the store must not change, and the most the soak waits for that.
const QUIET: Duration = Duration::from_secs(12);
const SETTLE_MAX: Duration = Duration::from_secs(150);

// ---------------------------------------------------------------------------------------
// The faults: one row each. Adding a fault the simulator learnt is one row here.

/// How the soak sees whether the simulator has a fault's hook, before it starts.
enum Probe {
    /// A POST-only route: GET answers 405 when it exists, 404 when not.
    Route(&'static str),
    /// POST this body, which arms nothing, expecting 2xx.
    NoOp(&'static str, fn() -> Value),
}

struct Fault {
    name: &'static str,
    /// Inject: POST this hook with the body made from the hold time (ms) and the RNG.
    inject: (&'static str, fn(u64, &mut StdRng) -> Value),
    /// End: POST this hook with this body; None when it ends by itself.
    end: Option<(&'static str, fn() -> Value)>,
    /// How long it is held, ms (min, max); the run has to leave that much time.
    hold_ms: (u64, u64),
    /// Hold it at least until the adapter opened a new websocket (a fault it can only
    /// notice by its dead-connection timeout: ending it before would lose events for good).
    until_reconnect: bool,
    /// No fault for this long after it ended (a 429 pauses the client 30 s, doubling on
    /// every further 429 until a call succeeds: 429s back to back would block every write).
    rest_ms: u64,
    /// The most the adapter may need, after the fault ended, to be connected with the
    /// whole home again (reconnect backoff 8 s doubling, the lookup repeated only after 3
    /// failed connects, a 429 pause of 30 s): the fault is injected only while the run
    /// has that much time left, so that the end converges within its bounded wait.
    recover_s: u64,
    /// Ending it takes `pair` again (a new token into the config file `run` watches).
    pair_again: bool,
    probe: Probe,
    /// The transport has it: the cloud's 429s and its lookup have no HCU counterpart.
    on_hcu: bool,
}

/// The faults, one row each.
const FAULTS: &[Fault] = &[
    // The token revoked: the adapter goes offline and sends nothing until the user pairs
    // again; `run` picks the new token up from its config file without a restart.
    Fault {
        name: "revoke",
        inject: ("/sim/revoke", |_, _| json!({})),
        end: None,
        hold_ms: (2_000, 10_000),
        until_reconnect: false,
        rest_ms: 20_000,
        recover_s: 60,
        pair_again: true,
        probe: Probe::Route("/sim/revoke"),
        on_hcu: true,
    },
    Fault {
        name: "drop",
        inject: ("/sim/drop", |_, _| json!({})),
        end: None,
        hold_ms: (0, 0),
        until_reconnect: false,
        rest_ms: 20_000,
        recover_s: 30,
        pair_again: false,
        probe: Probe::Route("/sim/drop"),
        on_hcu: true,
    },
    Fault {
        name: "throttle",
        inject: (
            "/sim/throttle",
            |_, r| json!({"count": r.random_range(1..=3)}),
        ),
        end: Some(("/sim/throttle", || json!({"count": 0}))),
        hold_ms: (2_000, 10_000),
        until_reconnect: false,
        rest_ms: 45_000,
        recover_s: 45,
        pair_again: false,
        probe: Probe::NoOp("/sim/throttle", || json!({"count": 0})),
        on_hcu: false,
    },
    Fault {
        name: "throttle-for",
        inject: ("/sim/throttle", |ms, _| json!({"forMs": ms})),
        end: None,
        hold_ms: (2_000, 10_000),
        until_reconnect: false,
        rest_ms: 45_000,
        recover_s: 45,
        pair_again: false,
        probe: Probe::NoOp("/sim/throttle", || json!({"forMs": 0})),
        on_hcu: false,
    },
    Fault {
        name: "silence",
        inject: ("/sim/silence", |_, _| json!({"on": true})),
        end: Some(("/sim/silence", || json!({"on": false}))),
        hold_ms: (5_000, 20_000),
        until_reconnect: true,
        rest_ms: 20_000,
        recover_s: 30,
        pair_again: false,
        probe: Probe::NoOp("/sim/silence", || json!({"on": false})),
        on_hcu: true,
    },
    Fault {
        name: "move",
        inject: ("/sim/move", |_, _| json!({})),
        end: None,
        hold_ms: (0, 0),
        until_reconnect: false,
        rest_ms: 20_000,
        recover_s: 240,
        pair_again: false,
        probe: Probe::Route("/sim/move"),
        on_hcu: false,
    },
    Fault {
        name: "fail-5xx",
        inject: ("/sim/fail", |_, r| {
            let status = [500, 502, 503][r.random_range(0..3)];
            json!({"count": r.random_range(1..=4), "status": status})
        }),
        end: Some(("/sim/fail", || json!({"count": 0, "status": 503}))),
        hold_ms: (1_000, 8_000),
        until_reconnect: false,
        rest_ms: 10_000,
        recover_s: 40,
        pair_again: false,
        probe: Probe::NoOp("/sim/fail", || json!({"count": 0, "status": 503})),
        on_hcu: true,
    },
    Fault {
        name: "fail-slow",
        inject: (
            "/sim/fail",
            |_, r| json!({"count": r.random_range(1..=4), "delayMs": r.random_range(500..=5_000)}),
        ),
        end: Some(("/sim/fail", || json!({"count": 0, "delayMs": 0}))),
        hold_ms: (2_000, 8_000),
        until_reconnect: false,
        rest_ms: 10_000,
        recover_s: 40,
        pair_again: false,
        probe: Probe::NoOp("/sim/fail", || json!({"count": 0, "delayMs": 0})),
        on_hcu: true,
    },
];

/// The longest a fault can take before the adapter has recovered (the silence: ping 20 s +
/// dead timeout 25 s, then a reconnect after up to 8 s).
const RECONNECT_WAIT_MAX: Duration = Duration::from_secs(75);

// ---------------------------------------------------------------------------------------
// Options.

struct Opts {
    minutes: f64,
    seed: u64,
    fixture: PathBuf,
    without: Vec<String>,
    /// Over the HCU's local Connect API instead of the cloud.
    hcu: bool,
}

fn usage(err: &str) -> ! {
    if !err.is_empty() {
        eprintln!("soak: {err}");
    }
    let names: Vec<&str> = FAULTS.iter().map(|f| f.name).collect();
    eprintln!(
        "usage: cargo test [--release] --test soak -- [--minutes 30] [--seed S] \
         [--fixture FILE] [--without FAULT,…] [--transport cloud|hcu]\nfaults: {}",
        names.join(", ")
    );
    std::process::exit(if err.is_empty() { 0 } else { 2 })
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            minutes: 30.0,
            seed: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_secs()),
            fixture: PathBuf::from(FIXTURE),
            without: Vec::new(),
            hcu: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{a} needs a value")))
            };
            match a.as_str() {
                "--minutes" => {
                    o.minutes = val()
                        .parse()
                        .ok()
                        .filter(|m: &f64| *m > 0.0)
                        .unwrap_or_else(|| usage("--minutes needs a positive number"))
                }
                "--seed" => {
                    o.seed = val()
                        .parse()
                        .unwrap_or_else(|_| usage("--seed needs a number"))
                }
                "--fixture" => o.fixture = PathBuf::from(val()),
                "--transport" => {
                    o.hcu = match val().as_str() {
                        "cloud" => false,
                        "hcu" => true,
                        _ => usage("--transport is cloud or hcu"),
                    }
                }
                "--without" => {
                    for name in val().split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !FAULTS.iter().any(|f| f.name == name) {
                            usage(&format!("no fault named {name}"));
                        }
                        o.without.push(name.to_string());
                    }
                }
                // What cargo passes to a test binary.
                "--nocapture" | "--quiet" | "-q" => {}
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        o
    }
}

// ---------------------------------------------------------------------------------------
// Child processes.

/// A child of the binary whose output goes to a log file and, line by line, to memory.
/// Dropped: SIGTERM, SIGKILL after 5 s; it also dies with the soak (PR_SET_PDEATHSIG).
struct Proc {
    name: &'static str,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(name: &'static str, args: &[&str], log: &Path) -> Proc {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        // The processes' log filter for a failure's investigation (RUST_LOG is the soak's).
        if let Ok(filter) = std::env::var("SOAK_RUST_LOG") {
            cmd.env("RUST_LOG", filter);
        }
        // SAFETY: prctl only sets a flag of the new process, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let file = Arc::new(Mutex::new(std::fs::File::create(log).expect("log file")));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for stream in streams {
            let (file, lines) = (file.clone(), lines.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = writeln!(file.lock().unwrap(), "{line}");
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Proc {
            name,
            child: Some(child),
            lines,
        }
    }

    fn line_count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// The first line from `from` on that contains every needle.
    fn find(&self, from: usize, needles: &[&str]) -> Option<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .skip(from)
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .cloned()
    }

    async fn wait_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.find(0, &[needle]) {
                return l;
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                fail_setup(&format!(
                    "{} exited ({st}) before printing {needle:?}",
                    self.name
                ));
            }
            if Instant::now() > deadline {
                fail_setup(&format!(
                    "{} printed no {needle:?} in {timeout:?}",
                    self.name
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: signalling our own child, not reaped yet.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fail_setup(msg: &str) -> ! {
    eprintln!("soak: setup failed: {msg}");
    std::process::exit(2)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------
// HTTP to the simulator and the adapter (127.0.0.1 only).

#[derive(Clone)]
struct Http {
    c: reqwest::Client,
    sim: String,
    api: String,
}

impl Http {
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn sim_get(&self, path: &str) -> Result<(u16, Value), String> {
        self.send(self.c.get(format!("{}{path}", self.sim))).await
    }

    async fn sim_post(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.send(self.c.post(format!("{}{path}", self.sim)).json(body))
            .await
    }

    async fn sim_raw(&self, body: Vec<u8>) -> Result<(u16, Value), String> {
        self.send(self.c.post(format!("{}/sim/push", self.sim)).body(body))
            .await
    }

    async fn api_get(&self, path: &str) -> Result<(u16, Value), String> {
        self.send(self.c.get(format!("{}{path}", self.api))).await
    }

    async fn api_put(&self, id: &str, val: &Value) -> Result<(u16, Value), String> {
        let url = format!("{}/api/v1/state/{id}", self.api);
        self.send(self.c.put(url).json(&json!({ "val": val })))
            .await
    }

    /// The simulator's home, parsed as the adapter parses it.
    async fn home(&self) -> Result<(Value, CurrentState), String> {
        let (_, raw) = self.sim_get("/sim/home").await?;
        let (model, _) = current_state(raw.clone())?;
        Ok((raw, model))
    }

    async fn connected(&self) -> bool {
        matches!(self.api_get(&format!("/api/v1/state/{CONNECTION}")).await,
            Ok((200, st)) if st["val"] == json!(true))
    }

    async fn map(&self, what: &str) -> Map<String, Value> {
        match self
            .api_get(&format!("/api/v1/{what}?pattern={NS}.*"))
            .await
        {
            Ok((200, Value::Object(m))) => m,
            other => panic!("GET /api/v1/{what}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Random steps.

/// A boolean or number of a channel a device may report, and a new value for it.
fn device_report(raw: &Value, rng: &mut StdRng) -> Option<(String, String, Map<String, Value>)> {
    let devices = raw["devices"].as_object()?;
    let ids: Vec<&String> = devices.keys().collect();
    for _ in 0..20 {
        let id = ids[rng.random_range(0..ids.len())];
        let Some(channels) = devices[id]["functionalChannels"].as_object() else {
            continue;
        };
        let keys: Vec<&String> = channels.keys().collect();
        if keys.is_empty() {
            continue;
        }
        let key = keys[rng.random_range(0..keys.len())];
        let Some(ch) = channels[key].as_object() else {
            continue;
        };
        let fields: Vec<(&String, &Value)> = ch
            .iter()
            .filter(|(k, v)| {
                !STRUCTURAL.contains(&k.as_str())
                    && (v.is_boolean() || v.as_i64().is_some() || v.as_f64().is_some())
            })
            .collect();
        if fields.is_empty() {
            continue;
        }
        let mut out = Map::new();
        for _ in 0..rng.random_range(1..=fields.len().min(3)) {
            let (name, v) = fields[rng.random_range(0..fields.len())];
            let new = match v {
                Value::Bool(b) => json!(!b),
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    let x = n.as_i64().unwrap_or(0);
                    let spread = (x.unsigned_abs() / 10).max(1) as i64;
                    json!(x + rng.random_range(-spread..=spread))
                }
                v => {
                    let x = v.as_f64().unwrap_or(0.0);
                    if (0.0..=1.0).contains(&x) {
                        json!((rng.random_range(0..=100) as f64) / 100.0)
                    } else {
                        let spread = (x.abs() / 10.0).max(0.1);
                        json!(((x + rng.random_range(-spread..=spread)) * 10.0).round() / 10.0)
                    }
                }
            };
            out.insert(name.clone(), new);
        }
        return Some((id.clone(), key.clone(), out));
    }
    None
}

/// A random value the state object accepts.
fn random_value(common: &Map<String, Value>, id: &str, rng: &mut StdRng) -> Value {
    let field = id.rsplit('.').next().unwrap_or_default().to_lowercase();
    let states = common.get("states").and_then(Value::as_object);
    match common.get("type").and_then(Value::as_str).unwrap_or("") {
        "boolean" if common["role"].as_str().unwrap_or("").starts_with("button") => json!(true),
        "boolean" => json!(rng.random_bool(0.5)),
        "number" => {
            if let Some(states) = states.filter(|s| !s.is_empty()) {
                let keys: Vec<&String> = states.keys().collect();
                let k = keys[rng.random_range(0..keys.len())];
                return k.parse::<i64>().map_or_else(|_| json!(k), |n| json!(n));
            }
            let min = common.get("min").and_then(Value::as_f64).unwrap_or(0.0);
            let max = common
                .get("max")
                .and_then(Value::as_f64)
                .unwrap_or(min + 100.0);
            let (lo, hi) = (min.ceil() as i64, max.floor() as i64);
            let mut v = rng.random_range(lo..=hi.max(lo)) as f64;
            if hi - lo <= 50 && v + 0.5 <= max && rng.random_bool(0.3) {
                v += 0.5;
            }
            if v.fract() == 0.0 {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        "string" => match states.filter(|s| !s.is_empty()) {
            Some(states) => {
                let keys: Vec<&String> = states.keys().collect();
                json!(keys[rng.random_range(0..keys.len())])
            }
            None if field.contains("time") => {
                json!(format!(
                    "2030_0{}_1{} 12:30",
                    rng.random_range(1..=9),
                    rng.random_range(0..=9)
                ))
            }
            None if field.contains("pin") => json!(format!("{:04}", rng.random_range(0..10_000))),
            None if field.contains("duration") => json!(rng.random_range(1..=120).to_string()),
            None => json!(format!("soak-{}", rng.random_range(0..1000))),
        },
        _ => Value::Null,
    }
}

/// Malformed websocket messages, as a cloud with a bug or a broken proxy might send.
fn malformed(rng: &mut StdRng) -> Vec<u8> {
    let devices = r#"{"events":{"0":{"pushEventType":"DEVICE_CHANGED","device":{"id":7}}}}"#;
    let cases: [&[u8]; 7] = [
        b"{not json",
        b"{\"events\": [1, 2, 3]}",
        b"{\"events\": {\"0\": {\"device\": {}}}}",
        b"\xff\xfe\x00garbage",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"{\"events\":{\"0\":{\"pushEventType\":\"NO_SUCH_EVENT\"}}}",
        devices.as_bytes(),
    ];
    cases[rng.random_range(0..cases.len())].to_vec()
}

// ---------------------------------------------------------------------------------------
// Bookkeeping.

/// One user write through the HTTP API.
struct UserWrite {
    id: String,
    val: Value,
    /// When it was answered, epoch ms.
    ts: i64,
    status: u16,
    /// The call it maps to (computed with the home of that moment), when it maps to one.
    call: Option<iobroker_hmip::cloud::ControlCall>,
    local: bool,
    /// The adapter's log length when it was written.
    log_from: usize,
}

#[derive(Default)]
struct Counts {
    reports: u64,
    bursts: u64,
    burst_events: u64,
    pushes: u64,
    writes: u64,
    writes_ok: u64,
    writes_refused: u64,
    faults: u64,
    hook_errors: u64,
}

struct ActiveFault {
    row: &'static Fault,
    until: Instant,
    ws_connects: u64,
    since: Instant,
    since_ms: i64,
}

/// Changes of watched states: id -> (ts, val, ack), in order.
type Changes = Arc<Mutex<HashMap<String, Vec<(i64, Value, bool)>>>>;

/// Follow `GET /api/v1/events` and keep the changes of the `watched` states.
async fn watch_changes(api: String, watched: Arc<HashSet<String>>, changes: Changes) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client");
    loop {
        let url = format!("{api}/api/v1/events?pattern={NS}.*");
        if let Ok(mut resp) = client.get(url).send().await {
            let mut buf = Vec::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    let Some(data) = line.strip_prefix(b"data:") else {
                        continue;
                    };
                    let Ok(ev) = serde_json::from_slice::<Value>(data) else {
                        continue;
                    };
                    let Some(id) = ev["id"].as_str().filter(|id| watched.contains(*id)) else {
                        continue;
                    };
                    let st = &ev["state"];
                    changes
                        .lock()
                        .unwrap()
                        .entry(id.to_string())
                        .or_default()
                        .push((
                            st["ts"].as_i64().unwrap_or(0),
                            st["val"].clone(),
                            st["ack"] == json!(true),
                        ));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `/sim/stats` sampled once a second: (epoch ms, requests + upgrades so far).
type Samples = Vec<(i64, u64)>;

fn request_count(stats: &Value) -> u64 {
    stats["requests"].as_u64().unwrap_or(0) + stats["upgrades"].as_u64().unwrap_or(0)
}

/// Requests in the last 60 s before `now`, and the most in any 60 s window, from the
/// simulator's `requestTimes` when it has them, else from the samples.
fn request_windows(stats: &Value, samples: &Samples, now: i64) -> (u64, u64) {
    if let Some(times) = stats["requestTimes"].as_array() {
        let t: Vec<i64> = times.iter().filter_map(Value::as_i64).collect();
        let last = t.iter().filter(|&&x| x > now - 60_000).count() as u64;
        let (mut max, mut lo) = (0, 0);
        for hi in 0..t.len() {
            while t[hi] - t[lo] >= 60_000 {
                lo += 1;
            }
            max = max.max(hi + 1 - lo);
        }
        return (last, max as u64);
    }
    let at = |ts: i64| {
        samples
            .iter()
            .take_while(|(t, _)| *t <= ts)
            .last()
            .map_or(0, |s| s.1)
    };
    let cur = samples.last().map_or(0, |s| s.1);
    let max = samples
        .iter()
        .map(|(t, n)| n - at(t - 60_000))
        .max()
        .unwrap_or(0);
    (cur - at(now - 60_000), max)
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// The device (or group, or the home) a state id belongs to: `devices.<id>` etc.
fn owner(id: &str) -> String {
    let rel = id.strip_prefix(NS).unwrap_or(id).trim_start_matches('.');
    rel.splitn(3, '.').take(2).collect::<Vec<_>>().join(".")
}

// ---------------------------------------------------------------------------------------
// The soak.

#[tokio::main]
async fn main() {
    let opts = Opts::parse();
    let run_for = Duration::from_secs_f64(opts.minutes * 60.0);
    let dir = tempfile::Builder::new()
        .prefix("hmip-soak-")
        .tempdir()
        .expect("temp dir");
    let dir_path = dir.path().to_path_buf();
    println!(
        "soak: {} min, seed {}, fixture {}, logs in {}",
        opts.minutes,
        opts.seed,
        opts.fixture.display(),
        dir_path.display()
    );
    let mut rng = StdRng::seed_from_u64(opts.seed);

    // The simulator, pairing, the adapter.
    let fixture = opts.fixture.to_str().expect("fixture path");
    let mut sim_args = vec!["sim", "--fixture", fixture, "--listen", "127.0.0.1:0"];
    if opts.hcu {
        sim_args.push("--hcu");
    }
    let mut sim = Proc::spawn("sim", &sim_args, &dir_path.join("sim.log"));
    let line = sim
        .wait_line("listening on http://", Duration::from_secs(60))
        .await;
    let sim_url = line[line.find("http://").unwrap()..]
        .trim()
        .trim_end_matches('/')
        .to_string();
    // `hcu listening on https://AUTH (websocket wss://WS)`: the two ports to pair with.
    let hcu_ports = if opts.hcu {
        let line = sim
            .wait_line("hcu listening on https://", Duration::from_secs(60))
            .await;
        let port = |after: &str| {
            let rest = &line[line.find(after).expect("the HCU's address") + after.len()..];
            let addr: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            addr.rsplit_once(':').expect("ADDR:PORT").1.to_string()
        };
        Some((port("https://"), port("wss://")))
    } else {
        None
    };
    let http = Http {
        c: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("HTTP client"),
        sim: sim_url.clone(),
        api: String::new(),
    };

    // Every fault's hook must be there; a missing one stops the soak here, named.
    let mut faults: Vec<&'static Fault> = Vec::new();
    let mut missing = Vec::new();
    for f in FAULTS
        .iter()
        .filter(|f| !opts.without.iter().any(|w| w == f.name))
        .filter(|f| !opts.hcu || f.on_hcu)
    {
        let there = match &f.probe {
            Probe::Route(p) => matches!(http.sim_get(p).await, Ok((405, _))),
            Probe::NoOp(p, body) => {
                matches!(http.sim_post(p, &body()).await, Ok((s, _)) if (200..300).contains(&s))
            }
        };
        if there {
            faults.push(f);
        } else {
            missing.push(format!("{} ({})", f.name, f.inject.0));
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "soak: the simulator lacks the hooks of these faults: {}\nsoak: refusing to start; \
             update the simulator, or leave them out explicitly with --without {}",
            missing.join(", "),
            missing
                .iter()
                .map(|m| m.split(' ').next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",")
        );
        drop(sim);
        drop(dir);
        std::process::exit(2);
    }

    let pairing = Pairing {
        lookup: format!("{sim_url}/getHost"),
        sim: sim_url.clone(),
        hcu_ports,
        config: dir_path.join("hmip.json"),
        log: dir_path.join("pair.log"),
    };
    if !pairing.pair().await {
        fail_setup(&format!("pair failed; see {}", pairing.log.display()));
    }
    let config = pairing.config.clone();

    let api_addr = format!("127.0.0.1:{}", free_port());
    let data = dir_path.join("data");
    let mut adapter = Proc::spawn(
        "run",
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--http",
            &api_addr,
        ],
        &dir_path.join("run.log"),
    );
    let http = Http {
        api: format!("http://{api_addr}"),
        ..http
    };
    let t_start = Instant::now();
    while !http.connected().await {
        if let Some(st) = adapter.exited() {
            fail_setup(&format!(
                "run exited ({st}); see {}",
                dir_path.join("run.log").display()
            ));
        }
        if t_start.elapsed() > Duration::from_secs(120) {
            fail_setup("run: not connected after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "soak: connected after {:.1} s; {} faults: {}",
        t_start.elapsed().as_secs_f64(),
        faults.len(),
        faults.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
    );

    // The writable states, as the adapter made them.
    let objects = http.map("objects").await;
    let writable: Vec<(String, Map<String, Value>)> = objects
        .iter()
        .filter(|(id, o)| {
            o["type"] == "state"
                && o["common"]["write"] == json!(true)
                && COMPARED
                    .iter()
                    .any(|p| id.starts_with(&format!("{NS}.{p}")))
        })
        .filter_map(|(id, o)| Some((id.clone(), o["common"].as_object()?.clone())))
        .collect();
    // Local parameters the soak wrote, and their start values (for write_to_call).
    let mut params: HashMap<String, Value> = http
        .map("states")
        .await
        .into_iter()
        .map(|(id, st)| (id, st["val"].clone()))
        .collect();
    // Which of them are local parameters (kept by the adapter, never sent alone).
    let (params_ids, commands): (Vec<usize>, Vec<usize>) = {
        let (_, model) = http.home().await.expect("the simulator's home");
        let mut prng = StdRng::seed_from_u64(0);
        (0..writable.len()).partition(|&i| {
            let (id, common) = &writable[i];
            let v = random_value(common, id, &mut prng);
            matches!(
                tree::write_to_call(NS, &model, id, &v, &|_| Some(json!(1))),
                Ok(WriteAction::Local | WriteAction::Secret(_))
            )
        })
    };
    println!(
        "soak: {} writable states ({} local parameters)",
        writable.len(),
        params_ids.len()
    );

    // The loop.
    let mut counts = Counts::default();
    let mut writes: Vec<UserWrite> = Vec::new();
    // owner -> when something other than a write changed it (a report, a burst), epoch ms.
    let mut touched: HashMap<String, Vec<i64>> = HashMap::new();
    // When a fault may have cost pushes: (injected, ended + 15 s), epoch ms.
    let mut fault_windows: Vec<(i64, i64)> = Vec::new();
    // What the store did with the writable states, from the adapter's event stream.
    let watched: Arc<HashSet<String>> =
        Arc::new(writable.iter().map(|(id, _)| id.clone()).collect());
    let changes: Changes = Arc::default();
    let watcher = tokio::spawn(watch_changes(http.api.clone(), watched, changes.clone()));
    let mut active: Option<ActiveFault> = None;
    let mut next_fault = Instant::now();
    let mut samples: Samples = Vec::new();
    let mut last_sample = Instant::now() - Duration::from_secs(2);
    let mut last_progress = Instant::now();
    let (mut raw, mut model) = http.home().await.expect("the simulator's home");
    let t0 = Instant::now();
    while t0.elapsed() < run_for {
        if last_sample.elapsed() >= Duration::from_secs(1) {
            last_sample = Instant::now();
            if let Ok((_, st)) = http.sim_get("/sim/stats").await {
                samples.push((now_ms(), request_count(&st)));
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(60) {
            last_progress = Instant::now();
            let st = http
                .sim_get("/sim/stats")
                .await
                .map(|r| r.1)
                .unwrap_or_default();
            let (last_min, _) = request_windows(&st, &samples, now_ms());
            println!(
                "soak: {:>3.0} min: {} reports, {} bursts ({} events), {} malformed, {} writes \
                 ({} accepted, {} refused), {} faults; {} requests in the last minute (budget {})",
                t0.elapsed().as_secs_f64() / 60.0,
                counts.reports,
                counts.bursts,
                counts.burst_events,
                counts.pushes,
                counts.writes,
                counts.writes_ok,
                counts.writes_refused,
                counts.faults,
                last_min,
                BUDGET_PER_MIN
            );
        }

        // An active fault: end it when its time has come.
        if let Some(a) = &active {
            let reconnected = !a.row.until_reconnect || {
                let st = http
                    .sim_get("/sim/stats")
                    .await
                    .map(|r| r.1)
                    .unwrap_or_default();
                st["wsConnects"].as_u64().unwrap_or(0) > a.ws_connects
            };
            let overdue = a.since.elapsed() > RECONNECT_WAIT_MAX;
            if Instant::now() >= a.until && (reconnected || overdue) {
                end_fault(&http, &pairing, a, &mut counts).await;
                fault_windows.push((a.since_ms, now_ms() + 15_000));
                next_fault = Instant::now() + Duration::from_millis(a.row.rest_ms);
                active = None;
            }
        }

        let remaining = run_for.saturating_sub(t0.elapsed());
        let roll: f64 = rng.random();
        if roll < 0.06 && active.is_none() && Instant::now() >= next_fault && !faults.is_empty() {
            let row = faults[rng.random_range(0..faults.len())];
            let hold = rng.random_range(row.hold_ms.0..=row.hold_ms.1);
            let needs = Duration::from_millis(hold)
                + Duration::from_secs(row.recover_s)
                + if row.until_reconnect {
                    RECONNECT_WAIT_MAX
                } else {
                    Duration::ZERO
                };
            if needs < remaining {
                let st = http
                    .sim_get("/sim/stats")
                    .await
                    .map(|r| r.1)
                    .unwrap_or_default();
                let body = (row.inject.1)(hold, &mut rng);
                match http.sim_post(row.inject.0, &body).await {
                    Ok((s, _)) if (200..300).contains(&s) => {
                        counts.faults += 1;
                        println!(
                            "soak: {:>6.1} s fault {} on: POST {} {} (hold {} ms{})",
                            t0.elapsed().as_secs_f64(),
                            row.name,
                            row.inject.0,
                            body,
                            hold,
                            if row.until_reconnect {
                                ", until the adapter reconnects"
                            } else {
                                ""
                            }
                        );
                        active = Some(ActiveFault {
                            row,
                            until: Instant::now() + Duration::from_millis(hold),
                            ws_connects: st["wsConnects"].as_u64().unwrap_or(0),
                            since: Instant::now(),
                            since_ms: now_ms(),
                        });
                    }
                    other => {
                        counts.hook_errors += 1;
                        println!("soak: fault {} could not be injected: {other:?}", row.name);
                    }
                }
            }
        } else if roll < 0.09 {
            counts.pushes += 1;
            if let Err(e) = http.sim_raw(malformed(&mut rng)).await {
                counts.hook_errors += 1;
                println!("soak: /sim/push failed: {e}");
            }
        } else if roll < 0.12 {
            // A burst: which devices it touched, from their lastStatusUpdate.
            let before = raw.clone();
            // Its start: the adapter applies its events before this loop learns which
            // devices it touched, so a later time would miss them.
            let started = now_ms();
            let n = rng.random_range(10..=150);
            let body = json!({"count": n, "seed": rng.random::<u32>(), "changes": rng.random_range(1..=2)});
            match http.sim_post("/sim/burst", &body).await {
                Ok((200, _)) => {
                    counts.bursts += 1;
                    counts.burst_events += n;
                }
                other => {
                    counts.hook_errors += 1;
                    println!("soak: /sim/burst {body}: {other:?}");
                }
            }
            if let Ok(h) = http.home().await {
                (raw, model) = h;
            }
            for (id, d) in raw["devices"].as_object().into_iter().flatten() {
                if before["devices"][id]["lastStatusUpdate"] != d["lastStatusUpdate"] {
                    touched
                        .entry(format!("devices.{id}"))
                        .or_default()
                        .push(started);
                }
            }
        } else if roll < 0.30 {
            // A user write.
            if writable.is_empty() {
                continue;
            }
            if let Ok(h) = http.home().await {
                (raw, model) = h;
            }
            // Local parameters (half the writable states) one write in five.
            let pool = if params_ids.is_empty()
                || (rng.random_bool(0.8) && params_ids.len() < writable.len())
            {
                &commands
            } else {
                &params_ids
            };
            let (id, common) = &writable[pool[rng.random_range(0..pool.len())]];
            let val = random_value(common, id, &mut rng);
            let log_from = adapter.line_count();
            let (status, answer) = match http.api_put(id, &val).await {
                Ok(r) => r,
                Err(e) => {
                    counts.hook_errors += 1;
                    println!("soak: PUT {id}: {e}");
                    continue;
                }
            };
            counts.writes += 1;
            let mut w = UserWrite {
                id: id.clone(),
                val: val.clone(),
                ts: now_ms(),
                status,
                call: None,
                local: false,
                log_from,
            };
            if status == 200 {
                counts.writes_ok += 1;
                let param = |pid: &str| params.get(pid).cloned();
                match tree::write_to_call(NS, &model, id, &val, &param) {
                    Ok(WriteAction::Call(c)) => w.call = Some(c),
                    Ok(WriteAction::Local) => {
                        w.local = true;
                        params.insert(id.clone(), val.clone());
                    }
                    // A PIN: kept apart (the mask keeps it), the state shows the mask.
                    Ok(WriteAction::Secret(kept)) => {
                        w.local = true;
                        match kept.as_deref() {
                            Some("") => {
                                params.remove(id);
                            }
                            Some(pin) => {
                                params.insert(id.clone(), json!(pin));
                            }
                            None => {}
                        }
                        let shown = if params.contains_key(id) {
                            tree::SECRET_MASK
                        } else {
                            ""
                        };
                        w.val = json!(shown);
                    }
                    Err(_) => {}
                }
            } else {
                counts.writes_refused += 1;
                let _ = answer;
            }
            writes.push(w);
        } else {
            // A device report.
            if let Some((dev, ch, fields)) = device_report(&raw, &mut rng) {
                let path = format!("/sim/device/{dev}/channel/{ch}");
                let started = now_ms();
                match http.sim_post(&path, &Value::Object(fields.clone())).await {
                    Ok((200, device)) => {
                        counts.reports += 1;
                        touched
                            .entry(format!("devices.{dev}"))
                            .or_default()
                            .push(started);
                        if let Some(d) = raw["devices"].get_mut(&dev) {
                            *d = device;
                        }
                    }
                    other => {
                        counts.hook_errors += 1;
                        println!("soak: POST {path}: {other:?}");
                    }
                }
            }
        }
        if adapter.exited().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..=450))).await;
    }
    let loop_time = t0.elapsed();

    // The end: every fault ended, then connected and quiet.
    if let Some(a) = active.take() {
        end_fault(&http, &pairing, &a, &mut counts).await;
        fault_windows.push((a.since_ms, now_ms() + 15_000));
    }
    for f in &faults {
        if let Some((path, body)) = f.end {
            let _ = http.sim_post(path, &body()).await;
        }
    }
    let mut differences: Vec<String> = Vec::new();
    if let Some(st) = adapter.exited() {
        differences.push(format!("the adapter exited during the soak ({st})"));
    }
    let settle = Instant::now();
    let mut last_writes = None;
    let mut quiet_since = Instant::now();
    let settled = loop {
        let stats = http
            .api_get("/api/v1/stats")
            .await
            .map(|r| r.1)
            .unwrap_or_default();
        let sim_stats = http
            .sim_get("/sim/stats")
            .await
            .map(|r| r.1)
            .unwrap_or_default();
        let now = (stats["stateWrites"].clone(), request_count(&sim_stats));
        if last_writes.as_ref() != Some(&now) || !http.connected().await {
            quiet_since = Instant::now();
            last_writes = Some(now);
        }
        if quiet_since.elapsed() >= QUIET {
            break true;
        }
        if settle.elapsed() > SETTLE_MAX || adapter.exited().is_some() {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "soak: loop {:.0} s; {} after {:.1} s",
        loop_time.as_secs_f64(),
        if settled {
            "connected and quiet"
        } else {
            "NOT settled"
        },
        settle.elapsed().as_secs_f64()
    );
    if !settled {
        differences.push(format!(
            "not connected and quiet ({QUIET:?} without a state write or request) within {SETTLE_MAX:?}"
        ));
    }

    // Store against the simulator's home.
    let (_, model) = http.home().await.expect("the simulator's home");
    let snap = tree::snapshot(NS, &model);
    let compared = |id: &str| {
        COMPARED
            .iter()
            .any(|p| id.starts_with(&format!("{NS}.{p}")))
    };
    let mut expected: BTreeMap<String, Value> = snap
        .values
        .iter()
        .filter(|v| compared(&v.id))
        .map(|v| (v.id.clone(), v.val.clone()))
        .collect();
    for w in writes.iter().filter(|w| w.local) {
        expected.insert(w.id.clone(), w.val.clone());
    }
    let calls = http
        .sim_get("/sim/calls")
        .await
        .map(|r| r.1)
        .unwrap_or_default();
    let calls = calls.as_array().cloned().unwrap_or_default();
    // A delivered `readSecurityJournal` fills the journal states from the answer; the soak
    // logs no journal entries, so the simulator answers an empty journal.
    let journal = tree::alarm::journal::call();
    if calls.iter().any(|c| c["path"] == json!(journal.path)) {
        let answer = json!({ "entries": [] });
        for v in tree::alarm::journal::values(NS, &model, &journal, &answer).unwrap_or_default() {
            expected.insert(v.id, v.val);
        }
    }
    let want_objects: BTreeSet<&str> = snap
        .objects
        .iter()
        .map(|o| o.id.as_str())
        .filter(|id| compared(id))
        .collect();
    let store_objects = http.map("objects").await;
    let have_objects: BTreeSet<&str> = store_objects
        .keys()
        .map(String::as_str)
        .filter(|id| compared(id))
        .collect();
    for id in want_objects.difference(&have_objects) {
        differences.push(format!("object {id}: missing in the store"));
    }
    for id in have_objects.difference(&want_objects) {
        differences.push(format!("object {id}: in the store, not in the home"));
    }
    let states = http.map("states").await;
    for (id, want) in &expected {
        match states.get(id) {
            None => differences.push(format!("state {id}: store none, expected {want}")),
            Some(st) if !same_value(&st["val"], want) || st["ack"] != json!(true) => differences
                .push(format!(
                    "state {id}: store {} (ack {}), expected {want}",
                    st["val"], st["ack"]
                )),
            Some(_) => {}
        }
    }
    let written: HashMap<&str, &UserWrite> = writes.iter().map(|w| (w.id.as_str(), w)).collect();
    for (id, st) in &states {
        // Actions (no value from the cloud) written by the soak: judged with the writes.
        if compared(id)
            && !expected.contains_key(id)
            && !st["val"].is_null()
            && !written.contains_key(id.as_str())
        {
            // Event states (a button press) have a value only after the event.
            let is_event = store_objects.get(id).is_some_and(|o| {
                o["common"]["role"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("button") || r == "value")
            }) && want_objects.contains(id.as_str());
            if !is_event {
                differences.push(format!(
                    "state {id}: store {}, expected no value",
                    st["val"]
                ));
            }
        }
    }

    // Accepted writes: delivered, refused with an error line, or superseded.
    let later: HashMap<&str, usize> = writes
        .iter()
        .enumerate()
        .filter(|(_, w)| w.status == 200)
        .map(|(i, w)| (w.id.as_str(), i))
        .collect();
    let (mut delivered, mut exact, mut refused_logged, mut superseded, mut judged) =
        (0, 0, 0, 0, 0);
    let mut refused_mapping = 0;
    for (i, w) in writes.iter().enumerate() {
        let Some(call) = &w.call else {
            // Accepted by the API, refused by the mapping (a parameter not set): one line.
            if w.status == 200 && !w.local {
                refused_mapping += 1;
                if adapter
                    .find(w.log_from, &[&format!("write to {} refused", w.id)])
                    .is_none()
                {
                    differences.push(format!(
                        "write {} = {} (accepted): no control call and no refusal in the log",
                        w.id, w.val
                    ));
                }
            }
            continue;
        };
        let target = |b: &Value| {
            ["deviceId", "channelIndex", "groupId"]
                .iter()
                .all(|k| b.get(k) == call.body.get(k))
        };
        let sent: Vec<&Value> = calls
            .iter()
            .filter(|c| {
                c["path"] == json!(call.path)
                    && c["ts"].as_i64().unwrap_or(0) >= w.ts - 2_000
                    && target(&c["body"])
            })
            .collect();
        let is_last = later.get(w.id.as_str()) == Some(&i);
        let failed = adapter
            .find(w.log_from, &[&format!(" for {} failed", w.id)])
            .or_else(|| adapter.find(w.log_from, &[&format!("write to {} refused", w.id)]));
        if !sent.is_empty() {
            delivered += 1;
            if sent.iter().any(|c| c["body"] == call.body) {
                exact += 1;
            }
        } else if failed.is_some() {
            refused_logged += 1;
        } else if !is_last {
            superseded += 1;
        } else {
            differences.push(format!(
                "write {} = {} (accepted at {}): never reached the cloud (expected {} {}) and no error in the log",
                w.id, w.val, w.ts, call.path, call.body
            ));
        }
        // An action (a state the cloud gives no value): acknowledged as written once sent.
        if is_last && !sent.is_empty() && failed.is_none() && !expected.contains_key(&w.id) {
            judged += 1;
            let st = states.get(&w.id).cloned().unwrap_or_default();
            if !same_value(&st["val"], &w.val) || st["ack"] != json!(true) {
                differences.push(format!(
                    "action {} = {} (delivered as {} {}): the state shows {} (ack {}) at the end",
                    w.id, w.val, call.path, call.body, st["val"], st["ack"]
                ));
            }
            continue;
        }
        // What the store showed after the write: the first acknowledged value must be the
        // written one, unless something else changed the device or a fault may have lost
        // the confirming push before it (then the final comparison judges).
        let mirrors = call
            .body
            .get(w.id.rsplit('.').next().unwrap_or_default())
            .is_some();
        if sent.is_empty() || failed.is_some() || !mirrors {
            continue;
        }
        let next_write = writes[i + 1..]
            .iter()
            .find(|n| n.id == w.id && n.status == 200)
            .map_or(i64::MAX, |n| n.ts);
        // Every acknowledged value from the write until the next write to the state (the
        // adapter may still be working through events older than the write).
        let acks: Vec<(i64, Value)> = changes
            .lock()
            .unwrap()
            .get(&w.id)
            .map(|c| {
                c.iter()
                    .filter(|(ts, _, ack)| *ack && *ts >= w.ts - 50 && *ts < next_write)
                    .map(|(ts, v, _)| (*ts, v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let Some((last_ts, last_val)) = acks.last().cloned() else {
            continue;
        };
        // Something else changed the device from 5 s before (events still queued) until
        // then, or a fault may have lost the confirming push: the final comparison judges.
        let disturbed = touched
            .get(&owner(&w.id))
            .is_some_and(|t| t.iter().any(|&t| t >= w.ts - 5_000 && t <= last_ts))
            || fault_windows
                .iter()
                .any(|&(a, b)| a <= last_ts && b >= w.ts - 5_000);
        if disturbed {
            continue;
        }
        judged += 1;
        if !acks.iter().any(|(_, v)| same_value(v, &w.val)) {
            differences.push(format!(
                "write {} = {} (delivered as {} {}): never acknowledged as written; {} ms later \
                 the state showed {last_val} (silently reverted)",
                w.id,
                w.val,
                call.path,
                call.body,
                last_ts - w.ts
            ));
        }
    }
    watcher.abort();

    // The request budget.
    let sim_stats = http
        .sim_get("/sim/stats")
        .await
        .map(|r| r.1)
        .unwrap_or_default();
    samples.push((now_ms(), request_count(&sim_stats)));
    let (_, max_window) = request_windows(&sim_stats, &samples, now_ms());
    if opts.hcu && request_count(&sim_stats) > 0 {
        differences.push(format!(
            "{} requests reached the cloud over the local transport",
            request_count(&sim_stats)
        ));
    }
    if max_window > BUDGET_PER_MIN {
        differences.push(format!(
            "{max_window} requests in a 60 s window, above the client's budget of {BUDGET_PER_MIN}"
        ));
    }

    let calls_expected = writes.iter().filter(|w| w.call.is_some()).count();
    println!(
        "soak: {} reports, {} bursts ({} events), {} malformed pushes, {} faults, {} hook errors",
        counts.reports,
        counts.bursts,
        counts.burst_events,
        counts.pushes,
        counts.faults,
        counts.hook_errors
    );
    println!(
        "soak: {} writes: {} refused by the API, {} accepted ({} local parameters, {refused_mapping} \
         refused by the adapter with a log line, {} control calls: \
         {delivered} reached the cloud ({exact} with the exact body), {refused_logged} refused with an \
         error in the log, {superseded} superseded by a later write; {judged} judged by what the state showed next)",
        counts.writes,
        counts.writes_refused,
        counts.writes_ok,
        writes.iter().filter(|w| w.local).count(),
        calls_expected
    );
    println!(
        "soak: {} states and {} objects compared; at most {max_window} requests in a 60 s window \
         (client budget {BUDGET_PER_MIN}); {} requests, {} websocket connects in all",
        expected.len(),
        want_objects.len(),
        request_count(&sim_stats),
        sim_stats["wsConnects"]
    );
    if opts.hcu {
        println!(
            "soak: over the HCU's local API: {} requests, {} websocket connects, plugin state {}",
            sim_stats["hcu"]["requests"],
            sim_stats["hcu"]["wsConnects"],
            sim_stats["hcu"]["pluginState"]
        );
    }
    for d in &differences {
        println!("DIFF {d}");
    }
    drop(adapter);
    drop(sim);
    if differences.is_empty() {
        println!("soak: 0 differences");
    } else {
        let kept = dir.keep();
        println!(
            "soak: {} differences (logs kept in {})",
            differences.len(),
            kept.display()
        );
        std::process::exit(1);
    }
}

/// `iobroker-hmip pair` against the simulator, into the config file `run` reads.
struct Pairing {
    lookup: String,
    /// The simulator's hooks, for a fresh activation key.
    sim: String,
    /// Pair with the simulated HCU's local API at these ports (pairing, websocket).
    hcu_ports: Option<(String, String)>,
    config: PathBuf,
    log: PathBuf,
}

impl Pairing {
    /// Pair (the simulator presses the button itself; for the HCU, a fresh activation key
    /// from its hook); true when it worked within 60 s.
    async fn pair(&self) -> bool {
        let config = self.config.to_str().unwrap();
        let mut pair = match &self.hcu_ports {
            None => Proc::spawn(
                "pair",
                &[
                    "pair",
                    "--sgtin",
                    DEFAULT_SGTIN,
                    "--lookup-url",
                    &self.lookup,
                    "--config",
                    config,
                ],
                &self.log,
            ),
            Some((auth, ws)) => {
                let key = match reqwest::Client::new()
                    .post(format!("{}/sim/hcu/activation-key", self.sim))
                    .send()
                    .await
                {
                    Ok(r) => r.json::<Value>().await.ok(),
                    Err(_) => None,
                };
                let Some(key) = key
                    .as_ref()
                    .and_then(|k| k["activationKey"].as_str())
                    .map(str::to_string)
                else {
                    return false;
                };
                Proc::spawn(
                    "pair",
                    &[
                        "pair",
                        "--hcu",
                        "127.0.0.1",
                        "--hcu-auth-port",
                        auth,
                        "--hcu-websocket-port",
                        ws,
                        "--activation-key",
                        &key,
                        "--config",
                        config,
                    ],
                    &self.log,
                )
            }
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = pair.exited() {
                return st.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn end_fault(http: &Http, pairing: &Pairing, a: &ActiveFault, counts: &mut Counts) {
    if a.row.pair_again && !pairing.pair().await {
        counts.hook_errors += 1;
        println!(
            "soak: fault {}: pairing again failed; see {}",
            a.row.name,
            pairing.log.display()
        );
    }
    if let Some((path, body)) = a.row.end {
        match http.sim_post(path, &body()).await {
            Ok((s, _)) if (200..300).contains(&s) => {}
            other => {
                counts.hook_errors += 1;
                println!("soak: fault {} could not be ended: {other:?}", a.row.name);
            }
        }
    }
    println!(
        "soak: fault {} off after {:.1} s",
        a.row.name,
        a.since.elapsed().as_secs_f64()
    );
}
