//! The network plumbing a kill switch must never block, sent on purpose so
//! a scenario can check it still reaches the wire: DHCPv4 and DHCPv6
//! client messages, mDNS, an NDP neighbour solicitation, and a datagram to
//! the VPN endpoint. Without these a laptop behind a blocking kill switch
//! loses its address, its router and its VPN — "zero leaks" by breaking
//! the network is not a pass.
//!
//! Each function sends one packet from the calling thread's namespace out
//! of `dev` (see [`crate::Netns::enter`]); the meter decides what arrived.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use nix::net::if_::if_nametoindex;
use nix::sys::socket::{
    sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrIn6,
};

/// Which plumbing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plumbing {
    /// DHCPv4 DISCOVER-shaped datagram, 0.0.0.0:68 -> 255.255.255.255:67.
    Dhcpv4,
    /// DHCPv6 SOLICIT-shaped datagram, [::]:546 -> [ff02::1:2]:547.
    Dhcpv6,
    /// mDNS query to 224.0.0.251:5353.
    Mdns4,
    /// mDNS query to [ff02::fb]:5353.
    Mdns6,
    /// ICMPv6 neighbour solicitation for the router (hop limit 255).
    NeighbourSolicitation,
    /// One UDP datagram to the VPN server's endpoint.
    VpnEndpoint,
}

impl Plumbing {
    pub const ALL: [Plumbing; 6] = [
        Plumbing::Dhcpv4,
        Plumbing::Dhcpv6,
        Plumbing::Mdns4,
        Plumbing::Mdns6,
        Plumbing::NeighbourSolicitation,
        Plumbing::VpnEndpoint,
    ];

    /// Sends the packet out of `dev`.
    pub fn send(self, dev: &str) -> io::Result<()> {
        match self {
            Plumbing::Dhcpv4 => udp4_from(
                dev,
                68,
                SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
                &dhcpv4_discover(),
            ),
            Plumbing::Dhcpv6 => udp6_from(
                dev,
                546,
                Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
                547,
                &[1, 0x4c, 0x41, 0x42, 0, 8, 0, 2, 0, 0],
            ),
            Plumbing::Mdns4 => udp4_from(
                dev,
                0,
                SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 251), 5353),
                &mdns_query(),
            ),
            Plumbing::Mdns6 => udp6_from(
                dev,
                0,
                Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb),
                5353,
                &mdns_query(),
            ),
            Plumbing::NeighbourSolicitation => neighbour_solicitation(dev, crate::addr::ROUTER_V6),
            Plumbing::VpnEndpoint => udp4_from(
                dev,
                0,
                SocketAddrV4::new(crate::addr::VPN_SERVER, crate::addr::VPN_PORT),
                b"airlock-lab: not an OpenVPN packet, the server drops it",
            ),
        }
    }
}

fn udp4_from(dev: &str, port: u16, dst: SocketAddrV4, payload: &[u8]) -> io::Result<()> {
    let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
    setsockopt(&sock, sockopt::BindToDevice, &dev.into())?;
    sock.set_broadcast(true)?;
    sock.send_to(payload, dst)?;
    Ok(())
}

fn udp6_from(dev: &str, port: u16, group: Ipv6Addr, dport: u16, payload: &[u8]) -> io::Result<()> {
    let index = if_nametoindex(dev)?;
    let sock = UdpSocket::bind(SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::UNSPECIFIED,
        port,
        0,
        0,
    )))?;
    setsockopt(&sock, sockopt::BindToDevice, &dev.into())?;
    sock.send_to(payload, SocketAddrV6::new(group, dport, 0, index))?;
    Ok(())
}

/// A DHCPDISCOVER's fixed part and magic cookie: op 1, htype 1, hlen 6,
/// flags broadcast; enough for the wire to carry a real-looking message.
fn dhcpv4_discover() -> Vec<u8> {
    let mut m = vec![0u8; 240];
    m[0] = 1;
    m[1] = 1;
    m[2] = 6;
    m[4..8].copy_from_slice(&[0x4c, 0x41, 0x42, 0x01]);
    m[10] = 0x80;
    m[28..34].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x20]);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, 1, 255]);
    m
}

fn mdns_query() -> Vec<u8> {
    let mut q = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["airlock-lab", "local"] {
        q.push(u8::try_from(label.len()).unwrap_or(0));
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A neighbour solicitation for `target`, to its solicited-node group, hop
/// limit 255 as RFC 4861 requires (the kernel fills in the checksum).
fn neighbour_solicitation(dev: &str, target: Ipv6Addr) -> io::Result<()> {
    let index = if_nametoindex(dev)?;
    let fd = socket(
        AddressFamily::Inet6,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::IcmpV6,
    )?;
    setsockopt(&fd, sockopt::BindToDevice, &dev.into())?;
    setsockopt(&fd, sockopt::Ipv6MulticastHops, &255)?;
    let t = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut msg = vec![135, 0, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&t);
    sendto(
        fd.as_raw_fd(),
        &msg,
        &SockaddrIn6::from(SocketAddrV6::new(group, 0, 0, index)),
        MsgFlags::empty(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcpv4_discover_has_the_magic_cookie_and_a_message_type() {
        let m = dhcpv4_discover();
        assert_eq!(&m[236..240], &[99, 130, 83, 99]);
        assert_eq!(&m[240..243], &[53, 1, 1]);
        assert_eq!(m[0], 1, "BOOTREQUEST");
    }
}
