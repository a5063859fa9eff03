//! Which *programs* may change settings, on top of which *users* may
//! (`auth::may_change`). On macOS, when the app is signed, the helper
//! checks each client's code signature against a requirement before it
//! accepts a change from it, so a random process of an admin user cannot
//! silently turn the kill switch off: it must be Airlock's signed app.
//!
//! Everything decided here is pure and tested on Linux; the macOS shim
//! (`codesign_macos.rs`) only reads the audit token and asks the
//! Security framework, reporting a [`SignatureCheck`].
//!
//! The rules, in order:
//! 1. reads (status, subscribe, rules, settings) never need a signature:
//!    anyone local may read, as before;
//! 2. no requirement configured ([`SigningPolicy::NotRequired`]: Linux,
//!    development and unsigned builds) → only the uid/group check applies;
//! 3. root (uid 0, e.g. `sudo airlockctl`) needs no signature: root can
//!    load pf rules directly, so refusing it would protect nothing and
//!    would lock out the recovery path when the app is broken;
//! 4. otherwise the signature must be checked and valid; when it cannot
//!    be checked (no audit token, API error, a requirement that does not
//!    parse) the change is refused: fail closed.

use airlock_shared::platform::Platform;

/// Whether clients' code signatures are checked. From `airlockd run
/// --client-requirement`, which packaging writes into the LaunchDaemon
/// plist when it signs the app (it knows the team id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningPolicy {
    /// No requirement configured: unsigned or development builds, Linux.
    NotRequired,
    /// A code-signing requirement in Apple's language, e.g.
    /// `anchor apple generic and identifier "org.airlock.app" and
    /// certificate leaf[subject.OU] = "TEAMID"`.
    Required { requirement: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Only macOS can check a socket peer's code signature; accepting the
    /// option elsewhere would promise a protection that does not exist.
    #[error("--client-requirement is only supported on macOS: {0} cannot check a client's code signature")]
    Unsupported(&'static str),
}

impl SigningPolicy {
    /// `requirement` as given on the command line. Empty or blank means
    /// "none": unsigned bundles get `--client-requirement=` from the same
    /// plist template as signed ones.
    pub fn new(requirement: Option<&str>, platform: Platform) -> Result<Self, PolicyError> {
        let requirement = match requirement.map(str::trim) {
            None | Some("") => return Ok(SigningPolicy::NotRequired),
            Some(r) => r,
        };
        match platform {
            Platform::Macos => Ok(SigningPolicy::Required {
                requirement: requirement.to_string(),
            }),
            Platform::Linux => Err(PolicyError::Unsupported("Linux")),
        }
    }
}

/// `audit_token_t`: eight 32-bit words, opaque to us; the kernel fills
/// it and the Security framework reads it.
pub type AuditToken = [u32; 8];

/// What identifies the peer's code, read once when it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCode {
    /// This platform has no code identity for socket peers (Linux).
    NotApplicable,
    /// macOS `LOCAL_PEERTOKEN`. The token also names the process's
    /// exec generation, so re-checking it per request catches a signed
    /// client that connected and then exec'd something else.
    AuditToken(AuditToken),
    /// The token could not be read: why.
    Unreadable(String),
}

/// The outcome of checking a peer's signature against the requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Valid,
    /// The client is not what the requirement names: why.
    Invalid(String),
    /// The check could not be done: why.
    Unavailable(String),
}

/// Whether a request may go on as far as code signing is concerned.
/// `check` is called only when a signature is really needed (rule 4), so
/// reads and root never pay for it. `Err` is the refusal text the client
/// shows (after "not authorized").
pub fn authorize(
    policy: &SigningPolicy,
    mutating: bool,
    uid: u32,
    check: impl FnOnce(&str) -> SignatureCheck,
) -> Result<(), String> {
    let requirement = match policy {
        _ if !mutating => return Ok(()),
        SigningPolicy::NotRequired => return Ok(()),
        _ if uid == 0 => return Ok(()),
        SigningPolicy::Required { requirement } => requirement,
    };
    match check(requirement) {
        SignatureCheck::Valid => Ok(()),
        SignatureCheck::Invalid(why) => Err(format!(
            "the requesting program is not Airlock's signed app ({why}); \
             reinstall Airlock, or use `sudo airlockctl`"
        )),
        SignatureCheck::Unavailable(why) => Err(format!(
            "cannot verify the requesting program's code signature ({why}), \
             so changes from it are refused; use `sudo airlockctl` meanwhile"
        )),
    }
}

