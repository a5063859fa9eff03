//! What "Install Helper…" does on macOS and what it tells the user, kept
//! here so Linux tests reach it ([`install_helper`]):
//! 1. macOS 13+ and a Developer-ID-signed bundle: register the
//!    LaunchDaemon the bundle ships (`Contents/Library/LaunchDaemons/`)
//!    with SMAppService, the modern equivalent of SMJobBless. macOS then
//!    holds it until an administrator approves it in System Settings, so
//!    the user is sent there and told so;
//! 2. otherwise, or when SMAppService refuses for another reason than the
//!    user's own "no": bless the helper the bundle carries (SMJobBless);
//! 3. when that fails for any reason but the user's own "Cancel", fall
//!    back to `airlockd install` with administrator rights, saying why.
//!
//! `macos.rs` and `smappservice::macos` are the thin shims; on Linux
//! `pkexec.rs` runs `airlockd install` through polkit. [`run`] is the one
//! entry the app calls.

use std::path::{Path, PathBuf};

#[cfg(target_os = "macos")]
mod macos;
#[cfg(not(target_os = "macos"))]
mod pkexec;

use crate::smappservice::{
    MacVersion, ServiceStatus, SmError, SMAPPSERVICE_MIN_MAJOR, SM_ERROR_ALREADY_REGISTERED,
    SM_ERROR_JOB_NOT_FOUND, SM_ERROR_LAUNCH_DENIED_BY_USER,
};

/// The helper's launchd label and bundle identifier, which SMJobBless
/// looks up in `Contents/Library/LaunchServices/`. Mirrors
/// `helper/src/install/names.rs` `HELPER_LABEL` (the app does not depend
/// on the helper crate; a test below compares the two).
pub const HELPER_LABEL: &str = "org.airlock.helper";

/// The LaunchDaemon plist SMAppService looks up in the bundle's
/// `Contents/Library/LaunchDaemons/` (helper/src/install/plists.rs
/// `bundled_launch_daemon`; a test checks the committed file exists).
pub const HELPER_PLIST: &str = "org.airlock.helper.plist";

/// What the user must do after SMAppService registered the helper.
pub const APPROVE_HELPER: &str =
    "Approve Airlock's helper in System Settings → General → Login Items; it starts once approved";

/// Authorization Services' `errAuthorizationCanceled` (Authorization.h):
/// the user pressed Cancel, so asking again at once would be rude.
pub const AUTHORIZATION_CANCELED: i32 = -60006;

/// Why blessing did not happen, as the platform shim reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlessFailure {
    /// Not running from an `Airlock.app` that carries the helper (a
    /// development build): there is nothing to bless.
    NotBundled,
    /// `AuthorizationCreate` failed (an `OSStatus`).
    Authorization { code: i32, message: String },
    /// `SMJobBless` failed (its `CFError`).
    Bless { code: i64, message: String },
}

impl BlessFailure {
    fn reason(&self) -> String {
        match self {
            BlessFailure::NotBundled => "Airlock is not running from its app bundle".into(),
            BlessFailure::Authorization { code, message } => {
                format!("authorization failed ({code}): {message}")
            }
            BlessFailure::Bless { code, message } => {
                format!("SMJobBless failed ({code}): {message}")
            }
        }
    }
}

/// What happens after the install started: the password (or Touch ID)
/// prompt, then the helper starts and the app connects by itself.
pub const NEXT_STEP: &str =
    "Installing the helper: confirm with your password; Airlock connects as soon as it runs";

/// What to tell the user when the app cannot start the install itself.
pub const INSTALL_BY_HAND: &str = "Install the helper from a terminal: sudo airlockd install";

/// Starts the helper's installation; `Err` carries what to tell the user.
/// macOS: SMAppService on 13+ with a signed bundle, else SMJobBless, and
/// `airlockd install` as root if that fails ([`install_helper`] decides).
/// Linux: `pkexec airlockd install`.
pub fn run() -> Result<(), String> {
    #[cfg(target_os = "macos")]
    {
        let exe = std::env::current_exe().ok();
        install_helper(
            macos::smappservice_usable(exe.as_deref()),
            &mut macos::MacInstallers {
                own_exe: exe.as_deref(),
            },
        )
    }
    #[cfg(not(target_os = "macos"))]
    {
        pkexec::install_helper()
    }
}

