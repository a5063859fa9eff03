//! PF_ROUTE change socket (route(4)): RTM_IFINFO, RTM_NEWADDR, RTM_DELADDR,
//! RTM_ADD, RTM_DELETE, ... arrive on any read. Unverified on a Mac.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub fn open_change_socket() -> std::io::Result<OwnedFd> {
    let fd = unsafe { libc::socket(libc::PF_ROUTE, libc::SOCK_RAW, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // macOS has no SOCK_CLOEXEC: without this every `pfctl` or `scutil`
    // the helper runs would inherit the socket.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}
