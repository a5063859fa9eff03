//! A process whose stdout lines are stamped with the instant they arrived:
//! `airlockctl watch --json` and `ip monitor` side by side give the delay
//! between a kernel change and the helper's event, both measured by the
//! same clock in the same process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

/// One line and when it arrived.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub at: Instant,
    pub line: String,
}

type Shared = Arc<(Mutex<Vec<Stamped>>, Condvar)>;

/// The running process; SIGKILLed by PID and reaped on drop.
#[derive(Debug)]
pub struct TimedLines {
    child: Child,
    lines: Shared,
    reader: Option<JoinHandle<()>>,
}

impl TimedLines {
    /// Starts `argv` with stdout piped (stderr discarded).
    pub fn spawn(argv: &[String]) -> Result<TimedLines> {
        let (prog, args) = argv.split_first().ok_or_else(|| LabError::Command {
            cmd: String::new(),
            status: "empty command".into(),
            stderr: String::new(),
        })?;
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LabError::Spawn {
                cmd: argv.join(" "),
                source,
            })?;
        let out = child.stdout.take().ok_or_else(|| LabError::Exited {
            what: argv.join(" "),
            log: " (no stdout pipe)".into(),
        })?;
        let lines: Shared = Arc::default();
        let shared = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let at = Instant::now();
                let (lock, cvar) = &*shared;
                lock.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Stamped { at, line });
                cvar.notify_all();
            }
        });
        Ok(TimedLines {
            child,
            lines,
            reader: Some(reader),
        })
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<Stamped> {
        self.lines
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits for the first line at index `from` or later that satisfies
    /// `pred`; returns it.
    pub fn wait_for(
        &self,
        what: &str,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<Stamped> {
        let start = Instant::now();
        let (lock, cvar) = &*self.lines;
        let mut lines = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(hit) = lines.iter().skip(from).find(|s| pred(&s.line)) {
                return Ok(hit.clone());
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                let tail: Vec<&str> = lines
                    .iter()
                    .rev()
                    .take(5)
                    .map(|s| s.line.as_str())
                    .collect();
                return Err(LabError::Timeout {
                    what: what.into(),
                    waited: timeout,
                    log: format!("; last lines (newest first): {tail:?}"),
                });
            }
            lines = cvar
                .wait_timeout(lines, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for TimedLines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
