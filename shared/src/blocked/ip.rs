//! The IPv4/IPv6 and TCP/UDP/ICMP headers at the start of a logged packet.
//!
//! The kernel hands over only the first bytes of each refused packet (a
//! small copy range), so a transport header may be cut short: the addresses
//! and protocol are then still reported, the ports are `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::protocol_from_number;
use crate::policy::{Flow, Protocol};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IpError {
    #[error("packet is empty")]
    Empty,
    #[error("IP version {0} is neither 4 nor 6")]
    Version(u8),
    #[error("IPv{version} header cut short: {len} bytes")]
    Short { version: u8, len: usize },
    #[error("IPv4 header length {0} is below the minimum of 20 bytes")]
    BadIhl(usize),
}

/// IPv6 extension headers skipped to find the transport header (hop-by-hop,
/// routing, destination options). Fragments stop the walk: later fragments
/// carry no ports.
const V6_EXT_HOP: u8 = 0;
const V6_EXT_ROUTING: u8 = 43;
const V6_EXT_DSTOPTS: u8 = 60;
/// At most this many extension headers are walked, so a crafted chain
/// cannot cost time.
const V6_MAX_EXT: usize = 8;

/// The parts of an IP packet the blocked list shows: its 5-tuple (and
/// ICMP type), read from the header and the start of the transport header.
pub fn parse(bytes: &[u8]) -> Result<Flow, IpError> {
    let first = *bytes.first().ok_or(IpError::Empty)?;
    match first >> 4 {
        4 => parse_v4(bytes),
        6 => parse_v6(bytes),
        v => Err(IpError::Version(v)),
    }
}

fn parse_v4(b: &[u8]) -> Result<Flow, IpError> {
    if b.len() < 20 {
        return Err(IpError::Short {
            version: 4,
            len: b.len(),
        });
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(IpError::BadIhl(ihl));
    }
    let src = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
    let frag_offset = u16::from_be_bytes([b[6], b[7]]) & 0x1fff;
    let protocol = protocol_from_number(b[9]);
    // A non-first fragment starts mid-payload: no transport header.
    let transport = if frag_offset == 0 {
        b.get(ihl..).unwrap_or(&[])
    } else {
        &[]
    };
    Ok(summary(protocol, src.into(), dst.into(), transport))
}

fn parse_v6(b: &[u8]) -> Result<Flow, IpError> {
    if b.len() < 40 {
        return Err(IpError::Short {
            version: 6,
            len: b.len(),
        });
    }
    let mut addr = [0u8; 16];
    addr.copy_from_slice(&b[8..24]);
    let src = Ipv6Addr::from(addr);
    addr.copy_from_slice(&b[24..40]);
    let dst = Ipv6Addr::from(addr);
    let mut next = b[6];
    let mut at = 40usize;
    for _ in 0..V6_MAX_EXT {
        if !matches!(next, V6_EXT_HOP | V6_EXT_ROUTING | V6_EXT_DSTOPTS) {
            break;
        }
        match b.get(at..at + 2) {
            Some(h) => {
                next = h[0];
                at += (usize::from(h[1]) + 1) * 8;
            }
            None => {
                // Cut short inside the extension headers: the protocol
                // stays the extension header's number, no ports.
                return Ok(summary(
                    protocol_from_number(next),
                    src.into(),
                    dst.into(),
                    &[],
                ));
            }
        }
    }
    let transport = b.get(at..).unwrap_or(&[]);
    Ok(summary(
        protocol_from_number(next),
        src.into(),
        dst.into(),
        transport,
    ))
}

