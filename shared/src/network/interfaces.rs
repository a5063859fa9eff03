//! Turning the kernel's list of interface addresses (getifaddrs, one entry
//! per address) into the snapshot's interfaces. Pure, so every decision
//! about prefixes and classification is tested on any machine; the helper
//! does the getifaddrs call.

use std::net::IpAddr;

use ipnet::IpNet;

use super::classify::classify;
use super::{Interface, InterfaceFlags};
use crate::platform::Platform;

/// One getifaddrs entry reduced to what the snapshot needs. getifaddrs
/// returns one entry per address (plus one link-level entry per
/// interface), so an interface appears several times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAddress {
    pub name: String,
    pub flags: InterfaceFlags,
    /// `None` for link-level entries (AF_PACKET / AF_LINK) and families
    /// the policy does not look at.
    pub address: Option<IpAddr>,
    pub netmask: Option<IpAddr>,
}

/// Groups getifaddrs entries into interfaces, in the order the kernel
/// listed them, keeping interfaces that have no IP address at all (a
/// Wi-Fi card that has not joined a network is still an interface the
/// policy must know is physical).
pub fn assemble_interfaces(
    raw: Vec<RawAddress>,
    platform: Platform,
    extra_tunnels: &[String],
) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    for entry in raw {
        let idx = match out.iter().position(|i| i.name == entry.name) {
            Some(idx) => idx,
            None => {
                out.push(Interface {
                    kind: classify(platform, &entry.name, extra_tunnels),
                    name: entry.name.clone(),
                    flags: entry.flags,
                    addresses: Vec::new(),
                });
                out.len() - 1
            }
        };
        let iface = &mut out[idx];
        // Flags are per interface; every entry carries the same ones,
        // except that a change between entries means the later is newer.
        iface.flags = entry.flags;
        if let Some(addr) = entry.address {
            let prefix = prefix_len(addr, entry.netmask);
            // Both are the same family and prefix <= max, so this holds.
            if let Ok(net) = IpNet::new(addr, prefix) {
                if !iface.addresses.contains(&net) {
                    iface.addresses.push(net);
                }
            }
        }
    }
    out
}

/// Prefix length from a netmask. A missing, wrong-family or
/// non-contiguous mask gives a host prefix (/32, /128): the narrowest
/// reading, so "the LAN" is never taken to be wider than it is.
pub fn prefix_len(addr: IpAddr, netmask: Option<IpAddr>) -> u8 {
    let host = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    match (addr, netmask) {
        (IpAddr::V4(_), Some(IpAddr::V4(m))) => ipnet::ipv4_mask_to_prefix(m).unwrap_or(host),
        (IpAddr::V6(_), Some(IpAddr::V6(m))) => ipnet::ipv6_mask_to_prefix(m).unwrap_or(host),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::InterfaceKind;

    fn raw(name: &str, up: bool, addr: Option<&str>, mask: Option<&str>) -> RawAddress {
        RawAddress {
            name: name.into(),
            flags: InterfaceFlags {
                up,
                ..Default::default()
            },
            address: addr.map(|a| a.parse().unwrap()),
            netmask: mask.map(|m| m.parse().unwrap()),
        }
    }

    #[test]
    fn groups_entries_by_interface_and_keeps_addressless_ones() {
        let entries = vec![
            raw("lo0", true, None, None),
            raw("en0", true, None, None),
            raw("lo0", true, Some("127.0.0.1"), Some("255.0.0.0")),
            raw("en0", true, Some("192.168.1.20"), Some("255.255.255.0")),
            raw(
                "en0",
                true,
                Some("fe80::1c:2"),
                Some("ffff:ffff:ffff:ffff::"),
            ),
            raw("en1", false, None, None),
            raw("utun4", true, Some("10.8.0.2"), Some("255.255.255.0")),
        ];
        let ifs = assemble_interfaces(entries, Platform::Macos, &[]);
        let names: Vec<&str> = ifs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo0", "en0", "en1", "utun4"]);
        let en0 = &ifs[1];
        assert_eq!(en0.kind, InterfaceKind::Physical);
        let addrs: Vec<String> = en0.addresses.iter().map(|a| a.to_string()).collect();
        assert_eq!(addrs, ["192.168.1.20/24", "fe80::1c:2/64"]);
        assert!(ifs[2].addresses.is_empty() && !ifs[2].flags.up);
        assert_eq!(ifs[0].kind, InterfaceKind::Loopback);
        assert_eq!(ifs[3].kind, InterfaceKind::Tunnel);
    }

    #[test]
    fn kinds_follow_the_requested_platform_and_user_patterns() {
        let entries = vec![raw("lo0", true, None, None), raw("zt7", true, None, None)];
        let extra = vec!["zt*".to_string()];
        let linux = assemble_interfaces(entries.clone(), Platform::Linux, &extra);
        assert_eq!(
            linux[0].kind,
            InterfaceKind::Physical,
            "lo0 is not Linux loopback"
        );
        assert_eq!(linux[1].kind, InterfaceKind::Tunnel);
        let mac = assemble_interfaces(entries, Platform::Macos, &[]);
        assert_eq!(mac[0].kind, InterfaceKind::Loopback);
        assert_eq!(mac[1].kind, InterfaceKind::Physical);
    }

    #[test]
    fn prefix_from_netmask_fails_narrow() {
        let p = |a: &str, m: Option<&str>| {
            prefix_len(a.parse().unwrap(), m.map(|m| m.parse().unwrap()))
        };
        assert_eq!(p("10.0.0.1", Some("255.255.252.0")), 22);
        assert_eq!(p("10.0.0.1", Some("0.0.0.0")), 0);
        assert_eq!(p("10.0.0.1", Some("255.0.255.0")), 32, "non-contiguous");
        assert_eq!(
            p("10.0.0.1", None),
            32,
            "no mask (some point-to-point links)"
        );
        assert_eq!(p("10.0.0.1", Some("ffff::")), 32, "wrong family");
        assert_eq!(p("2001:db8::1", Some("ffff:ffff:ffff:ff00::")), 56);
    }

    #[test]
    fn duplicate_entries_do_not_duplicate_addresses() {
        let entries = vec![
            raw("eth0", true, Some("192.168.1.20"), Some("255.255.255.0")),
            raw("eth0", true, Some("192.168.1.20"), Some("255.255.255.0")),
        ];
        let ifs = assemble_interfaces(entries, Platform::Linux, &[]);
        assert_eq!(ifs[0].addresses.len(), 1);
    }
}
