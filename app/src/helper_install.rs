//! What "Install Helper…" does on macOS and what it tells the user, kept
//! here so Linux tests reach it: bless the helper the bundle carries
//! (SMJobBless, `install_helper_macos.rs` is the thin shim), and when that
//! fails for any reason but the user's own "Cancel", fall back to
//! `airlockd install` with administrator rights, saying why.

use std::path::{Path, PathBuf};

/// The helper's launchd label and bundle identifier, which SMJobBless
/// looks up in `Contents/Library/LaunchServices/`. Mirrors
/// `helper/src/install/names.rs` `HELPER_LABEL` (the app does not depend
/// on the helper crate; a test below compares the two).
pub const HELPER_LABEL: &str = "org.airlock.helper";

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_label_matches_the_helper_crate() {
        let names = include_str!("../../helper/src/install/names.rs");
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
