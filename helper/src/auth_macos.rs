//! macOS peer credentials: `getpeereid(2)` for uid/gid, `LOCAL_PEERPID` for
//! the pid, `getgrouplist(3)` for the groups, and the audit token for the
//! code-signing check (`codesign_macos.rs`).
//!
//! UNVERIFIED: type-checked and linted here (scripts/check-macos), never
//! linked or run.

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
        .and_then(|u| group_list(&std::ffi::CString::new(u.name).ok()?, gid.as_raw()))
        .unwrap_or_default();
    Ok(Peer {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        pid: (rc == 0).then_some(pid),
        groups,
        code: crate::codesign_macos::peer_code(sock),
    })
}

/// `getgrouplist(3)` for `user`, `base` included. nix 0.29 does not offer
/// it on Apple targets, whose libc takes and returns the gids as `c_int`;
/// the list is asked for again with a larger buffer while it does not fit.
fn group_list(user: &std::ffi::CStr, base: libc::gid_t) -> Option<Vec<u32>> {
    let mut capacity: libc::c_int = 64;
    while capacity <= 65_536 {
        let mut groups: Vec<libc::c_int> = vec![0; capacity as usize];
        let mut count = capacity;
        // SAFETY: `groups` holds `count` elements and outlives the call;
        // `user` is NUL-terminated. gids are passed bit for bit as c_int.
        let rc = unsafe {
            libc::getgrouplist(
                user.as_ptr(),
                base as libc::c_int,
                groups.as_mut_ptr(),
                &mut count,
            )
        };
        if rc == 0 {
            groups.truncate(count.clamp(0, capacity) as usize);
            return Some(groups.into_iter().map(|g| g as u32).collect());
        }
        capacity *= 4;
    }
    None
}
