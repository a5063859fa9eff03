//! Which tracked connections a policy still allows: the pure heart of
//! "cut what leaked before the kill switch turned on".
//!
//! Both kernels describe a tracked connection by its *original* direction
//! (who sent the first packet), with addresses but without a trustworthy
//! interface. We turn it into the two [`Packet`]s the policy would see —
//! the first packet, and a reply (`reply = true`) coming back — and keep
//! the connection only if the policy passes both. A connection one of whose
//! directions is refused is dead anyway; cutting it makes apps notice at
//! once instead of hanging.
//!
//! Where the packets cross (the [`PacketPath`]) comes from the snapshot:
//! - both ends are this machine's addresses: loopback (that is the route
//!   the kernel takes, whatever interface owns the address);
//! - the source is ours: out on the interface that owns the source address.
//!   The source address pins the interface the connection was made on; a
//!   connection from the Wi-Fi address is a Wi-Fi connection even if a
//!   tunnel route would now catch its destination;
//! - the destination is ours: in on the interface that owns it;
//! - neither (routed for a VM, container, Internet Sharing): forwarded, in
//!   on the interface whose route covers the source and out on the one
//!   whose route covers the destination (longest prefix, connected subnets
//!   included). A side no route explains gets [`UNKNOWN_INTERFACE`], which
//!   no interface pattern matches, so it is judged like an unknown physical
//!   interface: fail closed.

use std::net::IpAddr;

use airlock_shared::network::classify;
use airlock_shared::network::{InterfaceKind, NetworkSnapshot};
use airlock_shared::platform::Platform;
use airlock_shared::policy::{Packet, PacketPath, Policy, Protocol, SentBy, Verdict};

pub use airlock_shared::policy::Flow;

/// The interface name used when the snapshot cannot say where a packet
/// crosses. Not a valid interface name, so no policy rule names it.
pub const UNKNOWN_INTERFACE: &str = "?unknown";

/// Whether `policy` lets `flow` go on (both directions pass).
pub fn allowed(policy: &Policy, snapshot: &NetworkSnapshot, flow: &Flow) -> bool {
    let (first, reply) = packets(snapshot, flow);
    policy.decides(&first) == Verdict::Pass && policy.decides(&reply) == Verdict::Pass
}

/// The first packet of `flow` and a reply to it, as the policy sees them.
pub fn packets(snapshot: &NetworkSnapshot, flow: &Flow) -> (Packet, Packet) {
    let src_local = is_local(snapshot, flow.src);
    let dst_local = is_local(snapshot, flow.dst);
    let (there, back) = if src_local && dst_local {
        let lo = loopback_name(snapshot);
        (
            PacketPath::Out {
                interface: lo.clone(),
            },
            PacketPath::In { interface: lo },
        )
    } else if src_local {
        let iface = owner(snapshot, flow.src);
        (
            PacketPath::Out {
                interface: iface.clone(),
            },
            PacketPath::In { interface: iface },
        )
    } else if dst_local {
        let iface = owner(snapshot, flow.dst);
        (
            PacketPath::In {
                interface: iface.clone(),
            },
            PacketPath::Out { interface: iface },
        )
    } else {
        let from = route_interface(snapshot, flow.src);
        let to = route_interface(snapshot, flow.dst);
        (
            PacketPath::Forward {
                from: from.clone(),
                to: to.clone(),
            },
            PacketPath::Forward { from: to, to: from },
        )
    };
    let first = Packet {
        path: there,
        protocol: flow.protocol,
        src: flow.src,
        dst: flow.dst,
        src_port: flow.src_port,
        dst_port: flow.dst_port,
        icmp_type: flow.icmp_type,
        // Connection tracking keeps no hop limit, so the hop-limited
        // plumbing rules (ND, MLD, IGMP) keep no tracked connection: what
        // they pass is one-shot link-local traffic with nothing to cut.
        hop_limit: None,
        reply: false,
        // Conntrack keeps no socket owner either; see `SentBy::Unknown`.
        sent_by: SentBy::Unknown,
    };
    let reply = Packet {
        path: back,
        protocol: flow.protocol,
        src: flow.dst,
        dst: flow.src,
        src_port: flow.dst_port,
        dst_port: flow.src_port,
        icmp_type: flow.icmp_type.map(|t| reply_icmp_type(flow.protocol, t)),
        hop_limit: None,
        reply: true,
        sent_by: SentBy::Unknown,
    };
    (first, reply)
}

/// Echo and timestamp requests are answered with a different type.
fn reply_icmp_type(protocol: Protocol, t: u8) -> u8 {
    match (protocol, t) {
        (Protocol::Icmp, 8) => 0,
        (Protocol::Icmp, 13) => 14,
        (Protocol::Icmpv6, 128) => 129,
        _ => t,
    }
}

fn is_local(snapshot: &NetworkSnapshot, addr: IpAddr) -> bool {
    addr.is_loopback()
        || snapshot
            .interfaces
            .iter()
            .any(|i| i.addresses.iter().any(|a| a.addr() == addr))
}

/// The snapshot's loopback interface, or the platform's usual one when the
/// snapshot lists none: traffic between our own addresses never leaves the
/// machine, so guessing wrong here must not cut it.
fn loopback_name(snapshot: &NetworkSnapshot) -> String {
    snapshot
        .of_kind(InterfaceKind::Loopback)
        .next()
        .map(|i| i.name.clone())
        .unwrap_or_else(|| {
            classify::patterns(Platform::current(), InterfaceKind::Loopback)
                .first()
                .map_or_else(|| "lo".to_string(), |p| p.to_string())
        })
}

/// The interface holding local address `addr` (loopback for 127/8, ::1).
fn owner(snapshot: &NetworkSnapshot, addr: IpAddr) -> String {
    snapshot
        .interfaces
        .iter()
        .find(|i| i.addresses.iter().any(|a| a.addr() == addr))
        .map(|i| i.name.clone())
        .unwrap_or_else(|| loopback_name(snapshot))
}

/// The interface the longest matching route (or connected subnet) for
/// `addr` goes through.
fn route_interface(snapshot: &NetworkSnapshot, addr: IpAddr) -> String {
    let connected = snapshot.interfaces.iter().flat_map(|i| {
        i.addresses
            .iter()
            .map(move |a| (a.trunc(), i.name.as_str()))
    });
    let routed = snapshot
        .routes
        .iter()
        .map(|r| (r.destination.trunc(), r.interface.as_str()));
    connected
        .chain(routed)
        .filter(|(net, _)| net.contains(&addr))
        .max_by_key(|(net, _)| net.prefix_len())
        .map_or_else(
            || UNKNOWN_INTERFACE.to_string(),
            |(_, name)| name.to_string(),
        )
}
