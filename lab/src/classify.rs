//! What counts as a leak: every frame the client puts on the wire is either
//! plumbing the kill switch must let through (the VPN's own UDP, DHCP, NDP,
//! MLD, IGMP, mDNS) or a leak. Pure, so the definition is tested on its own
//! with hand-built frames instead of only through tcpdump.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a captured frame is allowed on the wire, or that it is a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// UDP to a VPN endpoint: the tunnel itself.
    Vpn,
    /// DHCPv4 client to server (68 -> 67).
    Dhcpv4,
    /// DHCPv6 client to server (546 -> 547).
    Dhcpv6,
    /// mDNS to 224.0.0.251 / ff02::fb port 5353.
    Mdns,
    /// ICMPv6 router/neighbour discovery (133-136).
    Ndp,
    /// ICMPv6 multicast listener discovery (130-132, 143).
    Mld,
    /// IGMP.
    Igmp,
    /// Not IP at all (ARP): below what a kill switch filters.
    NonIp,
    /// The meter's own end-of-capture marker (an mDNS packet it sends).
    Marker,
    /// Anything else: traffic that left outside the tunnel.
    Leak,
}

impl Class {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Vpn => "vpn",
            Class::Dhcpv4 => "dhcpv4",
            Class::Dhcpv6 => "dhcpv6",
            Class::Mdns => "mdns",
            Class::Ndp => "ndp",
            Class::Mld => "mld",
            Class::Igmp => "igmp",
            Class::NonIp => "non-ip",
            Class::Marker => "marker",
            Class::Leak => "LEAK",
        }
    }
}

/// Transport protocol of a captured IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Igmp,
    Other(u8),
}

impl Proto {
    fn from_number(n: u8) -> Self {
        match n {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 => Proto::Icmp,
            58 => Proto::Icmpv6,
            2 => Proto::Igmp,
            other => Proto::Other(other),
        }
    }
}

/// The headers of one captured IP packet: enough to say what leaked.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketSummary {
    /// Capture time, seconds since the epoch (from the pcap record).
    pub time: f64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: Proto,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// ICMP/ICMPv6 type.
    pub icmp_type: Option<u8>,
    /// TCP flags byte (SYN = 0x02, RST = 0x04, ACK = 0x10).
    pub tcp_flags: Option<u8>,
    /// Length of the frame on the wire.
    pub len: usize,
}

impl PacketSummary {
    /// True for a TCP packet with SYN set and ACK clear: a new connection.
    pub fn is_tcp_syn(&self) -> bool {
        self.tcp_flags.is_some_and(|f| f & 0x12 == 0x02)
    }
}

impl fmt::Display for PacketSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ep = |ip: IpAddr, port: Option<u16>| match port {
            Some(p) => SocketAddr::new(ip, p).to_string(),
            None => ip.to_string(),
        };
        write!(
            f,
            "{:?} {} -> {}",
            self.proto,
            ep(self.src, self.sport),
            ep(self.dst, self.dport)
        )?;
        if let Some(t) = self.icmp_type {
            write!(f, " type {t}")?;
        }
        if let Some(flags) = self.tcp_flags {
            write!(f, " flags {flags:#04x}")?;
        }
        write!(f, " ({} B)", self.len)
    }
}

/// The rules of the meter: which UDP endpoints are the VPN, and the payload
/// prefix of the meter's marker.
#[derive(Debug, Clone)]
pub struct Classifier {
    pub vpn_endpoints: Vec<SocketAddr>,
    pub marker: Vec<u8>,
}

const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

struct Parsed<'a> {
    summary: PacketSummary,
    /// The transport payload (UDP data), where there is one.
    payload: &'a [u8],
}

impl Classifier {
    /// Classifies one Ethernet frame. The summary is `None` only for
    /// non-IP frames (and truncated garbage, which is reported as a leak
    /// without headers rather than silently allowed).
    pub fn classify(&self, frame: &[u8]) -> (Class, Option<PacketSummary>) {
        let Some((ethertype, l3)) = ethernet(frame) else {
            return (Class::Leak, None);
        };
        let parsed = match ethertype {
            0x0800 => ipv4(l3, frame.len()),
            0x86dd => ipv6(l3, frame.len()),
            _ => return (Class::NonIp, None),
        };
        let Some(p) = parsed else {
            return (Class::Leak, None);
        };
        (self.class_of(&p), Some(p.summary))
    }

