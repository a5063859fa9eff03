//! The helper's log: `tracing` events, never bare `eprintln!`.
//!
//! - **stderr**, always: systemd's journal reads it on Linux (which adds
//!   its own timestamps, so none are written when `JOURNAL_STREAM` says
//!   stderr is the journal), launchd writes it to the LaunchDaemon's log
//!   file on macOS (with timestamps).
//! - **the unified log** on macOS, through `syslog(3)`, which macOS hands to
//!   the unified log: Console.app and `log show --process airlockd` show it.
//!   Not through `os_log` with a subsystem: `os_log` is a C macro with no
//!   documented function behind it, and the crates that wrap it compile C
//!   against the macOS SDK, which the macOS type-check on Linux cannot do.
//!
//! `AIRLOCK_LOG` sets the level (`error`, `warn`, `info` — the default —,
//! `debug`, `trace`).

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::Level;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

#[cfg(target_os = "macos")]
#[path = "log_macos.rs"]
mod unified;

/// Installs the log for the rest of the process. Called once, first
/// thing in `main`; a second call (tests) leaves the first in place.
pub fn init() {
    let level = level_from(std::env::var("AIRLOCK_LOG").ok().as_deref());
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let stderr: Box<dyn Layer<Registry> + Send + Sync> = if journal {
        stderr.without_time().boxed()
    } else {
        stderr.boxed()
    };
    let registry = tracing_subscriber::registry().with(stderr).with(level);
    #[cfg(target_os = "macos")]
    let registry = registry.with(unified::Layer::open());
    let _ = registry.try_init();
}

/// The level `AIRLOCK_LOG` names; `info` when unset or not a level (a
/// typo must not silence the log).
pub fn level_from(value: Option<&str>) -> LevelFilter {
    value
        .and_then(|v| v.trim().parse::<Level>().ok())
        .map(LevelFilter::from_level)
        .unwrap_or(LevelFilter::INFO)
}

/// One event as one line: its message, then its other fields as
/// `name=value` (what syslog gets, which has no structure).
#[derive(Default)]
pub struct Line(pub String);

impl Line {
    fn push(&mut self, field: &Field, value: &dyn std::fmt::Display) {
        let sep = if self.0.is_empty() { "" } else { " " };
        if field.name() == "message" {
            let _ = write!(self.0, "{sep}{value}");
        } else {
            let _ = write!(self.0, "{sep}{}={value}", field.name());
        }
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // A formatted message arrives as `fmt::Arguments`, whose Debug is
        // its text.
        self.push(field, &format_args!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, &value);
    }
}

/// syslog's priority for a tracing level (`<syslog.h>`'s numbers, the
/// same on Linux and macOS): errors are errors, warnings warnings, the
/// helper's lifecycle `notice` (kept by macOS's unified log by default;
/// `info` and `debug` are kept only in memory unless asked for).
pub fn syslog_priority(level: &Level) -> i32 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 5,
        Level::DEBUG => 6,
        Level::TRACE => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_comes_from_the_environment_and_a_typo_keeps_info() {
        assert_eq!(level_from(None), LevelFilter::INFO);
        assert_eq!(level_from(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level_from(Some(" WARN ")), LevelFilter::WARN);
        assert_eq!(level_from(Some("verbose")), LevelFilter::INFO);
    }

    #[test]
    fn priorities_follow_syslog_h() {
        assert_eq!(syslog_priority(&Level::ERROR), libc::LOG_ERR);
        assert_eq!(syslog_priority(&Level::WARN), libc::LOG_WARNING);
        assert_eq!(syslog_priority(&Level::INFO), libc::LOG_NOTICE);
        assert_eq!(syslog_priority(&Level::DEBUG), libc::LOG_INFO);
        assert_eq!(syslog_priority(&Level::TRACE), libc::LOG_DEBUG);
    }

    /// What reaches syslog: the message first, then the fields.
    #[test]
    fn an_event_becomes_one_line() {
        use std::sync::{Arc, Mutex};
        struct Capture(Arc<Mutex<Vec<String>>>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
            fn on_event(
                &self,
                event: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                let mut line = Line::default();
                event.record(&mut line);
                self.0.lock().unwrap().push(line.0);
            }
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(path = "/run/airlock.sock", "accept failed: {}", "EMFILE");
            tracing::info!("started");
        });
        assert_eq!(
            *lines.lock().unwrap(),
            ["accept failed: EMFILE path=/run/airlock.sock", "started"]
        );
    }
}
