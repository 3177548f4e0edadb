//! Connecting to js-controller's databases, waiting while they are not up yet (the
//! controller starting), with backoff, until a stop.

use std::time::Duration;

use crate::backoff::Backoff;

use tokio::sync::watch;
use tracing::warn;

use crate::adapter::iobroker_json::{Databases, DbEndpoint};
use crate::store::redis::{DbConfig, RedisOptions, RedisStore};

fn db(e: DbEndpoint) -> DbConfig {
    DbConfig {
        host: e.host,
        port: e.port,
        password: e.password,
        db: e.db,
    }
}

/// Connect to the states and objects databases of `dbs`, retrying with backoff (1 s up to
/// 30 s) while they cannot be reached. None when `shutdown` changed first.
pub async fn connect(
    dbs: &Databases,
    opts: RedisOptions,
    shutdown: watch::Receiver<bool>,
) -> Option<RedisStore> {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        match RedisStore::connect(
            db(dbs.states.clone()),
            db(dbs.objects.clone()),
            opts.clone(),
        )
        .await
        {
            Ok(s) => return Some(s),
            Err(e) => {
                let wait = backoff.next_wait();
                warn!("waiting for ioBroker's databases: {e}; retrying in {wait:.1?}");
                let mut sd = shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = sd.changed() => return None,
                }
            }
        }
    }
}
