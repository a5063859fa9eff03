//! Start-to-icon time, idle cost and reply-to-menu latency of the real
//! `airlock` binary in the same private Xvfb desktop the UI tests use
//! (needs root and the UI tests' tools):
//! `cargo build --release -p airlock-app && cargo run -p airlock-app
//! --example ui_bench -- target/release/airlock` (without an argument: the
//! `airlock` next to the example's own profile folder). The tray host is
//! `xfce4-panel` (StatusNotifier); `TRAY_HOST=xembed` uses `trayer`.
//! Prints the time until the icon is on screen, then CPU time, RSS and
//! context switches over 60 s (`IDLE_SECS` overrides) with nothing
//! happening, and which mappings hold the resident memory. With the
//! StatusNotifier host it then clicks "Kill Switch" over dbusmenu
//! (`TOGGLES` times, default 20) and prints how long after the helper's
//! reply the menu's check mark and the icon showed the change.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use airlock_app::icons::GREEN;
use airlock_shared::status::KillSwitch;
use common::dbusmenu;
use common::*;

fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// utime + stime in clock ticks, from /proc/PID/stat.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// Context switches per thread (each is a wakeup), by thread id.
fn switches(pid: u32) -> std::collections::HashMap<u32, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Default::default();
    };
    tasks
        .flatten()
        .map(|t| {
            let tid: u32 = t.file_name().to_string_lossy().parse().unwrap_or(0);
            let file = format!("task/{tid}/status");
            let n = proc_field(pid, &file, "voluntary_ctxt_switches:").unwrap_or(0)
                + proc_field(pid, &file, "nonvoluntary_ctxt_switches:").unwrap_or(0);
            (tid, n)
        })
        .collect()
}

/// Resident kB per mapped file (anonymous memory as "[anon]", heap as
/// "[heap]"), largest first: what the RSS is made of.
fn rss_by_mapping(pid: u32) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by: std::collections::HashMap<String, u64> = Default::default();
    let mut current = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping header: range perms offset dev inode [path].
            let path = line.split_whitespace().nth(5).unwrap_or("[anon]");
            current = path.rsplit('/').next().unwrap_or(path).to_string();
        } else if first == "Rss:" {
            let kb: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            *by.entry(current.clone()).or_default() += kb;
        }
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v
}

pub fn main() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("cannot run the bench: {why}");
        std::process::exit(2);
    }
    let idle: u64 = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let host = match std::env::var("TRAY_HOST").as_deref() {
        Ok("xembed") => TrayHost::XEmbed,
        _ => TrayHost::StatusNotifier,
    };
    println!("tray host: {host:?}");
    let desktop = Desktop::start(host);
    let fake = FakeHelper::beside(&desktop, status(KillSwitch::On, true, true));
    let shot = desktop.dir.path().join("shot.png");
    let start = Instant::now();
    // target/<profile>/examples/ui_bench -> target/<profile>/airlock
    let exe = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(|| {
            Some(
                std::env::current_exe()
                    .ok()?
                    .parent()?
                    .parent()?
                    .join("airlock"),
            )
        })
        .filter(|p| p.is_file())
        .expect("build the app first: cargo build -p airlock-app (or pass its path)");
    println!("binary: {}", exe.display());
    let app = desktop.start_app(&exe, &fake.socket);
    let pid = app.child.id();
    loop {
        let img = desktop.screenshot(&shot);
        if img.find(GREEN, 10).is_some_and(|(_, n)| n > 30) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no icon");
    }
    println!(
        "start to icon on screen: {:?} (includes one screenshot, ~50-100 ms)",
        start.elapsed()
    );
    // Let start-up settle, then measure idle.
    std::thread::sleep(Duration::from_secs(2));
    let (t0, s0) = (cpu_ticks(pid), switches(pid));
    std::thread::sleep(Duration::from_secs(idle));
    let (t1, s1) = (cpu_ticks(pid), switches(pid));
    // Threads alive at both ends (short-lived ones take their counts along).
    let woke: u64 = s1
        .iter()
        .filter_map(|(tid, n)| Some(n.saturating_sub(*s0.get(tid)?)))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = (t1 - t0) as f64 / hz;
    println!(
        "idle {idle} s: CPU {cpu:.3} s ({:.3} %), context switches {} ({:.2}/s)",
        100.0 * cpu / idle as f64,
        woke,
        woke as f64 / idle as f64
    );
    println!(
        "RSS {} kB, peak {} kB, threads {}",
        proc_field(pid, "status", "VmRSS:").unwrap_or(0),
        proc_field(pid, "status", "VmHWM:").unwrap_or(0),
        proc_field(pid, "status", "Threads:").unwrap_or(0)
    );
    println!(
        "RssAnon {} kB, RssFile {} kB, RssShmem {} kB",
        proc_field(pid, "status", "RssAnon:").unwrap_or(0),
        proc_field(pid, "status", "RssFile:").unwrap_or(0),
        proc_field(pid, "status", "RssShmem:").unwrap_or(0)
    );
    println!("largest resident mappings (kB):");
    for (name, kb) in rss_by_mapping(pid).into_iter().take(15) {
        println!("  {kb:>7}  {name}");
    }
    if host == TrayHost::StatusNotifier {
        let toggles = std::env::var("TOGGLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        reply_to_screen(&desktop, &fake, toggles);
    }
}

