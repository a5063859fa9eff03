//! `airlockd`, the privileged helper: the only process that touches the
//! firewall. It owns the state (settings + network -> policy -> rules),
//! persists it, watches the network and the firewall, and serves clients
//! over a Unix socket.

pub mod auth;
#[cfg(target_os = "macos")]
mod auth_macos;
pub mod blocked;
mod bursts;
pub mod client_signature;
#[cfg(target_os = "macos")]
mod codesign_macos;
pub mod daemon;
pub mod dns_switch_macos;
pub mod engine;
pub mod firewall;
pub mod inbox;
pub mod install;
pub mod learn;
pub mod log;
#[cfg(target_os = "linux")]
mod netlink_linux;
pub mod network;
mod peer;
pub mod persist;
pub mod resolver;
pub mod sd_notify;
pub mod server;
pub mod socket;
mod tool;
pub mod watchdog;
