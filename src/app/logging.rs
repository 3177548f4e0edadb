//! Where log lines go: stderr, and as an ioBroker instance also admin's live log view and
//! ioBroker's log file. No line that carries a token goes anywhere.

use std::path::Path;

/// js-controller's level name (`silly` is its trace) as a tracing filter; `info` for any
/// other.
pub fn level_of(loglevel: Option<&str>) -> &'static str {
    match loglevel {
        Some("silly") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error") => "error",
        _ => "info",
    }
}

/// Install the global subscriber at `level` (a tracing filter; RUST_LOG overrides it).
/// `instance`: the instance number and ioBroker's directory when running as hmip.N.
pub fn init(level: &str, instance: Option<(u32, Option<&Path>)>) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // As an ioBroker instance, log lines also go to admin's log view (live).
    let forward = instance.is_some().then(|| {
        crate::adapter::logbus::LogForward::new(level.parse().unwrap_or(tracing::Level::INFO))
    });
    // And to ioBroker's log file, as a Node adapter's lines do.
    let log_file = match instance {
        Some((n, iobroker)) => crate::adapter::logfile::LogFile::for_instance(
            iobroker,
            n,
            level.parse().unwrap_or(tracing::Level::INFO),
        ),
        None => None,
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
            crate::cloud::stream::log_event_is_secret_free,
        ))
        .init();
}