/// Where SMJobBless expects the helper, given the app's own executable
/// (`Airlock.app/Contents/MacOS/airlock`); `None` outside such a bundle.
pub fn bundled_helper(own_exe: &Path) -> Option<PathBuf> {
    Some(
        bundle_contents(own_exe)?
            .join("Library/LaunchServices")
            .join(HELPER_LABEL),
    )
}

/// The bundle's `Contents` folder when `own_exe` is
/// `Something.app/Contents/MacOS/<exe>`; `None` for a bare binary (a
/// development build), which SMJobBless and SMAppService cannot use.
pub fn bundle_contents(own_exe: &Path) -> Option<PathBuf> {
    let macos_dir = own_exe.parent()?;
    let contents = macos_dir.parent()?;
    let in_bundle = macos_dir.file_name()? == "MacOS" && contents.file_name()? == "Contents";
    in_bundle.then(|| contents.to_path_buf())
}

/// Applies the rules above: `bless` is what blessing returned,
/// `fallback` starts `airlockd install` with administrator rights (only
/// called when needed). `Err` is the line the menu shows under the
/// status; `Ok` means nothing needs saying (the icon changes as soon as
/// the helper answers).
pub fn install(
    bless: Result<(), BlessFailure>,
    fallback: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let failure = match bless {
        Ok(()) => return Ok(()),
        Err(f) => f,
    };
    if matches!(
        failure,
        BlessFailure::Authorization {
            code: AUTHORIZATION_CANCELED,
            ..
        }
    ) {
        return Err("Helper not installed: the administrator prompt was cancelled".into());
    }
    let reason = failure.reason();
    match fallback() {
        Ok(()) => Err(format!(
            "Couldn't bless the helper ({reason}); installing it with `airlockd install` instead"
        )),
        Err(e) => Err(format!("Couldn't install the helper ({reason}); {e}")),
    }
}

/// Whether to register the helper with SMAppService: macOS 13+, running
/// from the bundle that ships the daemon plist, and signed with a
/// Developer ID (SMAppService refuses daemons of unsigned or ad-hoc
/// signed apps, and notarization needs one).
pub fn smappservice_daemon_available(
    version: Option<MacVersion>,
    bundled: bool,
    developer_signed: bool,
) -> bool {
    bundled && developer_signed && version.is_some_and(|v| v.major >= SMAPPSERVICE_MIN_MAJOR)
}

/// Everything "Install Helper…" may do; the shims do it for real, the
/// tests record it.
pub trait Installers {
    /// `SMAppService.daemon(plistName:).status`; `None`: unknown value.
    fn daemon_status(&mut self) -> Option<ServiceStatus>;
    fn register_daemon(&mut self) -> Result<(), SmError>;
    fn unregister_daemon(&mut self) -> Result<(), SmError>;
    fn open_login_items_settings(&mut self);
    fn bless(&mut self) -> Result<(), BlessFailure>;
    /// `airlockd install` with administrator rights.
    fn install_as_admin(&mut self) -> Result<(), String>;
}

/// The whole decision (see the module doc). `Err` is the line the menu
/// shows; `Ok` means nothing needs saying (the icon changes as soon as
/// the helper answers).
pub fn install_helper(smappservice: bool, m: &mut dyn Installers) -> Result<(), String> {
    if !smappservice {
        return older(m);
    }
    match m.daemon_status() {
        Some(ServiceStatus::RequiresApproval) => approve(m),
        Some(ServiceStatus::Enabled) => {
            // Registered and approved, yet not answering (we only offer
            // the item when the helper is not running): register again,
            // unregistering first as Apple advises after the executable
            // changed (an updated or moved app).
            match m.unregister_daemon() {
                Ok(()) => {}
                Err(e) if e.code == SM_ERROR_JOB_NOT_FOUND => {}
                Err(e) => {
                    return Err(format!(
                        "Couldn't restart the helper: {}; try `sudo airlockd install`",
                        sm_reason(&e)
                    ))
                }
            }
            register(m)
        }
        Some(ServiceStatus::NotRegistered | ServiceStatus::NotFound) | None => register(m),
    }
}

