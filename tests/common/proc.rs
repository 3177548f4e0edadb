//! The binary as a user runs it: a child process of `iobroker-hmip` with its stdout and
//! stderr collected, and helpers for the commands (`sim`, `pair`) the tests start.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_iobroker-hmip");

/// A child process whose stdout and stderr are collected line by line.
pub struct Proc {
    pub child: Child,
    out: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
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

    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait for a line containing `needle`; returns the rest of that line after it.
    pub fn wait_for(&self, needle: &str) -> String {
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

    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
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

    pub fn terminate(&mut self) -> std::process::ExitStatus {
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

pub fn start_sim(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["sim", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let p = Proc::spawn(&args, &[]);
    let url = p.wait_for("listening on ");
    (p, url)
}

/// `iobroker-hmip pair` against the simulator at `url`, writing `cfg`.
pub fn pair(
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

pub fn get_json(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}
