//! The filtering resolver: a DNS listener on loopback, active while the
//! kill switch is blocking. Network-check names get the placeholder at
//! once; VPN server names are forwarded to the network's own resolvers and
//! every address in the answer is pinned through the engine *before* the
//! answer is relayed; everything else is refused without leaving the
//! machine. All decisions are `airlock_shared::dns`'s; this module only
//! moves packets.
//!
//! Bounded: one datagram buffer, at most [`MAX_IN_FLIGHT`] forwarded
//! queries at once (more are answered SERVFAIL at once), a timeout per
//! upstream, and drop logging that cannot flood the log.

mod forward;
mod lookup;
#[cfg(target_os = "linux")]
mod mark_linux;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use airlock_shared::dns::{
    self, decide, parse_query, Decision, Name, Rcode, UpstreamAnswer, MAX_MESSAGE_LEN,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

pub use crate::engine::ResolverView;
pub use lookup::resolve_host;

/// Where the resolver listens; the nft redirect points here.
pub const LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5354);
/// The firewall mark on the resolver's own upstream sockets: the only DNS
/// the Linux rules let out while blocking ("AL" in ASCII).
pub const UPSTREAM_MARK: u32 = 0x414c;
/// Forwarded queries in flight at once.
pub const MAX_IN_FLIGHT: usize = 32;

/// How the resolver reaches upstream; tests point it at loopback.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port of the network's resolvers (53; tests use another).
    pub upstream_port: u16,
    pub upstream_timeout: Duration,
    /// `SO_MARK` for upstream sockets (Linux); `None` in tests.
    pub mark: Option<u32>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            upstream_port: 53,
            upstream_timeout: Duration::from_secs(2),
            mark: Some(UPSTREAM_MARK),
        }
    }
}

/// "Pin these addresses, and tell me when the kernel holds them."
pub struct PinRequest {
    pub name: Name,
    pub answer: UpstreamAnswer,
    pub done: oneshot::Sender<Result<(), String>>,
}

/// Counts dropped packets and logs the first few and then one in 1000, so
/// a flood cannot fill the log.
#[derive(Default)]
struct DropLog {
    count: u64,
}

impl DropLog {
    fn note(&mut self, from: SocketAddr, why: &dyn std::fmt::Display) {
        self.count += 1;
        if self.count <= 10 || self.count.is_multiple_of(1000) {
            tracing::warn!(
                "resolver dropped a packet from {from}: {why} ({} dropped so far)",
                self.count
            );
        }
    }
}

/// Serves DNS on `socket` until it fails.
pub async fn serve(
    socket: UdpSocket,
    view: watch::Receiver<ResolverView>,
    pins: mpsc::Sender<PinRequest>,
    config: Config,
) -> std::io::Result<()> {
    let socket = Arc::new(socket);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // One byte more than the largest message accepted, to tell "exactly
    // the limit" from "cut off by the buffer".
    let mut buf = vec![0u8; MAX_MESSAGE_LEN + 1];
    let mut drops = DropLog::default();
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        let packet = &buf[..n];
        let query = match parse_query(packet) {
            Ok(q) => q,
            Err(e) => {
                drops.note(from, &e);
                continue;
            }
        };
        let v = view.borrow().clone();
        let decision = if v.active {
            decide(&query.question, &v.names)
        } else {
            Decision::Refuse
        };
        let reply = match decision {
            Decision::Placeholder => dns::placeholder(&query),
            Decision::Empty => dns::empty(&query),
            Decision::Refuse => dns::refused(&query),
            Decision::Forward => {
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    drops.note(from, &"too many forwarded queries in flight");
                    let _ = socket
                        .send_to(&dns::with_rcode(&query, Rcode::ServFail), from)
                        .await;
                    continue;
                };
                let socket = socket.clone();
                let pins = pins.clone();
                let config = config.clone();
                let packet = packet.to_vec();
                tokio::spawn(async move {
                    let reply =
                        forward::answer(&packet, &query, &v.upstreams, &pins, &config).await;
                    let _ = socket.send_to(&reply, from).await;
                    drop(permit);
                });
                continue;
            }
        };
        let _ = socket.send_to(&reply, from).await;
    }
}
