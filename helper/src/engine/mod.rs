//! The engine: the single owner of Airlock's state.
//!
//! Every change flows one way: Settings + NetworkSnapshot -> Policy ->
//! ruleset text -> driver -> Status. The engine is synchronous and runs on
//! one thread; the socket server and the monitors only send it messages
//! (see `daemon`). Time is an argument, so tests drive it with a fake clock
//! and a fake driver.
//!
//! Fail closed: a change is committed (in memory and on disk) only after
//! the kernel holds the new rules; when loading fails, the previous rules
//! stay in force and the error goes back to the client.

mod pins;
pub use pins::ResolverView;
mod requests;

use airlock_shared::endpoint::Endpoint;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, Policy};
use airlock_shared::render;
use airlock_shared::settings::Settings;
use airlock_shared::status::{
    FirewallHealth, KillSwitch, Options, Protection, Status, Tunnel, TunnelState,
};

use crate::driver::{DriverError, Firewall, Problem};
use crate::persist::{Loaded, PersistError, Store};

/// Which ruleset language the driver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Pf,
    Nft,
}

impl Backend {
    pub fn render(self, policy: &Policy) -> String {
        match self {
            Backend::Pf => render::pf::render(policy),
            Backend::Nft => render::nft::render(policy),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the firewall refused the new rules, the previous ones stay in force: {0}")]
    Firewall(#[from] DriverError),
    #[error("the new settings could not be saved, so they were not applied: {0}")]
    Persist(#[from] PersistError),
    #[error("{0}")]
    Invalid(String),
}

/// What the kernel holds, as far as the engine loaded it.
struct InKernel {
    policy: Policy,
    text: String,
}

pub struct Engine {
    platform: Platform,
    backend: Backend,
    driver: Box<dyn Firewall>,
    store: Store,
    settings: Settings,
    snapshot: NetworkSnapshot,
    /// `None`: nothing of ours is loaded (kill switch off).
    loaded: Option<InKernel>,
    /// A condition that makes the status amber until a change succeeds
    /// (corrupt state file, a load that failed at start).
    fault: Option<String>,
    /// What the last firewall check found wrong with the kernel's rules.
    problems: Vec<Problem>,
    /// The last firewall check could not read the kernel, or could not
    /// put our rules back; replaced by every check.
    check_fault: Option<String>,
    /// Cutting forbidden connections or adding learned endpoints failed.
    /// Kept apart from `problems` so the next check does not wipe it;
    /// cleared by the next load that succeeds.
    action_fault: Option<String>,
    last_tamper: Option<u64>,
    blocked_packets: u64,
    /// When `blocked_packets` was last read from the kernel (Unix seconds).
    counters_read_at: Option<u64>,
    /// The kernel's listing of our rules as read for the last
    /// `GetRules { offset: 0 }`; the later pages of that read are cut
    /// from it. The listing includes the block counters, which tick with
    /// every blocked packet, so reading the kernel afresh for each page
    /// would make the pages of one read disagree (and the client start
    /// over) whenever the kill switch is blocking something. Dropped when
    /// the engine loads or removes rules, so a read that spans a change
    /// sees the digest change and starts over with the new rules.
    rules_listing: Option<airlock_shared::ipc::rules_page::Listing>,
    /// Endpoints the filtering resolver pinned from answers while blocking
    /// (memory only; see `pins.rs`).
    pins: airlock_shared::dns::PinTable,
}

impl Engine {
    /// Restores the persisted state and loads it into the kernel. Never
    /// fails: whatever goes wrong becomes a fault in the status, and the
    /// kernel's rules are left as they are (blocking, if they were there).
    /// `observe` takes the network snapshot once the settings are known,
    /// since classification depends on the user's tunnel patterns.
    pub fn start(
        platform: Platform,
        backend: Backend,
        mut driver: Box<dyn Firewall>,
        store: Store,
        observe: impl FnOnce(&Settings) -> NetworkSnapshot,
        now: u64,
    ) -> Engine {
        let mut restored = false;
        let (settings, fault) = match store.load(now) {
            Loaded::Settings(s) => (s, None),
            Loaded::Missing => (Settings::default(), None),
            Loaded::Restored {
                settings,
                reason,
                moved_to,
            } => {
                restored = true;
                let moved = moved_to
                    .map(|p| format!("; it was moved to {}", p.display()))
                    .unwrap_or_default();
                let fault = format!("{reason}{moved}; restored the last-good copy");
                (settings, Some(fault))
            }
            Loaded::Corrupt { reason, moved_to } => {
                let moved = moved_to
                    .map(|p| format!("; it was moved to {}", p.display()))
                    .unwrap_or_default();
                // If our rules are in the kernel, they stay and we say the
                // kill switch is on: the machine is blocked, not open.
                let in_kernel = driver
                    .check(true)
                    .is_ok_and(|p| !p.iter().any(Problem::is_repairable));
                let settings = Settings {
                    kill_switch: in_kernel,
                    ..Settings::default()
                };
                let kept = if in_kernel {
                    "the rules already in the kernel were kept"
                } else {
                    "no rules were loaded"
                };
                (settings, Some(format!("{reason}{moved}; {kept}")))
            }
        };
        // A restored copy is applied like a good file; only a total loss
        // keeps the kernel's rules untouched.
        let keep_kernel = fault.is_some() && !restored;
        let snapshot = observe(&settings);
        let mut engine = Engine {
            platform,
            backend,
            driver,
            store,
            settings,
            snapshot,
            loaded: None,
            fault,
            problems: Vec::new(),
            check_fault: None,
            action_fault: None,
            last_tamper: None,
            blocked_packets: 0,
            counters_read_at: None,
            rules_listing: None,
            pins: Default::default(),
        };
        if keep_kernel {
            if engine.settings.kill_switch {
                // Adopt what is loaded so tamper checks keep it there.
                let policy = engine.policy(now);
                let text = backend.render(&policy);
                engine.loaded = Some(InKernel { policy, text });
            }
        } else if let Err(e) = engine.apply(now) {
            engine.fault = Some(format!("could not load the rules at start: {e}"));
        } else if restored {
            // Put the restored copy back as the main file, so the next
            // start does not find it missing and fall back to defaults.
            if let Err(e) = engine.store.save(&engine.settings) {
                engine.fault = Some(format!(
                    "{}; the restored copy could not be saved ({e})",
                    engine.fault.take().unwrap_or_default()
                ));
            }
        }
        engine.check_firewall(now);
        engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `snapshot` pins a VPN server route the current one does not:
    /// the only moment listing connections can teach us an endpoint, so
    /// the caller pays for `conntrack -L` only then, not on every event.
    pub fn would_learn_from(&self, snapshot: &NetworkSnapshot) -> bool {
        let known = self.snapshot.vpn_server_routes();
        snapshot
            .vpn_server_routes()
            .iter()
            .any(|r| !known.iter().any(|k| k.destination == r.destination))
    }

    /// Connections the kernel tracks now; empty when it cannot say (the
    /// engine only learns from them, nothing depends on having them).
    pub fn flows(&mut self) -> Vec<crate::driver::flow::Flow> {
        self.driver.tracked_flows().unwrap_or_default()
    }

    fn policy(&self, now: u64) -> Policy {
        if self.pins.pins().is_empty() {
            return policy::build(&self.settings, &self.snapshot, self.platform, now);
        }
        // Pinned-by-answer endpoints are allowed like configured ones, but
        // never written to the settings file.
        let mut settings = self.settings.clone();
        settings.endpoints.extend(self.pins.endpoints());
        policy::build(&settings, &self.snapshot, self.platform, now)
    }

    /// Makes the kernel hold the policy for the current settings and
    /// network. A no-op when the rules would not change.
    fn apply(&mut self, now: u64) -> Result<(), EngineError> {
        let policy = self.policy(now);
        let text = self.backend.render(&policy);
        match &self.loaded {
            // Same text, same kernel state: nothing to do. Comparing text
            // (not policies) skips reloads the renderer makes no different,
            // e.g. a new tunnel that nft's `tun*` wildcard already covers.
            Some(l) if policy.enforce && l.text == text => return Ok(()),
            None if !policy.enforce => return Ok(()),
            _ => {}
        }
        self.rules_listing = None;
        let was_enforcing_all = self
            .loaded
            .as_ref()
            .is_some_and(|l| l.policy.pause.is_none());
        if policy.enforce {
            self.driver.load(&text)?;
            let stricter = policy.pause.is_none()
                && !(was_enforcing_all
                    && self
                        .loaded
                        .as_ref()
                        .is_some_and(|l| looser_or_same(&l.policy, &policy)));
            self.loaded = Some(InKernel {
                policy: policy.clone(),
                text,
            });
            // The driver read the new rules back before returning: every
            // problem a load repairs is gone, and left-over rules are ours
            // to keep now. What a load cannot fix (pf's missing
            // `com.apple/*` hook) stays reported: the next check finds it
            // again, and must not take it for a tamper.
            self.problems
                .retain(|p| !p.is_repairable() && !matches!(p, Problem::LeftOver { .. }));
            self.action_fault = None;
            if stricter {
                // The rules are in; now cut what was open before them.
                if let Err(e) = self.driver.kill_forbidden(&policy, &self.snapshot) {
                    self.action_fault = Some(format!(
                        "could not cut connections the kill switch forbids: {e}"
                    ));
                }
            }
        } else {
            self.driver.remove()?;
            self.loaded = None;
            self.problems.clear();
            self.action_fault = None;
        }
        Ok(())
    }

    /// Applies a settings change: kernel first, then disk, then memory.
    pub fn change(
        &mut self,
        now: u64,
        mutate: impl FnOnce(&mut Settings) -> Result<(), String>,
    ) -> Result<(), EngineError> {
        let old = self.settings.clone();
        let mut new = old.clone();
        mutate(&mut new).map_err(EngineError::Invalid)?;
        new.validate()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.settings = new;
        if let Err(e) = self.apply(now) {
            self.settings = old;
            return Err(e);
        }
        if let Err(e) = self.store.save(&self.settings) {
            // Disk and kernel must agree: put the old rules back.
            self.settings = old;
            if let Err(back) = self.apply(now) {
                self.fault = Some(format!(
                    "settings could not be saved ({e}) nor the previous rules restored ({back})"
                ));
            }
            return Err(e.into());
        }
        // No extra firewall check here: the load was verified, and our own
        // change wakes the watchdog, which checks again off the reply path.
        self.fault = None;
        Ok(())
    }

    /// A new view of the network. Adds endpoints learned from the routing
    /// table and re-renders only if the policy changed.
    pub fn on_network(&mut self, snapshot: NetworkSnapshot, learned: Vec<Endpoint>, now: u64) {
        self.snapshot = snapshot;
        let new: Vec<Endpoint> = learned
            .into_iter()
            .filter(|l| !self.settings.endpoints.iter().any(|e| e.same_target(l)))
            .collect();
        if !new.is_empty() {
            let added = new.clone();
            if let Err(e) = self.change(now, move |s| {
                s.endpoints.extend(added);
                Ok(())
            }) {
                self.action_fault = Some(format!("could not add the learned VPN endpoints: {e}"));
            }
            return;
        }
        if let Err(e) = self.apply(now) {
            self.fault = Some(format!(
                "could not update the rules for the new network: {e}"
            ));
        }
    }

    /// When the engine must wake up by itself next (the end of a pause).
    pub fn next_deadline(&self) -> Option<u64> {
        self.settings
            .pause_until
            .filter(|_| self.settings.kill_switch)
    }

    /// Ends an expired pause; called at [`Engine::next_deadline`].
    pub fn on_deadline(&mut self, now: u64) -> Result<(), EngineError> {
        match self.settings.pause_until {
            Some(until) if until <= now => self.change(now, |s| {
                s.pause_until = None;
                Ok(())
            }),
            _ => Ok(()),
        }
    }

    /// Verifies the kernel still holds our rules and puts them back if
    /// someone removed or changed them. Returns whether it found tampering:
    /// a repairable problem that the last check did not know, while our
    /// rules should be loaded (or one a failed repair left behind). A
    /// problem no load can fix is reported, never "repaired" by reloading.
    pub fn check_firewall(&mut self, now: u64) -> bool {
        let expect = self.loaded.is_some();
        self.driver.use_settings(&self.settings);
        let found = match self.driver.check(expect) {
            Ok(p) => p,
            Err(e) => {
                // Nothing is known about the kernel: keep the problems last
                // seen (still amber) and say why.
                self.check_fault = Some(format!("cannot read the firewall: {e}"));
                self.refresh_blocked();
                return false;
            }
        };
        let retry = self.check_fault.is_some();
        let repairable: Vec<&Problem> = found.iter().filter(|p| p.is_repairable()).collect();
        let appeared = repairable.iter().any(|p| !self.problems.contains(p));
        let tampered = expect && !repairable.is_empty() && (appeared || retry);
        self.check_fault = None;
        self.problems = found;
        if tampered {
            self.last_tamper = Some(now);
            // What a reader was paging through is not in the kernel now.
            self.rules_listing = None;
            if let Some(l) = &self.loaded {
                if let Err(e) = self.driver.load(&l.text) {
                    self.check_fault =
                        Some(format!("rules were removed and could not be restored: {e}"));
                    return true;
                }
            }
            match self.driver.check(true) {
                Ok(p) => self.problems = p,
                Err(e) => self.check_fault = Some(format!("cannot read the firewall: {e}")),
            }
        }
        self.refresh_blocked();
        tampered
    }

    fn refresh_blocked(&mut self) {
        if let Ok(Some(n)) = self.driver.blocked_packets() {
            self.blocked_packets = n;
        }
    }

    /// Engine faults first (they say what Airlock failed to do), then what
    /// the kernel holds wrong, in the helper's words.
    fn issues(&self) -> Vec<String> {
        self.fault
            .iter()
            .chain(&self.check_fault)
            .chain(&self.action_fault)
            .cloned()
            .chain(self.problems.iter().map(Problem::to_string))
            .collect()
    }

    pub fn status(&self, now: u64) -> Status {
        let s = &self.settings;
        let kill_switch = if !s.kill_switch {
            KillSwitch::Off
        } else if s.paused_at(now) {
            KillSwitch::Paused
        } else {
            KillSwitch::On
        };
        let tunnel = match self.snapshot.active_tunnel() {
            Some(i) => Tunnel {
                state: TunnelState::Up,
                interface: Some(i.name.clone()),
                endpoint: self.current_endpoint().map(|e| e.to_string()),
            },
            None => Tunnel {
                state: TunnelState::Down,
                interface: None,
                endpoint: None,
            },
        };
        let issues = self.issues();
        let reason = issues.first().cloned();
        let healthy = reason.is_none();
        Status {
            kill_switch,
            paused_until: s.pause_until.filter(|_| kill_switch == KillSwitch::Paused),
            protection: Protection::derive(kill_switch, tunnel.state == TunnelState::Up, healthy),
            reason,
            tunnel,
            firewall: FirewallHealth {
                backend: self.driver.backend().to_string(),
                healthy,
                problems: issues,
                last_tamper: self.last_tamper,
                blocked_packets: self.blocked_packets,
            },
            options: Options {
                allow_lan: s.allow_lan,
                allow_airdrop: s.allow_airdrop,
                allow_airprint: s.allow_airprint,
                allow_dns: s.allow_dns,
            },
            endpoints: s.endpoints.len(),
            resolver: Some(Box::new(self.resolver_status(now))),
        }
    }

    /// The configured endpoint the routing table sends outside the tunnel.
    fn current_endpoint(&self) -> Option<&Endpoint> {
        let routes = self.snapshot.vpn_server_routes();
        self.settings
            .endpoints
            .iter()
            .find(|e| routes.iter().any(|r| r.destination.addr() == e.address))
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

#[cfg(test)]
mod tests;
