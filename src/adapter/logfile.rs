//! The instance's lines in ioBroker's log file, written as a Node adapter writes them.
//!
//! js-controller 7.2.3 gives every process (the controller and each Node adapter) a winston
//! logger built from iobroker.json's `log` section; each `type: "file"` transport
//! (winston-daily-rotate-file) appends to `<filename>.<YYYY-MM-DD><fileext>`, where a
//! relative `filename` is taken from the ioBroker root (default `log/iobroker`, `.log`), the
//! date is local unless `localTime` is false, and a new file begins when the date changes.
//! A line is `<YYYY-MM-DD HH:MM:SS.mmm>  - <level>: hmip.0 (<pid>) <message>`, the time
//! local, the level coloured with ANSI codes unless `colorize` is false. Here each line is
//! one append (`O_APPEND`, one `write`), so lines of the controller and of other adapters
//! writing the same file at once stay whole. Deleting old files (`maxDays`) is left to the
//! controller, as Node adapters leave it.
//!
//! Lines are written synchronously: an append to the page cache costs microseconds, and the
//! last lines before an exit (the ones a bug report needs) must not wait in a queue.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::logbus::{event_text, severity};

/// One file transport of iobroker.json, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTransport {
    /// The path before the date: `<root>/log/iobroker`.
    pub stem: PathBuf,
    /// After the date: `.log` (empty when the `filename` already contains `.log`).
    pub ext: String,
    /// Lines at this level and more severe (the transport's own `level`, else the instance's).
    pub min: Level,
    /// The file's date in UTC (`localTime: false`) rather than local time.
    pub utc: bool,
}

impl FileTransport {
    /// The file for a date (`YYYY-MM-DD`).
    pub fn path_for(&self, date: &str) -> PathBuf {
        let mut name = self.stem.as_os_str().to_owned();
        name.push(format!(".{date}{}", self.ext));
        PathBuf::from(name)
    }
}

/// iobroker.json's `log` section as far as files are concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// The enabled file transports, in the file's order.
    pub files: Vec<FileTransport>,
    /// Levels in ANSI colours (`colorize`, on unless false).
    pub colorize: bool,
}

/// js-controller's level names (`silly` is trace); None for anything else.
pub fn parse_level(name: &str) -> Option<Level> {
    Some(match name {
        "silly" => Level::TRACE,
        "debug" => Level::DEBUG,
        "info" => Level::INFO,
        "warn" => Level::WARN,
        "error" => Level::ERROR,
        _ => return None,
    })
}

impl LogSettings {
    /// From the `log` section of iobroker.json (`v` is the whole file); relative file names
    /// are taken from `root`, the folder holding `node_modules/iobroker.js-controller`.
    pub fn parse(v: &Value, root: &Path, instance_level: Level) -> LogSettings {
        let log = v.get("log");
        let flag =
            |o: Option<&Value>, key: &str| o.and_then(|o| o.get(key)).and_then(Value::as_bool);
        let colorize = flag(log, "colorize").unwrap_or(true);
        let local_default = flag(log, "localTime").unwrap_or(true);
        let mut files = Vec::new();
        let transports = log
            .and_then(|l| l.get("transport"))
            .and_then(Value::as_object);
        for t in transports.into_iter().flat_map(|m| m.values()) {
            if t.get("type").and_then(Value::as_str) != Some("file")
                || t.get("enabled").and_then(Value::as_bool) == Some(false)
            {
                continue;
            }
            let filename = t
                .get("filename")
                .and_then(Value::as_str)
                .filter(|f| !f.is_empty())
                .unwrap_or("log/iobroker")
                .replace('\\', "/");
            let mut ext = t
                .get("fileext")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if ext.is_empty() && !filename.contains(".log") {
                ext = ".log".into();
            }
            let stem = if filename.starts_with('/') {
                PathBuf::from(filename)
            } else {
                root.join(filename)
            };
            let min = t
                .get("level")
                .and_then(Value::as_str)
                .and_then(parse_level)
                .unwrap_or(instance_level);
            let utc = !flag(Some(t), "localTime").unwrap_or(local_default);
            files.push(FileTransport {
                stem,
                ext,
                min,
                utc,
            });
        }
        LogSettings { files, colorize }
    }
}

/// A moment as calendar fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Civil {
    /// Year.
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-60.
    pub second: u32,
    /// 0-999.
    pub millis: u32,
}

impl Civil {
    /// `ts_ms` (ms since the epoch) in local time (the TZ setting, as Node's `Date` has it)
    /// or in UTC.
    pub fn at(ts_ms: i64, utc: bool) -> Civil {
        let secs = ts_ms.div_euclid(1000) as libc::time_t;
        // SAFETY: an all-zero `tm` is valid; localtime_r/gmtime_r write only into it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe {
            if utc {
                !libc::gmtime_r(&secs, &mut tm).is_null()
            } else {
                !libc::localtime_r(&secs, &mut tm).is_null()
            }
        };
        if !ok {
            tm = unsafe { std::mem::zeroed() };
            tm.tm_year = 70;
            tm.tm_mday = 1;
        }
        Civil {
            year: tm.tm_year + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            millis: ts_ms.rem_euclid(1000) as u32,
        }
    }

    /// `YYYY-MM-DD`, the date in a log file's name.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One line as js-controller's file transport writes it, with its newline.
