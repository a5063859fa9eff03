//! How a [`Status`] reads to a person: the headline (also what `watch`
//! and the change commands print) and the few lines of `status`. Pure:
//! the clock and the time zone come in as a [`Clock`], so every word here
//! is tested.

use airlock_shared::status::{Guard, KillSwitch, Options, Protection, Status, TunnelState};
use airlock_shared::time::Clock;

use crate::duration::format_seconds;

/// A moment soon to come: the time of day when it is within a day, the
/// full date otherwise, plus how long until then.
fn until(clock: &Clock, unix: u64) -> String {
    let left = unix.saturating_sub(clock.now);
    let at = if left < 86_400 {
        clock.time_of_day(unix)
    } else {
        clock.datetime(unix)
    };
    format!("{at} ({} left)", format_seconds(left))
}

/// The tunnel as `tun0 → 198.51.100.7:1194/udp`, as much as is known.
fn tunnel_text(status: &Status) -> String {
    let t = &status.tunnel;
    match (&t.interface, &t.endpoint) {
        (Some(i), Some(e)) => format!("{i} → {e}"),
        (Some(i), None) => i.clone(),
        (None, Some(e)) => format!("→ {e}"),
        (None, None) => "interface unknown".to_string(),
    }
}

/// One line that answers "am I protected?".
pub fn headline(status: &Status, clock: &Clock) -> String {
    match status.protection {
        Protection::Protected => format!("Protected — VPN {}", tunnel_text(status)),
        Protection::Blocking => "Blocking — no VPN tunnel is up: nothing gets out \
                                 except the connection to the VPN server"
            .to_string(),
        Protection::Off => "Off — the kill switch is off: traffic is not protected".to_string(),
        Protection::Paused => match status.paused_until {
            Some(t) => format!(
                "Paused until {} — traffic is not protected",
                until(clock, t)
            ),
            None => "Paused — traffic is not protected".to_string(),
        },
        Protection::Fault => match &status.reason {
            Some(r) => format!("Fault — {r}"),
            None => "Fault — the firewall rules are not what they should be".to_string(),
        },
    }
}

/// `allow-lan off, allow-airdrop off, ...`: spelled as `set` takes them.
pub fn options_text(o: &Options) -> String {
    let word = |b: bool| if b { "on" } else { "off" };
    let root_only = if o.vpn_root_only {
        ", vpn-root-only on"
    } else {
        ""
    };
    format!(
        "allow-lan {}, allow-airdrop {}, allow-airprint {}, allow-dns {}{root_only}",
        word(o.allow_lan),
        word(o.allow_airdrop),
        word(o.allow_airprint),
        word(o.allow_dns)
    )
}

/// `watch`'s line: the headline plus the firewall's health, so a
/// tamper or a fault shows up in the stream too.
pub fn event_line(status: &Status, clock: &Clock) -> String {
    let fw = &status.firewall;
    let health = if fw.healthy {
        "firewall healthy".to_string()
    } else {
        let n = fw.faults.len() + fw.problems.len();
        format!("firewall NOT healthy ({n} problems)")
    };
    format!("{}; {health}", headline(status, clock))
}