fn summary(protocol: Protocol, src: IpAddr, dst: IpAddr, t: &[u8]) -> Flow {
    let mut s = Flow {
        protocol,
        src,
        dst,
        src_port: None,
        dst_port: None,
        icmp_type: None,
    };
    match protocol {
        Protocol::Tcp | Protocol::Udp if t.len() >= 4 => {
            s.src_port = Some(u16::from_be_bytes([t[0], t[1]]));
            s.dst_port = Some(u16::from_be_bytes([t[2], t[3]]));
        }
        Protocol::Icmp | Protocol::Icmpv6 => s.icmp_type = t.first().copied(),
        _ => {}
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 header (no options) with the given protocol and transport bytes.
    pub(crate) fn v4(proto: u8, src: [u8; 4], dst: [u8; 4], transport: &[u8]) -> Vec<u8> {
        let total = (20 + transport.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(transport);
        p
    }

    pub(crate) fn ports(src: u16, dst: u16) -> Vec<u8> {
        let mut t = src.to_be_bytes().to_vec();
        t.extend_from_slice(&dst.to_be_bytes());
        t.extend_from_slice(&[0; 4]);
        t
    }

    fn v6(next: u8, rest: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(rest.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        let src: Ipv6Addr = "fd00::2".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::53".parse().unwrap();
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(rest);
        p
    }

    #[test]
    fn v4_udp_dns() {
        let p = v4(17, [192, 168, 1, 20], [192, 168, 1, 1], &ports(50000, 53));
        let s = parse(&p).unwrap();
        assert_eq!(s.protocol, Protocol::Udp);
        assert_eq!(s.src, "192.168.1.20".parse::<IpAddr>().unwrap());
        assert_eq!(s.dst, "192.168.1.1".parse::<IpAddr>().unwrap());
        assert_eq!((s.src_port, s.dst_port), (Some(50000), Some(53)));
    }

    #[test]
    fn v4_with_options_skips_them() {
        let mut p = v4(6, [10, 0, 0, 1], [10, 0, 0, 2], &[]);
        p[0] = 0x46; // IHL 6 words: 4 bytes of options
        p.extend_from_slice(&[1, 1, 1, 0]);
        p.extend_from_slice(&ports(1234, 443));
        let s = parse(&p).unwrap();
        assert_eq!((s.src_port, s.dst_port), (Some(1234), Some(443)));
    }

    #[test]
    fn v4_later_fragment_has_no_ports() {
        let mut p = v4(17, [10, 0, 0, 1], [10, 0, 0, 2], &ports(1, 2));
        p[6] = 0x00;
        p[7] = 0x10; // offset 16 * 8 bytes
        let s = parse(&p).unwrap();
        assert_eq!(s.dst_port, None);
    }

    #[test]
    fn v4_icmp_type() {
        let p = v4(1, [10, 0, 0, 1], [10, 0, 0, 2], &[8, 0, 0, 0]);
        let s = parse(&p).unwrap();
        assert_eq!((s.protocol, s.icmp_type), (Protocol::Icmp, Some(8)));
    }

    #[test]
    fn cut_short_transport_keeps_addresses() {
        let p = v4(6, [10, 0, 0, 1], [10, 0, 0, 2], &[0x04]);
        let s = parse(&p).unwrap();
        assert_eq!(s.protocol, Protocol::Tcp);
        assert_eq!(s.dst_port, None);
    }

    #[test]
    fn v6_tcp_through_an_extension_header() {
        let mut rest = vec![6, 0, 0, 0, 0, 0, 0, 0]; // dst-opts, 8 bytes, next TCP
        rest.extend_from_slice(&ports(40000, 443));
        let p = v6(60, &rest);
        let s = parse(&p).unwrap();
        assert_eq!(s.protocol, Protocol::Tcp);
        assert_eq!(s.dst, "2001:db8::53".parse::<IpAddr>().unwrap());
        assert_eq!(s.dst_port, Some(443));
    }

    #[test]
    fn v6_icmpv6() {
        let p = v6(58, &[128, 0, 0, 0]);
        assert_eq!(parse(&p).unwrap().icmp_type, Some(128));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert_eq!(parse(&[]), Err(IpError::Empty));
        assert_eq!(parse(&[0x20; 40]), Err(IpError::Version(2)));
        assert_eq!(
            parse(&[0x45; 10]),
            Err(IpError::Short {
                version: 4,
                len: 10
            })
        );
        assert_eq!(parse(&[0x41; 20]), Err(IpError::BadIhl(4)));
        assert!(matches!(parse(&[0x60; 39]), Err(IpError::Short { .. })));
    }

    #[test]
    fn every_truncation_is_an_answer_not_a_panic() {
        let p = v4(17, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 2));
        for n in 0..p.len() {
            let _ = parse(&p[..n]);
        }
        let q = v6(0, &[0xff, 0xff]);
        for n in 0..q.len() {
            let _ = parse(&q[..n]);
        }
    }
}
