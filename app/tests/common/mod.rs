//! A private desktop for driving the real `airlock` binary (see
//! `platform/`), a fake `airlockd` speaking the shared protocol on a temp
//! socket (`fake_helper.rs`), and the two ways the tests read the tray:
//! screenshots (`screen.rs`) and the menu over dbusmenu (`dbusmenu.rs`).
//!
//! Shared by `tests/ui_*.rs` and `examples/ui_bench/`.
#![allow(dead_code, unused_imports)] // each includer uses part of it

pub mod dbusmenu;
mod desktop;
mod fake_helper;
mod image;
pub mod procs;
pub mod real_helper;
mod screen;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use airlock_shared::status::{KillSwitch, Status};

pub use desktop::{Desktop, TrayHost};
pub use fake_helper::FakeHelper;
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

#[path = "../../src/test_status.rs"]
mod test_status;

/// A pause, if any, ends five minutes from now.
pub fn status(kill_switch: KillSwitch, tunnel_up: bool, healthy: bool) -> Status {
    test_status::build(kill_switch, tunnel_up, healthy, now() + 300)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
