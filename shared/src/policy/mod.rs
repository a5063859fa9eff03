//! The policy: a complete, typed statement of what may pass while the kill
//! switch is on. Built by [`build::build`] from Settings + NetworkSnapshot,
//! interpreted by [`Policy::decides`] (the reference semantics), and
//! translated rule by rule into pf or nft text by [`crate::render`].
//!
//! The model is an allow-list: an ordered list of pass [`Rule`]s; anything
//! no rule passes is rejected going out (so apps fail at once) and dropped
//! coming in. There is no platform `cfg` here: platforms differ only in the
//! interface names fed in and in the renderer.

pub mod build;
mod flow;
pub mod packet;

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::network::classify::{self, InterfaceKind};

pub use build::build;
pub use flow::Flow;
pub use packet::{Packet, PacketPath, SentBy, Verdict};

/// The side of the machine a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Arriving on an interface (to this machine or to be forwarded).
    In,
    /// Leaving on an interface (from this machine or forwarded).
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// IP protocols the policy names. Anything else is `Other(number)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Igmp,
    Other(u8),
}

impl Protocol {
    pub fn number(self) -> u8 {
        match self {
            Protocol::Icmp => 1,
            Protocol::Igmp => 2,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmpv6 => 58,
            Protocol::Other(n) => n,
        }
    }
}

impl From<crate::endpoint::Transport> for Protocol {
    fn from(t: crate::endpoint::Transport) -> Self {
        match t {
            crate::endpoint::Transport::Udp => Protocol::Udp,
            crate::endpoint::Transport::Tcp => Protocol::Tcp,
        }
    }
}

/// A named group of interfaces: the patterns that define it (`utun*`) and
/// the names of its members present now. nft matches the patterns as
/// wildcards; pf has no wildcards, so it lists names (see [`IfaceSet::expand`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfaceSet {
    pub kind: InterfaceKind,
    pub patterns: Vec<String>,
    pub present: Vec<String>,
}

/// How many unused numbers past the highest present one pf expansion
/// covers, so a VPN that comes back as `utun7` is allowed before the
/// helper re-renders. The helper re-renders when a higher one appears.
pub const PF_EXPANSION_HEADROOM: u32 = 16;

impl IfaceSet {
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| classify::matches(p, name))
    }

    /// Concrete names for a ruleset without wildcards: every exact pattern,
    /// `prefix0..=prefixN` for each `prefix*` with N the highest present
    /// number plus [`PF_EXPANSION_HEADROOM`], and every present name.
    pub fn expand(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for p in &self.patterns {
            match p.strip_suffix('*') {
                None => names.push(p.clone()),
                Some(prefix) => {
                    let highest = self
                        .present
                        .iter()
                        .filter_map(|n| n.strip_prefix(prefix)?.parse::<u32>().ok())
                        .max()
                        .unwrap_or(0);
                    let top = highest.saturating_add(PF_EXPANSION_HEADROOM);
                    names.extend((0..=top).map(|i| format!("{prefix}{i}")));
                }
            }
        }
        for n in &self.present {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
    }
}

/// Which interfaces a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interfaces {
    /// Any interface (the plumbing rules: harmless everywhere).
    Any,
    Only(IfaceSet),
}

/// The far side of a packet: destination going out, source coming in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remote {
    Any,
    Nets(Vec<IpNet>),
    /// The VPN endpoints: address, protocol and port together.
    Endpoints,
}

/// One pass rule. Every field narrows; `None`/`Any` means unrestricted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub direction: Direction,
    pub interfaces: Interfaces,
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    pub remote: Remote,
    /// Our side's address (destination coming in): used for multicast.
    pub local: Option<Vec<IpNet>>,
    pub remote_port: Option<u16>,
    pub local_port: Option<u16>,
    /// ICMPv6/ICMP types; empty means all.
    pub icmp_types: Vec<u8>,
    /// The exact IPv4 TTL / IPv6 hop limit the packet must carry, for the
    /// link-local protocols whose receivers check it (ND: 255, RFC 4861;
    /// MLD and IGMP: 1, RFC 3810 and 3376): a packet with any other value
    /// came from (or could go) beyond the link. Needs `family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
    /// Only packets sent by this user's sockets (going out; a routed
    /// packet has none and never matches): nft `meta skuid`, pf `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_uid: Option<u32>,
    /// Only packets of connections these rules already let through.
    pub replies_only: bool,
    /// A packet this passes in opens no way back out: its answer needs an
    /// outbound rule of its own. Only pf needs telling (`no state`: its
    /// states pass both directions); nft lets nothing out by conntrack.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_way_back: bool,
    /// One line for the ruleset comment: why this hole exists.
    pub why: String,
}

/// A time-limited pause: everything passes until `until` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub until: u64,
    /// Seconds left when the policy was built; nft hands this to the
    /// kernel as a set-element timeout so the lock comes back even if the
    /// helper is gone.
    pub remaining_secs: u64,
}

/// What the firewall should hold. `enforce == false` means "no ruleset".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub enforce: bool,
    pub pause: Option<Pause>,
    /// Sorted and de-duplicated by (address, protocol, port).
    pub endpoints: Vec<Endpoint>,
    /// Pass rules in the order the renderers emit them.
    pub rules: Vec<Rule>,
    /// Tunnel interfaces, kept for status and for pf re-expansion.
    pub tunnels: IfaceSet,
    /// While blocking: DNS goes to Airlock's filtering resolver, and only
    /// its own upstream queries leave the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_catch: Option<DnsCatch>,
    /// Whether (and how) the final block rules report what they refused,
    /// for "recently blocked". Logging changes no verdict.
    #[serde(default)]
    pub log_blocked: Option<BlockLog>,
}

