//! Linux routing table from `/proc/net/route` (IPv4, main table) and
//! `/proc/net/ipv6_route` (IPv6, every table). Pure parsers over the file
//! text, so they are tested with samples on any machine.
//!
//! Only routes that steer traffic are kept: routes that are not up,
//! reject/unreachable routes and the IPv6 local table's own-address
//! entries are left out, so what remains matches `ip route` / `ip -6
//! route` for the main table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::ParseError;
use super::Route;

/// `<linux/route.h>` and `<linux/ipv6_route.h>` flag bits.
const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;
const RTF_ANYCAST: u32 = 0x0010_0000;
const RTF_LOCAL: u32 = 0x8000_0000;

/// Parses `/proc/net/route`. The kernel prints each address as the
/// native-endian integer of its network-order bytes (`%08X`), so this
/// reads them back with the same byte order: correct for the machine the
/// file comes from.
pub fn parse_ipv4(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() || f[0] == "Iface" {
            continue;
        }
        if f.len() < 8 {
            return Err(ParseError::new(
                n,
                format!("expected at least 8 fields, found {}", f.len()),
            ));
        }
        let flags = hex_u32(f[3], n, "flags")?;
        if flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            continue;
        }
        let dst = Ipv4Addr::from(hex_u32(f[1], n, "destination")?.to_ne_bytes());
        let gw = Ipv4Addr::from(hex_u32(f[2], n, "gateway")?.to_ne_bytes());
        let mask = Ipv4Addr::from(hex_u32(f[7], n, "mask")?.to_ne_bytes());
        let prefix = ipnet::ipv4_mask_to_prefix(mask)
            .map_err(|_| ParseError::new(n, format!("mask {mask} is not contiguous")))?;
        let destination =
            IpNet::new(IpAddr::V4(dst), prefix).map_err(|e| ParseError::new(n, e.to_string()))?;
        routes.push(Route {
            destination,
            gateway: (flags & RTF_GATEWAY != 0 && !gw.is_unspecified()).then_some(IpAddr::V4(gw)),
            interface: f[0].to_string(),
        });
    }
    Ok(routes)
}

/// Parses `/proc/net/ipv6_route`: destination, prefix length, source,
/// source prefix length, next hop, metric, refcount, use, flags, device;
/// addresses as 32 hex digits in network order.
pub fn parse_ipv6(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 10 {
            return Err(ParseError::new(
                n,
                format!("expected 10 fields, found {}", f.len()),
            ));
        }
        let flags = hex_u32(f[8], n, "flags")?;
        if flags & RTF_UP == 0 || flags & (RTF_REJECT | RTF_LOCAL | RTF_ANYCAST) != 0 {
            continue;
        }
        let dst = hex_v6(f[0], n, "destination")?;
        let prefix = u8::from_str_radix(f[1], 16)
            .map_err(|_| ParseError::new(n, format!("prefix length {:?} is not hex", f[1])))?;
        let destination =
            IpNet::new(IpAddr::V6(dst), prefix).map_err(|e| ParseError::new(n, e.to_string()))?;
        let gw = hex_v6(f[4], n, "next hop")?;
        routes.push(Route {
            destination,
            gateway: (flags & RTF_GATEWAY != 0 && !gw.is_unspecified()).then_some(IpAddr::V6(gw)),
            interface: f[9].to_string(),
        });
    }
    Ok(routes)
}

fn hex_u32(s: &str, line: usize, what: &str) -> Result<u32, ParseError> {
    u32::from_str_radix(s, 16)
        .map_err(|_| ParseError::new(line, format!("{what} {s:?} is not hex")))
}

fn hex_v6(s: &str, line: usize, what: &str) -> Result<Ipv6Addr, ParseError> {
    if s.len() != 32 {
        return Err(ParseError::new(
            line,
            format!("{what} {s:?} is not 32 hex digits"),
        ));
    }
    u128::from_str_radix(s, 16)
        .map(Ipv6Addr::from)
        .map_err(|_| ParseError::new(line, format!("{what} {s:?} is not hex")))
}

// The IPv4 samples are what a little-endian kernel prints (x86, arm64).
#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    fn show(routes: &[Route]) -> Vec<String> {
        routes
            .iter()
            .map(|r| match r.gateway {
                Some(g) => format!("{} via {} dev {}", r.destination, g, r.interface),
                None => format!("{} dev {}", r.destination, r.interface),
            })
            .collect()
    }

    /// A laptop on Wi-Fi with OpenVPN up: the server's host route via the
    /// home router, the split default routes 0.0.0.0/1 + 128.0.0.0/1
    /// through the tunnel (`redirect-gateway def1`), the original default
    /// route left in place, a link-local route and a reject route.
    const OPENVPN_V4: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0                                                                               
