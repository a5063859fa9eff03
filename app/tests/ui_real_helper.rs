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

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use airlock_app::icons::{AMBER, GREEN, GREY, RED};
use airlock_shared::status::{KillSwitch, Protection};
use common::real_helper::{real_helper_ready, Netns, RealHelper};
use common::*;

#[test]
fn tray_app_against_the_real_helper() {
    if !real_helper_ready("the real-helper UI test") {
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

    // Click "Kill Switch" (the first enabled item). No VPN server is
    // allowed and no tunnel is up, so the app asks first and changes
    // nothing; "Turn On Anyway" then has the helper load its table, say
    // blocking (no tunnel yet), and the icon turns red.
    open_menu(&desktop, icon);
    desktop.screenshot(&shots.join("02-menu-off.png"));
    desktop.xdotool(&["key", "Down", "Return"]);
    dbusmenu::wait_until(&desktop, Duration::from_secs(5), "the question", |menu| {
        menu.contains("Your VPN won't be able to connect")
    });
    assert!(
        !ns.table_present(),
        "the question must not turn anything on"
    );
    click(&desktop, "Turn On Anyway (Block Everything)");
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
