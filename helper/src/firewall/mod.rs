//! The firewall facade: the one place that makes the kernel's packet
//! filter hold a [`Policy`].
//!
//! Everything before this point is pure (Settings + NetworkSnapshot ->
//! Policy). [`Firewall`] renders the policy in its backend's language,
//! loads it atomically and *reads it back*, because a firewall command that
//! exits 0 is not proof that the rules are in place; cuts the connections a
//! stricter policy forbids; and says how tampering is noticed
//! ([`TamperWatch`]). The same read-back powers tamper detection
//! ([`Firewall::check`], [`Firewall::restore`]).
//!
//! Two backends ([`Backend`]): [`nft::NftDriver`] (Linux nftables, one
//! `inet airlock` table) and [`pf::PfDriver`] (macOS pf, one anchor under
//! `com.apple/`). Both only spawn the platform's own command-line tool, so
//! both compile and are tested on Linux; the pf one against a recording
//! stand-in `pfctl`. Which one runs is [`FirewallKind::choose`]'s decision
//! and [`open`] is the one place that maps it to a driver.
//!
//! Which connections to cut after a stricter policy is loaded is decided by
//! the pure [`flow`] module, shared by both backends and held to
//! [`airlock_shared::policy::Policy::decides`].

mod backend;
mod command;
mod error;
pub mod flow;
pub mod nft;
pub mod pf;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::Path;
use std::time::Duration;

use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::policy::Policy;

pub use airlock_shared::status::Problem;
use airlock_shared::status::{Guard, GuardGap};
pub use backend::Backend;
pub use error::DriverError;

/// How the helper notices that someone else changed our rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperWatch {
    /// The kernel announces every change (nftables' netlink monitor):
    /// check after each burst of events.
    Events,
    /// The kernel announces nothing (pf): check on a timer. The interval
    /// is how long a tamper can go unnoticed.
    Poll(Duration),
}

/// pf has no change events; a tamper is noticed within this.
pub const PF_CHECK_INTERVAL: Duration = Duration::from_secs(1);

impl TamperWatch {
    pub fn for_kind(kind: FirewallKind) -> TamperWatch {
        match kind {
            FirewallKind::Nft => TamperWatch::Events,
            FirewallKind::Pf => TamperWatch::Poll(PF_CHECK_INTERVAL),
        }
    }
}

/// The driver for `kind`, on this machine's real tools. `state_dir` keeps
/// pf's enable token across restarts; `tamper_guard` is nft's owned copy
/// of the rules (pf has none).
pub fn open(kind: FirewallKind, state_dir: &Path, tamper_guard: bool) -> Firewall {
    let backend: Box<dyn Backend> = match kind {
        FirewallKind::Nft => Box::new(nft::NftDriver::new(nft::NftConfig {
            guard: tamper_guard,
            ..nft::NftConfig::default()
        })),
        FirewallKind::Pf => Box::new(pf::PfDriver::new(pf::PfConfig::new(state_dir))),
    };
    Firewall::new(backend)
}

/// What [`Firewall::enforce`] did to the kernel.
#[derive(Debug)]
pub enum Enforced {
    /// The kernel already held exactly these rules (or none were wanted
    /// and none were there): nothing was run.
    Unchanged,
    /// New rules are in and verified. `cut` is the outcome of cutting the
    /// connections they forbid, when they were stricter than before.
    Loaded {
        cut: Option<Result<usize, DriverError>>,
    },
    /// The kill switch is off: our rules are gone from the kernel.
    Removed,
}

/// What the kernel holds, as far as we loaded it.
struct InKernel {
    policy: Policy,
    text: String,
    /// The guard's script, where the firewall has one.
    guard: Option<String>,
}

/// One kernel firewall holding (or not) Airlock's rules.
pub struct Firewall {
    backend: Box<dyn Backend>,
    /// `None`: nothing of ours is loaded (kill switch off).
    loaded: Option<InKernel>,
    /// What became of the tamper guard at the last load.
    guard: Guard,
}

impl Firewall {
    pub fn new(backend: Box<dyn Backend>) -> Firewall {
        Firewall {
            backend,
            loaded: None,
            guard: Guard::Off,
        }
    }

    pub fn kind(&self) -> FirewallKind {
        self.backend.kind()
    }

    pub fn tamper_watch(&self) -> TamperWatch {
        TamperWatch::for_kind(self.kind())
    }

    /// Whether the kernel keeps others from deleting our rules.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Whether our rules are loaded (as far as we loaded them).
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// The text a load of `policy` would hand the kernel.
    pub fn render(&self, policy: &Policy) -> String {
        self.kind().render(policy)
    }

