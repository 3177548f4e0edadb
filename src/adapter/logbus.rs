//! Log lines for ioBroker's log view. js-controller shows an instance's stderr only after
//! the instance exits, so live lines are published the way adapters do it: on
//! `log.system.adapter.<X>` for every subscriber X whose `logging` state is true (admin's
//! log tab), as `{severity, ts, message, from, _id}`.
//!
//! A tracing layer ([`LogForward`]) hands each event to a bounded channel; the instance
//! takes the receiver and publishes. Lines that do not fit are dropped: a log burst must
//! never slow the adapter down.

use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// One log line: ioBroker severity and text.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// `error`, `warn`, `info`, `debug` or `silly`.
    pub severity: &'static str,
    /// The message with its fields.
    pub message: String,
    /// ms since the epoch.
    pub ts: i64,
}

/// The layer's sending end, and the receiving end until the instance takes it.
type Channel = (
    mpsc::Sender<LogLine>,
    Mutex<Option<mpsc::Receiver<LogLine>>>,
);

static CHANNEL: OnceLock<Channel> = OnceLock::new();

fn channel() -> &'static Channel {
    CHANNEL.get_or_init(|| {
        let (tx, rx) = mpsc::channel(1000);
        (tx, Mutex::new(Some(rx)))
    })
}

/// The receiving end, once (the instance takes it).
pub fn take_receiver() -> Option<mpsc::Receiver<LogLine>> {
    channel().1.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Give the receiving end back when an instance stops, for the next one of this process.
pub fn give_back(rx: mpsc::Receiver<LogLine>) {
    *channel().1.lock().unwrap_or_else(|e| e.into_inner()) = Some(rx);
}

/// The tracing layer that forwards events at `min` and above.
pub struct LogForward {
    min: Level,
}

impl LogForward {
    /// Forward events at `min` level and more severe.
    pub fn new(min: Level) -> Self {
        LogForward { min }
    }
}

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for LogForward {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        // Our own lines only (not the HTTP stack's), and not the store's: publishing goes
        // through the store, and its lines must not feed back into more publishing.
        let target = event.metadata().target();
        if level > self.min
            || !target.starts_with("iobroker_hmip")
            || target.starts_with("iobroker_hmip::store")
        {
            return;
        }
        let _ = channel().0.try_send(LogLine {
            severity: severity(level),
            message: event_text(event),
            ts: crate::iobroker::now_ms(),
        });
    }
}

/// js-controller's name of a level (`silly` is its trace).
pub fn severity(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "silly",
    }
}

/// An event's message followed by its fields as ` name=value`.
pub fn event_text(event: &Event<'_>) -> String {
    let mut text = Text(String::new());
    event.record(&mut text);
    text.0
}