/// Checks `code` against `requirement`; `verify` is the platform's
/// Security-framework call, made only when there is a token to verify.
pub fn check_peer(
    code: &PeerCode,
    requirement: &str,
    verify: impl FnOnce(&AuditToken, &str) -> SignatureCheck,
) -> SignatureCheck {
    match code {
        PeerCode::AuditToken(token) => verify(token, requirement),
        PeerCode::Unreadable(why) => {
            SignatureCheck::Unavailable(format!("cannot read the client's audit token: {why}"))
        }
        PeerCode::NotApplicable => {
            SignatureCheck::Unavailable("this system cannot check a client's code signature".into())
        }
    }
}

/// Code-signing `OSStatus` values (CSCommon.h) that say the client is
/// not the program the requirement names, as opposed to "could not check".
pub const ERR_SEC_CS_REQ_FAILED: i32 = -67050;
pub const ERR_SEC_CS_UNSIGNED: i32 = -67062;
pub const ERR_SEC_CS_SIGNATURE_FAILED: i32 = -67061;
pub const ERR_SEC_CS_GUEST_INVALID: i32 = -67063;
pub const ERR_SEC_CS_NO_SUCH_CODE: i32 = -67065;

/// Words for a failed Security-framework call (`code` is its `OSStatus`,
/// `message` its description). Both outcomes refuse; the split only makes
/// the refusal say whether the client or the check is at fault.
pub fn classify_error(code: i32, message: &str) -> SignatureCheck {
    let why = match code {
        ERR_SEC_CS_REQ_FAILED => "it does not satisfy the code requirement",
        ERR_SEC_CS_UNSIGNED => "it is not signed",
        ERR_SEC_CS_SIGNATURE_FAILED => "its signature is broken",
        ERR_SEC_CS_GUEST_INVALID => "its code was changed while it ran",
        ERR_SEC_CS_NO_SUCH_CODE => {
            // The token names a process generation that no longer exists
            // (it exited or exec'd since it connected).
            return SignatureCheck::Unavailable(format!(
                "the client process is gone or was replaced ({code})"
            ));
        }
        _ => {
            return SignatureCheck::Unavailable(format!(
                "Security framework error {code}: {message}"
            ))
        }
    };
    SignatureCheck::Invalid(format!("{why}, {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const REQ: &str = r#"anchor apple generic and identifier "org.airlock.app""#;

    fn required() -> SigningPolicy {
        SigningPolicy::Required {
            requirement: REQ.into(),
        }
    }

    #[test]
    fn the_policy_comes_from_the_option_and_only_macos_accepts_one() {
        for p in [Platform::Macos, Platform::Linux] {
            assert_eq!(SigningPolicy::new(None, p), Ok(SigningPolicy::NotRequired));
            // What the unsigned bundle's plist passes.
            assert_eq!(
                SigningPolicy::new(Some("  "), p),
                Ok(SigningPolicy::NotRequired)
            );
        }
        assert_eq!(
            SigningPolicy::new(Some(&format!(" {REQ}\n")), Platform::Macos),
            Ok(required())
        );
        let err = SigningPolicy::new(Some(REQ), Platform::Linux).unwrap_err();
        assert!(err.to_string().contains("only supported on macOS"), "{err}");
    }

    /// The whole table: (policy, mutating, uid, check outcome) -> allowed,
    /// and whether the check had to run.
    #[test]
    fn decision_table() {
        let invalid = SignatureCheck::Invalid("it is not signed, -67062".into());
        let unavailable = SignatureCheck::Unavailable("no token".into());
        let none = SigningPolicy::NotRequired;
        let req = required();
        #[rustfmt::skip]
        let table = [
            // reads never need a signature, whatever the check would say
            (&req,  false, 501, invalid.clone(),     true,  false),
            (&req,  false, 501, unavailable.clone(), true,  false),
            // nothing configured: the group check alone decides
            (&none, true,  501, invalid.clone(),     true,  false),
            (&none, true,  501, unavailable.clone(), true,  false),
            // root is exempt (it can load pf rules itself)
            (&req,  true,  0,   invalid.clone(),     true,  false),
            (&req,  true,  0,   unavailable.clone(), true,  false),
            // an app client changing something: must pass
            (&req,  true,  501, SignatureCheck::Valid, true, true),
            (&req,  true,  501, invalid.clone(),     false, true),
            (&req,  true,  501, unavailable.clone(), false, true),
        ];
        for (i, (policy, mutating, uid, outcome, allowed, checked)) in table.into_iter().enumerate()
        {
            let ran = Cell::new(false);
            let got = authorize(policy, mutating, uid, |r| {
                ran.set(true);
                assert_eq!(r, REQ, "row {i}: the configured requirement is checked");
                outcome.clone()
            });
            assert_eq!(got.is_ok(), allowed, "row {i}: {got:?}");
            assert_eq!(ran.get(), checked, "row {i}: check ran?");
        }
    }

    #[test]
    fn refusals_say_whose_fault_and_the_way_out() {
        let req = required();
        let invalid = authorize(&req, true, 501, |_| {
            SignatureCheck::Invalid("it is not signed, -67062".into())
        })
        .unwrap_err();
        assert!(invalid.contains("not Airlock's signed app"), "{invalid}");
        assert!(invalid.contains("it is not signed, -67062"), "{invalid}");
        let unavailable = authorize(&req, true, 501, |_| {
            SignatureCheck::Unavailable("no token".into())
        })
        .unwrap_err();
        assert!(unavailable.contains("cannot verify"), "{unavailable}");
        assert!(unavailable.contains("(no token)"), "{unavailable}");
        for text in [invalid, unavailable] {
            assert!(text.contains("sudo airlockctl"), "{text}");
        }
    }

    #[test]
    fn only_a_token_is_handed_to_the_security_framework() {
        let token: AuditToken = [1, 2, 3, 4, 5, 6, 7, 8];
        let seen = Cell::new(None);
        let got = check_peer(&PeerCode::AuditToken(token), REQ, |t, r| {
            seen.set(Some((*t, r == REQ)));
            SignatureCheck::Valid
        });
        assert_eq!(got, SignatureCheck::Valid);
        assert_eq!(seen.get(), Some((token, true)));

        for code in [
            PeerCode::NotApplicable,
            PeerCode::Unreadable("Invalid argument".into()),
        ] {
            let got = check_peer(&code, REQ, |_, _| panic!("verified without a token"));
            assert!(
                matches!(got, SignatureCheck::Unavailable(_)),
                "{code:?}: {got:?}"
            );
        }
        assert_eq!(
            check_peer(&PeerCode::Unreadable("EINVAL".into()), REQ, |_, _| {
                SignatureCheck::Valid
            }),
            SignatureCheck::Unavailable("cannot read the client's audit token: EINVAL".into())
        );
    }

    #[test]
    fn security_errors_split_into_wrong_client_and_cannot_check() {
        for code in [
            ERR_SEC_CS_REQ_FAILED,
            ERR_SEC_CS_UNSIGNED,
            ERR_SEC_CS_SIGNATURE_FAILED,
            ERR_SEC_CS_GUEST_INVALID,
        ] {
            match classify_error(code, "x") {
                SignatureCheck::Invalid(why) => assert!(why.contains(&code.to_string()), "{why}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in [ERR_SEC_CS_NO_SUCH_CODE, -67072, 100003, 0] {
            match classify_error(code, "UNIX[No such process]") {
                SignatureCheck::Unavailable(why) => {
                    assert!(why.contains(&code.to_string()), "{why}")
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        // Distinct words for distinct failures.
        let texts: Vec<_> = [
            ERR_SEC_CS_REQ_FAILED,
            ERR_SEC_CS_UNSIGNED,
            ERR_SEC_CS_SIGNATURE_FAILED,
            ERR_SEC_CS_GUEST_INVALID,
        ]
        .iter()
        .map(|c| format!("{:?}", classify_error(*c, "")).replace(&c.to_string(), ""))
        .collect();
        for (i, t) in texts.iter().enumerate() {
            assert!(!texts[i + 1..].contains(t), "{t} used twice");
        }
    }
}
