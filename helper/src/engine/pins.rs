//! The engine's side of the filtering resolver: what the resolver may do
//! now, and pinning the addresses an answer gave before it is relayed.

use std::net::IpAddr;

use airlock_shared::dns::{Name, PinTable, ResolverNames, UpstreamAnswer};

use super::{Engine, EngineError};

/// What the resolver needs from the engine, published after every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverView {
    /// Kill switch on, not paused, no tunnel up: the only state in which
    /// the resolver answers (and, on Linux, DNS is redirected to it).
    pub active: bool,
    pub names: ResolverNames,
    /// The network's own resolvers, as the last snapshot saw them.
    pub upstreams: Vec<IpAddr>,
}

impl Engine {
    /// Whether Airlock is blocking: the resolver's on-switch.
    pub fn blocking(&self, now: u64) -> bool {
        self.settings.kill_switch
            && !self.settings.paused_at(now)
            && self.snapshot.active_tunnel().is_none()
    }

    pub fn resolver_view(&self, now: u64) -> ResolverView {
        let active = self.blocking(now);
        ResolverView {
            active,
            names: if active {
                self.settings.resolver_names(self.platform)
            } else {
                ResolverNames::default()
            },
            upstreams: self.snapshot.dns.clone(),
        }
    }

    /// Pins what an upstream answer for `name` says and makes the kernel
    /// hold it, before the resolver relays the answer: the VPN's next
    /// packet must already be allowed. Expired pins go at the same time.
    /// Outside Blocking nothing is pinned (the answer did not come through
    /// the resolver's rules). On a failed load the pins are put back as
    /// they were and the error returned, so the resolver answers SERVFAIL
    /// rather than an address the firewall refuses.
    pub fn pin_answer(
        &mut self,
        name: &Name,
        answer: &UpstreamAnswer,
        now: u64,
    ) -> Result<(), EngineError> {
        if !self.blocking(now) {
            return Ok(());
        }
        let before = self.pins.clone();
        let expired = self.pins.expire(now);
        let added = self
            .pins
            .record(name, answer, &self.settings.endpoints, now);
        if !(expired || added) {
            return Ok(());
        }
        if let Err(e) = self.apply(now) {
            self.pins = before;
            return Err(e);
        }
        Ok(())
    }

    /// Drops expired pins, and all of them once Airlock is not blocking.
    /// Called on every engine wake-up; re-renders only on a change.
    pub fn expire_pins(&mut self, now: u64) {
        let changed = if self.blocking(now) {
            self.pins.expire(now)
        } else {
            self.pins.clear()
        };
        if changed {
            if let Err(e) = self.apply(now) {
                self.action_fault = Some(airlock_shared::status::Fault::PinExpiryFailed {
                    error: e.to_string(),
                });
            }
        }
    }

    /// When the first pinned endpoint expires. The engine must wake up by
    /// itself for it (see `Engine::next_deadline`): a pin is dropped only
    /// when the engine runs, and while blocking with no tunnel coming up
    /// nothing else may wake it for hours, so a server the provider moved
    /// away from would stay allowed long past its answer's time.
    pub fn next_pin_expiry(&self) -> Option<u64> {
        self.pins.pins().iter().map(|p| p.expires_at).min()
    }

    /// What the resolver is doing, for status.
    pub fn resolver_status(&self, now: u64) -> airlock_shared::status::ResolverStatus {
        let names = self.settings.resolver_names(self.platform);
        airlock_shared::status::ResolverStatus {
            active: self.blocking(now),
            network_check_names: names.network_check.len(),
            vpn_server_names: names.vpn_servers.len(),
            pinned: self.pins.pins().to_vec(),
            upstreams: self.snapshot.dns.clone(),
        }
    }

    /// The pinned-by-answer endpoints, for status.
    pub fn pins(&self) -> &PinTable {
        &self.pins
    }
}
