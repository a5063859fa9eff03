//! The real `airlock` binary in a private X/D-Bus desktop with a real tray
//! host, against the REAL `airlockd` (nft backend) running in a network
//! namespace of our own: a click on "Kill Switch" loads the helper's
//! table into that namespace's kernel and turns the icon red; a tunnel
//! coming up and going down there turns it green and red with no click;
//! "Pause for 5 Minutes" pauses the helper (amber) and "Resume Now" locks
//! again (red); a killed helper turns it amber and a restarted one is picked up again;
//! "Quit" exits 0.
//!
//! The tray host is `xfce4-panel` (StatusNotifier); the menu is also read
//! over dbusmenu, so its status line is checked in words.
//!
//! Needs root, `ip`, `nft`, Xvfb, xauth, xdotool, imagemagick's `import`,
//! dbus-daemon, busctl and xfce4-panel; skips with a message otherwise (fails under
//! `CI=true`). Uses `target/debug/airlockd` and `airlockctl`, which
//! `cargo test --workspace` builds. Screenshots land in
//! `<target>/ui-screenshots/real-helper/` (printed).

#![cfg(target_os = "linux")]

mod common;

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use airlock_app::icons::{AMBER, GREEN, GREY, RED};
use airlock_client::Client;
use airlock_shared::status::{KillSwitch, Protection, Status};
use common::*;

/// Only root may change settings: deterministic whatever groups this
/// machine has (the app runs as root here).
const ADMIN_GROUP: &str = "airlock-test-no-such-group";

/// `target/debug/`: the test exe is `target/debug/deps/ui_real_helper-*`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test runs from target/<profile>/deps")
}

