//! Settings + NetworkSnapshot -> Policy. Pure: the clock is an argument.
//!
//! The rule list below *is* the kill switch's promise (DESIGN.md, "Policy");
//! keep it short, ordered from most to least common traffic, and give every
//! rule a reason a user would understand.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{
    BlockLog, Direction, DnsCatch, Family, IfaceSet, Interfaces, Pause, Policy, Protocol, Remote,
    Rule,
};
use crate::network::classify::{patterns, valid_pattern, InterfaceKind};
use crate::network::NetworkSnapshot;
use crate::platform::Platform;
use crate::settings::Settings;

/// ICMPv6 router solicitation/advertisement, neighbour solicitation/advertisement.
pub const NDP_TYPES: [u8; 4] = [133, 134, 135, 136];
/// ICMPv6 MLDv2 listener report.
pub const MLD_REPORT: u8 = 143;
pub const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
pub const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
pub const MDNS_PORT: u16 = 5353;
pub const IPP_PORT: u16 = 631;
const LINK_LOCAL_V6: &str = "fe80::/10";

/// Router/neighbour solicitation and advertisement.
fn nd(direction: Direction, why: &str, hop_limit: Option<u8>) -> Rule {
    Rule::new(direction, why)
        .family(Family::V6)
        .protocol(Protocol::Icmpv6)
        .icmp_types(NDP_TYPES.to_vec())
        .hop_limit(hop_limit)
}

/// MLDv2 listener reports.
fn mld(direction: Direction, why: &str, hop_limit: Option<u8>) -> Rule {
    Rule::new(direction, why)
        .family(Family::V6)
        .protocol(Protocol::Icmpv6)
        .icmp_types(vec![MLD_REPORT])
        .hop_limit(hop_limit)
}

fn is_v6(n: &IpNet) -> bool {
    matches!(n, IpNet::V6(_))
}

