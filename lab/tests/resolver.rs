//! The filtering resolver in the lab: real airlockd, real nft, in the
//! client namespace, with the kill switch on and no tunnel (Blocking).
//! An app's DNS query to the network's resolver is caught by the nft
//! redirect and answered by airlockd itself; nothing reaches the wire.

#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use airlock_lab::{Airlock, Lab, LabOptions, Ns};
use airlock_shared::dns::{
    check_upstream, parse_query, Header, Name, Rcode, PLACEHOLDER_V4, TYPE_A,
};
use airlock_shared::status::Protection;
use nix::sys::signal::Signal;

/// An A query for `name`, as an app sends it.
fn query(id: u16, name: &str) -> Vec<u8> {
    query_type(id, name, TYPE_A)
}

/// Sends `q` to the lab network's resolver as any app would, and returns
/// the reply (if one came within a second) and how long it took.
fn ask(q: &[u8]) -> (Option<Vec<u8>>, Duration) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let to = SocketAddr::from((airlock_lab::addr::RESOLVER_V4, 53));
    let t = Instant::now();
    s.send_to(q, to)
        .expect("the query is redirected, not refused");
    let mut buf = [0u8; 1500];
    match s.recv(&mut buf) {
        Ok(n) => (Some(buf[..n].to_vec()), t.elapsed()),
        Err(_) => (None, t.elapsed()),
    }
}

#[test]
fn blocking_answers_the_network_check_refuses_the_rest_and_leaks_nothing() {
    let Some(lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    let mut lab = lab;
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    al.start(&mut lab).unwrap();
    al.ctl(&lab, &["endpoints", "add", "198.51.100.7:1194/udp"])
        .unwrap();
    al.ctl(&lab, &["enable"]).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();
    let rules = lab
        .client_exec(&["nft", "list", "table", "inet", "airlock"])
        .unwrap();
    assert!(
        rules.contains("chain dns_redirect"),
        "no DNS redirect while blocking:\n{rules}"
    );
    let meter = lab.meter_start().unwrap();
    let (check, other, placeholder) = lab
        .ns(Ns::Client)
        .enter(|| {
            let mut times = Vec::new();
            let mut last = None;
            for i in 0..20u16 {
                let (reply, took) = ask(&query(0x100 + i, "nmcheck.gnome.org"));
                times.push(took);
                last = reply;
            }
            times.sort();
            let other = ask(&query(0x200, "example.com"));
            let t = Instant::now();
            let tcp = TcpStream::connect_timeout(
                &SocketAddr::from((PLACEHOLDER_V4, 80)),
                Duration::from_secs(2),
            );
            (
                (last, times),
                other,
                (tcp.map(|_| ()).map_err(|e| e.kind()), t.elapsed()),
            )
        })
        .unwrap();
    let capture = meter.stop().unwrap();
    al.stop(&mut lab, Signal::SIGTERM);

    let ((reply, times), (other_reply, _), (tcp, tcp_took)) = (check, other, placeholder);
    let reply =
        reply.unwrap_or_else(|| panic!("the network check got no answer:\n{}", al.log(&lab)));
    let q = parse_query(&query(0x113, "nmcheck.gnome.org")).unwrap();
    let a = check_upstream(&reply, 0x113, &q.question).unwrap();
    assert_eq!(a.addresses[0].0, std::net::IpAddr::V4(PLACEHOLDER_V4));
    eprintln!(
        "network-check answer through the nft redirect: median {:?}, max {:?} (20 queries)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert!(times[times.len() - 1] < Duration::from_millis(200));
    let other_reply = other_reply.expect("other names are refused at once, not left to time out");
    assert_eq!(Header::read(&other_reply).unwrap().rcode(), Rcode::Refused);
    eprintln!("TCP connect to the placeholder: {tcp:?} after {tcp_took:?}");
    assert_eq!(tcp, Err(ErrorKind::ConnectionRefused));
    assert!(tcp_took < Duration::from_millis(200));
    assert!(
        capture.leaks.is_empty(),
        "leaks while blocking:\n{}",
        capture.report()
    );
}

/// Answers every A query for `vpn.lab.test` with `addr`, REFUSED for the
/// rest; the lab network's resolver, in the "internet" namespace. Stops
/// when `stop` is set (checked every 100 ms).
fn stand_in_resolver(
    ns: String,
    addr: [u8; 4],
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        airlock_lab::netns::enter_by_name(&ns, || {
            let s = UdpSocket::bind((airlock_lab::addr::RESOLVER_V4, 53)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut served = 0;
            let mut buf = [0u8; 1500];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, from)) = s.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(q) = parse_query(&buf[..n]) else {
                    continue;
                };
                let mut m = buf[..n].to_vec();
                m[2] |= 0x80;
                m[3] |= 0x80;
                if q.question.name == Name::from_dotted("vpn.lab.test").unwrap() {
                    m[7] = 1;
                    m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
                    m.extend_from_slice(&addr);
                } else {
                    m[3] |= 5;
                }
                served += 1;
                let _ = s.send_to(&m, from);
            }
            served
        })
        .unwrap()
    })
}

