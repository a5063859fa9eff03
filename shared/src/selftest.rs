//! The self-test ("does the kill switch hold, right now?"): which
//! attempts to make ([`plan`]) and what each one's result means
//! ([`judge`]), pure so every rule of it is tested. The attempts
//! themselves (sockets bound to one interface) are made by
//! `airlockctl selftest`; docs/security.md says what it proves.
//!
//! An attempt off the tunnel passes only when Airlock refused it: the
//! block counter of our rule moved during the attempt and nothing got
//! through, or (DNS while blocking) Airlock's own resolver answered
//! REFUSED. A failure with the counter still is not proof (no route, a
//! timeout, another firewall) and is reported as such. An attempt through
//! the tunnel passes when our rule did not refuse it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::network::{InterfaceKind, NetworkSnapshot};
use crate::status::{KillSwitch, Status};

/// What one connection attempt ended in, as the socket reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// TCP connected, or a UDP/DNS answer came back.
    Reached,
    /// Refused at once (EPERM, ECONNREFUSED, a reset, ICMP unreachable).
    Refused,
    /// Nothing came back in time.
    TimedOut,
    /// The kernel had no route for it.
    NoRoute,
    /// A DNS question answered REFUSED while Airlock's own resolver was
    /// answering (blocking): it never left the machine.
    RefusedByResolver,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A physical interface: must be refused by Airlock.
    OffTunnel,
    /// The tunnel: must not be refused by Airlock.
    InTunnel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// "TCP over IPv4 on wlan0 to 192.0.2.1:443".
    pub what: String,
    pub via: Via,
    pub outcome: Outcome,
    /// How far our rule's block counter moved during the attempt.
    pub counter_delta: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub what: String,
    pub pass: bool,
    /// Plain words: what happened and what it means.
    pub words: String,
}

pub fn judge(a: &Attempt) -> CheckResult {
    let ours = a.counter_delta > 0;
    let (pass, words) = match (a.via, &a.outcome, ours) {
        (Via::OffTunnel, Outcome::Reached, _) => (
            false,
            "got through outside the tunnel: the kill switch has a hole".to_string(),
        ),
        (Via::OffTunnel, Outcome::RefusedByResolver, _) => (
            true,
            "answered REFUSED by Airlock's own resolver: it never left the machine".to_string(),
        ),
        (Via::OffTunnel, _, true) => (true, "blocked by Airlock's rule".to_string()),
        (Via::OffTunnel, o, false) => (
            false,
            format!(
                "did not get through ({}), but Airlock's rule did not count it, so this \
                 does not prove the kill switch blocked it",
                describe(o)
            ),
        ),
        (Via::InTunnel, Outcome::Refused, true) => (
            false,
            "refused by Airlock's rule inside the tunnel".to_string(),
        ),
        (Via::InTunnel, o, _) => (true, format!("not refused by Airlock ({})", describe(o))),
    };
    CheckResult {
        what: a.what.clone(),
        pass,
        words,
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Reached => "it got through".into(),
        Outcome::Refused => "refused".into(),
        Outcome::TimedOut => "timed out".into(),
        Outcome::NoRoute => "no route".into(),
        Outcome::RefusedByResolver => "refused by Airlock's resolver".into(),
        Outcome::Other(e) => e.clone(),
    }
}

/// The whole test passes when every check does (and there was one).
pub fn all_pass(results: &[CheckResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.pass)
}

/// What one attempt sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// A TCP connection.
    Tcp,
    /// A UDP datagram, waiting for an answer or an error.
    Udp,
    /// A DNS question (A record of [`PROBE_NAME`]) over UDP.
    Dns,
}

/// The name the DNS probe asks for: under `.invalid` (RFC 6761), so no
/// real resolver answers it with an address, and obviously Airlock's.
pub const PROBE_NAME: &str = "airlock-selftest.invalid";

/// Where the attempts go: addresses that must not be reached off the
/// tunnel. The defaults are documentation addresses (RFC 5737, RFC 3849),
/// which are never routed anywhere: should the kill switch let one out,
/// it goes nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub port: u16,
}