/// Builds the policy for `platform` at Unix time `now`.
pub fn build(
    settings: &Settings,
    snapshot: &NetworkSnapshot,
    platform: Platform,
    now: u64,
) -> Policy {
    let tunnels = iface_set(
        platform,
        InterfaceKind::Tunnel,
        snapshot,
        &settings.tunnel_patterns,
    );
    if !settings.kill_switch {
        return Policy::off(tunnels);
    }
    let pause = settings
        .pause_until
        .filter(|&until| until > now)
        .map(|until| Pause {
            until,
            remaining_secs: until - now,
        });

    let mut endpoints = settings.endpoints.clone();
    endpoints.sort_by_key(|e| (e.address, e.protocol, e.port));
    endpoints.dedup_by(|a, b| a.same_target(b));

    let loopback = iface_set(platform, InterfaceKind::Loopback, snapshot, &[]);
    let virtuals = iface_set(platform, InterfaceKind::Virtual, snapshot, &[]);
    let p2p = iface_set(platform, InterfaceKind::PeerToPeer, snapshot, &[]);

    let mut rules = Vec::new();
    let both = |rules: &mut Vec<Rule>, set: &IfaceSet, why: &str| {
        for d in [Direction::Out, Direction::In] {
            rules.push(Rule::new(d, why).on(set.clone()));
        }
    };
    both(
        &mut rules,
        &loopback,
        "loopback: this machine talking to itself",
    );
    both(
        &mut rules,
        &tunnels,
        "VPN tunnel: everything inside the tunnel is protected",
    );
    rules.push(
        Rule::new(
            Direction::In,
            "replies to connections these rules let out (VPN, DHCP, ...)",
        )
        .replies_only(),
    );
    rules.push(
        Rule::new(
            Direction::Out,
            "VPN servers: lets the VPN connect and reconnect",
        )
        .remote(Remote::Endpoints),
    );
    if !virtuals.patterns.is_empty() {
        both(
            &mut rules,
            &virtuals,
            "local VMs/containers: their forwarded traffic still obeys these rules",
        );
    }
    // Link-local plumbing, each hole as narrow as its protocol
    // (docs/security.md, "The rules"). The hop-limit checks need a
    // firewall that can read the field: nft can, pf cannot (pf.conf has no
    // TTL match), so on macOS the policy asks only for the addresses.
    let hops = |h: u8| (platform == Platform::Linux).then_some(h);
    let lan = lan_nets(snapshot);
    let subnets = snapshot.lan_subnets();
    let v6_on_link: Vec<IpNet> = subnets.iter().filter(|n| is_v6(n)).copied().collect();

    // DHCPv4 goes to the broadcast address while there is no lease, and to
    // the server (in the interface's subnet, or relayed from it) to renew.
    let mut dhcp4_to = vec![net("255.255.255.255/32")];
    dhcp4_to.extend(subnets.iter().filter(|n| !is_v6(n)));
    rules.push(
        Rule::udp(
            Direction::Out,
            Family::V4,
            68,
            67,
            "DHCPv4: lets Wi-Fi/Ethernet get an address",
        )
        .remote(Remote::Nets(dhcp4_to)),
    );
    rules.push(Rule::udp(
        Direction::In,
        Family::V4,
        68,
        67,
        "DHCPv4: the server's offer and ack",
    ));
    // DHCPv6 clients always send from their link-local address, to the
    // All_DHCP_Relay_Agents_and_Servers group or a server's link-local
    // address, and are answered link-local to link-local (RFC 8415 §7.1, §13).
    rules.push(
        Rule::udp(
            Direction::Out,
            Family::V6,
            546,
            547,
            "DHCPv6: lets the network hand out IPv6 addresses",
        )
        .remote(Remote::Nets(vec![net("ff02::1:2/128"), net(LINK_LOCAL_V6)]))
        .local(vec![net(LINK_LOCAL_V6)]),
    );
    rules.push(
        Rule::udp(
            Direction::In,
            Family::V6,
            546,
            547,
            "DHCPv6: the server's replies",
        )
        .remote(Remote::Nets(vec![net(LINK_LOCAL_V6)]))
        .local(vec![net(LINK_LOCAL_V6)]),
    );
    // ND stays on the link: to link-local or link-scope multicast
    // addresses, or to a neighbour in an on-link prefix (unreachability
    // detection probes the address in the neighbour cache), always with
    // hop limit 255, which receivers check (RFC 4861 §6.1, §7.1).
    let nd_why = "IPv6 router/neighbour discovery: IPv6 cannot work without it";
    let mut nd_out = vec![net(LINK_LOCAL_V6), net("ff02::/16")];
    nd_out.extend(v6_on_link.iter().copied());
    let mut nd_from = vec![net(LINK_LOCAL_V6), net("::/128")];
    nd_from.extend(v6_on_link.iter().copied());
    rules.push(nd(Direction::Out, nd_why, hops(255)).remote(Remote::Nets(nd_out.clone())));
    rules.push(
        nd(Direction::In, nd_why, hops(255))
            .remote(Remote::Nets(nd_from))
            .local(nd_out),
    );
    // MLDv2 reports go to ff02::16 from a link-local address (or `::`
    // before one exists, RFC 3590) with hop limit 1 (RFC 3810 §5, §7.4).
    let mld_why = "MLD: IPv6 multicast group membership on the local link";
    let mld_from = vec![net(LINK_LOCAL_V6), net("::/128")];
    let mld_to = vec![net("ff02::16/128")];
    rules.push(
        mld(Direction::Out, mld_why, hops(1))
            .remote(Remote::Nets(mld_to.clone()))
            .local(mld_from.clone()),
    );
    rules.push(
        mld(Direction::In, mld_why, hops(1))
            .remote(Remote::Nets(mld_from))
            .local(mld_to),
    );
    // IGMP: every message is sent to a multicast address with TTL 1
    // (RFC 3376 §4, RFC 2236 §2).
    let igmp_why = "IGMP: multicast group membership on the local network";
    let multicast_v4 = vec![net("224.0.0.0/4")];
    rules.push(
        Rule::new(Direction::Out, igmp_why)
            .family(Family::V4)
            .protocol(Protocol::Igmp)
            .remote(Remote::Nets(multicast_v4.clone()))
            .hop_limit(hops(1)),
    );
    rules.push(
        Rule::new(Direction::In, igmp_why)
            .family(Family::V4)
            .protocol(Protocol::Igmp)
            .local(multicast_v4)
            .hop_limit(hops(1)),
    );
    let mdns = [
        (Family::V4, IpNet::from(IpAddr::V4(MDNS_V4))),
        (Family::V6, IpNet::from(IpAddr::V6(MDNS_V6))),
    ];
    for (family, group) in mdns {
        rules.push(
            Rule::new(
                Direction::Out,
                "mDNS/Bonjour: finding printers and devices nearby",
            )
            .family(family)
            .protocol(Protocol::Udp)
            .remote(Remote::Nets(vec![group]))
            .remote_port(MDNS_PORT),
        );
        rules.push(
            Rule::new(Direction::In, "mDNS/Bonjour: answers from devices nearby")
                .family(family)
                .protocol(Protocol::Udp)
                .local(vec![group])
                .local_port(MDNS_PORT),
        );
    }

    if settings.allow_lan {
        let mut out_nets = lan.clone();
        out_nets.extend(multicast_and_broadcast());
        rules.push(
            Rule::new(
                Direction::Out,
                "allow LAN: the local network's own subnets, link-local and multicast",
            )
            .remote(Remote::Nets(out_nets)),
        );
        rules.push(
            Rule::new(
                Direction::In,
                "allow LAN: devices on the local network may reach this machine",
            )
            .remote(Remote::Nets(lan.clone())),
        );
    }
    if settings.allow_airdrop && !p2p.patterns.is_empty() {
        // AWDL carries IPv6 between link-local addresses only (and mDNS
        // to ff02::fb): nothing on these links needs another address.
        let why = "allow AirDrop: Apple Wireless Direct Link between nearby devices";
        rules.push(
            Rule::new(Direction::Out, why)
                .on(p2p.clone())
                .family(Family::V6)
                .remote(Remote::Nets(vec![net(LINK_LOCAL_V6), net("ff02::/16")])),
        );
        rules.push(
            Rule::new(Direction::In, why)
                .on(p2p)
                .family(Family::V6)
                .remote(Remote::Nets(vec![net(LINK_LOCAL_V6)])),
        );
    }
    if settings.allow_airprint {
        rules.push(
            Rule::new(
                Direction::Out,
                "allow AirPrint: IPP to printers on the local network",
            )
            .protocol(Protocol::Tcp)
            .remote(Remote::Nets(lan))
            .remote_port(IPP_PORT),
        );
    }
    if settings.allow_dns {
        let resolvers: Vec<IpNet> = snapshot
            .dns
            .iter()
            .filter(|a| !a.is_loopback())
            .map(|a| IpNet::from(*a))
            .collect();
        if !resolvers.is_empty() {
            for proto in [Protocol::Udp, Protocol::Tcp] {
                rules.push(
                    Rule::new(
                        Direction::Out,
                        "allow DNS: the network's resolvers, to look up the VPN server",
                    )
                    .protocol(proto)
                    .remote(Remote::Nets(resolvers.clone()))
                    .remote_port(53),
                );
            }
        }
    }

    // The filtering resolver runs only while blocking: kill switch on, not
    // paused, no tunnel up. Only nft can redirect by itself; macOS points
    // the system's DNS at the resolver instead (not in the ruleset).
    let blocking = pause.is_none() && snapshot.active_tunnel().is_none();
    let dns_catch = (platform == Platform::Linux && blocking).then(|| DnsCatch {
        resolver_port: crate::dns::RESOLVER_PORT,
        upstream_mark: crate::dns::UPSTREAM_MARK,
        upstreams: snapshot
            .dns
            .iter()
            .filter(|a| !a.is_loopback())
            .map(|a| IpNet::from(*a))
            .collect(),
    });

    Policy {
        enforce: true,
        pause,
        endpoints,
        rules,
        tunnels,
        dns_catch,
        log_blocked: Some(BlockLog::default()),
    }
}