tun0\t00000000\t0100080A\t0003\t0\t0\t0\t00000080\t0\t0\t0                                                                                
tun0\t00000080\t0100080A\t0003\t0\t0\t0\t00000080\t0\t0\t0                                                                                
tun0\t0000080A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                                
wlan0\t0000FEA9\t00000000\t0001\t0\t0\t1000\t0000FFFF\t0\t0\t0                                                                            
wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0                                                                             
wlan0\t076433C6\t0101A8C0\t0007\t0\t0\t0\tFFFFFFFF\t0\t0\t0                                                                               
*\t0000000A\t00000000\t0201\t0\t0\t0\t000000FF\t0\t0\t0                                                                                   
virbr0\t007AA8C0\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                              
";

    #[test]
    fn ipv4_openvpn_split_default_and_server_host_route() {
        let routes = parse_ipv4(OPENVPN_V4).unwrap();
        assert_eq!(
            show(&routes),
            [
                "0.0.0.0/0 via 192.168.1.1 dev wlan0",
                "0.0.0.0/1 via 10.8.0.1 dev tun0",
                "128.0.0.0/1 via 10.8.0.1 dev tun0",
                "10.8.0.0/24 dev tun0",
                "169.254.0.0/16 dev wlan0",
                "192.168.1.0/24 dev wlan0",
                "198.51.100.7/32 via 192.168.1.1 dev wlan0",
            ]
        );
        assert!(routes[0].is_default());
        assert!(!routes[1].is_default(), "/1 is not a default route");
        assert!(routes[6].is_host());
    }

    #[test]
    fn ipv4_rejects_garbage_with_line_number() {
        let err =
            parse_ipv4("Iface\tDestination\nwlan0\t0000zz00\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
                .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("destination"), "{err}");
        let err =
            parse_ipv4("eth0\t00000000\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0\n").unwrap_err();
        assert!(err.message.contains("not contiguous"), "{err}");
        assert_eq!(parse_ipv4("eth0 0000\n").unwrap_err().line, 1);
    }

    /// Taken from a Linux host with IPv6 and an OpenVPN tunnel: the
    /// tunnel's split routes ::/1 + 8000::/1, a host route to the server,
    /// the default route via a link-local router, local-table entries
    /// (flags 80200001), the multicast route and the kernel's null
    /// reject route on `lo`.
    const OPENVPN_V6: &str = "\
20010db8000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    wlan0
fd000008000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     tun0
00000000000000000000000000000000 01 00000000000000000000000000000000 00 fd000008000000000000000000000001 00000400 00000001 00000000 00000003     tun0
80000000000000000000000000000000 01 00000000000000000000000000000000 00 fd000008000000000000000000000001 00000400 00000001 00000000 00000003     tun0
20010db8000700000000000000000001 80 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003    wlan0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    wlan0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000002 00000000 00000003    wlan0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
20010db8000100000000000000000020 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001    wlan0
20010db8000100000000000000000000 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80100001    wlan0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001    wlan0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";

    #[test]
    fn ipv6_split_routes_host_route_and_no_local_table() {
        let routes = parse_ipv6(OPENVPN_V6).unwrap();
        assert_eq!(
            show(&routes),
            [
                "2001:db8:1::/64 dev wlan0",
                "fd00:8::/64 dev tun0",
                "::/1 via fd00:8::1 dev tun0",
                "8000::/1 via fd00:8::1 dev tun0",
                "2001:db8:7::1/128 via fe80::1 dev wlan0",
                "fe80::/64 dev wlan0",
                "::/0 via fe80::1 dev wlan0",
                "ff00::/8 dev wlan0",
            ]
        );
        assert_eq!(routes.iter().filter(|r| r.is_default()).count(), 1);
        assert!(routes[4].is_host());
    }

    #[test]
    fn ipv6_rejects_short_lines_and_bad_hex() {
        assert_eq!(parse_ipv6("0000 00\n").unwrap_err().line, 1);
        let bad = OPENVPN_V6.replacen("20010db8", "2001xdb8", 1);
        assert!(parse_ipv6(&bad)
            .unwrap_err()
            .message
            .contains("destination"));
        let bad = OPENVPN_V6.replacen(" 40 ", " 4g ", 1);
        assert!(parse_ipv6(&bad).is_err());
        let bad = OPENVPN_V6.replacen(" 40 ", " 81 ", 1);
        assert!(parse_ipv6(&bad).is_err(), "prefix 129 is out of range");
    }
}
