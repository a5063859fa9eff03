//! Kernel event sockets to notifications: each burst of messages on a
//! non-blocking socket becomes one `()` on a channel. Shared by the
//! network monitor (rtnetlink, PF_ROUTE) and the tamper watch (nftables'
//! netlink events): both only need to know *that* something changed, and
//! then look afresh.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// Forwards bursts to `tx` until the receiver is gone. Messages arriving
/// within `coalesce` of the first are swallowed with it.
pub async fn forward(fd: OwnedFd, coalesce: Duration, tx: mpsc::Sender<()>) -> std::io::Result<()> {
    // SAFETY: an OwnedFd stays open and keeps referring to the same socket
    // for as long as the AsyncFd owns it, which is all `register` asks.
    let afd = unsafe { AsyncFd::register(fd) }?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        drain(&afd, &mut buf).await?;
        // Let the rest of the burst arrive, then swallow it too.
        tokio::time::sleep(coalesce).await;
        drain_ready(&afd, &mut buf)?;
        if tx.send(()).await.is_err() {
            return Ok(());
        }
    }
}

fn read(fd: &OwnedFd, buf: &mut [u8]) -> std::io::Result<usize> {
    Ok(nix::unistd::read(fd.as_raw_fd(), buf)?)
}

/// Waits until at least one message arrived and reads everything queued.
async fn drain(afd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> std::io::Result<()> {
    loop {
        let mut guard = afd.readable().await?;
        match guard.try_io(|inner| read(inner.get_ref(), buf)) {
            Ok(Ok(_)) => {
                drain_ready(afd, buf)?;
                return Ok(());
            }
            // The kernel dropped messages because we were slow: that is
            // news too, and a fresh look covers whatever was missed.
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
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
        match read(afd.get_ref(), buf) {
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
            Err(e) => return Err(e),
        }
    }
}
