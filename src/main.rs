//! The `iobroker-hmip` command: run | pair | sim | demo | tree. It parses its arguments and
//! calls [`iobroker_hmip::app`], where each way to run lives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use iobroker_hmip::app::{self, sim::Synthetic};
use iobroker_hmip::cloud::DEFAULT_LOOKUP_URL;
use iobroker_hmip::sim::{self, Button};

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
    /// Pair with an access point through the cloud (press its blue button when asked), or
    /// with an HCU's local Connect API (`--hcu`, an activation key from HCUweb), and write
    /// the config.
    Pair {
        /// The access point's SGTIN, as printed on it (3014-F711-A000-…).
        #[arg(long, required_unless_present = "hcu", conflicts_with = "hcu")]
        sgtin: Option<String>,
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
        /// Pair with the HCU at this name or address (hcu1-XXXX.local) through its local
        /// Connect API instead of the cloud.
        #[arg(long, value_name = "HOST")]
        hcu: Option<String>,
        /// The activation key from HCUweb's developer mode (or the environment variable
        /// HMIP_ACTIVATION_KEY, which keeps it out of the process list).
        #[arg(
            long,
            env = "HMIP_ACTIVATION_KEY",
            hide_env_values = true,
            requires = "hcu"
        )]
        activation_key: Option<String>,
        /// The HCU's pairing port.
        #[arg(long, default_value_t = iobroker_hmip::hcu::DEFAULT_AUTH_PORT, requires = "hcu")]
        hcu_auth_port: u16,
        /// The HCU's Connect API websocket port.
        #[arg(long, default_value_t = iobroker_hmip::hcu::DEFAULT_WEBSOCKET_PORT, requires = "hcu")]
        hcu_websocket_port: u16,
        /// Pair only if the HCU's certificate has this SHA-256 fingerprint.
        #[arg(long, requires = "hcu")]
        fingerprint: Option<String>,
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
        /// Serve the HCU's local Connect API too (HTTPS pairing, WSS websocket), for the
        /// same home.
        #[arg(long)]
        hcu: bool,
        /// Where the simulated HCU's pairing calls listen (with `--hcu`).
        #[arg(long, default_value = "127.0.0.1:0")]
        hcu_auth_listen: SocketAddr,
        /// Where the simulated HCU's websocket listens (with `--hcu`).
        #[arg(long, default_value = "127.0.0.1:0")]
        hcu_ws_listen: SocketAddr,
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
        /// Through the simulated HCU's local Connect API instead of the simulated cloud.
        #[arg(long)]
        hcu: bool,
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

impl From<SyntheticArgs> for Synthetic {
    fn from(a: SyntheticArgs) -> Synthetic {
        Synthetic {
            devices: a.synthetic,
            seed: a.seed,
        }
    }
}

impl From<ButtonArg> for Button {
    fn from(b: ButtonArg) -> Button {
        match b {
            ButtonArg::Auto => Button::Auto,
            ButtonArg::Manual => Button::Manual,
        }
    }
}

fn main() -> anyhow::Result<()> {
    iobroker_hmip::adapter::tune_allocator();
    let cli = Cli::parse();
    let level = app::logging::level_of(match &cli.command {
        Command::Run { loglevel, .. } => loglevel.as_deref(),
        _ => None,
    });
    app::logging::init(
        level,
        match &cli.command {
            Command::Run {
                instance: Some(n),
                iobroker,
                ..
            } => Some((*n, iobroker.as_deref())),
            _ => None,
        },
    );
    // As an ioBroker instance, one worker thread beside the main one: there the adapter's
    // work is one event path and the I/O to js-controller's databases, and a second worker
    // cost 0.4–0.5 MiB resident for no measurable gain in start-up. Standalone, the
    // embedded store's work is ours too, and a large home starts faster with two
    // (BENCHMARKS.md).
    let workers = match &cli.command {
        Command::Run {
            instance: Some(_), ..
        } => 1,
        _ => 2,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Run {
                instance: Some(n),
                iobroker,
                ..
            } => app::instance::run(n, iobroker).await,
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
                app::standalone::run(config, lookup_url, http, data_dir, namespace).await
            }
            Command::Pair {
                hcu: Some(host),
                activation_key,
                hcu_auth_port,
                hcu_websocket_port,
                fingerprint,
                config,
                ..
            } => {
                let key = activation_key.context(
                    "--activation-key (or HMIP_ACTIVATION_KEY) is required with --hcu: generate one in HCUweb's developer mode",
                )?;
                let mut req = iobroker_hmip::hcu::pairing::HcuPairingRequest::new(host, key);
                req.auth_port = hcu_auth_port;
                req.websocket_port = hcu_websocket_port;
                req.expect_fingerprint = fingerprint
                    .map(|f| f.parse())
                    .transpose()
                    .context("--fingerprint")?;
                app::pair::pair_hcu(req, config).await
            }
            Command::Pair {
                sgtin,
                pin,
                device_name,
                lookup_url,
                config,
                timeout,
                ..
            } => {
                // clap requires --sgtin without --hcu.
                let sgtin = sgtin.context("--sgtin or --hcu is required")?;
                app::pair::pair(
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
                hcu,
                hcu_auth_listen,
                hcu_ws_listen,
                synthetic,
            } => {
                let hcu = hcu.then(|| sim::HcuSimConfig {
                    auth_listen: hcu_auth_listen,
                    ws_listen: hcu_ws_listen,
                    ..sim::HcuSimConfig::default()
                });
                let (synthetic, button) = (synthetic.into(), button.into());
                app::sim::serve(fixture, synthetic, listen, sgtin, pin, button, hcu).await
            }
            Command::Demo { http, hcu } => app::standalone::demo(http, hcu).await,
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
                app::sim::print_tree(fixture, synthetic.into(), &namespace, convention)
            }
        }
    })
}
