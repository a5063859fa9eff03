//! DNS over TCP on the resolver's loopback ports (RFC 1035 §4.2.2): stub
//! resolvers retry a truncated answer over TCP, and some clients use TCP
//! 53 directly; the nft redirect sends both here while blocking.
//!
//! Every connection comes from any local process, so each is bounded:
//! its length prefix ([`dns::frame_len`]: 12 to 4096 bytes, else the
//! connection is closed), the time to deliver each query
//! ([`Config::tcp_query_timeout`]), its lifetime
//! ([`Config::tcp_lifetime`]) and the number of connections at once
//! (a semaphore the caller shares across listeners, normally
//! [`dns::MAX_TCP_CONNECTIONS`]).
//!
//! A forwarded name goes upstream over UDP, as from the UDP listener, and
//! a truncated upstream answer is relayed as it came, TC bit set (see
//! docs/security.md, "filtering resolver").

use std::net::SocketAddr;
use std::sync::Arc;

use airlock_shared::dns::{self, frame, frame_len, parse_query, ParseError, Rcode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{timeout_at, Instant};

use super::{forward, immediate, Config, DropLog, PinRequest, ResolverView, MAX_IN_FLIGHT};

/// Why a connection was closed before its client closed it.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("no whole query within {0:?}")]
    TimedOut(std::time::Duration),
}

/// Accepts connections on `listener` until it fails; `connections` caps
/// how many are served at once (a connection over the cap is closed at
/// once, so its client fails fast).
pub async fn serve_tcp(
    listener: TcpListener,
    connections: Arc<Semaphore>,
    view: watch::Receiver<ResolverView>,
    pins: mpsc::Sender<PinRequest>,
    config: Config,
) -> std::io::Result<()> {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let drops = Arc::new(DropLog::default());
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(c) => c,
            // Out of descriptors or a connection reset while queued: the
            // listener is fine; pause so a persistent error cannot spin.
            Err(e) => {
                drops.note(listener.local_addr()?, &format!("accept: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            drops.note(from, &"too many TCP connections at once; closed");
            drop(stream);
            continue;
        };
        let (view, pins, config) = (view.clone(), pins.clone(), config.clone());
        let (in_flight, drops) = (in_flight.clone(), drops.clone());
        tokio::spawn(async move {
            if let Err(why) = connection(stream, from, &view, &pins, &config, &in_flight).await {
                drops.note(from, &format!("TCP connection closed: {why}"));
            }
            drop(slot);
        });
    }
}

/// Serves one connection, query after query, until the client closes it,
/// its lifetime is over, or it misbehaves.
async fn connection(
    mut stream: TcpStream,
    from: SocketAddr,
    view: &watch::Receiver<ResolverView>,
    pins: &mpsc::Sender<PinRequest>,
    config: &Config,
    in_flight: &Arc<Semaphore>,
) -> Result<(), Closed> {
    let end = Instant::now() + config.tcp_lifetime;
    let mut buf = vec![0u8; dns::MAX_MESSAGE_LEN];
    loop {
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        let deadline = (now + config.tcp_query_timeout).min(end);
        let timed_out = || Closed::TimedOut(config.tcp_query_timeout);
        let mut prefix = [0u8; dns::TCP_LEN_PREFIX];
        // The client closing before a new prefix is the normal end.
        let first = timeout_at(deadline, stream.read(&mut prefix[..1]))
            .await
            .map_err(|_| timed_out())??;
        if first == 0 {
            return Ok(());
        }
        timeout_at(deadline, stream.read_exact(&mut prefix[1..]))
            .await
            .map_err(|_| timed_out())??;
        let len = frame_len(prefix)?;
        timeout_at(deadline, stream.read_exact(&mut buf[..len]))
            .await
            .map_err(|_| timed_out())??;
        let query = parse_query(&buf[..len])?;
        let v = view.borrow().clone();
        let reply = match immediate(&query, &v) {
            Some(r) => r,
            None => match in_flight.clone().try_acquire_owned() {
                Ok(_permit) => {
                    forward::answer(&buf[..len], &query, &v.upstreams, pins, config).await
                }
                Err(_) => {
                    tracing::warn!("resolver: too many forwarded queries in flight ({from})");
                    dns::with_rcode(&query, Rcode::ServFail)
                }
            },
        };
        // Our own answers and relayed ones are at most MAX_MESSAGE_LEN.
        let Some(framed) = frame(&reply) else {
            return Err(ParseError::Oversized.into());
        };
        let write_by = Instant::now() + config.tcp_query_timeout;
        timeout_at(write_by, stream.write_all(&framed))
            .await
            .map_err(|_| timed_out())??;
    }
}
