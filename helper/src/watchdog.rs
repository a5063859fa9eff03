//! Tamper watchdog: notices when someone else removes or changes our rules
//! and asks the engine to check (and restore) them.
//!
//! How is the firewall's to say ([`TamperWatch`]): nftables announces every
//! ruleset change on a netlink multicast group, so on Linux this is
//! event-driven, in-process (a socket subscribed to the group; no `nft
//! monitor` child), with one check per burst. pf announces nothing, so on
//! macOS the check runs on a 1 s timer (docs/security.md asks for
//! detection within 2 s).

use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::firewall::{nft, TamperWatch};
use crate::inbox::Msg;

/// Changes arrive in bursts (a table is many objects); check once after.
/// A whole transaction's messages arrive within microseconds of each
/// other, so a few milliseconds are enough, and every millisecond here is
/// one more in which a deleted table lets traffic out.
const BURST: Duration = Duration::from_millis(3);

/// What the log says once the tamper watch listens (tests wait for it).
pub const WATCHING: &str = "tamper watch: subscribed to nftables' change events";

pub async fn run(watch: TamperWatch, engine: Sender<Msg>) {
    match watch {
        TamperWatch::Events => {
            if let Err(e) = events(&engine).await {
                tracing::warn!(
                    "tamper watch: nftables' change events failed ({e}); checking every second \
                     instead"
                );
                timer(&engine, Duration::from_secs(1)).await;
            }
        }
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

/// One check per burst of nftables change events, until the engine is
/// gone; an error if the socket cannot be opened or read.
async fn events(engine: &Sender<Msg>) -> std::io::Result<()> {
    let fd = nft::open_events()?;
    let (tx, mut rx) = mpsc::channel(1);
    let forward = tokio::spawn(crate::bursts::forward(fd, BURST, tx));
    tracing::info!("{WATCHING}");
    // Whatever happened before we listened is found by this first check.
    if engine.send(Msg::CheckFirewall).is_err() {
        forward.abort();
        return Ok(());
    }
    while rx.recv().await.is_some() {
        if engine.send(Msg::CheckFirewall).is_err() {
            forward.abort();
            return Ok(());
        }
    }
    // The forwarder ended: it failed (or, never, the channel closed).
    match forward.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(e)),
    }
}
