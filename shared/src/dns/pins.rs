//! Endpoints pinned because the network's resolver named them as a VPN
//! server's address while blocking. They live in memory only (never in the
//! settings file), are shown as pinned-by-answer, and expire when no answer
//! has named them for a while.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::answer::UpstreamAnswer;
use super::name::Name;
use crate::endpoint::Endpoint;

/// A pin outlives its answer's TTL by at least this much: the VPN client
/// resolves and then connects, and a zero or tiny TTL must not close the
/// door between the two.
pub const MIN_PIN_SECS: u64 = 60;
/// And never longer than this, whatever TTL the resolver gave: a server
/// that moved should not stay reachable for a day.
pub const MAX_PIN_SECS: u64 = 3600;
/// At most this many pins; when full, the one closest to expiry goes.
pub const MAX_PINS: usize = 64;

/// One endpoint an answer pinned, and until when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredPin {
    pub endpoint: Endpoint,
    pub expires_at: u64,
}

/// The pinned-by-answer endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinTable {
    pins: Vec<AnsweredPin>,
}

impl PinTable {
    /// Records what an answer for `name` says: every address, on the port
    /// and protocol of every configured endpoint kept for that name, unless
    /// a configured endpoint already allows it. Returns whether the set of
    /// pinned endpoints changed (the firewall must then be re-rendered
    /// before the answer is relayed); a refreshed expiry alone is no change.
    pub fn record(
        &mut self,
        name: &Name,
        answer: &UpstreamAnswer,
        configured: &[Endpoint],
        now: u64,
    ) -> bool {
        let templates: Vec<&Endpoint> = configured
            .iter()
            .filter(|e| {
                e.host
                    .as_deref()
                    .and_then(|h| Name::from_dotted(h).ok())
                    .is_some_and(|h| h == *name)
            })
            .collect();
        let mut changed = false;
        for &(address, ttl) in &answer.addresses {
            let expires_at = now + u64::from(ttl).clamp(MIN_PIN_SECS, MAX_PIN_SECS);
            for t in &templates {
                let endpoint = Endpoint {
                    host: t.host.clone(),
                    ..Endpoint::new(address, t.port, t.protocol)
                };
                if configured.iter().any(|c| c.same_target(&endpoint)) {
                    continue;
                }
                changed |= self.insert(endpoint, expires_at);
            }
        }
        changed
    }

    fn insert(&mut self, endpoint: Endpoint, expires_at: u64) -> bool {
        if let Some(p) = self
            .pins
            .iter_mut()
            .find(|p| p.endpoint.same_target(&endpoint))
        {
            p.expires_at = p.expires_at.max(expires_at);
            return false;
        }
        if self.pins.len() >= MAX_PINS {
            if let Some(i) = (0..self.pins.len()).min_by_key(|&i| self.pins[i].expires_at) {
                self.pins.swap_remove(i);
            }
        }
        self.pins.push(AnsweredPin {
            endpoint,
            expires_at,
        });
        true
    }

    /// Drops pins past their expiry; returns whether any went.
    pub fn expire(&mut self, now: u64) -> bool {
        let before = self.pins.len();
        self.pins.retain(|p| p.expires_at > now);
        self.pins.len() != before
    }

    /// Forgets everything (leaving Blocking: a tunnel is up, paused, off).
    pub fn clear(&mut self) -> bool {
        let had = !self.pins.is_empty();
        self.pins.clear();
        had
    }

    pub fn pins(&self) -> &[AnsweredPin] {
        &self.pins
    }

    /// The endpoints to add to the policy's, in a stable order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut v: Vec<Endpoint> = self.pins.iter().map(|p| p.endpoint.clone()).collect();
        v.sort();
        v
    }

    /// Whether `address` is pinned at all (for logs and status).
    pub fn contains_address(&self, address: IpAddr) -> bool {
        self.pins.iter().any(|p| p.endpoint.address == address)
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::Rcode;
    use super::*;
    use crate::endpoint::Transport;

    fn configured() -> Vec<Endpoint> {
        let mut udp = Endpoint::new("10.9.0.2".parse().unwrap(), 1194, Transport::Udp);
        udp.host = Some("vpn.lab.test".into());
        let mut tcp = Endpoint::new("10.9.0.2".parse().unwrap(), 443, Transport::Tcp);
        tcp.host = Some("VPN.lab.test.".into());
        let mut other = Endpoint::new("10.9.0.7".parse().unwrap(), 51820, Transport::Udp);
        other.host = Some("wg.lab.test".into());
        vec![udp, tcp, other]
    }

    fn answer(addrs: &[(&str, u32)]) -> UpstreamAnswer {
        UpstreamAnswer {
            rcode: Rcode::NoError,
            truncated: false,
            addresses: addrs
                .iter()
                .map(|(a, t)| (a.parse().unwrap(), *t))
                .collect(),
            omitted: 0,
        }
    }

    fn vpn() -> Name {
        Name::from_dotted("vpn.lab.test").unwrap()
    }

    #[test]
    fn a_moved_server_is_pinned_on_every_port_its_configs_use() {
        let mut t = PinTable::default();
        assert!(t.record(&vpn(), &answer(&[("10.9.1.2", 300)]), &configured(), 1000));
        let got: Vec<String> = t.endpoints().iter().map(|e| e.to_string()).collect();
        assert_eq!(got, ["10.9.1.2:443/tcp", "10.9.1.2:1194/udp"]);
        assert!(t.pins().iter().all(|p| p.expires_at == 1300));
        // The same answer again changes nothing to render.
        assert!(!t.record(&vpn(), &answer(&[("10.9.1.2", 300)]), &configured(), 1100));
        assert_eq!(t.pins()[0].expires_at, 1400);
    }

    #[test]
    fn already_configured_addresses_and_other_names_are_not_pinned() {
        let mut t = PinTable::default();
        assert!(!t.record(&vpn(), &answer(&[("10.9.0.2", 300)]), &configured(), 0));
        let stranger = Name::from_dotted("other.lab.test").unwrap();
        assert!(!t.record(&stranger, &answer(&[("10.9.5.5", 300)]), &configured(), 0));
        assert!(t.pins().is_empty());
    }

    #[test]
    fn ttls_are_clamped_and_pins_expire() {
        let mut t = PinTable::default();
        t.record(
            &vpn(),
            &answer(&[("10.9.1.2", 0), ("10.9.1.3", 86400)]),
            &configured(),
            100,
        );
        let mut exp: Vec<u64> = t.pins().iter().map(|p| p.expires_at).collect();
        exp.sort();
        assert_eq!(exp, [160, 160, 3700, 3700]);
        assert!(!t.expire(159));
        assert!(t.expire(160));
        assert!(!t.contains_address("10.9.1.2".parse().unwrap()));
        assert!(t.contains_address("10.9.1.3".parse().unwrap()));
        assert!(t.clear());
        assert!(!t.clear());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = PinTable::default();
        for i in 0..200u32 {
            let a = std::net::Ipv4Addr::from(0x0A0A_0000 + i).to_string();
            t.record(&vpn(), &answer(&[(&a, 60 + i)]), &configured(), 0);
        }
        assert_eq!(t.pins().len(), MAX_PINS);
        // The newest answers are the ones kept.
        assert!(t.contains_address("10.10.0.199".parse().unwrap()));
        assert!(!t.contains_address("10.10.0.0".parse().unwrap()));
    }
}
