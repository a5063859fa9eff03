//! Sample helper answers. Every test that needs a [`Status`] starts from
//! a [`StatusBuilder`] (directly or through one of the named samples
//! below), which derives the protection the way the helper does
//! ([`Protection::derive`]), so a sample can never claim a state the
//! helper would not report. [`StatusBuilder::build`] is the one place
//! here that writes a `Status` literal: a change to the type (such as
//! typed firewall problems) is made there and in
//! [`StatusBuilder::problems`].

use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::status::{
    Fault, FirewallHealth, KillSwitch, Options, Problem, Protection, Status, Tunnel, TunnelState,
};

use crate::clock::LEAP_DAY;

/// The last tamper on record in the CLI's sample: 2024-02-29 12:34:56 UTC.
pub const TAMPER: u64 = LEAP_DAY;

/// 14:05 UTC on some day, so "Paused until 14:05" at offset 0: where the
/// app's samples' pauses end.
pub const PAUSE_END: u64 = 1_700_000_000 - 1_700_000_000 % 86_400 + 14 * 3600 + 5 * 60;

/// The VPN server every sample tunnel leads to (a documentation address).
pub const ENDPOINT: &str = "198.51.100.7:1194/udp";

/// The reason an unhealthy app sample gives (its problem is
/// [`Problem::TableMissing`]).
pub const TABLE_MISSING: &str = "the nftables table airlock is missing";

/// A [`Status`] under construction. [`StatusBuilder::new`] is a protected
/// machine: kill switch on, tunnel `tun0` up to [`ENDPOINT`], a healthy
/// nft firewall with nothing on record, every option off, one endpoint.
#[derive(Debug, Clone)]
#[must_use]
pub struct StatusBuilder {
    kill_switch: KillSwitch,
    paused_until: u64,
    tunnel_up: bool,
    interface: String,
    endpoint: Option<String>,
    reason: Option<String>,
    faults: Vec<Fault>,
    problems: Vec<Problem>,
    last_tamper: Option<u64>,
    blocked_packets: u64,
    options: Options,
    endpoints: usize,
}

impl Default for StatusBuilder {
    fn default() -> Self {
        StatusBuilder::new()
    }
}

impl StatusBuilder {
    pub fn new() -> StatusBuilder {
        StatusBuilder {
            kill_switch: KillSwitch::On,
            paused_until: PAUSE_END,
            tunnel_up: true,
            interface: "tun0".into(),
            endpoint: Some(ENDPOINT.into()),
            reason: None,
            faults: Vec::new(),
            problems: Vec::new(),
            last_tamper: None,
            blocked_packets: 0,
            options: Options {
                allow_lan: false,
                allow_airdrop: false,
                allow_airprint: false,
                allow_dns: false,
                vpn_root_only: false,
            },
            endpoints: 1,
        }
    }

    /// The CLI's sample: protected, `allow-lan` on, two endpoints, 1234
    /// packets blocked and a tamper on record at [`TAMPER`].
    pub fn protected() -> StatusBuilder {
        StatusBuilder::new()
            .allow_lan(true)
            .endpoints(2)
            .blocked_packets(1234)
            .last_tamper(Some(TAMPER))
    }

    /// The app's sample for one kill-switch setting: tunnel `utun4` when
    /// up, a missing table when not `healthy`, a pause (if paused) ending
    /// at `paused_until`.
    pub fn app(
        kill_switch: KillSwitch,
        tunnel_up: bool,
        healthy: bool,
        paused_until: u64,
    ) -> StatusBuilder {
        let b = StatusBuilder::new()
            .interface("utun4")
            .tunnel_up(tunnel_up)
            .kill_switch(kill_switch)
            .paused_until(paused_until);
        if healthy {
            b
        } else {
            b.reason(TABLE_MISSING).problems(&[Problem::TableMissing])
        }
    }

    pub fn kill_switch(mut self, kill_switch: KillSwitch) -> Self {
        self.kill_switch = kill_switch;
        self
    }

    /// Pauses (kill switch `Paused`) until `unix`.
    pub fn paused(self, unix: u64) -> Self {
        self.kill_switch(KillSwitch::Paused).paused_until(unix)
    }

    /// When a pause ends; shown only while the kill switch is `Paused`.
    pub fn paused_until(mut self, unix: u64) -> Self {
        self.paused_until = unix;
        self
    }

    /// Whether the tunnel is up; a tunnel that is down has no interface.
    pub fn tunnel_up(mut self, up: bool) -> Self {
        self.tunnel_up = up;
        self
    }

    pub fn interface(mut self, name: &str) -> Self {
        self.interface = name.into();
        self
    }

    /// The VPN server the tunnel leads to, if known.
    pub fn endpoint(mut self, endpoint: Option<&str>) -> Self {
        self.endpoint = endpoint.map(Into::into);
        self
    }

    /// Why the protection is what it is (the helper sets it for faults).
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The firewall's problems as its check lists them: any makes the
    /// firewall unhealthy (and so the protection a fault).
    pub fn problems(mut self, problems: &[Problem]) -> Self {
        self.problems = problems.to_vec();
        self
    }

    /// What the helper failed to do: any makes the firewall unhealthy.
    pub fn faults(mut self, faults: &[Fault]) -> Self {
        self.faults = faults.to_vec();
        self
    }

