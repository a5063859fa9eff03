//! nftables' change events, in the helper's own process: a netlink socket
//! subscribed to `NFNLGRP_NFTABLES`, the multicast group the kernel sends
//! every ruleset change to (tables, chains, rules, sets, elements: what
//! `nft monitor` prints, read from the same group). No child process.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

/// The group's bit for `bind` (groups 1..=32 are a bitmask there).
const GROUPS: u32 = 1 << (libc::NFNLGRP_NFTABLES - 1);

pub fn open() -> std::io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkNetFilter,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, GROUPS))?;
    Ok(fd)
}