/// The interfaces of one kind: the platform's patterns plus `extra`, and
/// the present interfaces the snapshot classified as that kind.
fn iface_set(
    platform: Platform,
    kind: InterfaceKind,
    snapshot: &NetworkSnapshot,
    extra: &[String],
) -> IfaceSet {
    let mut pats: Vec<String> = patterns(platform, kind)
        .iter()
        .map(|p| p.to_string())
        .collect();
    // Settings::validate rejects such patterns; one that slipped past it
    // (settings built in code) is left out here, not in each renderer, so
    // `Policy::decides` and both rulesets agree: fewer interfaces, never more.
    for p in extra.iter().filter(|p| valid_pattern(p)) {
        if !pats.contains(p) {
            pats.push(p.clone());
        }
    }
    let present = snapshot.of_kind(kind).map(|i| i.name.clone()).collect();
    IfaceSet {
        kind,
        patterns: pats,
        present,
    }
}

/// The LAN as the policy means it: the physical interfaces' subnets plus
/// the link-local ranges every network has.
fn lan_nets(snapshot: &NetworkSnapshot) -> Vec<IpNet> {
    let mut nets = snapshot.lan_subnets();
    nets.push(net("169.254.0.0/16"));
    nets.push(net(LINK_LOCAL_V6));
    nets
}

