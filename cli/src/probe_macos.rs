//! macOS: `IP_BOUND_IF` / `IPV6_BOUND_IF` by interface index, which any
//! process may set. Type-checked on Linux, not run there.

use std::ffi::CString;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroU32;

use socket2::Socket;

pub fn to_interface(s: &Socket, interface: &str, to: SocketAddr) -> io::Result<()> {
    let name = CString::new(interface).map_err(io::Error::other)?;
    // SAFETY: a valid C string; if_nametoindex only reads it.
    let index = unsafe { nix::libc::if_nametoindex(name.as_ptr()) };
    let index = NonZeroU32::new(index).ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("no interface {interface}"))
    })?;
    if to.is_ipv4() {
        s.bind_device_by_index_v4(Some(index))
    } else {
        s.bind_device_by_index_v6(Some(index))
    }
}
