//! Learning VPN endpoints from what the VPN client does, so a reconnect
//! after a drop works without the user typing an address.
//!
//! While a tunnel is up, a VPN client pins its server with a host route
//! through the physical gateway. The tracked connection to that address
//! tells the port and protocol. Pure: the caller supplies both.
//!
//! Only a connection *from a physical interface's own address* counts. A
//! host route alone proves nothing: a TunnelVision attacker (or any DHCP
//! server) can push one for an arbitrary host, and connections made inside
//! the tunnel to that host must never be learned as VPN servers, or the
//! kill switch would open a hole to them on the physical interface.

use airlock_shared::endpoint::{Endpoint, Transport};
use airlock_shared::network::{InterfaceKind, NetworkSnapshot};
use airlock_shared::policy::Protocol;

use crate::firewall::flow::Flow;

pub fn endpoints(snapshot: &NetworkSnapshot, flows: Vec<Flow>) -> Vec<Endpoint> {
    let physical: Vec<_> = snapshot
        .of_kind(InterfaceKind::Physical)
        .flat_map(|i| i.addresses.iter().map(|a| a.addr()))
        .collect();
    let servers: Vec<_> = snapshot
        .vpn_server_routes()
        .iter()
        .map(|r| r.destination.addr())
        .collect();
    let mut found: Vec<Endpoint> = Vec::new();
    for f in flows {
        let transport = match f.protocol {
            Protocol::Udp => Transport::Udp,
            Protocol::Tcp => Transport::Tcp,
            _ => continue,
        };
        let Some(port) = f.dst_port else { continue };
        if !servers.contains(&f.dst) || !physical.contains(&f.src) || port == 0 {
            continue;
        }
        let e = Endpoint::new(f.dst, port, transport);
        if !found.iter().any(|x| x.same_target(&e)) {
            found.push(e);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::test_support::{iface, route};

    fn snap(tunnel: bool) -> NetworkSnapshot {
        let mut interfaces = vec![iface("eth0", &["192.168.1.20/24"])];
        if tunnel {
            interfaces.push(iface("tun0", &["10.8.0.2/24"]));
        }
        NetworkSnapshot {
            interfaces,
            routes: vec![route("198.51.100.7/32", Some("192.168.1.1"), "eth0")],
            dns: vec![],
        }
    }

    fn flow(proto: Protocol, dst: &str, port: u16) -> Flow {
        flow_from("192.168.1.20", proto, dst, port)
    }

    fn flow_from(src: &str, proto: Protocol, dst: &str, port: u16) -> Flow {
        Flow {
            protocol: proto,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port: Some(40000),
            dst_port: Some(port),
            icmp_type: None,
        }
    }

    #[test]
    fn learns_the_pinned_server_with_its_port_and_protocol() {
        let flows = vec![
            flow(Protocol::Udp, "198.51.100.7", 1194),
            flow(Protocol::Udp, "198.51.100.7", 1194),
            flow(Protocol::Tcp, "203.0.113.80", 443),
            flow(Protocol::Icmp, "198.51.100.7", 0),
        ];
        let got = endpoints(&snap(true), flows.clone());
        assert_eq!(
            got,
            vec!["198.51.100.7:1194/udp".parse::<Endpoint>().unwrap()]
        );
        assert!(
            endpoints(&snap(false), flows).is_empty(),
            "no tunnel, no learning"
        );
    }

    #[test]
    fn connections_from_inside_the_tunnel_are_never_learned() {
        // TunnelVision: a pushed host route to a web server, and the user's
        // connection to it made from the tunnel address.
        let flows = vec![flow_from("10.8.0.2", Protocol::Tcp, "198.51.100.7", 80)];
        assert!(endpoints(&snap(true), flows).is_empty());
    }
}
