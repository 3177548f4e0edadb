//! The simulated cloud (`sim`) and the tree dump (`tree`): a home from a fixture, the demo
//! home or a synthetic one.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use tracing::info;

use super::shutdown_signal;
use crate::sim::{self, Button, SimConfig};

/// A synthetic home (benchmarks): `devices` built from the fixture's (or the demo home's)
/// device types, by `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    /// How many devices; None: the fixture as it is.
    pub devices: Option<usize>,
    /// The same seed, the same home.
    pub seed: u64,
}

/// Serve the simulated cloud on `listen` (and with `hcu` the HCU's local API) until a
/// signal.
pub async fn serve(
    fixture: Option<PathBuf>,
    synthetic: Synthetic,
    listen: SocketAddr,
    sgtin: String,
    pin: Option<String>,
    button: Button,
    hcu: Option<sim::HcuSimConfig>,
) -> anyhow::Result<()> {
    let mut cfg = match fixture {
        Some(path) => SimConfig::with_fixture_file(&path, listen)?,
        None => SimConfig::demo(listen),
    };
    if let Some(n) = synthetic.devices {
        cfg.home = sim::synth::try_synthetic_home(&cfg.home, n, synthetic.seed)?;
        info!("a synthetic home of {n} devices (seed {})", synthetic.seed);
    }
    cfg.sgtin = crate::cloud::identity::normalize_sgtin(&sgtin)?;
    cfg.pin = pin;
    cfg.button = button;
    cfg.hcu = hcu;
    let handle = sim::start(cfg).await?;
    println!("listening on {}", handle.url());
    if let Some(hcu) = handle.hcu() {
        println!(
            "hcu listening on https://{} (websocket wss://{})",
            hcu.auth_addr, hcu.ws_addr
        );
        // The simulator's well-known test key, not a user's secret.
        println!("hcu activation key {}", sim::HCU_ACTIVATION_KEY);
        println!("hcu certificate fingerprint {}", hcu.fingerprint);
    }
    let mut sd = shutdown_signal();
    let _ = sd.changed().await;
    handle.shutdown().await;
    Ok(())
}

/// Print the objects the tree builds for a home, as JSON.
pub fn print_tree(
    fixture: Option<PathBuf>,
    synthetic: Synthetic,
    namespace: &str,
    convention: crate::tree::Convention,
) -> anyhow::Result<()> {
    let mut home = match fixture {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => sim::demo_home(),
    };
    if let Some(n) = synthetic.devices {
        home = sim::synth::try_synthetic_home(&home, n, synthetic.seed)?;
    }
    let state: crate::cloud::CurrentState =
        serde_json::from_value(home).context("not a getCurrentState answer")?;
    let snap = crate::tree::snapshot_in(convention, namespace, &state);
    let map: serde_json::Map<String, serde_json::Value> = snap
        .objects
        .into_iter()
        .map(|o| (o.id.clone(), serde_json::to_value(o).unwrap_or_default()))
        .collect();
    println!("{}", serde_json::to_string_pretty(&map)?);
    Ok(())
}
