//! Network change notifications, event-driven: the kernel tells us when
//! links, addresses or routes change (rtnetlink on Linux, a PF_ROUTE socket
//! on macOS); there is no polling loop. Each burst of kernel messages
//! becomes one `()` on the channel; the engine then takes a fresh snapshot
//! and decides whether anything that matters changed.

use std::os::fd::OwnedFd;
use std::time::Duration;

use tokio::sync::mpsc;

#[cfg(target_os = "linux")]
use super::monitor_linux as platform;
#[cfg(target_os = "macos")]
use super::monitor_macos as platform;

/// Kernel messages arriving within this window are coalesced into one
/// notification: interface changes come in bursts (link, address, route),
/// and one snapshot after the burst is enough. Small enough to keep the
/// 100 ms status-push promise.
const COALESCE: Duration = Duration::from_millis(15);

/// Opens the kernel's change socket. Fails only if the kernel refuses it.
pub fn open() -> std::io::Result<OwnedFd> {
    platform::open_change_socket()
}

/// Forwards change bursts to `tx` until the receiver is gone.
pub async fn run(fd: OwnedFd, tx: mpsc::Sender<()>) -> std::io::Result<()> {
    crate::bursts::forward(fd, COALESCE, tx).await
}

/// Sends `()` on `tx` whenever the system's resolver settings change,
/// which no routing message announces (Linux: `resolv_watch_linux.rs`).
/// macOS: not built; its resolvers are read again on every routing
/// change, and the DNS configuration's own notification is not watched.
pub async fn watch_resolvers(tx: mpsc::Sender<()>) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    return super::resolv_watch_linux::run(COALESCE, tx).await;
    #[cfg(not(target_os = "linux"))]
    {
        drop(tx);
        Ok(())
    }
}
