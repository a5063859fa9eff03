//! The pure core of Airlock, a VPN kill switch.
//!
//! Everything here is shared by the privileged helper (`airlockd`), the CLI
//! (`airlockctl`) and the menu-bar app. Data flows in one direction:
//!
//! ```text
//! Settings + NetworkSnapshot -> Policy -> ruleset text (pf | nft) -> driver -> Status
//! ```
//!
//! All of it is pure: no sockets, processes or files of the system. The
//! live network is read by the helper (`airlock-helper`'s `network`), the
//! IPC client is `airlock-client`, and the helper's firewall facade is the
//! only code that touches the kernel's packet filter. [`policy::Policy::decides`] is the reference semantics; the
//! renderers in [`render`] translate each policy rule and add no decisions.

pub mod blocked;
pub mod dns;
pub mod dns_switch;
pub mod endpoint;
pub mod firewall_kind;
pub mod import;
pub mod ipc;
pub mod network;
pub mod platform;
pub mod policy;
pub mod render;
pub mod selftest;
pub mod settings;
pub mod status;
pub mod time;
