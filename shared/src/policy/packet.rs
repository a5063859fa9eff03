//! A packet as the policy sees it, and what the policy does with it.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Protocol;

/// Where a packet crosses the firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketPath {
    /// Arriving for this machine on `interface`.
    In { interface: String },
    /// Sent by this machine out of `interface`.
    Out { interface: String },
    /// Routed through this machine (a VM, a container, Internet Sharing):
    /// it must pass coming in on `from` and going out on `to`, exactly as
    /// pf filters it on both interfaces.
    Forward { from: String, to: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub path: PacketPath,
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub icmp_type: Option<u8>,
    /// IPv4 TTL / IPv6 hop limit as the sender set it; `None` when not
    /// known (a tracked connection), which no hop-limit rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
    /// Part of a connection the rules already let through (a reply).
    pub reply: bool,
    /// Whose socket sent it, for the rules that ask (`Rule::sender_uid`).
    #[serde(default, skip_serializing_if = "SentBy::is_unknown")]
    pub sent_by: SentBy,
}

/// Whose socket sent a packet, as far as the firewall can tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentBy {
    /// Not known: a tracked connection, when deciding whether to cut it.
    /// A rule for one user's sockets lets it go on, because the kernel
    /// checks the sender of every packet itself (nft `meta skuid`, pf
    /// `user`), so a connection of another user's gets no further packet
    /// out anyway, while cutting the VPN's own would drop the tunnel.
    #[default]
    Unknown,
    /// A socket of this user on this machine.
    User(u32),
    /// Routed through this machine: no local socket sent it.
    Routed,
}

impl SentBy {
    fn is_unknown(&self) -> bool {
        *self == SentBy::Unknown
    }

    /// Whether a rule for `uid`'s sockets passes this sender.
    pub fn may_be(self, uid: u32) -> bool {
        match self {
            SentBy::Unknown => true,
            SentBy::User(u) => u == uid,
            SentBy::Routed => false,
        }
    }
}

/// What happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Silently discarded (inbound: no answer to scanners).
    Drop,
    /// Refused with TCP RST / ICMP unreachable (outbound: apps fail fast).
    Reject,
}

impl Packet {
    fn new(path: PacketPath, protocol: Protocol, src: &str, dst: &str) -> Packet {
        Packet {
            path,
            protocol,
            src: parse_ip(src),
            dst: parse_ip(dst),
            src_port: None,
            dst_port: None,
            icmp_type: None,
            hop_limit: None,
            sent_by: SentBy::Unknown,
            reply: false,
        }
    }

    /// Test and documentation helper: an outbound packet. Panics on a bad
    /// address literal, which is a bug in the caller's source code.
    pub fn out(interface: &str, protocol: Protocol, src: &str, dst: &str) -> Packet {
        Packet::new(
            PacketPath::Out {
                interface: interface.into(),
            },
            protocol,
            src,
            dst,
        )
    }

    /// Test helper: an inbound packet.
    pub fn inbound(interface: &str, protocol: Protocol, src: &str, dst: &str) -> Packet {
        Packet::new(
            PacketPath::In {
                interface: interface.into(),
            },
            protocol,
            src,
            dst,
        )
    }

    /// Test helper: a forwarded packet.
    pub fn forward(from: &str, to: &str, protocol: Protocol, src: &str, dst: &str) -> Packet {
        Packet::new(
            PacketPath::Forward {
                from: from.into(),
                to: to.into(),
            },
            protocol,
            src,
            dst,
        )
    }

    pub fn ports(mut self, src: u16, dst: u16) -> Packet {
        self.src_port = Some(src);
        self.dst_port = Some(dst);
        self
    }

    pub fn icmp(mut self, icmp_type: u8) -> Packet {
        self.icmp_type = Some(icmp_type);
        self
    }

    /// The TTL / hop limit the sender set.
    pub fn hops(mut self, hop_limit: u8) -> Packet {
        self.hop_limit = Some(hop_limit);
        self
    }

    /// The packet as the forward hook sees it: one hop lower.
    pub fn forwarded(&self) -> Packet {
        let mut p = self.clone();
        p.hop_limit = p.hop_limit.map(|h| h.saturating_sub(1));
        p.sent_by = SentBy::Routed;
        p
    }

    /// Sent by a socket of user `uid`.
    pub fn from_user(mut self, uid: u32) -> Packet {
        self.sent_by = SentBy::User(uid);
        self
    }

    pub fn reply(mut self) -> Packet {
        self.reply = true;
        self
    }
}

fn parse_ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|_| panic!("bad address literal {s:?} in a Packet helper"))
}
