//! macOS peer credentials: `getpeereid(2)` for uid/gid, `LOCAL_PEERPID` for
//! the pid, `getgrouplist(3)` for the groups, and the audit token for the
//! code-signing check (`codesign_macos.rs`).
//!
//! UNVERIFIED: cannot be compiled here (Linux development machines, no
//! macOS target).

use std::os::fd::{AsFd, AsRawFd};

use crate::peer::{CredError, Peer};

pub fn peer_of(sock: &impl AsFd) -> Result<Peer, CredError> {
    let fd = sock.as_fd().as_raw_fd();
    let (uid, gid) = nix::unistd::getpeereid(sock.as_fd())?;
    let mut pid: libc::pid_t = 0;
    let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
    // SOL_LOCAL (0) / LOCAL_PEERPID (2) from <sys/un.h>.
    let rc = unsafe { libc::getsockopt(fd, 0, 2, (&mut pid as *mut libc::pid_t).cast(), &mut len) };
    let groups = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .and_then(|u| {
            let name = std::ffi::CString::new(u.name).ok()?;
            nix::unistd::getgrouplist(&name, gid).ok()
        })
        .map(|gs| gs.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();
    Ok(Peer {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        pid: (rc == 0).then_some(pid),
        groups,
        code: crate::codesign_macos::peer_code(sock),
    })
}
