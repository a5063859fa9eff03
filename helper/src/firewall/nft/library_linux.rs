//! libnftables in the helper's own process: the library the `nft` command
//! is a thin front end of, opened at run time (it ships with every nft:
//! `nft` itself links it). Loading and reading back a ruleset then costs
//! no fork, exec or dynamic linking of a new process each time, which was
//! half of what turning the kill switch on cost. Same commands, same
//! parser, same kernel transaction and the same messages as `nft -f -`.
//!
//! Only the calls of `<nftables/libnftables.h>` that have been stable since
//! nftables 0.9 are used: a context, buffered output and error text, the
//! JSON output flag, and running a command buffer.
//!
//! One thing is mended behind the library's back: its netlink socket is
//! opened without close-on-exec (nftables 1.0.6 `nft_mnl_socket_open`),
//! so every child the helper runs (`conntrack`, `nft`, `ip`) would hold
//! the socket that owns the tamper guard. The child could change the
//! guard, and a helper that dies while a child runs would leave its guard
//! behind until the child exits. [`Libnftables::open`] swaps it for one
//! opened close-on-exec before the context sends anything.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::os::fd::RawFd;
use std::sync::Mutex;

use libloading::Library;

/// `NFT_CTX_DEFAULT`.
const CTX_DEFAULT: u32 = 0;
/// `NFT_CTX_OUTPUT_JSON` (`1 << 4` in `enum nft_output_flags`).
const OUTPUT_JSON: c_uint = 1 << 4;

type CtxNew = unsafe extern "C" fn(u32) -> *mut c_void;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type CtxBuffer = unsafe extern "C" fn(*mut c_void) -> c_int;
type CtxGetBuffer = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type GetFlags = unsafe extern "C" fn(*mut c_void) -> c_uint;
type SetFlags = unsafe extern "C" fn(*mut c_void, c_uint);
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// What one command did: `ok`, what it printed, what it complained about.
pub struct Ran {
    pub ok: bool,
    pub output: String,
    pub error: String,
}

/// One libnftables context. Used by one thread at a time (the engine's):
/// the driver keeps it behind a mutex.
pub struct Libnftables {
    ctx: *mut c_void,
    free: CtxFree,
    get_output: CtxGetBuffer,
    get_error: CtxGetBuffer,
    get_flags: GetFlags,
    set_flags: SetFlags,
    run: RunCmd,
    /// Kept last: the function pointers above point into it.
    _library: Library,
}

// SAFETY: a libnftables context has no thread affinity; it is only ever
// used through `&mut self`, so never from two threads at once.
unsafe impl Send for Libnftables {}

impl Libnftables {
    /// Opens the library at `path` (a soname is looked up as the dynamic
    /// linker does) and makes a context with buffered output.
    pub fn open(path: &str) -> Result<Libnftables, String> {
        // SAFETY: loading libnftables runs no initialisers with
        // preconditions of ours.
        let library = unsafe { Library::new(path) }.map_err(|e| e.to_string())?;
        // SAFETY: each symbol is looked up with the type the header gives.
        unsafe {
            let new: CtxNew = *library.get(b"nft_ctx_new\0").map_err(|e| e.to_string())?;
            let free: CtxFree = *library.get(b"nft_ctx_free\0").map_err(|e| e.to_string())?;
            let buffer_output: CtxBuffer = *library
                .get(b"nft_ctx_buffer_output\0")
                .map_err(|e| e.to_string())?;
            let buffer_error: CtxBuffer = *library
                .get(b"nft_ctx_buffer_error\0")
                .map_err(|e| e.to_string())?;
            let get_output: CtxGetBuffer = *library
                .get(b"nft_ctx_get_output_buffer\0")
                .map_err(|e| e.to_string())?;
            let get_error: CtxGetBuffer = *library
                .get(b"nft_ctx_get_error_buffer\0")
                .map_err(|e| e.to_string())?;
            let get_flags: GetFlags = *library
                .get(b"nft_ctx_output_get_flags\0")
                .map_err(|e| e.to_string())?;
            let set_flags: SetFlags = *library
                .get(b"nft_ctx_output_set_flags\0")
                .map_err(|e| e.to_string())?;
            let run: RunCmd = *library
                .get(b"nft_run_cmd_from_buffer\0")
                .map_err(|e| e.to_string())?;
            // No other context of ours may open a socket between the two
            // listings, so the new sockets are this context's: one in
            // nftables 1.0.6, none in a version that opens it
            // close-on-exec itself.
            let _opening = OPENING.lock().unwrap_or_else(|e| e.into_inner());
            let before = netfilter_sockets_inherited()?;
            let ctx = new(CTX_DEFAULT);
            if ctx.is_null() {
                return Err("nft_ctx_new failed".into());
            }
            let swapped = netfilter_sockets_inherited().and_then(|after| {
                after
                    .difference(&before)
                    .try_for_each(|&fd| swap_for_close_on_exec(fd))
            });
            if let Err(e) = swapped {
                free(ctx);
                return Err(e);
            }
            if buffer_output(ctx) != 0 || buffer_error(ctx) != 0 {
                free(ctx);
                return Err("nft_ctx_buffer_output/error failed".into());
            }
            Ok(Libnftables {
                ctx,
                free,
                get_output,
                get_error,
                get_flags,
                set_flags,
                run,
                _library: library,
            })
        }
    }