    fn class_of(&self, p: &Parsed<'_>) -> Class {
        let s = &p.summary;
        match (s.proto, s.sport, s.dport) {
            (Proto::Udp, _, Some(dport))
                if self.vpn_endpoints.contains(&SocketAddr::new(s.dst, dport)) =>
            {
                Class::Vpn
            }
            (Proto::Udp, Some(68), Some(67)) if s.dst.is_ipv4() => Class::Dhcpv4,
            (Proto::Udp, Some(546), Some(547)) if s.dst.is_ipv6() => Class::Dhcpv6,
            (Proto::Udp, _, Some(5353))
                if s.dst == IpAddr::V4(MDNS_V4) || s.dst == IpAddr::V6(MDNS_V6) =>
            {
                if !self.marker.is_empty() && p.payload.starts_with(&self.marker) {
                    Class::Marker
                } else {
                    Class::Mdns
                }
            }
            (Proto::Icmpv6, ..) => match s.icmp_type {
                Some(133..=136) => Class::Ndp,
                Some(130..=132 | 143) => Class::Mld,
                _ => Class::Leak,
            },
            (Proto::Igmp, ..) => Class::Igmp,
            _ => Class::Leak,
        }
    }
}

/// The summary and UDP payload of an Ethernet frame, for a look inside
/// what was classified (which name a DNS query on the wire asked).
pub fn udp_payload(frame: &[u8]) -> Option<(PacketSummary, &[u8])> {
    let (ethertype, l3) = ethernet(frame)?;
    let p = match ethertype {
        0x0800 => ipv4(l3, frame.len())?,
        0x86dd => ipv6(l3, frame.len())?,
        _ => return None,
    };
    (p.summary.proto == Proto::Udp).then_some((p.summary, p.payload))
}

fn ethernet(frame: &[u8]) -> Option<(u16, &[u8])> {
    let mut ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let mut rest = frame.get(14..)?;
    if ethertype == 0x8100 {
        ethertype = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
        rest = rest.get(4..)?;
    }
    Some((ethertype, rest))
}

fn ipv4(h: &[u8], len: usize) -> Option<Parsed<'_>> {
    if h.first()? >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let proto = *h.get(9)?;
    let src: [u8; 4] = h.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = h.get(16..20)?.try_into().ok()?;
    let frag_offset = u16::from_be_bytes([*h.get(6)?, *h.get(7)?]) & 0x1fff;
    // A later fragment carries no transport header.
    let l4 = if frag_offset == 0 { h.get(ihl..) } else { None };
    Some(transport(
        IpAddr::from(src),
        IpAddr::from(dst),
        proto,
        l4,
        len,
    ))
}

fn ipv6(h: &[u8], len: usize) -> Option<Parsed<'_>> {
    if h.first()? >> 4 != 6 {
        return None;
    }
    let src: [u8; 16] = h.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = h.get(24..40)?.try_into().ok()?;
    let mut next = *h.get(6)?;
    let mut off = 40;
    // Walk extension headers: MLD reports come behind a hop-by-hop header.
    let l4 = loop {
        match next {
            0 | 43 | 60 => {
                next = *h.get(off)?;
                off += (usize::from(*h.get(off + 1)?) + 1) * 8;
            }
            44 => {
                let frag = u16::from_be_bytes([*h.get(off + 2)?, *h.get(off + 3)?]) >> 3;
                next = *h.get(off)?;
                off += 8;
                if frag != 0 {
                    break None;
                }
            }
            _ => break h.get(off..),
        }
    };
    Some(transport(
        IpAddr::from(src),
        IpAddr::from(dst),
        next,
        l4,
        len,
    ))
}

