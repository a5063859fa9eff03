//! Firewall drivers: the one place that talks to the kernel's packet filter.
//!
//! Everything before this point is pure (Settings + NetworkSnapshot ->
//! Policy -> ruleset text). A driver takes that text and makes the kernel
//! hold it, atomically, and then *reads it back*, because a firewall command
//! that exits 0 is not proof that the rules are in place. The same read-back
//! powers tamper detection ([`Firewall::check`]).
//!
//! Two backends behind one trait: [`nft::NftDriver`] (Linux nftables, one
//! `inet airlock` table) and [`pf::PfDriver`] (macOS pf, anchor
//! `com.apple/0.airlock`). Both only spawn the platform's own command-line tool,
//! so both compile and are tested on Linux; the pf one against a recording
//! stand-in `pfctl`.
//!
//! Which connections to cut after a stricter policy is loaded is decided by
//! the pure [`flow`] module, shared by both backends and held to
//! [`airlock_shared::policy::Policy::decides`].

mod command;
pub mod conntrack;
mod error;
pub mod flow;
pub mod nft;
pub mod nft_shape;
pub mod pf;
pub mod pf_hook;
mod pf_legacy;
pub mod pf_parse;
pub mod pf_pflog;
mod problem;
#[cfg(test)]
pub(crate) mod test_support;

use airlock_shared::network::NetworkSnapshot;
use airlock_shared::policy::Policy;

pub use error::DriverError;
pub use problem::Problem;

/// A kernel firewall Airlock can drive. One instance owns Airlock's rules
/// in that kernel (or network namespace); the daemon's engine is its only
/// caller, so `&mut self` is enough and no locking is needed here.
pub trait Firewall: Send {
    /// `"nft"` or `"pf"`, for status and logs.
    fn backend(&self) -> &'static str;

    /// The settings a driver acts on by itself (pf: `pf_restore_hook`).
    /// The engine calls it before every check.
    fn use_settings(&mut self, _settings: &airlock_shared::settings::Settings) {}

    /// Atomically replaces Airlock's rules with `ruleset`. `Ok` only once
    /// the kernel has been read back and holds them.
    fn load(&mut self, ruleset: &str) -> Result<(), DriverError>;

    /// Removes Airlock's rules entirely (kill switch off). A missing table
    /// or empty anchor is fine. On pf this also releases our enable token.
    fn remove(&mut self) -> Result<(), DriverError>;

    /// Reads what the kernel holds now and lists what is wrong with it
    /// given whether our rules should be loaded. Empty means healthy.
    fn check(&mut self, expect_loaded: bool) -> Result<Vec<Problem>, DriverError>;

    /// Cuts tracked connections `policy` does not allow (call it after a
    /// stricter policy is loaded). Keeps the VPN endpoint's connection and
    /// loopback's. Returns how many connections were cut.
    fn kill_forbidden(
        &mut self,
        policy: &Policy,
        snapshot: &NetworkSnapshot,
    ) -> Result<usize, DriverError>;

    /// The connections the kernel tracks now (conntrack / pf states), in
    /// their original direction. The engine learns VPN endpoints from them.
    fn tracked_flows(&mut self) -> Result<Vec<flow::Flow>, DriverError>;

    /// Packets refused by the kill switch so far, from the kernel's
    /// counters; `None` when our rules are not loaded.
    fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError>;

    /// The ruleset as the kernel prints it now (for `airlockctl rules`);
    /// empty when nothing is loaded.
    fn loaded_text(&mut self) -> Result<String, DriverError>;
}
