//! "Start at Login" for this platform: read back from the system each
//! time, so the check mark shows what will really happen at next login.
//! macOS: SMAppService on 13+, a LaunchAgent otherwise
//! (`login_item_policy` decides, `login_item_macos` carries it out).

use crate::model::LoginItem;

#[cfg(not(target_os = "macos"))]
pub fn read() -> LoginItem {
    crate::autostart_linux::read(
        crate::autostart_linux::autostart_dir_from_env().as_deref(),
        &crate::autostart_linux::system_dirs_from_env(),
    )
}

/// `Ok(Some(note))`: done, with something the user should know.
#[cfg(not(target_os = "macos"))]
pub fn set(enabled: bool) -> Result<Option<String>, String> {
    let dir = crate::autostart_linux::autostart_dir_from_env()
        .ok_or_else(|| crate::autostart_linux::AutostartError::NoConfigDir.to_string())?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find Airlock's own path: {e}"))?;
    crate::autostart_linux::set(
        &dir,
        enabled,
        &exe,
        &crate::autostart_linux::system_dirs_from_env(),
    )
    .map(|()| None)
    .map_err(|e| e.to_string())
}

#[cfg(target_os = "macos")]
pub fn read() -> LoginItem {
    crate::login_item_macos::read()
}

#[cfg(target_os = "macos")]
pub fn set(enabled: bool) -> Result<Option<String>, String> {
    crate::login_item_macos::set(enabled)
}