fn register(m: &mut dyn Installers) -> Result<(), String> {
    match m.register_daemon() {
        Ok(()) => {}
        Err(e) if e.code == SM_ERROR_ALREADY_REGISTERED => {}
        // The user said no in System Settings; only they can undo it.
        Err(e) if e.code == SM_ERROR_LAUNCH_DENIED_BY_USER => return approve(m),
        Err(e) => {
            return older(m)
                .map_err(|text| format!("{text} (SMAppService refused first: {})", sm_reason(&e)))
        }
    }
    match m.daemon_status() {
        Some(ServiceStatus::Enabled) => Ok(()),
        Some(ServiceStatus::RequiresApproval) => approve(m),
        other => Err(format!(
            "The helper was registered, but macOS reports it as {}; \
             try again, or run `sudo airlockd install`",
            match other {
                Some(ServiceStatus::NotFound) => "not found",
                Some(ServiceStatus::NotRegistered) => "not registered",
                _ => "in an unknown state",
            }
        )),
    }
}

fn approve(m: &mut dyn Installers) -> Result<(), String> {
    m.open_login_items_settings();
    Err(APPROVE_HELPER.into())
}

/// SMJobBless, then `airlockd install`.
fn older(m: &mut dyn Installers) -> Result<(), String> {
    let blessed = m.bless();
    install(blessed, || m.install_as_admin())
}