/// Clicks "Kill Switch" over dbusmenu `toggles` times and measures, from
/// the moment the helper wrote its reply, until (a) the menu's check mark
/// and (b) the item's icon file name showed the new state. Each poll is a
/// busctl call (a few ms), which bounds the resolution.
fn reply_to_screen(desktop: &Desktop, fake: &FakeHelper, toggles: usize) {
    let item = dbusmenu::Item::find(desktop).expect("the app's StatusNotifierItem");
    let checked = |want: bool| {
        let line = if want {
            "[x] Kill Switch\n"
        } else {
            "[ ] Kill Switch\n"
        };
        item.menu(desktop)
            .is_ok_and(|e| dbusmenu::text(&e).contains(line))
    };
    let icon = || item.property(desktop, "IconName").unwrap_or_default();
    let (mut menu_ms, mut icon_ms, mut poll_ms) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..toggles {
        let was_on = fake.status().kill_switch != KillSwitch::Off;
        let icon_before = icon();
        let replies = fake.replies().len();
        item.click(desktop, "Kill Switch").expect("dbusmenu Event");
        let start = Instant::now();
        while fake.replies().len() == replies {
            assert!(start.elapsed() < Duration::from_secs(5), "no reply");
            std::thread::sleep(Duration::from_millis(1));
        }
        let replied = fake.replies()[replies].1;
        // One D-Bus call per poll, alternating, so each check is fresh.
        let (mut menu_at, mut icon_at) = (None, None);
        while menu_at.is_none() || icon_at.is_none() {
            let t = Instant::now();
            if menu_at.is_none() {
                if checked(!was_on) {
                    menu_at = Some(Instant::now());
                }
            } else if icon() != icon_before {
                icon_at = Some(Instant::now());
            }
            poll_ms.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(
                replied.elapsed() < Duration::from_secs(5),
                "toggle {i}: no change"
            );
        }
        let ms = |at: Option<Instant>| {
            at.map_or(0.0, |a| {
                a.saturating_duration_since(replied).as_secs_f64() * 1e3
            })
        };
        menu_ms.push(ms(menu_at));
        icon_ms.push(ms(icon_at));
    }
    let summary = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        format!(
            "p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            p(0.5),
            p(0.9),
            p(1.0)
        )
    };
    println!(
        "helper reply -> check mark in the dbusmenu ({toggles} clicks): {}",
        summary(&mut menu_ms)
    );
    println!(
        "helper reply -> new icon on the item ({toggles} clicks): {}",
        summary(&mut icon_ms)
    );
    println!(
        "one poll (busctl calls, the resolution): {}",
        summary(&mut poll_ms)
    );
}
