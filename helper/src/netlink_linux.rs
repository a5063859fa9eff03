//! A non-blocking netlink socket subscribed to multicast groups: how the
//! kernel tells the helper that routes or links changed (rtnetlink) or
//! that the nftables ruleset did (nfnetlink). Read with `crate::bursts`.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

/// `groups` is `bind`'s bitmask (groups 1..=32).
pub fn subscribe(protocol: SockProtocol, groups: u32) -> std::io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        protocol,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    Ok(fd)
}
