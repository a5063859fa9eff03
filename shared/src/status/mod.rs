//! What every client shows: the helper's answer to "am I protected?".
//! Derived, never stored: [`Protection::derive`] is the one place that
//! decides the colour.

use serde::{Deserialize, Serialize};

use crate::firewall_kind::FirewallKind;

mod fault;
mod guard;
mod problem;

pub use fault::Fault;
pub use guard::{Guard, GuardGap};
pub use problem::Problem;

/// The kill switch as the user set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KillSwitch {
    On,
    Off,
    Paused,
}

/// The one-word answer, mapped to the tray colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protection {
    /// Green: kill switch on, tunnel up, rules healthy.
    Protected,
    /// Red: kill switch on, tunnel down: nothing gets out, as promised.
    Blocking,
    /// Grey: kill switch off.
    Off,
    /// Amber: the user paused the kill switch.
    Paused,
    /// Amber: the rules are not what they should be (see `reason`).
    Fault,
}

impl Protection {
    /// Colour logic in one place. A firewall fault outranks everything:
    /// "protected" must never be shown on a guess, and "off" must not be
    /// shown while left-over rules still block.
    pub fn derive(kill_switch: KillSwitch, tunnel_up: bool, firewall_healthy: bool) -> Protection {
        match kill_switch {
            _ if !firewall_healthy => Protection::Fault,
            KillSwitch::Off => Protection::Off,
            KillSwitch::Paused => Protection::Paused,
            KillSwitch::On if tunnel_up => Protection::Protected,
            KillSwitch::On => Protection::Blocking,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelState {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tunnel {
    pub state: TunnelState,
    /// `utun4`, `tun0`, ... when up.
    pub interface: Option<String>,
    /// The VPN server the tunnel runs through, when known (`198.51.100.7:1194/udp`).
    pub endpoint: Option<String>,
}

/// The firewall's health as last verified by the helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallHealth {
    pub backend: FirewallKind,
    /// No fault and no problem (the kill switch may be off with nothing
    /// loaded).
    pub healthy: bool,
    /// What Airlock failed to do; each stays until that succeeds again.
    pub faults: Vec<Fault>,
    /// What the last check found wrong with the kernel's rules.
    pub problems: Vec<Problem>,
    /// Unix time of the last time someone else removed or changed our rules.
    pub last_tamper: Option<u64>,
    /// Packets refused by the kill switch since the rules were loaded.
    pub blocked_packets: u64,
    /// Whether the kernel keeps others from deleting the rules (absent
    /// from older helpers' statuses: off).
    #[serde(default)]
    pub guard: Guard,
}

impl FirewallHealth {
    /// Faults first (they say what Airlock failed to do), then what the
    /// kernel holds wrong, in words for the user. The first one is the
    /// status's `reason`.
    pub fn issues(&self) -> impl Iterator<Item = String> + '_ {
        self.faults
            .iter()
            .map(Fault::to_string)
            .chain(self.problems.iter().map(Problem::to_string))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub allow_lan: bool,
    pub allow_airdrop: bool,
    pub allow_airprint: bool,
    pub allow_dns: bool,
    /// VPN servers only for root's sockets (absent from older helpers).
    #[serde(default)]
    pub vpn_root_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub kill_switch: KillSwitch,
    /// Unix time the pause ends, while paused.
    pub paused_until: Option<u64>,
    pub protection: Protection,
    /// Why the protection is what it is, when that is not obvious (faults).
    pub reason: Option<String>,
    pub tunnel: Tunnel,
    pub firewall: FirewallHealth,
    pub options: Options,
    pub endpoints: usize,
    /// What the filtering resolver is doing; absent from helpers that
    /// have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<Box<ResolverStatus>>,
}

impl Status {
    /// Nothing lets the VPN reach its server while the kill switch
    /// blocks: no endpoint allowed, no server name the resolver may pin,
    /// and no tunnel up (whose server the helper would learn). Turning
    /// the kill switch on then blocks the VPN too; the app asks first and
    /// `airlockctl enable` warns.
    pub fn vpn_cannot_connect(&self) -> bool {
        self.endpoints == 0
            && self.tunnel.state == TunnelState::Down
            && self
                .resolver
                .as_ref()
                .is_none_or(|r| r.vpn_server_names == 0 && r.pinned.is_empty())
    }
}

/// The filtering resolver, as status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolverStatus {
    /// Answering now (only while Blocking).
    pub active: bool,
    pub network_check_names: usize,
    pub vpn_server_names: usize,
    /// Endpoints pinned because an answer named them (not in settings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<crate::dns::AnsweredPin>,
    /// The network's own resolvers (from DHCP or the system's settings as
    /// the helper last read them), where VPN server names are forwarded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<std::net::IpAddr>,
}

impl ResolverStatus {
    /// "answering the network check; 2 VPN server names allowed".
    pub fn summary(&self) -> String {
        if !self.active {
            return "idle: Airlock leaves DNS alone unless it is blocking".to_string();
        }
        let mut parts = Vec::new();
        if self.network_check_names > 0 {
            parts.push("answering the network check".to_string());
        }
        parts.push(match self.vpn_server_names {
            0 => "no VPN server names allowed".to_string(),
            1 => "1 VPN server name allowed".to_string(),
            n => format!("{n} VPN server names allowed"),
        });
        match self.pinned.len() {
            0 => {}
            1 => parts.push("1 address pinned by an answer".to_string()),
            n => parts.push(format!("{n} addresses pinned by answers")),
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_summary_reads_as_a_sentence() {
        let mut r = ResolverStatus {
            active: true,
            network_check_names: 2,
            vpn_server_names: 2,
            pinned: vec![],
            upstreams: vec![],
        };
        assert_eq!(
            r.summary(),
            "answering the network check; 2 VPN server names allowed"
        );
        r.network_check_names = 0;
        r.vpn_server_names = 1;
        r.pinned.push(crate::dns::AnsweredPin {
            endpoint: "203.0.113.9:1194/udp".parse().unwrap(),
            expires_at: 0,
        });
        assert_eq!(
            r.summary(),
            "1 VPN server name allowed; 1 address pinned by an answer"
        );
        r.active = false;
        assert!(r.summary().starts_with("idle"));
    }

    #[test]
    fn colour_table() {
        use KillSwitch::*;
        use Protection as P;
        let cases = [
            (On, true, true, P::Protected),
            (On, false, true, P::Blocking),
            (On, true, false, P::Fault),
            (On, false, false, P::Fault),
            (Paused, true, true, P::Paused),
            (Paused, false, false, P::Fault),
            (Off, true, true, P::Off),
            (Off, false, false, P::Fault),
        ];
        for (k, up, healthy, want) in cases {
            assert_eq!(
                Protection::derive(k, up, healthy),
                want,
                "{k:?} {up} {healthy}"
            );
        }
    }
}
