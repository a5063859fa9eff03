//! Test scaffolding for running the real `airlockd` binary: a network
//! namespace of our own (deleted on drop) and a helper process inside it
//! (killed by PID on drop, with everything it started).

#![allow(dead_code)] // each test file uses its own subset

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use airlock_client::Client;

/// Whether this machine can run the tests; says why not when it cannot.
pub fn ready() -> bool {
    ready_with(&["nft", "ip"])
}

/// [`ready`] for tests that need more `tools` (each must answer `--version`).
pub fn ready_with(tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root to create network namespaces");
        return false;
    }
    for tool in tools {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!(
                "skipping: `{tool}` is not installed (apt-get install nftables conntrack iproute2)"
            );
            return false;
        }
    }
    true
}

pub fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

pub fn sh(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace of our own, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "airlock-test-d{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns(name);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn argv<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut argv = vec!["ip", "netns", "exec", &self.0];
        argv.extend(args);
        argv
    }

    /// Runs a command in the namespace; panics if it fails.
    pub fn exec(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&sh(&self.argv(args)).stdout).into_owned()
    }

    /// Runs a command in the namespace; whether it succeeded.
    pub fn ok(&self, args: &[&str]) -> bool {
        run(&self.argv(args)).status.success()
    }

    /// Waits until `dev` carries traffic. A veth is `up` at once, but
    /// the kernel turns its carrier on (and attaches its queue) up to a
    /// second later; a packet sent before then is dropped, and a TCP
    /// probe would not send its SYN again within its timeout.
    pub fn wait_carrier(&self, dev: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let link = self.exec(&["ip", "-o", "link", "show", "dev", dev]);
            if link.contains("state UP") && !link.contains("qdisc noop") {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{dev} in {} never came up: {link}",
                self.0
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Runs `f` on a thread that has entered this namespace; sockets it
    /// makes stay in the namespace wherever they are used later.
    pub fn within<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap();
                // SAFETY: a valid namespace fd; only this thread moves.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// Whether Airlock's table is in this namespace's kernel.
    pub fn table_present(&self) -> bool {
        self.ok(&["nft", "list", "table", "inet", "airlock"])
    }

    /// Polls until the table is present (or absent), up to `limit`;
    /// returns how long it took, or `None` if it never got there.
    pub fn wait_table(&self, present: bool, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.table_present() == present {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Where a helper keeps its socket and state.
pub struct Paths {
    pub socket: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
}

impl Paths {
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            socket: dir.join("airlock.sock"),
            state: dir.join("state"),
            log: dir.join("helper.log"),
        }
    }

    pub fn settings_file(&self) -> PathBuf {
        self.state.join("settings.toml")
    }
}

/// A temp dir every local user may traverse (the socket inside is 0666;
/// tests connect to it as `nobody`).
pub fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A running `airlockd run --backend nft` inside a namespace.
pub struct Helper {
    child: Option<Child>,
    pub pid: i32,
    pub socket: PathBuf,
    pub log: PathBuf,
}

/// No such group, so only root may change settings: deterministic
/// whatever groups this machine has.
pub const ADMIN_GROUP: &str = "airlock-test-no-such-group";

impl Helper {
    /// Starts the helper; returns at once, before it serves.
    pub fn spawn(ns: &Netns, paths: &Paths) -> Helper {
        let netns = File::open(format!("/run/netns/{}", ns.0)).unwrap();
        let fd = netns.as_raw_fd();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&paths.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlockd"));
        cmd.arg("run")
            .arg("--socket")
            .arg(&paths.socket)
            .arg("--state-dir")
            .arg(&paths.state)
            .args(["--backend", "nft", "--admin-group", ADMIN_GROUP])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: setns is a plain syscall, async-signal-safe; `fd` stays
        // open in the parent until spawn returns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(netns);
        Helper {
            pid: i32::try_from(child.id()).unwrap(),
            child: Some(child),
            socket: paths.socket.clone(),
            log: paths.log.clone(),
        }
    }

    /// Starts the helper and waits until it answers.
    pub fn start(ns: &Netns, paths: &Paths) -> Helper {
        let h = Helper::spawn(ns, paths);
        h.client();
        h
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the helper's log if it has exited.
    pub fn assert_alive(&mut self) {
        if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
            panic!("airlockd exited ({st}):\n{}", self.log_text());
        }
    }

    /// Connects (retrying while the helper starts), up to 10 s.
    pub fn client(&self) -> Client {
        let start = Instant::now();
        loop {
            match Client::connect(&self.socket) {
                Ok(c) => return c,
                Err(e) if start.elapsed() > Duration::from_secs(10) => {
                    panic!("cannot connect to airlockd: {e}\n{}", self.log_text())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// Sends `sig` and waits up to `limit` for the exit.
    pub fn signal_and_wait(&mut self, sig: i32, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        // SAFETY: kill(2) on our own child's PID, which we have not reaped.
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0);
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return (st, start.elapsed());
            }
            if start.elapsed() > limit {
                panic!(
                    "airlockd did not exit within {limit:?} of signal {sig}\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// PIDs of the helper's children (it should have none), recursively.
    pub fn descendants(&self) -> Vec<i32> {
        airlock_lab::netns::descendants(self.pid)
    }

    /// Waits until the helper's tamper watch listens to nftables' change
    /// events (it logs [`airlock_helper::watchdog::WATCHING`]).
    pub fn wait_watchdog(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.log_text().contains(airlock_helper::watchdog::WATCHING) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "airlockd's tamper watch never subscribed\n{}",
            self.log_text()
        );
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let kids = self.descendants();
            let _ = child.kill();
            let _ = child.wait();
            for k in kids {
                // SAFETY: kill(2) by PID on a process the helper started.
                unsafe { libc::kill(k, libc::SIGKILL) };
            }
        }
    }
}