    /// Makes the kernel hold `policy`: loads and verifies it when it
    /// enforces, removes our rules when it does not, and does nothing when
    /// the kernel already holds the same text. Comparing text (not
    /// policies) skips reloads the renderer makes no different, e.g. a new
    /// tunnel that nft's `tun*` wildcard already covers. On error the
    /// previous rules stay in force and stay recorded as loaded.
    pub fn enforce(
        &mut self,
        policy: &Policy,
        snapshot: &NetworkSnapshot,
    ) -> Result<Enforced, DriverError> {
        if !policy.enforce {
            if self.loaded.is_none() {
                return Ok(Enforced::Unchanged);
            }
            self.backend.remove()?;
            self.loaded = None;
            self.guard = Guard::Off;
            return Ok(Enforced::Removed);
        }
        let text = self.render(policy);
        // A guard that failed to load for a passing reason is tried again
        // with the same rules; the other gaps last as long as their cause.
        let retry_guard = matches!(
            self.guard,
            Guard::Unavailable {
                why: GuardGap::LoadFailed { .. }
            }
        );
        if !retry_guard && self.loaded.as_ref().is_some_and(|l| l.text == text) {
            return Ok(Enforced::Unchanged);
        }
        let guard = self.kind().render_guard(policy);
        self.guard = self.load(&text, guard.as_deref())?;
        // A pause lets everything through: nothing to cut. Otherwise cut
        // unless the new rules only add to rules that enforced everything.
        let stricter = policy.pause.is_none()
            && !self
                .loaded
                .as_ref()
                .is_some_and(|l| l.policy.pause.is_none() && looser_or_same(&l.policy, policy));
        self.loaded = Some(InKernel {
            policy: policy.clone(),
            text,
            guard,
        });
        // The rules are in; now cut what was open before them.
        let cut = stricter.then(|| self.backend.kill_forbidden(policy, snapshot));
        Ok(Enforced::Loaded { cut })
    }

    /// Takes the rules already in the kernel as ours for `policy`, without
    /// loading anything (a start that could not read the settings keeps
    /// the kernel's rules, and tamper checks must keep them there).
    pub fn adopt(&mut self, policy: &Policy) {
        let text = self.render(policy);
        // No guard: one of other rules than the kernel's could block what
        // they allow. The next load brings it.
        if self.kind().has_guard() {
            self.guard = Guard::Unavailable {
                why: GuardGap::Adopted,
            };
        }
        self.loaded = Some(InKernel {
            policy: policy.clone(),
            text,
            guard: None,
        });
    }

    /// Loads `text`, with `guard` in the same transaction where there is one.
    fn load(&mut self, text: &str, guard: Option<&str>) -> Result<Guard, DriverError> {
        match guard {
            Some(guard) => self.backend.load_with_guard(text, guard),
            None => self.backend.load(text).map(|()| Guard::Off),
        }
    }

    /// The settings the backend acts on by itself during checks (pf puts
    /// Apple's hook back unless `pf_restore_hook` is off).
    pub fn use_settings(&mut self, settings: &airlock_shared::settings::Settings) {
        self.backend.use_settings(settings);
    }

    /// What is wrong with the kernel's rules now, given whether ours
    /// should be loaded. Empty means healthy.
    pub fn check(&mut self) -> Result<Vec<Problem>, DriverError> {
        self.backend.check(self.loaded.is_some())
    }

    /// Whether the kernel holds rules of ours, whatever they are (asked at
    /// a start that lost the settings: then they are kept).
    pub fn holds_our_rules(&mut self) -> bool {
        self.backend
            .check(true)
            .is_ok_and(|p| !p.iter().any(Problem::is_repairable))
    }

    /// Loads what we loaded last again (after a tamper). Nothing to do
    /// when the kill switch is off.
    pub fn restore(&mut self) -> Result<(), DriverError> {
        let Some(l) = &self.loaded else {
            return Ok(());
        };
        let (text, guard) = (l.text.clone(), l.guard.clone());
        let loaded = self.load(&text, guard.as_deref())?;
        // An adopted start has no guard text: its state stays as it was.
        if guard.is_some() {
            self.guard = loaded;
        }
        Ok(())
    }

    /// Removes our rules whatever the facade thinks is loaded (the
    /// helper's uninstall, which runs without the engine).
    pub fn remove(&mut self) -> Result<(), DriverError> {
        self.backend.remove()?;
        self.loaded = None;
        self.guard = Guard::Off;
        Ok(())
    }

    pub fn tracked_flows(&mut self) -> Result<Vec<flow::Flow>, DriverError> {
        self.backend.tracked_flows()
    }

    pub fn blocked_packets(&mut self) -> Result<Option<u64>, DriverError> {
        self.backend.blocked_packets()
    }

    pub fn loaded_text(&mut self) -> Result<String, DriverError> {
        self.backend.loaded_text()
    }
}

/// Whether `new` only adds to `old`: same base, extra rules or endpoints.
/// Then nothing that was allowed becomes forbidden and no connection needs
/// cutting.
fn looser_or_same(old: &Policy, new: &Policy) -> bool {
    old.rules.iter().all(|r| new.rules.contains(r))
        && old.endpoints.iter().all(|e| new.endpoints.contains(e))
        && old
            .tunnels
            .patterns
            .iter()
            .all(|p| new.tunnels.patterns.contains(p))
}
