//! Security: no token, client auth token or PIN in anything the program shows (its output
//! at trace level, every answer of the HTTP API, the event stream, error messages, its
//! process arguments); the HTTP API on 127.0.0.1 by default and closed to writes of
//! read-only states; TLS to the cloud always verified.
//!
//! Covered elsewhere, not repeated here: the config file is written with mode 0600
//! (tests/cli.rs `pair_then_run_and_no_secret_is_ever_logged`, and the unit tests of
//! src/adapter/config.rs, including a leftover temporary file with looser permissions);
//! a revoked token gives exactly one error line (tests/logs.rs).

mod common;

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::proc::{get_json, pair, start_sim, Proc, BIN};
use common::{fixture, Harness};
use iobroker_hmip::cloud::identity::client_auth;
use iobroker_hmip::cloud::lookup::lookup;
use iobroker_hmip::cloud::rest::http_client;
use iobroker_hmip::cloud::stream::{CloudConfig, HmipCloud};
use iobroker_hmip::cloud::{ClientOptions, CloudError, CloudEvent, Transport};
use iobroker_hmip::sim;
use iobroker_hmip::store::Store;
use serde_json::{json, Value};

/// A PIN no fixture value or id contains.
const PIN: &str = "86420975";
const WRONG_PIN: &str = "13579864";

/// The process's arguments as the kernel shows them to every user.
fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// The body of every answer to a request, kept for the search for secrets.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    fn request(&mut self, method: reqwest::Method, url: &str, body: Option<Value>) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (status, text) = rt.block_on(async {
            let mut req = reqwest::Client::new().request(method, url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
        self.0.push(text);
        status
    }

    fn get(&mut self, url: &str) -> u16 {
        self.request(reqwest::Method::GET, url, None)
    }

    fn put(&mut self, url: &str, val: Value) -> u16 {
        self.request(reqwest::Method::PUT, url, Some(json!({ "val": val })))
    }
}

/// The server-sent events of `url`, collected until the returned flag is set.
fn collect_events(url: String) -> (Arc<Mutex<String>>, Arc<AtomicBool>) {
    let text = Arc::new(Mutex::new(String::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (t, s) = (text.clone(), stop.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut resp = reqwest::get(&url).await.unwrap();
            while !s.load(Ordering::SeqCst) {
                match tokio::time::timeout(Duration::from_millis(200), resp.chunk()).await {
                    Ok(Ok(Some(c))) => t.lock().unwrap().push_str(&String::from_utf8_lossy(&c)),
                    Ok(_) => break,
                    Err(_) => {}
                }
            }
        });
    });
    (text, stop)
}

fn api_base(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string()
}

