//! Learned endpoints on the engine's clock: when the next one is due, and
//! dropping those the VPN has not used for `learned_endpoint_ttl` (the
//! decision is `endpoint::expiry`'s; this only applies it).

use std::net::IpAddr;

use airlock_shared::endpoint::expiry::{self, Reviewed};
use airlock_shared::status::Fault;

use super::{Engine, EngineError};

impl Engine {
    /// When the first learned endpoint expires. The engine wakes for it
    /// (`Engine::next_deadline`) even when nothing else happens: a hole
    /// must close when it is due, not at the next network change.
    pub fn next_learned_expiry(&self) -> Option<u64> {
        expiry::next_expiry(&self.settings.endpoints, self.settings.learned_endpoint_ttl)
    }

    /// Drops the learned endpoints due at `now`, like any change: kernel
    /// first, then disk. One the VPN runs through right now is seen again
    /// instead. On failure everything stays (kernel, file, memory) and
    /// the fault says so; the caller retries.
    pub fn expire_learned(&mut self, now: u64) -> Result<(), EngineError> {
        if self.next_learned_expiry().is_none_or(|t| t > now) {
            return Ok(());
        }
        let ttl = self.settings.learned_endpoint_ttl;
        let in_use = self.addresses_in_use();
        let mut reviewed = Reviewed::default();
        let result = self.change(now, |s| {
            reviewed = expiry::review(&mut s.endpoints, ttl, now, |e| in_use.contains(&e.address));
            Ok(())
        });
        if let Err(e) = result {
            self.action_fault = Some(Fault::LearnedExpiryFailed {
                error: e.to_string(),
            });
            return Err(e);
        }
        for e in &reviewed.expired {
            let since = e.last_seen.or(e.added_at).unwrap_or_default();
            tracing::info!(
                endpoint = %e,
                last_seen = since,
                ttl = %ttl,
                "learned endpoint expired: the VPN has not used it for the time to keep learned endpoints"
            );
        }
        for e in &reviewed.seen {
            tracing::debug!(endpoint = %e, "learned endpoint due but in use: seen again");
        }
        Ok(())
    }

    /// Servers the VPN uses right now: a tunnel is up and the routing
    /// table pins the server outside it. Weaker proof than learning asks
    /// for (a connection from the physical address, `learn.rs`), which is
    /// enough here: it can only keep an endpoint learned with that proof
    /// once, never open a new hole, and dropping the server of the tunnel
    /// in use would cut the VPN off.
    fn addresses_in_use(&self) -> Vec<IpAddr> {
        if self.snapshot.active_tunnel().is_none() {
            return Vec::new();
        }
        self.snapshot
            .vpn_server_routes()
            .iter()
            .map(|r| r.destination.addr())
            .collect()
    }
}