/// An SMAppService error in words (`SMErrors.h` codes).
pub fn sm_reason(e: &SmError) -> String {
    let why = match e.code {
        2 => "an internal error in ServiceManagement",
        3 => "the app's code signature is not valid",
        4 => "authorization failed",
        5 => "the helper is not a valid executable",
        7 => "the service is unavailable",
        8 => "the app bundle has no helper plist in Contents/Library/LaunchDaemons",
        10 => "the helper's launchd plist is invalid",
        _ => return e.to_string(),
    };
    format!("{why} (error {})", e.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    use crate::smappservice::parse_version;
    use ServiceStatus::*;

    #[test]
    fn the_plist_smappservice_registers_is_shipped() {
        let path = format!(
            "{}/../resources/macos/LaunchDaemons/{HELPER_PLIST}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        // SMAppService runs the bundled helper, by a bundle-relative path.
        assert!(
            text.contains(&format!(
                "<key>BundleProgram</key>\n\t<string>Contents/Library/LaunchServices/{HELPER_LABEL}</string>"
            )),
            "{text}"
        );
    }

    #[test]
    fn smappservice_only_for_signed_bundles_on_13_or_later() {
        let v = |t| parse_version(t);
        assert!(smappservice_daemon_available(v("13.0"), true, true));
        assert!(smappservice_daemon_available(v("15.3.1"), true, true));
        assert!(!smappservice_daemon_available(v("12.7"), true, true));
        assert!(!smappservice_daemon_available(v("14.0"), false, true));
        assert!(!smappservice_daemon_available(v("14.0"), true, false));
        assert!(!smappservice_daemon_available(None, true, true));
    }

    /// Records calls; answers as told. `statuses` are returned in order
    /// (the last one repeats).
    struct Fake {
        calls: Vec<&'static str>,
        statuses: Vec<Option<ServiceStatus>>,
        register: Result<(), SmError>,
        unregister: Result<(), SmError>,
        bless: Result<(), BlessFailure>,
        admin: Result<(), String>,
    }

    fn fake(statuses: &[Option<ServiceStatus>]) -> Fake {
        Fake {
            calls: Vec::new(),
            statuses: statuses.to_vec(),
            register: Ok(()),
            unregister: Ok(()),
            bless: Ok(()),
            admin: Ok(()),
        }
    }

    impl Installers for Fake {
        fn daemon_status(&mut self) -> Option<ServiceStatus> {
            self.calls.push("status");
            if self.statuses.len() > 1 {
                self.statuses.remove(0)
            } else {
                self.statuses.first().copied().flatten()
            }
        }
        fn register_daemon(&mut self) -> Result<(), SmError> {
            self.calls.push("register");
            self.register.clone()
        }
        fn unregister_daemon(&mut self) -> Result<(), SmError> {
            self.calls.push("unregister");
            self.unregister.clone()
        }
        fn open_login_items_settings(&mut self) {
            self.calls.push("open_settings");
        }
        fn bless(&mut self) -> Result<(), BlessFailure> {
            self.calls.push("bless");
            self.bless.clone()
        }
        fn install_as_admin(&mut self) -> Result<(), String> {
            self.calls.push("admin");
            self.admin.clone()
        }
    }

    fn sm(code: i64) -> SmError {
        SmError {
            code,
            message: "The operation couldn't be completed.".into(),
        }
    }

    #[test]
    fn without_smappservice_it_is_smjobbless_then_airlockd_install() {
        let mut f = fake(&[Some(Enabled)]);
        assert_eq!(install_helper(false, &mut f), Ok(()));
        assert_eq!(f.calls, ["bless"]);

        let mut f = fake(&[]);
        f.bless = Err(BlessFailure::NotBundled);
        let text = install_helper(false, &mut f).unwrap_err();
        assert_eq!(f.calls, ["bless", "admin"]);
        assert!(text.contains("airlockd install"), "{text}");
    }

    #[test]
    fn a_fresh_registration_asks_for_approval() {
        // Registering a daemon leaves it awaiting an administrator.
        let mut f = fake(&[Some(NotRegistered), Some(RequiresApproval)]);
        assert_eq!(install_helper(true, &mut f), Err(APPROVE_HELPER.into()));
        assert_eq!(f.calls, ["status", "register", "status", "open_settings"]);
        assert!(APPROVE_HELPER.contains("System Settings → General → Login Items"));

        // Approved at once (e.g. by an MDM profile): nothing to say.
        let mut f = fake(&[Some(NotFound), Some(Enabled)]);
        assert_eq!(install_helper(true, &mut f), Ok(()));
        assert_eq!(f.calls, ["status", "register", "status"]);

        // Already registered is no error.
        let mut f = fake(&[None, Some(Enabled)]);
        f.register = Err(sm(SM_ERROR_ALREADY_REGISTERED));
        assert_eq!(install_helper(true, &mut f), Ok(()));
    }

    #[test]
    fn awaiting_approval_only_opens_system_settings() {
        let mut f = fake(&[Some(RequiresApproval)]);
        assert_eq!(install_helper(true, &mut f), Err(APPROVE_HELPER.into()));
        assert_eq!(f.calls, ["status", "open_settings"]);

        // The user's "no" is not overruled by SMJobBless or an install.
        let mut f = fake(&[Some(NotRegistered)]);
        f.register = Err(sm(SM_ERROR_LAUNCH_DENIED_BY_USER));
        assert_eq!(install_helper(true, &mut f), Err(APPROVE_HELPER.into()));
        assert_eq!(f.calls, ["status", "register", "open_settings"]);
    }

    #[test]
    fn an_approved_helper_that_does_not_run_is_registered_again() {
        let mut f = fake(&[Some(Enabled), Some(Enabled)]);
        assert_eq!(install_helper(true, &mut f), Ok(()));
        assert_eq!(f.calls, ["status", "unregister", "register", "status"]);

        let mut f = fake(&[Some(Enabled), Some(Enabled)]);
        f.unregister = Err(sm(SM_ERROR_JOB_NOT_FOUND));
        assert_eq!(install_helper(true, &mut f), Ok(()));

        let mut f = fake(&[Some(Enabled)]);
        f.unregister = Err(sm(4));
        let text = install_helper(true, &mut f).unwrap_err();
        assert_eq!(f.calls, ["status", "unregister"]);
        assert!(text.contains("authorization failed (error 4)"), "{text}");
    }

    #[test]
    fn a_refused_registration_falls_back_and_says_why() {
        // Blessing works: the helper comes up, nothing to say.
        let mut f = fake(&[Some(NotFound)]);
        f.register = Err(sm(3));
        assert_eq!(install_helper(true, &mut f), Ok(()));
        assert_eq!(f.calls, ["status", "register", "bless"]);

        // Everything after fails: every reason is in the line.
        let mut f = fake(&[Some(NotFound)]);
        f.register = Err(sm(8));
        f.bless = Err(BlessFailure::Bless {
            code: 8,
            message: "requirement not met".into(),
        });
        f.admin = Err("no airlockd next to the app".into());
        let text = install_helper(true, &mut f).unwrap_err();
        assert_eq!(f.calls, ["status", "register", "bless", "admin"]);
        for part in [
            "no airlockd next to the app",
            "SMJobBless failed (8)",
            "no helper plist in Contents/Library/LaunchDaemons (error 8)",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn registered_but_missing_is_reported() {
        let mut f = fake(&[Some(NotRegistered), Some(NotFound)]);
        let text = install_helper(true, &mut f).unwrap_err();
        assert!(
            text.contains("not found") && text.contains("sudo airlockd install"),
            "{text}"
        );
        assert!(!f.calls.contains(&"bless"), "{:?}", f.calls);
    }

    #[test]
    fn smappservice_errors_in_words() {
        let known = [2, 3, 4, 5, 7, 8, 10];
        let texts: Vec<_> = known.iter().map(|c| sm_reason(&sm(*c))).collect();
        for (c, t) in known.iter().zip(&texts) {
            assert!(t.ends_with(&format!("(error {c})")), "{t}");
            assert!(!t.contains("couldn't be completed"), "{t}");
        }
        for (i, t) in texts.iter().enumerate() {
            let words = t.split(" (error").next().unwrap();
            assert!(!texts[i + 1..].iter().any(|o| o.starts_with(words)), "{t}");
        }
        // Unknown codes keep the system's own description.
        assert_eq!(
            sm_reason(&sm(99)),
            "The operation couldn't be completed. (error 99)"
        );
    }

    #[test]
    fn the_label_matches_the_helper_crate() {
        let names = include_str!("../../../helper/src/install/names.rs");
        let wanted = format!("pub const HELPER_LABEL: &str = \"{HELPER_LABEL}\";");
        assert!(names.contains(&wanted), "names.rs no longer has {wanted}");
    }

    #[test]
    fn the_helper_is_found_only_inside_a_bundle() {
        assert_eq!(
            bundled_helper(Path::new(
                "/Applications/Airlock.app/Contents/MacOS/airlock"
            )),
            Some(PathBuf::from(
                "/Applications/Airlock.app/Contents/Library/LaunchServices/org.airlock.helper"
            ))
        );
        assert_eq!(
            bundle_contents(Path::new("/Users/me/Airlock.app/Contents/MacOS/airlock")),
            Some(PathBuf::from("/Users/me/Airlock.app/Contents"))
        );
        for dev in [
            "/home/me/airlock/target/debug/airlock",
            "/Contents/airlock",
            "airlock",
            "/",
        ] {
            assert_eq!(bundled_helper(Path::new(dev)), None, "{dev}");
            assert_eq!(bundle_contents(Path::new(dev)), None, "{dev}");
        }
    }

    #[test]
    fn a_blessed_helper_needs_no_fallback_and_no_words() {
        let called = Cell::new(false);
        let r = install(Ok(()), || {
            called.set(true);
            Ok(())
        });
        assert_eq!(r, Ok(()));
        assert!(!called.get());
    }

    #[test]
    fn cancel_means_no_second_prompt() {
        let called = Cell::new(false);
        let cancelled = BlessFailure::Authorization {
            code: AUTHORIZATION_CANCELED,
            message: "The operation couldn't be completed.".into(),
        };
        let r = install(Err(cancelled), || {
            called.set(true);
            Ok(())
        });
        assert!(!called.get(), "the fallback prompted again after Cancel");
        assert!(r.unwrap_err().contains("cancelled"));
    }

    #[test]
    fn other_failures_fall_back_and_say_why() {
        let cases = [
            (BlessFailure::NotBundled, "not running from its app bundle"),
            (
                BlessFailure::Authorization {
                    code: -60005,
                    message: "denied".into(),
                },
                "authorization failed (-60005): denied",
            ),
            (
                BlessFailure::Bless {
                    code: 8,
                    message: "code signing requirement not met".into(),
                },
                "SMJobBless failed (8): code signing requirement not met",
            ),
        ];
        for (failure, reason) in cases {
            let called = Cell::new(0);
            let text = install(Err(failure.clone()), || {
                called.set(called.get() + 1);
                Ok(())
            })
            .unwrap_err();
            assert_eq!(called.get(), 1, "{failure:?}");
            assert!(text.contains(reason), "{text}");
            assert!(text.contains("airlockd install"), "{text}");

            let text = install(Err(failure.clone()), || {
                Err("no airlockd next to the app".into())
            })
            .unwrap_err();
            assert!(text.contains(reason), "{text}");
            assert!(text.ends_with("no airlockd next to the app"), "{text}");
        }
    }
}
