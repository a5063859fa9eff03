//! "Recently blocked": the helper's side. The kernel reports what the
//! final block rules refused; the pure parsers and the bounded table live
//! in `airlock_shared::blocked`, and the files here only read the bytes.
//!
//! - Linux: NFLOG over a netlink socket ([`nflog_linux`]), the group named
//!   by the policy's `log_blocked`.
//! - macOS: not yet (pf `log` to `pflog0`, read with BPF).

#[cfg(target_os = "linux")]
pub mod nflog_linux;

use airlock_shared::blocked::{BlockedEvent, InterfaceRef};

/// Turns an interface index from NFLOG into its name, where the interface
/// still exists (it may be gone by the time the helper reads the log).
pub fn name_interface(event: &mut BlockedEvent) {
    if let InterfaceRef::Index(i) = event.interface {
        if let Ok(name) = nix::net::if_::if_indextoname(i) {
            event.interface = InterfaceRef::Name(name.to_string_lossy().into_owned());
        }
    }
}
