//! The ioBroker instance hmip.N (`run --instance N`): find js-controller's databases,
//! wait for them, run [`crate::adapter::instance`] on them, and stop in time when the
//! launcher or js-controller goes away.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::{databases, launcher, shutdown_signal};
use crate::adapter::instance::{self, InstanceOptions};
use crate::adapter::{iobroker_json, ADAPTER_NAME};
use crate::store::redis::RedisOptions;

/// The ioBroker instance hmip.N on js-controller's databases.
pub async fn run(instance: u32, iobroker: Option<PathBuf>) -> anyhow::Result<()> {
    // Our parent is the launcher (main.js running us as its child), which js-controller may
    // kill outright: die with it. Where main.js replaced itself with us (execve), the parent
    // is js-controller itself: stop when it is gone, as main.js does on its `disconnect`.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    let path = iobroker_json::find(iobroker.as_deref())?;
    let dbs = iobroker_json::load(&path)?;
    info!(states = %format!("{}:{}", dbs.states.host, dbs.states.port), objects = %format!("{}:{}", dbs.objects.host, dbs.objects.port), "ioBroker databases from {}", path.display());
    let opts = RedisOptions {
        from: format!("system.adapter.{ADAPTER_NAME}.{instance}"),
        reconnect_min: Duration::from_millis(500),
        reconnect_max: Duration::from_secs(30),
    };
    let shutdown = shutdown_signal();
    launcher::watch_stdin(shutdown.clone());
    // The databases may not be up yet (the controller starting): wait for them.
    let Some(store) = databases::connect(&dbs, opts, shutdown.clone()).await else {
        return Ok(());
    };
    let work = instance::run(
        Arc::new(store),
        InstanceOptions::new(instance),
        shutdown.clone(),
    );
    stop_within(work, shutdown, STOP_GRACE).await
}

/// How long the instance may take to stop once signalled (its last writes: `alive` and
/// `info.connection` false).
const STOP_GRACE: Duration = Duration::from_millis(1500);

/// Runs `work` to its end, or until `grace` after `shutdown` turned true. A stop must not
/// hang on databases that are gone: when js-controller dies (it serves the jsonl databases)
/// the binary gets SIGTERM through PR_SET_PDEATHSIG, and where main.js execve'd into it no
/// launcher SIGKILLs it 2 s later.
pub async fn stop_within(
    work: impl std::future::Future<Output = anyhow::Result<()>>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) -> anyhow::Result<()> {
    let deadline = async {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = work => r,
        () = deadline => {
            warn!("still stopping {grace:?} after the stop signal (databases gone?): exiting");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop that hangs (databases gone) ends `grace` after the signal; a run that ends by
    /// itself is not cut short, and nothing ends before the signal.
    #[tokio::test]
    async fn a_hanging_stop_ends_after_the_grace() {
        let (tx, rx) = watch::channel(false);
        let grace = Duration::from_millis(100);
        let hanging = stop_within(std::future::pending(), rx.clone(), grace);
        tokio::pin!(hanging);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut hanging)
                .await
                .is_err(),
            "ended before any stop signal"
        );
        tx.send(true).unwrap();
        let t0 = std::time::Instant::now();
        hanging.await.unwrap();
        let took = t0.elapsed();
        assert!(
            took >= grace && took < Duration::from_secs(2),
            "took {took:?}"
        );

        let quick = stop_within(async { anyhow::bail!("its own error") }, rx, grace);
        assert_eq!(quick.await.unwrap_err().to_string(), "its own error");
    }
}
