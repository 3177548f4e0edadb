//! The `iobroker-hmip` command: run | pair | sim | demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::watch;
use tracing::{error, info, warn};

use iobroker_hmip::adapter::config::InstanceConfig;
use iobroker_hmip::adapter::instance::{self, InstanceOptions};
use iobroker_hmip::adapter::iobroker_json;
use iobroker_hmip::adapter::{self, AdapterOptions, ADAPTER_NAME};
use iobroker_hmip::cloud::pairing::{self, PairingRequest};
use iobroker_hmip::cloud::stream::CloudConfig;
use iobroker_hmip::cloud::{ClientOptions, DEFAULT_LOOKUP_URL};
use iobroker_hmip::sim::{self, Button, SimConfig};
use iobroker_hmip::store::embedded::EmbeddedStore;
use iobroker_hmip::store::redis::{DbConfig, RedisOptions, RedisStore};
use iobroker_hmip::store::Store;
use iobroker_hmip::web;

#[derive(Parser)]
#[command(
    name = "iobroker-hmip",
    version,
    about = "Homematic IP cloud adapter for ioBroker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run standalone on the embedded store with the HTTP API (`--config`), or as the
    /// ioBroker instance hmip.N on js-controller's databases (`--instance`).
    Run {
        /// The config file written by `pair` (JSON with ioBroker.hmip's native keys).
        #[arg(
            long,
            required_unless_present = "instance",
            conflicts_with = "instance"
        )]
        config: Option<PathBuf>,
        /// Lookup URL (the real cloud's by default, or the config file's `lookupUrl`).
        #[arg(long)]
        lookup_url: Option<String>,
        /// Address of the HTTP API.
        #[arg(long, default_value = "127.0.0.1:8089")]
        http: SocketAddr,
        /// Where the embedded store keeps the tree (default: beside the config file).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Instance namespace (standalone mode).
        #[arg(long, default_value = "hmip.0")]
        namespace: String,
        /// Run as the ioBroker instance hmip.N (js-controller starts it so, through main.js).
        #[arg(long)]
        instance: Option<u32>,
        /// js-controller's iobroker.json or its folder (default: $IOBROKER_DATA_DIR, or
        /// iobroker-data two levels above the adapter folder).
        #[arg(long, requires = "instance")]
        iobroker: Option<PathBuf>,
        /// js-controller's log level for this instance (silly, debug, info, warn, error);
        /// RUST_LOG, when set, wins.
        #[arg(long)]
        loglevel: Option<String>,
    },
    /// Pair with an access point (press its blue button when asked) and write the config.
    Pair {
        /// The access point's SGTIN, as printed on it (3014-F711-A000-…).
        #[arg(long)]
        sgtin: String,
        /// The system PIN, if one is set in the app (or the environment variable HMIP_PIN,
        /// which keeps it out of the process list).
        #[arg(long, env = "HMIP_PIN", hide_env_values = true)]
        pin: Option<String>,
        /// The name this client gets in the Homematic IP app.
        #[arg(long, default_value = "ioBroker")]
        device_name: String,
        /// Lookup URL (the real cloud's by default).
        #[arg(long, default_value = DEFAULT_LOOKUP_URL)]
        lookup_url: String,
        /// Where to write the config file (mode 0600).
        #[arg(long)]
        config: PathBuf,
        /// Give up when the button is not pressed within this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Serve the simulated Homematic IP cloud.
    Sim {
        /// A getCurrentState answer to serve (default: the built-in demo home).
        #[arg(long)]
        fixture: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: SocketAddr,
        /// The simulated access point's SGTIN.
        #[arg(long, default_value = sim::DEFAULT_SGTIN)]
        sgtin: String,
        /// Require this PIN for pairing.
        #[arg(long)]
        pin: Option<String>,
        /// Press the blue button automatically after about a second, or only through
        /// `POST /sim/button`.
        #[arg(long, value_enum, default_value_t = ButtonArg::Auto)]
        button: ButtonArg,
        #[command(flatten)]
        synthetic: SyntheticArgs,
    },
    /// Print the object tree (id -> object) a home maps to, for checks and docs.
    #[command(hide = true)]
    Tree {
        /// A getCurrentState answer (default: the demo home).
        #[arg(long)]
        fixture: Option<PathBuf>,
        /// Instance namespace.
        #[arg(long, default_value = "hmip.0")]
        namespace: String,
        /// The objects as with the setting "values as ioBroker.hmip" on.
        #[arg(long)]
        values_as_iobroker_hmip: bool,
        #[command(flatten)]
        synthetic: SyntheticArgs,
    },
    /// Try it: the simulator with the demo home plus a standalone run, in one process.
    Demo {
        /// Address of the HTTP API and page.
        #[arg(long, default_value = "127.0.0.1:8089")]
        http: SocketAddr,
    },
}

