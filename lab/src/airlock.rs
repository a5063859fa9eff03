//! The real Airlock inside the lab: `airlockd` running in the client
//! namespace with a test socket and state dir, driven only through
//! `airlockctl` — the same two binaries a user installs, so the suite tests
//! what ships rather than a library call that skips the socket and the CLI.
//!
//! The binaries are the workspace's own build output, found next to the
//! test executable (`target/debug/deps/..`) or beside the demo binary;
//! `cargo test --workspace` builds them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use airlock_shared::status::Status;
use nix::sys::signal::Signal;

use crate::error::{LabError, Result};
use crate::topology::{Lab, Ns};

/// Where `airlockd` and `airlockctl` are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub airlockd: PathBuf,
    pub airlockctl: PathBuf,
}

impl Binaries {
    /// The binaries of this workspace build: beside the running executable
    /// (the demo in `target/<profile>/`), else one level up (a test
    /// executable lives in `target/<profile>/deps`).
    pub fn locate() -> Result<Binaries> {
        let exe = std::env::current_exe().map_err(LabError::io("locating the test executable"))?;
        let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        let up = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let found = [Binaries::in_dir(&dir), Binaries::in_dir(&up)]
            .into_iter()
            .find(|b| b.airlockd.is_file() && b.airlockctl.is_file());
        match found {
            Some(bins) => Ok(bins),
            None => {
                let bins = Binaries::in_dir(&up);
                let missing = if bins.airlockd.is_file() {
                    bins.airlockctl
                } else {
                    bins.airlockd
                };
                Err(LabError::MissingBinary(missing.display().to_string()))
            }
        }
    }

    fn in_dir(dir: &Path) -> Binaries {
        Binaries {
            airlockd: dir.join("airlockd"),
            airlockctl: dir.join("airlockctl"),
        }
    }
}

/// One `airlockd` in the client namespace and the paths that identify it.
/// The process is owned by the [`Lab`] (killed by PID when the lab goes);
/// this only remembers which slot it is.
#[derive(Debug)]
pub struct Airlock {
    pub bins: Binaries,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    helper: Option<usize>,
    /// Extra `airlockd run` arguments for the next start.
    pub run_args: Vec<String>,
    /// Every start's log slot, so a failure report can show all of them.
    pub(crate) slots: Vec<usize>,
}

/// How long `airlockd` may take to start serving.
const START_TIMEOUT: Duration = Duration::from_secs(10);

impl Airlock {
    /// [`Airlock::new`] with this build's binaries ([`Binaries::locate`]).
    pub fn for_lab(lab: &Lab) -> Result<Airlock> {
        Ok(Airlock::new(lab, Binaries::locate()?))
    }

    /// Paths under the lab's scratch dir; nothing is started yet.
    pub fn new(lab: &Lab, bins: Binaries) -> Airlock {
        Airlock {
            bins,
            socket: lab.dir().join("airlock.sock"),
            state_dir: lab.dir().join("airlock-state"),
            helper: None,
            run_args: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Starts `airlockd run` in the client namespace and returns once it
    /// says it is listening, with the time from spawn to that line.
    pub fn start(&mut self, lab: &mut Lab) -> Result<Duration> {
        let start = Instant::now();
        self.spawn(lab)?;
        self.wait_listening(lab)?;
        Ok(start.elapsed())
    }

    /// Starts `airlockd run` without waiting (the boot scenario watches
    /// for the socket itself).
    pub fn spawn(&mut self, lab: &mut Lab) -> Result<()> {
        let (d, sock, state) = (
            self.bins.airlockd.display().to_string(),
            self.socket.display().to_string(),
            self.state_dir.display().to_string(),
        );
        let mut argv = vec![
            d.as_str(),
            "run",
            "--socket",
            &sock,
            "--state-dir",
            &state,
            "--backend",
            "nft",
        ];
        argv.extend(self.run_args.iter().map(String::as_str));
        let slot = lab.spawn_in(Ns::Client, "airlockd", &argv)?;
        self.helper = Some(slot);
        self.slots.push(slot);
        Ok(())
    }

    /// Waits for the running helper's "listening on" line.
    pub fn wait_listening(&self, lab: &Lab) -> Result<()> {
        let proc = self
            .helper
            .and_then(|s| lab.process(s))
            .ok_or_else(|| LabError::Exited {
                what: "airlockd (not started)".into(),
                log: String::new(),
            })?;
        proc.wait_for_line("listening on", START_TIMEOUT).map(drop)
    }

    /// Sends `signal` to the running helper and waits for it to exit.
    pub fn stop(&mut self, lab: &mut Lab, signal: Signal) {
        if let Some(slot) = self.helper.take() {
            lab.kill_process(slot, signal, Duration::from_secs(3));
        }
    }

    /// Output of the current (or last) helper process.
    pub fn log(&self, lab: &Lab) -> String {
        self.slots
            .iter()
            .filter_map(|&s| lab.process(s))
            .map(|p| p.output())
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    /// Runs `airlockctl --socket SOCK ARGS...` in the client namespace
    /// (where a user would run it); its stdout.
    pub fn ctl(&self, lab: &Lab, args: &[&str]) -> Result<String> {
        let (c, sock) = (
            self.bins.airlockctl.display().to_string(),
            self.socket.display().to_string(),
        );
        let mut argv = vec![c.as_str(), "--socket", sock.as_str()];
        argv.extend_from_slice(args);
        lab.client_exec(&argv)
    }

    /// [`Airlock::ctl`] and the wall-clock time the reply arrived (to
    /// compare with pcap timestamps) and how long it took.
    pub fn ctl_timed(&self, lab: &Lab, args: &[&str]) -> Result<(SystemTime, Duration)> {
        let start = Instant::now();
        self.ctl(lab, args)?;
        Ok((SystemTime::now(), start.elapsed()))
    }

    /// `airlockctl status --json`, parsed with the helper's own type.
    pub fn status(&self, lab: &Lab) -> Result<Status> {
        let json = self.ctl(lab, &["status", "--json"])?;
        serde_json::from_str(&json).map_err(|e| LabError::Io {
            what: format!("parsing `airlockctl status --json`: {json}"),
            source: e.into(),
        })
    }

    /// Polls the status until `pred` holds; the status and the time taken.
    pub fn wait_status(
        &self,
        lab: &Lab,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Status) -> bool,
    ) -> Result<(Status, Duration)> {
        let start = Instant::now();
        loop {
            let status = self.status(lab)?;
            if pred(&status) {
                return Ok((status, start.elapsed()));
            }
            if start.elapsed() > timeout {
                return Err(LabError::Timeout {
                    what: format!("airlockctl status: {what}"),
                    waited: start.elapsed(),
                    log: format!("; last status: {status:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The argv of `airlockctl watch --json` in the client namespace, for
    /// [`crate::timed::TimedLines`].
    pub fn watch_argv(&self, lab: &Lab) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            lab.ns(Ns::Client).name().into(),
            self.bins.airlockctl.display().to_string(),
            "--socket".into(),
            self.socket.display().to_string(),
            "watch".into(),
            "--json".into(),
        ]
    }
}
