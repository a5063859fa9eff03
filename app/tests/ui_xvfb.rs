//! The real `airlock` binary in a private X/D-Bus desktop with a real
//! tray host, against a fake helper: each state's icon is on screen in
//! its colour, the menu opens and "Kill Switch" sends Enable, a refusal
//! leaves the icon as it was and says why, a stopped helper turns the
//! icon amber and a restarted one is picked up again, "Quit" exits 0.
//!
//! Needs root plus Xvfb, xauth, xdotool, imagemagick's `import`,
//! dbus-daemon and trayer; skips with a message otherwise. Screenshots
//! land in `<target>/ui-screenshots/` (printed).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock::ipc::protocol::{ErrorCode, IpcError, RequestBody};
use airlock::status::KillSwitch;
use airlock_app::icons::{AMBER, GREEN, GREY, RED};
use common::*;

/// Colour match tolerance: the panel scales the 32 px icon.
const TOL: i32 = 10;
/// Pixels of a colour that make an icon (a 22+ px shield is > 60).
const MIN_PIXELS: usize = 30;

fn shots_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(&tmp).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Takes screenshots until one shows `colour` in the tray (and none of
/// the other state colours), or fails after `limit`.
fn wait_for_icon(
    desktop: &Desktop,
    colour: [u8; 3],
    name: &str,
    limit: Duration,
) -> (Image, (u32, u32, u32, u32)) {
    let path = shots_dir().join(format!("{name}.png"));
    let start = Instant::now();
    loop {
        let img = desktop.screenshot(&path);
        let found = img.find(colour, TOL).filter(|(_, n)| *n >= MIN_PIXELS);
        let others = [GREEN, RED, GREY, AMBER]
            .into_iter()
            .filter(|c| *c != colour)
            .any(|c| img.find(c, TOL).is_some_and(|(_, n)| n >= MIN_PIXELS));
        if let (Some((bbox, _)), false) = (found, others) {
            return (img, bbox);
        }
        assert!(
            start.elapsed() < limit,
            "no {name} icon ({colour:?}) after {limit:?}; see {}; app stderr:\n{}",
            path.display(),
            desktop.app_stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn open_menu(desktop: &Desktop, bbox: (u32, u32, u32, u32)) {
    let (x, y) = ((bbox.0 + bbox.2) / 2, (bbox.1 + bbox.3) / 2);
    desktop.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    // The menu is a new override-redirect window; give GTK a moment to map it.
    std::thread::sleep(Duration::from_millis(600));
}

fn wait_until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    common::wait_for(limit, what, &mut ok);
}

#[test]
fn tray_app_under_xvfb() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping the tray UI test: {why}");
        return;
    }
    let shots = shots_dir();
    say(&format!("UI screenshots: {}", shots.display()));
    let desktop = Desktop::start();
    let socket = desktop.dir.path().join("airlock.sock");
    let fake = FakeHelper::start(&socket, status(KillSwitch::Off, true, true));
    let mut app = desktop.start_app(Path::new(env!("CARGO_BIN_EXE_airlock")), &socket);

    // Off: grey outline.
    let started = Instant::now();
    let (_, off_box) = wait_for_icon(&desktop, GREY, "01-off", Duration::from_secs(20));
    say(&format!("icon visible {:?} after start", started.elapsed()));
    wait_until(Duration::from_secs(5), "the app to subscribe", || {
        fake.subscribers() == 1
    });

    fake.set(status(KillSwitch::On, true, true));
    wait_for_icon(&desktop, GREEN, "02-protected", Duration::from_secs(5));
    fake.set(status(KillSwitch::On, false, true));
    let (blocking, _) = wait_for_icon(&desktop, RED, "03-blocking", Duration::from_secs(5));
    wait_until(Duration::from_secs(5), "the VPN-down notification", || {
        desktop
            .notifications()
            .contains("VPN disconnected — traffic blocked")
    });
    fake.set(status(KillSwitch::Paused, true, true));
    wait_for_icon(&desktop, AMBER, "04-paused", Duration::from_secs(5));
    fake.set(status(KillSwitch::Off, true, true));
    let (off, off_box2) = wait_for_icon(&desktop, GREY, "05-off-again", Duration::from_secs(5));
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
    let (_, on_box) = wait_for_icon(&desktop, GREEN, "07-after-click", Duration::from_secs(2));
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
    wait_for_icon(&desktop, GREEN, "08-refused", Duration::from_secs(2));
    assert_eq!(fake.status().kill_switch, KillSwitch::On);
    open_menu(&desktop, on_box);
    desktop.screenshot(&shots.join("09-menu-refusal.png"));
    desktop.xdotool(&["key", "Escape"]);
    fake.refuse_changes(None);

    // Helper stops: amber; comes back: recovers by itself.
    fake.stop();
    wait_for_icon(&desktop, AMBER, "10-helper-down", Duration::from_secs(5));
    open_menu(&desktop, on_box);
    desktop.screenshot(&shots.join("11-menu-helper-down.png"));
    desktop.xdotool(&["key", "Escape"]);
    fake.restart();
    wait_for_icon(&desktop, GREEN, "12-helper-back", Duration::from_secs(8));

    // Quit: the last item; Up from nothing selected wraps to it.
    open_menu(&desktop, on_box);
    desktop.xdotool(&["key", "Up", "Return"]);
    let start = Instant::now();
    let code = loop {
        if let Some(status) = app.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "airlock did not quit; stderr:\n{}",
            desktop.app_stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
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