/// How the final block/reject rules log what they refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLog {
    /// The NFLOG group the helper listens on (Linux; pf logs to `pflog0`).
    pub group: u16,
    /// Packets logged per second at most, enforced in the kernel (nft
    /// `limit`), so a flood of blocked packets cannot cost the helper CPU.
    /// pf has no such limit for `log`; the helper's table bounds it there.
    pub per_second: u32,
    /// Bytes of each packet handed over: enough for the IP and transport
    /// headers, never the contents.
    pub snaplen: u32,
}

impl Default for BlockLog {
    fn default() -> BlockLog {
        BlockLog {
            group: 7151,
            per_second: 50,
            snaplen: 128,
        }
    }
}

/// The filtering resolver's plumbing, decided by the policy: the
/// resolver's own queries may reach the network's resolvers on port 53.
/// nft tells them by the resolver's socket mark and also redirects every
/// other process's DNS to the resolver on loopback (so no system setting
/// changes); pf has no socket marks and cannot redirect outgoing packets,
/// so it tells them by the sending socket's owner (root: the helper, and
/// only other root processes, which could turn the firewall off anyway),
/// and macOS points the system's DNS at the resolver instead (the helper's
/// DNS switch, not the ruleset). [`Policy::decides`] models the packets of
/// every other process: unmarked, not root, their DNS loopback traffic
/// once redirected or switched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCatch {
    /// Loopback port the resolver listens on.
    pub resolver_port: u16,
    /// `SO_MARK` of the resolver's upstream sockets (nft).
    pub upstream_mark: u32,
    /// The uid the resolver runs as (pf's `user`): the helper's, root.
    #[serde(default)]
    pub upstream_uid: u32,
    /// The network's resolvers (non-loopback); empty means none to reach.
    pub upstreams: Vec<IpNet>,
}

impl Policy {
    /// A policy that loads no rules: the kill switch is off.
    pub fn off(tunnels: IfaceSet) -> Policy {
        Policy {
            enforce: false,
            pause: None,
            endpoints: Vec::new(),
            rules: Vec::new(),
            tunnels,
            dns_catch: None,
            log_blocked: None,
        }
    }

    /// The reference semantics every renderer is held to.
    pub fn decides(&self, packet: &Packet) -> Verdict {
        if !self.enforce || self.pause.is_some() {
            return Verdict::Pass;
        }
        match &packet.path {
            PacketPath::In { interface } => self.check(packet, Direction::In, interface),
            PacketPath::Out { interface } => self.check(packet, Direction::Out, interface),
            PacketPath::Forward { from, to } => {
                // The kernel lowers the hop limit before the forward hook
                // (Linux `ip_forward`/`ip6_forward`), so a forwarded packet
                // never carries 255 there: a rule that asks for the sender's
                // value (ND) cannot pass a routed packet.
                let routed = packet.forwarded();
                match self.check(&routed, Direction::In, from) {
                    Verdict::Pass => self.check(&routed, Direction::Out, to),
                    blocked => blocked,
                }
            }
        }
    }

    /// The first rule that passes `packet` in `direction` on `interface`.
    pub fn first_match(
        &self,
        packet: &Packet,
        direction: Direction,
        interface: &str,
    ) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.matches(self, packet, direction, interface))
    }

    fn check(&self, packet: &Packet, direction: Direction, interface: &str) -> Verdict {
        match self.first_match(packet, direction, interface) {
            Some(_) => Verdict::Pass,
            None => match direction {
                Direction::Out => Verdict::Reject,
                Direction::In => Verdict::Drop,
            },
        }
    }

    pub fn has_endpoint(&self, addr: IpAddr, protocol: Protocol, port: Option<u16>) -> bool {
        self.endpoints.iter().any(|e| {
            e.address == addr && Protocol::from(e.protocol) == protocol && Some(e.port) == port
        })
    }
}

impl Rule {
    /// Whether this rule passes `packet` seen in `direction` on `interface`.
    pub fn matches(
        &self,
        policy: &Policy,
        p: &Packet,
        direction: Direction,
        interface: &str,
    ) -> bool {
        let (remote_addr, local_addr, remote_port, local_port) = match direction {
            Direction::Out => (p.dst, p.src, p.dst_port, p.src_port),
            Direction::In => (p.src, p.dst, p.src_port, p.dst_port),
        };
        self.direction == direction
            && match &self.interfaces {
                Interfaces::Any => true,
                Interfaces::Only(set) => set.matches(interface),
            }
            && (!self.replies_only || p.reply)
            && self.family.is_none_or(|f| f == Family::of(&p.dst))
            && self.protocol.is_none_or(|pr| pr == p.protocol)
            && self
                .remote_port
                .is_none_or(|port| Some(port) == remote_port)
            && self.local_port.is_none_or(|port| Some(port) == local_port)
            && (self.icmp_types.is_empty()
                || p.icmp_type.is_some_and(|t| self.icmp_types.contains(&t)))
            && self.hop_limit.is_none_or(|h| p.hop_limit == Some(h))
            && self.sender_uid.is_none_or(|uid| p.sent_by.may_be(uid))
            && self
                .local
                .as_ref()
                .is_none_or(|nets| nets.iter().any(|n| n.contains(&local_addr)))
            && match &self.remote {
                Remote::Any => true,
                Remote::Nets(nets) => nets.iter().any(|n| n.contains(&remote_addr)),
                Remote::Endpoints => policy.has_endpoint(remote_addr, p.protocol, remote_port),
            }
    }
}