fn wait_connected(api: &str, want: bool, p: &Proc) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = get_json(&format!("{api}/api/v1/state/hmip.0.info.connection"));
        if st["val"] == Value::Bool(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connection never {want}:\n{}",
            p.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every secret the run knows must be absent from `haystack` (named `what`).
fn assert_clean(what: &str, haystack: &str, secrets: &[(&str, &str)]) {
    for (name, secret) in secrets {
        assert!(!secret.is_empty());
        if let Some(line) = haystack.lines().find(|l| l.contains(secret)) {
            // Where, with the secret itself masked (a failing test must not print it).
            let shown: String = line.replace(secret, "<SECRET>").chars().take(400).collect();
            panic!("the {name} appears in {what}:\n{shown}");
        }
    }
}

#[test]
fn no_secret_in_output_answers_events_errors_or_arguments() {
    let (sim, url) = start_sim(&[
        "--pin",
        PIN,
        "--button",
        "manual",
        "--fixture",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let trace = [("RUST_LOG", "trace")];

    // A wrong PIN: a clear error that repeats neither PIN.
    let mut wrong = pair(
        &url,
        sim::DEFAULT_SGTIN,
        &cfg,
        &[],
        &[("HMIP_PIN", WRONG_PIN), trace[0]],
    );
    assert!(!wrong.wait_exit().success());
    assert!(
        wrong.output().contains("refused the PIN"),
        "{}",
        wrong.output()
    );

    // The PIN from the environment only: not in the process arguments while pairing waits
    // for the button, and pairing succeeds with it.
    let mut pairing = pair(
        &url,
        sim::DEFAULT_SGTIN,
        &cfg,
        &[],
        &[("HMIP_PIN", PIN), trace[0]],
    );
    pairing.wait_for("press the blue button");
    let args = cmdline(pairing.child.id());
    assert!(args.contains(" pair "), "{args}");
    assert!(
        !args.contains(PIN),
        "the PIN is in the process arguments: {args}"
    );
    let mut answers = Answers::default();
    answers.request(reqwest::Method::POST, &format!("{url}/sim/button"), None);
    assert!(pairing.wait_exit().success(), "{}", pairing.output());
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    let token = config["authToken"].as_str().unwrap().to_string();
    let client_token = config["clientAuthToken"].as_str().unwrap().to_string();
    let header = client_auth(sim::DEFAULT_SGTIN);
    let secrets = [
        ("auth token", token.as_str()),
        ("client auth token", client_token.as_str()),
        ("CLIENTAUTH header", header.as_str()),
        ("PIN", PIN),
        ("wrong PIN", WRONG_PIN),
    ];

    // `run` at trace level: the token is in the config file, not in the arguments.
    let mut run = Proc::spawn(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &trace,
    );
    let args = cmdline(run.child.id());
    assert_clean("the arguments of `run`", &args, &secrets);
    let api = api_base(&run.wait_for("HTTP API on "));
    wait_connected(&api, true, &run);
    let (events, stop_events) = collect_events(format!("{api}/api/v1/events"));

    // Every kind of answer: lists for many patterns, every state one by one, writes that
    // work and writes that fail, unknown ids, the page.
    for pattern in [
        "*",
        "hmip.*",
        "hmip.0.*",
        "hmip.0.devices.*",
        "hmip.0.info.*",
        "system.*",
        "",
    ] {
        answers.get(&format!("{api}/api/v1/objects?pattern={pattern}"));
        answers.get(&format!("{api}/api/v1/states?pattern={pattern}"));
    }
    answers.get(&format!("{api}/api/v1/objects"));
    let states = get_json(&format!("{api}/api/v1/states?pattern=*"));
    for id in states.as_object().unwrap().keys() {
        assert_eq!(answers.get(&format!("{api}/api/v1/state/{id}")), 200);
    }
    let home = fixture("home.json");
    let (dev, ch) = common::find_channel(&home, "SWITCH_CHANNEL", "on");
    let on = format!("{api}/api/v1/state/hmip.0.devices.{dev}.channels.{ch}.on");
    assert_eq!(answers.put(&on, json!(true)), 200);
    assert_eq!(answers.put(&on, json!("yes")), 400);
    assert_eq!(
        answers.put(
            &format!("{api}/api/v1/state/hmip.0.info.connection"),
            json!(false)
        ),
        403
    );
    assert_eq!(
        answers.put(&format!("{api}/api/v1/state/hmip.0.nope"), json!(1)),
        404
    );
    assert_eq!(answers.get(&format!("{api}/api/v1/state/hmip.0.nope")), 404);
    assert_eq!(answers.get(&format!("{api}/api/v1/nothing")), 404);
    assert_eq!(
        answers.request(reqwest::Method::PUT, &on, None),
        400,
        "a write without a body"
    );
    answers.get(&format!("{api}/"));

    // A revoked token: the error says to pair again, and the adapter stays offline.
    answers.request(reqwest::Method::POST, &format!("{url}/sim/revoke"), None);
    wait_connected(&api, false, &run);
    run.wait_for("pair again");
    std::thread::sleep(Duration::from_millis(500));
    stop_events.store(true, Ordering::SeqCst);
    assert!(run.terminate().success(), "{}", run.output());

    let events = events.lock().unwrap().clone();
    assert!(
        events.contains("hmip.0.info.connection"),
        "the event stream was captured"
    );
    assert!(run.output().contains(" TRACE "), "trace output captured");
    assert_clean("the failed pairing's output", &wrong.output(), &secrets);
    assert_clean("the pairing's output", &pairing.output(), &secrets);
    assert_clean("the output of `run`", &run.output(), &secrets);
    assert_clean(
        "the simulator's output",
        &sim.output().replace(PIN, ""),
        &secrets[..3],
    );
    assert_clean("the event stream", &events, &secrets);
    for a in &answers.0 {
        assert_clean("an answer of the HTTP API", a, &secrets);
    }
    assert!(answers.0.len() > 1000, "{} answers", answers.0.len());
}

/// Runs the demo with `args` at trace level, reads the whole tree through the HTTP API, and
/// checks that no secret of `secrets` appears in its output or the answers.
fn demo_shows_no_secret(args: &[&str], secrets: &[(&str, &str)]) {
    let mut demo = Proc::spawn(args, &[("RUST_LOG", "trace")]);
    let api = api_base(&demo.wait_for("HTTP API on "));
    wait_connected(&api, true, &demo);
    let mut answers = Answers::default();
    answers.get(&format!("{api}/api/v1/states?pattern=*"));
    answers.get(&format!("{api}/api/v1/objects?pattern=*"));
    assert!(demo.terminate().success());
    assert!(
        demo.output().contains(" TRACE tungstenite"),
        "trace output captured"
    );
    assert_clean("the demo's output", &demo.output(), secrets);
    for a in &answers.0 {
        assert_clean("an answer of the HTTP API", a, secrets);
    }
}

#[test]
fn demo_at_trace_level_shows_no_secret() {
    let header = client_auth(sim::DEFAULT_SGTIN);
    demo_shows_no_secret(
        &["demo", "--http", "127.0.0.1:0"],
        &[
            ("auth token", sim::DEFAULT_AUTH_TOKEN),
            ("CLIENTAUTH header", header.as_str()),
        ],
    );
}

#[test]
fn demo_over_the_hcu_at_trace_level_shows_no_secret() {
    demo_shows_no_secret(
        &["demo", "--hcu", "--http", "127.0.0.1:0"],
        &[
            ("the HCU's auth token", sim::DEFAULT_HCU_AUTH_TOKEN),
            ("the HCU's activation key", sim::HCU_ACTIVATION_KEY),
        ],
    );
}

/// The demo keeps no token: asked to listen on every address, it refuses to start, with a
/// message that says what to do, before it opens that address.
#[test]
fn an_address_off_loopback_without_a_token_refuses_to_start() {
    let mut demo = Proc::spawn(&["demo", "--http", "0.0.0.0:0"], &[]);
    let status = demo.wait_exit();
    let out = demo.output();
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("open to the network without a token") && out.contains("127.0.0.1"),
        "{out}"
    );
    assert!(!out.contains("HTTP API on http://0.0.0.0"), "{out}");
}

#[test]
fn the_http_api_listens_on_loopback_by_default() {
    // The defaults of the command line.
    for (cmd, flag, default) in [
        ("run", "--http", "127.0.0.1:8089"),
        ("demo", "--http", "127.0.0.1:8089"),
        ("sim", "--listen", "127.0.0.1:8088"),
    ] {
        let out = std::process::Command::new(BIN)
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let line = help
            .lines()
            .skip_while(|l| !l.contains(flag))
            .take_while(|l| !l.trim_start().starts_with("--") || l.contains(flag))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            line.contains(&format!("[default: {default}]")),
            "`{cmd} --help` for {flag}: {line}"
        );
    }
    // And what `run` does without --http: it binds (or fails to bind, when another
    // program has the port) 127.0.0.1:8089, never a wildcard address.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        &cfg,
        json!({"accessPointSgtin": sim::DEFAULT_SGTIN, "authToken": "x",
            "lookupUrl": format!("http://{dead}/getHost")})
        .to_string(),
    )
    .unwrap();
    let mut run = Proc::spawn(&["run", "--config", cfg.to_str().unwrap()], &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run.output().contains("127.0.0.1:8089") {
        assert!(Instant::now() < deadline, "{}", run.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = run.terminate();
    assert!(!run.output().contains("0.0.0.0"), "{}", run.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_only_state_refuses_a_write_and_nothing_is_sent() {
    let h = Harness::start(fixture("home.json")).await;
    let objects = h.store.objects("hmip.0.*").await.unwrap();
    let before = h.store.states("hmip.0.*").await.unwrap();
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    let mut refused = 0;
    for (id, o) in &objects {
        if o.common.get("write") == Some(&json!(true)) {
            continue;
        }
        let r = h.put(id, json!(true)).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        if o.obj_type != "state" {
            assert_eq!(status, 404, "{id} is a {}", o.obj_type);
        } else {
            assert_eq!(status, 403, "{id}: {body}");
            assert_eq!(body["error"], json!(format!("{id} is read-only")));
            refused += 1;
        }
    }
    assert!(refused > 5000, "{refused} read-only states");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.calls().await,
        Vec::<Value>::new(),
        "nothing reached the cloud"
    );
    assert_eq!(
        h.store.states("hmip.0.*").await.unwrap(),
        before,
        "no state changed"
    );
    h.stop().await.unwrap();
}

/// The source never turns certificate checks off.
#[test]
fn no_code_turns_tls_verification_off() {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 30);
    // The one exception: the HCU's self-signed certificate is checked by its pinned
    // fingerprint (src/hcu/pin.rs), through rustls' custom verifier interface. There, the
    // verifier that accepts a certificate compares the pin and verifies the handshake
    // signatures; the other one (first use, at pairing) accepts nothing. Both are shown
    // by behaviour in tests/hcu.rs.
    let pin = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/hcu/pin.rs");
    let pin_text = std::fs::read_to_string(&pin).unwrap();
    assert_eq!(
        pin_text.matches("ServerCertVerified::assertion()").count(),
        1
    );
    assert_eq!(
        pin_text
            .matches("rustls::crypto::verify_tls12_signature(")
            .count(),
        1
    );
    assert_eq!(
        pin_text
            .matches("rustls::crypto::verify_tls13_signature(")
            .count(),
        1
    );
    assert!(pin_text.contains("if presented == self.pin {"));
    for f in files {
        if f == pin {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in [
            "danger_accept_invalid",
            "dangerous()",
            "ServerCertVerifier",
            "with_custom_certificate_verifier",
            "set_certificate_verifier",
            "NoCertificateVerification",
            "Connector::NativeTls",
            "disable_tls",
        ] {
            assert!(!text.contains(needle), "{} contains {needle}", f.display());
        }
    }
}

/// An HTTPS server on 127.0.0.1 with a self-signed certificate for 127.0.0.1, answering
/// every request with `{}`. Returns its address and the certificate (PEM).
fn self_signed_server() -> (SocketAddr, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                use std::io::{BufRead, Write};
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                // The request head; a client that refuses the certificate never sends one.
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
                let _ = tls.flush();
            });
        }
    });
    (addr, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_client_refuses_a_self_signed_certificate() {
    let (tls, pem) = self_signed_server();

    // The server works for a client that trusts its certificate (so a refusal below is
    // the certificate check, nothing else).
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let ok = trusting
        .post(format!("https://{tls}/getHost"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // The lookup over the cloud client refuses it with a clear error.
    let http = http_client(&ClientOptions::default()).unwrap();
    let err = lookup(&http, &format!("https://{tls}/getHost"), sim::DEFAULT_SGTIN)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CloudError::Network(_)), "{err:?}");
    assert!(
        msg.contains("certificate"),
        "not a certificate error: {msg}"
    );
    println!("lookup: {msg}");

    // REST and websocket, with a lookup (plain HTTP on loopback) that names the server.
    let lookup_app = axum::Router::new().route(
        "/getHost",
        axum::routing::post(move || async move {
            axum::Json(json!({"urlREST": format!("https://{tls}"), "urlWebSocket": format!("wss://{tls}/ws")}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lookup_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, lookup_app).await });
    let mut options = common::fast_options();
    options.reconnect_max = Duration::from_secs(30);
    let cloud = HmipCloud::connect(CloudConfig {
        sgtin: sim::DEFAULT_SGTIN.into(),
        auth_token: sim::DEFAULT_AUTH_TOKEN.into(),
        lookup_url: format!("http://{lookup_addr}/getHost"),
        options,
    })
    .await
    .expect("the lookup itself is plain HTTP here");
    let err = cloud.current_state().await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "REST: {err}");
    println!("REST: {err}");
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let cloud = Arc::new(cloud);
    let events = tokio::spawn({
        let cloud = cloud.clone();
        async move { cloud.run_events(tx).await }
    });
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(CloudEvent::Disconnected { reason })) => break reason,
            Ok(Some(CloudEvent::Connected)) => {
                panic!("the websocket connected to a self-signed server")
            }
            Ok(Some(_)) => {}
            other => panic!("no disconnect: {other:?}"),
        }
    };
    assert!(
        reason.contains("certificate") || reason.contains("UnknownIssuer"),
        "websocket: {reason}"
    );
    println!("websocket: {reason}");
    events.abort();
}

