//! Everything the adapter logs, captured at debug level: a revoked token gives one clear
//! error, and no token, PIN or CLIENTAUTH ever appears.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fixture, Harness};
use iobroker_hmip::cloud::identity::client_auth;
use iobroker_hmip::sim;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Where the capture stands now: [`Captured::since`] reads what came after.
    fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// What was logged after `mark`.
    fn since(&self, mark: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[mark..]).into_owned()
    }
}

/// The capture is one for the process: the tests of this binary run one at a time, each
/// reading only the lines logged since it started.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Wait until `logs` show a line with `needle` after `mark`.
async fn logged(logs: &Captured, mark: usize, needle: &str) {
    common::wait_until(|| async { logs.since(mark).contains(needle) }).await;
    assert!(logs.since(mark).contains(needle), "{needle}");
}

/// One global subscriber for the tests of this binary, capturing at debug level.
fn capture() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let logs = Captured::default();
            let writer = logs.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            logs
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_type_is_logged_once_not_per_event() {
    let _serial = SERIAL.lock().await;
    let logs = capture();
    let mark = logs.mark();
    let home = fixture("unknown_types.json");
    let device = home["devices"]["3014F7110000000000000050"].clone();
    let h = Harness::start(home).await;
    let push = json!({"events": {"0": {"pushEventType": "DEVICE_CHANGED", "device": device}}});
    for _ in 0..3 {
        h.sim_post("/sim/push", push.clone()).await;
    }
    // The marker: the access point goes offline, which the adapter logs, after applying
    // the three reports pushed before it.
    h.sim_post("/sim/home", json!({"connected": false})).await;
    logged(&logs, mark, "the access point lost its cloud connection").await;
    h.stop().await.unwrap();
    let text = logs.since(mark);
    for needle in [
        "unknown device type DUMMY_DEVICE",
        "unknown channel type DEVICE_UNKNOWN",
        "unknown group type DUMMY_GROUP",
    ] {
        assert_eq!(
            text.lines().filter(|l| l.contains(needle)).count(),
            1,
            "{needle}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_logs_one_clear_error_and_no_secret_is_logged() {
    let _serial = SERIAL.lock().await;
    let logs = capture();
    let mark = logs.mark();

    let h = Harness::start(fixture("home.json")).await;
    // Some traffic: a write, a push, a reconnect.
    let (dev, ch) = common::find_channel(&h.sim_get("/sim/home").await, "SWITCH_CHANNEL", "on");
    h.put(
        &format!("hmip.0.devices.{dev}.channels.{ch}.on"),
        json!(true),
    )
    .await;
    h.wait_state(&format!("hmip.0.devices.{dev}.channels.{ch}.on"), |s| {
        s["ack"] == json!(true) && s["val"] == json!(true)
    })
    .await;
    let connects = |s: serde_json::Value| s["wsConnects"].as_u64().unwrap();
    let before = connects(h.transport_stats().await);
    h.sim_post("/sim/drop", json!({})).await;
    common::wait_until(|| async { connects(h.transport_stats().await) > before }).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(true))
        .await;

    h.sim_post("/sim/revoke", json!({})).await;
    h.wait_state("hmip.0.info.connection", |s| s["val"] == json!(false))
        .await;
    // A window of two seconds in which a retry storm would log more errors: what is
    // checked is that nothing more comes over time, which no marker can show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.stop().await.unwrap();

    let text = logs.since(mark);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(
        errors.len(),
        1,
        "one error for a revoked token, got:\n{}",
        errors.join("\n")
    );
    assert!(errors[0].contains("pair again"), "{}", errors[0]);
    assert!(
        !text.contains(sim::DEFAULT_AUTH_TOKEN),
        "the auth token was logged"
    );
    assert!(
        !text.contains(&client_auth(sim::DEFAULT_SGTIN)),
        "CLIENTAUTH was logged"
    );
    assert!(text.lines().count() > 10, "the capture works");
}
