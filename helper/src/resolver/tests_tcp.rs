//! The resolver's TCP listener over real loopback sockets: RFC 1035
//! §4.2.2 framing, and every way a local client can misbehave (a cut
//! length prefix, an oversized one, a slowloris, too many connections).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use airlock_shared::dns::{check_upstream, parse_query, Header, Rcode, PLACEHOLDER_V4, TYPE_A};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tests::{query, rcode, rig, RIG_TCP_CONNECTIONS, RIG_TCP_QUERY_TIMEOUT};

fn framed(m: &[u8]) -> Vec<u8> {
    airlock_shared::dns::frame(m).unwrap()
}

/// Reads one framed answer, or `None` when the resolver closed the
/// connection (or sent nothing within 2 s).
async fn read_answer(s: &mut TcpStream) -> Option<Vec<u8>> {
    let read = async {
        let mut p = [0u8; 2];
        s.read_exact(&mut p).await.ok()?;
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(p))];
        s.read_exact(&mut m).await.ok()?;
        Some(m)
    };
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .ok()
        .flatten()
}

/// Whether the resolver closed `s` (EOF or reset) within `within`, and
/// when.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut b = [0u8; 64];
    match tokio::time::timeout(within, s.read(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Some(t.elapsed()),
        _ => None,
    }
}

#[tokio::test]
async fn the_network_check_is_answered_over_tcp_and_two_queries_share_a_connection() {
    let r = rig(true, Duration::ZERO, true).await;
    let t = Instant::now();
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    // Both queries in one write: a client may pipeline (RFC 7766 §6.2.1).
    let mut both = framed(&query(0x0101, "captive.apple.com", TYPE_A));
    both.extend(framed(&query(0x0202, "example.com", TYPE_A)));
    s.write_all(&both).await.unwrap();
    let first = read_answer(&mut s).await.expect("an answer");
    let took = t.elapsed();
    let second = read_answer(&mut s).await.expect("a second answer");
    eprintln!("network-check answer over loopback TCP (connect included) took {took:?}");
    let q = parse_query(&query(0x0101, "captive.apple.com", TYPE_A)).unwrap();
    let a = check_upstream(&first, 0x0101, &q.question).unwrap();
    assert_eq!(a.addresses[0].0, IpAddr::V4(PLACEHOLDER_V4));
    assert_eq!(second[..2], [2, 2]);
    assert_eq!(rcode(&second), Rcode::Refused);
    assert!(r.seen.lock().unwrap().upstream_queries.is_empty());
    // The client closing is the normal end; the listener keeps serving.
    drop(s);
    let mut again = TcpStream::connect(r.tcp).await.unwrap();
    again
        .write_all(&framed(&query(3, "captive.apple.com", TYPE_A)))
        .await
        .unwrap();
    assert!(read_answer(&mut again).await.is_some());
}

