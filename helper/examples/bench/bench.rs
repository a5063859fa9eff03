//! Helper benchmark, not a test: the real `airlockd` in a network namespace
//! of its own, measured from the outside.
//!
//! - enable latency, request -> reply (rules in the kernel), next to a bare
//!   `nft -f` of the same ruleset: what the helper costs on top of nft;
//! - status round trip;
//! - idle RSS, and wakeups (context switches) per minute while idle.
//!
//! Run as root: `cargo build --release -p airlock-helper && cargo run --release -p
//! airlockd --example bench [-- --idle-secs N] [--no-tamper-guard]` (default
//! 60 s idle; the last flag runs the helper without its owned copy of the
//! rules, to compare). The helper
//! binary is found beside this example's directory, or in `$AIRLOCKD`.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airlock_client::Client;
use airlock_helper::network::live;
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::platform::Platform;
use airlock_shared::settings::Settings;
use anyhow::{bail, Context};

const CYCLES: usize = 50;
const STATUS_ROUNDS: usize = 1000;
/// The pause after each enable or disable (see its use).
const SETTLE: Duration = Duration::from_millis(50);

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        for kid in children(self.0.id()) {
            // SAFETY: kill(2) by PID on a process the helper started.
            unsafe { libc::kill(kid, libc::SIGKILL) };
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn children(pid: u32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .flat_map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what:<44} p50 {:>9.3} ms   p99 {:>9.3} ms   (n={})",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

/// `Key:  value kB` from a /proc status file.
fn proc_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A `kB` line of /proc/PID/status.
fn status_kib(pid: i32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    proc_field(&text, key)
}

/// The proportional set size: shared library pages divided among the
/// processes mapping them (what the helper adds to the machine).
fn pss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    proc_field(&text, "Pss:")
}

/// Context switches of every thread of `pid`: each is one wakeup.
fn switches(pid: i32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|t| {
            let text = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            proc_field(&text, "voluntary_ctxt_switches:").unwrap_or(0)
                + proc_field(&text, "nonvoluntary_ctxt_switches:").unwrap_or(0)
        })
        .sum()
}

fn nft_load(script: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(script.as_bytes())?;
    if !child.wait()?.success() {
        bail!("nft -f failed");
    }
    Ok(start.elapsed())
}

pub fn main() -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("run as root: the bench creates a network namespace");
    }
    let guard = !std::env::args().any(|a| a == "--no-tamper-guard");
    let idle_secs: u64 = match std::env::args().skip_while(|a| a != "--idle-secs").nth(1) {
        Some(v) => v.parse().context("--idle-secs N")?,
        None => 60,
    };
    let airlockd = match std::env::var_os("AIRLOCKD") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .context("no target dir")?
            .join("airlockd"),
    };
    if !airlockd.exists() {
        bail!(
            "{} not found: `cargo build --release -p airlock-helper` first, or set AIRLOCKD",
            airlockd.display()
        );
    }

    let name = format!("airlock-bench-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .status()?
        .success();
    if !ok {
        bail!("ip netns add {name} failed");
    }
    let ns = Netns(name);
    let nsfile = File::open(format!("/run/netns/{}", ns.0))?;
    // Everything from here on (nft, the helper) runs in the namespace.
    // SAFETY: a valid netns fd; this process is single-threaded so far.
    if unsafe { libc::setns(nsfile.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!("setns: {}", std::io::Error::last_os_error());
    }
    Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()?;

    // Bare nft: the ruleset a fresh `enable` loads, rendered the same way.
    let settings = Settings {
        kill_switch: true,
        ..Settings::default()
    };
    let snap = live::snapshot(Platform::Linux, &settings.tunnel_patterns)?;
    let now = airlock_helper::daemon::now();
    let policy = airlock_shared::policy::build(&settings, &snap, Platform::Linux, now);
    let script = airlock_shared::render::nft::render(&policy);
    let mut bare = Vec::new();
    for _ in 0..CYCLES {
        bare.push(nft_load(&script)?);
        Command::new("nft")
            .args(["delete", "table", "inet", "airlock"])
            .status()?;
    }

    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("airlock.sock");
    let helper = Helper(
        Command::new(&airlockd)
            .arg("run")
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["--backend", "nft"])
            .args((!guard).then_some("--no-tamper-guard"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.path().join("helper.log"))?)
            .process_group(0)
            .spawn()?,
    );
    let pid = i32::try_from(helper.0.id())?;
    let started = Instant::now();
    let mut client = loop {
        match Client::connect(&socket) {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => bail!("helper did not come up: {e}"),
        }
    };
    println!(
        "helper up {:?} after spawn; tamper guard {}",
        started.elapsed(),
        if guard { "on" } else { "off" }
    );

    let mut enable = Vec::new();
    let mut disable = Vec::new();
    for _ in 0..CYCLES {
        let t = Instant::now();
        match client.request(RequestBody::Enable)? {
            ResponseBody::Done(_) => enable.push(t.elapsed()),
            other => bail!("enable: {other:?}"),
        }
        // Each change wakes the tamper watch, whose check of the new rules
        // would otherwise be paid by the next request: measure each alone.
        std::thread::sleep(SETTLE);
        let t = Instant::now();
        client.request(RequestBody::Disable)?;
        disable.push(t.elapsed());
        std::thread::sleep(SETTLE);
    }
    match client.rules() {
        Ok(_) => {}
        Err(e) => println!("(get rules while off: {e})"),
    }

    let mut status_off = Vec::new();
    for _ in 0..STATUS_ROUNDS {
        let t = Instant::now();
        client.request(RequestBody::GetStatus)?;
        status_off.push(t.elapsed());
    }
    client.request(RequestBody::Enable)?;
    let mut status_on = Vec::new();
    for _ in 0..STATUS_ROUNDS {
        let t = Instant::now();
        client.request(RequestBody::GetStatus)?;
        status_on.push(t.elapsed());
    }
    drop(client);

    println!();
    report("bare `nft -f` of the enable ruleset", bare);
    report("enable, request -> reply (rules loaded)", enable);
    report("disable, request -> reply", disable);
    report("GetStatus round trip, kill switch off", status_off);
    report("GetStatus round trip, kill switch on", status_on);

    // Idle: kill switch on, no clients, nothing changing.
    std::thread::sleep(Duration::from_secs(1));
    let kids = children(helper.0.id());
    let before = switches(pid);
    let kids_before: u64 = kids.iter().map(|k| switches(*k)).sum();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let woke = switches(pid) - before;
    let kids_woke = kids.iter().map(|k| switches(*k)).sum::<u64>() - kids_before;
    let per_min = |n: u64| n as f64 * 60.0 / idle_secs as f64;
    println!();
    println!(
        "helper idle RSS {} KiB; its child processes {} KiB (none expected: the tamper watch is in-process)",
        rss_kib(pid).unwrap_or(0),
        kids.iter().filter_map(|k| rss_kib(*k)).sum::<u64>()
    );
    println!(
        "  of which anonymous {} KiB, file-backed (code of the binary and its libraries) {} KiB; PSS {} KiB",
        status_kib(pid, "RssAnon:").unwrap_or(0),
        status_kib(pid, "RssFile:").unwrap_or(0),
        pss_kib(pid).unwrap_or(0)
    );
    println!(
        "idle wakeups over {idle_secs} s: helper {woke} ({:.1}/min), children {kids_woke} ({:.1}/min)",
        per_min(woke),
        per_min(kids_woke)
    );
    Ok(())
}