pub fn format_line(
    at: &Civil,
    level: Level,
    colorize: bool,
    prefix: &str,
    message: &str,
) -> String {
    let name = severity(level);
    // winston's npm colours: error red, warn yellow, info green, debug blue, silly magenta.
    let level_text = if colorize {
        let code = match level {
            Level::ERROR => 31,
            Level::WARN => 33,
            Level::INFO => 32,
            Level::DEBUG => 34,
            Level::TRACE => 35,
        };
        format!("\x1b[{code}m{name}\x1b[39m")
    } else {
        name.to_string()
    };
    format!(
        "{} {:02}:{:02}:{:02}.{:03}  - {level_text}: {prefix} {message}\n",
        at.date(),
        at.hour,
        at.minute,
        at.second,
        at.millis
    )
}

/// A file transport with the file of the current date, once opened.
struct Sink {
    transport: FileTransport,
    /// The date of the open file, and the file (None when it could not be opened).
    open: Mutex<Option<(String, Option<File>)>>,
}

/// The tracing layer that appends the instance's own lines to ioBroker's log file(s).
pub struct LogFile {
    /// `hmip.0 (<pid>)`, as adapter.js prefixes every message.
    prefix: String,
    colorize: bool,
    sinks: Vec<Sink>,
}

impl LogFile {
    /// Write for the instance `namespace` (`hmip.0`) of this process; None without a file
    /// transport.
    pub fn new(settings: LogSettings, namespace: &str) -> Option<LogFile> {
        if settings.files.is_empty() {
            return None;
        }
        Some(LogFile {
            prefix: format!("{namespace} ({})", std::process::id()),
            colorize: settings.colorize,
            sinks: settings
                .files
                .into_iter()
                .map(|transport| Sink {
                    transport,
                    open: Mutex::new(None),
                })
                .collect(),
        })
    }

    /// For instance `hmip.<instance>`: iobroker.json found as the instance finds it (see
    /// [`super::iobroker_json::find`]); None when there is none, no js-controller beside it
    /// or no file transport (the instance reports a missing iobroker.json itself).
    pub fn for_instance(explicit: Option<&Path>, instance: u32, level: Level) -> Option<LogFile> {
        let path = super::iobroker_json::find(explicit).ok()?;
        let v = super::iobroker_json::read(&path).ok()?;
        let root = super::iobroker_json::controller_root(&path)?;
        let settings = LogSettings::parse(&v, &root, level);
        LogFile::new(settings, &format!("{}.{instance}", super::ADAPTER_NAME))
    }

    /// Append one line logged at `ts_ms` to every transport whose level takes it.
    pub fn write(&self, ts_ms: i64, level: Level, message: &str) {
        let local = Civil::at(ts_ms, false);
        let line = format_line(&local, level, self.colorize, &self.prefix, message);
        for sink in &self.sinks {
            if level > sink.transport.min {
                continue;
            }
            let date = if sink.transport.utc {
                Civil::at(ts_ms, true).date()
            } else {
                local.date()
            };
            let mut open = sink.open.lock().unwrap_or_else(|e| e.into_inner());
            if open.as_ref().map(|(d, _)| d != &date).unwrap_or(true) {
                // A new day (or the first line): the next file, created as winston creates it.
                let path = sink.transport.path_for(&date);
                let file = open_append(&path)
                    .map_err(|e| {
                        // Not through tracing: this layer would be called again.
                        eprintln!("cannot write the log file {}: {e}", path.display());
                    })
                    .ok();
                *open = Some((date, file));
            }
            if let Some((_, Some(f))) = open.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}

/// Opens for appending, creating the file and its folders (modes 0666/0777 less the umask,
/// as Node's `fs` does).
fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().append(true).create(true).open(path)
}

impl<S: Subscriber> Layer<S> for LogFile {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        // Our own lines only, as in admin's log view (not the HTTP stack's).
        if !event.metadata().target().starts_with("iobroker_hmip") {
            return;
        }
        let level = *event.metadata().level();
        if self.sinks.iter().all(|s| level > s.transport.min) {
            return;
        }
        self.write(crate::iobroker::now_ms(), level, &event_text(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // 2026-12-06 03:40:00.123 UTC.
    const TS: i64 = 1_796_528_400_123;

    #[test]
    fn the_dist_config_gives_the_controllers_dated_file() {
        // The `log` section of js-controller 7.2.3's iobroker-dist.json.
        let v = json!({"log": {"level": "info", "maxDays": 7, "noStdout": true, "transport": {
            "file1": {"type": "file", "enabled": true, "filename": "log/iobroker", "fileext": ".log", "maxSize": null, "maxFiles": null},
            "syslog1": {"type": "syslog", "enabled": false, "host": "localhost"}}}});
        let s = LogSettings::parse(&v, Path::new("/opt/iobroker"), Level::DEBUG);
        assert!(s.colorize);
        assert_eq!(s.files.len(), 1);
        let f = &s.files[0];
        assert_eq!((f.min, f.utc), (Level::DEBUG, false));
        assert_eq!(
            f.path_for("2026-12-06"),
            PathBuf::from("/opt/iobroker/log/iobroker.2026-12-06.log")
        );
    }

    #[test]
    fn file_transport_options_as_js_controller_reads_them() {
        let v = json!({"log": {"colorize": false, "transport": {
            "off": {"type": "file", "enabled": false, "filename": "log/off"},
            "abs": {"type": "file", "filename": "/var/log/iob.log", "level": "warn", "localTime": false},
            "dflt": {"type": "file"},
            "win": {"type": "file", "filename": "logs\\x", "fileext": ".txt"}}}});
        let s = LogSettings::parse(&v, Path::new("/r"), Level::INFO);
        assert!(!s.colorize);
        let paths: Vec<_> = s.files.iter().map(|f| f.path_for("2026-01-02")).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/var/log/iob.log.2026-01-02"),
                PathBuf::from("/r/log/iobroker.2026-01-02.log"),
                PathBuf::from("/r/logs/x.2026-01-02.txt"),
            ]
        );
        assert_eq!((s.files[0].min, s.files[0].utc), (Level::WARN, true));
        assert_eq!((s.files[1].min, s.files[1].utc), (Level::INFO, false));
    }

