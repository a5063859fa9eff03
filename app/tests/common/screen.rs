//! What is on screen: the tray icon found by its colour in screenshots,
//! the menu opened by a click, and where the screenshots are kept.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use airlock_app::icons::{AMBER, GREEN, GREY, RED};

use super::{Desktop, Image};

/// Colour match tolerance: the panel scales the 32 px icon.
pub const TOL: i32 = 10;
/// Pixels of a colour that make an icon (a 22+ px shield is > 60).
pub const MIN_PIXELS: usize = 30;

/// `<target>/ui-screenshots/<name>/`, kept after the run for people to
/// look at, and said on stderr. Examples have no CARGO_TARGET_TMPDIR;
/// they use the temp dir.
pub fn shots_dir(name: &str) -> PathBuf {
    let tmp = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tmp
        .parent()
        .unwrap_or(&tmp)
        .join("ui-screenshots")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    super::say(&format!("UI screenshots: {}", dir.display()));
    dir
}

/// Waits (up to 20 s: start-up is slower than a change) for the app's
/// first icon, in `colour`, and says how long after `since` it came.
/// Returns the icon's bounding box.
pub fn first_icon(
    desktop: &Desktop,
    shots: &Path,
    colour: [u8; 3],
    name: &str,
    since: Instant,
) -> (u32, u32, u32, u32) {
    let (_, bbox) = wait_for_icon(desktop, shots, colour, name, Duration::from_secs(20));
    super::say(&format!("icon visible {:?} after start", since.elapsed()));
    bbox
}

/// Takes screenshots into `shots` until one shows `colour` in the tray
/// (and none of the other state colours), or fails after `limit`.
/// Returns the image and the icon's bounding box.
pub fn wait_for_icon(
    desktop: &Desktop,
    shots: &Path,
    colour: [u8; 3],
    name: &str,
    limit: Duration,
) -> (Image, (u32, u32, u32, u32)) {
    let path = shots.join(format!("{name}.png"));
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
        thread::sleep(Duration::from_millis(100));
    }
}

/// Clicks the middle of the icon, which opens its menu.
pub fn open_menu(desktop: &Desktop, bbox: (u32, u32, u32, u32)) {
    let (x, y) = ((bbox.0 + bbox.2) / 2, (bbox.1 + bbox.3) / 2);
    desktop.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    // The menu is a new override-redirect window; give GTK a moment to map it.
    thread::sleep(Duration::from_millis(600));
}

/// Waits up to `limit` for `child` to exit; panics with the app's stderr.
pub fn wait_exit(
    desktop: &Desktop,
    child: &mut Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "airlock did not quit; stderr:\n{}",
            desktop.app_stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether two icon bounding boxes are the same place on screen: the
/// centres within 2 px (different shapes' outlines antialias differently).
pub fn same_place(a: (u32, u32, u32, u32), b: (u32, u32, u32, u32)) -> bool {
    let centre = |r: (u32, u32, u32, u32)| ((r.0 + r.2) as i64, (r.1 + r.3) as i64);
    let ((ax, ay), (bx, by)) = (centre(a), centre(b));
    // Sums, so 4 = 2 px.
    (ax - bx).abs() <= 4 && (ay - by).abs() <= 4
}
