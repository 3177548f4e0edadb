//! The whole process, measured: the real binary (`run` on the embedded store) against the
//! real simulator (`sim`), each its own process on 127.0.0.1, driven over HTTP.
//!
//! ```sh
//! cargo bench --bench process                      # 150, 1000 and 5000 devices (minutes)
//! cargo bench --bench process -- --devices 150 --runs 5 --events 100000
//! cargo bench --bench process -- --smoke           # tiny, for CI (seconds; figures meaningless)
//! HMIP_BIN=/tmp/other cargo bench --bench process -- --devices 2000   # another build
//! ```
//!
//! For each home size (150 = `tests/fixtures/home.json` itself, any other N a synthetic home
//! of N devices built from it with seed 1, `sim --synthetic N --seed 1`):
//! - startup: spawn of `run` (fresh data directory) until `hmip.0.info.connection` is true
//!   (polled every 2 ms through the HTTP API; true means the whole tree is stored), `--runs`
//!   times: median, min, max; and until the HTTP API first answers;
//! - memory: VmRSS 1 s after the connection (and the peak so far, VmHWM);
//! - a burst of `--burst` (1,000) device events (`POST /sim/burst`, one changed field each):
//!   from the simulator's answer (every event handed to the websocket) until the adapter has
//!   stored the last one (the last device's `info.lastStatusUpdate`), the adapter's CPU time
//!   over the burst, state and object writes per event (`GET /api/v1/stats`);
//! - an unchanged event: a device pushed (`POST /sim/push`) exactly as the simulator has
//!   it, twice; the state writes each push caused (expected 0);
//! - `--events` (100,000) events in bursts of 10,000: time, events/s, writes per event, CPU,
//!   then VmRSS again (and VmHWM).
//!
//! Every child process is killed when the bench ends, panics or is killed itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iobroker_hmip::adapter::config::InstanceConfig;
use iobroker_hmip::sim::{DEFAULT_AUTH_TOKEN, DEFAULT_SGTIN};
use serde_json::{json, Value};

/// The binary measured: this build's, or `HMIP_BIN` (another build, to compare two
/// binaries on the same machine in the same hour, runs alternating).
fn bin() -> String {
    std::env::var("HMIP_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_iobroker-hmip").to_string())
}
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json");
/// Devices in the fixture: this size is the fixture itself, not a synthetic home.
const FIXTURE_DEVICES: usize = 150;
const SEED: u64 = 1;
const POLL: Duration = Duration::from_millis(2);
const CONNECTION: &str = "hmip.0.info.connection";

// ---------------------------------------------------------------------------------------
// Options.

struct Opts {
    devices: Vec<usize>,
    runs: usize,
    burst: u64,
    events: u64,
    chunk: u64,
    smoke: bool,
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            devices: vec![150, 1000, 5000],
            runs: 5,
            burst: 1000,
            events: 100_000,
            chunk: 10_000,
            smoke: false,
        };
        let mut args = std::env::args().skip(1);
        let num = |v: Option<String>, name: &str| -> u64 {
            v.and_then(|s| s.replace('_', "").parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--devices" => {
                    o.devices = args
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| {
                            s.trim()
                                .parse()
                                .unwrap_or_else(|_| usage("--devices N,N,…"))
                        })
                        .collect()
                }
                "--runs" => o.runs = num(args.next(), "--runs").max(1) as usize,
                "--burst" => o.burst = num(args.next(), "--burst").max(1),
                "--events" => o.events = num(args.next(), "--events"),
                "--chunk" => o.chunk = num(args.next(), "--chunk").max(1),
                "--smoke" => {
                    o.smoke = true;
                    o.devices = vec![150];
                    o.runs = 1;
                    o.events = 2000;
                }
                // What cargo bench passes to every bench; filters make no sense here.
                "--bench" => {}
                "-h" | "--help" => usage(""),
                other if other.starts_with('-') => usage(&format!("unknown option {other}")),
                _ => {}
            }
        }
        o
    }
}

fn usage(err: &str) -> ! {
    if !err.is_empty() {
        eprintln!("process bench: {err}");
    }
    eprintln!(
        "usage: cargo bench --bench process -- [--devices 150,1000,5000] [--runs 5] \
         [--burst 1000] [--events 100000] [--chunk 10000] [--smoke]"
    );
    std::process::exit(if err.is_empty() { 0 } else { 2 })
}

