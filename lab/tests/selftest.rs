//! `airlockctl selftest` against the real kernel: the real airlockd and
//! nft rules in the client namespace, the self-test run as an
//! unprivileged user (nobody) the way a user would run it, and the leak
//! meter on the client's wire.
//!
//! - Blocking: every attempt from eth0 (TCP, UDP, DNS; IPv4 and IPv6) to
//!   the lab's real web server is refused by Airlock, the self-test says
//!   so and exits 0, and none of its packets reach the wire.
//! - With the VPN up: the attempts through the tunnel reach the web
//!   server (not refused by Airlock), those outside it are still refused.
//! - Kill switch off: nothing can be proven; exit 1, and it says why.
//! - A hole opened on purpose (the lab's web server allowed as if it were
//!   a VPN server): exit 1, and the one failing check is named.
//!
//! Needs root (namespaces, nft, tcpdump, openvpn); skips otherwise.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use airlock_lab::{addr, Airlock, Binaries, Lab, LabOptions, Ns};
use airlock_shared::selftest::Report;
use airlock_shared::status::Protection;

/// nobody: the self-test needs no privilege, and must not use any.
const NOBODY: &str = "65534";

/// Where nobody can run airlockctl and reach the socket: a copy of the
/// binary in the lab's scratch dir, which is opened for traversal (the
/// build dir may sit under root's home).
fn unprivileged_ctl(lab: &Lab, bins: &Binaries) -> PathBuf {
    let dir = lab.dir();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let ctl = dir.join("airlockctl-selftest");
    std::fs::copy(&bins.airlockctl, &ctl).unwrap();
    std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    ctl
}

fn selftest(lab: &Lab, ctl: &Path, socket: &Path, extra: &[&str]) -> (Output, Duration) {
    let (ctl, socket) = (ctl.display().to_string(), socket.display().to_string());
    let (v4, v6, port) = (
        addr::WEB_V4.to_string(),
        addr::WEB_V6.to_string(),
        addr::WEB_TCP_PORT.to_string(),
    );
    let mut argv = vec![
        "setpriv",
        "--reuid",
        NOBODY,
        "--regid",
        NOBODY,
        "--clear-groups",
        ctl.as_str(),
        "--socket",
        socket.as_str(),
        "selftest",
        "--target-v4",
        v4.as_str(),
        "--target-v6",
        v6.as_str(),
        "--port",
        port.as_str(),
        "--timeout-ms",
        "1000",
    ];
    argv.extend_from_slice(extra);
    let start = Instant::now();
    let out = lab
        .command(Ns::Client, &argv)
        .output()
        .expect("run airlockctl selftest");
    (out, start.elapsed())
}

