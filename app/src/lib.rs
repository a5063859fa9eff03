//! Airlock's tray app: shows whether traffic is protected and offers the
//! kill switch's few controls. Unprivileged: it never touches the
//! firewall, it asks `airlockd` over the shared IPC client.
//!
//! Decisions live in pure modules with unit tests (`view`, `notify_rules`,
//! `icons`, `model`, `autostart_*`, `backoff`, `login_item_policy`,
//! `helper_install`); `tray` and `app` only
//! apply them to the toolkit, and `*_macos.rs` are thin, unverified shims.

pub mod app;
pub mod autostart_linux;
pub mod autostart_macos;
pub mod backoff;
pub mod clock;
pub mod desktop;
pub mod helper_install;
pub mod helper_link;
pub mod icons;
#[cfg(target_os = "macos")]
pub mod install_helper_macos;
pub mod login_item;
#[cfg(target_os = "macos")]
mod login_item_macos;
pub mod login_item_policy;
pub mod model;
pub mod notify_rules;
#[cfg(target_os = "macos")]
pub mod platform_macos;
pub mod preflight;
pub mod show_rules;
#[cfg(target_os = "macos")]
mod smappservice_macos;
pub mod tray;
pub mod view;

#[cfg(test)]
mod test_status;