// ---------------------------------------------------------------------------------------
// Child processes.

/// A child process killed (SIGTERM, SIGKILL after 5 s) and reaped when dropped, so that
/// nothing outlives the bench, on a panic included. The child also gets SIGKILL when the
/// bench process dies (PR_SET_PDEATHSIG).
struct Proc {
    name: String,
    child: Option<Child>,
}

impl Proc {
    fn spawn(name: &str, args: &[&str], log: &Path) -> Proc {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(log).expect("log file");
        let bin = bin();
        let mut cmd = Command::new(&bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // SAFETY: prctl only sets a flag of the new process, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        Proc {
            name: name.to_string(),
            child: Some(child),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The first line of stdout containing `needle`, within `timeout`.
    fn wait_stdout(&mut self, needle: &str, timeout: Duration) -> String {
        let out = self
            .child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let needle = needle.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains(&needle) {
                    let _ = tx.send(line);
                }
            }
        });
        rx.recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("{} printed nothing in {timeout:?}", self.name))
    }

    /// Stop it: SIGTERM, then SIGKILL after 5 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
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

/// What /proc says about a process: resident set now and at its peak (bytes), CPU seconds.
fn vm(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn rss(pid: u32) -> u64 {
    vm(pid, "VmRSS:")
}

fn peak_rss(pid: u32) -> u64 {
    vm(pid, "VmHWM:")
}

/// utime + stime in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3 (index 0 here), utime 14, stime 15.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

/// CPU seconds per thread name (tokio's workers share one), of the threads alive now.
type ThreadCpu = std::collections::BTreeMap<String, f64>;

fn thread_cpu(pid: u32) -> ThreadCpu {
    let mut out = ThreadCpu::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        // SAFETY: sysconf only reads a constant of the system.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        *out.entry(name).or_default() += ticks as f64 / hz;
    }
    out
}

/// Where the CPU time between two samples went: `name 1.23 s, …`, biggest first, the time
/// of threads that ended meanwhile as `ended threads`.
fn cpu_split(before: &ThreadCpu, after: &ThreadCpu, total: f64) -> String {
    let mut parts: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v >= 0.005)
        .collect();
    let ended = total - parts.iter().map(|(_, v)| v).sum::<f64>();
    if ended >= 0.005 {
        parts.push(("ended threads".into(), ended));
    }
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    parts
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} s"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Size of a file in bytes (0 when missing).
fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

// ---------------------------------------------------------------------------------------
// A small blocking HTTP/1.1 client: one connection per request, so that polling costs the
// adapter as little as a browser would.

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(300)))?;
    s.set_nodelay(true)?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status"))?;
    let mut payload = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        payload = unchunk(&payload);
    }
    Ok((status, payload))
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A JSON request that must answer 200.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let text = body.map(Value::to_string);
    let (status, payload) = http(addr, method, path, text.as_deref())
        .unwrap_or_else(|e| panic!("{method} http://{addr}{path}: {e}"));
    assert_eq!(
        status,
        200,
        "{method} http://{addr}{path}: {}",
        String::from_utf8_lossy(&payload)
    );
    serde_json::from_slice(&payload).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A state's value, None while it does not exist (or the API is not up).
fn state_val(api: SocketAddr, id: &str) -> Option<Value> {
    match http(api, "GET", &format!("/api/v1/state/{id}"), None) {
        Ok((200, body)) => serde_json::from_slice::<Value>(&body)
            .ok()
            .map(|s| s["val"].clone()),
        _ => None,
    }
}

