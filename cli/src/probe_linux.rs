//! Linux: `SO_BINDTODEVICE`, which unprivileged processes may set since
//! Linux 5.7 (before that it needs CAP_NET_RAW: run the self-test with
//! sudo there).

use std::io;
use std::net::SocketAddr;

use socket2::Socket;

pub fn to_interface(s: &Socket, interface: &str, _to: SocketAddr) -> io::Result<()> {
    s.bind_device(Some(interface.as_bytes()))
}
