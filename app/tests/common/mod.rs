//! A private desktop for driving the real `airlock` binary (see
//! `platform/`), a fake `airlockd` speaking the shared protocol on a temp
//! socket (airlock-test-support's [`FakeHelper`], re-exported here with
//! the names the UI tests use), and the two ways the tests read the tray:
//! screenshots (`screen.rs`) and the menu over dbusmenu (`dbusmenu.rs`).
//!
//! Shared by `tests/ui_*.rs` and `examples/ui_bench/`.
#![allow(dead_code, unused_imports)] // each includer uses part of it

pub mod dbusmenu;
mod desktop;
mod image;
pub mod procs;
pub mod real_helper;
mod screen;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use airlock_shared::status::{KillSwitch, Status};

pub use airlock_test_support::clock::now;
pub use airlock_test_support::FakeHelper;
pub use desktop::{Desktop, TrayHost};
pub use image::Image;
pub use screen::*;

/// Tools every UI test needs (`busctl` is systemd's D-Bus client).
pub const TOOLS: [&str; 8] = [
    "Xvfb",
    "xauth",
    "xdotool",
    "import",
    "dbus-daemon",
    "busctl",
    "xfce4-panel",
    "trayer",
];

/// Whether a UI test can run here. Says why not and returns false
/// (skip) on a developer machine; panics under `CI=true`, where
/// `scripts/deps` installs everything and a skip would hide a regression.
pub fn ui_prerequisites(test: &str) -> bool {
    let Some(why) = missing_prerequisite() else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} cannot run on CI: {why} (scripts/deps installs the tools)"
    );
    eprintln!("skipping {test}: {why}");
    false
}

/// Why the UI test cannot run here, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in TOOLS {
        if !std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

// ---------------------------------------------------------------- statuses

/// The app's sample status; a pause, if any, ends five minutes from now.
pub fn status(kill_switch: KillSwitch, tunnel_up: bool, healthy: bool) -> Status {
    airlock_test_support::status::app(kill_switch, tunnel_up, healthy, now() + 300)
}

/// `FakeHelper::beside(&desktop, status)` starts the fake helper on
/// `airlock.sock` in the desktop's private folder.
impl airlock_test_support::fake_helper::PrivateDir for Desktop {
    fn private_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

// ------------------------------------------------------------------ waiting

pub fn wait_for(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a line to stderr right away (test output is captured otherwise).
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}
