//! The HCU's local Connect API against the simulated HCU: pairing (success, and each
//! failure as one clear error that spends no key and writes nothing), the pinned
//! certificate, no cloud request at all, a silent websocket replaced, and the HCU's own
//! messages (PLUGIN_STATE_REQUEST, DEVICE_CHANGED without channels, ERROR_RESPONSE, a
//! refused token).
//!
//! The adapter's behaviour over this transport (tree, writes, events, faults, the alarm
//! panel) is shown by the same tests as over the cloud: `over_both_transports!` in
//! tests/adapter_sim.rs, alarm.rs, events.rs and writes.rs.

mod common;

use std::time::Duration;

use common::proc::Proc;
use common::{
    capture_logs, fast_options, fixture, hcu_config, wait_until, wait_until_within, Harness, Via,
    VIA,
};
use iobroker_hmip::cloud::CloudEvent;
use iobroker_hmip::cloud::Transport;
use iobroker_hmip::hcu::pairing::{self, HcuPairingError, HcuPairingProgress, HcuPairingRequest};
use iobroker_hmip::hcu::{Fingerprint, HcuTransport};
use iobroker_hmip::sim::{self, HcuSimConfig, SimConfig, SimHandle};
use serde_json::{json, Value};

async fn start_sim() -> SimHandle {
    let mut cfg = SimConfig::demo("127.0.0.1:0".parse().unwrap());
    cfg.home = fixture("home.json");
    cfg.hcu = Some(HcuSimConfig::default());
    sim::start(cfg).await.unwrap()
}

fn request(sim: &SimHandle, key: &str) -> HcuPairingRequest {
    let local = sim.hcu().unwrap();
    let mut req = HcuPairingRequest::new("127.0.0.1", key);
    req.auth_port = local.auth_addr.port();
    req.websocket_port = local.ws_addr.port();
    req.timeout = Duration::from_secs(5);
    req
}

/// Pair and collect the progress reported.
async fn pair(
    req: &HcuPairingRequest,
) -> (
    Result<pairing::HcuCredentials, HcuPairingError>,
    Vec<HcuPairingProgress>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let result = pairing::pair(req, tx).await;
    let mut steps = Vec::new();
    while let Ok(p) = rx.try_recv() {
        steps.push(p);
    }
    (result, steps)
}