fn multicast_and_broadcast() -> Vec<IpNet> {
    vec![
        net("224.0.0.0/4"),
        net("255.255.255.255/32"),
        net("ff00::/8"),
    ]
}

fn net(s: &str) -> IpNet {
    // Literals in this file only; a typo fails every policy test at once.
    s.parse()
        .unwrap_or_else(|_| unreachable!("bad network literal {s}"))
}

impl Rule {
    pub fn new(direction: Direction, why: &str) -> Rule {
        Rule {
            direction,
            interfaces: Interfaces::Any,
            family: None,
            protocol: None,
            remote: Remote::Any,
            local: None,
            remote_port: None,
            local_port: None,
            icmp_types: Vec::new(),
            hop_limit: None,
            replies_only: false,
            why: why.to_string(),
        }
    }

    /// A UDP rule between a client port on this machine and a server port.
    fn udp(direction: Direction, family: Family, local: u16, remote: u16, why: &str) -> Rule {
        Rule::new(direction, why)
            .family(family)
            .protocol(Protocol::Udp)
            .local_port(local)
            .remote_port(remote)
    }

    fn on(mut self, set: IfaceSet) -> Rule {
        self.interfaces = Interfaces::Only(set);
        self
    }
    fn family(mut self, f: Family) -> Rule {
        self.family = Some(f);
        self
    }
    fn protocol(mut self, p: Protocol) -> Rule {
        self.protocol = Some(p);
        self
    }
    fn remote(mut self, r: Remote) -> Rule {
        self.remote = r;
        self
    }
    fn local(mut self, nets: Vec<IpNet>) -> Rule {
        self.local = Some(nets);
        self
    }
    fn remote_port(mut self, p: u16) -> Rule {
        self.remote_port = Some(p);
        self
    }
    fn local_port(mut self, p: u16) -> Rule {
        self.local_port = Some(p);
        self
    }
    fn icmp_types(mut self, t: Vec<u8>) -> Rule {
        self.icmp_types = t;
        self
    }
    fn hop_limit(mut self, h: Option<u8>) -> Rule {
        self.hop_limit = h;
        self
    }
    fn replies_only(mut self) -> Rule {
        self.replies_only = true;
        self
    }
}
