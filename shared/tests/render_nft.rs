//! The nft renderer: golden files, the 10k-endpoint size, and (as root,
//! in network namespaces of their own) nft's parser, the kernel, and the
//! packets on the wire held against `Policy::decides`. The namespace
//! tests are Linux only; the rest runs everywhere.

mod common;
#[cfg(target_os = "linux")]
#[path = "render_nft/lab.rs"]
mod lab;
#[cfg(target_os = "linux")]
#[path = "render_nft/wire.rs"]
mod wire;

use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, Policy};
use airlock_shared::render::nft::{render, render_guard};

use common::NOW;
#[cfg(target_os = "linux")]
use lab::Netns;

fn linux_policies() -> Vec<(&'static str, Policy)> {
    common::scenarios(Platform::Linux)
        .into_iter()
        .map(|s| (s.name, s.policy(Platform::Linux)))
        .collect()
}

fn many(n: usize) -> Policy {
    let snapshot = common::laptop(Platform::Linux, &[]);
    policy::build(&common::many_endpoints(n), &snapshot, Platform::Linux, NOW)
}

#[test]
fn golden_files() {
    common::check_golden(
        "nft",
        "nft",
        linux_policies()
            .into_iter()
            .map(|(name, policy)| (name.to_string(), render(&policy))),
    );
}

/// The tamper guard as users find it in `nft list ruleset`: the main
/// table's rules under another name, owner flag, later priorities. Held
/// to the main table's text line by line: a change to one that the other
/// does not follow fails here.
#[test]
fn the_guard_is_the_main_table_renamed_and_owned() {
    let (_, policy) = linux_policies().remove(0);
    let guard = render_guard(&policy);
    common::check_golden("nft", "nft", [("guard".to_string(), guard.clone())]);
    // The definition: the last `table NAME {`; the guard's opens with its
    // flag and a blank line.
    let body = |text: &str, table: &str| -> Vec<String> {
        let start = text
            .rfind(&format!("\ntable {table} {{\n"))
            .unwrap_or_else(|| panic!("no definition of {table}"));
        text[start..]
            .replacen("\tflags owner\n\n", "", 1)
            .lines()
            .map(|l| {
                l.replace("airlock_guard", "airlock")
                    .replace("priority filter + 1", "priority filter")
                    .replace("priority -99", "priority -100")
            })
            .collect()
    };
    assert_eq!(
        body(&guard, "inet airlock_guard"),
        body(&render(&policy), "inet airlock")
    );
}

/// The text between `chain NAME {` and its closing `}`.
fn chain<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("\tchain {name} {{\n"))
        .unwrap_or_else(|| panic!("no chain {name}"));
    let end = text[start..].find("\n\t}").expect("unclosed chain") + start;
    &text[start..end]
}

#[test]
fn nothing_on_the_way_out_trusts_connection_state() {
    // TunnelVision: an accepted `ct state established` on output would let
    // an old connection follow a new route out of the physical interface.
    for (name, policy) in linux_policies() {
        let text = render(&policy);
        if !policy.enforce {
            continue;
        }
        for c in ["outbound", "output", "forward"] {
            assert!(!chain(&text, c).contains("ct state"), "{name}: chain {c}");
        }
        assert!(chain(&text, "inbound").contains("ct state established,related return"));
    }
}

#[test]
fn every_comment_fits_nft_and_hostile_reasons_stay_inside_quotes() {
    let mut policy = common::scenarios(Platform::Linux)[0].policy(Platform::Linux);
    policy.rules[0].why = format!("say \"{}\"\nend", "x".repeat(300));
    let text = render(&policy);
    for line in text.lines().filter(|l| l.contains("comment \"")) {
        let inner = line.split("comment \"").nth(1).unwrap();
        assert_eq!(inner.matches('"').count(), 1, "{line}");
        assert!(inner.len() - 1 <= 128, "{line}");
    }
}

/// Rules that can match nothing: no interface of their kind, or only
/// addresses of the other family. nft has no empty-set match, so the
/// renderer must leave them out visibly rather than emit broken text.
fn degenerate() -> Policy {
    use airlock_shared::network::classify::InterfaceKind;
    use airlock_shared::policy::{Direction, Family, IfaceSet, Interfaces, Remote};
    let mut policy = common::scenarios(Platform::Linux)[0].policy(Platform::Linux);
    let template = policy.rules[0].clone();
    let mut no_ifaces = template.clone();
    no_ifaces.interfaces = Interfaces::Only(IfaceSet {
        kind: InterfaceKind::PeerToPeer,
        patterns: vec![],
        present: vec![],
    });
    no_ifaces.why = "no such interfaces".into();
    let mut wrong_family = template;
    wrong_family.direction = Direction::Out;
    wrong_family.interfaces = Interfaces::Any;
    wrong_family.family = Some(Family::V4);
    wrong_family.remote = Remote::Nets(vec!["2001:db8::/32".parse().unwrap()]);
    wrong_family.why = "only IPv6 nets on an IPv4 rule".into();
    policy.rules.insert(0, no_ifaces);
    policy.rules.insert(0, wrong_family);
    policy
}

