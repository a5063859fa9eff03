//! The NFLOG netlink socket (Linux): bind to the policy's log group, ask
//! for the first `snaplen` bytes of each packet, read what arrives. The
//! bytes are decoded by `airlock_shared::blocked::nflog`; this file only
//! owns the socket.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use airlock_shared::blocked::nflog::{self, Message, NflogError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NflogSocketError {
    #[error("opening the NFLOG netlink socket: {0}")]
    Open(#[source] io::Error),
    #[error("configuring NFLOG group {group}: {source}")]
    Configure {
        group: u16,
        #[source]
        source: io::Error,
    },
    #[error("the kernel refused NFLOG group {group}: {source}")]
    Refused {
        group: u16,
        #[source]
        source: NflogError,
    },
    #[error("reading NFLOG: {0}")]
    Read(#[source] io::Error),
}

/// A netlink socket bound to one NFLOG group.
pub struct NflogSocket {
    fd: OwnedFd,
    group: u16,
    /// Sized for a burst: one recv returns many small messages.
    buf: Vec<u8>,
}

impl NflogSocket {
    /// Binds `group` and sets copy-packet mode with `snaplen` bytes. Only
    /// one socket may bind a group; a second gets EBUSY from the kernel.
    pub fn open(group: u16, snaplen: u32) -> Result<NflogSocket, NflogSocketError> {
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(NflogSocketError::Open(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_nl is valid (kernel picks the port id).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a valid sockaddr_nl of the length passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(NflogSocketError::Open(io::Error::last_os_error()));
        }
        let mut s = NflogSocket {
            fd,
            group,
            buf: vec![0; 256 * 1024],
        };
        s.set_timeout(Duration::from_secs(2))
            .map_err(|source| NflogSocketError::Configure { group, source })?;
        s.request(&nflog::command(group, nflog::CMD_BIND, 1))?;
        s.request(&nflog::copy_packet(group, snaplen, 2))?;
        Ok(s)
    }

    /// How long [`NflogSocket::read`] waits for something to arrive;
    /// `Duration::ZERO` waits for ever (`SO_RCVTIMEO` of 0).
    pub fn set_timeout(&mut self, t: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: t.as_secs() as libc::time_t,
            tv_usec: libc::suseconds_t::from(t.subsec_micros() as i32),
        };
        // SAFETY: tv is a valid timeval of the length passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends one configuration message and waits for its acknowledgement.
    fn request(&mut self, msg: &[u8]) -> Result<(), NflogSocketError> {
        let group = self.group;
        // SAFETY: msg is a valid buffer of the length passed.
        let rc = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if rc < 0 {
            let source = io::Error::last_os_error();
            return Err(NflogSocketError::Configure { group, source });
        }
        loop {
            let n = self
                .recv()
                .map_err(|source| NflogSocketError::Configure { group, source })?;
            for m in nflog::parse_buffer(&self.buf[..n]) {
                match m {
                    Ok(Message::Ack) => return Ok(()),
                    Ok(_) => {}
                    Err(source) => return Err(NflogSocketError::Refused { group, source }),
                }
            }
        }
    }

    fn recv(&mut self) -> io::Result<usize> {
        // SAFETY: buf is a valid, writable buffer of the length passed.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// The messages of one receive. `Ok(vec![])` when the timeout passed
    /// with nothing logged. ENOBUFS (the kernel dropped log messages
    /// because we were slow) is not an error: the log is a sample anyway.
    pub fn read(&mut self) -> Result<Vec<Result<Message, NflogError>>, NflogSocketError> {
        match self.recv() {
            Ok(n) => Ok(nflog::parse_buffer(&self.buf[..n])),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN | libc::EINTR | libc::ENOBUFS)
                ) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(NflogSocketError::Read(e)),
        }
    }
}