fn report(out: &Output) -> Report {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_self_test_proves_the_kill_switch_and_leaks_nothing_itself() {
    let Some(mut lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    let bins = Binaries::locate().unwrap_or_else(|e| panic!("{e}"));
    let ctl = unprivileged_ctl(&lab, &bins);
    let mut al = Airlock::new(&lab, bins);
    al.start(&mut lab).unwrap();

    // Off: nothing to prove, and it must not pretend.
    let (out, _) = selftest(&lab, &ctl, &al.socket, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "kill switch off is not a pass");
    let r = report(&out);
    assert!(!r.pass && r.checks.is_empty());
    assert!(r.cannot.unwrap().contains("off"));

    // Blocking.
    al.ctl(&lab, &["endpoints", "add", "198.51.100.7:1194/udp"])
        .unwrap();
    al.ctl(&lab, &["enable"]).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();
    let meter = lab.meter_start().unwrap();
    let (out, took) = selftest(&lab, &ctl, &al.socket, &["--json"]);
    let capture = meter.stop().unwrap();
    let r = report(&out);
    eprintln!(
        "blocking: {} checks in {took:.2?}; wire: {}",
        r.checks.len(),
        capture.report()
    );
    for c in &r.checks {
        eprintln!(
            "  {} {}: {}",
            if c.pass { "pass" } else { "FAIL" },
            c.what,
            c.words
        );
    }
    assert_eq!(out.status.code(), Some(0), "{r:?}\n{}", al.log(&lab));
    assert!(r.pass);
    let whats: Vec<&str> = r.checks.iter().map(|c| c.what.as_str()).collect();
    for probe in [
        "TCP over IPv4",
        "UDP over IPv4",
        "TCP over IPv6",
        "UDP over IPv6",
    ] {
        assert!(
            whats
                .iter()
                .any(|w| w.starts_with(probe) && w.contains(" on eth0 ")),
            "no {probe} check from eth0: {whats:?}"
        );
    }
    for probe in ["DNS over IPv4", "DNS over IPv6"] {
        assert!(
            whats.iter().any(|w| w.starts_with(probe)),
            "no {probe} check: {whats:?}"
        );
    }
    assert!(
        !whats
            .iter()
            .any(|w| w.contains(" on virbr1 ") || w.contains(" on lo ")),
        "only physical interfaces are tested: {whats:?}"
    );
    let dns = r
        .checks
        .iter()
        .find(|c| c.what.starts_with("DNS over IPv4"))
        .unwrap();
    assert!(
        dns.words.contains("resolver"),
        "DNS while blocking is answered by Airlock's resolver: {}",
        dns.words
    );
    assert!(
        capture.leaks.is_empty(),
        "the self-test's own packets reached the wire: {}",
        capture.report()
    );

    // A hole opened on purpose: the web server let through as if it were
    // a VPN server. The self-test must fail and name exactly that check.
    al.ctl(&lab, &["endpoints", "add", "203.0.113.80:80/tcp"])
        .unwrap();
    let (out, _) = selftest(&lab, &ctl, &al.socket, &["--json"]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "a hole is not a pass: {r:?}");
    let failed: Vec<&str> = r
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.what.as_str())
        .collect();
    assert_eq!(
        failed,
        ["TCP over IPv4 on eth0 to 203.0.113.80:80"],
        "{r:?}"
    );
    let hole = r.checks.iter().find(|c| !c.pass).unwrap();
    assert!(hole.words.contains("hole"), "{}", hole.words);
    let (out, _) = selftest(&lab, &ctl, &al.socket, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL  TCP over IPv4 on eth0 to 203.0.113.80:80: got through")
            && text
                .lines()
                .last()
                .unwrap()
                .starts_with("NOT PROTECTED: 1 of "),
        "{text}"
    );
    al.ctl(&lab, &["endpoints", "remove", "203.0.113.80:80/tcp"])
        .unwrap();

    // The tunnel up: inside it the attempts reach the web server.
    lab.start_vpn_server().unwrap();
    lab.connect_vpn("tun0").unwrap();
    al.wait_status(&lab, "protected", Duration::from_secs(10), |st| {
        st.protection == Protection::Protected
    })
    .unwrap();
    let (out, took) = selftest(&lab, &ctl, &al.socket, &["--json"]);
    let r = report(&out);
    eprintln!("protected: {} checks in {took:.2?}", r.checks.len());
    for c in &r.checks {
        eprintln!(
            "  {} {}: {}",
            if c.pass { "pass" } else { "FAIL" },
            c.what,
            c.words
        );
    }
    assert_eq!(out.status.code(), Some(0), "{r:?}");
    let inside: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.what.contains(" on tun0 "))
        .collect();
    assert!(!inside.is_empty(), "no attempt through the tunnel");
    let tcp_inside = inside
        .iter()
        .find(|c| c.what.starts_with("TCP over IPv4"))
        .expect("TCP through the tunnel");
    assert!(
        tcp_inside.words.contains("it got through"),
        "the web server is reachable through the tunnel: {}",
        tcp_inside.words
    );

    // The text form says the verdict in words.
    let (out, _) = selftest(&lab, &ctl, &al.socket, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().last().unwrap().starts_with("Protected: all "),
        "{text}"
    );
}
