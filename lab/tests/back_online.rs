//! Issue 12, "back online by itself", end to end: a real dnsmasq is the
//! network's DHCP and DNS server, the client takes a real lease, a real
//! OpenVPN client names its server (`remote vpn.lab.test 1194`), and the
//! real airlockd (nft backend) blocks, with tcpdump counting the wire.
//!
//! Every figure is printed (`--nocapture`); the assertions are on
//! behaviour, with generous limits, so the tests stay deterministic on a
//! loaded machine.

#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use airlock_lab::dnsmasq::VPN_NAME;
use airlock_lab::wire_dns::{dns_queries, WireQuery};
use airlock_lab::{addr, Airlock, Capture, Lab, LabOptions, Ns, Probe};
use airlock_shared::dns::{
    check_upstream, parse_query, Header, Name, Rcode, PLACEHOLDER_V4, TYPE_A,
};
use airlock_shared::status::Protection;
use nix::sys::signal::Signal;

/// An A query for `name`, as an app sends it.
fn query(id: u16, name: &str) -> Vec<u8> {
    airlock_shared::dns::query(id, &Name::from_dotted(name).unwrap(), TYPE_A)
}

/// Asks `resolver:53` as any app would (call inside the client
/// namespace): the reply, if one came within `timeout`, and the time.
fn ask(resolver: IpAddr, q: &[u8], timeout: Duration) -> (std::io::Result<Vec<u8>>, Duration) {
    let (r, t, _) = ask_port(resolver, q, timeout);
    (r, t)
}

/// [`ask`], and the asker's local port: a query that left the machine
/// as it was (not through the helper) would show that port on the wire.
fn ask_port(
    resolver: IpAddr,
    q: &[u8],
    timeout: Duration,
) -> (std::io::Result<Vec<u8>>, Duration, u16) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = s.local_addr().unwrap().port();
    s.set_read_timeout(Some(timeout)).unwrap();
    let t = Instant::now();
    if let Err(e) = s.send_to(q, SocketAddr::new(resolver, 53)) {
        return (Err(e), t.elapsed(), port);
    }
    let mut buf = [0u8; 1500];
    let r = s.recv(&mut buf).map(|n| buf[..n].to_vec());
    (r, t.elapsed(), port)
}

