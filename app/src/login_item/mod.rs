//! "Start at Login" for this platform: read back from the system each
//! time, so the check mark shows what will really happen at next login.
//! macOS: SMAppService on 13+, a LaunchAgent otherwise
//! (`policy.rs` decides, `macos.rs` carries it out); Linux: an XDG
//! autostart entry (`xdg_autostart.rs`).

pub mod launch_agent;
#[cfg(target_os = "macos")]
mod macos;
pub mod policy;
pub mod xdg_autostart;

use crate::ui::model::LoginItem;

#[cfg(not(target_os = "macos"))]
pub fn read() -> LoginItem {
    crate::login_item::xdg_autostart::read(
        crate::login_item::xdg_autostart::autostart_dir_from_env().as_deref(),
        &crate::login_item::xdg_autostart::system_dirs_from_env(),
    )
}

/// `Ok(Some(note))`: done, with something the user should know.
#[cfg(not(target_os = "macos"))]
pub fn set(enabled: bool) -> Result<Option<String>, String> {
    let dir = crate::login_item::xdg_autostart::autostart_dir_from_env()
        .ok_or_else(|| crate::login_item::xdg_autostart::AutostartError::NoConfigDir.to_string())?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find Airlock's own path: {e}"))?;
    crate::login_item::xdg_autostart::set(
        &dir,
        enabled,
        &exe,
        &crate::login_item::xdg_autostart::system_dirs_from_env(),
    )
    .map(|()| None)
    .map_err(|e| e.to_string())
}

#[cfg(target_os = "macos")]
pub fn read() -> LoginItem {
    macos::read()
}

#[cfg(target_os = "macos")]
pub fn set(enabled: bool) -> Result<Option<String>, String> {
    macos::set(enabled)
}
