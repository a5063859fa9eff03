//! One forwarded query: ask the network's resolvers in turn, check the
//! answer, have the engine pin its addresses, then give it to the asker.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use airlock_shared::dns::{self, check_upstream, Query, Rcode, MAX_MESSAGE_LEN};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::{Config, PinRequest};

/// At most this many of the network's resolvers are tried per query.
pub(super) const MAX_UPSTREAMS: usize = 3;

/// The reply for the asker: the relayed answer, or SERVFAIL when no
/// resolver answered or the pin could not be made.
pub async fn answer(
    packet: &[u8],
    query: &Query,
    upstreams: &[IpAddr],
    pins: &mpsc::Sender<PinRequest>,
    config: &Config,
) -> Vec<u8> {
    for &up in upstreams.iter().take(MAX_UPSTREAMS) {
        let server = SocketAddr::new(up, config.upstream_port);
        let (bytes, checked) = match ask(packet, query, server, config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    "resolver: {server} did not answer for {}: {e}",
                    query.question.name
                );
                continue;
            }
        };
        // More addresses than may be pinned: the asker gets only the pinned
        // ones, so it cannot pick one the firewall refuses.
        let reply = if checked.omitted > 0 {
            tracing::info!(
                "resolver: {} has {} addresses more than the {} pinned; answering with those",
                query.question.name,
                checked.omitted,
                dns::MAX_ADDRESSES
            );
            dns::addresses(query, &checked.addresses)
        } else {
            dns::relay(&bytes, query.header.id)
        };
        let (done, pinned) = oneshot::channel();
        let request = PinRequest {
            name: query.question.name.clone(),
            answer: checked,
            done,
        };
        if pins.send(request).await.is_err() {
            break;
        }
        return match pinned.await {
            Ok(Ok(())) => reply,
            Ok(Err(e)) => {
                tracing::warn!(
                    "resolver: could not pin the addresses of {}: {e}",
                    query.question.name
                );
                dns::with_rcode(query, Rcode::ServFail)
            }
            Err(_) => dns::with_rcode(query, Rcode::ServFail),
        };
    }
    dns::with_rcode(query, Rcode::ServFail)
}

/// Sends the asker's query under an id of our own to `server` and waits
/// for a checked answer.
pub(super) async fn ask(
    packet: &[u8],
    query: &Query,
    server: SocketAddr,
    config: &Config,
) -> std::io::Result<(Vec<u8>, dns::UpstreamAnswer)> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    if let Some(mark) = config.mark {
        set_mark(&socket, mark)?;
    }
    socket.connect(server).await?;
    let id = random_id();
    let mut out = packet.to_vec();
    out[..2].copy_from_slice(&id.to_be_bytes());
    socket.send(&out).await?;
    let mut buf = vec![0u8; MAX_MESSAGE_LEN + 1];
    let deadline = tokio::time::Instant::now() + config.upstream_timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        // A datagram that is not the answer (wrong id, wrong question,
        // garbage) is ignored: an off-path forger must not end the wait.
        if let Ok(checked) = check_upstream(&buf[..n], id, &query.question) {
            return Ok((buf[..n].to_vec(), checked));
        }
    }
}

#[cfg(target_os = "linux")]
fn set_mark(socket: &UdpSocket, mark: u32) -> std::io::Result<()> {
    super::mark_linux::set(socket, mark)
}

/// macOS has no socket marks; its pf rules would match the helper's
/// user instead (not built yet).
#[cfg(not(target_os = "linux"))]
fn set_mark(_socket: &UdpSocket, _mark: u32) -> std::io::Result<()> {
    Ok(())
}

/// An unpredictable query id (SipHash keyed from the OS's randomness),
/// so an off-path forger must guess it as well as the source port.
fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u16
}
