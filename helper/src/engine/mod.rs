//! The engine: the single owner of Airlock's state.
//!
//! Every change flows one way: Settings + NetworkSnapshot -> Policy ->
//! firewall (render, load, verify, cut) -> Status. The engine is synchronous and runs on
//! one thread; the socket server and the monitors only send it messages
//! (see `daemon`). Time is an argument, so tests drive it with a fake clock
//! and a fake kernel firewall.
//!
//! Fail closed: a change is committed (in memory and on disk) only after
//! the kernel holds the new rules; when loading fails, the previous rules
//! stay in force and the error goes back to the client.

mod learned;
mod pins;
pub use pins::ResolverView;
mod requests;

use airlock_shared::endpoint::Endpoint;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, Policy};
use airlock_shared::settings::Settings;
use airlock_shared::status::{
    Fault, FirewallHealth, KillSwitch, Options, Protection, Status, Tunnel, TunnelState,
};

use crate::firewall::{DriverError, Enforced, Firewall, Problem};
use crate::persist::{Loaded, PersistError, Store};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the firewall refused the new rules, the previous ones stay in force: {0}")]
    Firewall(#[from] DriverError),
    #[error("the new settings could not be saved, so they were not applied: {0}")]
    Persist(#[from] PersistError),
    #[error("{0}")]
    Invalid(String),
}

pub struct Engine {
    platform: Platform,
    firewall: Firewall,
    store: Store,
    settings: Settings,
    snapshot: NetworkSnapshot,
    /// A condition that makes the status amber until a change succeeds
    /// (corrupt state file, a load that failed at start).
    fault: Option<Fault>,
    /// What the last firewall check found wrong with the kernel's rules.
    problems: Vec<Problem>,
    /// The last firewall check could not read the kernel, or could not
    /// put our rules back; replaced by every check.
    check_fault: Option<Fault>,
    /// Cutting forbidden connections or adding learned endpoints failed.
    /// Kept apart from `problems` so the next check does not wipe it;
    /// cleared by the next load that succeeds.
    action_fault: Option<Fault>,
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
        mut firewall: Firewall,
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
                let fault = Fault::SettingsRestored {
                    reason: reason.to_string(),
                    moved_to: moved_to.map(|p| p.display().to_string()),
                    save_error: None,
                };
                (settings, Some(fault))
            }
            Loaded::Corrupt { reason, moved_to } => {
                // If our rules are in the kernel, they stay and we say the
                // kill switch is on: the machine is blocked, not open.
                let in_kernel = firewall.holds_our_rules();
                let settings = Settings {
                    kill_switch: in_kernel,
                    ..Settings::default()
                };
                let fault = Fault::SettingsLost {
                    reason: reason.to_string(),
                    moved_to: moved_to.map(|p| p.display().to_string()),
                    kept_kernel_rules: in_kernel,
                };
                (settings, Some(fault))
            }
        };
        // A restored copy is applied like a good file; only a total loss
        // keeps the kernel's rules untouched.
        let keep_kernel = fault.is_some() && !restored;
        let snapshot = observe(&settings);
        let mut engine = Engine {
            platform,
            firewall,
            store,
            settings,
            snapshot,
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
                engine.firewall.adopt(&policy);
            }
        } else if let Err(e) = engine.apply(now) {
            engine.fault = Some(Fault::StartLoadFailed {
                error: e.to_string(),
            });
        } else if restored {
            // Put the restored copy back as the main file, so the next
            // start does not find it missing and fall back to defaults.
            if let Err(e) = engine.store.save(&engine.settings) {
                if let Some(Fault::SettingsRestored { save_error, .. }) = &mut engine.fault {
                    *save_error = Some(e.to_string());
                }
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
    pub fn flows(&mut self) -> Vec<crate::firewall::flow::Flow> {
        self.firewall.tracked_flows().unwrap_or_default()
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
        match self.firewall.enforce(&policy, &self.snapshot)? {
            Enforced::Unchanged => {}
            Enforced::Loaded { cut } => {
                self.rules_listing = None;
                // The firewall read the new rules back before returning:
                // every problem a load repairs is gone, and left-over rules
                // are ours to keep now. What a load cannot fix (pf's missing
                // `com.apple/*` hook) stays reported: the next check finds
                // it again, and must not take it for a tamper.
                self.problems
                    .retain(|p| !p.is_repairable() && !matches!(p, Problem::LeftOver { .. }));
                self.action_fault = match cut {
                    Some(Err(e)) => Some(Fault::CutFailed {
                        error: e.to_string(),
                    }),
                    _ => None,
                };
            }
            Enforced::Removed => {
                self.rules_listing = None;
                self.problems.clear();
                self.action_fault = None;
            }
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
                self.fault = Some(Fault::RollbackFailed {
                    save_error: e.to_string(),
                    load_error: back.to_string(),
                });
            }
            return Err(e.into());
        }
        // No extra firewall check here: the load was verified, and our own
        // change wakes the watchdog, which checks again off the reply path.
        self.fault = None;
        Ok(())
    }

    /// A new view of the network. Adds endpoints learned from the routing
    /// table (or sees known learned ones again, which starts their expiry
    /// over) and re-renders only if the policy changed.
    pub fn on_network(&mut self, snapshot: NetworkSnapshot, learned: Vec<Endpoint>, now: u64) {
        self.snapshot = snapshot;
        let mut endpoints = self.settings.endpoints.clone();
        if airlock_shared::endpoint::book::learn(&mut endpoints, &learned, now).changed() {
            // New servers or a fresher `last_seen`: saved like any change
            // (kernel first, then disk).
            if let Err(e) = self.change(now, move |s| {
                s.endpoints = endpoints;
                Ok(())
            }) {
                self.action_fault = Some(Fault::LearnFailed {
                    error: e.to_string(),
                });
            }
            return;
        }
        if let Err(e) = self.apply(now) {
            self.fault = Some(Fault::NetworkUpdateFailed {
                error: e.to_string(),
            });
        }
    }

    /// When the engine must wake up by itself next: the end of a pause,
    /// the first pinned-by-answer endpoint to expire, or the first learned
    /// one (`learned.rs`).
    pub fn next_deadline(&self) -> Option<u64> {
        let pause = self
            .settings
            .pause_until
            .filter(|_| self.settings.kill_switch);
        pause
            .into_iter()
            .chain(self.next_pin_expiry())
            .chain(self.next_learned_expiry())
            .min()
    }

    /// Drops expired pins and learned endpoints and ends an expired pause;
    /// called at [`Engine::next_deadline`]. A failed expiry does not keep
    /// the pause from ending; either error is returned for a retry.
    pub fn on_deadline(&mut self, now: u64) -> Result<(), EngineError> {
        self.expire_pins(now);
        let learned = self.expire_learned(now);
        let pause = match self.settings.pause_until {
            Some(until) if until <= now => self.change(now, |s| {
                s.pause_until = None;
                Ok(())
            }),
            _ => Ok(()),
        };
        pause.and(learned)
    }

    /// Verifies the kernel still holds our rules and puts them back if
    /// someone removed or changed them. Returns whether it found tampering:
    /// a repairable problem that the last check did not know, while our
    /// rules should be loaded (or one a failed repair left behind). A
    /// problem no load can fix is reported, never "repaired" by reloading.
    pub fn check_firewall(&mut self, now: u64) -> bool {
        let expect = self.firewall.is_loaded();
        self.firewall.use_settings(&self.settings);
        let found = match self.firewall.check() {
            Ok(p) => p,
            Err(e) => {
                // Nothing is known about the kernel: keep the problems last
                // seen (still amber) and say why.
                self.check_fault = Some(Fault::CannotReadFirewall {
                    error: e.to_string(),
                });
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
            if let Err(e) = self.firewall.restore() {
                self.check_fault = Some(Fault::RestoreFailed {
                    error: e.to_string(),
                });
                return true;
            }
            match self.firewall.check() {
                Ok(p) => self.problems = p,
                Err(e) => {
                    self.check_fault = Some(Fault::CannotReadFirewall {
                        error: e.to_string(),
                    })
                }
            }
        }
        self.refresh_blocked();
        tampered
    }

    fn refresh_blocked(&mut self) {
        if let Ok(Some(n)) = self.firewall.blocked_packets() {
            self.blocked_packets = n;
        }
    }

    /// Engine faults, in the order they are shown: a lasting one first.
    fn faults(&self) -> Vec<Fault> {
        self.fault
            .iter()
            .chain(&self.check_fault)
            .chain(&self.action_fault)
            .cloned()
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
        let faults = self.faults();
        let firewall = FirewallHealth {
            backend: self.firewall.kind(),
            healthy: faults.is_empty() && self.problems.is_empty(),
            faults,
            problems: self.problems.clone(),
            last_tamper: self.last_tamper,
            blocked_packets: self.blocked_packets,
            guard: self.firewall.guard().clone(),
        };
        let reason = firewall.issues().next();
        let healthy = firewall.healthy;
        Status {
            kill_switch,
            paused_until: s.pause_until.filter(|_| kill_switch == KillSwitch::Paused),
            protection: Protection::derive(kill_switch, tunnel.state == TunnelState::Up, healthy),
            reason,
            tunnel,
            firewall,
            options: Options {
                allow_lan: s.allow_lan,
                allow_airdrop: s.allow_airdrop,
                allow_airprint: s.allow_airprint,
                allow_dns: s.allow_dns,
                vpn_root_only: s.vpn_root_only,
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

#[cfg(test)]
mod tests;
