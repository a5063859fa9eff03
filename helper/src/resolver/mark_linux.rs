//! `SO_MARK` on the resolver's upstream sockets, so the nft rules can tell
//! the helper's own DNS from everyone else's.

use std::os::fd::AsFd;

use nix::sys::socket::{setsockopt, sockopt};

pub fn set(socket: &impl AsFd, mark: u32) -> std::io::Result<()> {
    setsockopt(socket, sockopt::Mark, &mark).map_err(std::io::Error::from)
}
