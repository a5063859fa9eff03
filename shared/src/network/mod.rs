//! What the machine's network looks like at one moment: interfaces,
//! routes and resolvers. Observed by the helper (its `network::live`),
//! constructed by hand in tests; the parsers of what the kernel and the
//! OS's tools print are here, pure, so they are tested on any machine.

pub mod classify;
pub mod interfaces;
pub mod netstat;
mod parse_error;
pub mod resolv;
pub mod routes_linux;

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use classify::InterfaceKind;
pub use parse_error::ParseError;

/// One network interface as the policy needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub kind: InterfaceKind,
    pub flags: InterfaceFlags,
    /// Addresses with their prefix length (e.g. `192.168.1.20/24`).
    pub addresses: Vec<IpNet>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceFlags {
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    pub point_to_point: bool,
    pub multicast: bool,
}

/// A route; `destination` `0.0.0.0/0` or `::/0` is a default route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination: IpNet,
    pub gateway: Option<IpAddr>,
    pub interface: String,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.destination.prefix_len() == 0
    }

    /// A route to exactly one address (/32 or /128).
    pub fn is_host(&self) -> bool {
        self.destination.prefix_len() == self.destination.max_prefix_len()
    }
}

/// Interfaces, routes and DNS resolvers at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSnapshot {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    pub dns: Vec<IpAddr>,
}

impl NetworkSnapshot {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    pub fn of_kind(&self, kind: InterfaceKind) -> impl Iterator<Item = &Interface> {
        self.interfaces.iter().filter(move |i| i.kind == kind)
    }

    pub fn default_routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(|r| r.is_default())
    }

    /// The first tunnel interface that is up and has an address: what the
    /// status line calls "the VPN".
    pub fn active_tunnel(&self) -> Option<&Interface> {
        self.of_kind(InterfaceKind::Tunnel)
            .find(|i| i.flags.up && !i.addresses.is_empty())
    }

    /// Subnets of physical interfaces that are up: "the LAN". Link-local
    /// prefixes are left out here; the policy adds them on their own.
    pub fn lan_subnets(&self) -> Vec<IpNet> {
        let mut nets: Vec<IpNet> = self
            .of_kind(InterfaceKind::Physical)
            .filter(|i| i.flags.up)
            .flat_map(|i| i.addresses.iter().map(|a| a.trunc()))
            .filter(|n| !is_link_local(n) && n.prefix_len() < n.max_prefix_len())
            .collect();
        nets.sort();
        nets.dedup();
        nets
    }

    /// Host routes through a physical interface's gateway while a tunnel
    /// is up: the signature of a VPN client pinning its server outside
    /// the tunnel. The helper learns endpoints from these.
    pub fn vpn_server_routes(&self) -> Vec<&Route> {
        if self.active_tunnel().is_none() {
            return Vec::new();
        }
        self.routes
            .iter()
            .filter(|r| r.is_host() && r.gateway.is_some())
            .filter(|r| {
                self.interface(&r.interface)
                    .is_some_and(|i| i.kind == InterfaceKind::Physical)
            })
            .collect()
    }
}

fn is_link_local(net: &IpNet) -> bool {
    match net {
        IpNet::V4(n) => n.addr().is_link_local(),
        IpNet::V6(n) => (n.addr().segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, kind: InterfaceKind, addrs: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            kind,
            flags: InterfaceFlags {
                up: true,
                running: true,
                ..Default::default()
            },
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
        Route {
            destination: dst.parse().unwrap(),
            gateway: gw.map(|g| g.parse().unwrap()),
            interface: dev.into(),
        }
    }

    #[test]
    fn lan_subnets_are_physical_non_link_local_networks() {
        let snap = NetworkSnapshot {
            interfaces: vec![
                iface("lo", InterfaceKind::Loopback, &["127.0.0.1/8"]),
                iface(
                    "eth0",
                    InterfaceKind::Physical,
                    &["192.168.1.20/24", "fe80::1/64", "2001:db8:1::20/64"],
                ),
                iface("tun0", InterfaceKind::Tunnel, &["10.8.0.2/24"]),
            ],
            ..Default::default()
        };
        let nets: Vec<String> = snap.lan_subnets().iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["192.168.1.0/24", "2001:db8:1::/64"]);
    }

    #[test]
    fn server_routes_need_a_tunnel_and_a_physical_gateway() {
        let mut snap = NetworkSnapshot {
            interfaces: vec![iface("eth0", InterfaceKind::Physical, &["192.168.1.20/24"])],
            routes: vec![
                route("0.0.0.0/0", Some("192.168.1.1"), "eth0"),
                route("198.51.100.7/32", Some("192.168.1.1"), "eth0"),
                route("10.8.0.1/32", None, "tun0"),
            ],
            dns: vec![],
        };
        assert!(snap.vpn_server_routes().is_empty(), "no tunnel yet");
        snap.interfaces
            .push(iface("tun0", InterfaceKind::Tunnel, &["10.8.0.2/24"]));
        let learned: Vec<String> = snap
            .vpn_server_routes()
            .iter()
            .map(|r| r.destination.to_string())
            .collect();
        assert_eq!(learned, ["198.51.100.7/32"]);
        assert_eq!(snap.default_routes().count(), 1);
        assert_eq!(snap.active_tunnel().map(|i| i.name.as_str()), Some("tun0"));
    }
}