    /// When the helper last restored its rules after a tamper, if ever.
    pub fn last_tamper(mut self, unix: Option<u64>) -> Self {
        self.last_tamper = unix;
        self
    }

    pub fn blocked_packets(mut self, n: u64) -> Self {
        self.blocked_packets = n;
        self
    }

    pub fn allow_lan(mut self, on: bool) -> Self {
        self.options.allow_lan = on;
        self
    }

    pub fn allow_dns(mut self, on: bool) -> Self {
        self.options.allow_dns = on;
        self
    }

    /// All four options at once.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// How many VPN endpoints are let through.
    pub fn endpoints(mut self, n: usize) -> Self {
        self.endpoints = n;
        self
    }

    pub fn build(self) -> Status {
        let healthy = self.problems.is_empty() && self.faults.is_empty();
        Status {
            kill_switch: self.kill_switch,
            paused_until: (self.kill_switch == KillSwitch::Paused).then_some(self.paused_until),
            protection: Protection::derive(self.kill_switch, self.tunnel_up, healthy),
            reason: self.reason,
            tunnel: Tunnel {
                state: if self.tunnel_up {
                    TunnelState::Up
                } else {
                    TunnelState::Down
                },
                interface: self.tunnel_up.then_some(self.interface),
                endpoint: self.endpoint,
            },
            firewall: FirewallHealth {
                backend: FirewallKind::Nft,
                healthy,
                faults: self.faults,
                problems: self.problems,
                last_tamper: self.last_tamper,
                blocked_packets: self.blocked_packets,
                guard: Default::default(),
            },
            options: self.options,
            endpoints: self.endpoints,
            resolver: None,
        }
    }
}

/// The CLI's sample helper answer ([`StatusBuilder::protected`]).
pub fn protected() -> Status {
    StatusBuilder::protected().build()
}

/// The `n`th of a series of distinct protected statuses (interface
/// `tun{n}`, `n` packets blocked), for streams of events where each must
/// be told from the others.
pub fn numbered(n: u64) -> Status {
    StatusBuilder::new()
        .interface(&format!("tun{n}"))
        .last_tamper(Some(1_700_000_000))
        .blocked_packets(n)
        .allow_lan(true)
        .allow_dns(true)
        .endpoints(2)
        .build()
}

/// The app's sample ([`StatusBuilder::app`]), built.
pub fn app(kill_switch: KillSwitch, tunnel_up: bool, healthy: bool, paused_until: u64) -> Status {
    StatusBuilder::app(kill_switch, tunnel_up, healthy, paused_until).build()
}

/// One app sample per protection state, pauses ending at [`PAUSE_END`].
pub fn for_protection(p: Protection) -> Status {
    let (kill_switch, tunnel_up, healthy) = match p {
        Protection::Protected => (KillSwitch::On, true, true),
        Protection::Blocking => (KillSwitch::On, false, true),
        Protection::Off => (KillSwitch::Off, true, true),
        Protection::Paused => (KillSwitch::Paused, true, true),
        Protection::Fault => (KillSwitch::On, true, false),
    };
    let s = app(kill_switch, tunnel_up, healthy, PAUSE_END);
    assert_eq!(s.protection, p);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The samples are exactly the literals the crates' tests used to
    /// write out by hand, so moving them here changed no test's input.
    #[test]
    fn samples_are_the_statuses_the_tests_were_written_against() {
        let cli = Status {
            kill_switch: KillSwitch::On,
            paused_until: None,
            protection: Protection::Protected,
            reason: None,
            tunnel: Tunnel {
                state: TunnelState::Up,
                interface: Some("tun0".into()),
                endpoint: Some("198.51.100.7:1194/udp".into()),
            },
            firewall: FirewallHealth {
                backend: FirewallKind::Nft,
                healthy: true,
                faults: vec![],
                problems: vec![],
                last_tamper: Some(1_709_210_096),
                blocked_packets: 1234,
                guard: Default::default(),
            },
            options: Options {
                allow_lan: true,
                allow_airdrop: false,
                allow_airprint: false,
                allow_dns: false,
                vpn_root_only: false,
            },
            endpoints: 2,
            resolver: None,
        };
        assert_eq!(protected(), cli);

        let mut seventh = cli.clone();
        seventh.tunnel.interface = Some("tun7".into());
        seventh.firewall.last_tamper = Some(1_700_000_000);
        seventh.firewall.blocked_packets = 7;
        seventh.options.allow_dns = true;
        assert_eq!(numbered(7), seventh);

        let fault = app(KillSwitch::On, true, false, PAUSE_END);
        assert_eq!(fault.protection, Protection::Fault);
        assert_eq!(fault.reason.as_deref(), Some(TABLE_MISSING));
        assert_eq!(fault.firewall.problems, [Problem::TableMissing]);
        assert!(!fault.firewall.healthy);
        assert_eq!(fault.tunnel.interface.as_deref(), Some("utun4"));
        assert_eq!((fault.endpoints, fault.firewall.last_tamper), (1, None));

        let blocking = app(KillSwitch::Paused, false, true, 99);
        assert_eq!(blocking.paused_until, Some(99));
        assert_eq!(blocking.tunnel.state, TunnelState::Down);
        assert_eq!(blocking.tunnel.interface, None);
        assert_eq!(
            blocking.tunnel.endpoint.as_deref(),
            Some("198.51.100.7:1194/udp")
        );
        assert_eq!(app(KillSwitch::On, true, true, 99).paused_until, None);
    }
}
