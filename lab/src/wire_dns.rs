//! DNS on the wire: every UDP query to port 53 the meter captured, with the
//! name it asked. The meter counts any DNS as a leak; a test of the
//! filtering resolver needs to tell the helper's own queries for the VPN
//! server's name (the one kind it lets out) from anything else.

use std::net::{IpAddr, SocketAddr};

use airlock_shared::dns::parse_query;

use crate::classify::udp_payload;
use crate::meter::Capture;

/// One DNS query seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireQuery {
    pub src: SocketAddr,
    pub dst: IpAddr,
    /// The question's name (lower case, no trailing dot), `None` when the
    /// payload is not a query Airlock's own parser accepts.
    pub name: Option<String>,
    pub qtype: Option<u16>,
}

/// The DNS queries (UDP to port 53) in `capture`'s frames, in order.
pub fn dns_queries(capture: &Capture) -> Vec<WireQuery> {
    capture
        .frames
        .iter()
        .filter_map(|(_, frame)| {
            let (s, payload) = udp_payload(frame)?;
            if s.dport != Some(53) {
                return None;
            }
            let q = parse_query(payload).ok();
            Some(WireQuery {
                src: SocketAddr::new(s.src, s.sport.unwrap_or(0)),
                dst: s.dst,
                name: q.as_ref().map(|q| {
                    q.question
                        .name
                        .to_string()
                        .trim_end_matches('.')
                        .to_ascii_lowercase()
                }),
                qtype: q.map(|q| q.question.qtype),
            })
        })
        .collect()
}
