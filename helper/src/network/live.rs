//! Reads the machine's network as it is right now: interfaces and their
//! addresses (getifaddrs, the same call on Linux and macOS), the routing
//! table and the DNS resolvers.
//!
//! Only the reading is here and in the thin per-OS shims
//! (`live_linux`, `live_macos`); every decision about what the
//! text or the kernel's answers mean is in the core's pure functions
//! (`airlock_shared::network::{interfaces, routes_linux, netstat, resolv}`)
//! that the tests reach on any machine.

use std::net::IpAddr;

use airlock_shared::network::interfaces::{assemble_interfaces, RawAddress};
use airlock_shared::network::{InterfaceFlags, NetworkSnapshot};
use airlock_shared::platform::Platform;

pub use super::error::LiveError;

/// The network right now. `platform` decides how interface names are
/// classified (so a Linux machine can be looked at with macOS eyes in
/// tests); where routes and resolvers are read from follows the OS this
/// was built for. `extra_tunnels` are the user's own tunnel patterns.
pub fn snapshot(
    platform: Platform,
    extra_tunnels: &[String],
) -> Result<NetworkSnapshot, LiveError> {
    let raw = read_interface_addresses()?;
    Ok(NetworkSnapshot {
        interfaces: assemble_interfaces(raw, platform, extra_tunnels),
        routes: os::routes()?,
        dns: os::dns()?,
    })
}

#[cfg(target_os = "linux")]
use super::live_linux as os;
#[cfg(target_os = "macos")]
use super::live_macos as os;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod os {
    //! Airlock supports only Linux and macOS; elsewhere the snapshot has
    //! interfaces but no routes or resolvers rather than failing to build.
    use super::LiveError;
    pub fn routes() -> Result<Vec<airlock_shared::network::Route>, LiveError> {
        Ok(Vec::new())
    }
    pub fn dns() -> Result<Vec<std::net::IpAddr>, LiveError> {
        Ok(Vec::new())
    }
}

fn read_interface_addresses() -> Result<Vec<RawAddress>, LiveError> {
    use nix::net::if_::InterfaceFlags as F;
    let ip = |s: &nix::sys::socket::SockaddrStorage| -> Option<IpAddr> {
        if let Some(v4) = s.as_sockaddr_in() {
            Some(IpAddr::V4(v4.ip()))
        } else {
            s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
        }
    };
    let addrs = nix::ifaddrs::getifaddrs().map_err(LiveError::Interfaces)?;
    Ok(addrs
        .map(|a| RawAddress {
            flags: InterfaceFlags {
                up: a.flags.contains(F::IFF_UP),
                running: a.flags.contains(F::IFF_RUNNING),
                loopback: a.flags.contains(F::IFF_LOOPBACK),
                point_to_point: a.flags.contains(F::IFF_POINTOPOINT),
                multicast: a.flags.contains(F::IFF_MULTICAST),
            },
            address: a.address.as_ref().and_then(ip),
            netmask: a.netmask.as_ref().and_then(ip),
            name: a.interface_name,
        })
        .collect())
}
