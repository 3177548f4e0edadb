//! The binary as a user runs it: `sim`, `pair`, `run` and `demo`, with their logs captured
//! and searched for secrets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_iobroker-hmip");

/// A child process whose stdout and stderr are collected line by line.
struct Proc {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "debug");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Proc { child, out }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait for a line containing `needle`; returns the rest of that line after it.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.output().lines().find(|l| l.contains(needle)) {
                return line[line.find(needle).unwrap() + needle.len()..]
                    .trim()
                    .to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} in:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50)); // let the readers finish
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.wait_exit()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start_sim(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["sim", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let p = Proc::spawn(&args, &[]);
    let url = p.wait_for("listening on ");
    (p, url)
}

/// `iobroker-hmip pair` against the simulator at `url`, writing `cfg`.
fn pair(
    url: &str,
    sgtin: &str,
    cfg: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Proc {
    let lookup = format!("{url}/getHost");
    let mut args = vec![
        "pair",
        "--sgtin",
        sgtin,
        "--lookup-url",
        &lookup,
        "--config",
        cfg.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args, env)
}

fn get_json(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

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
    let api = run.wait_for("HTTP API on ");
    let api = api
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = get_json(&format!("{api}/api/v1/state/hmip.0.info.connection"));
        if st["val"] == Value::Bool(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never connected:\n{}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
