//! Guards for the two things a lab run must never leave behind: network
//! namespaces and processes. Both clean up in `Drop`, which also runs while
//! a failing test unwinds, and both kill by PID (never by name: other tests
//! and the developer's own OpenVPN may be running on the same machine).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{LabError, Result};

/// Every namespace the lab creates starts with this, followed by the PID of
/// the process that owns it, so a later run can remove what a SIGKILLed run
/// left behind without touching a live parallel run's namespaces.
pub const PREFIX: &str = "airlock-lab-";

/// Runs a command to completion; its stdout on success, its stderr in the
/// error otherwise.
pub fn run(argv: &[&str]) -> Result<String> {
    run_with_input(argv, None)
}

/// Like [`run`], feeding `input` on stdin (for `nft -f -`, `ip -batch -`).
pub fn run_with_input(argv: &[&str], input: Option<&str>) -> Result<String> {
    let cmd = argv.join(" ");
    let (prog, args) = argv.split_first().ok_or_else(|| LabError::Command {
        cmd: String::new(),
        status: "empty command".into(),
        stderr: String::new(),
    })?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LabError::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(LabError::io(format!("writing stdin of `{cmd}`")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(LabError::io(format!("waiting for `{cmd}`")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            cmd,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// True when `tool` is an executable somewhere on PATH (or in the sbin
/// directories a root shell has but a test runner's PATH may lack).
pub fn have_tool(tool: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .any(|dir| Path::new(dir).join(tool).is_file());
    found
}

/// A named network namespace, deleted (after killing every process still
/// inside it) when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name` with loopback up and IPv6 duplicate address detection
    /// off (otherwise new addresses stay "tentative" for seconds and the
    /// first probes fail for a reason that has nothing to do with Airlock).
    pub fn create(name: &str) -> Result<Self> {
        run(&["ip", "netns", "add", name])?;
        let ns = Netns { name: name.into() };
        ns.sysctl(&[
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
        ])?;
        ns.ip_batch(&["link set lo up"])?;
        Ok(ns)
    }

    /// The namespace's name, for `ip netns exec` and `ip -n`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a command inside the namespace to completion.
    pub fn exec(&self, argv: &[&str]) -> Result<String> {
        self.exec_with_input(argv, None)
    }

    /// Runs a command inside the namespace, feeding `input` on stdin.
    pub fn exec_with_input(&self, argv: &[&str], input: Option<&str>) -> Result<String> {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(argv);
        run_with_input(&full, input)
    }

    /// A `Command` that runs inside the namespace (`ip netns exec` execs in
    /// place, so the child's PID is the program's PID).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).args(argv);
        cmd
    }

    /// Several `ip` commands in one process (`ip -n NS -batch -`).
    pub fn ip_batch(&self, lines: &[&str]) -> Result<()> {
        let input = lines.join("\n") + "\n";
        run_with_input(&["ip", "-n", &self.name, "-batch", "-"], Some(&input)).map(drop)
    }

    /// Sets sysctls in this namespace.
    pub fn sysctl(&self, pairs: &[(&str, &str)]) -> Result<()> {
        let args: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut argv = vec!["sysctl", "-q", "-w"];
        argv.extend(args.iter().map(String::as_str));
        self.exec(&argv).map(drop)
    }

    /// Runs `f` on a fresh thread that has joined this namespace. Sockets
    /// created inside `f` stay in the namespace for their whole life, so
    /// they can be returned and used from any thread.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        enter_by_name(&self.name, f)
    }

    /// PIDs of processes whose network namespace is this one.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove_namespace(&self.name);
    }
}

/// See [`Netns::enter`]; usable with just the name (the meter keeps only the
/// name of the namespace it sends its marker from).
pub fn enter_by_name<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
    let path = Path::new("/run/netns").join(name);
    let file = File::open(&path).map_err(LabError::io(format!("opening {}", path.display())))?;
    thread::scope(|s| {
        s.spawn(move || {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| LabError::Setns {
                ns: name.to_string(),
                source,
            })?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// PIDs of the processes `pid` started, recursively (from
/// `/proc/PID/task/*/children`). Listed before the parent is killed:
/// once it dies they are reparented to init and nothing links them to it.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(pid) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in text.split_whitespace().filter_map(|c| c.parse().ok()) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn pids_in(name: &str) -> Vec<i32> {
    run(&["ip", "netns", "pids", name])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn remove_namespace(name: &str) {
    for pid in pids_in(name) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    // A killed process can hold the namespace busy for a moment; `ip netns
    // del` only unmounts the name, so one retry is plenty.
    if run(&["ip", "netns", "del", name]).is_err() {
        thread::sleep(Duration::from_millis(50));
        if let Err(e) = run(&["ip", "netns", "del", name]) {
            eprintln!("airlock-lab: could not remove namespace {name}: {e}");
        }
    }
    // The namespace's own /etc files (a DHCP lab's resolv.conf), which
    // `ip netns del` leaves; also those of a run that was SIGKILLed.
    if name.starts_with(PREFIX) {
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(name));
    }
}

/// Removes lab namespaces whose owning process no longer exists: a run that
/// was SIGKILLed (or hit the test harness timeout) had no chance to clean up.
pub fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("airlock-lab: removing stale namespace {name}");
            remove_namespace(&name);
        }
    }
}

