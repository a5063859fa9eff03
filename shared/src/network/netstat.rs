//! macOS routing table from `netstat -rn` (`-f inet`, `-f inet6`). A pure
//! parser over the command's text; the command itself is run by
//! `live_macos`.
//!
//! UNVERIFIED ON A MAC: the samples in the tests were written from the
//! netstat(1) man page and Darwin's `route.c` (how `netname()` shortens
//! destinations), not captured from a machine. The parser is deliberately
//! lenient about columns: it finds `Netif` in the header line, so both the
//! modern (`Flags Netif Expire`) and the older (`Flags Refs Use Netif
//! Expire`) layouts work.
//!
//! Destinations the way Darwin prints them:
//! - `default` is 0.0.0.0/0 or ::/0;
//! - `10.8.0/24`, `0/1`, `128.0/1`: trailing zero octets dropped, prefix
//!   after `/`;
//! - `192.168.1`, `169.254`, `127`: a network whose mask is as wide as
//!   the octets shown (/24, /16, /8), printed without `/len`;
//! - `10.8.0.2` (four octets, no `/`) and IPv6 addresses without `/` are
//!   host routes;
//! - IPv6 scoped addresses carry `%if` (`fe80::%en0/64`), dropped here.
//!
//! Rows with the `L` flag (link-layer entries: the ARP/NDP cache and the
//! machine's own addresses) are not routes and are skipped, as are
//! non-contiguous masks (printed with `&0x...`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::ParseError;
use super::Route;

/// Parses one or more `netstat -rn` sections (`Internet:`,
/// `Internet6:`).
pub fn parse(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes = Vec::new();
    // Column of `Netif` in the current section's header, once seen.
    let mut netif_col: Option<usize> = None;
    let mut family: Option<Family> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            None => continue,
            Some("Routing") => continue,
            Some("Internet:") => {
                family = Some(Family::V4);
                netif_col = None;
                continue;
            }
            Some("Internet6:") => {
                family = Some(Family::V6);
                netif_col = None;
                continue;
            }
            Some("Destination") => {
                netif_col = f.iter().position(|w| *w == "Netif");
                if netif_col.is_none() {
                    return Err(ParseError::new(n, "header has no Netif column"));
                }
                continue;
            }
            Some(_) => {}
        }
        let (Some(col), Some(fam)) = (netif_col, family) else {
            return Err(ParseError::new(
                n,
                "route line before the Internet:/Destination header",
            ));
        };
        let Some(&netif) = f.get(col) else {
            return Err(ParseError::new(
                n,
                format!("expected a Netif column (field {})", col + 1),
            ));
        };
        // A header with Netif before Flags would let a short line through
        // the check above.
        let [dst, gw, flags, ..] = f[..] else {
            return Err(ParseError::new(
                n,
                "expected Destination, Gateway and Flags",
            ));
        };
        if flags.contains('L') || dst.contains('&') {
            continue;
        }
        let destination = destination(dst, fam).map_err(|m| ParseError::new(n, m))?;
        let gateway = if flags.contains('G') {
            parse_addr(strip_scope(gw), fam)
        } else {
            None
        };
        routes.push(Route {
            destination,
            gateway,
            interface: netif.to_string(),
        });
    }
    Ok(routes)
}

#[derive(Debug, Clone, Copy)]
enum Family {
    V4,
    V6,
}

fn strip_scope(s: &str) -> &str {
    s.split_once('%').map_or(s, |(a, _)| a)
}

fn parse_addr(s: &str, fam: Family) -> Option<IpAddr> {
    match fam {
        Family::V4 => s.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        Family::V6 => s.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    }
}

fn destination(dst: &str, fam: Family) -> Result<IpNet, String> {
    if dst == "default" {
        return Ok(match fam {
            Family::V4 => IpNet::V4(Default::default()),
            Family::V6 => IpNet::V6(Default::default()),
        });
    }
    let (addr, len) = match dst.split_once('/') {
        Some((a, l)) => (
            a,
            Some(
                l.parse::<u8>()
                    .map_err(|_| format!("bad prefix length in {dst:?}"))?,
            ),
        ),
        None => (dst, None),
    };
    // `fe80::%en0/64`: the scope sits between the address and the length.
    let addr = strip_scope(addr);
    match fam {
        Family::V4 => {
            let octets: Vec<&str> = addr.split('.').collect();
            if octets.len() > 4 {
                return Err(format!("{dst:?} is not an IPv4 network"));
            }
            let mut bytes = [0u8; 4];
            for (b, o) in bytes.iter_mut().zip(&octets) {
                *b = o
                    .parse()
                    .map_err(|_| format!("{dst:?} is not an IPv4 network"))?;
            }
            // Octets shown = width of the network, when no length is printed.
            let len = len.unwrap_or(8 * octets.len() as u8);
            IpNet::new(IpAddr::V4(Ipv4Addr::from(bytes)), len).map_err(|e| format!("{dst:?}: {e}"))
        }
        Family::V6 => {
            let a: Ipv6Addr = addr
                .parse()
                .map_err(|_| format!("{dst:?} is not an IPv6 network"))?;
            IpNet::new(IpAddr::V6(a), len.unwrap_or(128)).map_err(|e| format!("{dst:?}: {e}"))
        }
    }
}