#[test]
fn blocking_forwards_a_vpn_name_and_pins_the_answer_first() {
    let Some(mut lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    // The client's resolv.conf names the lab network's resolver (`ip netns
    // exec` shows this file as /etc/resolv.conf inside the namespace).
    lab.set_client_resolv_conf(&format!("nameserver {}\n", airlock_lab::addr::RESOLVER_V4))
        .unwrap();
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&al.state_dir).unwrap();
    std::fs::write(
        al.state_dir.join("settings.toml"),
        "kill_switch = true\n\
         [[endpoints]]\n\
         address = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\nhost = \"vpn.lab.test\"\n",
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upstream = stand_in_resolver(
        lab.ns(Ns::Inet).name().to_string(),
        [198, 51, 100, 9],
        stop.clone(),
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        al.start(&mut lab).unwrap();
        al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
            st.protection == Protection::Blocking
        })
        .unwrap();
        let (reply, took) = lab
            .ns(Ns::Client)
            .enter(|| ask(&query(0x4242, "vpn.lab.test")))
            .unwrap();
        let reply =
            reply.unwrap_or_else(|| panic!("no answer for the VPN name:\n{}", al.log(&lab)));
        let q = parse_query(&query(0x4242, "vpn.lab.test")).unwrap();
        let a = check_upstream(&reply, 0x4242, &q.question).unwrap();
        eprintln!("VPN name forwarded, pinned and relayed in {took:?}");
        assert_eq!(a.addresses[0].0.to_string(), "198.51.100.9");
        // Pinned before the asker saw the answer: the kernel has it now.
        let set = lab
            .client_exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"])
            .unwrap();
        assert!(set.contains("198.51.100.9 . udp . 1194"), "{set}");
        let st = al.status(&lab).unwrap();
        let r = st.resolver.expect("status has the resolver");
        assert_eq!(r.pinned.len(), 1, "{r:?}");
        eprintln!("status: {}", r.summary());
    }));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = upstream.join().unwrap_or(0);
    al.stop(&mut lab, Signal::SIGTERM);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert_eq!(
        served, 1,
        "the network's resolver saw exactly the helper's one query"
    );
}

/// A query with type `qtype`.
fn query_type(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    airlock_shared::dns::query(id, &Name::from_dotted(name).unwrap(), qtype)
}

/// Asks `resolver:53` over UDP as any app would; the reply and the time.
fn ask_udp(resolver: std::net::IpAddr, q: &[u8]) -> (Option<Vec<u8>>, Duration) {
    let bind: SocketAddr = match resolver {
        std::net::IpAddr::V4(_) => "0.0.0.0:0".parse().unwrap(),
        std::net::IpAddr::V6(_) => "[::]:0".parse().unwrap(),
    };
    let s = UdpSocket::bind(bind).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let t = Instant::now();
    s.send_to(q, SocketAddr::new(resolver, 53))
        .expect("the query is redirected, not refused");
    let mut buf = [0u8; 1500];
    match s.recv(&mut buf) {
        Ok(n) => (Some(buf[..n].to_vec()), t.elapsed()),
        Err(_) => (None, t.elapsed()),
    }
}