/// A synthetic home (benchmarks): `--synthetic N` devices built from the `--fixture` home
/// (or the demo home), by seed.
#[derive(clap::Args, Clone, Copy)]
struct SyntheticArgs {
    /// Serve a synthetic home of N devices, built from the device types of `--fixture`
    /// (or of the demo home): fresh ids, randomised values, groups scaled along, about 1 %
    /// unknown device and channel types.
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// The seed of the synthetic home: the same seed, the same home.
    #[arg(long, default_value_t = 1, requires = "synthetic")]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum ButtonArg {
    Auto,
    Manual,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    use std::io::IsTerminal;
    // js-controller's level names; "silly" is its trace.
    let level = match &cli.command {
        Command::Run {
            loglevel: Some(l), ..
        } => match l.as_str() {
            "silly" => "trace",
            "debug" => "debug",
            "warn" => "warn",
            "error" => "error",
            _ => "info",
        },
        _ => "info",
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // As an ioBroker instance, log lines also go to admin's log view (live).
    let forward = matches!(
        &cli.command,
        Command::Run {
            instance: Some(_),
            ..
        }
    )
    .then(|| {
        iobroker_hmip::adapter::logbus::LogForward::new(
            level.parse().unwrap_or(tracing::Level::INFO),
        )
    });
    // And to ioBroker's log file, as a Node adapter's lines do.
    let log_file = match &cli.command {
        Command::Run {
            instance: Some(n),
            iobroker,
            ..
        } => iobroker_hmip::adapter::logfile::LogFile::for_instance(
            iobroker.as_deref(),
            *n,
            level.parse().unwrap_or(tracing::Level::INFO),
        ),
        _ => None,
    };
    // js-controller shows an instance's stderr only when it exits, and then as errors:
    // there, stderr gets warnings and errors only (live lines reach admin through `forward`).
    let stderr_level = if forward.is_some() {
        tracing_subscriber::filter::LevelFilter::WARN
    } else {
        tracing_subscriber::filter::LevelFilter::TRACE
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(stderr_level),
        )
        .with(forward)
        .with(log_file)
        .with(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        // Whatever RUST_LOG asks for: no library's log line that carries a token.
        .with(tracing_subscriber::filter::filter_fn(
            iobroker_hmip::cloud::stream::log_event_is_secret_free,
        ))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Run {
                instance: Some(n),
                iobroker,
                ..
            } => run_instance(n, iobroker).await,
            Command::Run {
                config,
                lookup_url,
                http,
                data_dir,
                namespace,
                ..
            } => {
                // clap requires --config without --instance.
                let config = config.context("--config or --instance is required")?;
                run(config, lookup_url, http, data_dir, namespace).await
            }
            Command::Pair {
                sgtin,
                pin,
                device_name,
                lookup_url,
                config,
                timeout,
            } => {
                pair(
                    sgtin,
                    pin,
                    device_name,
                    lookup_url,
                    config,
                    Duration::from_secs(timeout),
                )
                .await
            }
            Command::Sim {
                fixture,
                listen,
                sgtin,
                pin,
                button,
                synthetic,
            } => serve_sim(fixture, synthetic, listen, sgtin, pin, button).await,
            Command::Demo { http } => demo(http).await,
            Command::Tree {
                fixture,
                namespace,
                values_as_iobroker_hmip,
                synthetic,
            } => {
                let convention = if values_as_iobroker_hmip {
                    iobroker_hmip::tree::Convention::IoBrokerHmip
                } else {
                    iobroker_hmip::tree::Convention::Own
                };
                print_tree(fixture, synthetic, &namespace, convention)
            }
        }
    })
}

