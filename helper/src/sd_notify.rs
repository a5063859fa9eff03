//! systemd readiness (`Type=notify`): tells systemd the kill switch is
//! restored, so units ordered after us (network-pre.target, hence the
//! whole network) wait for the rules. A no-op outside systemd.

/// Sends `READY=1` to `$NOTIFY_SOCKET` if systemd gave us one.
pub fn ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&path, b"READY=1") {
        tracing::warn!("cannot tell systemd we are ready: {e}");
    }
}

#[cfg(target_os = "linux")]
fn send(path: &std::ffi::OsStr, msg: &[u8]) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    let bytes = path.as_bytes();
    // A leading '@' means the abstract namespace (sd_notify(3)).
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::path::Path::new(path))?,
    };
    UnixDatagram::unbound()?.send_to_addr(msg, &addr)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn send(_path: &std::ffi::OsStr, _msg: &[u8]) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn sends_ready_to_a_path_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("notify");
        let rx = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
        send(sock.as_os_str(), b"READY=1").unwrap();
        let mut buf = [0u8; 32];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
