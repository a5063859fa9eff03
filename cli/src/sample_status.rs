//! The one sample [`Status`] the CLI's tests start from: a protected
//! machine with a tamper on record. The unit tests (`status_text`) and the
//! integration tests (`tests/client.rs`, via `#[path]`, since airlockctl
//! has no library target) tweak copies of it, so both describe the same
//! helper answer.

use airlock_shared::status::{
    FirewallHealth, KillSwitch, Options, Protection, Status, Tunnel, TunnelState,
};

/// The last tamper on record: 2024-02-29 12:34:56 UTC.
pub const TAMPER: u64 = 1_709_210_096;

pub fn protected() -> Status {
    Status {
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
            backend: airlock_shared::firewall_kind::FirewallKind::Nft,
            faults: vec![],
            healthy: true,
            problems: vec![],
            last_tamper: Some(TAMPER),
            blocked_packets: 1234,
        },
        options: Options {
            allow_lan: true,
            allow_airdrop: false,
            allow_airprint: false,
            allow_dns: false,
        },
        endpoints: 2,
        resolver: None,
    }
}
