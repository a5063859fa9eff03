//! A laptop for unit tests: Wi-Fi with home subnets, the VPN up on tun0
//! (routes 0/1 + 128/1 through it, a host route to the server via Wi-Fi),
//! a libvirt bridge for VMs. [`iface`] and [`route`] are the crate's one
//! builder for test snapshots; other unit tests should use them too.

use airlock_shared::endpoint::Endpoint;
use airlock_shared::network::{Interface, NetworkSnapshot};
use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, Policy};
use airlock_shared::settings::Settings;

pub const VPN_SERVER: &str = "198.51.100.7:1194/udp";

/// An up, running Linux interface classified by its name.
pub(crate) fn iface(name: &str, addrs: &[&str]) -> Interface {
    airlock_test_support::network::iface(Platform::Linux, name, addrs)
}

pub(crate) use airlock_test_support::network::route;

pub fn laptop(tunnel_up: bool) -> NetworkSnapshot {
    let mut interfaces = vec![
        iface("lo", &["127.0.0.1/8", "::1/128"]),
        iface("wlan0", &["192.168.1.20/24", "2001:db8:1::20/64"]),
        iface("virbr0", &["192.168.122.1/24"]),
    ];
    let mut routes = vec![
        route("0.0.0.0/0", Some("192.168.1.1"), "wlan0"),
        route("198.51.100.7/32", Some("192.168.1.1"), "wlan0"),
    ];
    if tunnel_up {
        interfaces.push(iface("tun0", &["10.8.0.2/24"]));
        routes.push(route("0.0.0.0/1", Some("10.8.0.1"), "tun0"));
        routes.push(route("128.0.0.0/1", Some("10.8.0.1"), "tun0"));
    }
    NetworkSnapshot {
        interfaces,
        routes,
        dns: vec![],
    }
}

pub fn policy(snapshot: &NetworkSnapshot, allow_lan: bool) -> Policy {
    let settings = Settings {
        kill_switch: true,
        allow_lan,
        endpoints: vec![VPN_SERVER.parse::<Endpoint>().unwrap()],
        ..Settings::default()
    };
    policy::build(&settings, snapshot, Platform::Linux, 1_795_694_400)
}
