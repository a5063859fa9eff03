//! `pflog0` read with BPF (macOS): a free `/dev/bpfN`, bound to `pflog0`,
//! with the kernel filter and read settings decided in
//! `airlock_shared::blocked::bpf` (only our anchor's drops, cut after the
//! headers; batched reads). The bytes go to the pure parsers unchanged.
//! Type-checked for the Apple targets; never run here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use airlock_shared::blocked::bpf::{Insn, ReaderConfig};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PflogReadError {
    #[error("no free BPF device (/dev/bpf0 to /dev/bpf255 are all in use)")]
    NoDevice,
    #[error("opening {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("pflog0 does not exist: Airlock creates it while the kill switch is on")]
    NoInterface,
    #[error("setting up BPF on pflog0 ({what}): {source}")]
    Configure {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("pflog0 went away (the kill switch was turned off, or someone destroyed it)")]
    Gone,
    #[error("reading pflog0: {0}")]
    Read(#[source] io::Error),
}

/// `struct bpf_insn` and `struct bpf_program` from `net/bpf.h` (the libc
/// crate has the ioctls but not these for Apple targets).
#[repr(C)]
struct BpfInsn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[repr(C)]
struct BpfProgram {
    bf_len: libc::c_uint,
    bf_insns: *mut BpfInsn,
}

pub struct PflogBpf {
    fd: OwnedFd,
    /// Exactly the kernel's buffer length: a BPF read of any other size
    /// fails with EINVAL.
    buf: Vec<u8>,
}

fn configure(what: &'static str) -> impl FnOnce(io::Error) -> PflogReadError {
    move |source| PflogReadError::Configure { what, source }
}

/// ioctl(2) with a pointer argument; `Err` carries errno.
///
/// # Safety
/// `arg` must be what `request` expects.
unsafe fn ioctl<T>(fd: &OwnedFd, request: libc::c_ulong, arg: *mut T) -> io::Result<()> {
    // SAFETY: forwarded to the caller.
    if unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) } < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The first `/dev/bpfN` nobody holds (EBUSY means someone does).
fn open_free_device() -> Result<OwnedFd, PflogReadError> {
    for n in 0..256 {
        let path = format!("/dev/bpf{n}\0");
        // SAFETY: `path` is NUL-terminated.
        let raw = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if raw >= 0 {
            // SAFETY: a fresh descriptor owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(raw) });
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EBUSY) => continue,
            // Past the last device node.
            Some(libc::ENOENT) => break,
            _ => {
                return Err(PflogReadError::Open {
                    path: path.trim_end_matches('\0').to_string(),
                    source: e,
                })
            }
        }
    }
    Err(PflogReadError::NoDevice)
}

impl PflogBpf {
    pub fn open(cfg: &ReaderConfig, filter: &[Insn]) -> Result<PflogBpf, PflogReadError> {
        let fd = open_free_device()?;
        // The buffer length must be set before the interface; the kernel
        // writes back the length it took.
        let mut blen: libc::c_uint = cfg.buffer_len;
        // SAFETY: BIOCSBLEN takes a u_int, in and out.
        unsafe { ioctl(&fd, libc::BIOCSBLEN, &mut blen) }.map_err(configure("BIOCSBLEN"))?;
        // SAFETY: an all-zero ifreq is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"pflog0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: BIOCSETIF takes a struct ifreq naming the interface.
        match unsafe { ioctl(&fd, libc::BIOCSETIF, &mut ifr) } {
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                return Err(PflogReadError::NoInterface)
            }
            r => r.map_err(configure("BIOCSETIF"))?,
        }
        if cfg.immediate {
            let mut on: libc::c_uint = 1;
            // SAFETY: BIOCIMMEDIATE takes a u_int.
            unsafe { ioctl(&fd, libc::BIOCIMMEDIATE, &mut on) }
                .map_err(configure("BIOCIMMEDIATE"))?;
        }
        let mut insns: Vec<BpfInsn> = filter
            .iter()
            .map(|i| BpfInsn {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let mut prog = BpfProgram {
            bf_len: insns.len() as libc::c_uint,
            bf_insns: insns.as_mut_ptr(),
        };
        // SAFETY: BIOCSETF takes a struct bpf_program; the kernel copies
        // the instructions before it returns, while `insns` is alive.
        unsafe { ioctl(&fd, libc::BIOCSETF, &mut prog) }.map_err(configure("BIOCSETF"))?;
        let mut tv = libc::timeval {
            tv_sec: libc::time_t::from(cfg.read_timeout_ms / 1000),
            tv_usec: ((cfg.read_timeout_ms % 1000) * 1000) as libc::suseconds_t,
        };
        // SAFETY: BIOCSRTIMEOUT takes a struct timeval.
        unsafe { ioctl(&fd, libc::BIOCSRTIMEOUT, &mut tv) }.map_err(configure("BIOCSRTIMEOUT"))?;
        Ok(PflogBpf {
            fd,
            buf: vec![0; blen as usize],
        })
    }

    /// One read: the bytes of zero or more BPF frames (empty when the
    /// timeout passed with nothing logged).
    pub fn read(&mut self) -> Result<&[u8], PflogReadError> {
        // SAFETY: `buf` is a valid, writable buffer of the length passed.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EINTR | libc::EAGAIN) => Ok(&[]),
                // The interface was detached from the descriptor.
                Some(libc::ENXIO) => Err(PflogReadError::Gone),
                _ => Err(PflogReadError::Read(e)),
            };
        }
        Ok(&self.buf[..n as usize])
    }
}

/// The name of process `pid` (`proc_name`, libproc), if it still runs.
pub fn process_name(pid: u32) -> Option<String> {
    let pid = libc::c_int::try_from(pid).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is a valid, writable buffer of the length passed.
    let n = unsafe { libc::proc_name(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    if n <= 0 {
        return None;
    }
    let name = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
    Some(name).filter(|n| !n.is_empty())
}