/// Asks `resolver:53` over TCP (RFC 1035 §4.2.2 framing), connection
/// included in the time.
fn ask_tcp(resolver: std::net::IpAddr, q: &[u8]) -> (std::io::Result<Vec<u8>>, Duration) {
    use std::io::{Read, Write};
    let t = Instant::now();
    let r = (|| {
        let mut s =
            TcpStream::connect_timeout(&SocketAddr::new(resolver, 53), Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(&airlock_shared::dns::frame(q).unwrap())?;
        let mut p = [0u8; 2];
        s.read_exact(&mut p)?;
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(p))];
        s.read_exact(&mut m)?;
        Ok(m)
    })();
    (r, t.elapsed())
}

fn answer_addresses(reply: &[u8], id: u16, name: &str) -> Vec<std::net::IpAddr> {
    let q = parse_query(&query_type(id, name, TYPE_A)).unwrap();
    check_upstream(reply, id, &q.question)
        .unwrap_or_else(|e| panic!("bad answer for {name}: {e}"))
        .addresses
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

fn median_max(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() - 1])
}

/// A network that names only an IPv6 resolver (a real dnsmasq on
/// 2001:db8:53::53), and clients that use IPv6 and TCP: while blocking,
/// the network check is answered for each, other names are refused, the
/// VPN name is forwarded to the IPv6 resolver over the helper's marked
/// socket and pinned, and the only DNS on the wire is the helper's own.
#[test]
fn blocking_answers_over_ipv6_and_tcp_and_forwards_to_an_ipv6_resolver() {
    use airlock_lab::addr::{moved_vpn_server, CLIENT_V6, RESOLVER_V4, RESOLVER_V6};
    use airlock_lab::wire_dns::dns_queries;
    use std::net::IpAddr;

    let Some(mut lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    if !airlock_lab::netns::have_tool("dnsmasq") {
        eprintln!("SKIPPED: dnsmasq missing");
        return;
    }
    lab.set_client_resolv_conf(&format!("nameserver {RESOLVER_V6}\n"))
        .unwrap();
    lab.start_dnsmasq().unwrap();
    // The provider's server is at a new address: an answer the helper
    // must pin, not one the settings already allow.
    let moved = moved_vpn_server(1);
    lab.dnsmasq().unwrap().point(moved).unwrap();
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&al.state_dir).unwrap();
    std::fs::write(
        al.state_dir.join("settings.toml"),
        "kill_switch = true\n\
         [[endpoints]]\n\
         address = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\nhost = \"vpn.lab.test\"\n",
    )
    .unwrap();
    al.start(&mut lab).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();
    let upstreams = al.status(&lab).unwrap().resolver.unwrap().upstreams;
    assert_eq!(upstreams, [IpAddr::V6(RESOLVER_V6)]);
    let rules = lab
        .client_exec(&["nft", "list", "table", "inet", "airlock"])
        .unwrap();
    assert!(
        rules.contains("ip6 daddr 2001:db8:53::53"),
        "the helper's marked queries may not reach the IPv6 resolver:\n{rules}"
    );

    let v6 = IpAddr::V6(RESOLVER_V6);
    let v4 = IpAddr::V4(RESOLVER_V4);
    let check = "nmcheck.gnome.org";
    let meter = lab.meter_start().unwrap();
    let run = lab
        .ns(Ns::Client)
        .enter(|| {
            let mut udp6 = Vec::new();
            let mut tcp6 = Vec::new();
            let mut tcp4 = Vec::new();
            for i in 0..20u16 {
                let (r, t) = ask_udp(v6, &query_type(0x600 + i, check, TYPE_A));
                udp6.push((r, t));
                let (r, t) = ask_tcp(v6, &query_type(0x700 + i, check, TYPE_A));
                tcp6.push((r.ok(), t));
                let (r, t) = ask_tcp(v4, &query_type(0x800 + i, check, TYPE_A));
                tcp4.push((r.ok(), t));
            }
            let other_udp6 = ask_udp(v6, &query_type(0x901, "example.com", TYPE_A)).0;
            let other_tcp6 = ask_tcp(v6, &query_type(0x902, "example.com", TYPE_A))
                .0
                .ok();
            let vpn_udp6 = ask_udp(v6, &query_type(0xA01, "vpn.lab.test", TYPE_A));
            let vpn_tcp6 = ask_tcp(v6, &query_type(0xA02, "vpn.lab.test", TYPE_A));
            (udp6, tcp6, tcp4, other_udp6, other_tcp6, vpn_udp6, vpn_tcp6)
        })
        .unwrap();
    let set = lab
        .client_exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"])
        .unwrap();
    let capture = meter.stop().unwrap();
    let dnsmasq_saw = |name: &str| lab.dnsmasq().unwrap().queries_for(name);
    let (vpn_seen, check_seen, other_seen) = (
        dnsmasq_saw("vpn.lab.test"),
        dnsmasq_saw(check),
        dnsmasq_saw("example.com"),
    );
    let log = al.log(&lab);
    al.stop(&mut lab, Signal::SIGTERM);

    let (udp6, tcp6, tcp4, other_udp6, other_tcp6, vpn_udp6, vpn_tcp6) = run;
    for (what, answers, base) in [
        ("UDP over IPv6", &udp6, 0x600u16),
        ("TCP over IPv6", &tcp6, 0x700),
        ("TCP over IPv4", &tcp4, 0x800),
    ] {
        for (i, (reply, _)) in answers.iter().enumerate() {
            let reply = reply
                .as_ref()
                .unwrap_or_else(|| panic!("network check over {what}: no answer\n{log}"));
            let id = base + i as u16;
            assert_eq!(
                answer_addresses(reply, id, check),
                [IpAddr::V4(PLACEHOLDER_V4)],
                "{what}"
            );
        }
        let (median, max) = median_max(answers.iter().map(|(_, t)| *t).collect());
        eprintln!("network-check answer, {what} (20 queries): median {median:?}, max {max:?}");
        assert!(max < Duration::from_millis(500), "{what}: {max:?}");
    }
    for (what, reply) in [("UDP/IPv6", other_udp6), ("TCP/IPv6", other_tcp6)] {
        let reply = reply.unwrap_or_else(|| panic!("other name over {what}: no answer"));
        assert_eq!(
            Header::read(&reply).unwrap().rcode(),
            Rcode::Refused,
            "{what}"
        );
    }
    let (reply, took) = vpn_udp6;
    let reply = reply.unwrap_or_else(|| panic!("VPN name over UDP/IPv6: no answer\n{log}"));
    assert_eq!(
        answer_addresses(&reply, 0xA01, "vpn.lab.test"),
        [IpAddr::V4(moved)]
    );
    eprintln!("VPN name over UDP/IPv6, forwarded to the IPv6 resolver and pinned: {took:?}");
    let (reply, took) = vpn_tcp6;
    let reply = reply.unwrap_or_else(|e| panic!("VPN name over TCP/IPv6: {e}\n{log}"));
    assert_eq!(
        answer_addresses(&reply, 0xA02, "vpn.lab.test"),
        [IpAddr::V4(moved)]
    );
    eprintln!("VPN name over TCP/IPv6, forwarded (UDP upstream) and pinned: {took:?}");
    assert!(set.contains(&format!("{moved} . udp . 1194")), "{set}");

    // The network's resolver saw only the helper's two queries for the
    // VPN name, from the client's IPv6 address; never the others.
    assert_eq!(vpn_seen.len(), 2, "{vpn_seen:?}");
    assert!(
        vpn_seen
            .iter()
            .all(|l| l.ends_with(&format!("from {CLIENT_V6}"))),
        "{vpn_seen:?}"
    );
    assert!(
        check_seen.is_empty() && other_seen.is_empty(),
        "{check_seen:?} {other_seen:?}"
    );
    // On the wire: those two queries, and nothing else that is not plumbing.
    let wire = dns_queries(&capture);
    let foreign: Vec<_> = wire
        .iter()
        .filter(|q| {
            !(q.name.as_deref() == Some("vpn.lab.test")
                && q.dst == v6
                && q.src.ip() == IpAddr::V6(CLIENT_V6))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "DNS that is not the helper's: {foreign:?}"
    );
    assert_eq!(wire.len(), 2, "{wire:?}");
    let other_leaks: Vec<_> = capture
        .leaks
        .iter()
        .filter(|l| !(l.proto == airlock_lab::Proto::Udp && l.dport == Some(53)))
        .collect();
    assert!(other_leaks.is_empty(), "leaks:\n{}", capture.report());
}
