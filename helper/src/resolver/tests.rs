//! The resolver over real UDP sockets on loopback, with a stand-in for
//! the network's resolver (also on loopback) and for the engine's pinning.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airlock_shared::dns::{
    parse_query, Header, Name, Rcode, ResolverNames, PLACEHOLDER_V4, TYPE_A,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::*;

pub(super) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    airlock_shared::dns::query(id, &Name::from_dotted(name).unwrap(), qtype)
}

/// What the upstream stand-in saw, and when the pins were made.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) upstream_queries: Vec<Vec<u8>>,
    pub(super) pinned: Vec<(String, Vec<IpAddr>, Instant)>,
}

pub(super) struct Rig {
    pub(super) resolver: SocketAddr,
    /// The same resolver's TCP listener: at most [`RIG_TCP_CONNECTIONS`]
    /// at once, [`RIG_TCP_QUERY_TIMEOUT`] per query, 2 s per connection.
    pub(super) tcp: SocketAddr,
    pub(super) seen: Arc<Mutex<Seen>>,
    _view: watch::Sender<ResolverView>,
}

pub(super) const RIG_TCP_CONNECTIONS: usize = 2;
pub(super) const RIG_TCP_QUERY_TIMEOUT: Duration = Duration::from_millis(300);

/// Starts a resolver, an upstream that answers every A query with
/// 10.9.1.2 (and AAAA with 2001:db8::9, truncated), and a pinner that
/// takes `pin_delay` and then says `pin_ok`.
pub(super) async fn rig(active: bool, pin_delay: Duration, pin_ok: bool) -> Rig {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let s = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let (n, from) = upstream.recv_from(&mut buf).await.unwrap();
            s.lock().unwrap().upstream_queries.push(buf[..n].to_vec());
            let parsed = parse_query(&buf[..n]);
            let aaaa =
                parsed.as_ref().map(|q| q.question.qtype) == Ok(airlock_shared::dns::TYPE_AAAA);
            let big = parsed
                .as_ref()
                .is_ok_and(|q| q.question.name.to_string() == "big.lab.test");
            let mut m = buf[..n].to_vec();
            m[2] |= 0x80;
            m[3] |= 0x80;
            m[7] = 1;
            if big {
                // More addresses than one answer may pin.
                m[7] = 20;
                for i in 0..20u8 {
                    m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 9, 2, i]);
                }
            } else if aaaa {
                // AAAA: one address, and the TC bit, as a resolver whose
                // answer did not fit sends it.
                m[2] |= 0x02;
                m.extend_from_slice(&[0xC0, 12, 0, 28, 0, 1, 0, 0, 1, 44, 0, 16]);
                m.extend_from_slice(
                    &"2001:db8::9"
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap()
                        .octets(),
                );
            } else {
                m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 9, 1, 2]);
            }
            upstream.send_to(&m, from).await.unwrap();
        }
    });
    let (pin_tx, mut pin_rx) = mpsc::channel::<PinRequest>(4);
    let s = seen.clone();
    tokio::spawn(async move {
        while let Some(r) = pin_rx.recv().await {
            tokio::time::sleep(pin_delay).await;
            let addrs = r.answer.addresses.iter().map(|(a, _)| *a).collect();
            s.lock()
                .unwrap()
                .pinned
                .push((r.name.to_string(), addrs, Instant::now()));
            let _ = r.done.send(if pin_ok { Ok(()) } else { Err("no".into()) });
        }
    });
    let names = ResolverNames {
        network_check: vec![Name::from_dotted("captive.apple.com").unwrap()],
        vpn_servers: vec![
            Name::from_dotted("vpn.lab.test").unwrap(),
            Name::from_dotted("big.lab.test").unwrap(),
        ],
    };
    let (view_tx, view_rx) = watch::channel(ResolverView {
        active,
        names,
        upstreams: vec!["127.0.0.1".parse().unwrap()],
    });
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let resolver = socket.local_addr().unwrap();
    let config = Config {
        upstream_port,
        upstream_timeout: Duration::from_secs(1),
        mark: None,
        tcp_query_timeout: RIG_TCP_QUERY_TIMEOUT,
        tcp_lifetime: Duration::from_secs(2),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = listener.local_addr().unwrap();
    let connections = Arc::new(Semaphore::new(RIG_TCP_CONNECTIONS));
    tokio::spawn(serve_tcp(
        listener,
        connections,
        view_rx.clone(),
        pin_tx.clone(),
        config.clone(),
    ));
    tokio::spawn(serve(socket, view_rx, pin_tx, config));
    Rig {
        resolver,
        tcp,
        seen,
        _view: view_tx,
    }
}