#[tokio::test]
async fn a_vpn_name_over_tcp_is_forwarded_and_pinned_before_the_answer() {
    let delay = Duration::from_millis(80);
    let r = rig(true, delay, true).await;
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    let t = Instant::now();
    s.write_all(&framed(&query(0x5151, "vpn.lab.test", TYPE_A)))
        .await
        .unwrap();
    let m = read_answer(&mut s).await.expect("an answer");
    assert!(t.elapsed() >= delay, "answer came before the pin was made");
    assert_eq!(m[..2], [0x51, 0x51]);
    assert_eq!(rcode(&m), Rcode::NoError);
    let seen = r.seen.lock().unwrap();
    assert_eq!(seen.pinned.len(), 1);
    assert_eq!(seen.pinned[0].1, ["10.9.1.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(seen.upstream_queries.len(), 1, "went upstream once (UDP)");
}

/// Connects, sends `bytes`, and says whether the resolver closed the
/// connection without answering, and how fast.
async fn sends_and_is_closed(to: SocketAddr, bytes: &[u8], within: Duration) -> Option<Duration> {
    let mut s = TcpStream::connect(to).await.unwrap();
    s.write_all(bytes).await.unwrap();
    closed_within(&mut s, within).await
}

#[tokio::test]
async fn bad_prefixes_and_bad_messages_close_the_connection_without_an_answer() {
    let r = rig(true, Duration::ZERO, true).await;
    let long = Duration::from_secs(2);
    // Announces 65535 bytes: not read at all, closed at once.
    let mut oversized = vec![0xFF, 0xFF];
    oversized.extend_from_slice(&query(1, "captive.apple.com", TYPE_A));
    let took = sends_and_is_closed(r.tcp, &oversized, long).await;
    eprintln!("oversized length prefix: closed after {took:?}");
    assert!(took.expect("closed") < RIG_TCP_QUERY_TIMEOUT);
    // 4097: one over the limit.
    let took = sends_and_is_closed(r.tcp, &[0x10, 0x01, 0, 0], long).await;
    assert!(took.expect("closed") < RIG_TCP_QUERY_TIMEOUT);
    // Shorter than a header.
    let took = sends_and_is_closed(r.tcp, &[0, 5, 1, 2, 3, 4, 5], long).await;
    assert!(took.expect("closed") < RIG_TCP_QUERY_TIMEOUT);
    // A well-framed message that is not a query.
    let took = sends_and_is_closed(r.tcp, &framed(&[0xFF; 40]), long).await;
    assert!(took.expect("closed") < RIG_TCP_QUERY_TIMEOUT);
    // Half a length prefix, then nothing: closed when the query's time is up.
    let took = sends_and_is_closed(r.tcp, &[0], long)
        .await
        .expect("closed");
    eprintln!("half a length prefix: closed after {took:?}");
    assert!(took >= RIG_TCP_QUERY_TIMEOUT - Duration::from_millis(50));
    // A prefix promising more than comes: the same.
    let mut cut = framed(&query(2, "captive.apple.com", TYPE_A));
    cut.truncate(10);
    let took = sends_and_is_closed(r.tcp, &cut, long)
        .await
        .expect("closed");
    assert!(took >= RIG_TCP_QUERY_TIMEOUT - Duration::from_millis(50));
    // Still serving, and nothing of the above went upstream.
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    s.write_all(&framed(&query(3, "captive.apple.com", TYPE_A)))
        .await
        .unwrap();
    assert_eq!(rcode(&read_answer(&mut s).await.unwrap()), Rcode::NoError);
    assert!(r.seen.lock().unwrap().upstream_queries.is_empty());
}

#[tokio::test]
async fn a_slowloris_loses_its_connection_when_the_query_time_is_up() {
    let r = rig(true, Duration::ZERO, true).await;
    let q = framed(&query(4, "captive.apple.com", TYPE_A));
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    let t = Instant::now();
    // One byte every 50 ms: each read succeeds, the whole query never
    // arrives within the time it has.
    let mut closed = false;
    for b in &q {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        if closed_within(&mut s, Duration::from_millis(50))
            .await
            .is_some()
        {
            closed = true;
            break;
        }
    }
    let took = t.elapsed();
    eprintln!(
        "slowloris (1 byte per 50 ms, {} bytes to send): closed after {took:?}",
        q.len()
    );
    assert!(closed, "the trickled query was served after {took:?}");
    assert!(took < RIG_TCP_QUERY_TIMEOUT + Duration::from_millis(300));
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once_and_slots_come_back() {
    let r = rig(true, Duration::ZERO, true).await;
    let mut idle = Vec::new();
    for _ in 0..RIG_TCP_CONNECTIONS {
        idle.push(TcpStream::connect(r.tcp).await.unwrap());
    }
    // Let the listener take them before the next one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut over = TcpStream::connect(r.tcp).await.unwrap();
    let took = closed_within(&mut over, Duration::from_millis(200)).await;
    eprintln!("connection over the cap of {RIG_TCP_CONNECTIONS}: closed after {took:?}");
    assert!(took.is_some(), "a connection over the cap was kept open");
    // The idle ones time out and give their slots back.
    for s in &mut idle {
        assert!(closed_within(s, Duration::from_secs(1)).await.is_some());
    }
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    s.write_all(&framed(&query(5, "captive.apple.com", TYPE_A)))
        .await
        .unwrap();
    let m = read_answer(&mut s).await.expect("served again");
    assert_eq!(Header::read(&m).unwrap().id, 5);
}

#[tokio::test]
async fn a_truncated_upstream_answer_is_pinned_and_relayed_truncated_over_udp_and_tcp() {
    use airlock_shared::dns::TYPE_AAAA;
    let r = rig(true, Duration::ZERO, true).await;
    let q = query(0x7A7A, "vpn.lab.test", TYPE_AAAA);
    let question = parse_query(&q).unwrap().question;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.send_to(&q, r.resolver).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), udp.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    s.write_all(&framed(&q)).await.unwrap();
    let over_tcp = read_answer(&mut s).await.expect("an answer over TCP");
    let v6: IpAddr = "2001:db8::9".parse().unwrap();
    for (what, m) in [("UDP", &buf[..n]), ("TCP", &over_tcp[..])] {
        let a = check_upstream(m, 0x7A7A, &question).unwrap();
        assert!(a.truncated, "{what}: the TC bit is relayed as it came");
        assert_eq!(a.addresses, [(v6, 300)], "{what}");
    }
    // Both forwarded over UDP, each answer's addresses pinned first.
    let seen = r.seen.lock().unwrap();
    assert_eq!(seen.upstream_queries.len(), 2);
    assert!(seen.pinned.iter().all(|(_, a, _)| a == &[v6]) && seen.pinned.len() == 2);
}
