//! The link-local plumbing every network needs (DHCP, ND, MLD, IGMP,
//! mDNS), each hole as narrow as its protocol: docs/security.md, "The
//! rules", says per hole where the protocol goes and why the rule stops
//! there.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{
    net, LINK_LOCAL_V6, MDNS_PORT, MDNS_V4, MDNS_V6, MLD_QUERY, MLD_REPORT, MLD_V1, NDP_TYPES,
};
use crate::network::NetworkSnapshot;
use crate::platform::Platform;
use crate::policy::{Direction, Family, Protocol, Remote, Rule};

/// Appends the plumbing rules, in the order the renderers emit them.
pub(super) fn link_local(rules: &mut Vec<Rule>, snapshot: &NetworkSnapshot, platform: Platform) {
    // The hop-limit checks need a firewall that can read the field: nft can, pf cannot (pf.conf has no
    // TTL match), so on macOS the policy asks only for the addresses.
    let hops = |h: u8| (platform == Platform::Linux).then_some(h);
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
    // From any address: the first offer comes from a server not known
    // yet. So it must open no way back to that address; answers go out by
    // the rule above, to broadcast and the subnet only.
    rules.push(
        Rule::udp(
            Direction::In,
            Family::V4,
            68,
            67,
            "DHCPv4: the server's offer and ack",
        )
        .no_way_back(),
    );
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
            .remote(Remote::Nets(mld_from.clone()))
            .local(mld_to),
    );
    // The router's queries (130) come from a link-local address (hosts
    // must drop any other, RFC 3810 §5.1.14) to a link-scope group:
    // without answers to them, a snooping switch ages our groups out.
    // A querier that still speaks MLDv1 makes the kernel answer in v1
    // (RFC 3810 §8): reports (131) to the group, done (132) to ff02::2.
    let link_scope = vec![net("ff02::/16")];
    rules.push(
        Rule::new(
            Direction::In,
            "MLD: the router's membership queries, answered so switches keep forwarding our groups",
        )
        .family(Family::V6)
        .protocol(Protocol::Icmpv6)
        .icmp_types(vec![MLD_QUERY])
        .remote(Remote::Nets(vec![net(LINK_LOCAL_V6)]))
        .local(link_scope.clone())
        .hop_limit(hops(1)),
    );
    rules.push(
        Rule::new(
            Direction::Out,
            "MLD: MLDv1 reports, for networks whose querier still speaks MLDv1",
        )
        .family(Family::V6)
        .protocol(Protocol::Icmpv6)
        .icmp_types(MLD_V1.to_vec())
        .remote(Remote::Nets(link_scope))
        .local(mld_from)
        .hop_limit(hops(1)),
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
}

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