/// Poll a state every 2 ms until `pred` holds; panics after `timeout`. While polling, the
/// adapter's VmRSS is sampled: returns the highest seen.
fn wait_state(
    api: SocketAddr,
    id: &str,
    pid: u32,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> u64 {
    let deadline = Instant::now() + timeout;
    let mut high = 0;
    loop {
        high = high.max(rss(pid));
        if state_val(api, id).is_some_and(|v| pred(&v)) {
            return high;
        }
        assert!(
            Instant::now() < deadline,
            "{id} not as expected within {timeout:?}"
        );
        std::thread::sleep(POLL);
    }
}

fn stats(api: SocketAddr) -> (u64, u64) {
    let s = call(api, "GET", "/api/v1/stats", None);
    (
        s["stateWrites"].as_u64().unwrap_or(0),
        s["objectWrites"].as_u64().unwrap_or(0),
    )
}

// ---------------------------------------------------------------------------------------
// The measurements.

#[derive(Default, Clone)]
struct Figures {
    devices: usize,
    objects: u64,
    startup: Vec<Duration>,
    api_up: Vec<Duration>,
    startup_state_writes: u64,
    rss_start: u64,
    peak_start: u64,
    burst_events: u64,
    burst_send: Duration,
    burst_after_answer: Duration,
    burst_cpu: f64,
    burst_sim_cpu: f64,
    burst_threads: String,
    startup_cpu: f64,
    startup_threads: String,
    files_start: (u64, u64),
    files_after: (u64, u64),
    many_threads: String,
    burst_writes: f64,
    burst_object_writes: u64,
    burst_rss_high: u64,
    unchanged_first: u64,
    unchanged_second: u64,
    many_events: u64,
    many_time: Duration,
    many_cpu: f64,
    many_sim_cpu: f64,
    many_writes: f64,
    rss_after: u64,
    peak_after: u64,
}

struct Size<'a> {
    opts: &'a Opts,
    dir: PathBuf,
    sim: Proc,
    sim_addr: SocketAddr,
    config: PathBuf,
}

