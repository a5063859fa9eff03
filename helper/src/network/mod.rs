//! The helper's eyes on the network: the live snapshot (interfaces,
//! routes, resolvers) and the change notifications that say when to take
//! a new one. The snapshot's types and every parser are pure and live in
//! the core (`airlock_shared::network`); this module only reads the kernel
//! and runs the OS's tools.

mod error;
pub mod live;
#[cfg(target_os = "linux")]
mod live_linux;
#[cfg(target_os = "macos")]
mod live_macos;
pub mod monitor;
#[cfg(target_os = "linux")]
mod monitor_linux;
#[cfg(target_os = "macos")]
mod monitor_macos;
#[cfg(target_os = "linux")]
mod resolv_watch_linux;
