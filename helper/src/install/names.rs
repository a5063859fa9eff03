//! The one place that names Airlock to the operating system: bundle ids,
//! launchd labels, unit and file names, install paths. The plists, the
//! systemd unit, the desktop entries and the packaging scripts are all
//! rendered from (or checked against) these, so they cannot drift apart.

use std::path::PathBuf;

use airlock_shared::platform::Platform;

/// The menu-bar app's bundle identifier. It is also the app's LaunchAgent
/// label (`app/src/login_item/launch_agent.rs`) and `resources/macos/Info.plist`'s
/// `CFBundleIdentifier`, which a test checks.
pub const APP_BUNDLE_ID: &str = "org.airlock.app";
/// The helper's launchd label, bundle identifier (SMJobBless needs the
/// helper's Info.plist to carry one) and the LaunchDaemon plist's stem.
pub const HELPER_LABEL: &str = "org.airlock.helper";
/// What the user sees: the bundle is `Airlock.app`.
pub const APP_NAME: &str = "Airlock";
/// Binaries as built by cargo.
pub const APP_BINARY: &str = "airlock";
pub const HELPER_BINARY: &str = "airlockd";
pub const CLI_BINARY: &str = "airlockctl";
/// The systemd service, `airlockd.service`.
pub const UNIT_NAME: &str = "airlockd.service";
/// The XDG desktop entry's file name (applications and autostart alike;
/// the app's own per-user autostart entry uses the same name, so a user
/// entry overrides the system-wide one as the XDG autostart spec says).
pub const DESKTOP_FILE: &str = "airlock.desktop";
/// The icon name desktop entries refer to (installed into hicolor).
pub const ICON_NAME: &str = "airlock";
/// Oldest macOS the app supports (`LSMinimumSystemVersion`).
pub const MACOS_MINIMUM: &str = "11.0";
/// The version every bundle and package carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where packages put the helper on Linux, and so what the committed unit
/// starts.
pub const LINUX_HELPER_PATH: &str = "/usr/bin/airlockd";
/// Where `airlockd install` writes the unit (the admin's directory; the
/// .deb ships the same text in `/lib/systemd/system/`).
pub const LINUX_UNIT_DIR: &str = "etc/systemd/system";
/// Where `airlockd install` writes the LaunchDaemon plist on macOS.
pub const MACOS_DAEMONS_DIR: &str = "Library/LaunchDaemons";
/// Where the helper's stderr goes on macOS (launchd has no journal).
pub const MACOS_LOG_PATH: &str = "/Library/Logs/Airlock/airlockd.log";

/// `org.airlock.helper.plist`.
pub fn launch_daemon_file() -> String {
    format!("{HELPER_LABEL}.plist")
}

/// launchd's service target for the helper, as `launchctl bootout` wants it.
pub fn launchd_service_target() -> String {
    format!("system/{HELPER_LABEL}")
}

/// Where settings (and the pf enable token) persist.
pub fn default_state_dir(platform: Platform) -> PathBuf {
    match platform {
        Platform::Macos => "/Library/Application Support/Airlock".into(),
        Platform::Linux => "/var/lib/airlock".into(),
    }
}

/// Who may change settings besides root.
pub fn default_admin_group(platform: Platform) -> &'static str {
    match platform {
        Platform::Macos => "admin",
        Platform::Linux => "sudo",
    }
}
