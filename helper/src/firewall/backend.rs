//! What each kernel firewall implements for the facade ([`super::Firewall`]):
//! text in, read-back out. Backends translate nothing and decide nothing;
//! the facade renders the policy and decides when to load, cut and restore.

use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::policy::Policy;
use airlock_shared::status::Guard;

use super::flow::Flow;
use super::{DriverError, Problem};

/// One kernel packet filter Airlock can drive: [`super::nft::NftDriver`],
/// [`super::pf::PfDriver`], or a test's fake kernel. One instance owns
/// Airlock's rules in that kernel (or network namespace); the engine is its
/// only caller, so `&mut self` is enough and no locking is needed here.
pub trait Backend: Send {
    /// Which firewall this is; the facade renders in its language.
    fn kind(&self) -> FirewallKind;

    /// The settings a backend acts on by itself (pf: `pf_restore_hook`).
    /// The facade passes them before every check.
    fn use_settings(&mut self, _settings: &airlock_shared::settings::Settings) {}

    /// Atomically replaces Airlock's rules with `ruleset`. `Ok` only once
    /// the kernel has been read back and holds them.
    fn load(&mut self, ruleset: &str) -> Result<(), DriverError>;

    /// [`Backend::load`], together with `guard`, the kernel-protected copy
    /// of the same rules ([`FirewallKind::render_guard`]), in one
    /// transaction where the backend can hold it. `Ok` once `ruleset` is
    /// in; what became of the guard is the value. A backend that cannot
    /// hold one loads `ruleset` alone.
    fn load_with_guard(&mut self, ruleset: &str, _guard: &str) -> Result<Guard, DriverError> {
        self.load(ruleset).map(|()| Guard::Off)
    }

    /// Removes Airlock's rules entirely (kill switch off). A missing table
    /// or empty anchor is fine. On pf this also releases our enable token.
    fn remove(&mut self) -> Result<(), DriverError>;

    /// Reads what the kernel holds now and lists what is wrong with it
    /// given whether our rules should be loaded. Empty means healthy.
    fn check(&mut self, expect_loaded: bool) -> Result<Vec<Problem>, DriverError>;

    /// Cuts tracked connections `policy` does not allow (called after a
    /// stricter policy is loaded). Keeps the VPN endpoint's connection and
    /// loopback's. Returns how many connections were cut.
    fn kill_forbidden(
        &mut self,
        policy: &Policy,
        snapshot: &NetworkSnapshot,
    ) -> Result<usize, DriverError>;

    /// The connections the kernel tracks now (conntrack / pf states), in
    /// their original direction. The engine learns VPN endpoints from them.
    fn tracked_flows(&mut self) -> Result<Vec<Flow>, DriverError>;

    /// Packets refused by the kill switch so far, from the kernel's
    /// counters; `None` when our rules are not loaded.
    fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError>;

    /// The ruleset as the kernel prints it now (for `airlockctl rules`);
    /// empty when nothing is loaded.
    fn loaded_text(&mut self) -> Result<String, DriverError>;
}
