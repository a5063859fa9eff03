//! The peer of a socket connection as the kernel reports it, and why it
//! could not be read. Its own module so that `auth` and the platform
//! shims that fill it in (`auth_macos`) both import it, not each other.

use crate::client_signature::PeerCode;

/// The peer as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Supplementary groups, when they could be read.
    pub groups: Vec<u32>,
    /// What identifies the peer's code (macOS audit token), read at
    /// connect time and verified when a change needs it.
    pub code: PeerCode,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the peer's credentials: {0}")]
pub struct CredError(#[from] pub nix::Error);
