//! Who is on the other end of the socket, and what they may do.
//!
//! The kernel vouches for the peer's uid/gid (`SO_PEERCRED` on Linux,
//! `getpeereid` on macOS); nothing the client says about itself counts.
//! Reading status is open to every local user; changing anything needs root
//! or membership of the admin group. The decision is [`may_change`], a pure
//! function; fetching credentials is a thin platform shim. On macOS a
//! signed app's clients must also pass a code-signing check
//! (`client_signature`).

use std::os::fd::AsFd;

#[cfg(target_os = "linux")]
use crate::client_signature::PeerCode;
use crate::client_signature::{AuditToken, SignatureCheck};
pub use crate::peer::{CredError, Peer};

/// Whether `peer` may change settings, given the admin group's gid (None:
/// the group does not exist on this machine, so only root may).
pub fn may_change(peer: &Peer, admin_gid: Option<u32>) -> bool {
    peer.uid == 0 || admin_gid.is_some_and(|g| peer.gid == g || peer.groups.contains(&g))
}

/// The refusal text a client shows; says what would be needed.
pub fn refusal(peer: &Peer, admin_group: &str) -> String {
    format!(
        "not authorized: uid {} is neither root nor in the `{admin_group}` group (try sudo)",
        peer.uid
    )
}

/// Resolves the admin group's name to its gid.
pub fn group_gid(name: &str) -> Option<u32> {
    nix::unistd::Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

/// Reads the peer's credentials from a connected Unix socket.
#[cfg(target_os = "linux")]
pub fn peer_of(sock: &impl AsFd) -> Result<Peer, CredError> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let cred = getsockopt(sock, PeerCredentials)?;
    let pid = cred.pid();
    Ok(Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: Some(pid),
        groups: proc_groups(pid).unwrap_or_default(),
        code: PeerCode::NotApplicable,
    })
}

#[cfg(target_os = "macos")]
pub fn peer_of(sock: &impl AsFd) -> Result<Peer, CredError> {
    crate::auth_macos::peer_of(sock)
}

/// Verifies an audit token against a code requirement: the Security
/// framework on macOS; nowhere else can (and `SigningPolicy::new` refuses
/// a requirement there, so this is not reached in practice).
pub fn verify_code(token: &AuditToken, requirement: &str) -> SignatureCheck {
    #[cfg(target_os = "macos")]
    {
        crate::codesign_macos::verify(token, requirement)
    }
    #[cfg(not(target_os = "macos"))]
    {
        let _ = (token, requirement);
        SignatureCheck::Unavailable("code signatures are checked only on macOS".into())
    }
}

/// The supplementary groups of a live process, from `/proc/PID/status`.
/// These are the groups the peer really runs with (a `newgrp` or a dropped
/// group counts), unlike the group database.
#[cfg(target_os = "linux")]
fn proc_groups(pid: i32) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_proc_groups(&text)
}

/// Parses the `Groups:` line of `/proc/PID/status`.
pub fn parse_proc_groups(status: &str) -> Option<Vec<u32>> {
    let line = status.lines().find_map(|l| l.strip_prefix("Groups:"))?;
    line.split_whitespace().map(|g| g.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_signature::PeerCode;

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> Peer {
        Peer {
            uid,
            gid,
            pid: None,
            groups: groups.to_vec(),
            code: PeerCode::NotApplicable,
        }
    }

    #[test]
    fn decision_table() {
        let sudo = Some(27);
        assert!(may_change(&peer(0, 0, &[]), sudo), "root");
        assert!(
            may_change(&peer(0, 0, &[]), None),
            "root without an admin group"
        );
        assert!(may_change(&peer(1000, 1000, &[4, 27]), sudo), "in sudo");
        assert!(may_change(&peer(1000, 27, &[]), sudo), "primary group sudo");
        assert!(
            !may_change(&peer(1000, 1000, &[4, 24]), sudo),
            "not in sudo"
        );
        assert!(
            !may_change(&peer(1000, 1000, &[27]), None),
            "no admin group at all"
        );
        assert!(!may_change(&peer(65534, 65534, &[]), sudo), "nobody");
    }

    #[test]
    fn proc_status_groups() {
        let status =
            "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 1000 \nNSpid:\t5\n";
        assert_eq!(parse_proc_groups(status), Some(vec![4, 24, 27, 1000]));
        assert_eq!(parse_proc_groups("Groups:\n"), Some(vec![]));
        assert_eq!(parse_proc_groups("Name: x\n"), None);
        assert_eq!(parse_proc_groups("Groups: 4 x\n"), None);
    }

    #[test]
    fn refusal_names_uid_and_group() {
        let msg = refusal(&peer(1000, 1000, &[]), "sudo");
        assert!(msg.contains("uid 1000") && msg.contains("`sudo`"), "{msg}");
    }
}