/// A watch channel that turns true on Ctrl-C or SIGTERM.
fn shutdown_signal() -> watch::Receiver<bool> {
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

/// The ioBroker instance hmip.N on js-controller's databases.
async fn run_instance(instance: u32, iobroker: Option<PathBuf>) -> anyhow::Result<()> {
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
    let db = |e: iobroker_json::DbEndpoint| DbConfig {
        host: e.host,
        port: e.port,
        password: e.password,
        db: e.db,
    };
    let opts = RedisOptions {
        from: format!("system.adapter.{ADAPTER_NAME}.{instance}"),
        reconnect_min: Duration::from_millis(500),
        reconnect_max: Duration::from_secs(30),
    };
    let shutdown = shutdown_signal();
    watch_launcher_stdin(shutdown.clone());
    // The databases may not be up yet (the controller starting): wait for them.
    let mut delay = Duration::from_secs(1);
    let store = loop {
        match RedisStore::connect(
            db(dbs.states.clone()),
            db(dbs.objects.clone()),
            opts.clone(),
        )
        .await
        {
            Ok(s) => break s,
            Err(e) => {
                warn!("waiting for ioBroker's databases: {e}; retrying in {delay:?}");
                let mut sd = shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = sd.changed() => return Ok(()),
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
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
async fn stop_within(
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

/// main.js, running the binary as its child, gives it a pipe as stdin that it never writes
/// to: EOF means the launcher is gone (js-controller SIGKILLs it after stopTimeout), so
/// stop. Only for a pipe: a terminal, /dev/null (js-controller's stdin for the process it
/// forks, which is us where main.js execve'd) or a socket say nothing about a launcher.
fn watch_launcher_stdin(shutdown: watch::Receiver<bool>) {
    if !is_launcher_pipe(Path::new("/proc/self/fd/0")) {
        return;
    }
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        if !*shutdown.borrow() {
            info!("the launcher is gone (stdin closed): stopping");
            // SAFETY: raising SIGTERM on ourselves runs the normal shutdown path.
            unsafe {
                libc::raise(libc::SIGTERM);
            }
        }
    });
}

/// Whether the file behind `fd_link` (a `/proc/self/fd/N` link) is a pipe, the only kind of
/// stdin that tells the launcher's end.
fn is_launcher_pipe(fd_link: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(fd_link)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

fn default_data_dir(config: &Path) -> PathBuf {
    config.with_extension("data")
}

async fn run(
    config_path: PathBuf,
    lookup_url: Option<String>,
    http: SocketAddr,
    data_dir: Option<PathBuf>,
    namespace: String,
) -> anyhow::Result<()> {
    let config = InstanceConfig::load(&config_path)?;
    if !config.is_paired() {
        anyhow::bail!(
            "{} has no accessPointSgtin/authToken: run `iobroker-hmip pair` first",
            config_path.display()
        );
    }
    let data_dir = data_dir.unwrap_or_else(|| default_data_dir(&config_path));
    let store: Arc<dyn Store> = Arc::new(
        EmbeddedStore::open(&data_dir)
            .with_context(|| format!("opening the store in {}", data_dir.display()))?,
    );
    let cloud_config = move |config: &InstanceConfig| CloudConfig {
        sgtin: config.access_point_sgtin.clone(),
        auth_token: config.auth_token.clone(),
        lookup_url: lookup_url
            .clone()
            .or(config.lookup_url.clone())
            .unwrap_or_else(|| DEFAULT_LOOKUP_URL.to_string()),
        options: ClientOptions::default(),
    };
    let first = cloud_config(&config);
    // Read at start: a change of the setting takes a restart, as under js-controller.
    let convention = config.convention();
    let credentials = watch_credentials(config_path, config, move |c| cloud_config(c));
    run_standalone(first, Some(credentials), store, http, namespace, convention).await
}

/// How often `run` looks at its config file for new credentials.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Watch the config file: whenever `pair` (or the user) writes other credentials into it,
/// send the cloud config they make. So a revoked token is fixed by pairing again, without
/// restarting `run`. Polls the file's modification time (cheap, and works on every file
/// system); a file that cannot be read or is not paired is ignored until it is fixed.
fn watch_credentials(
    path: PathBuf,
    mut current: InstanceConfig,
    cloud_config: impl Fn(&InstanceConfig) -> CloudConfig + Send + 'static,
) -> tokio::sync::mpsc::Receiver<CloudConfig> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    tokio::spawn(async move {
        let mut seen = modified(&path);
        loop {
            tokio::time::sleep(CONFIG_POLL).await;
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let Ok(config) = InstanceConfig::load(&path) else {
                continue;
            };
            let changed = config.access_point_sgtin != current.access_point_sgtin
                || config.auth_token != current.auth_token
                || config.lookup_url != current.lookup_url;
            if config.is_paired() && changed {
                info!(
                    "{} has new credentials: reconnecting with them",
                    path.display()
                );
                if tx.send(cloud_config(&config)).await.is_err() {
                    return;
                }
                current = config;
            }
        }
    });
    rx
}

/// The standalone runtime: HTTP API, then the cloud (the lookup retried with backoff
/// while the network or the cloud is down), then the adapter until a signal. New
/// credentials from `credentials` become a new cloud connection that takes over in the
/// running adapter (same tree, store subscription and pending writes).
async fn run_standalone(
    cloud_config: CloudConfig,
    credentials: Option<tokio::sync::mpsc::Receiver<CloudConfig>>,
    store: Arc<dyn Store>,
    http: SocketAddr,
    namespace: String,
    convention: iobroker_hmip::tree::Convention,
) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let (bound, _server) = web::serve(store.clone(), http)
        .await
        .with_context(|| format!("starting the HTTP API on {http}"))?;
    info!(
        "HTTP API on http://{bound}/ (states: http://{bound}/api/v1/states?pattern={namespace}.*)"
    );
    let (replace, replacements) =
        tokio::sync::mpsc::channel::<Arc<dyn iobroker_hmip::cloud::Transport>>(1);
    if let Some(mut credentials) = credentials {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            while let Some(cfg) = credentials.recv().await {
                match adapter::connect_cloud(cfg, stop.clone()).await {
                    Ok(Some(cloud)) => {
                        if replace.send(Arc::new(cloud)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => error!("connecting with the new credentials failed: {e}"),
                }
            }
        });
    }
    let Some(cloud) = adapter::connect_cloud(cloud_config, shutdown.clone())
        .await
        .context("connecting to the Homematic IP cloud")?
    else {
        return Ok(());
    };
    let opts = AdapterOptions {
        namespace,
        convention,
        ..AdapterOptions::default()
    };
    adapter::run_with(Arc::new(cloud), replacements, store, opts, shutdown).await
}

async fn pair(
    sgtin: String,
    pin: Option<String>,
    device_name: String,
    lookup_url: String,
    config_path: PathBuf,
    timeout: Duration,
) -> anyhow::Result<()> {
    let sgtin = iobroker_hmip::cloud::identity::normalize_sgtin(&sgtin)?;
    let mut req = PairingRequest::new(
        sgtin.clone(),
        pin.clone(),
        device_name.clone(),
        lookup_url.clone(),
    );
    req.timeout = timeout;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            eprintln!("pairing: {p}");
        }
    });
    let result = pairing::pair(&req, tx).await;
    let _ = printer.await;
    let creds = match result {
        Ok(c) => c,
        Err(e) => {
            error!("pairing failed: {e}");
            return Err(anyhow::anyhow!("pairing failed: {e}"));
        }
    };
    let config = InstanceConfig {
        access_point_sgtin: creds.sgtin.clone(),
        pin,
        device_name: Some(device_name),
        device_id: creds.device_id.clone(),
        auth_token: creds.auth_token.clone(),
        client_auth_token: creds.client_auth_token.clone(),
        client_id: creds.client_id.clone(),
        lookup_url: (lookup_url != DEFAULT_LOOKUP_URL).then_some(lookup_url),
        values_as_iobroker_hmip: false,
    };
    config.save(&config_path)?;
    eprintln!(
        "paired; config written to {} (mode 0600)",
        config_path.display()
    );
    Ok(())
}

