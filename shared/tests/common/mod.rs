//! Scenarios shared by the golden-file and renderer-vs-policy tests, so both
//! renderers are checked against the same situations.
#![allow(dead_code)]

use airlock_shared::endpoint::Endpoint;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, Policy};
use airlock_shared::settings::Settings;
use airlock_test_support::network::{iface, route};

/// A fixed clock: 2026-11-26T12:00:00Z.
pub const NOW: u64 = 1_795_694_400;

pub struct Scenario {
    pub name: &'static str,
    pub settings: Settings,
    pub snapshot: NetworkSnapshot,
}

impl Scenario {
    pub fn policy(&self, platform: Platform) -> Policy {
        policy::build(&self.settings, &self.snapshot, platform, NOW)
    }
}

/// Names of the physical interface and the first tunnel per platform.
pub fn names(platform: Platform) -> (&'static str, &'static str, &'static str) {
    match platform {
        Platform::Macos => ("lo0", "en0", "utun4"),
        Platform::Linux => ("lo", "wlan0", "tun0"),
    }
}

/// A laptop on home Wi-Fi (192.168.1.0/24 and 2001:db8:1::/64) with the VPN
/// up on one tunnel, optionally more tunnels.
pub fn laptop(platform: Platform, extra_tunnels: &[&str]) -> NetworkSnapshot {
    let (lo, phys, tun) = names(platform);
    let mut interfaces = vec![
        iface(platform, lo, &["127.0.0.1/8", "::1/128"]),
        iface(
            platform,
            phys,
            &["192.168.1.20/24", "2001:db8:1::20/64", "fe80::1c:2/64"],
        ),
        iface(platform, tun, &["10.8.0.2/24", "fd00:8::2/64"]),
    ];
    if platform == Platform::Macos {
        interfaces.push(iface(platform, "awdl0", &["fe80::aa:1/64"]));
    } else {
        interfaces.push(iface(platform, "virbr0", &["192.168.122.1/24"]));
    }
    for t in extra_tunnels {
        interfaces.push(iface(platform, t, &["10.9.0.2/24"]));
    }
    NetworkSnapshot {
        interfaces,
        routes: vec![
            route("0.0.0.0/0", Some("192.168.1.1"), phys),
            route("0.0.0.0/1", Some("10.8.0.1"), tun),
            route("128.0.0.0/1", Some("10.8.0.1"), tun),
            route("198.51.100.7/32", Some("192.168.1.1"), phys),
        ],
        dns: vec!["192.168.1.1".parse().unwrap()],
    }
}

pub fn endpoint(s: &str) -> Endpoint {
    s.parse().unwrap()
}

fn on(endpoints: &[&str]) -> Settings {
    Settings {
        kill_switch: true,
        endpoints: endpoints.iter().map(|e| endpoint(e)).collect(),
        ..Settings::default()
    }
}

/// The golden scenarios, the same for both platforms.
pub fn scenarios(platform: Platform) -> Vec<Scenario> {
    let (_, _, _) = names(platform);
    let extra: &[&str] = match platform {
        Platform::Macos => &["utun5", "utun9", "ipsec0"],
        Platform::Linux => &["tun1", "wg0", "ppp0"],
    };
    vec![
        Scenario {
            name: "defaults_one_endpoint",
            settings: on(&["198.51.100.7:1194/udp"]),
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "ipv6_endpoint",
            settings: on(&["198.51.100.7:1194/udp", "[2001:db8:7::1]:443/tcp"]),
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "vpn_root_only",
            settings: Settings {
                vpn_root_only: true,
                ..on(&["198.51.100.7:1194/udp", "[2001:db8:7::1]:443/tcp"])
            },
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "allow_lan",
            settings: Settings {
                allow_lan: true,
                allow_airprint: true,
                allow_dns: true,
                ..on(&["198.51.100.7:1194/udp"])
            },
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "airdrop_on",
            settings: Settings {
                allow_airdrop: true,
                ..on(&["198.51.100.7:1194/udp"])
            },
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "several_tunnels",
            settings: Settings {
                tunnel_patterns: vec!["zt*".into()],
                ..on(&["198.51.100.7:1194/udp", "203.0.113.9:51820/udp"])
            },
            snapshot: laptop(platform, extra),
        },
        Scenario {
            name: "pause_active",
            settings: Settings {
                pause_until: Some(NOW + 300),
                ..on(&["198.51.100.7:1194/udp"])
            },
            snapshot: laptop(platform, &[]),
        },
        Scenario {
            name: "kill_switch_off",
            settings: Settings {
                kill_switch: false,
                ..on(&["198.51.100.7:1194/udp"])
            },
            snapshot: laptop(platform, &[]),
        },
    ]
}

/// `n` distinct endpoints, half IPv4 and half IPv6, for size checks and benches.
pub fn many_endpoints(n: usize) -> Settings {
    let endpoints = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                endpoint(&format!(
                    "10.{}.{}.{}:1194/udp",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255
                ))
            } else {
                endpoint(&format!(
                    "[2001:db8:{:x}::{:x}]:443/tcp",
                    i >> 16,
                    i & 0xffff
                ))
            }
        })
        .collect();
    Settings {
        kill_switch: true,
        endpoints,
        ..Settings::default()
    }
}

/// Compares each `(name, text)` with `tests/golden/{kind}/{name}.{ext}`, or
/// rewrites those files when `UPDATE_GOLDEN` is set; both renderers' golden
/// tests go through here so they fail and update the same way.
pub fn check_golden(kind: &str, ext: &str, rendered: impl IntoIterator<Item = (String, String)>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(kind);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (name, text) in rendered {
        let path = dir.join(format!("{name}.{ext}"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            stale.push(format!("{name} (first difference at line {})", line + 1));
        }
    }
    assert!(
        stale.is_empty(),
        "rendered {kind} differs from the golden files: {stale:?}; \
         if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}