async fn ask(to: SocketAddr, bytes: &[u8]) -> Option<(Vec<u8>, Duration)> {
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let t = Instant::now();
    c.send_to(bytes, to).await.unwrap();
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(Duration::from_millis(1500), c.recv(&mut buf)).await {
        Ok(Ok(n)) => Some((buf[..n].to_vec(), t.elapsed())),
        _ => None,
    }
}

pub(super) fn rcode(m: &[u8]) -> Rcode {
    Header::read(m).unwrap().rcode()
}

#[tokio::test]
async fn the_network_check_is_answered_at_once_without_asking_upstream() {
    let r = rig(true, Duration::ZERO, true).await;
    let q = query(0x0102, "Captive.Apple.com", TYPE_A);
    let (m, took) = ask(r.resolver, &q).await.expect("an answer");
    eprintln!("network-check answer over loopback UDP took {took:?}");
    let parsed = parse_query(&q).unwrap();
    let a = airlock_shared::dns::check_upstream(&m, 0x0102, &parsed.question).unwrap();
    assert_eq!(a.addresses[0].0, IpAddr::V4(PLACEHOLDER_V4));
    assert!(r.seen.lock().unwrap().upstream_queries.is_empty());
}

#[tokio::test]
async fn other_names_are_refused_and_nothing_goes_upstream() {
    let r = rig(true, Duration::ZERO, true).await;
    let (m, _) = ask(r.resolver, &query(5, "example.com", TYPE_A))
        .await
        .unwrap();
    assert_eq!(rcode(&m), Rcode::Refused);
    let seen = r.seen.lock().unwrap();
    assert!(seen.upstream_queries.is_empty() && seen.pinned.is_empty());
}

#[tokio::test]
async fn a_vpn_name_is_pinned_before_the_answer_is_relayed() {
    let delay = Duration::from_millis(80);
    let r = rig(true, delay, true).await;
    let (m, took) = ask(r.resolver, &query(0x7777, "vpn.lab.test", TYPE_A))
        .await
        .unwrap();
    let got = Instant::now();
    assert_eq!(m[..2], [0x77, 0x77], "the asker's id comes back");
    assert_eq!(rcode(&m), Rcode::NoError);
    assert!(took >= delay, "answer came before the pin was made");
    let seen = r.seen.lock().unwrap();
    assert_eq!(seen.pinned.len(), 1);
    let (name, addrs, at) = &seen.pinned[0];
    assert_eq!(name, "vpn.lab.test");
    assert_eq!(addrs, &["10.9.1.2".parse::<IpAddr>().unwrap()]);
    assert!(*at <= got);
    // Upstream saw the question under an id of the resolver's own.
    assert_eq!(seen.upstream_queries.len(), 1);
    assert_eq!(
        seen.upstream_queries[0][12..],
        query(0, "vpn.lab.test", TYPE_A)[12..]
    );
}

/// An answer with more addresses than one answer may pin reaches the
/// asker holding only the pinned ones: it cannot pick one the firewall
/// refuses.
#[tokio::test]
async fn an_answer_with_more_addresses_than_pinned_is_trimmed_to_the_pinned() {
    let r = rig(true, Duration::ZERO, true).await;
    let (m, _) = ask(r.resolver, &query(0x4242, "big.lab.test", TYPE_A))
        .await
        .unwrap();
    assert_eq!(m[..2], [0x42, 0x42]);
    assert_eq!(rcode(&m), Rcode::NoError);
    let q = parse_query(&query(0x4242, "big.lab.test", TYPE_A)).unwrap();
    let got = airlock_shared::dns::check_upstream(&m, 0x4242, &q.question).unwrap();
    let seen = r.seen.lock().unwrap();
    let (_, pinned, _) = &seen.pinned[0];
    assert_eq!(pinned.len(), airlock_shared::dns::MAX_ADDRESSES);
    let answered: Vec<IpAddr> = got.addresses.iter().map(|(a, _)| *a).collect();
    assert_eq!(&answered, pinned, "every answered address is pinned");
    assert_eq!(got.omitted, 0);
}

