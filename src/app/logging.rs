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

/// RUST_LOG's directives (`debug`, `iobroker_hmip=debug,hyper=warn`) when it is set and
/// valid, else `level`. `Targets`, not `EnvFilter`: the same directives without span and
/// field filters, and without the regex engine that `EnvFilter` brings (0.26 MB of code,
/// most of it resident once linked beside the code that runs).
fn filter_of(rust_log: Option<&str>, level: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    if let Some(directives) = rust_log.filter(|d| !d.trim().is_empty()) {
        match directives.parse::<Targets>() {
            Ok(t) => return t,
            Err(e) => {
                eprintln!("RUST_LOG={directives:?} is not a log filter ({e}); logging at {level}")
            }
        }
    }
    Targets::new().with_default(level.parse().unwrap_or(LevelFilter::INFO))
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
        .with(filter_of(std::env::var("RUST_LOG").ok().as_deref(), level))
        // Whatever RUST_LOG asks for: no library's log line that carries a token.
        .with(tracing_subscriber::filter::filter_fn(
            crate::cloud::stream::log_event_is_secret_free,
        ))
        .init();
}

#[cfg(test)]
mod tests {
    use super::filter_of;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn rust_log_wins_when_valid_and_the_level_holds_otherwise() {
        let f = filter_of(None, "warn");
        assert!(f.would_enable("iobroker_hmip", &Level::WARN));
        assert!(!f.would_enable("iobroker_hmip", &Level::INFO));
        let f = filter_of(Some("iobroker_hmip=debug,hyper=warn"), "info");
        assert!(f.would_enable("iobroker_hmip::cloud", &Level::DEBUG));
        assert!(!f.would_enable("hyper::proto", &Level::INFO));
        assert!(
            !f.would_enable("other", &Level::ERROR),
            "no default: only the named targets"
        );
        let f = filter_of(Some("debug"), "info");
        assert!(f.would_enable("anything", &Level::DEBUG));
        // Not a filter, or empty: the level, not nothing.
        for bad in ["iobroker_hmip=loud", "  "] {
            let f = filter_of(Some(bad), "info");
            assert_eq!(f.default_level(), Some(LevelFilter::INFO), "{bad:?}");
        }
    }
}
