//! macOS: every event also goes to `syslog(3)`, which macOS forwards to
//! the unified log (Console.app, `log show --process airlockd`). A thin
//! shim: the line and the priority are made in `log.rs`.
//!
//! Unverified here (type-checked only): that the messages appear in the
//! unified log at the priorities given.

use std::ffi::CString;

use tracing_subscriber::layer::Context;

use super::{syslog_priority, Line};

pub struct Layer;

impl Layer {
    pub fn open() -> Layer {
        // SAFETY: openlog keeps the ident pointer; a 'static C string.
        unsafe { libc::openlog(c"airlockd".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
        Layer
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Layer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        // A NUL inside a message would end it early: replace, never drop.
        let Ok(text) = CString::new(line.0.replace('\0', "\u{fffd}")) else {
            return;
        };
        let priority = syslog_priority(event.metadata().level());
        // SAFETY: a constant "%s" format with one C string argument.
        unsafe { libc::syslog(priority, c"%s".as_ptr(), text.as_ptr()) };
    }
}
