//! macOS shim for the client code-signing check: the peer's audit token
//! from the socket (`LOCAL_PEERTOKEN`), and the Security framework's
//! verdict on it (`SecCodeCopyGuestWithAttributes` with
//! `kSecGuestAttributeAudit`, then `SecCodeCheckValidity` against a
//! `SecRequirement`), through security-framework's
//! `os::macos::code_signing`. What the outcome means is decided in
//! `client_signature.rs`.
//!
//! UNVERIFIED: type-checked and linted here (scripts/check-macos), never
//! linked or run.

#![cfg(target_os = "macos")]

use std::os::fd::{AsFd, AsRawFd};

use core_foundation::base::TCFType;
use core_foundation::data::CFData;
use security_framework::os::macos::code_signing::{
    Flags, GuestAttributes, SecCode, SecRequirement,
};

use crate::client_signature::{classify_error, AuditToken, PeerCode, SignatureCheck};

/// `SOL_LOCAL` and `LOCAL_PEERTOKEN` from <sys/un.h> (not in libc).
const SOL_LOCAL: libc::c_int = 0;
const LOCAL_PEERTOKEN: libc::c_int = 6;

/// The connected peer's audit token, as the kernel recorded it.
pub fn peer_code(sock: &impl AsFd) -> PeerCode {
    let mut token: AuditToken = [0; 8];
    let want = std::mem::size_of::<AuditToken>();
    let mut len = want as libc::socklen_t;
    // SAFETY: the buffer is `len` bytes long and lives across the call.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_fd().as_raw_fd(),
            SOL_LOCAL,
            LOCAL_PEERTOKEN,
            token.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return PeerCode::Unreadable(std::io::Error::last_os_error().to_string());
    }
    if len as usize != want {
        return PeerCode::Unreadable(format!("the kernel returned {len} bytes, not {want}"));
    }
    PeerCode::AuditToken(token)
}

/// Does the process behind `token` satisfy `requirement`? Asked of the
/// kernel as code host (`None`), so no process can vouch for another.
pub fn verify(token: &AuditToken, requirement: &str) -> SignatureCheck {
    let requirement: SecRequirement = match requirement.parse() {
        Ok(r) => r,
        Err(e) => {
            return SignatureCheck::Unavailable(format!(
                "the configured client requirement is not valid ({}): {e}",
                e.code()
            ))
        }
    };
    let bytes: Vec<u8> = token.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let data = CFData::from_buffer(&bytes);
    let mut attrs = GuestAttributes::new();
    attrs.set_audit_token(data.as_concrete_TypeRef());
    // (sic: the crate spells it "attribues".)
    let code = match SecCode::copy_guest_with_attribues(None, &attrs, Flags::NONE) {
        Ok(code) => code,
        Err(e) => return classify_error(e.code(), &e.to_string()),
    };
    match code.check_validity(Flags::NONE, &requirement) {
        Ok(()) => SignatureCheck::Valid,
        Err(e) => classify_error(e.code(), &e.to_string()),
    }
}
