//! The demo (`sudo scripts/run`) runs to the end without a display: exit 0,
//! "0 leaked" with the kill switch on, and nothing left behind — checked
//! here from outside (its namespaces by name, processes by the scratch dir
//! in their command line), not by trusting the demo's own cleanup report.
//! A second run is interrupted with SIGINT mid-way and must clean up too.
//! Needs root; skips with a message otherwise, except under `CI=true`.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DEMO: &str = env!("CARGO_BIN_EXE_airlock-demo");
/// The bound for one demo run.
const BUDGET: Duration = Duration::from_secs(60);

fn root_or_skip(what: &str) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(!ci, "{what} needs root, and CI must run it");
    eprintln!("SKIPPED {what}: needs root (network namespaces, tcpdump, nft)");
    false
}

/// A demo run without a display; its stdout lines arrive on `lines` as
/// they are printed (a reader thread keeps the pipe drained, so the demo
/// never blocks or gets EPIPE while the test looks at one line).
struct Run {
    child: Child,
    lines: Receiver<String>,
    stdout: String,
    started: Instant,
}

impl Run {
    fn start() -> Run {
        let mut child = Command::new(DEMO)
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting airlock-demo");
        let out = child.stdout.take().expect("stdout pipe");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Run {
            child,
            lines,
            stdout: String::new(),
            started: Instant::now(),
        }
    }

    /// Collects lines until one contains `needle` (true) or stdout ends or
    /// the budget is spent (false).
    fn until(&mut self, needle: &str) -> bool {
        loop {
            let left = BUDGET.saturating_sub(self.started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                    if line.contains(needle) {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Reads to the end (SIGKILL once the budget is spent, so a hung demo
    /// fails the test instead of hanging it); status, stderr, time taken.
    fn finish(mut self) -> (ExitStatus, String, Duration, String) {
        self.until("\u{0}never printed\u{0}");
        if self.started.elapsed() >= BUDGET {
            let _ = self.child.kill();
        }
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().expect("waiting for the demo");
        (status, stderr, self.started.elapsed(), self.stdout)
    }
}

/// The scratch dir the demo announces in its first step.
fn scratch_dir(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("scratch dir "))
        .map(str::to_string)
        .expect("the demo names its scratch dir")
}

/// Everything a run with PID `pid` and scratch dir `dir` may have left:
/// its namespaces (named `airlock-lab-<pid>-...`), any process whose
/// command line mentions the scratch dir (OpenVPN configs, airlockd's
/// socket, airlockctl watch), the dir itself.
fn leftovers(pid: u32, dir: &str) -> Vec<String> {
    let prefix = format!("{}{pid}-", airlock_lab::netns::PREFIX);
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let mut left: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| format!("namespace {l}"))
        .collect();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(dir) {
            let pid = entry.file_name().to_string_lossy().into_owned();
            left.push(format!("process {pid}: {cmdline}"));
        }
    }
    if std::path::Path::new(dir).exists() {
        left.push(format!("directory {dir}"));
    }
    left
}

#[test]
fn demo_runs_without_display_and_leaves_nothing() {
    if !root_or_skip("the demo test") {
        return;
    }
    let run = Run::start();
    let pid = run.child.id();
    let (status, stderr, took, stdout) = run.finish();
    eprintln!("{stdout}\n{stderr}\n(demo took {took:.1?})");
    assert!(took < BUDGET, "the demo did not finish within {BUDGET:?}");
    assert!(status.success(), "demo failed: {status:?}");
    assert!(stdout.contains("\n    0 leaked\n"), "no \"0 leaked\" line");
    assert!(
        stdout.contains("watch |"),
        "airlockctl watch output not shown"
    );
    let left = leftovers(pid, &scratch_dir(&stdout));
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn interrupted_demo_cleans_up() {
    if !root_or_skip("the interrupted demo test") {
        return;
    }
    let mut run = Run::start();
    let pid = run.child.id();
    // Interrupted once the VPN is up and airlockd and the watch run: the
    // most there is to clean up.
    let reached = run.until("watch |");
    assert!(
        reached,
        "the demo never showed watch output:\n{}",
        run.stdout
    );
    let dir = scratch_dir(&run.stdout);
    assert!(
        !leftovers(pid, &dir).is_empty(),
        "the check sees nothing even while the demo runs"
    );
    let pid_i32 = i32::try_from(pid).expect("pid fits i32");
    kill(Pid::from_raw(pid_i32), Signal::SIGINT).expect("SIGINT to the demo");
    let (status, stderr, took, stdout) = run.finish();
    eprintln!("{stdout}\n{stderr}\n(demo took {took:.1?} in all)");
    assert_eq!(status.code(), Some(130), "exit status after SIGINT");
    let left = leftovers(pid, &dir);
    assert!(left.is_empty(), "left behind after SIGINT: {left:#?}");
}