impl Default for Target {
    fn default() -> Target {
        Target {
            v4: Ipv4Addr::new(192, 0, 2, 1),
            v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            port: 443,
        }
    }
}

/// One attempt to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub probe: Probe,
    pub via: Via,
    /// The interface the socket is bound to; `None`: not bound, sent the
    /// way apps send it (the routing table decides).
    pub interface: Option<String>,
    pub to: SocketAddr,
}

impl Planned {
    /// "TCP over IPv4 on eth0 to 192.0.2.1:443".
    pub fn what(&self) -> String {
        let probe = match self.probe {
            Probe::Tcp => "TCP",
            Probe::Udp => "UDP",
            Probe::Dns => "DNS",
        };
        let family = if self.to.is_ipv4() { "IPv4" } else { "IPv6" };
        match &self.interface {
            Some(i) => format!("{probe} over {family} on {i} to {}", self.to),
            None => format!("{probe} over {family} to {}, as apps send it", self.to),
        }
    }
}

/// The attempts for this machine now, and what is left out and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub attempts: Vec<Planned>,
    /// Checks not made, each with the reason (a setting allows it).
    pub skipped: Vec<String>,
    /// Why nothing can be tested (the kill switch is off or paused).
    pub cannot: Option<String>,
}

/// Plans the self-test: from every physical interface, TCP and UDP to the
/// target in each address family the interface has, and a DNS question to
/// the network's resolver of that family (or the target, port 53); from
/// the tunnel, when one is up, TCP and UDP to the target.
///
/// While Airlock's resolver answers (blocking), DNS to the network's
/// resolvers is redirected to it, and its answer comes back on loopback,
/// which a socket bound to a physical interface never receives: so then
/// DNS is asked once per family as apps ask it, unbound, and must be
/// answered REFUSED by Airlock.
pub fn plan(status: &Status, snapshot: &NetworkSnapshot, target: &Target) -> Plan {
    let mut plan = Plan::default();
    match status.kill_switch {
        KillSwitch::Off => {
            plan.cannot = Some(
                "the kill switch is off: nothing is blocked, so there is nothing to test; \
                 turn it on first (`airlockctl enable`)"
                    .into(),
            );
            return plan;
        }
        KillSwitch::Paused => {
            plan.cannot = Some(
                "the kill switch is paused: everything is let through until the pause ends".into(),
            );
            return plan;
        }
        KillSwitch::On => {}
    }
    let tunnel_up = status.tunnel.interface.is_some();
    let dns_allowed = status.options.allow_dns && !tunnel_up;
    let resolver_answers = status.resolver.as_ref().is_some_and(|r| r.active);
    let resolver_of = |v4: bool, or: IpAddr| {
        snapshot
            .dns
            .iter()
            .copied()
            .find(|r| r.is_ipv4() == v4 && !r.is_loopback())
            .unwrap_or(or)
    };
    let mut families = Vec::new();
    if dns_allowed {
        plan.skipped.push(
            "DNS outside the tunnel: \"DNS while disconnected\" is on, so it is let through \
             by design"
                .into(),
        );
    }
    for iface in snapshot.of_kind(InterfaceKind::Physical) {
        if !iface.flags.up {
            continue;
        }
        for v4 in [true, false] {
            let usable = iface.addresses.iter().any(|a| match a.addr() {
                IpAddr::V4(_) => v4,
                IpAddr::V6(a) => !v4 && !a.is_unicast_link_local(),
            });
            if !usable {
                continue;
            }
            let to = if v4 {
                IpAddr::V4(target.v4)
            } else {
                IpAddr::V6(target.v6)
            };
            if !families.contains(&to) {
                families.push(to);
            }
            let mut add = |probe, to| {
                plan.attempts.push(Planned {
                    probe,
                    via: Via::OffTunnel,
                    interface: Some(iface.name.clone()),
                    to,
                })
            };
            add(Probe::Tcp, SocketAddr::new(to, target.port));
            add(Probe::Udp, SocketAddr::new(to, target.port));
            if !dns_allowed && !resolver_answers {
                add(Probe::Dns, SocketAddr::new(resolver_of(v4, to), 53));
            }
        }
    }
    if !dns_allowed && resolver_answers {
        for to in families {
            plan.attempts.push(Planned {
                probe: Probe::Dns,
                via: Via::OffTunnel,
                interface: None,
                to: SocketAddr::new(resolver_of(to.is_ipv4(), to), 53),
            });
        }
    }
    if let Some(tunnel) = status
        .tunnel
        .interface
        .as_deref()
        .and_then(|name| snapshot.interface(name))
    {
        for v4 in [true, false] {
            if !tunnel.addresses.iter().any(|a| a.addr().is_ipv4() == v4) {
                continue;
            }
            let to = if v4 {
                IpAddr::V4(target.v4)
            } else {
                IpAddr::V6(target.v6)
            };
            for probe in [Probe::Tcp, Probe::Udp] {
                plan.attempts.push(Planned {
                    probe,
                    via: Via::InTunnel,
                    interface: Some(tunnel.name.clone()),
                    to: SocketAddr::new(to, target.port),
                });
            }
        }
    }
    plan
}