/// Every file and directory below `dir`, with its mode.
fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let mode = std::fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
        out.push((p.clone(), mode));
        if p.is_dir() {
            walk(&p, out);
        }
    }
}

/// The simulator's record of control calls to `path`.
fn calls_to(url: &str, path: &str) -> Vec<Value> {
    get_json(&format!("{url}/sim/calls"))
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"] == path)
        .cloned()
        .collect()
}

/// Wait until the state `id` holds `val`, acknowledged.
fn wait_acked(api: &str, id: &str, val: &Value, p: &Proc) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = get_json(&format!("{api}/api/v1/state/{id}"));
        if &st["val"] == val && st["ack"] == true {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never {val}:\n{}",
            p.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A door lock's PIN opens a door: after it is set, it is in no answer of the HTTP API, not
/// in the event stream, in no file under the data directory and not in the log; yet the
/// lock's commands carry it, after a restart too. Every file the adapter writes is 0600,
/// every directory 0700.
#[test]
fn a_lock_pin_is_on_no_surface_and_every_file_is_owner_only() {
    let (_sim, url) = start_sim(&[
        "--fixture",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let data = dir.path().join("data");
    assert!(pair(&url, sim::DEFAULT_SGTIN, &cfg, &[], &[])
        .wait_exit()
        .success());
    let args = [
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ];
    let trace = [("RUST_LOG", "trace")];
    let mut run = Proc::spawn(&args, &trace);
    let api = api_base(&run.wait_for("HTTP API on "));
    wait_connected(&api, true, &run);
    let (events, stop_events) = collect_events(format!("{api}/api/v1/events"));
    // The stream is open once it shows a write made after it was opened.
    let (dev, ch) = common::find_channel(&fixture("home.json"), "DOOR_LOCK_CHANNEL", "lockState");
    let channel = format!("hmip.0.devices.{dev}.channels.{ch}");
    let (sdev, sch) = common::find_channel(&fixture("home.json"), "SWITCH_CHANNEL", "on");
    let on = format!("hmip.0.devices.{sdev}.channels.{sch}.on");
    let mut answers = Answers::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events.lock().unwrap().contains(&on) {
        assert!(Instant::now() < deadline, "the event stream shows nothing");
        answers.put(&format!("{api}/api/v1/state/{on}"), json!(true));
        std::thread::sleep(Duration::from_millis(50));
    }

    let pin_id = format!("{channel}.pin");
    assert_eq!(
        answers.put(&format!("{api}/api/v1/state/{pin_id}"), json!(PIN)),
        200
    );
    wait_acked(
        &api,
        &pin_id,
        &json!(iobroker_hmip::tree::SECRET_MASK),
        &run,
    );
    // The lock's command carries it.
    assert_eq!(
        answers.put(
            &format!("{api}/api/v1/state/{channel}.setLockState"),
            json!("OPEN")
        ),
        200
    );
    wait_acked(&api, &format!("{channel}.lockState"), &json!("OPEN"), &run);
    let sent = calls_to(&url, "device/control/setLockState");
    assert_eq!(sent.last().unwrap()["body"]["authorizationPin"], PIN);
    // The marker: the lock's new state reached the stream, and with it all before it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events
        .lock()
        .unwrap()
        .contains(&format!("{channel}.lockState"))
    {
        assert!(
            Instant::now() < deadline,
            "the lock's change never reached the stream"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Every answer the API gives.
    for pattern in ["*", "hmip.0.*", &format!("{channel}.*"), ""] {
        answers.get(&format!("{api}/api/v1/objects?pattern={pattern}"));
        answers.get(&format!("{api}/api/v1/states?pattern={pattern}"));
    }
    let states = get_json(&format!("{api}/api/v1/states?pattern=*"));
    for id in states.as_object().unwrap().keys() {
        assert_eq!(answers.get(&format!("{api}/api/v1/state/{id}")), 200);
    }
    answers.get(&format!("{api}/api/v1/stats"));
    answers.get(&format!("{api}/"));
    // A write that fails, and the mask written back (it keeps the PIN).
    assert_eq!(
        answers.put(&format!("{api}/api/v1/state/{pin_id}"), json!(true)),
        400
    );
    assert_eq!(
        answers.put(
            &format!("{api}/api/v1/state/{pin_id}"),
            json!(iobroker_hmip::tree::SECRET_MASK)
        ),
        200
    );
    stop_events.store(true, Ordering::SeqCst);
    // Stopped: the store has written its files.
    assert!(run.terminate().success(), "{}", run.output());

    // Restarted from the config file: the kept PIN still opens the lock.
    let mut again = Proc::spawn(&args, &trace);
    let api = api_base(&again.wait_for("HTTP API on "));
    wait_connected(&api, true, &again);
    wait_acked(
        &api,
        &pin_id,
        &json!(iobroker_hmip::tree::SECRET_MASK),
        &again,
    );
    assert_eq!(
        answers.put(
            &format!("{api}/api/v1/state/{channel}.setLockState"),
            json!("LOCKED")
        ),
        200
    );
    wait_acked(
        &api,
        &format!("{channel}.lockState"),
        &json!("LOCKED"),
        &again,
    );
    let sent = calls_to(&url, "device/control/setLockState");
    assert_eq!(sent.last().unwrap()["body"]["targetLockState"], "LOCKED");
    assert_eq!(sent.last().unwrap()["body"]["authorizationPin"], PIN);
    assert!(again.terminate().success(), "{}", again.output());

    let secrets = [("lock PIN", PIN)];
    let events = events.lock().unwrap().clone();
    assert!(
        events.contains(&pin_id),
        "the PIN's state changes were streamed"
    );
    assert_clean("the event stream", &events, &secrets);
    for a in &answers.0 {
        assert_clean("an answer of the HTTP API", a, &secrets);
    }
    assert!(run.output().contains(" TRACE "), "trace output captured");
    assert_clean("the log of `run`", &run.output(), &secrets);
    assert_clean("the log of the restarted `run`", &again.output(), &secrets);
    let mut files = Vec::new();
    walk(&data, &mut files);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("states.json")),
        "{files:?}"
    );
    for (p, mode) in &files {
        if p.is_dir() {
            assert_eq!(*mode, 0o700, "{}", p.display());
        } else {
            assert_eq!(*mode, 0o600, "{}", p.display());
            let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
            assert_clean(&p.display().to_string(), &text, &secrets);
        }
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    // Kept where the tokens are: the config file, owner-only.
    assert_eq!(mode(&cfg), 0o600);
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    assert_eq!(config["secrets"][&pin_id], PIN);
}

/// A PIN an earlier version (or ioBroker.hmip) left in the lock's state, or one written
/// while the adapter was stopped, moves to the keeper at the next start (replacing one
/// kept before), and the state shows only the mask; the lock gets the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_left_in_a_state_moves_to_the_keeper_at_start() {
    use iobroker_hmip::adapter::secret_params::SecretParams;
    use iobroker_hmip::tree::SECRET_MASK;
    let home = fixture("home.json");
    let (dev, ch) = common::find_channel(&home, "DOOR_LOCK_CHANNEL", "lockState");
    let pin_id = format!("hmip.0.devices.{dev}.channels.{ch}.pin");
    let mut h =
        Harness::start_full(home, common::fast_options(), common::fast_adapter_options()).await;
    // As an earlier version kept it: the PIN as the acknowledged value.
    h.store
        .set_states(vec![(
            pin_id.clone(),
            common::written(json!(PIN), true, "system.adapter.hmip.0"),
        )])
        .await
        .unwrap();
    // A PIN kept before: the one in the state is newer (the state shows the mask while
    // one is kept), so it replaces it.
    let secrets = SecretParams::new(
        std::collections::BTreeMap::from([(pin_id.clone(), "11112222".to_string())]),
        None,
    );
    let mut opts = common::fast_adapter_options();
    opts.secrets = secrets.clone();
    h.restart_adapter(common::fast_options(), opts).await;
    h.wait_state(&pin_id, |s| s["val"] == SECRET_MASK && s["ack"] == true)
        .await;
    assert_eq!(secrets.get(&pin_id).as_deref(), Some(PIN));
    let _ = h.http.delete(h.sim_url("/sim/calls")).send().await.unwrap();
    let lock = format!("hmip.0.devices.{dev}.channels.{ch}.setLockState");
    assert_eq!(h.put(&lock, json!("LOCKED")).await.status(), 200);
    common::wait_until(|| async { !h.calls().await.is_empty() }).await;
    assert_eq!(h.calls().await[0]["body"]["authorizationPin"], PIN);
    h.stop().await.unwrap();
}
