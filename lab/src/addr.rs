//! The lab's addresses and interface names, in one module that the
//! topology (which wires them) and the probes (which aim at them) both use,
//! so neither imports the other. Documentation and private ranges only.

use std::net::{Ipv4Addr, Ipv6Addr};

pub const VPN_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
pub const VPN_PORT: u16 = 1194;
/// How many addresses the provider can move the VPN server to.
pub const MOVED_VPN_SERVERS: u8 = 8;

/// Where the provider moves the VPN server to, the `n`th time (1 to
/// [`MOVED_VPN_SERVERS`]): 198.51.100.8, .9, ... Each a new address, so a
/// move is to an address no endpoint lists yet.
pub const fn moved_vpn_server(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, 7 + n)
}
pub const WEB_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);
pub const WEB_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x80, 0, 0, 0, 0, 0x80);
pub const WEB_TCP_PORT: u16 = 80;
pub const WEB_UDP_PORT: u16 = 7;
pub const RESOLVER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
pub const RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 0x53);
pub const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub const ROUTER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 20);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x20);
pub const GUEST_GW_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 122, 1);
pub const GUEST_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 122, 2);
pub const GUEST_GW_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x122, 0, 0, 0, 0, 0, 1);
pub const GUEST_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x122, 0, 0, 0, 0, 0, 2);
/// Tunnel pools: OpenVPN hands the client 10.8.0.2 and fd00:8::1000.
pub const TUNNEL_V4_PREFIX: &str = "10.8.0.";
pub const TUNNEL_V6_PREFIX: &str = "fd00:8::";

/// The client's physical interface (what Airlock must guard).
pub const CLIENT_WAN: &str = "eth0";
/// The client's side of the guest link; `virbr*` so Airlock classifies it
/// as a local virtual bridge.
pub const GUEST_BRIDGE: &str = "virbr1";
/// The inet side of the client's wire, where the meter listens.
pub const INET_WIRE: &str = "to-client";