/// Output lines of a process, shared with the threads that drain its pipes
/// (a process blocks once a pipe nobody reads is full).
#[derive(Debug, Default)]
struct Log {
    lines: Vec<String>,
    open_pipes: usize,
}

type SharedLog = Arc<(Mutex<Log>, Condvar)>;

/// A process the lab started; killed with SIGKILL by PID when dropped.
#[derive(Debug)]
pub struct Proc {
    label: String,
    child: Child,
    log: SharedLog,
}

impl Proc {
    /// Starts `cmd` and collects stdout and stderr lines.
    pub fn spawn(label: &str, cmd: Command) -> Result<Self> {
        let (proc, stdout) = Self::spawn_inner(label, cmd, true)?;
        if let Some(out) = stdout {
            proc.drain(out);
        }
        Ok(proc)
    }

    /// Starts `cmd`, collecting only stderr; stdout is handed to the caller
    /// (tcpdump writes its pcap stream there).
    pub fn spawn_with_stdout(label: &str, cmd: Command) -> Result<(Self, ChildStdout)> {
        let (proc, stdout) = Self::spawn_inner(label, cmd, false)?;
        let stdout = stdout.ok_or_else(|| LabError::Exited {
            what: label.into(),
            log: " (no stdout pipe)".into(),
        })?;
        Ok((proc, stdout))
    }

    fn spawn_inner(
        label: &str,
        mut cmd: Command,
        drain_stdout: bool,
    ) -> Result<(Self, Option<ChildStdout>)> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Same process group as the runner on purpose: a Ctrl-C kills the
        // runner without unwinding, and then should kill these too (the
        // namespaces left behind are removed by the next run's sweep).
        let mut child = cmd.spawn().map_err(|source| LabError::Spawn {
            cmd: format!("{cmd:?}"),
            source,
        })?;
        let log: SharedLog = Arc::default();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let proc = Proc {
            label: label.into(),
            child,
            log,
        };
        if let Some(err) = stderr {
            proc.drain(err);
        }
        if drain_stdout {
            if let Some(out) = stdout {
                proc.drain(out);
            }
            return Ok((proc, None));
        }
        Ok((proc, stdout))
    }

    fn drain(&self, pipe: impl Read + Send + 'static) {
        let log = Arc::clone(&self.log);
        log.0.lock().unwrap_or_else(|p| p.into_inner()).open_pipes += 1;
        thread::spawn(move || {
            let (lock, cvar) = &*log;
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                lock.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .lines
                    .push(line);
                cvar.notify_all();
            }
            lock.lock().unwrap_or_else(|p| p.into_inner()).open_pipes -= 1;
            cvar.notify_all();
        });
    }

    /// The PID (of the program itself: `ip netns exec` execs in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until an output line contains `needle`; returns how long that
    /// took. Fails at once if the process exits first, with its output.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Result<Duration> {
        self.wait_for_nth_line(needle, 1, timeout)
    }

    /// How many output lines so far contain `needle`.
    pub fn count_lines(&self, needle: &str) -> usize {
        let log = self.log.0.lock().unwrap_or_else(|p| p.into_inner());
        log.lines.iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until `n` output lines contain `needle` (a second "connected"
    /// after a reconnect, a second "read hosts" after a reload).
    pub fn wait_for_nth_line(&self, needle: &str, n: usize, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        let (lock, cvar) = &*self.log;
        let mut log = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if log.lines.iter().filter(|l| l.contains(needle)).count() >= n {
                return Ok(start.elapsed());
            }
            if log.open_pipes == 0 {
                return Err(LabError::Exited {
                    what: self.label.clone(),
                    log: tail(&log.lines),
                });
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(LabError::Timeout {
                    what: format!("{}: waiting for {needle:?}", self.label),
                    waited: timeout,
                    log: tail(&log.lines),
                });
            }
            log = cvar
                .wait_timeout(log, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        let log = self.log.0.lock().unwrap_or_else(|p| p.into_inner());
        log.lines.join("\n")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the process (by PID).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let pid = i32::try_from(self.pid()).map_err(|_| LabError::Exited {
            what: self.label.clone(),
            log: String::new(),
        })?;
        kill(Pid::from_raw(pid), signal).map_err(|e| LabError::Io {
            what: format!("signalling {}", self.label),
            source: e.into(),
        })
    }

    /// Sends `signal` and waits up to `timeout` for the exit, then SIGKILLs.
    pub fn stop(mut self, signal: Signal, timeout: Duration) {
        let _ = self.signal(signal);
        let start = Instant::now();
        while start.elapsed() < timeout {
            if !self.is_running() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        // Drop kills and reaps.
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn tail(lines: &[String]) -> String {
    let start = lines.len().saturating_sub(15);
    if lines.is_empty() {
        return String::new();
    }
    format!("; last output:\n{}", lines[start..].join("\n"))
}
