//! Realistic statuses for the tests, built the way the helper builds them
//! (protection derived, not chosen). The unit tests use [`status`], one per
//! protection state; `tests/common` includes this file by `#[path]` and
//! uses [`build`], so the fake helper serves the same statuses.

#![allow(dead_code)] // each includer uses part of it

use airlock_shared::status::{
    FirewallHealth, KillSwitch, Options, Protection, Status, Tunnel, TunnelState,
};

/// 14:05 UTC on some day, so "Paused until 14:05" at offset 0.
pub const PAUSE_END: u64 = 1_700_000_000 - 1_700_000_000 % 86_400 + 14 * 3600 + 5 * 60;

pub fn status(p: Protection) -> Status {
    let (kill_switch, tunnel_up, healthy) = match p {
        Protection::Protected => (KillSwitch::On, true, true),
        Protection::Blocking => (KillSwitch::On, false, true),
        Protection::Off => (KillSwitch::Off, true, true),
        Protection::Paused => (KillSwitch::Paused, true, true),
        Protection::Fault => (KillSwitch::On, true, false),
    };
    let s = build(kill_switch, tunnel_up, healthy, PAUSE_END);
    assert_eq!(s.protection, p);
    s
}

/// `paused_until` is only set when `kill_switch` is `Paused`.
pub fn build(kill_switch: KillSwitch, tunnel_up: bool, healthy: bool, paused_until: u64) -> Status {
    Status {
        kill_switch,
        paused_until: (kill_switch == KillSwitch::Paused).then_some(paused_until),
        protection: Protection::derive(kill_switch, tunnel_up, healthy),
        reason: (!healthy).then(|| "the nftables table airlock is missing".to_string()),
        tunnel: Tunnel {
            state: if tunnel_up {
                TunnelState::Up
            } else {
                TunnelState::Down
            },
            interface: tunnel_up.then(|| "utun4".to_string()),
            endpoint: Some("198.51.100.7:1194/udp".into()),
        },
        firewall: FirewallHealth {
            backend: airlock_shared::firewall_kind::FirewallKind::Nft,
            faults: vec![],
            healthy,
            problems: if healthy {
                vec![]
            } else {
                vec![airlock_shared::status::Problem::TableMissing]
            },
            last_tamper: None,
            blocked_packets: 0,
        },
        options: Options {
            allow_lan: false,
            allow_airdrop: false,
            allow_airprint: false,
            allow_dns: false,
        },
        endpoints: 1,
        resolver: None,
    }
}
