//! The real `airlock` binary in a private X/D-Bus desktop whose tray host
//! is Debian's `xfce4-panel` (a StatusNotifier host, so the icon and the
//! menu travel over D-Bus the way GNOME, KDE and Xfce users get them),
//! against a fake helper. For each state: the icon on screen in its
//! colour, and the menu the panel would draw, read over dbusmenu. Then
//! the menu opened with a real click: "Kill Switch" sends Enable, a
//! refusal leaves the check mark and icon as they were and says why, a
//! stopped helper turns the icon amber and a restarted one is picked up
//! again, "Quit" exits 0.
//!
//! Needs root plus Xvfb, xauth, xdotool, imagemagick's `import`,
//! dbus-daemon, busctl and xfce4-panel; skips with a message otherwise
//! (fails under `CI=true`). Screenshots land in
//! `<target>/ui-screenshots/fake-helper/` (printed).

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use airlock_app::icons::{AMBER, GREEN, GREY, RED};
use airlock_shared::ipc::protocol::{ErrorCode, IpcError, RequestBody};
use airlock_shared::status::KillSwitch;
use common::dbusmenu::{self, wait_for_menu};
use common::*;

/// The menu below the status line, by kill switch state. Written out by
/// hand from the menu spec, so a change in what the user sees
/// fails here.
const OFF_ITEMS: &str = "---
[ ] Kill Switch
[ ] Allow LAN
[ ] Allow AirDrop
[ ] Allow AirPrint
[ ] DNS While Disconnected
VPN Servers
Recently Blocked
---
Pause for 5 Minutes (disabled)
Show Rules…
Test Protection
---
[ ] Start at Login
---
Quit Airlock
";

const ON_ITEMS: &str = "---
[x] Kill Switch
[ ] Allow LAN
[ ] Allow AirDrop
[ ] Allow AirPrint
[ ] DNS While Disconnected
VPN Servers
Recently Blocked
---
Pause for 5 Minutes
Show Rules…
Test Protection
---
[ ] Start at Login
---
Quit Airlock
";

const PAUSED_ITEMS: &str = "---
[x] Kill Switch
[ ] Allow LAN
[ ] Allow AirDrop
[ ] Allow AirPrint
[ ] DNS While Disconnected
VPN Servers
Recently Blocked
---
Resume Now
Show Rules…
Test Protection
---
[ ] Start at Login
---
Quit Airlock
";

/// The helper is gone: nothing to change, but a way to install it.
const HELPER_DOWN: &str = "Helper not running — Install Helper… sets it up (disabled)
---
[ ] Kill Switch (disabled)
[ ] Allow LAN (disabled)
[ ] Allow AirDrop (disabled)
[ ] Allow AirPrint (disabled)
[ ] DNS While Disconnected (disabled)
VPN Servers
Recently Blocked
---
Pause for 5 Minutes (disabled)
Show Rules… (disabled)
Test Protection (disabled)
---
[ ] Start at Login
Install Helper…
---
Quit Airlock
";

fn menu(status_line: &str, items: &str) -> String {
    format!("{status_line} (disabled)\n{items}")
}

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn tray_app_under_xvfb() {
    if !ui_prerequisites("the tray UI test") {
        return;
    }
    let shots = shots_dir("fake-helper");
    let desktop = Desktop::start(TrayHost::StatusNotifier);
    let fake = FakeHelper::beside(&desktop, status(KillSwitch::Off, true, true));
    let mut app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &fake.socket);

    // Off: grey outline.
    let started = Instant::now();
    let off_box = first_icon(&desktop, &shots, GREY, "01-off", started);
    wait_for(WAIT, "the app to subscribe", || fake.subscribers() == 1);
    let off_menu = menu("Kill switch is off — traffic is not protected", OFF_ITEMS);
    wait_for_menu(&desktop, &off_menu, WAIT);

    fake.set(status(KillSwitch::On, true, true));
    wait_for_icon(&desktop, &shots, GREEN, "02-protected", WAIT);
    wait_for_menu(
        &desktop,
        &menu("Protected — VPN utun4 → 198.51.100.7", ON_ITEMS),
        WAIT,
    );
    fake.set(status(KillSwitch::On, false, true));
    let (blocking, _) = wait_for_icon(&desktop, &shots, RED, "03-blocking", WAIT);
    wait_for_menu(
        &desktop,
        &menu("Blocking — VPN is down, internet is off", ON_ITEMS),
        WAIT,
    );
    wait_for(WAIT, "the VPN-down notification", || {
        desktop
            .notifications()
            .contains("VPN disconnected — traffic blocked")
    });
    fake.set(status(KillSwitch::Paused, true, true));
    wait_for_icon(&desktop, &shots, AMBER, "04-paused", WAIT);
    // The clock is the desktop's local time, five minutes from now.
    wait_for_menu(&desktop, &menu("Paused until ??:??", PAUSED_ITEMS), WAIT);
    fake.set(status(KillSwitch::Off, true, true));
    let (off, off_box2) = wait_for_icon(&desktop, &shots, GREY, "05-off-again", WAIT);
    wait_for_menu(&desktop, &off_menu, WAIT);
    assert_eq!(off_box, off_box2, "the icon stays in its place");
    // The icon's pixels really differ between states (not just a stray
    // pixel of colour somewhere).
    let region_diff = (off_box.0..=off_box.2)
        .flat_map(|x| (off_box.1..=off_box.3).map(move |y| (x, y)))
        .filter(|&(x, y)| off.pixel(x, y) != blocking.pixel(x, y))
        .count();
    assert!(region_diff > 50, "only {region_diff} pixels differ");

    // A real click opens the panel's menu; "Kill Switch" is the first
    // enabled item, so one Down selects it.
    open_menu(&desktop, off_box);
    desktop.screenshot(&shots.join("06-menu-off.png"));
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_for(WAIT, "Enable at the helper", || {
        fake.requests().contains(&RequestBody::Enable)
    });
    let (_, on_box) = wait_for_icon(&desktop, &shots, GREEN, "07-after-click", WAIT);
    wait_for_menu(
        &desktop,
        &menu("Protected — VPN utun4 → 198.51.100.7", ON_ITEMS),
        WAIT,
    );
    assert_eq!(fake.status().kill_switch, KillSwitch::On);

    // A refused change: the icon stays green, the check mark stays, and
    // the menu and a notification say why.
    fake.refuse_changes(Some(IpcError::new(
        ErrorCode::NotAuthorized,
        "changes need an administrator",
    )));
    open_menu(&desktop, on_box);
    desktop.xdotool(&["key", "Down", "Return"]);
    wait_for(WAIT, "Disable at the helper", || {
        fake.requests().contains(&RequestBody::Disable)
    });
    wait_for(WAIT, "the refusal notification", || {
        desktop.notifications().contains("not authorized")
    });
    wait_for_icon(&desktop, &shots, GREEN, "08-refused", WAIT);
    let refused = dbusmenu::read(&desktop).unwrap_or_default();
    assert!(
        refused.contains("[x] Kill Switch\n"),
        "the check mark lies after a refusal:\n{refused}"
    );
    assert!(
        refused
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("Couldn't turn off the kill switch")
                && l.contains("not authorized")),
        "no refusal under the status line:\n{refused}"
    );
    assert_eq!(fake.status().kill_switch, KillSwitch::On);
    open_menu(&desktop, on_box);
    desktop.screenshot(&shots.join("09-menu-refusal.png"));
    desktop.xdotool(&["key", "Escape"]);
    fake.refuse_changes(None);

    // Helper stops: amber, and the menu offers to install it; it comes
    // back: recovers by itself.
    fake.stop();
    wait_for_icon(&desktop, &shots, AMBER, "10-helper-down", WAIT);
    wait_for_menu(&desktop, HELPER_DOWN, WAIT);
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
    let code = wait_exit(&desktop, &mut app.child, WAIT);
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

