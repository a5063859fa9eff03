//! Network change notifications, event-driven: the kernel tells us when
//! links, addresses or routes change (rtnetlink on Linux, a PF_ROUTE socket
//! on macOS); there is no polling loop. Each burst of kernel messages
//! becomes one `()` on the channel; the engine then takes a fresh snapshot
//! and decides whether anything that matters changed.

use std::os::fd::OwnedFd;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
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
    // SAFETY: an OwnedFd stays open and keeps referring to the same socket
    // for as long as the AsyncFd owns it, which is all `register` asks.
    let afd = unsafe { AsyncFd::register(fd) }?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        drain(&afd, &mut buf).await?;
        // Let the rest of the burst arrive, then swallow it too.
        tokio::time::sleep(COALESCE).await;
        drain_ready(&afd, &mut buf)?;
        if tx.send(()).await.is_err() {
            return Ok(());
        }
    }
}

/// Waits until at least one message arrived and reads everything queued.
async fn drain(afd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> std::io::Result<()> {
    loop {
        let mut guard = afd.readable().await?;
        match guard.try_io(|inner| platform::read_nonblocking(inner.get_ref(), buf)) {
            Ok(Ok(_)) => {
                drain_ready(afd, buf)?;
                return Ok(());
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

fn drain_ready(afd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> std::io::Result<()> {
    loop {
        match platform::read_nonblocking(afd.get_ref(), buf) {
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            // The kernel dropped messages because we were slow: a fresh
            // snapshot covers whatever we missed.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
            Err(e) => return Err(e),
        }
    }
}
