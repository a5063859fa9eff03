//! The pure core of Airlock, a VPN kill switch.
//!
//! Everything here is shared by the privileged helper (`airlockd`), the CLI
//! (`airlockctl`) and the menu-bar app. Data flows in one direction:
//!
//! ```text
//! Settings + NetworkSnapshot -> Policy -> ruleset text (pf | nft) -> driver -> Status
//! ```
//!
//! All of it is pure except the live network snapshot (`network::live`) and
//! the IPC client: the helper's drivers are the only code that touches the
//! firewall. [`policy::Policy::decides`] is the reference semantics; the
//! renderers in [`render`] translate each policy rule and add no decisions.

pub mod blocked;
pub mod dns;
pub mod endpoint;
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