#[test]
fn rules_that_match_nothing_are_shown_but_not_loaded() {
    let text = render(&degenerate());
    for why in ["no such interfaces", "only IPv6 nets on an IPv4 rule"] {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(why)).collect();
        assert_eq!(lines.len(), 1, "{why}: {lines:?}");
        assert!(
            lines[0].trim_start().starts_with("# not loaded"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn ten_thousand_endpoints_grow_the_text_linearly() {
    let base = render(&many(0)).len();
    let text = render(&many(10_000));
    assert_eq!(text.matches(" . udp . 1194").count(), 5_000);
    assert_eq!(text.matches(" . tcp . 443").count(), 5_000);
    let per_endpoint = (text.len() - base) / 10_000;
    assert!(per_endpoint < 64, "{per_endpoint} bytes per endpoint");
}

#[cfg(target_os = "linux")]
#[test]
fn nft_accepts_every_scenario_in_check_mode() {
    let Some(ns) = Netns::new("check") else {
        return;
    };
    let mut cases = linux_policies();
    cases.push(("many_endpoints_10000", many(10_000)));
    let mut hostile = cases[0].1.clone();
    hostile.rules[0].why = format!("say \"{}\"", "é".repeat(200));
    cases.push(("hostile_comment", hostile));
    cases.push(("degenerate", degenerate()));
    for (name, policy) in cases {
        let out = ns.nft(&["-c", "-f", "-"], &render(&policy));
        assert!(out.ok, "{name}: nft -c rejected it:\n{}", out.stderr);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_kernel_loads_replaces_and_removes_the_table() {
    let Some(ns) = Netns::new("load") else { return };
    let scenarios = linux_policies();
    let get = |n: &str| scenarios.iter().find(|(s, _)| *s == n).unwrap().1.clone();
    let policy = get("ipv6_endpoint");
    let text = render(&policy);
    for attempt in ["absent", "present"] {
        let out = ns.nft(&["-f", "-"], &text);
        assert!(out.ok, "load with the table {attempt}: {}", out.stderr);
    }
    let want: Vec<String> = policy
        .endpoints
        .iter()
        .map(|e| format!("{} . {} . {}", e.address, e.protocol, e.port))
        .collect();
    let mut got = ns.set_elements("endpoints_v4");
    got.extend(ns.set_elements("endpoints_v6"));
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);

    let listing = ns.nft(&["list", "table", "inet", "airlock"], "");
    assert!(listing.ok, "{}", listing.stderr);
    for c in ["inbound", "outbound", "input", "output", "forward"] {
        assert_eq!(
            listing.stdout.matches(&format!("\tchain {c} {{")).count(),
            1,
            "chain {c} once after two loads:\n{}",
            listing.stdout
        );
    }
    for hook in ["input", "output", "forward"] {
        assert!(listing.stdout.contains(&format!(
            "type filter hook {hook} priority filter; policy drop;"
        )));
    }
    assert!(
        ns.nft(&["list", "counter", "inet", "airlock", "blocked_out"], "")
            .ok
    );

    // A pause is a timed set element in the kernel.
    let out = ns.nft(&["-f", "-"], &render(&get("pause_active")));
    assert!(out.ok, "{}", out.stderr);
    let paused = ns.nft(&["list", "set", "inet", "airlock", "paused"], "");
    assert!(
        paused.stdout.contains("ipv4 timeout 5m"),
        "{}",
        paused.stdout
    );
    assert!(
        paused.stdout.contains("ipv6 timeout 5m"),
        "{}",
        paused.stdout
    );

    // Off removes the table, and works again when it is already gone.
    let off = render(&get("kill_switch_off"));
    for attempt in ["present", "absent"] {
        let out = ns.nft(&["-f", "-"], &off);
        assert!(out.ok, "off with the table {attempt}: {}", out.stderr);
        assert!(!ns.nft(&["list", "table", "inet", "airlock"], "").ok);
    }
}

/// The laptop with its VPN down and the kill switch on: Blocking, the one
/// state in which DNS is caught for Airlock's resolver.
fn blocking() -> Policy {
    let mut snapshot = common::laptop(Platform::Linux, &[]);
    snapshot.interfaces.retain(|i| i.name != "tun0");
    // The network names an IPv6 resolver too: the helper's marked queries
    // may reach it (`ip6 daddr`), like the IPv4 one.
    snapshot.dns.push("2001:db8:1::53".parse().unwrap());
    let settings = airlock_shared::settings::Settings {
        kill_switch: true,
        endpoints: vec![common::endpoint("198.51.100.7:1194/udp")],
        ..Default::default()
    };
    policy::build(&settings, &snapshot, Platform::Linux, NOW)
}

#[test]
fn blocking_catches_dns_for_the_resolver_golden() {
    let policy = blocking();
    assert!(policy.dns_catch.is_some());
    // With the tunnel up, or paused, DNS is left alone.
    assert!(linux_policies().iter().all(|(_, p)| p.dns_catch.is_none()));
    common::check_golden(
        "nft",
        "nft",
        [("blocking_resolver".to_string(), render(&policy))],
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_kernel_loads_the_dns_redirect() {
    let Some(ns) = Netns::new("dnsredir") else {
        return;
    };
    let out = ns.nft(&["-f", "-"], &render(&blocking()));
    assert!(out.ok, "{}", out.stderr);
    let listing = ns.nft(&["list", "chain", "inet", "airlock", "dns_redirect"], "");
    assert!(listing.ok, "{}", listing.stderr);
    assert!(
        listing
            .stdout
            .contains("type nat hook output priority -100"),
        "{}",
        listing.stdout
    );
    assert!(
        listing.stdout.contains("redirect to :5354"),
        "{}",
        listing.stdout
    );
    let outbound = ns.nft(&["list", "chain", "inet", "airlock", "outbound"], "");
    assert!(
        outbound
            .stdout
            .contains("meta mark 0x0000414c ip daddr 192.168.1.1"),
        "{}",
        outbound.stdout
    );
}
