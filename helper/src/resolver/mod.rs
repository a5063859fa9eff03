//! The filtering resolver: a DNS listener on loopback, active while the
//! kill switch is blocking. Network-check names get the placeholder at
//! once; VPN server names are forwarded to the network's own resolvers and
//! every address in the answer is pinned through the engine *before* the
//! answer is relayed; everything else is refused without leaving the
//! machine. All decisions are `airlock_shared::dns`'s; this module only
//! moves packets.
//!
//! It listens on UDP and TCP, on 127.0.0.1 and ::1 ([`LISTEN`]): the nft
//! redirect sends IPv4 DNS to the first and IPv6 DNS to the second, and
//! stubs retry over TCP when an answer is truncated.
//!
//! Bounded: one datagram buffer per UDP socket, at most [`MAX_IN_FLIGHT`]
//! forwarded queries at once per listener (more are answered SERVFAIL at
//! once), a timeout per upstream, TCP connections capped in number and
//! time ([`tcp`]), and drop logging that cannot flood the log.

mod forward;
mod lookup;
#[cfg(target_os = "linux")]
mod mark_linux;
mod tcp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tcp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use airlock_shared::dns::{
    self, decide, parse_query, Decision, Name, Query, Rcode, UpstreamAnswer, MAX_MESSAGE_LEN,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

pub use crate::engine::ResolverView;
pub use lookup::resolve_host;
pub use tcp::serve_tcp;

/// Where the resolver listens, UDP and TCP; the nft redirect points here
/// (IPv4 to 127.0.0.1, IPv6 to ::1).
pub const LISTEN: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), PORT),
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), PORT),
];
/// Linux: [`dns::RESOLVER_PORT`], where the nft redirect sends DNS (not 53,
/// so it never competes with a local stub resolver).
#[cfg(not(target_os = "macos"))]
const PORT: u16 = dns::RESOLVER_PORT;
/// macOS: the DNS switch points the system's resolvers at 127.0.0.1 and
/// SystemConfiguration has no verified way to name another port, so the
/// resolver takes 53 (mDNSResponder does not bind it; see
/// `airlock_shared::dns_switch`).
#[cfg(target_os = "macos")]
const PORT: u16 = 53;
/// The firewall mark on the resolver's own upstream sockets: the only DNS
/// the Linux rules let out while blocking ("AL" in ASCII).
pub const UPSTREAM_MARK: u32 = 0x414c;
/// Forwarded queries in flight at once.
pub const MAX_IN_FLIGHT: usize = 32;

/// How the resolver reaches upstream and how long it waits for TCP
/// clients; tests point it at loopback and shorten the waits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port of the network's resolvers (53; tests use another).
    pub upstream_port: u16,
    pub upstream_timeout: Duration,
    /// `SO_MARK` for upstream sockets (Linux); `None` in tests.
    pub mark: Option<u32>,
    /// Time a TCP client has to deliver each whole query.
    pub tcp_query_timeout: Duration,
    /// Time after which a TCP connection takes no further query.
    pub tcp_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            upstream_port: 53,
            upstream_timeout: Duration::from_secs(2),
            mark: Some(UPSTREAM_MARK),
            tcp_query_timeout: dns::TCP_QUERY_TIMEOUT,
            tcp_lifetime: dns::TCP_CONNECTION_LIFETIME,
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
/// a flood cannot fill the log. Shared by the tasks of one listener.
#[derive(Default)]
struct DropLog {
    count: std::sync::atomic::AtomicU64,
}

impl DropLog {
    fn note(&self, from: SocketAddr, why: &dyn std::fmt::Display) {
        let count = self
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if count <= 10 || count.is_multiple_of(1000) {
            tracing::warn!("resolver dropped a packet from {from}: {why} ({count} dropped so far)");
        }
    }
}

/// The answer given without asking anyone, or `None` when the question
/// is forwarded (a VPN server's name while blocking).
fn immediate(query: &Query, view: &ResolverView) -> Option<Vec<u8>> {
    let decision = if view.active {
        decide(&query.question, &view.names)
    } else {
        Decision::Refuse
    };
    match decision {
        Decision::Placeholder => Some(dns::placeholder(query)),
        Decision::Empty => Some(dns::empty(query)),
        Decision::Refuse => Some(dns::refused(query)),
        Decision::Forward => None,
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
    let drops = DropLog::default();
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
        if let Some(reply) = immediate(&query, &v) {
            let _ = socket.send_to(&reply, from).await;
            continue;
        }
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
            let reply = forward::answer(&packet, &query, &v.upstreams, &pins, &config).await;
            let _ = socket.send_to(&reply, from).await;
            drop(permit);
        });
    }
}