    /// Runs `command` (any nft script: what `nft -f -` would read), with
    /// JSON output when `json`.
    pub fn run(&mut self, command: &str, json: bool) -> Ran {
        let Ok(command) = CString::new(command) else {
            return Ran {
                ok: false,
                output: String::new(),
                error: "the ruleset holds a NUL byte".into(),
            };
        };
        // SAFETY: `ctx` is live (freed only in Drop); the buffers returned
        // are NUL-terminated and valid until the next call on `ctx`, and
        // are copied out before it.
        unsafe {
            let flags = (self.get_flags)(self.ctx);
            let wanted = if json {
                flags | OUTPUT_JSON
            } else {
                flags & !OUTPUT_JSON
            };
            (self.set_flags)(self.ctx, wanted);
            let rc = (self.run)(self.ctx, command.as_ptr());
            Ran {
                ok: rc == 0,
                output: text((self.get_output)(self.ctx)),
                error: text((self.get_error)(self.ctx)),
            }
        }
    }
}

/// Held while a context is made; see [`Libnftables::open`].
static OPENING: Mutex<()> = Mutex::new(());

/// This process's netfilter netlink sockets that a child would inherit
/// (no `FD_CLOEXEC`). Every socket Rust's standard library or `nix` opens
/// is close-on-exec, so these are libnftables' own.
fn netfilter_sockets_inherited() -> Result<BTreeSet<RawFd>, String> {
    let listing = std::fs::read_dir("/proc/self/fd").map_err(|e| format!("/proc/self/fd: {e}"))?;
    let mut found = BTreeSet::new();
    for entry in listing.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        // SAFETY: F_GETFD and getsockopt only read; a descriptor closed
        // since the listing (the listing's own) fails and is skipped.
        let inherited = unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC == 0;
        if inherited
            && socket_option(fd, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
            && socket_option(fd, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
        {
            found.insert(fd);
        }
    }
    Ok(found)
}

/// An integer `SOL_SOCKET` option of `fd`; `None` when it is no socket.
fn socket_option(fd: RawFd, option: c_int) -> Option<c_int> {
    let mut value: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live and sized for an int option.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(value)
}

/// Puts a fresh netfilter socket, opened close-on-exec, in place of `fd`
/// under the same number. It is what libnftables opened: non-blocking,
/// extended acks, never bound (the kernel binds it at the first send, and
/// replies are matched by sequence number), so the library cannot tell.
/// The swap is one `dup3`: no moment without a socket at `fd`, and a
/// child forked before it holds the old socket, which owns nothing.
fn swap_for_close_on_exec(fd: RawFd) -> Result<(), String> {
    // SAFETY: plain system calls on descriptors this function owns
    // (`fresh`) or that libnftables opened and has not used yet (`fd`).
    unsafe {
        let fresh = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::NETLINK_NETFILTER,
        );
        if fresh < 0 {
            return Err(format!(
                "netfilter socket: {}",
                std::io::Error::last_os_error()
            ));
        }
        // As nft does, a kernel without extended acks is no error: the
        // messages are only less precise.
        let one: c_int = 1;
        libc::setsockopt(
            fresh,
            libc::SOL_NETLINK,
            libc::NETLINK_EXT_ACK,
            (&one as *const c_int).cast(),
            std::mem::size_of::<c_int>() as libc::socklen_t,
        );
        let swapped = libc::dup3(fresh, fd, libc::O_CLOEXEC);
        let error = std::io::Error::last_os_error();
        libc::close(fresh);
        if swapped < 0 {
            return Err(format!("netfilter socket close-on-exec: {error}"));
        }
    }
    Ok(())
}

/// A buffer libnftables returned, copied; `""` for none.
///
/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as promised by the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Drop for Libnftables {
    fn drop(&mut self) {
        // SAFETY: made by nft_ctx_new, freed once.
        unsafe { (self.free)(self.ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails against nftables 1.0.6 without the swap: its socket is the
    /// one inherited netfilter socket.
    #[test]
    fn a_context_leaves_no_netfilter_socket_a_child_would_inherit() {
        let Ok(lib) = Libnftables::open(super::super::LIBRARY) else {
            eprintln!("skipped: {} cannot be opened", super::super::LIBRARY);
            return;
        };
        // Held so that no other test's context is between its two steps.
        let _opening = OPENING.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(netfilter_sockets_inherited(), Ok(BTreeSet::new()));
        drop(lib);
    }
}