/// The addresses of an A answer to `q` (id and question checked).
fn addresses(reply: &[u8], id: u16, name: &str) -> Vec<IpAddr> {
    let q = parse_query(&query(id, name)).unwrap();
    check_upstream(reply, id, &q.question)
        .unwrap()
        .addresses
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

fn start_lab() -> Option<Lab> {
    Lab::start_or_skip(LabOptions { dhcp: true })
}

/// The capture's DNS queries that are not the helper's own for the VPN
/// server's name, sent to one of `resolvers` from the leased address.
fn foreign_dns(capture: &Capture, resolvers: &[IpAddr]) -> Vec<WireQuery> {
    dns_queries(capture)
        .into_iter()
        .filter(|q| {
            !(q.name.as_deref() == Some(VPN_NAME)
                && resolvers.contains(&q.dst)
                && q.src.ip() == IpAddr::V4(addr::CLIENT_V4))
        })
        .collect()
}

/// Leaks that are not DNS queries (those are judged by [`foreign_dns`]).
fn non_dns_leaks(capture: &Capture) -> Vec<String> {
    capture
        .leaks
        .iter()
        .filter(|l| !(l.proto == airlock_lab::Proto::Udp && l.dport == Some(53)))
        .map(|l| l.to_string())
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn blocking_on_a_dhcp_network_answers_the_check_imports_by_name_and_stays_blocked_when_killed() {
    let Some(mut lab) = start_lab() else { return };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    let took = lab.start_dnsmasq().unwrap();
    eprintln!("dnsmasq serving after {took:?}");
    lab.start_vpn_server().unwrap();
    al.start(&mut lab).unwrap();
    al.ctl(&lab, &["enable"]).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();

    // Before the lease the network has named no resolvers: the helper has
    // none to ask, and says so (so the ones it uses below can only have
    // come from the lease).
    let conf = lab.named_client_config("tun0").unwrap();
    let before = al.ctl(&lab, &["endpoints", "import", &conf.to_string_lossy()]);
    eprintln!("import before any lease: {before:?}");
    assert!(
        matches!(&before, Err(e) if e.to_string().contains("named no resolvers")),
        "{before:?}"
    );
    assert_eq!(
        al.status(&lab).unwrap().resolver.unwrap().upstreams,
        Vec::<IpAddr>::new()
    );

    // Joining the network while blocking: a real lease, from dnsmasq.
    let lease = lab.dhcp_lease().unwrap_or_else(|e| {
        panic!(
            "{e}\ndnsmasq:\n{}",
            lab.dnsmasq().map(|d| d.log()).unwrap_or_default()
        )
    });
    eprintln!(
        "DHCP lease while blocking: {}/{} via {}, resolvers {:?}, in {:?}",
        lease.address, lease.prefix_len, lease.router, lease.dns, lease.took
    );
    assert_eq!(lease.address, addr::CLIENT_V4);
    assert_eq!(lease.dns, [addr::RESOLVER_V4]);
    assert_eq!(
        lab.client_resolv_conf(),
        format!("nameserver {}\n", addr::RESOLVER_V4)
    );
    let resolvers: Vec<IpAddr> = lease.dns.iter().map(|&a| a.into()).collect();
    let dnsmasq_leases = lab.dnsmasq().unwrap().leases();
    assert!(
        dnsmasq_leases.contains(&addr::CLIENT_V4.to_string()),
        "{dnsmasq_leases}"
    );

    // The helper forwards to the lease's resolvers: it read them when the
    // lease's address appeared.
    let (st, seen_after) = al
        .wait_status(
            &lab,
            "the lease's resolvers",
            Duration::from_secs(5),
            |st| {
                st.resolver
                    .as_ref()
                    .is_some_and(|r| r.upstreams == resolvers)
            },
        )
        .unwrap_or_else(|e| panic!("{e}\nresolv.conf: {:?}", lab.client_resolv_conf()));
    eprintln!(
        "helper's upstreams {:?} {seen_after:?} after the lease; status: {}",
        st.resolver.as_ref().unwrap().upstreams,
        st.resolver.as_ref().unwrap().summary()
    );

    let meter = lab.meter_start().unwrap();
    // Import the config that names its server, with the kill switch on.
    let t = Instant::now();
    let imported = al.ctl(&lab, &["endpoints", "import", &conf.to_string_lossy()]);
    let import_took = t.elapsed();
    let imported = imported.unwrap_or_else(|e| {
        panic!(
            "import while blocking failed after {import_took:?}: {e}\nairlockd:\n{}",
            al.log(&lab)
        )
    });
    eprintln!(
        "`endpoints import` while blocking: {import_took:?}: {}",
        imported.trim()
    );
    let list = al.ctl(&lab, &["endpoints", "list"]).unwrap();
    assert!(
        list.contains(&format!("{}:1194/udp ({VPN_NAME})", addr::VPN_SERVER)),
        "{list}"
    );

    let resolver = IpAddr::V4(lease.dns[0]);
    let (check, vpn, other, zone_other, placeholder) = lab
        .ns(Ns::Client)
        .enter(|| {
            let mut times = Vec::new();
            let mut last = None;
            for i in 0..20u16 {
                let (reply, took) = ask(
                    resolver,
                    &query(0x100 + i, "nmcheck.gnome.org"),
                    Duration::from_secs(1),
                );
                times.push(took);
                last = reply.ok();
            }
            // Observed, not asserted: the resolver listens on IPv4 loopback
            // only (see the report), so an IPv6 resolver's queries are
            // refused rather than answered.
            let v6 = UdpSocket::bind("[::]:0").unwrap();
            v6.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            let sent = v6.send_to(
                &query(0x500, "nmcheck.gnome.org"),
                SocketAddr::new(addr::RESOLVER_V6.into(), 53),
            );
            let mut buf = [0u8; 512];
            eprintln!(
                "network check asked of the IPv6 resolver {}: sent {:?}, reply {:?}",
                addr::RESOLVER_V6,
                sent.map(drop).map_err(|e| e.kind()),
                v6.recv(&mut buf).map_err(|e| e.kind())
            );
            let vpn = ask_port(resolver, &query(0x300, VPN_NAME), Duration::from_secs(3));
            let other = ask(
                resolver,
                &query(0x200, "example.com"),
                Duration::from_secs(1),
            );
            let zone_other = ask(
                resolver,
                &query(0x201, "other.lab.test"),
                Duration::from_secs(1),
            );
            let t = Instant::now();
            let tcp = TcpStream::connect_timeout(
                &SocketAddr::from((PLACEHOLDER_V4, 443)),
                Duration::from_secs(2),
            );
            (
                (last, times),
                vpn,
                other,
                zone_other,
                (tcp.map(|_| ()).map_err(|e| e.kind()), t.elapsed()),
            )
        })
        .unwrap();

    // Killed while blocking: the kernel's rules carry the redirect and the
    // block; nothing is left to undo, and nothing gets out.
    al.stop(&mut lab, Signal::SIGKILL);
    let rules = lab
        .client_exec(&["nft", "-s", "list", "table", "inet", "airlock"])
        .unwrap();
    let probes: Vec<_> = Probe::leaky_set()
        .iter()
        .map(|p| {
            (
                p.to_string(),
                lab.probe(Ns::Client, p, Duration::from_secs(1)).unwrap(),
            )
        })
        .collect();
    let after_kill = lab
        .ns(Ns::Client)
        .enter(|| {
            (
                ask(resolver, &query(0x400, VPN_NAME), Duration::from_secs(1)),
                ask(
                    resolver,
                    &query(0x401, "nmcheck.gnome.org"),
                    Duration::from_secs(1),
                ),
            )
        })
        .unwrap();
    let capture = meter.stop().unwrap();

    // The network check: answered with the placeholder, quickly.
    let ((reply, times), vpn, (other, _), (zone_other, _), (tcp, tcp_took)) =
        (check, vpn, other, zone_other, placeholder);
    let reply = reply.unwrap_or_else(|| panic!("no answer to the check:\n{}", al.log(&lab)));
    assert_eq!(
        addresses(&reply, 0x113, "nmcheck.gnome.org"),
        [IpAddr::V4(PLACEHOLDER_V4)]
    );
    let mut sorted = times.clone();
    sorted.sort();
    eprintln!(
        "network-check answer (nmcheck.gnome.org, 20 queries): min {:?}, median {:?}, max {:?}",
        sorted[0], sorted[10], sorted[19]
    );
    assert!(sorted[19] < Duration::from_millis(500));
    eprintln!("TCP to the placeholder {PLACEHOLDER_V4}:443: {tcp:?} after {tcp_took:?}");
    assert_eq!(tcp, Err(ErrorKind::ConnectionRefused));
    assert!(tcp_took < Duration::from_millis(500));

    // The VPN server's name: forwarded to the lease's resolver, answered.
    let (vpn_reply, vpn_took, vpn_port) = vpn;
    let vpn_reply = vpn_reply.unwrap_or_else(|e| panic!("VPN name: {e}\n{}", al.log(&lab)));
    eprintln!("VPN server name through the helper: {vpn_took:?}");
    assert_eq!(
        addresses(&vpn_reply, 0x300, VPN_NAME),
        [IpAddr::V4(addr::VPN_SERVER)]
    );

    // Anything else: refused at once, without asking the network.
    for (name, r) in [("example.com", other), ("other.lab.test", zone_other)] {
        let r = r.unwrap_or_else(|e| panic!("{name}: no reply ({e}), expected REFUSED"));
        assert_eq!(Header::read(&r).unwrap().rcode(), Rcode::Refused, "{name}");
    }
    let d = lab.dnsmasq().unwrap();
    for name in ["example.com", "other.lab.test", "nmcheck.gnome.org"] {
        assert!(
            d.queries_for(name).is_empty(),
            "dnsmasq was asked {name}: {:?}",
            d.queries_for(name)
        );
    }
    let asked = d.queries_for(VPN_NAME);
    eprintln!(
        "dnsmasq saw {} queries for {VPN_NAME}: {asked:?}",
        asked.len()
    );
    assert!(asked
        .iter()
        .all(|l| l.ends_with(&format!("from {}", addr::CLIENT_V4))));
    assert!(!asked.is_empty());

    // After SIGKILL: still blocked, the redirect still in the kernel, and
    // DNS goes nowhere (nothing listens on the resolver port).
    assert!(rules.contains("chain dns_redirect"), "{rules}");
    for (p, outcome) in &probes {
        eprintln!("after SIGKILL: {p}: {outcome:?}");
        assert!(
            !matches!(outcome, airlock_lab::Outcome::Answered { .. }),
            "{p} answered after the helper was killed"
        );
    }
    let ((vpn_after, _), (check_after, _)) = after_kill;
    eprintln!(
        "after SIGKILL: VPN name {:?}, network check {:?}",
        vpn_after.as_ref().map(|_| "answered").map_err(|e| e.kind()),
        check_after
            .as_ref()
            .map(|_| "answered")
            .map_err(|e| e.kind())
    );
    assert!(vpn_after.is_err() && check_after.is_err());
    let st_rules = lab
        .client_exec(&["nft", "-s", "list", "table", "inet", "airlock"])
        .unwrap();
    // Stateless listings (no counters): the rules, not the traffic.
    assert_eq!(rules, st_rules, "the rules changed after the helper died");

    // The wire: only the helper's own queries for the VPN name, to the
    // lease's resolver; nothing else at all.
    let wire = dns_queries(&capture);
    eprintln!(
        "DNS queries on the wire: {} ({} for {VPN_NAME} to {:?})",
        wire.len(),
        wire.len() - foreign_dns(&capture, &resolvers).len(),
        resolvers
    );
    assert!(
        foreign_dns(&capture, &resolvers).is_empty(),
        "DNS leaks: {:?}\n{}",
        foreign_dns(&capture, &resolvers),
        capture.report()
    );
    assert!(!wire.is_empty(), "the helper's own queries were not seen");
    // The app's own query for the VPN name (its socket was open while the
    // helper asked, so no port is shared) never reached the wire itself.
    assert!(
        wire.iter().all(|q| q.src.port() != vpn_port),
        "the app's query left as it was: {wire:?}"
    );
    // One upstream query per lookup: import (A, AAAA) and the app's one.
    assert_eq!(wire.len(), 3, "{wire:?}");
    assert_eq!(wire.len(), asked.len());
    let leaks = non_dns_leaks(&capture);
    eprintln!("other leaks while blocking: {}", leaks.len());
    assert!(leaks.is_empty(), "{leaks:?}\n{}", capture.report());
}

/// The provider's server number `n`: 0 is the first one, 1.. are the
/// addresses it moves to, each new.
fn server_addr(n: u8) -> std::net::Ipv4Addr {
    if n == 0 {
        addr::VPN_SERVER
    } else {
        addr::moved_vpn_server(n)
    }
}

/// One move of the provider: server `to` starts at a new address, the name
/// points there, server `from` stops (SIGTERM: it tells its clients to
/// move on). The time from that SIGTERM to the client's tunnel being up
/// again, on the new server.
fn move_server(lab: &mut Lab, from: u8, to: u8, ready_before: usize) -> Duration {
    lab.start_moved_vpn_server(to).unwrap();
    lab.dnsmasq().unwrap().point(server_addr(to)).unwrap();
    let old = if from == 0 {
        lab.take_vpn_server()
    } else {
        lab.take_moved_vpn_server(from)
    }
    .unwrap();
    let t0 = Instant::now();
    old.signal(Signal::SIGTERM).unwrap();
    let ready = lab.wait_vpn_ready_nth(ready_before + 1, Duration::from_secs(40));
    let took = t0.elapsed();
    old.stop(Signal::SIGTERM, Duration::from_secs(5));
    ready.unwrap_or_else(|e| panic!("no reconnect after the move to {}: {e}", server_addr(to)));
    let peer = format!(
        "Peer Connection Initiated with [AF_INET]{}:1194",
        server_addr(to)
    );
    let log = lab.vpn_client_log();
    let last_peer = log
        .lines()
        .rfind(|l| l.contains("Peer Connection Initiated"))
        .unwrap_or_default()
        .to_string();
    assert!(
        last_peer.contains(&peer),
        "reconnected elsewhere: {last_peer}"
    );
    took
}

#[test]
fn the_provider_moves_the_server_and_the_vpn_follows_through_the_kill_switch() {
    let Some(mut lab) = start_lab() else { return };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    lab.start_dnsmasq().unwrap();
    lab.start_vpn_server().unwrap();
    al.start(&mut lab).unwrap();
    let lease = lab.dhcp_lease().unwrap();
    let resolvers: Vec<IpAddr> = lease.dns.iter().map(|&a| a.into()).collect();
    let conf = lab.named_client_config("tun0").unwrap();
    al.ctl(&lab, &["endpoints", "import", &conf.to_string_lossy()])
        .unwrap();
    lab.spawn_vpn_client_config(&conf).unwrap();
    let first = lab.wait_vpn_ready_nth(1, Duration::from_secs(20)).unwrap();
    eprintln!("first connect (kill switch off): {first:?}");

    // Interleaved, so a slow moment of the machine hits both sides alike.
    // Every move is to an address no endpoint lists: with the kill switch
    // on, only the answer's pin can let the VPN reach it.
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..6u8 {
        // Tunnel-up lines so far: the first connect, one per move.
        let ready = 1 + usize::from(round);
        let (from, to) = (round, round + 1);
        let kill_switch = round % 2 == 1;
        al.ctl(&lab, &[if kill_switch { "enable" } else { "disable" }])
            .unwrap();
        let want = if kill_switch {
            Protection::Protected
        } else {
            Protection::Off
        };
        al.wait_status(&lab, "settled", Duration::from_secs(5), |st| {
            st.protection == want
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", al.log(&lab)));
        let new = format!("{}:1194/udp", server_addr(to));
        let listed = |lab: &Lab| {
            al.ctl(lab, &["endpoints", "list"])
                .unwrap()
                .lines()
                .any(|l| l.starts_with(&new))
        };
        assert!(!listed(&lab), "{new} is already an endpoint");
        let meter = kill_switch.then(|| lab.meter_start().unwrap());
        let took = move_server(&mut lab, from, to, ready);
        al.wait_status(&lab, "settled again", Duration::from_secs(5), |st| {
            st.protection == want
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", al.log(&lab)));
        eprintln!(
            "move {round} to {} (new address), kill switch {}: reconnected in {took:?}",
            server_addr(to),
            if kill_switch { "on" } else { "off" },
        );
        if let Some(meter) = meter {
            // The tunnel must carry traffic on the new server, not only
            // come up.
            let conn = lab
                .web_connect(Ns::Client, addr::WEB_V4.into(), Duration::from_secs(3))
                .unwrap_or_else(|e| panic!("no traffic through the new tunnel: {e}"));
            let tunnel_prefix = format!("10.{}.0.", 8 + to);
            assert!(conn.seen_as.starts_with(&tunnel_prefix), "{}", conn.seen_as);
            let capture = meter.stop().unwrap();
            let foreign = foreign_dns(&capture, &resolvers);
            let leaks = non_dns_leaks(&capture);
            let own = dns_queries(&capture).len() - foreign.len();
            eprintln!(
                "  wire: {} VPN packets, {own} helper queries for {VPN_NAME}, {} other DNS, \
                 {} other leaks; {new} kept as an endpoint once the tunnel was up: {}",
                capture.count(airlock_lab::Class::Vpn),
                foreign.len(),
                leaks.len(),
                listed(&lab)
            );
            assert!(own > 0, "the helper never asked for the new address");
            assert!(foreign.is_empty(), "{foreign:?}\n{}", capture.report());
            assert!(leaks.is_empty(), "{leaks:?}\n{}", capture.report());
            with.push(took);
        } else {
            without.push(took);
        }
    }
    let (w, wo) = (median(with.clone()), median(without.clone()));
    eprintln!(
        "reconnect after the server moved, median of 3: with the kill switch {w:?} {with:?}, \
         without {wo:?} {without:?}; ratio {:.2} (goal: <= 2 s and <= 1.1x)",
        w.as_secs_f64() / wo.as_secs_f64()
    );
    // Deterministic bound only: it reconnected by itself, in reasonable time.
    assert!(w < Duration::from_secs(20), "{w:?}");
}

/// Resolvers that change with no routing message (a renewal that hands out
/// other DNS servers, or a DHCP client that writes them only after the
/// address, as NetworkManager does): the helper reads them again when
/// the file changes, and its rules let its own queries go to the new ones
/// only. Without the file watch nothing would announce the change and the
/// helper would keep asking the old resolvers (this test would time out).
#[test]
fn resolvers_that_change_without_a_routing_message_are_read_again() {
    let Some(mut lab) = start_lab() else { return };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    al.start(&mut lab).unwrap();
    al.ctl(&lab, &["enable"]).unwrap();
    let upstreams = |st: &airlock_shared::status::Status| {
        st.resolver
            .as_ref()
            .map(|r| r.upstreams.clone())
            .unwrap_or_default()
    };
    let mut times = Vec::new();
    for resolver in ["192.0.2.53", "192.0.2.54"] {
        let want: Vec<IpAddr> = vec![resolver.parse().unwrap()];
        lab.set_client_resolv_conf(&format!("nameserver {resolver}\n"))
            .unwrap();
        let (_, took) = al
            .wait_status(&lab, "the new resolvers", Duration::from_secs(3), |st| {
                upstreams(st) == want
            })
            .unwrap_or_else(|e| panic!("{e}\nairlockd:\n{}", al.log(&lab)));
        let table = lab
            .client_exec(&["nft", "list", "chain", "inet", "airlock", "outbound"])
            .unwrap();
        let upstream_rule = table
            .lines()
            .find(|l| l.contains("asking the network's resolvers"))
            .unwrap_or_else(|| panic!("no upstream rule:\n{table}"));
        assert!(upstream_rule.contains(resolver), "{upstream_rule}");
        times.push(took);
    }
    eprintln!("resolv.conf rewritten in place: status and rules followed in {times:?}");
}