/// Every other item, clicked the way the panel clicks it (a dbusmenu
/// "clicked" event): the helper gets the request the item names, and the
/// menu shows the result only once the helper has answered.
#[test]
fn every_menu_item_does_what_it_says() {
    if !ui_prerequisites("the tray menu test") {
        return;
    }
    let desktop = Desktop::start(TrayHost::StatusNotifier);
    let fake = FakeHelper::beside(&desktop, status(KillSwitch::On, true, true));
    let _app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &fake.socket);
    let protected = "Protected — VPN utun4 → 198.51.100.7";
    wait_for_menu(
        &desktop,
        &menu(protected, ON_ITEMS),
        Duration::from_secs(20),
    );
    let item = dbusmenu::Item::find(&desktop).expect("the app's StatusNotifierItem");
    let click = |label: &str| item.click(&desktop, label).expect("dbusmenu Event");
    let sent = |want: RequestBody| {
        wait_for(WAIT, &format!("{want:?} at the helper"), || {
            fake.requests().contains(&want)
        })
    };

    click("Allow LAN");
    sent(RequestBody::SetOption {
        option: airlock_shared::ipc::protocol::OptionName::AllowLan,
        value: true,
    });
    wait_for_menu(
        &desktop,
        &menu(
            protected,
            &ON_ITEMS.replace("[ ] Allow LAN", "[x] Allow LAN"),
        ),
        WAIT,
    );
    click("Allow LAN");
    sent(RequestBody::SetOption {
        option: airlock_shared::ipc::protocol::OptionName::AllowLan,
        value: false,
    });
    wait_for_menu(&desktop, &menu(protected, ON_ITEMS), WAIT);

    click("Pause for 5 Minutes");
    sent(RequestBody::Pause { seconds: 300 });
    wait_for_menu(&desktop, &menu("Paused until ??:??", PAUSED_ITEMS), WAIT);
    click("Resume Now");
    sent(RequestBody::Resume);
    wait_for_menu(&desktop, &menu(protected, ON_ITEMS), WAIT);

    // Show Rules…: the loaded ruleset as a private text file, opened.
    click("Show Rules…");
    sent(RequestBody::GetRules { offset: 0 });
    wait_for(WAIT, "xdg-open", || !desktop.opened().is_empty());
    let path = desktop
        .opened()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        text.contains("as loaded by the helper (nft)")
            && text.ends_with("table inet airlock {\n}\n"),
        "{path}:\n{text}"
    );
    let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "{path} is readable by others");

    // Start at Login: the check mark follows the real autostart entry.
    let entry = desktop.home.join(".config/autostart/airlock.desktop");
    click("Start at Login");
    wait_for(WAIT, "the autostart entry", || entry.is_file());
    wait_for_menu(
        &desktop,
        &menu(
            protected,
            &ON_ITEMS.replace("[ ] Start at Login", "[x] Start at Login"),
        ),
        WAIT,
    );
    click("Start at Login");
    wait_for(WAIT, "the autostart entry to go", || !entry.exists());
    wait_for_menu(&desktop, &menu(protected, ON_ITEMS), WAIT);
}
