//! The pf renderer against golden files, against its own structure rules,
//! and, through a small pf interpreter, against `Policy::decides`.

mod common;
#[path = "support/pf_model.rs"]
mod pf_model;

use std::collections::BTreeSet;
use std::net::IpAddr;

use airlock_shared::endpoint::Endpoint;
use airlock_shared::platform::Platform;
use airlock_shared::policy::{
    self, Direction, Packet, PacketPath, Policy, Protocol, SentBy, Verdict,
};
use airlock_shared::render::pf;
use pf_model::{Action, Host, Ruleset};

const MAC: Platform = Platform::Macos;

#[test]
fn golden_files() {
    common::check_golden(
        "pf",
        "conf",
        common::scenarios(MAC)
            .into_iter()
            .map(|s| (s.name.to_string(), pf::render(&s.policy(MAC)))),
    );
}

/// Lines that are not blank and not comments.
fn statements(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

const BLOCK_OUT: &str = "block return out log (user) quick all";
const BLOCK_IN: &str = "block drop in log quick all";

#[test]
fn every_statement_is_a_table_or_a_quick_rule_and_the_blocks_come_last() {
    for s in common::scenarios(MAC) {
        let policy = s.policy(MAC);
        let text = pf::render(&policy);
        let lines = statements(&text);
        if !policy.enforce {
            assert!(
                lines.is_empty(),
                "{}: kill switch off must load no rules",
                s.name
            );
            assert!(text.contains("kill switch is off"), "{}", s.name);
            continue;
        }
        let n = lines.len();
        assert!(n >= 2, "{}", s.name);
        assert_eq!(
            lines[n - 2..],
            [BLOCK_OUT, BLOCK_IN],
            "{}: blocks last",
            s.name
        );
        let rs = pf_model::parse(&text);
        for r in &rs.rules {
            // Blocks are logged for "recently blocked"; passes are not.
            assert_eq!(r.log, r.action != Action::Pass, "{}: {}", s.name, r.text);
        }
        let mut seen_rule = false;
        for l in &lines[..n - 2] {
            if l.starts_with("table ") {
                assert!(!seen_rule, "{}: tables come before rules: {l}", s.name);
                assert!(l.contains(" persist { "), "{}: {l}", s.name);
            } else {
                seen_rule = true;
                assert!(
                    l.starts_with("pass "),
                    "{}: only pass rules before the blocks: {l}",
                    s.name
                );
                assert!(
                    l.split_whitespace().any(|w| w == "quick"),
                    "{}: {l}",
                    s.name
                );
            }
        }
    }
}

/// (address, protocol number, port) triples the rendered rules let out
/// through endpoint tables.
fn endpoint_triples(rs: &Ruleset) -> BTreeSet<(IpAddr, u8, u16)> {
    let mut got = BTreeSet::new();
    for r in &rs.rules {
        for host in r.to.iter().flatten() {
            let Host::Table(name) = host else { continue };
            let protos = r
                .protocols
                .as_ref()
                .expect("a table rule names its protocol");
            let port = r.to_port.expect("a table rule names its port");
            assert_eq!(r.direction, Some(Direction::Out), "{}", r.text);
            for net in &rs.tables[name] {
                assert_eq!(net.prefix_len(), net.max_prefix_len(), "hosts only: {net}");
                for &p in protos {
                    got.insert((net.addr(), p, port));
                }
            }
        }
    }
    got
}

fn policy_triples(endpoints: &[Endpoint]) -> BTreeSet<(IpAddr, u8, u16)> {
    endpoints
        .iter()
        .map(|e| (e.address, Protocol::from(e.protocol).number(), e.port))
        .collect()
}

#[test]
fn tables_hold_exactly_the_policy_endpoints() {
    for s in common::scenarios(MAC) {
        let policy = s.policy(MAC);
        let rs = pf_model::parse(&pf::render(&policy));
        assert_eq!(
            endpoint_triples(&rs),
            policy_triples(&policy.endpoints),
            "{}",
            s.name
        );
        // No table is defined without a rule using it.
        let used: BTreeSet<&str> = rs
            .rules
            .iter()
            .flat_map(|r| r.to.iter().flatten())
            .filter_map(|h| match h {
                Host::Table(n) => Some(n.as_str()),
                Host::Net(_) => None,
            })
            .collect();
        let defined: BTreeSet<&str> = rs.tables.keys().map(String::as_str).collect();
        assert_eq!(used, defined, "{}", s.name);
    }
}

#[test]
fn tunnel_rules_bind_states_to_the_tunnel_and_only_they_do() {
    for s in common::scenarios(MAC) {
        let policy = s.policy(MAC);
        let rs = pf_model::parse(&pf::render(&policy));
        let mut tunnel_rules = 0;
        for r in rs.rules.iter().filter(|r| r.action == Action::Pass) {
            let on_tunnel = r
                .interfaces
                .iter()
                .flatten()
                .any(|i| policy.tunnels.present.contains(i));
            assert_eq!(r.if_bound, on_tunnel, "{}: {}", s.name, r.text);
            // Every pass keeps state but DHCPv4's offer: a state would let
            // the answer out to whoever sent it.
            let offer = r.text.contains("port 67 to any port 68");
            assert_eq!(
                r.keep_state, !offer,
                "{}: every pass but DHCPv4's offer keeps state: {}",
                s.name, r.text
            );
            tunnel_rules += usize::from(on_tunnel);
        }
        if policy.enforce {
            assert_eq!(tunnel_rules, 2, "{}: one tunnel rule each way", s.name);
        }
    }
}

#[test]
fn endpoints_live_in_tables_so_size_grows_linearly_and_rules_do_not() {
    let snapshot = common::laptop(MAC, &[]);
    let render = |n: usize| {
        let policy = policy::build(&common::many_endpoints(n), &snapshot, MAC, common::NOW);
        assert_eq!(policy.endpoints.len(), n);
        pf::render(&policy)
    };
    let (small, big, bigger) = (render(10), render(10_000), render(20_000));
    let rules = |t: &str| {
        statements(t)
            .iter()
            .filter(|l| !l.starts_with("table "))
            .count()
    };
    assert_eq!(rules(&small), rules(&big));
    assert_eq!(rules(&big), rules(&bigger));
    let per_endpoint_first = (big.len() - small.len()) as f64 / 9_990.0;
    let per_endpoint_second = (bigger.len() - big.len()) as f64 / 10_000.0;
    assert!(
        (5.0..=40.0).contains(&per_endpoint_first),
        "{per_endpoint_first} bytes per endpoint"
    );
    let ratio = per_endpoint_second / per_endpoint_first;
    assert!((0.9..=1.1).contains(&ratio), "size is not linear: {ratio}");
    let rs = pf_model::parse(&bigger);
    let policy = policy::build(&common::many_endpoints(20_000), &snapshot, MAC, common::NOW);
    assert_eq!(endpoint_triples(&rs), policy_triples(&policy.endpoints));
}

#[test]
fn pause_passes_everything_first_and_says_until_when() {
    let s = common::scenarios(MAC)
        .into_iter()
        .find(|s| s.name == "pause_active")
        .unwrap();
    let text = pf::render(&s.policy(MAC));
    let first = statements(&text)
        .into_iter()
        .find(|l| !l.starts_with("table "))
        .unwrap();
    assert_eq!(first, "pass quick all flags any allow-opts keep state");
    assert!(
        text.contains("# PAUSED until 2026-11-26 12:05:00 UTC"),
        "{text}"
    );
}

// ---- the rendered rules decide like the policy -------------------------

struct Probe {
    name: String,
    packet: Packet,
}

fn probe(name: impl Into<String>, packet: Packet) -> Probe {
    Probe {
        name: name.into(),
        packet,
    }
}

const WEB4: &str = "203.0.113.80";
const WEB6: &str = "2001:db8:99::80";
const ME4: &str = "192.168.1.20";
const ME6: &str = "2001:db8:1::20";
const LL6: &str = "fe80::1c:2";

fn probes(policy: &Policy) -> Vec<Probe> {
    use Protocol::*;
    let out = Packet::out;
    let inb = Packet::inbound;
    let mut v = vec![
        probe("web tcp", out("en0", Tcp, ME4, WEB4).ports(50000, 443)),
        probe(
            "web udp (QUIC)",
            out("en0", Udp, ME4, WEB4).ports(50000, 443),
        ),
        probe("web ping", out("en0", Icmp, ME4, WEB4).icmp(8)),
        probe("web tcp v6", out("en0", Tcp, ME6, WEB6).ports(50000, 443)),
        probe("web ping v6", out("en0", Icmpv6, ME6, WEB6).icmp(128)),
        probe("gre out", out("en0", Other(47), ME4, WEB4)),
        probe(
            "dns to a public resolver",
            out("en0", Udp, ME4, "198.51.100.53").ports(50000, 53),
        ),
        probe(
            "dhcpv4 discover",
            out("en0", Udp, "0.0.0.0", "255.255.255.255").ports(68, 67),
        ),
        probe(
            "dhcpv4 offer",
            inb("en0", Udp, "192.168.1.1", "255.255.255.255").ports(67, 68),
        ),
        probe(
            // A host out there sent this machine 67 -> 68 (which passes:
            // an offer's server is not known in advance); a program bound
            // to 68 must not answer it through that packet's state.
            "dhcpv4 answer to an internet host's offer",
            out("en0", Udp, ME4, WEB4).ports(68, 67).reply(),
        ),
        probe(
            "dhcpv4 wrong ports",
            out("en0", Udp, ME4, "192.168.1.1").ports(67, 68),
        ),
        probe(
            "dhcpv6 solicit",
            out("en0", Udp, LL6, "ff02::1:2").ports(546, 547),
        ),
        probe(
            "dhcpv6 advertise",
            inb("en0", Udp, "fe80::1", LL6).ports(547, 546),
        ),
        probe(
            "mdns v4 query",
            out("en0", Udp, ME4, "224.0.0.251").ports(5353, 5353),
        ),
        probe(
            "mdns v6 query",
            out("en0", Udp, LL6, "ff02::fb").ports(5353, 5353),
        ),
        probe(
            "mdns v4 answer",
            inb("en0", Udp, "192.168.1.50", "224.0.0.251").ports(5353, 5353),
        ),
        probe(
            "mdns v6 answer",
            inb("en0", Udp, "fe80::50", "ff02::fb").ports(5353, 5353),
        ),
        probe(
            "mdns unicast answer",
            inb("en0", Udp, "192.168.1.50", ME4).ports(5353, 5353),
        ),
        probe(
            "ndp neighbour solicitation",
            out("en0", Icmpv6, LL6, "ff02::1:ff00:1").icmp(135),
        ),
        probe(
            "ndp router solicitation",
            out("en0", Icmpv6, LL6, "ff02::2").icmp(133),
        ),
        probe(
            "ndp router advertisement",
            inb("en0", Icmpv6, "fe80::1", "ff02::1").icmp(134),
        ),
        probe(
            "ndp neighbour advertisement",
            inb("en0", Icmpv6, "fe80::1", LL6).icmp(136),
        ),
        probe("mld report", out("en0", Icmpv6, LL6, "ff02::16").icmp(143)),
        probe(
            "mld query",
            inb("en0", Icmpv6, "fe80::1", "ff02::1").icmp(130),
        ),
        probe(
            "mld query from a global address",
            inb("en0", Icmpv6, "2001:db8:1::1", "ff02::1").icmp(130),
        ),
        probe(
            "mldv1 report",
            out("en0", Icmpv6, LL6, "ff02::fb").icmp(131),
        ),
        probe(
            "mldv1 report to a global group",
            out("en0", Icmpv6, LL6, "ff0e::101").icmp(131),
        ),
        probe("icmpv6 echo in", inb("en0", Icmpv6, WEB6, ME6).icmp(128)),
        probe("igmp report", out("en0", Igmp, ME4, "224.0.0.22")),
        probe("igmp query", inb("en0", Igmp, "192.168.1.1", "224.0.0.1")),
        probe(
            "lan smb",
            out("en0", Tcp, ME4, "192.168.1.50").ports(50000, 445),
        ),
        probe(
            "lan v6",
            out("en0", Tcp, ME6, "2001:db8:1::50").ports(50000, 445),
        ),
        probe(
            "link-local v6",
            out("en0", Tcp, LL6, "fe80::50").ports(50000, 8080),
        ),
        probe(
            "link-local v4",
            out("en0", Udp, "169.254.3.4", "169.254.9.9").ports(50000, 9),
        ),
        probe(
            "broadcast",
            out("en0", Udp, ME4, "255.255.255.255").ports(50000, 9),
        ),
        probe(
            "ssdp multicast",
            out("en0", Udp, ME4, "239.255.255.250").ports(50000, 1900),
        ),
        probe(
            "airprint",
            out("en0", Tcp, ME4, "192.168.1.50").ports(50000, 631),
        ),
        probe(
            "airprint off the lan",
            out("en0", Tcp, ME4, WEB4).ports(50000, 631),
        ),
        probe(
            "dns to the lan resolver udp",
            out("en0", Udp, ME4, "192.168.1.1").ports(50000, 53),
        ),
        probe(
            "dns to the lan resolver tcp",
            out("en0", Tcp, ME4, "192.168.1.1").ports(50000, 53),
        ),
        probe(
            "lan device connects in",
            inb("en0", Tcp, "192.168.1.50", ME4).ports(50000, 22),
        ),
        probe(
            "internet connects in",
            inb("en0", Tcp, WEB4, ME4).ports(443, 22),
        ),
        probe(
            "internet connects in v6",
            inb("en0", Tcp, WEB6, ME6).ports(443, 22),
        ),
        probe(
            "airdrop out",
            out("awdl0", Tcp, "fe80::aa:1", "fe80::aa:5").ports(50000, 8770),
        ),
        probe(
            "airdrop in",
            inb("awdl0", Tcp, "fe80::aa:5", "fe80::aa:1").ports(50000, 8770),
        ),
        probe(
            "llw0 out",
            out("llw0", Udp, "fe80::aa:1", "fe80::aa:5").ports(50000, 5353),
        ),
        probe(
            "loopback out",
            out("lo0", Tcp, "127.0.0.1", "127.0.0.1").ports(50000, 8080),
        ),
        probe(
            "loopback in",
            inb("lo0", Tcp, "127.0.0.1", "127.0.0.1").ports(50000, 8080),
        ),
        probe(
            "loopback v6",
            out("lo0", Udp, "::1", "::1").ports(50000, 53),
        ),
        probe(
            "tunnel out",
            out("utun4", Tcp, "10.8.0.2", WEB4).ports(50000, 443),
        ),
        probe(
            "tunnel out v6",
            out("utun4", Tcp, "fd00:8::2", WEB6).ports(50000, 443),
        ),
        probe(
            "tunnel dns",
            out("utun4", Udp, "10.8.0.2", "10.8.0.1").ports(50000, 53),
        ),
        probe(
            "tunnel in",
            inb("utun4", Tcp, WEB4, "10.8.0.2").ports(443, 50000),
        ),
        probe(
            "igmp on the tunnel",
            out("utun4", Igmp, "10.8.0.2", "224.0.0.22"),
        ),
        probe(
            "igmp to the lan (multicast)",
            inb("en0", Igmp, "192.168.1.1", "224.0.0.251"),
        ),
        probe(
            "tunnel ping in",
            inb("utun4", Icmp, "10.8.0.1", "10.8.0.2").icmp(8),
        ),
        probe(
            "spare tunnel utun9",
            out("utun9", Tcp, "10.9.0.2", WEB4).ports(50000, 443),
        ),
        probe(
            "spare tunnel utun9 in",
            inb("utun9", Udp, WEB4, "10.9.0.2").ports(443, 50000),
        ),
        probe(
            "ipsec0",
            out("ipsec0", Udp, "10.9.0.2", WEB4).ports(50000, 443),
        ),
        probe("ppp0", out("ppp0", Tcp, "10.9.0.2", WEB4).ports(50000, 443)),
        probe(
            "unknown interface",
            out("gif0", Tcp, ME4, WEB4).ports(50000, 443),
        ),
        probe(
            "vm to its host",
            inb("vmenet0", Tcp, "192.168.64.2", "192.168.64.1").ports(50000, 22),
        ),
        probe(
            "vm forwarded to the tunnel",
            Packet::forward("vmenet0", "utun4", Tcp, "192.168.64.2", WEB4).ports(50000, 443),
        ),
        probe(
            "vm forwarded to wi-fi",
            Packet::forward("vmenet0", "en0", Tcp, "192.168.64.2", WEB4).ports(50000, 443),
        ),
        probe(
            "internet sharing to wi-fi",
            Packet::forward("bridge100", "en0", Tcp, "192.168.2.2", WEB4).ports(50000, 443),
        ),
        probe(
            "internet sharing to the tunnel",
            Packet::forward("bridge100", "utun4", Udp, "192.168.2.2", WEB4).ports(50000, 443),
        ),
        probe(
            "internet sharing dhcp",
            Packet::forward("bridge100", "en0", Udp, "192.168.2.2", "192.168.1.1").ports(68, 67),
        ),
    ];
    for e in &policy.endpoints {
        let (me, addr) = match e.address {
            IpAddr::V4(_) => (ME4, e.address.to_string()),
            IpAddr::V6(_) => (ME6, e.address.to_string()),
        };
        let proto = Protocol::from(e.protocol);
        let other = if proto == Tcp { Udp } else { Tcp };
        let name = |what: &str| format!("endpoint {e}: {what}");
        v.push(probe(
            name("right"),
            out("en0", proto, me, &addr).ports(50000, e.port),
        ));
        v.push(probe(
            name("right, from root (the VPN's daemon)"),
            out("en0", proto, me, &addr)
                .ports(50000, e.port)
                .from_user(0),
        ));
        v.push(probe(
            name("wrong port"),
            out("en0", proto, me, &addr).ports(50000, e.port.wrapping_add(1)),
        ));
        v.push(probe(
            name("wrong protocol"),
            out("en0", other, me, &addr).ports(50000, e.port),
        ));
        v.push(probe(name("ping"), out("en0", Icmp, me, &addr).icmp(8)));
        v.push(probe(
            name("via the tunnel's peer"),
            out("en1", proto, me, &addr).ports(50000, e.port),
        ));
        v.push(probe(
            name("reply"),
            // To the VPN's daemon, whose socket opened the connection.
            inb("en0", proto, &addr, me)
                .ports(e.port, 50000)
                .reply()
                .from_user(0),
        ));
        v.push(probe(
            name("unsolicited in"),
            inb("en0", proto, &addr, me).ports(e.port, 50000),
        ));
    }
    // pf knows every local packet's socket: a probe is an ordinary
    // program's unless it says otherwise.
    for p in &mut v {
        if matches!(p.packet.path, PacketPath::Out { .. }) && p.packet.sent_by == SentBy::Unknown {
            p.packet.sent_by = SentBy::User(501);
        }
    }
    v
}

fn hops(p: &Packet) -> Vec<(Direction, &str)> {
    match &p.path {
        PacketPath::In { interface } => vec![(Direction::In, interface)],
        PacketPath::Out { interface } => vec![(Direction::Out, interface)],
        PacketPath::Forward { from, to } => vec![(Direction::In, from), (Direction::Out, to)],
    }
}

#[test]
fn rendered_rules_decide_every_probe_like_the_policy() {
    let mut checked = 0;
    for s in common::scenarios(MAC) {
        let policy = s.policy(MAC);
        let rs = pf_model::parse(&pf::render(&policy));
        let mut passed = 0;
        for pr in probes(&policy) {
            let want = policy.decides(&pr.packet);
            if pr.packet.reply {
                // A reply in the policy's sense answers something it let out.
                let opener = pf_model::reversed(&pr.packet, hops(&pr.packet)[0].1);
                assert_eq!(
                    policy.decides(&opener),
                    Verdict::Pass,
                    "{}: {}",
                    s.name,
                    pr.name
                );
            }
            let got = if policy.enforce {
                rs.verdict(&pr.packet)
            } else {
                assert!(rs.rules.is_empty());
                Verdict::Pass // an empty anchor leaves pf's default: pass
            };
            assert_eq!(
                got, want,
                "{}: probe {:?}: {:?}",
                s.name, pr.name, pr.packet
            );
            passed += usize::from(want == Verdict::Pass);
            checked += 1;
        }
        // The probe table exercises both outcomes in every locked scenario.
        if policy.enforce && policy.pause.is_none() {
            assert!(passed > 10, "{}: only {passed} probes pass", s.name);
        }
    }
    assert!(checked > 400, "{checked}");
}

/// Passed probes that two *policy* rules match: the plumbing rules hold on
/// every interface, so plumbing inside the tunnel also meets the tunnel rule.
const POLICY_OVERLAPS: &[&str] = &["igmp on the tunnel"];

#[test]
fn under_defaults_every_passed_probe_has_exactly_one_pass_rule() {
    let s = common::scenarios(MAC)
        .into_iter()
        .find(|s| s.name == "defaults_one_endpoint")
        .unwrap();
    let policy = s.policy(MAC);
    let rs = pf_model::parse(&pf::render(&policy));
    let mut passed = 0;
    for pr in probes(&policy) {
        if pr.packet.reply || policy.decides(&pr.packet) != Verdict::Pass {
            continue;
        }
        passed += 1;
        for (dir, iface) in hops(&pr.packet) {
            let hits = rs.pass_matches(&pr.packet, dir, iface);
            let texts: Vec<&str> = hits.iter().map(|&i| rs.rules[i].text.as_str()).collect();
            let in_policy = policy
                .rules
                .iter()
                .filter(|r| r.matches(&policy, &pr.packet, dir, iface))
                .count();
            // The renderer adds no overlap of its own...
            assert_eq!(
                hits.len(),
                in_policy,
                "probe {:?} {dir:?} on {iface}: {texts:#?}",
                pr.name
            );
            // ...and the policy has none but the known one.
            if !POLICY_OVERLAPS.contains(&pr.name.as_str()) {
                assert_eq!(
                    hits.len(),
                    1,
                    "probe {:?} {dir:?} on {iface}: {texts:#?}",
                    pr.name
                );
            }
        }
    }
    assert!(passed >= 20, "{passed}");
}

#[test]
fn a_reply_passes_only_by_the_state_its_opener_created() {
    // The model must not pass every reply: a reply to something the rules
    // refused has no state, so it meets the inbound block.
    let s = &common::scenarios(MAC)[0];
    let rs = pf_model::parse(&pf::render(&s.policy(MAC)));
    let stray = Packet::inbound("en0", Protocol::Tcp, WEB4, ME4)
        .ports(443, 50000)
        .reply();
    assert_eq!(rs.verdict(&stray), Verdict::Drop);
    let opener = pf_model::reversed(&stray, "en0");
    assert_eq!(rs.verdict(&opener), Verdict::Reject);
}

/// The laptop with its VPN down and the kill switch on (Blocking): pf
/// lets only root's DNS out, to the network's resolvers, for the helper's
/// filtering resolver; an ordinary program's DNS to them is still refused
/// (the system's DNS points at the resolver meanwhile).
#[test]
fn blocking_lets_only_the_resolvers_own_queries_out_golden() {
    let mut snapshot = common::laptop(MAC, &[]);
    snapshot.interfaces.retain(|i| !i.name.starts_with("utun"));
    snapshot.dns.push("2001:db8:1::53".parse().unwrap());
    let settings = airlock_shared::settings::Settings {
        kill_switch: true,
        endpoints: vec![common::endpoint("198.51.100.7:1194/udp")],
        ..Default::default()
    };
    let policy = policy::build(&settings, &snapshot, MAC, common::NOW);
    let dns = policy.dns_catch.as_ref().expect("blocking catches DNS");
    assert_eq!((dns.resolver_port, dns.upstream_uid), (53, 0));
    let text = pf::render(&policy);
    let root_only: Vec<&str> = statements(&text)
        .into_iter()
        .filter(|l| l.contains(" port 53 "))
        .collect();
    assert!(
        root_only.len() == 2 && root_only.iter().all(|l| l.contains(" user 0 ")),
        "{root_only:?}"
    );
    let rs = pf_model::parse(&text);
    for resolver in ["192.168.1.1", "2001:db8:1::53"] {
        let ask = out_packet(Protocol::Udp, resolver, 53);
        assert_eq!(policy.decides(&ask), Verdict::Reject, "{resolver}");
        assert_eq!(rs.verdict(&ask), Verdict::Reject, "{resolver}");
    }
    common::check_golden("pf", "conf", [("blocking_resolver".to_string(), text)]);
}

fn out_packet(protocol: Protocol, dst: &str, port: u16) -> Packet {
    let dst: IpAddr = dst.parse().unwrap();
    let src: IpAddr = if dst.is_ipv4() {
        "192.168.1.20".parse().unwrap()
    } else {
        "2001:db8:1::20".parse().unwrap()
    };
    Packet {
        path: PacketPath::Out {
            interface: "en0".into(),
        },
        protocol,
        src,
        dst,
        src_port: Some(50000),
        dst_port: Some(port),
        icmp_type: None,
        reply: false,
        hop_limit: None,
        sent_by: Default::default(),
    }
}