async fn serve_sim(
    fixture: Option<PathBuf>,
    synthetic: SyntheticArgs,
    listen: SocketAddr,
    sgtin: String,
    pin: Option<String>,
    button: ButtonArg,
) -> anyhow::Result<()> {
    let mut cfg = match fixture {
        Some(path) => SimConfig::with_fixture_file(&path, listen)?,
        None => SimConfig::demo(listen),
    };
    if let Some(n) = synthetic.synthetic {
        cfg.home = sim::synth::try_synthetic_home(&cfg.home, n, synthetic.seed)?;
        info!("a synthetic home of {n} devices (seed {})", synthetic.seed);
    }
    cfg.sgtin = iobroker_hmip::cloud::identity::normalize_sgtin(&sgtin)?;
    cfg.pin = pin;
    cfg.button = match button {
        ButtonArg::Auto => Button::Auto,
        ButtonArg::Manual => Button::Manual,
    };
    let handle = sim::start(cfg).await?;
    println!("listening on {}", handle.url());
    let mut sd = shutdown_signal();
    let _ = sd.changed().await;
    handle.shutdown().await;
    Ok(())
}

async fn demo(http: SocketAddr) -> anyhow::Result<()> {
    let handle = sim::start(SimConfig::demo("127.0.0.1:0".parse()?)).await?;
    info!("simulated cloud on {}", handle.url());
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory());
    let cloud_config = CloudConfig {
        sgtin: sim::DEFAULT_SGTIN.to_string(),
        auth_token: sim::DEFAULT_AUTH_TOKEN.to_string(),
        lookup_url: handle.lookup_url(),
        options: ClientOptions::default(),
    };
    eprintln!("demo: a simulated home of {} devices; open the page below to watch and switch it, Ctrl-C stops", sim::demo_home()["devices"].as_object().map_or(0, |d| d.len()));
    let res = run_standalone(
        cloud_config,
        None,
        store,
        http,
        "hmip.0".into(),
        iobroker_hmip::tree::Convention::Own,
    )
    .await;
    handle.shutdown().await;
    res
}

