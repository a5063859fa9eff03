//! nftables' change events, in the helper's own process: a netlink socket
//! subscribed to `NFNLGRP_NFTABLES`, the multicast group the kernel sends
//! every ruleset change to (tables, chains, rules, sets, elements: what
//! `nft monitor` prints, read from the same group). No child process.

use std::os::fd::OwnedFd;

use nix::sys::socket::SockProtocol;

/// The group's bit for `bind` (groups 1..=32 are a bitmask there).
const GROUPS: u32 = 1 << (libc::NFNLGRP_NFTABLES - 1);

pub fn open() -> std::io::Result<OwnedFd> {
    crate::netlink_linux::subscribe(SockProtocol::NetlinkNetFilter, GROUPS)
}