async fn stats(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/sim/stats", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn hook(sim: &SimHandle, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Run a transport's event stream until it delivers the home (or stops); returns what
/// came, in order.
async fn until_snapshot_or_end(t: std::sync::Arc<HcuTransport>) -> Vec<CloudEvent> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let run = tokio::spawn(async move { t.run_events(tx).await });
    let mut seen = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        let done = matches!(ev, CloudEvent::Snapshot(_) | CloudEvent::Refused { .. });
        seen.push(ev);
        if done {
            break;
        }
    }
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_key_becomes_a_token_once() {
    let sim = start_sim().await;
    let local = sim.hcu().unwrap();
    let req = request(&sim, sim::HCU_ACTIVATION_KEY);
    let (result, steps) = pair(&req).await;
    let creds = result.expect("pairing with the simulator's key");
    assert_eq!(creds.fingerprint, local.fingerprint);
    assert_eq!(creds.auth_token.len(), 64);
    assert!(
        steps.contains(&HcuPairingProgress::Certificate(local.fingerprint)),
        "{steps:?}"
    );
    assert_eq!(steps.last(), Some(&HcuPairingProgress::Done));
    // The client is in the home, as the app's user list shows it.
    assert!(sim.home()["clients"].get(&creds.client_id).is_some());
    // The token works: the transport loads the home with it.
    let mut cfg = hcu_config(&sim, fast_options());
    cfg.auth_token = creds.auth_token.clone();
    let seen = until_snapshot_or_end(std::sync::Arc::new(HcuTransport::new(cfg))).await;
    assert!(
        matches!(seen.last(), Some(CloudEvent::Snapshot(s)) if s.devices.len() == 150),
        "{seen:?}"
    );
    // The key is spent.
    let (again, _) = pair(&req).await;
    let err = again.unwrap_err();
    assert!(
        matches!(err, HcuPairingError::KeyRefused { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("generate a new one"), "{err}");
    // A fresh key from HCUweb works.
    let fresh = hook(&sim, "/sim/hcu/activation-key", json!({})).await;
    let (third, _) = pair(&request(&sim, fresh["activationKey"].as_str().unwrap())).await;
    assert!(third.is_ok(), "{third:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pairing_failure_is_one_clear_error_and_spends_no_key() {
    let sim = start_sim().await;
    let local = sim.hcu().unwrap();

    let (wrong, _) = pair(&request(&sim, "WRONG1")).await;
    assert!(
        matches!(wrong, Err(HcuPairingError::KeyRefused { status: 403, .. })),
        "{wrong:?}"
    );

    // Nothing listens on the pairing port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut req = request(&sim, sim::HCU_ACTIVATION_KEY);
    req.auth_port = port;
    let (result, steps) = pair(&req).await;
    let err = result.unwrap_err();
    assert!(matches!(err, HcuPairingError::NoHcu { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("nothing answers on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(matches!(steps.last(), Some(HcuPairingProgress::Failed(_))));

    // The websocket is not exposed.
    hook(&sim, "/sim/hcu/expose", json!({"on": false})).await;
    let (result, _) = pair(&request(&sim, sim::HCU_ACTIVATION_KEY)).await;
    let err = result.unwrap_err();
    assert!(matches!(err, HcuPairingError::NotExposed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("expose the Connect API websocket"),
        "{err}"
    );
    hook(&sim, "/sim/hcu/expose", json!({"on": true})).await;

    // A certificate other than the one the user expects.
    let mut req = request(&sim, sim::HCU_ACTIVATION_KEY);
    req.expect_fingerprint = Some(Fingerprint::of(b"another certificate"));
    let (result, _) = pair(&req).await;
    assert!(
        matches!(result, Err(HcuPairingError::UnexpectedCertificate { presented, .. }) if presented == local.fingerprint)
    );

    // None of these reached the pairing calls, so the key still works.
    assert_eq!(
        stats(&sim).await["hcu"]["authRequests"],
        json!(1),
        "only the wrong key was tried"
    );
    let (ok, _) = pair(&request(&sim, sim::HCU_ACTIVATION_KEY)).await;
    assert!(ok.is_ok(), "{ok:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_other_than_the_pinned_one_is_refused_before_anything_is_sent() {
    let sim = start_sim().await;
    let mut cfg = hcu_config(&sim, fast_options());
    cfg.fingerprint = Fingerprint::of(b"the certificate paired with");
    let seen = until_snapshot_or_end(std::sync::Arc::new(HcuTransport::new(cfg))).await;
    let Some(CloudEvent::Refused { reason }) = seen.last() else {
        panic!("not refused: {seen:?}");
    };
    assert!(
        reason.starts_with("the HCU's certificate changed: pair again if you replaced it"),
        "{reason}"
    );
    assert!(
        reason.contains(&sim.hcu().unwrap().fingerprint.to_string()),
        "{reason}"
    );
    // The handshake stopped at the certificate: no upgrade request, no token sent.
    let hcu = &stats(&sim).await["hcu"];
    assert_eq!(
        (hcu["upgrades"].clone(), hcu["wsConnects"].clone()),
        (json!(0), json!(0)),
        "{hcu}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_hcu_certificate_stops_the_adapter_with_one_clear_error() {
    let _log = common::log_lock().await;
    let logs = capture_logs("info");
    let mark = logs.mark();
    let h = VIA
        .scope(Via::Hcu, Harness::start(fixture("home.json")))
        .await;
    h.sim_post("/sim/hcu/certificate", json!({})).await;
    h.sim_post("/sim/drop", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    wait_until(|| async { logs.since(mark).contains("the HCU's certificate changed") }).await;
    let lines: Vec<String> = logs
        .since(mark)
        .lines()
        .filter(|l| l.contains("certificate changed"))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("ERROR"), "{}", lines[0]);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_the_cloud_over_the_local_transport() {
    let home = fixture("home.json");
    let (dev, ch) = common::find_channel(&home, "SWITCH_CHANNEL", "on");
    let h = VIA.scope(Via::Hcu, Harness::start(home.clone())).await;
    let id = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    let was = home["devices"][&dev]["functionalChannels"][&ch]["on"]
        .as_bool()
        .unwrap();
    h.put(&id, json!(!was)).await;
    h.wait_state(&id, |s| s["val"] == json!(!was) && s["ack"] == json!(true))
        .await;
    // A reconnect loads the home again, from the HCU.
    h.sim_post("/sim/drop", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    let stats = h.sim_get("/sim/stats").await;
    assert_eq!(
        (
            stats["requests"].clone(),
            stats["upgrades"].clone(),
            stats["wsConnects"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "the cloud was asked: {stats}"
    );
    // getSystemState twice and the call.
    assert!(stats["hcu"]["requests"].as_u64().unwrap() >= 3, "{stats}");
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_says_ready_at_start_and_whenever_the_hcu_asks() {
    let h = VIA
        .scope(Via::Hcu, Harness::start(fixture("home.json")))
        .await;
    // The harness's simulated HCU asks every 700 ms.
    h.wait_until(|| async {
        let hcu = h.sim_get("/sim/stats").await["hcu"].clone();
        hcu["pluginState"] == json!("READY") && hcu["pluginStateResponses"].as_u64() >= Some(3)
    })
    .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_changed_without_channels_keeps_them() {
    let home = fixture("home.json");
    let (dev, ch) = common::find_channel(&home, "SWITCH_CHANNEL", "on");
    let h = VIA.scope(Via::Hcu, Harness::start(home.clone())).await;
    let mut device = home["devices"][&dev].clone();
    device.as_object_mut().unwrap().remove("functionalChannels");
    device["label"] = json!("renamed by the HCU");
    h.sim_post(
        "/sim/push",
        json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": device}}}),
    )
    .await;
    let label = format!("hmip.0.devices.{dev}.info.label");
    h.wait_state(&label, |s| s["val"] == json!("renamed by the HCU"))
        .await;
    let on = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    assert!(
        h.state(&on).await.is_some(),
        "the channel's states are gone"
    );
    // And the channel keeps taking its reports.
    let was = home["devices"][&dev]["functionalChannels"][&ch]["on"]
        .as_bool()
        .unwrap();
    h.sim_post(
        &format!("/sim/device/{dev}/channel/{ch}"),
        json!({"on": !was}),
    )
    .await;
    h.wait_state(&on, |s| s["val"] == json!(!was)).await;
    h.stop().await.unwrap();
}

/// A websocket that stays open but says nothing (no pong, no event) is declared dead after
/// the dead-connection timeout and replaced; what changed while it was silent is there
/// after the new connection's `getSystemState`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_websocket_is_declared_dead_and_replaced() {
    let home = fixture("home.json");
    let (dev, ch) = common::find_channel(&home, "SWITCH_CHANNEL", "on");
    let h = VIA.scope(Via::Hcu, Harness::start(home.clone())).await;
    let connects = |v: &Value| v["wsConnects"].as_u64().unwrap_or(0);
    let before = connects(&h.transport_stats().await);
    h.sim_post("/sim/silence", json!({"on": true})).await;
    // Lost to the silence: only the reload after the reconnect can bring it.
    let was = home["devices"][&dev]["functionalChannels"][&ch]["on"]
        .as_bool()
        .unwrap();
    h.sim_post(
        &format!("/sim/device/{dev}/channel/{ch}"),
        json!({"on": !was}),
    )
    .await;
    let on = format!("hmip.0.devices.{dev}.channels.{ch}.on");
    // Declared dead (fast_options: 2 s) and a new websocket opened.
    wait_until_within(Duration::from_secs(15), || async {
        connects(&h.transport_stats().await) > before
    })
    .await;
    h.sim_post("/sim/silence", json!({"on": false})).await;
    h.wait_state(&on, |s| s["val"] == json!(!was)).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_response_is_logged_and_the_connection_stays() {
    let _log = common::log_lock().await;
    let logs = capture_logs("info");
    let mark = logs.mark();
    let h = VIA
        .scope(Via::Hcu, Harness::start(fixture("home.json")))
        .await;
    let envelope = json!({
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "pluginId": iobroker_hmip::hcu::PLUGIN_ID,
        "type": "ERROR_RESPONSE",
        "body": {"error": {"code": "INVALID_MESSAGE", "message": "could not read it"}, "originalMessage": {}}
    });
    h.sim_post("/sim/push", envelope).await;
    wait_until(|| async {
        logs.since(mark)
            .contains("the HCU could not process a message: INVALID_MESSAGE could not read it")
    })
    .await;
    assert_eq!(
        h.state("hmip.0.info.connection").await.unwrap()["val"],
        json!(true)
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_says_to_pair_again_with_a_new_key() {
    let _log = common::log_lock().await;
    let logs = capture_logs("info");
    let mark = logs.mark();
    let h = VIA
        .scope(Via::Hcu, Harness::start(fixture("home.json")))
        .await;
    h.sim_post("/sim/revoke", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    wait_until(|| async {
        logs.since(mark)
            .contains("generate a new activation key in HCUweb and pair again")
    })
    .await;
    h.stop().await.unwrap();
}

/// The addresses `sim --hcu` prints: (cloud URL, pairing port, websocket port,
/// fingerprint, activation key).
fn start_sim_process() -> (Proc, String, String, String, String, String) {
    let p = Proc::spawn(&["sim", "--listen", "127.0.0.1:0", "--hcu"], &[]);
    let url = format!("http://{}", p.wait_for(" listening on http://"));
    let line = p.wait_for("hcu listening on https://");
    let (auth, rest) = line.split_once(' ').unwrap();
    let ws = rest
        .trim_start_matches("(websocket wss://")
        .trim_end_matches(')')
        .to_string();
    let port = |addr: &str| addr.rsplit_once(':').unwrap().1.to_string();
    let fp = p.wait_for("hcu certificate fingerprint ");
    let key = p.wait_for("hcu activation key ");
    (
        p,
        url.split_whitespace().next().unwrap().to_string(),
        port(auth),
        port(&ws),
        fp,
        key,
    )
}

#[test]
fn pair_hcu_writes_a_private_config_runs_locally_and_logs_no_secret() {
    let (sim, url, auth_port, ws_port, fingerprint, key) = start_sim_process();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let trace = ("RUST_LOG", "trace");
    let pair_args = |cfg: &std::path::Path| {
        vec![
            "pair".to_string(),
            "--hcu".into(),
            "127.0.0.1".into(),
            "--hcu-auth-port".into(),
            auth_port.clone(),
            "--hcu-websocket-port".into(),
            ws_port.clone(),
            "--config".into(),
            cfg.to_str().unwrap().to_string(),
        ]
    };
    let args = pair_args(&cfg);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // A wrong key: one clear error, no config.
    let mut wrong = Proc::spawn(&args, &[("HMIP_ACTIVATION_KEY", "WRONG1"), trace]);
    assert!(!wrong.wait_exit().success());
    assert!(
        wrong.output().contains("refused the activation key"),
        "{}",
        wrong.output()
    );
    assert!(!cfg.exists(), "a failed pairing wrote the config");

    // The key from the environment: paired, the fingerprint shown and pinned.
    let mut ok = Proc::spawn(&args, &[("HMIP_ACTIVATION_KEY", key.as_str()), trace]);
    assert!(ok.wait_exit().success(), "{}", ok.output());
    assert!(ok.output().contains(&fingerprint), "{}", ok.output());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    assert_eq!(config["connection"], json!("hcu"));
    assert_eq!(config["hcuFingerprint"], json!(fingerprint));
    let token = config["hcuAuthToken"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);

    // Run on it: connected through the HCU; the cloud sees nothing.
    let mut run = Proc::spawn(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[trace],
    );
    let api = run.wait_for("HTTP API on ");
    let api = api
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = common::proc::get_json(&format!("{api}/api/v1/state/hmip.0.info.connection"));
        if st["val"] == json!(true) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", run.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = common::proc::get_json(&format!("{url}/sim/stats"));
    assert_eq!(
        (stats["requests"].clone(), stats["upgrades"].clone()),
        (json!(0), json!(0)),
        "{stats}"
    );
    assert!(run.terminate().success(), "{}", run.output());
    assert!(run.output().contains(" TRACE "), "trace output captured");
    for (what, text) in [
        ("pair", ok.output()),
        ("wrong pair", wrong.output()),
        ("run", run.output()),
        ("sim", sim.output()),
    ] {
        assert!(
            !text.contains(&token),
            "the token is in the output of {what}"
        );
        assert!(
            !text.contains(&token.to_lowercase()),
            "the token is in the output of {what}"
        );
        if what != "sim" {
            assert!(
                !text.contains(&key),
                "the activation key is in the output of {what}"
            );
        }
        assert!(
            !text.to_lowercase().contains("authtoken:"),
            "an auth header in the output of {what}"
        );
    }
}