#[cfg(test)]
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

    /// `netstat -rn -f inet` on a Mac on Wi-Fi (en0) with OpenVPN
    /// (Tunnelblick/Viscosity) up on utun4, `redirect-gateway def1`.
    /// Written from the man page and Darwin's netstat source, not captured.
    const MAC_V4: &str = "\
Routing tables

Internet:
Destination        Gateway            Flags               Netif Expire
default            192.168.1.1        UGScg                 en0       
0/1                10.8.0.1           UGScg               utun4       
10.8.0/24          10.8.0.2           UGSc                utun4       
10.8.0.2           10.8.0.2           UH                  utun4       
127                127.0.0.1          UCS                   lo0       
127.0.0.1          127.0.0.1          UH                    lo0       
128.0/1            10.8.0.1           UGSc                utun4       
169.254            link#6             UCS                   en0      !
192.168.1          link#6             UCS                   en0      !
192.168.1.1/32     link#6             UCS                   en0      !
192.168.1.1        a4:2b:b0:e0:1:2    UHLWIir               en0   1187
192.168.1.20/32    link#6             UCS                   en0      !
198.51.100.7/32    192.168.1.1        UGSc                  en0       
224.0.0/4          link#6             UmCS                  en0      !
224.0.0.251        1:0:5e:0:0:fb      UHmLWI                en0       
255.255.255.255/32 link#6             UCS                   en0      !
";

    #[test]
    fn macos_v4_shortened_destinations_and_split_default() {
        let routes = parse(MAC_V4).unwrap();
        assert_eq!(
            show(&routes),
            [
                "0.0.0.0/0 via 192.168.1.1 dev en0",
                "0.0.0.0/1 via 10.8.0.1 dev utun4",
                "10.8.0.0/24 via 10.8.0.2 dev utun4",
                "10.8.0.2/32 dev utun4",
                "127.0.0.0/8 dev lo0",
                "127.0.0.1/32 dev lo0",
                "128.0.0.0/1 via 10.8.0.1 dev utun4",
                "169.254.0.0/16 dev en0",
                "192.168.1.0/24 dev en0",
                "192.168.1.1/32 dev en0",
                "192.168.1.20/32 dev en0",
                "198.51.100.7/32 via 192.168.1.1 dev en0",
                "224.0.0.0/4 dev en0",
                "255.255.255.255/32 dev en0",
            ]
        );
    }

    /// `netstat -rn -f inet6` on the same Mac, older layout with Refs/Use
    /// columns to show the header decides where `Netif` is.
    const MAC_V6_OLD_LAYOUT: &str = "\
Routing tables

Internet6:
Destination                             Gateway                         Flags         Refs      Use   Netif Expire
default                                 fe80::1%en0                     UGc             12        0     en0
default                                 fe80::%utun4                    UGcI             0        0   utun4
::1                                     ::1                             UHL              1     5210     lo0
2001:db8:1::/64                         link#6                          UC               2        0     en0
2001:db8:1::20                          a0:78:17:aa:bb:cc               UHL              0        0     lo0
2001:db8:7::1                           fe80::1%en0                     UGHS             0        0     en0
fd00:8::/64                             fd00:8::2                       Uc               0        0   utun4
fe80::%lo0/64                           fe80::1%lo0                     UcI              1        0     lo0
fe80::1%lo0                             link#1                          UHLI             0        0     lo0
fe80::%en0/64                           link#6                          UCI              1        0     en0
ff00::/8                                ::1                             UmCI             0        0     lo0
ff02::%en0/32                           link#6                          UmCI             0        0     en0
";

    #[test]
    fn macos_v6_scopes_hosts_and_old_columns() {
        let routes = parse(MAC_V6_OLD_LAYOUT).unwrap();
        assert_eq!(
            show(&routes),
            [
                "::/0 via fe80::1 dev en0",
                "::/0 via fe80:: dev utun4",
                "2001:db8:1::/64 dev en0",
                "2001:db8:7::1/128 via fe80::1 dev en0",
                "fd00:8::/64 dev utun4",
                "fe80::/64 dev lo0",
                "fe80::/64 dev en0",
                "ff00::/8 dev lo0",
                "ff02::/32 dev en0",
            ]
        );
        assert!(routes[3].is_host());
    }

    #[test]
    fn both_sections_in_one_text() {
        let text = format!(
            "{MAC_V4}\n{}",
            MAC_V6_OLD_LAYOUT.replace("Routing tables\n", "")
        );
        let routes = parse(&text).unwrap();
        assert_eq!(routes.iter().filter(|r| r.is_default()).count(), 3);
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        let err = parse("default 192.168.1.1 UGScg en0\n").unwrap_err();
        assert_eq!(err.line, 1, "a route before any header");
        let err = parse("Internet:\nDestination Gateway Flags Netif\n10.300/16 10.0.0.1 UGS en0\n")
            .unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse("Internet:\nDestination Gateway Flags Netif\n10.8/16 10.0.0.1 UGS\n")
            .unwrap_err();
        assert!(err.message.contains("Netif"), "{err}");
        let err = parse("Internet:\nDestination Gateway Flags\n").unwrap_err();
        assert_eq!(err.line, 2);
        // Netif first: a two-field line reaches the column split.
        let err = parse("Internet:\nDestination Netif Gateway Flags\ndefault en0\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }
}
