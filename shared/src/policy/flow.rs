//! The one 5-tuple type: what identifies a connection or a packet's
//! ends, without where it crosses the firewall ([`super::PacketPath`]).
//! The helper's tracked connections (conntrack, pf states) and the blocked
//! log's parsed packets are both this.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Protocol;

/// A connection (or one packet of it) in its original direction: who sent
/// the first packet, to whom.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flow {
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TCP and UDP only.
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// ICMP and ICMPv6 only.
    pub icmp_type: Option<u8>,
}