impl<'a> Size<'a> {
    fn start(opts: &'a Opts, devices: usize, dir: &Path) -> Size<'a> {
        let mut args = vec!["sim", "--listen", "127.0.0.1:0", "--fixture", FIXTURE];
        let n = devices.to_string();
        let seed = SEED.to_string();
        if devices != FIXTURE_DEVICES {
            args.extend(["--synthetic", &n, "--seed", &seed]);
        }
        let mut sim = Proc::spawn("sim", &args, &dir.join("sim.log"));
        let line = sim.wait_stdout("listening on http://", Duration::from_secs(120));
        let sim_addr: SocketAddr = line
            .rsplit("http://")
            .next()
            .and_then(|a| a.trim().trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let config = dir.join("hmip.json");
        InstanceConfig {
            access_point_sgtin: DEFAULT_SGTIN.into(),
            auth_token: DEFAULT_AUTH_TOKEN.into(),
            lookup_url: Some(format!("http://{sim_addr}/getHost")),
            ..InstanceConfig::default()
        }
        .save(&config)
        .expect("config written");
        Size {
            opts,
            dir: dir.to_path_buf(),
            sim,
            sim_addr,
            config,
        }
    }

    /// Start `run` on a fresh data directory; returns it with its API address, the time
    /// until the API answered and until info.connection was true.
    fn start_adapter(&self, run: usize) -> (Proc, SocketAddr, Duration, Duration) {
        let data = self.dir.join(format!("data-{run}"));
        let port = free_port();
        let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let http_arg = api.to_string();
        let t0 = Instant::now();
        let mut p = Proc::spawn(
            "run",
            &[
                "run",
                "--config",
                self.config.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--http",
                &http_arg,
            ],
            &self.dir.join(format!("run-{run}.log")),
        );
        let deadline = t0 + Duration::from_secs(300);
        let mut up = None;
        loop {
            if let Ok((status, body)) =
                http(api, "GET", &format!("/api/v1/state/{CONNECTION}"), None)
            {
                up.get_or_insert_with(|| t0.elapsed());
                if status == 200
                    && serde_json::from_slice::<Value>(&body).is_ok_and(|s| s["val"] == json!(true))
                {
                    let t = t0.elapsed();
                    return (p, api, up.unwrap_or(t), t);
                }
            }
            if let Some(Ok(Some(status))) = p.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(self.dir.join(format!("run-{run}.log")));
                panic!("run {run} exited ({status}): {}", log.unwrap_or_default());
            }
            assert!(
                Instant::now() < deadline,
                "run {run}: not connected after 300 s; see {}",
                self.dir.display()
            );
            std::thread::sleep(POLL);
        }
    }

    fn measure(&mut self, f: &mut Figures) {
        // (a) startup, --runs times; the last run stays for the rest.
        let mut adapter = None;
        for run in 0..self.opts.runs {
            let (p, api, up, connected) = self.start_adapter(run);
            f.api_up.push(up);
            f.startup.push(connected);
            eprintln!(
                "  run {}/{}: API up after {}, connected after {}",
                run + 1,
                self.opts.runs,
                ms(up),
                ms(connected)
            );
            if run + 1 < self.opts.runs {
                drop(p);
                let _ = std::fs::remove_dir_all(self.dir.join(format!("data-{run}")));
            } else {
                adapter = Some((p, api));
            }
        }
        let (adapter, api) = adapter.expect("at least one run");
        let pid = adapter.pid();
        let sim_pid = self.sim.pid();
        let (w, o) = stats(api);
        f.startup_state_writes = w;
        f.objects = o;
        f.startup_cpu = cpu_seconds(pid);
        f.startup_threads = cpu_split(&ThreadCpu::new(), &thread_cpu(pid), f.startup_cpu);
        let data = self.dir.join(format!("data-{}", self.opts.runs - 1));
        let files = || {
            (
                file_size(&data.join("objects.jsonl")),
                file_size(&data.join("states.json")),
            )
        };

        // (b) memory once settled.
        std::thread::sleep(Duration::from_secs(1));
        f.rss_start = rss(pid);
        f.files_start = files();
        f.peak_start = peak_rss(pid);

        // (c) a burst.
        let (w0, o0) = stats(api);
        let (cpu0, sim0) = (cpu_seconds(pid), cpu_seconds(sim_pid));
        let threads0 = thread_cpu(pid);
        let t0 = Instant::now();
        let answer = call(
            self.sim_addr,
            "POST",
            "/sim/burst",
            Some(&json!({"count": self.opts.burst, "seed": 1})),
        );
        f.burst_send = t0.elapsed();
        let t1 = Instant::now();
        f.burst_rss_high = self.wait_last(api, pid, &answer);
        f.burst_after_answer = t1.elapsed();
        let (w1, o1) = stats(api);
        f.burst_cpu = cpu_seconds(pid) - cpu0;
        f.burst_sim_cpu = cpu_seconds(sim_pid) - sim0;
        f.burst_threads = cpu_split(&threads0, &thread_cpu(pid), f.burst_cpu);
        f.burst_events = answer["sent"].as_u64().unwrap_or(0);
        f.burst_writes = (w1 - w0) as f64 / f.burst_events.max(1) as f64;
        f.burst_object_writes = o1 - o0;

        // (d) an unchanged device, pushed twice.
        let (first, second) = self.unchanged(api, &answer);
        f.unchanged_first = first;
        f.unchanged_second = second;

        // (e) many events, in bursts.
        let (w0, _) = stats(api);
        let (cpu0, sim0) = (cpu_seconds(pid), cpu_seconds(sim_pid));
        let threads0 = thread_cpu(pid);
        let t0 = Instant::now();
        let mut sent = 0;
        let mut seed = 100;
        while sent < self.opts.events {
            let count = self.opts.chunk.min(self.opts.events - sent);
            let answer = call(
                self.sim_addr,
                "POST",
                "/sim/burst",
                Some(&json!({"count": count, "seed": seed})),
            );
            seed += 1;
            self.wait_last(api, pid, &answer);
            sent += answer["sent"].as_u64().unwrap_or(0);
        }
        f.many_time = t0.elapsed();
        f.many_events = sent;
        f.many_cpu = cpu_seconds(pid) - cpu0;
        f.many_sim_cpu = cpu_seconds(sim_pid) - sim0;
        f.many_threads = cpu_split(&threads0, &thread_cpu(pid), f.many_cpu);
        let (w1, _) = stats(api);
        f.many_writes = (w1 - w0) as f64 / sent.max(1) as f64;
        std::thread::sleep(Duration::from_secs(1));
        f.rss_after = rss(pid);
        f.peak_after = peak_rss(pid);
        f.files_after = files();
        drop(adapter);
    }

    /// Wait until the adapter has stored the last event of a burst answer; returns the
    /// highest VmRSS seen meanwhile.
    fn wait_last(&self, api: SocketAddr, pid: u32, answer: &Value) -> u64 {
        let last = &answer["last"];
        let Some(device) = last["deviceId"].as_str() else {
            return rss(pid);
        };
        let want = last["lastStatusUpdate"].clone();
        wait_state(
            api,
            &format!("hmip.0.devices.{device}.info.lastStatusUpdate"),
            pid,
            Duration::from_secs(300),
            |v| *v == want,
        )
    }

    /// The state writes of a device pushed as the simulator has it, twice. Each push is
    /// followed by a marker change of another device, whose arrival (events are applied in
    /// order) says that the push has been dealt with; the marker's own writes are measured
    /// alone first and subtracted.
    fn unchanged(&self, api: SocketAddr, burst: &Value) -> (u64, u64) {
        let home = call(self.sim_addr, "GET", "/sim/home", None);
        let devices = home["devices"].as_object().expect("devices");
        let pushed_id = burst["last"]["deviceId"].as_str().unwrap_or("");
        let pushed = devices
            .values()
            .find(|d| d["id"] == pushed_id)
            .or_else(|| devices.values().next())
            .expect("a device")
            .clone();
        // The marker: the first boolean of a channel other than 0, of another device.
        let (marker, channel, field) = devices
            .iter()
            .filter(|(_, d)| d["id"] != pushed["id"])
            .find_map(|(key, d)| {
                d["functionalChannels"]
                    .as_object()?
                    .iter()
                    .find_map(|(n, ch)| {
                        let (field, _) = ch.as_object()?.iter().find(|(k, v)| {
                            v.is_boolean() && n != "0" && !k.starts_with("synthetic")
                        })?;
                        Some((key.clone(), n.clone(), field.clone()))
                    })
            })
            .expect("a device with a boolean field");
        let mut on = home["devices"][&marker]["functionalChannels"][&channel][&field]
            .as_bool()
            .unwrap_or(false);
        let mut mark = |this: &Size| {
            on = !on;
            let device = call(
                this.sim_addr,
                "POST",
                &format!("/sim/device/{marker}/channel/{channel}"),
                Some(&json!({ field.as_str(): on })),
            );
            let want = device["lastStatusUpdate"].clone();
            let id = device["id"].as_str().unwrap_or(&marker).to_string();
            wait_state(
                api,
                &format!("hmip.0.devices.{id}.info.lastStatusUpdate"),
                0,
                Duration::from_secs(60),
                |v| *v == want,
            );
        };
        let push = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": pushed}}});
        let (w0, _) = stats(api);
        std::thread::sleep(Duration::from_millis(2));
        mark(self);
        let (w1, _) = stats(api);
        let marker_writes = w1 - w0;
        let mut out = [0; 2];
        for o in &mut out {
            let (w0, _) = stats(api);
            call(self.sim_addr, "POST", "/sim/push", Some(&push));
            std::thread::sleep(Duration::from_millis(2));
            mark(self);
            let (w1, _) = stats(api);
            *o = (w1 - w0).saturating_sub(marker_writes);
        }
        (out[0], out[1])
    }
}

// ---------------------------------------------------------------------------------------
// Output.

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    match s.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2,
    }
}

