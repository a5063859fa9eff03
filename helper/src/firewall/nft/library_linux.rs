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

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

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
            let ctx = new(CTX_DEFAULT);
            if ctx.is_null() {
                return Err("nft_ctx_new failed".into());
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
