//! The real `airlock` binary in a private X/D-Bus desktop with a real
//! tray host, against a fake helper: each state's icon is on screen in
//! its colour, the menu opens and "Kill Switch" sends Enable, a refusal
//! leaves the icon as it was and says why, a stopped helper turns the
//! icon amber and a restarted one is picked up again, "Quit" exits 0.
//!
//! Needs root plus Xvfb, xauth, xdotool, imagemagick's `import`,
//! dbus-daemon and trayer; skips with a message otherwise. Screenshots
//! land in `<target>/ui-screenshots/fake-helper/` (printed).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use airlock::ipc::protocol::{ErrorCode, IpcError, RequestBody};
use airlock::status::KillSwitch;
use airlock_app::icons::{AMBER, GREEN, GREY, RED};
use common::*;

#[test]
fn tray_app_under_xvfb() {
    if !ui_prerequisites("the tray UI test") {
        return;
    }
    let shots = shots_dir("fake-helper");
    say(&format!("UI screenshots: {}", shots.display()));
    let desktop = Desktop::start();
    let socket = desktop.dir.path().join("airlock.sock");
    let fake = FakeHelper::start(&socket, status(KillSwitch::Off, true, true));
    let mut app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &socket);

    // Off: grey outline.
    let started = Instant::now();
    let (_, off_box) = wait_for_icon(&desktop, &shots, GREY, "01-off", Duration::from_secs(20));
    say(&format!("icon visible {:?} after start", started.elapsed()));
    wait_until(Duration::from_secs(5), "the app to subscribe", || {
        fake.subscribers() == 1
    });

    fake.set(status(KillSwitch::On, true, true));
    wait_for_icon(
        &desktop,
        &shots,
        GREEN,
        "02-protected",
        Duration::from_secs(5),
    );
    fake.set(status(KillSwitch::On, false, true));
    let (blocking, _) = wait_for_icon(&desktop, &shots, RED, "03-blocking", Duration::from_secs(5));
    wait_until(Duration::from_secs(5), "the VPN-down notification", || {
        desktop
            .notifications()
            .contains("VPN disconnected — traffic blocked")
    });
    fake.set(status(KillSwitch::Paused, true, true));
    wait_for_icon(&desktop, &shots, AMBER, "04-paused", Duration::from_secs(5));
    fake.set(status(KillSwitch::Off, true, true));
    let (off, off_box2) = wait_for_icon(
        &desktop,
        &shots,
        GREY,
        "05-off-again",
        Duration::from_secs(5),
    );
    assert_eq!(off_box, off_box2, "the icon stays in its place");
    // The icon's pixels really differ between states (not just a stray
    // pixel of colour somewhere).
    let region_diff = (off_box.0..=off_box.2)
        .flat_map(|x| (off_box.1..=off_box.3).map(move |y| (x, y)))
        .filter(|&(x, y)| off.pixel(x, y) != blocking.pixel(x, y))
        .count();
    assert!(region_diff > 50, "only {region_diff} pixels differ");

    // Click "Kill Switch": the first enabled item, so one Down selects it.
    open_menu(&desktop, off_box);
    desktop.screenshot(&shots.join("06-menu-off.png"));
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_until(Duration::from_secs(5), "Enable at the helper", || {
        fake.requests().contains(&RequestBody::Enable)
    });
    let (_, on_box) = wait_for_icon(
        &desktop,
        &shots,
        GREEN,
        "07-after-click",
        Duration::from_secs(2),
    );
    assert_eq!(fake.status().kill_switch, KillSwitch::On);

    // A refused change: the icon stays green, the user is told why.
    fake.refuse_changes(Some(IpcError::new(
        ErrorCode::NotAuthorized,
        "changes need an administrator",
    )));
    open_menu(&desktop, on_box);
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_until(Duration::from_secs(5), "Disable at the helper", || {
        fake.requests().contains(&RequestBody::Disable)
    });
    wait_until(Duration::from_secs(5), "the refusal notification", || {
        desktop.notifications().contains("not authorized")
    });
    wait_for_icon(
        &desktop,
        &shots,
        GREEN,
        "08-refused",
        Duration::from_secs(2),
    );
    assert_eq!(fake.status().kill_switch, KillSwitch::On);
    open_menu(&desktop, on_box);
    desktop.screenshot(&shots.join("09-menu-refusal.png"));
    desktop.xdotool(&["key", "Escape"]);
    fake.refuse_changes(None);

    // Helper stops: amber; comes back: recovers by itself.
    fake.stop();
    wait_for_icon(
        &desktop,
        &shots,
        AMBER,
        "10-helper-down",
        Duration::from_secs(5),
    );
    open_menu(&desktop, on_box);
    desktop.screenshot(&shots.join("11-menu-helper-down.png"));
    desktop.xdotool(&["key", "Escape"]);
    fake.restart();
    wait_for_icon(
        &desktop,
        &shots,
        GREEN,
        "12-helper-back",
        Duration::from_secs(8),
    );

    // Quit: the last item; Up from nothing selected wraps to it.
    open_menu(&desktop, on_box);
    desktop.xdotool(&["key", "Up", "Return"]);
    let code = wait_exit(&desktop, &mut app.child, Duration::from_secs(5));
    assert!(
        code.success(),
        "exit status {code:?}; stderr:\n{}",
        desktop.app_stderr()
    );
    say(&format!(
        "notifications shown:\n{}",
        desktop.notifications()
    ));
}
