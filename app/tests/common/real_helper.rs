//! The real `airlockd` (nft backend) in a network namespace of our own,
//! for the UI tests that drive the real app against it.
//! Linux only (the lab's namespaces).
#![cfg(target_os = "linux")]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use airlock_client::Client;
use airlock_shared::endpoint::Endpoint;
use airlock_shared::status::Status;

/// Only root may change settings: deterministic whatever groups this
/// machine has (the app runs as root here).
const ADMIN_GROUP: &str = "airlock-test-no-such-group";

/// `target/debug/`: the test exe is `target/debug/deps/ui_real_helper-*`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test runs from target/<profile>/deps")
}

/// A sibling binary of the workspace, or a clear failure.
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (`cargo test --workspace` or `cargo build -p {}`)",
        path.display(),
        if name == "airlockd" {
            "airlock-helper"
        } else {
            "airlock-cli"
        }
    );
    path
}

/// Whether a test that needs the real helper in a namespace can run: the
/// tools (`ip`, `nft`; on CI their absence fails the test, it never
/// skips) and a desktop ([`super::ui_prerequisites`]).
pub fn real_helper_ready(test: &str) -> bool {
    if let Some(why) = tool_missing() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test} cannot run on CI: {why}"
        );
        eprintln!("skipping {test}: {why}");
        return false;
    }
    super::ui_prerequisites(test)
}

fn tool_missing() -> Option<String> {
    ["ip", "nft"].into_iter().find_map(|tool| {
        Command::new(tool)
            .arg("-V")
            .output()
            .is_err()
            .then(|| format!("{tool} is not installed (apt-get install iproute2 nftables)"))
    })
}

/// A network namespace of our own: the lab's guard, which on drop kills
/// what still runs inside (by PID) and deletes it with any tunnel and nft
/// table in it. Here its failures are test failures.
pub struct Netns(pub airlock_lab::netns::Netns);

impl Netns {
    pub fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "airlock-test-ui{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns = airlock_lab::netns::Netns::create(&name)
            .unwrap_or_else(|e| panic!("namespace {name}: {e}"));
        Netns(ns)
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn exec(&self, args: &[&str]) {
        if let Err(e) = self.0.exec(args) {
            panic!("{args:?} in {}: {e}", self.name());
        }
    }

    pub fn table_present(&self) -> bool {
        self.0
            .exec(&["nft", "list", "table", "inet", "airlock"])
            .is_ok()
    }
}

/// The real helper inside the namespace; restartable, killed (with what
/// it started, e.g. `nft monitor`) by PID.
pub struct RealHelper<'a> {
    exe: PathBuf,
    netns: &'a airlock_lab::netns::Netns,
    pub socket: PathBuf,
    state: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl<'a> RealHelper<'a> {
    pub fn new(netns: &'a Netns, dir: &Path) -> RealHelper<'a> {
        RealHelper {
            exe: workspace_binary("airlockd"),
            netns: &netns.0,
            socket: dir.join("s.sock"),
            state: dir.join("state"),
            log: dir.join("airlockd.log"),
            child: None,
        }
    }

    /// Starts `airlockd run` in the namespace and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the helper is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let (exe, socket, state) = (
            self.exe.to_string_lossy(),
            self.socket.to_string_lossy(),
            self.state.to_string_lossy(),
        );
        let mut cmd = self.netns.command(&[
            &exe,
            "run",
            "--socket",
            &socket,
            "--state-dir",
            &state,
            "--backend",
            "nft",
            "--admin-group",
            ADMIN_GROUP,
        ]);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        self.child = Some(cmd.spawn().expect("spawn airlockd"));
        let start = Instant::now();
        while let Err(e) = Client::connect(&self.socket) {
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("airlockd exited ({st}):\n{}", self.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "airlockd does not answer: {e}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: no chance to tidy up, like a crash.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = i32::try_from(child.id()).unwrap();
        let kids = airlock_lab::netns::descendants(pid);
        let _ = child.kill();
        let _ = child.wait();
        for k in kids {
            // SAFETY: kill(2) by PID on a process the helper started; it
            // was reparented, not reaped, so the PID is still its own.
            unsafe { libc::kill(k, libc::SIGKILL) };
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What `airlockctl status --json` says (the CLI, not our own client:
    /// an independent reader of the helper's state).
    pub fn ctl_status(&self) -> Status {
        let ctl = workspace_binary("airlockctl");
        let out = Command::new(ctl)
            .arg("--socket")
            .arg(&self.socket)
            .args(["status", "--json"])
            .output()
            .expect("airlockctl");
        assert!(
            out.status.success(),
            "airlockctl status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "airlockctl status --json: {e}:\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl RealHelper<'_> {
    /// `airlockctl` against this helper: its stdout, or a failure with
    /// its stderr.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(workspace_binary("airlockctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("airlockctl");
        assert!(
            out.status.success(),
            "airlockctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The helper's endpoint list, as `airlockctl endpoints list --json`.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let text = self.ctl(&["endpoints", "list", "--json"]);
        let rows: Vec<airlock_shared::endpoint::listing::Listed> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("endpoints list: {e}: {text}"));
        rows.iter().map(|l| l.endpoint()).collect()
    }
}

impl Netns {
    /// The elements of the kernel's `endpoints_v4` set, as nft prints
    /// them (`198.51.100.7 . udp . 1194`); empty without the table.
    pub fn endpoint_set(&self) -> Vec<String> {
        let Ok(out) = self
            .0
            .exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"])
        else {
            return Vec::new();
        };
        let Some(start) = out.find("elements = {") else {
            return Vec::new();
        };
        let rest = &out[start + "elements = {".len()..];
        let list = rest.split('}').next().unwrap_or("");
        list.split(',')
            .map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|e| !e.is_empty())
            .collect()
    }
}

impl Drop for RealHelper<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}