    #[test]
    fn a_line_in_the_controllers_format() {
        let at = Civil::at(TS, true);
        assert_eq!(at.date(), "2026-12-06");
        assert_eq!(
            format_line(&at, Level::INFO, true, "hmip.0 (12345)", "connected"),
            "2026-12-06 03:40:00.123  - \x1b[32minfo\x1b[39m: hmip.0 (12345) connected\n"
        );
        assert_eq!(
            format_line(&at, Level::TRACE, false, "hmip.0 (7)", "x=1"),
            "2026-12-06 03:40:00.123  - silly: hmip.0 (7) x=1\n"
        );
        let warn = format_line(&Civil::at(5, true), Level::WARN, true, "hmip.1 (7)", "w");
        assert_eq!(
            warn,
            "1970-01-01 00:00:00.005  - \x1b[33mwarn\x1b[39m: hmip.1 (7) w\n"
        );
    }

    #[test]
    fn appends_to_the_days_file_and_starts_a_new_one_with_the_date() {
        let dir = tempfile::tempdir().unwrap();
        let v = json!({"log": {"transport": {"f": {"type": "file", "filename": "log/iobroker", "localTime": false}}}});
        let settings = LogSettings::parse(&v, dir.path(), Level::INFO);
        let log_dir = dir.path().join("log");
        std::fs::create_dir(&log_dir).unwrap();
        // The controller's line, already in today's file: kept, ours after it.
        let today = log_dir.join("iobroker.2026-12-06.log");
        std::fs::write(&today, "controller line\n").unwrap();
        let file = LogFile::new(settings, "hmip.0").unwrap();
        file.write(TS, Level::INFO, "first");
        file.write(TS + 1, Level::DEBUG, "below the level");
        file.write(TS + 2, Level::ERROR, "second");
        file.write(TS + 86_400_000, Level::WARN, "next day");
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(&today).unwrap(),
            format!(
                "controller line\n\
                 {t}.123  - \x1b[32minfo\x1b[39m: hmip.0 ({pid}) first\n\
                 {t}.125  - \x1b[31merror\x1b[39m: hmip.0 ({pid}) second\n",
                t = local_stamp(TS)
            )
        );
        let next = std::fs::read_to_string(log_dir.join("iobroker.2026-12-07.log")).unwrap();
        assert!(
            next.ends_with(&format!(": hmip.0 ({pid}) next day\n")),
            "{next}"
        );
        assert_eq!(next.lines().count(), 1);
    }

    #[test]
    fn creates_the_log_folder() {
        let dir = tempfile::tempdir().unwrap();
        let v = json!({"log": {"transport": {"f": {"type": "file", "localTime": false}}}});
        let file = LogFile::new(LogSettings::parse(&v, dir.path(), Level::INFO), "hmip.3").unwrap();
        file.write(TS, Level::INFO, "hello");
        let text = std::fs::read_to_string(dir.path().join("log/iobroker.2026-12-06.log")).unwrap();
        assert!(text.contains(": hmip.3 ("), "{text}");
    }

    /// The line's time is local (as js-controller's), whatever the file's date.
    fn local_stamp(ts: i64) -> String {
        let c = Civil::at(ts, false);
        format!("{} {:02}:{:02}:{:02}", c.date(), c.hour, c.minute, c.second)
    }
}
