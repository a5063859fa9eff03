//! Test snapshots' parts: an interface that is up and running, classified
//! by its name as the platform's helper would, and a route.

use airlock_shared::network::classify::classify;
use airlock_shared::network::{Interface, InterfaceFlags, Route};
use airlock_shared::platform::Platform;

/// Interface `name` on `platform`, up and running, with `addrs`
/// (`"192.168.1.20/24"`). Panics on a bad literal: tests only.
pub fn iface(platform: Platform, name: &str, addrs: &[&str]) -> Interface {
    Interface {
        name: name.into(),
        kind: classify(platform, name, &[]),
        flags: InterfaceFlags {
            up: true,
            running: true,
            ..Default::default()
        },
        addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

/// A route to `dst` via `gw` (or on-link) on `dev`.
pub fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
    Route {
        destination: dst.parse().unwrap(),
        gateway: gw.map(|g| g.parse().unwrap()),
        interface: dev.into(),
    }
}