fn transport<'a>(
    src: IpAddr,
    dst: IpAddr,
    proto_number: u8,
    l4: Option<&'a [u8]>,
    len: usize,
) -> Parsed<'a> {
    let proto = Proto::from_number(proto_number);
    let mut summary = PacketSummary {
        time: 0.0,
        src,
        dst,
        proto,
        sport: None,
        dport: None,
        icmp_type: None,
        tcp_flags: None,
        len,
    };
    let mut payload: &[u8] = &[];
    if let Some(l4) = l4 {
        let port = |at: usize| Some(u16::from_be_bytes([*l4.get(at)?, *l4.get(at + 1)?]));
        match proto {
            Proto::Tcp | Proto::Udp => {
                summary.sport = port(0);
                summary.dport = port(2);
                if proto == Proto::Tcp {
                    summary.tcp_flags = l4.get(13).copied();
                } else {
                    payload = l4.get(8..).unwrap_or_default();
                }
            }
            Proto::Icmp | Proto::Icmpv6 => summary.icmp_type = l4.first().copied(),
            _ => {}
        }
    }
    Parsed { summary, payload }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        Classifier {
            vpn_endpoints: vec!["198.51.100.7:1194".parse().unwrap()],
            marker: b"MARK".to_vec(),
        }
    }

    fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(l3);
        f
    }

    fn v4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(l4);
        eth(0x0800, &h)
    }

    fn v6(next: u8, dst: Ipv6Addr, ext_and_l4: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 255];
        h.extend_from_slice(&"2001:db8:1::20".parse::<Ipv6Addr>().unwrap().octets());
        h.extend_from_slice(&dst.octets());
        h.extend_from_slice(ext_and_l4);
        eth(0x86dd, &h)
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut l4 = sport.to_be_bytes().to_vec();
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&[0, 0, 0, 0]);
        l4.extend_from_slice(payload);
        l4
    }

    const CLIENT: [u8; 4] = [192, 168, 1, 20];

    #[test]
    fn the_tunnels_own_udp_is_allowed_but_other_ports_to_the_server_leak() {
        let c = classifier();
        let to_vpn = v4(17, CLIENT, [198, 51, 100, 7], &udp(40000, 1194, b""));
        assert_eq!(c.classify(&to_vpn).0, Class::Vpn);
        let other_port = v4(17, CLIENT, [198, 51, 100, 7], &udp(40000, 1195, b""));
        assert_eq!(c.classify(&other_port).0, Class::Leak);
        let tcp_same_port = {
            let mut l4 = udp(40000, 1194, b"");
            l4.resize(20, 0);
            v4(6, CLIENT, [198, 51, 100, 7], &l4)
        };
        assert_eq!(c.classify(&tcp_same_port).0, Class::Leak);
    }

    #[test]
    fn tcp_syn_is_a_leak_with_its_ports_and_flags() {
        let mut l4 = udp(40000, 80, b"");
        l4.resize(20, 0);
        l4[13] = 0x02;
        let (class, s) = classifier().classify(&v4(6, CLIENT, [203, 0, 113, 80], &l4));
        let s = s.unwrap();
        assert_eq!(class, Class::Leak);
        assert_eq!((s.sport, s.dport), (Some(40000), Some(80)));
        assert!(s.is_tcp_syn());
        assert_eq!(s.dst, "203.0.113.80".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn dhcp_only_in_the_client_to_server_direction() {
        let c = classifier();
        let req = v4(17, [0; 4], [255; 4], &udp(68, 67, b""));
        assert_eq!(c.classify(&req).0, Class::Dhcpv4);
        let wrong_way = v4(17, CLIENT, [255; 4], &udp(67, 68, b""));
        assert_eq!(c.classify(&wrong_way).0, Class::Leak);
        let solicit = v6(17, "ff02::1:2".parse().unwrap(), &udp(546, 547, b""));
        assert_eq!(c.classify(&solicit).0, Class::Dhcpv6);
    }

    #[test]
    fn mdns_marker_and_unicast_5353() {
        let c = classifier();
        let mdns = v4(17, CLIENT, [224, 0, 0, 251], &udp(5353, 5353, b"query"));
        assert_eq!(c.classify(&mdns).0, Class::Mdns);
        let marker = v4(17, CLIENT, [224, 0, 0, 251], &udp(40000, 5353, b"MARK 1"));
        assert_eq!(c.classify(&marker).0, Class::Marker);
        let unicast = v4(17, CLIENT, [203, 0, 113, 80], &udp(5353, 5353, b"MARK"));
        assert_eq!(c.classify(&unicast).0, Class::Leak);
        let v6mdns = v6(17, MDNS_V6, &udp(5353, 5353, b""));
        assert_eq!(c.classify(&v6mdns).0, Class::Mdns);
    }

    #[test]
    fn icmpv6_plumbing_behind_hop_by_hop_but_echo_leaks() {
        let c = classifier();
        let ns = v6(58, "ff02::1:ff00:1".parse().unwrap(), &[135, 0, 0, 0]);
        assert_eq!(c.classify(&ns).0, Class::Ndp);
        // MLDv2 report: hop-by-hop header (8 bytes, router alert) then ICMPv6 143.
        let mut hbh = vec![58, 0, 5, 2, 0, 0, 1, 0];
        hbh.extend_from_slice(&[143, 0, 0, 0]);
        let mld = v6(0, "ff02::16".parse().unwrap(), &hbh);
        assert_eq!(c.classify(&mld).0, Class::Mld);
        let echo = v6(58, "2001:db8:80::80".parse().unwrap(), &[128, 0, 0, 0]);
        let (class, s) = c.classify(&echo);
        assert_eq!(class, Class::Leak);
        assert_eq!(s.unwrap().icmp_type, Some(128));
    }

    #[test]
    fn igmp_allowed_icmp_echo_leaks_arp_is_not_ip() {
        let c = classifier();
        assert_eq!(
            c.classify(&v4(2, CLIENT, [224, 0, 0, 22], &[0x22])).0,
            Class::Igmp
        );
        assert_eq!(
            c.classify(&v4(1, CLIENT, [203, 0, 113, 80], &[8, 0])).0,
            Class::Leak
        );
        assert_eq!(c.classify(&eth(0x0806, &[0; 28])).0, Class::NonIp);
    }

    #[test]
    fn truncated_ip_is_reported_not_allowed() {
        let c = classifier();
        assert_eq!(c.classify(&eth(0x0800, &[0x45, 0])), (Class::Leak, None));
    }
}
