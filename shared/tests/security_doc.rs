//! `docs/security.md` is the spec of what passes the kill switch and why.
//! Every rule the policy builder can produce carries a one-line `why`, the
//! same line a user reads next to the rule in the ruleset; the spec must
//! quote each of them (in backticks) so a line seen in the ruleset leads
//! straight to the section that explains it. A rule added or reworded
//! without updating the spec fails here.

mod common;

use std::collections::BTreeSet;

use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::settings::Settings;
use common::{endpoint, laptop, NOW};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/security.md");

const PLATFORMS: [Platform; 2] = [Platform::Macos, Platform::Linux];

/// The four user options, in the order of the bits in [`settings`].
const OPTIONS: [&str; 4] = ["allow_lan", "allow_airdrop", "allow_airprint", "allow_dns"];

/// Settings with the kill switch on, the options whose bits are set in
/// `options`, with or without VPN endpoints, paused or not.
fn settings(options: u8, with_endpoints: bool, paused: bool) -> Settings {
    Settings {
        kill_switch: true,
        allow_lan: options & 1 != 0,
        allow_airdrop: options & 2 != 0,
        allow_airprint: options & 4 != 0,
        allow_dns: options & 8 != 0,
        pause_until: paused.then_some(NOW + 300),
        endpoints: if with_endpoints {
            vec![
                endpoint("198.51.100.7:1194/udp"),
                endpoint("[2001:db8:7::1]:443/tcp"),
            ]
        } else {
            Vec::new()
        },
        tunnel_patterns: vec!["zt*".into()],
    }
}

/// Networks to build for: the shared laptop (loopback, Wi-Fi, a tunnel,
/// AWDL or a VM bridge, a resolver), the same with more tunnels, and a
/// machine whose network could not be read at all.
fn snapshots(platform: Platform) -> Vec<NetworkSnapshot> {
    let extra: &[&str] = match platform {
        Platform::Macos => &["utun5", "ipsec0"],
        Platform::Linux => &["wg0", "ppp0"],
    };
    vec![
        laptop(platform, &[]),
        laptop(platform, extra),
        NetworkSnapshot::default(),
    ]
}

/// Every distinct `why` of the policies built for `platform` from each
/// settings in `all`, on each snapshot.
fn whys(platform: Platform, all: &[Settings]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for snapshot in snapshots(platform) {
        for s in all {
            let policy = airlock_shared::policy::build(s, &snapshot, platform, NOW);
            out.extend(policy.rules.into_iter().map(|r| r.why));
        }
    }
    out
}

/// Every combination: options on and off, endpoints or none, paused or
/// not, and the kill switch off (which has no rules, but must not panic).
fn every_settings() -> Vec<Settings> {
    let mut all = vec![Settings {
        kill_switch: false,
        ..settings(0b1111, true, false)
    }];
    for options in 0..16u8 {
        for with_endpoints in [false, true] {
            for paused in [false, true] {
                all.push(settings(options, with_endpoints, paused));
            }
        }
    }
    all
}

#[test]
fn every_rule_why_is_quoted_in_the_security_spec() {
    let doc =
        std::fs::read_to_string(DOC_PATH).unwrap_or_else(|e| panic!("cannot read {DOC_PATH}: {e}"));
    let all = every_settings();
    let mut collected = BTreeSet::new();
    for platform in PLATFORMS {
        collected.extend(whys(platform, &all));
    }
    assert!(
        collected.len() > 10,
        "only {} distinct rule reasons were collected, too few for the test to mean \
         anything: {collected:#?}",
        collected.len()
    );
    let missing: Vec<&String> = collected
        .iter()
        .filter(|why| !doc.contains(&format!("`{why}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/security.md does not quote these rule reasons (each must appear verbatim, \
         in backticks, in the section that explains the rule):\n{}",
        missing
            .iter()
            .map(|w| format!("  `{w}`"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Guards the test above against passing because the settings it builds
/// stopped reaching a rule: each option must add at least one rule the
/// option-less policy lacks (AirDrop only on macOS, where its interfaces
/// exist).
#[test]
fn each_option_adds_a_rule_so_its_reason_is_covered() {
    for platform in PLATFORMS {
        let base = whys(platform, &[settings(0, true, false)]);
        for (bit, name) in OPTIONS.iter().enumerate() {
            if *name == "allow_airdrop" && platform == Platform::Linux {
                continue;
            }
            let with = whys(platform, &[settings(1 << bit, true, false)]);
            assert!(
                with.difference(&base).next().is_some(),
                "{platform:?}: turning on {name} added no rule, so its reason is not \
                 checked against docs/security.md"
            );
        }
    }
}
