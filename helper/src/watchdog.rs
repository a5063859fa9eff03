//! Tamper watchdog: notices when someone else removes or changes our rules
//! and asks the engine to check (and restore) them.
//!
//! How is the firewall's to say ([`TamperWatch`]): nftables announces every
//! change on its netlink monitor, so on Linux this is event-driven (`nft
//! monitor` prints a line per change and we check after each burst). pf
//! announces nothing, so on macOS the check runs on a 1 s timer
//! (docs/security.md asks for detection within 2 s).

use std::process::Stdio;
use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::firewall::TamperWatch;
use crate::inbox::Msg;

/// Changes arrive in bursts (a table is many objects); check once after.
const BURST: Duration = Duration::from_millis(20);

pub async fn run(watch: TamperWatch, engine: Sender<Msg>) {
    match watch {
        TamperWatch::Events => loop {
            if let Err(e) = nft_monitor(&engine).await {
                tracing::warn!("`nft monitor` failed ({e}); checking every second instead");
                timer(&engine, Duration::from_secs(1)).await;
                return;
            }
            // The monitor exited (nft upgraded, killed): check now, restart.
            if engine.send(Msg::CheckFirewall).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        },
        TamperWatch::Poll(every) => timer(&engine, every).await,
    }
}

async fn timer(engine: &Sender<Msg>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if engine.send(Msg::CheckFirewall).is_err() {
            return;
        }
    }
}

/// Runs `nft monitor` until it exits; each burst of events -> one check.
async fn nft_monitor(engine: &Sender<Msg>) -> std::io::Result<()> {
    let mut cmd = Command::new("nft");
    cmd.args(["monitor", "ruleset"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout from nft monitor"))?;
    let mut lines = BufReader::new(stdout).lines();
    while lines.next_line().await?.is_some() {
        // Swallow the rest of the burst, then check once.
        while let Ok(Ok(Some(_))) = tokio::time::timeout(BURST, lines.next_line()).await {}
        if engine.send(Msg::CheckFirewall).is_err() {
            return Ok(());
        }
    }
    let _ = child.wait().await;
    Ok(())
}

/// `kill_on_drop` covers a clean exit only. If the helper is SIGKILLed or
/// crashes, `nft monitor` would live on forever (blocked on netlink, never
/// writing to the dead pipe), and every restart would add another one.
/// The parent-death signal ends it with us. It is tied to the thread that
/// spawned it: that is the runtime's thread, which lives as long as the
/// helper does.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is a plain syscall, async-signal-safe between fork
    // and exec, and touches no memory of ours.
    let parent = std::process::id();
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // We may have died before the prctl took effect.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(std::io::Error::other("airlockd exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}
