//! The binary as a user runs it: `sim`, `pair`, `run` and `demo`, with their logs captured
//! and searched for secrets.

mod common;

use std::time::{Duration, Instant};

use common::proc::{get_json, pair, start_sim, Proc};
use serde_json::Value;

#[test]
fn pairing_with_a_wrong_pin_fails_clearly() {
    let (_sim, url) = start_sim(&["--pin", "1234"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let mut p = pair(
        &url,
        "3014-F711-A000-0000-0000-0001",
        &cfg,
        &[],
        &[("HMIP_PIN", "9876")],
    );
    assert!(!p.wait_exit().success());
    let out = p.output();
    assert!(out.contains("refused the PIN"), "{out}");
    assert!(
        !out.contains("9876"),
        "the PIN appears in the output:\n{out}"
    );
    assert!(!cfg.exists(), "no config file after a failed pairing");
}

#[test]
fn pairing_gives_up_when_the_button_is_never_pressed() {
    let (_sim, url) = start_sim(&["--button", "manual"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let started = Instant::now();
    let mut p = pair(
        &url,
        "3014F711A000000000000001",
        &cfg,
        &["--timeout", "3"],
        &[],
    );
    assert!(!p.wait_exit().success());
    let out = p.output();
    assert!(
        out.contains("press the blue button"),
        "the user was told to press the button:\n{out}"
    );
    assert!(out.contains("not pressed within"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!cfg.exists());
}

#[test]
fn pair_then_run_and_no_secret_is_ever_logged() {
    let (sim, url) = start_sim(&[
        "--pin",
        "4711",
        "--fixture",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let mut pairing = pair(
        &url,
        "3014F711A000000000000001",
        &cfg,
        &[],
        &[("HMIP_PIN", "4711")],
    );
    assert!(pairing.wait_exit().success(), "{}", pairing.output());
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    for key in [
        "authToken",
        "clientAuthToken",
        "clientId",
        "deviceId",
        "accessPointSgtin",
    ] {
        assert!(
            config[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} missing in {config}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let mut run = Proc::spawn(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[],
    );
    let api = api_of(&run);
    wait_connection(&api, &run, true);
    let devices = get_json(&format!("{api}/api/v1/objects?pattern=hmip.0.devices.*"));
    assert!(devices.as_object().unwrap().len() > 150);
    // The API must not hand out secrets either.
    let everything = format!(
        "{}{}",
        get_json(&format!("{api}/api/v1/states?pattern=*")),
        get_json(&format!("{api}/api/v1/objects?pattern=*"))
    );
    assert!(
        run.terminate().success(),
        "run exits cleanly on SIGTERM:\n{}",
        run.output()
    );

    let logs = format!("{}\n{}\n{}", pairing.output(), run.output(), sim.output());
    for key in ["authToken", "clientAuthToken"] {
        let secret = config[key].as_str().unwrap();
        assert!(!logs.contains(secret), "{key} appears in the logs");
        assert!(
            !everything.contains(secret),
            "{key} appears in the HTTP API"
        );
    }
    assert!(!logs.contains("4711"), "the PIN appears in the logs");
}

#[test]
fn demo_runs_the_demo_home() {
    let mut demo = Proc::spawn(&["demo", "--http", "127.0.0.1:0"], &[]);
    let api = demo.wait_for("HTTP API on ");
    let api = api
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = get_json(&format!("{api}/api/v1/state/hmip.0.info.connection"));
        if st["val"] == Value::Bool(true)
            && get_json(&format!("{api}/api/v1/objects?pattern=hmip.0.devices.*"))
                .as_object()
                .unwrap()
                .len()
                > 25
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "demo never showed its home:\n{}",
            demo.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let page = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest::get(format!("{api}/"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    assert!(page.contains("<html"), "the page is served");
    assert!(demo.terminate().success());
}

/// `http://127.0.0.1:P/` from the HTTP API line `run` prints.
fn api_of(run: &Proc) -> String {
    run.wait_for("HTTP API on ")
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string()
}

fn wait_connection(api: &str, run: &Proc, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while get_json(&format!("{api}/api/v1/state/hmip.0.info.connection"))["val"] != want {
        assert!(
            Instant::now() < deadline,
            "info.connection never became {want}:\n{}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The token revoked under a running `run`: one clear error, `info.connection` false, no
/// retries; `pair` again (a new token in the same config file) and the same process is
/// connected again, with the tree and HTTP API it had.
#[test]
fn a_revoked_token_is_one_error_and_pairing_again_recovers_without_a_restart() {
    let (sim, url) = start_sim(&[
        "--fixture",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    let sgtin = "3014F711A000000000000001";
    let mut pairing = pair(&url, sgtin, &cfg, &[], &[]);
    assert!(pairing.wait_exit().success(), "{}", pairing.output());
    let first_token = std::fs::read_to_string(&cfg).unwrap();
    let mut run = Proc::spawn(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[],
    );
    let api = api_of(&run);
    wait_connection(&api, &run, true);

    let post = |path: &str| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{url}{path}"))
                .body("{}")
                .send()
                .await
                .unwrap();
        })
    };
    post("/sim/revoke");
    wait_connection(&api, &run, false);
    let before = get_json(&format!("{url}/sim/stats"));
    // Longer than the first reconnect delay (8 s) would be, had the client retried.
    std::thread::sleep(Duration::from_secs(10));
    let after = get_json(&format!("{url}/sim/stats"));
    assert_eq!(
        after["requests"], before["requests"],
        "requests after the token was revoked"
    );
    assert_eq!(after["wsConnects"], before["wsConnects"], "reconnects");
    let out = run.output();
    assert_eq!(
        out.matches("rejected the access token").count(),
        1,
        "one clear error:\n{out}"
    );
    assert!(out.contains("pair again"), "{out}");

    // Pair again: the running process picks the new token up.
    let mut again = pair(&url, sgtin, &cfg, &[], &[]);
    assert!(again.wait_exit().success(), "{}", again.output());
    assert_ne!(std::fs::read_to_string(&cfg).unwrap(), first_token);
    wait_connection(&api, &run, true);
    let out = run.output();
    assert!(out.contains("has new credentials"), "{out}");
    let devices = get_json(&format!("{api}/api/v1/objects?pattern=hmip.0.devices.*"));
    assert!(devices.as_object().unwrap().len() > 150);
    assert!(run.terminate().success(), "{}", run.output());
    drop(sim);
}

/// Standalone, the config file's `"valuesAsIoBrokerHmip": true` shows and takes
/// ioBroker.hmip's values: an open blind reads 0, a window "OPEN", and a write of its 75
/// closes the blind to the cloud's 0.75.
#[test]
fn run_shows_and_takes_iobroker_hmips_values_when_the_config_asks() {
    let (_sim, url) = start_sim(&[
        "--fixture",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/home.json"),
    ]);
    let url = url.trim().trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hmip.json");
    std::fs::write(
        &cfg,
        serde_json::json!({
            "accessPointSgtin": iobroker_hmip::sim::DEFAULT_SGTIN,
            "authToken": iobroker_hmip::sim::DEFAULT_AUTH_TOKEN,
            "lookupUrl": format!("{url}/getHost"),
            "valuesAsIoBrokerHmip": true,
        })
        .to_string(),
    )
    .unwrap();
    let mut run = Proc::spawn(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[],
    );
    let api = api_of(&run);
    wait_connection(&api, &run, true);
    let blind = "hmip.0.devices.3014F7110000000000022311.channels.1.shutterLevel";
    let state = |id: &str| get_json(&format!("{api}/api/v1/state/{id}"));
    assert_eq!(state(blind)["val"], 0, "open is 0, as in ioBroker.hmip");
    assert_eq!(
        state("hmip.0.devices.3014F7110000000000000000.channels.1.windowState")["val"],
        "OPEN"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .put(format!("{api}/api/v1/state/{blind}"))
            .json(&serde_json::json!({"val": 75}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let home = get_json(&format!("{url}/sim/home"));
        if home["devices"]["3014F7110000000000022311"]["functionalChannels"]["1"]["shutterLevel"]
            == 0.75
        {
            break;
        }
        assert!(Instant::now() < deadline, "the cloud never got 0.75");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(run.terminate().success());
}
