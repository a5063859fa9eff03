//! rtnetlink change socket: link, IPv4/IPv6 address and route groups.

use std::os::fd::OwnedFd;

use nix::sys::socket::SockProtocol;

const GROUPS: u32 = (libc::RTMGRP_LINK
    | libc::RTMGRP_IPV4_IFADDR
    | libc::RTMGRP_IPV6_IFADDR
    | libc::RTMGRP_IPV4_ROUTE
    | libc::RTMGRP_IPV6_ROUTE) as u32;

pub fn open_change_socket() -> std::io::Result<OwnedFd> {
    crate::netlink_linux::subscribe(SockProtocol::NetlinkRoute, GROUPS)
}
