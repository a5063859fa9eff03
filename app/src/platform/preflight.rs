//! Checks that turn a crash deep inside GTK or tray-icon into a sentence:
//! tray-icon panics when the AppIndicator library is missing, and GTK
//! panics without a display.

/// What tray-icon loads on Linux, in its order of preference.
pub const INDICATOR_LIBRARIES: [&str; 2] =
    ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreflightError {
    #[error(
        "Airlock's tray icon needs the AppIndicator library, which is not installed \
         (tried {tried}).\nInstall it, then start Airlock again:\n  \
         Debian/Ubuntu: sudo apt install libayatana-appindicator3-1\n  \
         Fedora:        sudo dnf install libayatana-appindicator-gtk3\n  \
         Arch:          sudo pacman -S libayatana-appindicator"
    )]
    NoIndicatorLibrary { tried: String },
    #[error(
        "Airlock needs a graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set. \
         Use airlockctl in a terminal instead."
    )]
    NoDisplay,
}

/// Tries to load each library by name; the first that loads wins.
pub fn check_indicator_library(names: &[&str]) -> Result<(), PreflightError> {
    for name in names {
        // SAFETY: loading a well-known system library whose initialisers
        // are the same ones tray-icon runs when it loads it moments later.
        if unsafe { libloading::Library::new(*name) }.is_ok() {
            return Ok(());
        }
    }
    Err(PreflightError::NoIndicatorLibrary {
        tried: names.join(", "),
    })
}

pub fn check_display(display: Option<&str>, wayland: Option<&str>) -> Result<(), PreflightError> {
    let set = |v: Option<&str>| v.is_some_and(|s| !s.is_empty());
    if set(display) || set(wayland) {
        Ok(())
    } else {
        Err(PreflightError::NoDisplay)
    }
}

/// Everything the Linux tray needs before GTK is touched.
pub fn check() -> Result<(), PreflightError> {
    if cfg!(target_os = "macos") {
        return Ok(());
    }
    let var = |k| std::env::var(k).ok();
    check_display(var("DISPLAY").as_deref(), var("WAYLAND_DISPLAY").as_deref())?;
    check_indicator_library(&INDICATOR_LIBRARIES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_package() {
        let e = check_indicator_library(&["libairlock-no-such-indicator.so.1"]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("libayatana-appindicator3-1"), "{msg}");
        assert!(msg.contains("libairlock-no-such-indicator.so.1"), "{msg}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_present_library_passes() {
        // libc is on every Linux system; any loadable name must pass.
        assert_eq!(
            check_indicator_library(&["libairlock-nope.so", "libc.so.6"]),
            Ok(())
        );
    }

    #[test]
    fn display_rules() {
        assert_eq!(check_display(Some(":0"), None), Ok(()));
        assert_eq!(check_display(None, Some("wayland-0")), Ok(()));
        assert_eq!(
            check_display(Some(""), None),
            Err(PreflightError::NoDisplay)
        );
        assert_eq!(check_display(None, None), Err(PreflightError::NoDisplay));
    }
}
