//! What the `iobroker-hmip` command runs, one module per way to run: the binary only parses
//! its arguments and calls in here.
//!
//! - [`instance`]: the ioBroker instance hmip.N on js-controller's databases, with
//!   [`databases`] (waiting for them) and [`launcher`] (stopping with main.js).
//! - [`standalone`]: the embedded store and the HTTP API, with [`credentials`] (new
//!   credentials in the config file take over without a restart), and the demo.
//! - [`pair`]: pairing with an access point; [`sim`]: the simulated cloud and the tree dump.
//! - [`logging`]: where log lines go.

pub mod credentials;
pub mod databases;
pub mod instance;
pub mod launcher;
pub mod logging;
pub mod pair;
pub mod sim;
pub mod standalone;

use tokio::sync::watch;
use tracing::info;

/// A watch channel that turns true on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        info!("stopping");
        let _ = tx.send(true);
    });
    rx
}