/// The whole answer, as `airlockctl selftest --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub pass: bool,
    pub checks: Vec<CheckResult>,
    pub skipped: Vec<String>,
    /// Why nothing could be tested, when that is so.
    pub cannot: Option<String>,
}

impl Report {
    pub fn new(checks: Vec<CheckResult>, plan: &Plan) -> Report {
        Report {
            pass: plan.cannot.is_none() && all_pass(&checks),
            checks,
            skipped: plan.skipped.clone(),
            cannot: plan.cannot.clone(),
        }
    }

    /// The verdict every surface words its own way (the CLI's last line,
    /// the menu's line, the notification).
    pub fn verdict(&self) -> Verdict<'_> {
        let failed: Vec<&CheckResult> = self.checks.iter().filter(|c| !c.pass).collect();
        match (self.pass, failed.is_empty()) {
            (true, _) => Verdict::Passed {
                checks: self.checks.len(),
            },
            (false, true) => Verdict::NothingTested,
            (false, false) => Verdict::Failed {
                failed,
                checks: self.checks.len(),
            },
        }
    }
}

/// What a [`Report`] comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Every check passed (and there was one).
    Passed { checks: usize },
    /// These of `checks` failed: something may be getting out.
    Failed {
        failed: Vec<&'a CheckResult>,
        checks: usize,
    },
    /// No check could be made (the kill switch is off or paused).
    NothingTested,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(via: Via, outcome: Outcome, counter_delta: u64) -> Attempt {
        Attempt {
            what: "UDP over IPv4 on eth0 to 192.0.2.1:443".into(),
            via,
            outcome,
            counter_delta,
        }
    }

    #[test]
    fn off_tunnel_passes_only_when_our_rule_refused_it() {
        assert!(judge(&attempt(Via::OffTunnel, Outcome::Refused, 1)).pass);
        assert!(judge(&attempt(Via::OffTunnel, Outcome::TimedOut, 2)).pass);
        let hole = judge(&attempt(Via::OffTunnel, Outcome::Reached, 0));
        assert!(!hole.pass);
        assert!(hole.words.contains("hole"), "{}", hole.words);
        // Reached with the counter moving: something else was counted.
        assert!(!judge(&attempt(Via::OffTunnel, Outcome::Reached, 5)).pass);
        for o in [Outcome::NoRoute, Outcome::TimedOut, Outcome::Refused] {
            let r = judge(&attempt(Via::OffTunnel, o, 0));
            assert!(!r.pass, "not ours, not proof: {}", r.words);
        }
    }

    #[test]
    fn in_tunnel_fails_only_when_our_rule_refused_it() {
        assert!(judge(&attempt(Via::InTunnel, Outcome::Reached, 0)).pass);
        assert!(judge(&attempt(Via::InTunnel, Outcome::TimedOut, 0)).pass);
        assert!(judge(&attempt(Via::InTunnel, Outcome::Refused, 0)).pass);
        assert!(!judge(&attempt(Via::InTunnel, Outcome::Refused, 1)).pass);
    }

    #[test]
    fn the_verdict_names_the_failed_checks() {
        let plan = Plan::default();
        let ok = judge(&attempt(Via::OffTunnel, Outcome::Refused, 1));
        let bad = judge(&attempt(Via::OffTunnel, Outcome::Reached, 0));
        assert_eq!(
            Report::new(vec![ok.clone()], &plan).verdict(),
            Verdict::Passed { checks: 1 }
        );
        let mixed = Report::new(vec![ok, bad.clone()], &plan);
        assert_eq!(
            mixed.verdict(),
            Verdict::Failed {
                failed: vec![&bad],
                checks: 2
            }
        );
        assert_eq!(Report::new(vec![], &plan).verdict(), Verdict::NothingTested);
    }

    #[test]
    fn no_checks_is_no_pass() {
        assert!(!all_pass(&[]));
        let ok = judge(&attempt(Via::OffTunnel, Outcome::Refused, 1));
        let bad = judge(&attempt(Via::OffTunnel, Outcome::Reached, 0));
        assert!(all_pass(std::slice::from_ref(&ok)));
        assert!(!all_pass(&[ok, bad]));
    }

    // The plan.

    use crate::firewall_kind::FirewallKind;
    use crate::network::{Interface, InterfaceFlags};
    use crate::platform::Platform;
    use crate::status::{FirewallHealth, Options, Protection, Tunnel, TunnelState};

    fn iface(name: &str, addrs: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            kind: crate::network::classify::classify(Platform::Linux, name, &[]),
            flags: InterfaceFlags {
                up: true,
                running: true,
                ..Default::default()
            },
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn status(kill_switch: KillSwitch, tunnel: Option<&str>, allow_dns: bool) -> Status {
        let resolver = (tunnel.is_none() && !allow_dns).then(|| {
            Box::new(crate::status::ResolverStatus {
                active: false,
                network_check_names: 2,
                vpn_server_names: 0,
                pinned: vec![],
                upstreams: vec![],
            })
        });
        Status {
            kill_switch,
            paused_until: None,
            protection: Protection::Blocking,
            reason: None,
            tunnel: Tunnel {
                state: if tunnel.is_some() {
                    TunnelState::Up
                } else {
                    TunnelState::Down
                },
                interface: tunnel.map(str::to_string),
                endpoint: None,
            },
            firewall: FirewallHealth {
                backend: FirewallKind::Nft,
                healthy: true,
                faults: vec![],
                problems: vec![],
                last_tamper: None,
                blocked_packets: 0,
                guard: Default::default(),
            },
            options: Options {
                allow_lan: false,
                allow_airdrop: false,
                allow_airprint: false,
                allow_dns,
                vpn_root_only: false,
            },
            endpoints: 0,
            resolver,
        }
    }

    fn laptop() -> NetworkSnapshot {
        NetworkSnapshot {
            interfaces: vec![
                iface("lo", &["127.0.0.1/8", "::1/128"]),
                iface(
                    "eth0",
                    &["192.168.1.20/24", "fe80::20/64", "2001:db8:1::20/64"],
                ),
                iface("wlan0", &["10.0.0.5/24", "fe80::5/64"]),
                iface("tun0", &["10.8.0.2/24"]),
                iface("docker0", &["172.17.0.1/16"]),
            ],
            routes: vec![],
            dns: vec![
                "127.0.0.53".parse().unwrap(),
                "192.168.1.1".parse().unwrap(),
            ],
        }
    }

    fn whats(plan: &Plan) -> Vec<String> {
        plan.attempts.iter().map(Planned::what).collect()
    }

    #[test]
    fn nothing_is_tested_while_the_kill_switch_is_off_or_paused() {
        for ks in [KillSwitch::Off, KillSwitch::Paused] {
            let p = plan(&status(ks, None, false), &laptop(), &Target::default());
            assert!(p.attempts.is_empty());
            assert!(p.cannot.is_some());
            assert!(!Report::new(vec![], &p).pass);
        }
    }

    /// Every physical interface, each family it really has (a link-local
    /// IPv6 address alone is not a way out), TCP, UDP and DNS; the
    /// network's own resolver of the family when there is one (never the
    /// local stub); no tunnel, loopback or bridge attempts while blocking.
    #[test]
    fn blocking_tries_every_way_out_of_every_physical_interface() {
        let p = plan(
            &status(KillSwitch::On, None, false),
            &laptop(),
            &Target::default(),
        );
        assert_eq!(
            whats(&p),
            [
                "TCP over IPv4 on eth0 to 192.0.2.1:443",
                "UDP over IPv4 on eth0 to 192.0.2.1:443",
                "DNS over IPv4 on eth0 to 192.168.1.1:53",
                "TCP over IPv6 on eth0 to [2001:db8::1]:443",
                "UDP over IPv6 on eth0 to [2001:db8::1]:443",
                "DNS over IPv6 on eth0 to [2001:db8::1]:53",
                "TCP over IPv4 on wlan0 to 192.0.2.1:443",
                "UDP over IPv4 on wlan0 to 192.0.2.1:443",
                "DNS over IPv4 on wlan0 to 192.168.1.1:53",
            ]
        );
        assert!(p.attempts.iter().all(|a| a.via == Via::OffTunnel));
        assert!(p.skipped.is_empty() && p.cannot.is_none());
    }

    /// While the resolver answers, DNS goes as apps send it: bound to eth0
    /// its redirected answer (on loopback) would never arrive.
    #[test]
    fn while_the_resolver_answers_dns_is_asked_as_apps_ask_it() {
        let mut st = status(KillSwitch::On, None, false);
        st.resolver.as_mut().unwrap().active = true;
        let p = plan(&st, &laptop(), &Target::default());
        let dns: Vec<String> = p
            .attempts
            .iter()
            .filter(|a| a.probe == Probe::Dns)
            .map(Planned::what)
            .collect();
        assert_eq!(
            dns,
            [
                "DNS over IPv4 to 192.168.1.1:53, as apps send it",
                "DNS over IPv6 to [2001:db8::1]:53, as apps send it",
            ]
        );
        assert_eq!(p.attempts.len(), 8);
    }

    #[test]
    fn dns_allowed_while_disconnected_is_skipped_and_said() {
        let p = plan(
            &status(KillSwitch::On, None, true),
            &laptop(),
            &Target::default(),
        );
        assert!(p.attempts.iter().all(|a| a.probe != Probe::Dns));
        assert_eq!(p.attempts.len(), 6);
        assert_eq!(p.skipped.len(), 1);
        assert!(p.skipped[0].contains("DNS while disconnected"));
    }

    /// With the tunnel up, DNS outside it is blocked again (the option is
    /// only for while disconnected), and the tunnel itself must work.
    #[test]
    fn a_tunnel_adds_attempts_that_must_not_be_refused() {
        let p = plan(
            &status(KillSwitch::On, Some("tun0"), true),
            &laptop(),
            &Target::default(),
        );
        let inside: Vec<String> = p
            .attempts
            .iter()
            .filter(|a| a.via == Via::InTunnel)
            .map(Planned::what)
            .collect();
        assert_eq!(
            inside,
            [
                "TCP over IPv4 on tun0 to 192.0.2.1:443",
                "UDP over IPv4 on tun0 to 192.0.2.1:443"
            ]
        );
        assert_eq!(
            p.attempts.iter().filter(|a| a.probe == Probe::Dns).count(),
            3,
            "DNS outside the tunnel is tested again"
        );
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn a_refusal_by_our_resolver_passes_and_any_answer_fails() {
        let r = judge(&attempt(Via::OffTunnel, Outcome::RefusedByResolver, 0));
        assert!(r.pass, "{}", r.words);
        assert!(!judge(&attempt(Via::OffTunnel, Outcome::Reached, 0)).pass);
    }
}