#[tokio::test]
async fn a_failed_pin_is_servfail_not_an_address_the_firewall_refuses() {
    let r = rig(true, Duration::ZERO, false).await;
    let (m, _) = ask(r.resolver, &query(9, "vpn.lab.test", TYPE_A))
        .await
        .unwrap();
    assert_eq!(rcode(&m), Rcode::ServFail);
    assert_eq!(Header::read(&m).unwrap().ancount, 0);
}

#[tokio::test]
async fn while_not_blocking_everything_is_refused() {
    let r = rig(false, Duration::ZERO, true).await;
    for n in ["captive.apple.com", "vpn.lab.test"] {
        let (m, _) = ask(r.resolver, &query(9, n, TYPE_A)).await.unwrap();
        assert_eq!(rcode(&m), Rcode::Refused, "{n}");
    }
    assert!(r.seen.lock().unwrap().upstream_queries.is_empty());
}

#[tokio::test]
async fn garbage_is_dropped_and_the_resolver_keeps_serving() {
    let r = rig(true, Duration::ZERO, true).await;
    let mut looped = query(1, "a.b", TYPE_A);
    looped.truncate(12);
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    for junk in [vec![], vec![0; 5], looped, vec![0xFF; 5000]] {
        assert!(
            ask(r.resolver, &junk).await.is_none(),
            "{} bytes answered",
            junk.len()
        );
    }
    let (m, _) = ask(r.resolver, &query(2, "captive.apple.com", TYPE_A))
        .await
        .expect("still serving");
    assert_eq!(rcode(&m), Rcode::NoError);
}

/// An upstream that answers A queries for any name with 10.9.1.2 and
/// AAAA with an empty NOERROR; returns its port and the qtypes it saw.
async fn a_only_upstream() -> (u16, Arc<Mutex<Vec<u16>>>) {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = upstream.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let (n, from) = upstream.recv_from(&mut buf).await.unwrap();
            let q = parse_query(&buf[..n]).unwrap();
            s.lock().unwrap().push(q.question.qtype);
            let mut m = buf[..n].to_vec();
            m[2] |= 0x80;
            m[3] |= 0x80;
            if q.question.qtype == TYPE_A {
                m[7] = 1;
                m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 9, 1, 2]);
            }
            upstream.send_to(&m, from).await.unwrap();
        }
    });
    (port, seen)
}

#[tokio::test]
async fn while_blocking_a_name_is_resolved_through_the_networks_resolvers() {
    let (port, seen) = a_only_upstream().await;
    let config = Config {
        upstream_port: port,
        upstream_timeout: Duration::from_millis(500),
        mark: None,
        ..Config::default()
    };
    let up: IpAddr = "127.0.0.1".parse().unwrap();
    let found = resolve_host("vpn.lab.test", true, &[up], &config)
        .await
        .unwrap();
    assert_eq!(found, ["10.9.1.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(
        *seen.lock().unwrap(),
        [TYPE_A, airlock_shared::dns::TYPE_AAAA]
    );
    // No resolvers known: a clear error, nothing sent.
    let e = resolve_host("vpn.lab.test", true, &[], &config)
        .await
        .unwrap_err();
    assert!(e.contains("no resolvers"), "{e}");
    assert!(resolve_host("bad..name", true, &[up], &config)
        .await
        .is_err());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_silent_resolver_is_a_clear_failure_within_the_timeout() {
    // Bound, never answering.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        upstream_port: silent.local_addr().unwrap().port(),
        upstream_timeout: Duration::from_millis(200),
        mark: None,
        ..Config::default()
    };
    let t = Instant::now();
    let e = resolve_host(
        "vpn.lab.test",
        true,
        &["127.0.0.1".parse().unwrap()],
        &config,
    )
    .await
    .unwrap_err();
    assert!(e.contains("no resolver answered"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2));
}
