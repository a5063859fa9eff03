//! The XEmbed fallback: with no StatusNotifier watcher on the bus (bare
//! window managers; here `trayer`), libayatana-appindicator falls back to
//! a GtkStatusIcon. The icon must still show each state's colour, the
//! menu must still open on a click, and "Quit" must still exit 0.
//!
//! Needs the same tools as `ui_xvfb.rs`; skips or fails the same way.
//! Screenshots land in `<target>/ui-screenshots/xembed/` (printed).

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use airlock_app::icons::{GREEN, GREY, RED};
use airlock_shared::status::KillSwitch;
use common::*;

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn tray_app_with_an_xembed_tray() {
    if !ui_prerequisites("the XEmbed tray UI test") {
        return;
    }
    let shots = shots_dir("xembed");
    let desktop = Desktop::start(TrayHost::XEmbed);
    let fake = FakeHelper::beside(&desktop, status(KillSwitch::Off, true, true));
    let mut app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &fake.socket);

    let started = Instant::now();
    let icon = first_icon(&desktop, &shots, GREY, "01-off", started);
    // No StatusNotifier item: this really is the fallback.
    assert!(
        dbusmenu::Item::find(&desktop).is_err(),
        "an item registered with a watcher, so this is not the XEmbed path"
    );
    fake.set(status(KillSwitch::On, true, true));
    wait_for_icon(&desktop, &shots, GREEN, "02-protected", WAIT);
    fake.set(status(KillSwitch::On, false, true));
    wait_for_icon(&desktop, &shots, RED, "03-blocking", WAIT);

    // The menu opens from a click; "Kill Switch" (first enabled) turns
    // the kill switch off at the helper.
    open_menu(&desktop, icon);
    desktop.screenshot(&shots.join("04-menu.png"));
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_for(WAIT, "Disable at the helper", || {
        fake.status().kill_switch == KillSwitch::Off
    });
    wait_for_icon(&desktop, &shots, GREY, "05-off-by-click", WAIT);

    open_menu(&desktop, icon);
    desktop.xdotool(&["key", "Up", "Return"]);
    let code = wait_exit(&desktop, &mut app.child, WAIT);
    assert!(
        code.success(),
        "exit status {code:?}; stderr:\n{}",
        desktop.app_stderr()
    );
}