/// The whole of `airlockctl status`.
pub fn describe(status: &Status, clock: &Clock) -> String {
    let mut lines = vec![headline(status, clock)];
    let kill = match status.kill_switch {
        KillSwitch::On => "on".to_string(),
        KillSwitch::Off => "off (turn it on with `sudo airlockctl enable`)".to_string(),
        KillSwitch::Paused => match status.paused_until {
            Some(t) => format!(
                "paused until {} (`sudo airlockctl resume` ends it now)",
                until(clock, t)
            ),
            None => "paused (`sudo airlockctl resume` ends it now)".to_string(),
        },
    };
    lines.push(format!("Kill switch:  {kill}"));
    let tunnel = match status.tunnel.state {
        TunnelState::Up => format!("up, {}", tunnel_text(status)),
        TunnelState::Down => "down".to_string(),
    };
    lines.push(format!("VPN tunnel:   {tunnel}"));
    lines.push(format!("Options:      {}", options_text(&status.options)));
    let endpoints = match status.endpoints {
        0 if status.kill_switch != KillSwitch::Off => "none — the VPN cannot connect through \
             the kill switch; add its server with `sudo airlockctl endpoints add ADDR:PORT/udp`"
            .to_string(),
        0 => "none".to_string(),
        1 => "1 VPN server let through (`airlockctl endpoints list`)".to_string(),
        n => format!("{n} VPN servers let through (`airlockctl endpoints list`)"),
    };
    lines.push(format!("Endpoints:    {endpoints}"));
    if let Some(r) = &status.resolver {
        lines.push(format!("Resolver:     {}", r.summary()));
        for p in &r.pinned {
            lines.push(format!(
                "  pinned by answer: {} ({})",
                p.endpoint,
                p.endpoint.host.as_deref().unwrap_or("?")
            ));
        }
    }
    let fw = &status.firewall;
    let health = if fw.healthy { "healthy" } else { "NOT healthy" };
    let packets = match fw.blocked_packets {
        1 => "1 packet blocked".to_string(),
        n => format!("{n} packets blocked"),
    };
    lines.push(format!("Firewall:     {}, {health}, {packets}", fw.backend));
    for f in &fw.faults {
        lines.push(format!("  fault: {f}"));
    }
    for p in &fw.problems {
        lines.push(format!("  problem: {p}"));
    }
    let tamper = match fw.last_tamper {
        Some(t) => format!(
            "{} (someone else changed the rules; Airlock put them back)",
            clock.datetime(t)
        ),
        None => "never".to_string(),
    };
    lines.push(format!("Last tamper:  {tamper}"));
    if fw.guard != Guard::Off {
        lines.push(format!("Tamper guard: {}", fw.guard));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::status::{Fault, Problem, Tunnel};
    use airlock_test_support::clock;
    use airlock_test_support::status::protected;
    use airlock_test_support::StatusBuilder;

    const NOW: u64 = clock::LEAP_DAY; // 2024-02-29 12:34:56 UTC

    fn utc() -> Clock {
        clock::utc(NOW)
    }

    #[test]
    fn protected_status_reads_as_specified() {
        let mut s = protected();
        s.options.allow_dns = true;
        s.firewall.last_tamper = None;
        assert_eq!(
            describe(&s, &utc()),
            "Protected — VPN tun0 → 198.51.100.7:1194/udp\n\
             Kill switch:  on\n\
             VPN tunnel:   up, tun0 → 198.51.100.7:1194/udp\n\
             Options:      allow-lan on, allow-airdrop off, allow-airprint off, allow-dns on\n\
             Endpoints:    2 VPN servers let through (`airlockctl endpoints list`)\n\
             Firewall:     nft, healthy, 1234 packets blocked\n\
             Last tamper:  never\n"
        );
    }

    #[test]
    fn fault_lists_each_problem_and_the_tamper_time_locally() {
        let s = StatusBuilder::protected()
            .reason("the nft table is missing")
            .faults(&[Fault::RestoreFailed {
                error: "nft: Operation not permitted".into(),
            }])
            .problems(&[
                Problem::TableMissing,
                Problem::ChainChanged {
                    chain: "output".into(),
                    loaded: 12,
                    found: 0,
                },
            ])
            .last_tamper(Some(NOW - 60))
            .build();
        assert_eq!(s.protection, Protection::Fault);
        let clock = clock::fixed(NOW, 3_600);
        let text = describe(&s, &clock);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Fault — the nft table is missing");
        assert_eq!(
            lines[5],
            "Firewall:     nft, NOT healthy, 1234 packets blocked"
        );
        assert_eq!(
            lines[6],
            "  fault: rules were removed and could not be restored: nft: Operation not permitted"
        );
        assert_eq!(lines[7], format!("  problem: {}", Problem::TableMissing));
        assert!(
            lines[8].starts_with("  problem: ") && lines[8].contains("output"),
            "{}",
            lines[8]
        );
        assert_eq!(
            lines[9],
            "Last tamper:  2024-02-29 13:33:56 +01:00 (someone else changed the rules; \
             Airlock put them back)"
        );
    }

    #[test]
    fn paused_shows_the_end_and_time_left() {
        let mut s = protected();
        s.kill_switch = KillSwitch::Paused;
        s.protection = Protection::Paused;
        s.paused_until = Some(NOW + 300);
        let text = describe(&s, &utc());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Paused until 12:39:56 (5m left) — traffic is not protected"
        );
        assert_eq!(
            lines[1],
            "Kill switch:  paused until 12:39:56 (5m left) (`sudo airlockctl resume` ends it now)"
        );
        // More than a day ahead: the date too.
        s.paused_until = Some(NOW + 2 * 86_400);
        assert_eq!(
            headline(&s, &utc()),
            "Paused until 2024-03-02 12:34:56 +00:00 (2d left) — traffic is not protected"
        );
    }

    #[test]
    fn blocking_off_and_missing_endpoints() {
        let mut s = protected();
        s.protection = Protection::Blocking;
        s.tunnel = Tunnel {
            state: TunnelState::Down,
            interface: None,
            endpoint: None,
        };
        s.endpoints = 0;
        let text = describe(&s, &utc());
        assert!(text.starts_with("Blocking — no VPN tunnel is up"), "{text}");
        assert!(text.contains("VPN tunnel:   down\n"), "{text}");
        assert!(
            text.contains("Endpoints:    none — the VPN cannot connect"),
            "{text}"
        );

        s.kill_switch = KillSwitch::Off;
        s.protection = Protection::Off;
        s.endpoints = 1;
        s.firewall.blocked_packets = 1;
        let text = describe(&s, &utc());
        assert!(text.starts_with("Off — "), "{text}");
        assert!(
            text.contains("Kill switch:  off (turn it on with"),
            "{text}"
        );
        assert!(
            text.contains("Endpoints:    1 VPN server let through"),
            "{text}"
        );
        assert!(text.contains(", 1 packet blocked\n"), "{text}");
    }

    #[test]
    fn event_line_carries_health() {
        let s = protected();
        assert_eq!(
            event_line(&s, &utc()),
            "Protected — VPN tun0 → 198.51.100.7:1194/udp; firewall healthy"
        );
        let s = StatusBuilder::protected()
            .problems(&[Problem::PfDisabled, Problem::AnchorEmpty])
            .build();
        assert_eq!(s.protection, Protection::Fault);
        assert_eq!(
            event_line(&s, &utc()),
            "Fault — the firewall rules are not what they should be; \
             firewall NOT healthy (2 problems)"
        );
    }

    #[test]
    fn status_says_what_the_resolver_is_doing() {
        let mut s = protected();
        s.resolver = Some(Box::new(airlock_shared::status::ResolverStatus {
            active: true,
            network_check_names: 2,
            vpn_server_names: 2,
            pinned: vec![airlock_shared::dns::AnsweredPin {
                endpoint: airlock_shared::endpoint::Endpoint {
                    host: Some("vpn.lab.test".into()),
                    .."203.0.113.9:1194/udp".parse().unwrap()
                },
                expires_at: NOW + 60,
            }],
            upstreams: vec![],
        }));
        let text = describe(&s, &utc());
        assert!(
            text.contains(
                "Resolver:     answering the network check; 2 VPN server names allowed; \
                 1 address pinned by an answer\n  pinned by answer: 203.0.113.9:1194/udp (vpn.lab.test)"
            ),
            "{text}"
        );
    }
}