fn print_tree(
    fixture: Option<PathBuf>,
    synthetic: SyntheticArgs,
    namespace: &str,
    convention: iobroker_hmip::tree::Convention,
) -> anyhow::Result<()> {
    let mut home = match fixture {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => sim::demo_home(),
    };
    if let Some(n) = synthetic.synthetic {
        home = sim::synth::try_synthetic_home(&home, n, synthetic.seed)?;
    }
    let state: iobroker_hmip::cloud::CurrentState =
        serde_json::from_value(home).context("not a getCurrentState answer")?;
    let snap = iobroker_hmip::tree::snapshot_in(convention, namespace, &state);
    let map: serde_json::Map<String, serde_json::Value> = snap
        .objects
        .into_iter()
        .map(|o| (o.id.clone(), serde_json::to_value(o).unwrap_or_default()))
        .collect();
    println!("{}", serde_json::to_string_pretty(&map)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    fn fd_link(fd: &impl AsRawFd) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
    }

    /// The launcher's stdin pipe is watched; what js-controller gives the process it forks
    /// (stdin /dev/null, the IPC channel a socket), where main.js execve'd into the binary,
    /// is not: watching it would stop the instance at once (/dev/null reads EOF).
    #[test]
    fn only_a_pipe_on_stdin_means_a_launcher_to_watch() {
        let mut fds = [0; 2];
        // SAFETY: pipe() fills both fds, each then owned by exactly one OwnedFd.
        let (reader, _writer) = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        assert!(is_launcher_pipe(&fd_link(&reader)));

        let null = std::fs::File::open("/dev/null").expect("/dev/null");
        assert!(!is_launcher_pipe(&fd_link(&null)));

        let (socket, _peer) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        assert!(!is_launcher_pipe(&fd_link(&socket)));

        assert!(!is_launcher_pipe(Path::new("/proc/self/fd/987654")));
    }

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
