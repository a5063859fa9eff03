//! Airlock's tray app: shows whether traffic is protected and offers the
//! kill switch's few controls. Unprivileged: it never touches the
//! firewall, it asks `airlockd` over the IPC client.
//!
//! Shaped so every decision is in cross-platform code the Linux tests
//! reach, and the platforms only carry decisions out:
//! - [`ui`]: model, view, tray, icons, notification and "Show Rules"
//!   rules. The view is rendered from the model alone, never from a click.
//! - `platform`: the one desktop API (notify, open, Dock icon,
//!   preflight), one implementation per platform picked in one place.
//! - `helper_install`: "Install Helper…" (SMAppService, SMJobBless,
//!   `airlockd install` as administrator; pkexec on Linux).
//! - `login_item`: "Start at Login" (SMAppService or a LaunchAgent on
//!   macOS, an XDG autostart entry on Linux).
//! - `smappservice`: the SMAppService vocabulary both of them share.
//! - `helper_link`: the connection to the helper, with `backoff`, `clock`.
//! - `selftest_run`: "Test Protection" runs `airlockctl selftest --json`.
//! - `vpn_configs`: the VPN connections on disk, the record of where the
//!   allowed servers came from, the file dialog (with their test seams).
//!
//! `app` ties them together in the event loop. macOS code sits in files
//! named for the platform (`macos.rs`, `macos/`); dependencies point one
//! way (app → ui/platform/helper_install/login_item → smappservice).

pub mod app;
mod backoff;
mod clock;
pub mod helper_install;
mod helper_link;
pub mod login_item;
pub mod platform;
mod selftest_run;
pub mod smappservice;
pub mod ui;
pub mod vpn_configs;

pub use app::run;
pub use ui::icons;