fn spread(v: &[Duration]) -> String {
    let min = v.iter().min().copied().unwrap_or_default();
    let max = v.iter().max().copied().unwrap_or_default();
    format!(
        "{} (min {}, max {}, {} runs)",
        ms(median(v)),
        ms(min),
        ms(max),
        v.len()
    )
}

fn print_size(f: &Figures) {
    let rows = [
        (
            "objects in the tree (object writes at start)",
            f.objects.to_string(),
        ),
        ("state writes at start", f.startup_state_writes.to_string()),
        ("startup: spawn → info.connection true", spread(&f.startup)),
        ("startup: spawn → HTTP API answers", spread(&f.api_up)),
        (
            "startup: CPU until connected, by thread",
            format!("{:.2} s: {}", f.startup_cpu, f.startup_threads),
        ),
        (
            "RSS 1 s after connected (peak so far)",
            format!("{} ({})", mib(f.rss_start), mib(f.peak_start)),
        ),
        (
            "data dir 1 s after connected: objects.jsonl, states.json",
            format!("{}, {}", mib(f.files_start.0), mib(f.files_start.1)),
        ),
        (
            "burst: events, simulator send time",
            format!("{} in {}", f.burst_events, ms(f.burst_send)),
        ),
        (
            "burst: answer → last event stored",
            ms(f.burst_after_answer),
        ),
        (
            "burst: adapter CPU (simulator CPU)",
            format!("{:.3} s ({:.3} s)", f.burst_cpu, f.burst_sim_cpu),
        ),
        (
            "burst: state writes per event (object writes)",
            format!("{:.2} ({})", f.burst_writes, f.burst_object_writes),
        ),
        ("burst: adapter CPU by thread", f.burst_threads.clone()),
        ("burst: highest RSS seen", mib(f.burst_rss_high)),
        (
            "unchanged device pushed: writes of 1st, 2nd push",
            format!("{}, {}", f.unchanged_first, f.unchanged_second),
        ),
        (
            "many events: count, time (events/s)",
            format!(
                "{} in {} ({:.0}/s)",
                f.many_events,
                ms(f.many_time),
                f.many_events as f64 / f.many_time.as_secs_f64().max(1e-9)
            ),
        ),
        (
            "many events: adapter CPU (simulator CPU)",
            format!("{:.2} s ({:.2} s)", f.many_cpu, f.many_sim_cpu),
        ),
        ("many events: adapter CPU by thread", f.many_threads.clone()),
        (
            "many events: state writes per event",
            format!("{:.2}", f.many_writes),
        ),
        (
            "RSS 1 s after the events (peak so far)",
            format!("{} ({})", mib(f.rss_after), mib(f.peak_after)),
        ),
        (
            "data dir after the events: objects.jsonl, states.json",
            format!("{}, {}", mib(f.files_after.0), mib(f.files_after.1)),
        ),
    ];
    println!(
        "\n### {} devices{}\n",
        f.devices,
        if f.devices == FIXTURE_DEVICES {
            " (the fixture)"
        } else {
            " (synthetic, seed 1)"
        }
    );
    println!("| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}

fn print_summary(all: &[Figures]) {
    println!("\n### Summary\n");
    println!(
        "| devices | objects | startup median (min–max) | RSS after start | burst: stored after answer | burst CPU | writes/event | unchanged push writes | events/s | RSS after events (peak) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in all {
        let min = f.startup.iter().min().copied().unwrap_or_default();
        let max = f.startup.iter().max().copied().unwrap_or_default();
        println!(
            "| {} | {} | {} ({}–{}) | {} | {} ({} events) | {:.3} s | {:.2} | {} | {:.0} ({} events) | {} ({}) |",
            f.devices,
            f.objects,
            ms(median(&f.startup)),
            ms(min),
            ms(max),
            mib(f.rss_start),
            ms(f.burst_after_answer),
            f.burst_events,
            f.burst_cpu,
            f.burst_writes,
            f.unchanged_second,
            f.many_events as f64 / f.many_time.as_secs_f64().max(1e-9),
            f.many_events,
            mib(f.rss_after),
            mib(f.peak_after),
        );
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = vm_total();
    format!("{cores} cores, {cpu}, {mem}")
}

fn vm_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(
            || "memory unknown".into(),
            |kb| format!("{:.1} GiB RAM", kb as f64 / 1024.0 / 1024.0),
        )
}

fn main() {
    let opts = Opts::parse();
    println!(
        "## iobroker-hmip process bench{}\n",
        if opts.smoke {
            " (smoke: tiny, figures not meaningful)"
        } else {
            ""
        }
    );
    println!("- binary: {}", bin());
    println!("- machine: {}", machine());
    println!(
        "- homes: {:?} devices (150 = tests/fixtures/home.json, others `sim --synthetic N --seed {SEED}` from it)",
        opts.devices
    );
    println!(
        "- startup runs: {}; burst: {} events; then {} events in bursts of {}",
        opts.runs, opts.burst, opts.events, opts.chunk
    );
    let mut all = Vec::new();
    for &devices in &opts.devices {
        eprintln!("{devices} devices:");
        let tmp = tempfile::Builder::new()
            .prefix("hmip-bench-")
            .tempdir()
            .expect("temp dir");
        let mut size = Size::start(&opts, devices, tmp.path());
        let mut f = Figures {
            devices,
            ..Figures::default()
        };
        size.measure(&mut f);
        print_size(&f);
        all.push(f);
        drop(size);
    }
    print_summary(&all);
}
