//! Settings + NetworkSnapshot -> Policy. Pure: the clock is an argument.
//!
//! The rule list below *is* the kill switch's promise (DESIGN.md, "Policy");
//! keep it short, ordered from most to least common traffic, and give every
//! rule a reason a user would understand.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{
    BlockLog, Direction, DnsCatch, Family, IfaceSet, Interfaces, Pause, Policy, Protocol, Remote,
    Rule,
};
use crate::network::classify::{patterns, valid_pattern, InterfaceKind};
use crate::network::NetworkSnapshot;
use crate::platform::Platform;
use crate::settings::Settings;

mod plumbing;

/// ICMPv6 router solicitation/advertisement, neighbour solicitation/advertisement.
pub const NDP_TYPES: [u8; 4] = [133, 134, 135, 136];
/// ICMPv6 MLDv2 listener report.
pub const MLD_REPORT: u8 = 143;
/// ICMPv6 Multicast Listener Query (RFC 3810 §5.1).
pub const MLD_QUERY: u8 = 130;
/// MLDv1 report and done (RFC 2710 §3), for MLDv1 queriers.
pub const MLD_V1: [u8; 2] = [131, 132];
pub const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
pub const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
pub const MDNS_PORT: u16 = 5353;
pub const IPP_PORT: u16 = 631;
const LINK_LOCAL_V6: &str = "fe80::/10";

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

    // What an endpoint is, not its record (origin, dates): those never
    // change the rules.
    let mut endpoints: Vec<_> = settings.endpoints.iter().map(|e| e.bare()).collect();
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
    rules.push(if settings.vpn_root_only {
        Rule::new(
            Direction::Out,
            "VPN servers, from root's programs only (vpn_root_only): the VPN's daemon connects, other programs cannot use the hole",
        )
        .remote(Remote::Endpoints)
        .sender_uid(Some(0))
    } else {
        Rule::new(
            Direction::Out,
            "VPN servers: lets the VPN connect and reconnect",
        )
        .remote(Remote::Endpoints)
    });
    if !virtuals.patterns.is_empty() {
        both(
            &mut rules,
            &virtuals,
            "local VMs/containers: their forwarded traffic still obeys these rules",
        );
    }
    plumbing::link_local(&mut rules, snapshot, platform);
    let lan = lan_nets(snapshot);
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
    // the system's DNS at the resolver instead (not in the ruleset), which
    // listens on 53 there.
    let blocking = pause.is_none() && snapshot.active_tunnel().is_none();
    let dns_catch = blocking.then(|| DnsCatch {
        resolver_port: match platform {
            Platform::Linux => crate::dns::RESOLVER_PORT,
            Platform::Macos => 53,
        },
        upstream_mark: crate::dns::UPSTREAM_MARK,
        upstream_uid: 0,
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
            sender_uid: None,
            replies_only: false,
            no_way_back: false,
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
    fn sender_uid(mut self, uid: Option<u32>) -> Rule {
        self.sender_uid = uid;
        self
    }
    pub(super) fn no_way_back(mut self) -> Rule {
        self.no_way_back = true;
        self
    }
    fn replies_only(mut self) -> Rule {
        self.replies_only = true;
        self
    }
}