/// A sibling binary of the workspace, or a clear failure.
fn workspace_binary(name: &str) -> PathBuf {
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
struct Netns(airlock_lab::netns::Netns);

impl Netns {
    fn new() -> Netns {
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

    fn name(&self) -> &str {
        self.0.name()
    }

    fn exec(&self, args: &[&str]) {
        if let Err(e) = self.0.exec(args) {
            panic!("{args:?} in {}: {e}", self.name());
        }
    }

    fn table_present(&self) -> bool {
        self.0
            .exec(&["nft", "list", "table", "inet", "airlock"])
            .is_ok()
    }
}

/// The real helper inside the namespace; restartable, killed (with what
/// it started, e.g. `nft monitor`) by PID.
struct RealHelper<'a> {
    exe: PathBuf,
    netns: &'a airlock_lab::netns::Netns,
    socket: PathBuf,
    state: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl<'a> RealHelper<'a> {
    fn new(netns: &'a Netns, dir: &Path) -> RealHelper<'a> {
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
    fn start(&mut self) {
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
    fn kill(&mut self) {
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

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What `airlockctl status --json` says (the CLI, not our own client:
    /// an independent reader of the helper's state).
    fn ctl_status(&self) -> Status {
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

impl Drop for RealHelper<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn tray_app_against_the_real_helper() {
    if let Some(why) = tool_missing() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the real-helper UI test cannot run on CI: {why}"
        );
        eprintln!("skipping the real-helper UI test: {why}");
        return;
    }
    if !ui_prerequisites("the real-helper UI test") {
        return;
    }
    let shots = shots_dir("real-helper");

    // Declared in this order so they drop app first, namespace last.
    let ns = Netns::new();
    let dir = tempfile::Builder::new()
        .prefix("airlock-ui-helper-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut helper = RealHelper::new(&ns, dir.path());
    helper.start();
    let desktop = Desktop::start(TrayHost::StatusNotifier);
    let mut app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &helper.socket);

    // Off: grey, and nothing of ours in the kernel.
    let started = Instant::now();
    let icon = first_icon(&desktop, &shots, GREY, "01-off", started);
    assert!(!ns.table_present(), "a table before the kill switch is on");
    assert_eq!(helper.ctl_status().kill_switch, KillSwitch::Off);
    wait_for_status_line(&desktop, "Kill switch is off — traffic is not protected");

    // Click "Kill Switch" (the first enabled item): the helper loads its
    // table, says blocking (no tunnel yet), and the icon turns red.
    open_menu(&desktop, icon);
    desktop.screenshot(&shots.join("02-menu-off.png"));
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_for(
        Duration::from_secs(5),
        "the nft table in the namespace",
        || ns.table_present(),
    );
    let s = helper.ctl_status();
    assert_eq!(
        (s.kill_switch, s.protection),
        (KillSwitch::On, Protection::Blocking),
        "{s:?}"
    );
    let (_, red_box) = wait_for_icon(&desktop, &shots, RED, "03-blocking", Duration::from_secs(2));
    assert!(
        same_place(red_box, icon),
        "the icon moved: {icon:?} -> {red_box:?}"
    );
    wait_for_status_line(&desktop, "Blocking — VPN is down, internet is off");

    // A tunnel comes up: green with no click (the time is printed; the
    // limit is generous so a loaded machine does not fail it).
    ns.exec(&["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"]);
    ns.exec(&["ip", "addr", "add", "10.8.0.2/24", "dev", "tun0"]);
    ns.exec(&["ip", "link", "set", "tun0", "up"]);
    let up = Instant::now();
    wait_for_icon(
        &desktop,
        &shots,
        GREEN,
        "04-protected",
        Duration::from_secs(5),
    );
    say(&format!(
        "green {:?} after the tunnel came up",
        up.elapsed()
    ));
    assert_eq!(helper.ctl_status().protection, Protection::Protected);
    // The helper's own words for the tunnel it saw.
    wait_for_status_line(&desktop, "Protected — VPN tun0");

    // It goes away: red again.
    ns.exec(&["ip", "link", "del", "tun0"]);
    let down = Instant::now();
    wait_for_icon(
        &desktop,
        &shots,
        RED,
        "05-tunnel-gone",
        Duration::from_secs(5),
    );
    say(&format!("red {:?} after the tunnel went", down.elapsed()));
    assert_eq!(helper.ctl_status().protection, Protection::Blocking);

    // "Pause for 5 Minutes", clicked as the panel clicks it: the helper
    // pauses (amber, "Paused until …"); "Resume Now" locks again (red).
    click(&desktop, "Pause for 5 Minutes");
    wait_for_icon(
        &desktop,
        &shots,
        AMBER,
        "05b-paused",
        Duration::from_secs(5),
    );
    let s = helper.ctl_status();
    assert_eq!(
        (s.kill_switch, s.protection),
        (KillSwitch::Paused, Protection::Paused),
        "{s:?}"
    );
    wait_for_status_line(&desktop, "Paused until ");
    click(&desktop, "Resume Now");
    wait_for_icon(&desktop, &shots, RED, "05c-resumed", Duration::from_secs(5));
    assert_eq!(helper.ctl_status().kill_switch, KillSwitch::On);

    // The helper dies: amber ("Helper not running"); the rules it loaded
    // stay in the kernel (fail closed).
    helper.kill();
    wait_for_icon(
        &desktop,
        &shots,
        AMBER,
        "06-helper-killed",
        Duration::from_secs(5),
    );
    assert!(ns.table_present(), "the rules left with the helper");
    wait_for_status_line(&desktop, "Helper not running");
    open_menu(&desktop, icon);
    desktop.screenshot(&shots.join("07-menu-helper-killed.png"));
    desktop.xdotool(&["key", "Escape"]);

    // It comes back (restoring "on" from its state folder): the app
    // reconnects by itself and shows red again.
    helper.start();
    let back = Instant::now();
    wait_for_icon(
        &desktop,
        &shots,
        RED,
        "08-helper-back",
        Duration::from_secs(10),
    );
    say(&format!(
        "red {:?} after the helper restarted",
        back.elapsed()
    ));
    assert_eq!(helper.ctl_status().kill_switch, KillSwitch::On);

    // Quit: the last item; Up from nothing selected wraps to it.
    open_menu(&desktop, icon);
    desktop.screenshot(&shots.join("09-menu-before-quit.png"));
    desktop.xdotool(&["key", "Up", "Return"]);
    let code = wait_exit(&desktop, &mut app.child, Duration::from_secs(5));
    assert!(
        code.success(),
        "exit status {code:?}; stderr:\n{}",
        desktop.app_stderr()
    );
}

/// Waits until the menu's first line (the status line, read over
/// dbusmenu) starts with `words`.
fn wait_for_status_line(desktop: &Desktop, words: &str) {
    let wanted = format!("a status line starting {words:?}");
    dbusmenu::wait_until(desktop, Duration::from_secs(5), &wanted, |menu| {
        menu.starts_with(words)
    });
}

/// Clicks the menu item labelled `label` as the panel does.
fn click(desktop: &Desktop, label: &str) {
    let item = dbusmenu::Item::find(desktop).expect("the app's StatusNotifierItem");
    item.click(desktop, label).expect("dbusmenu Event");
}
