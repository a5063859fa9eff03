//! Issue 14 §1, "every hole as narrow as its protocol", on the wire: per
//! hole of the kill switch, a local program misuses it (the hole's own
//! port, type or group, towards an "internet" address of the lab's inet
//! namespace) and the tcpdump meter on the client's wire must see nothing
//! of it while Airlock blocks. Next to each, the protocol itself still
//! works through the same rules: a real DHCP lease and renewal from
//! dnsmasq (busybox udhcpc), the kernel's own neighbour discovery of the
//! router, multicast joins reported by the kernel, mDNS, the VPN server.
//!
//! A misuse that puts nothing on the wire proves something only if it
//! would have been seen: every misuse runs first with the kill switch
//! off, where the meter must see it, then again while blocking.
//!
//! The misuser is `airlock-misuse` (src/bin/airlock-misuse/): as nobody
//! (`setpriv --reuid 65534`) for unprivileged ports; for the privileged
//! DHCP ports it binds as root and drops to nobody before it sends (what
//! any macOS program can do, and a Linux one with `CAP_NET_BIND_SERVICE`);
//! ND, MLD and IGMP packets need a raw socket, so those misuses are root's
//! (they show what the rules pass, whoever could make the packet).
//!
//! Run: `cargo test -p airlock-lab --test misuse -- --nocapture --test-threads=1`.

#![cfg(target_os = "linux")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_lab::meter::Captured;
use airlock_lab::{addr, Airlock, Capture, Class, Lab, LabOptions, Ns, Proto};
use airlock_lab::{PacketSummary, CLIENT_WAN, INET_WIRE};
use airlock_shared::status::Protection;
use nix::sys::signal::Signal;

const NOBODY: &str = "65534";

/// How the misuser runs.
#[derive(Clone, Copy, PartialEq)]
enum As {
    /// `setpriv --reuid 65534 ...`: an ordinary program.
    Nobody,
    /// Binds as root (a port below 1024), sends as nobody.
    BindsAsRootSendsAsNobody,
    /// Root with a raw socket.
    RawRoot,
    /// Root with an ordinary socket, as a VPN's daemon sends.
    Root,
}

impl As {
    fn label(self) -> &'static str {
        match self {
            As::Nobody => "nobody",
            As::BindsAsRootSendsAsNobody => "nobody (port bound as root)",
            As::RawRoot => "root, raw socket",
            As::Root => "root",
        }
    }
}

/// One misuse: what it sends, and how to find it on the wire.
struct Misuse {
    hole: &'static str,
    what: String,
    who: As,
    args: Vec<String>,
    /// Matches the packet (its headers, and the frame for what they omit).
    on_wire: Pred,
}

type Pred = Box<dyn Fn(&PacketSummary, &[u8]) -> bool>;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn udp_to(dst: IpAddr, sport: u16, dport: u16) -> Pred {
    Box::new(move |p, _| {
        p.proto == Proto::Udp && p.dst == dst && p.sport == Some(sport) && p.dport == Some(dport)
    })
}

fn icmpv6_to(dst: Ipv6Addr, ty: u8) -> Pred {
    Box::new(move |p, _| {
        p.proto == Proto::Icmpv6 && p.dst == IpAddr::V6(dst) && p.icmp_type == Some(ty)
    })
}

fn igmp_to(dst: Ipv4Addr) -> Pred {
    Box::new(move |p, _| p.proto == Proto::Igmp && p.dst == IpAddr::V4(dst))
}

/// Every misuse, from the client whose link-local address is `ll`.
fn misuses(ll: Ipv6Addr) -> Vec<Misuse> {
    let web4 = IpAddr::V4(addr::WEB_V4);
    let web6 = IpAddr::V6(addr::WEB_V6);
    let vpn = IpAddr::V4(addr::VPN_SERVER);
    // A solicited-node group and a group no one on the lab's link uses,
    // so the kernel's own ND and reports never match these rows.
    let odd_node = "ff02::1:ff00:99".parse().unwrap();
    let odd_group = Ipv4Addr::new(239, 7, 7, 7);
    vec![
        Misuse {
            hole: "DHCPv4",
            what: format!("UDP 68 -> {web4}:67"),
            who: As::BindsAsRootSendsAsNobody,
            args: s(&[
                "udp",
                "--bind",
                "0.0.0.0:68",
                "--to",
                "203.0.113.80:67",
                "--as",
                NOBODY,
            ]),
            on_wire: udp_to(web4, 68, 67),
        },
        Misuse {
            hole: "DHCPv6",
            what: format!("UDP 546 -> [{web6}]:547"),
            who: As::BindsAsRootSendsAsNobody,
            args: s(&[
                "udp",
                "--bind",
                "[::]:546",
                "--to",
                "[2001:db8:80::80]:547",
                "--as",
                NOBODY,
            ]),
            on_wire: udp_to(web6, 546, 547),
        },
        Misuse {
            hole: "DHCPv6",
            what: format!("UDP [{ll}]:546 -> [{web6}]:547"),
            who: As::BindsAsRootSendsAsNobody,
            args: vec![
                "udp".into(),
                "--bind".into(),
                format!("[{ll}]:546"),
                "--dev".into(),
                CLIENT_WAN.into(),
                "--to".into(),
                "[2001:db8:80::80]:547".into(),
                "--as".into(),
                NOBODY.into(),
            ],
            on_wire: Box::new(move |p, _| {
                p.proto == Proto::Udp && p.dst == web6 && p.src == IpAddr::V6(ll)
            }),
        },
        Misuse {
            hole: "mDNS",
            what: format!("UDP 5353 -> {web4}:5353"),
            who: As::Nobody,
            args: s(&["udp", "--bind", "0.0.0.0:5353", "--to", "203.0.113.80:5353"]),
            on_wire: udp_to(web4, 5353, 5353),
        },
        Misuse {
            hole: "mDNS",
            what: format!("UDP 5353 -> [{web6}]:5353"),
            who: As::Nobody,
            args: s(&[
                "udp",
                "--bind",
                "[::]:5353",
                "--to",
                "[2001:db8:80::80]:5353",
            ]),
            on_wire: udp_to(web6, 5353, 5353),
        },
        Misuse {
            hole: "VPN server",
            what: format!("UDP -> {vpn}:1195 (the server's address, another port)"),
            who: As::Nobody,
            args: s(&[
                "udp",
                "--bind",
                "0.0.0.0:40195",
                "--to",
                "198.51.100.7:1195",
            ]),
            on_wire: udp_to(vpn, 40195, 1195),
        },
        Misuse {
            hole: "ND",
            what: format!("NS (hop limit 255) -> {web6}"),
            who: As::RawRoot,
            args: s(&[
                "icmpv6",
                "--type",
                "135",
                "--hops",
                "255",
                "--to",
                "2001:db8:80::80",
            ]),
            on_wire: icmpv6_to(addr::WEB_V6, 135),
        },
        Misuse {
            hole: "ND",
            what: format!("NS (hop limit 64) -> {odd_node}"),
            who: As::RawRoot,
            args: s(&[
                "icmpv6",
                "--type",
                "135",
                "--hops",
                "64",
                "--to",
                "ff02::1:ff00:99",
                "--target",
                "2001:db8:1::99",
                "--dev",
                CLIENT_WAN,
            ]),
            on_wire: icmpv6_to(odd_node, 135),
        },
        Misuse {
            hole: "MLD",
            what: format!("MLDv2 report (hop limit 1) -> {web6}"),
            who: As::RawRoot,
            args: s(&[
                "icmpv6",
                "--type",
                "143",
                "--hops",
                "1",
                "--to",
                "2001:db8:80::80",
                "--target",
                "ff05::7",
            ]),
            on_wire: icmpv6_to(addr::WEB_V6, 143),
        },
        Misuse {
            hole: "MLD",
            what: "MLDv2 report (hop limit 64) -> ff02::16, group ff05::7".into(),
            who: As::RawRoot,
            args: s(&[
                "icmpv6", "--type", "143", "--hops", "64", "--to", "ff02::16", "--target",
                "ff05::7", "--dev", CLIENT_WAN,
            ]),
            // The kernel's own reports carry hop limit 1: ours is the one
            // with 64 (byte 7 of the IPv6 header, after 14 of Ethernet).
            on_wire: Box::new(|p, frame| {
                p.proto == Proto::Icmpv6 && p.icmp_type == Some(143) && frame.get(21) == Some(&64)
            }),
        },
        Misuse {
            hole: "IGMP",
            what: format!("IGMP report (TTL 1) -> {web4}"),
            who: As::RawRoot,
            args: s(&[
                "igmp",
                "--ttl",
                "1",
                "--to",
                "203.0.113.80",
                "--group",
                "239.7.7.7",
            ]),
            on_wire: igmp_to(addr::WEB_V4),
        },
        Misuse {
            hole: "IGMP",
            what: format!("IGMP report (TTL 64) -> {odd_group}"),
            who: As::RawRoot,
            args: s(&[
                "igmp",
                "--ttl",
                "64",
                "--to",
                "239.7.7.7",
                "--dev",
                CLIENT_WAN,
            ]),
            on_wire: igmp_to(odd_group),
        },
    ]
}

fn start_lab() -> Option<Lab> {
    Lab::start_or_skip(LabOptions { dhcp: true })
}

/// The misuser where nobody may run it: a copy in the lab's scratch dir,
/// opened for traversal (the build dir may sit under root's home).
fn misuser(lab: &Lab) -> PathBuf {
    let dir = lab.dir();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let bin = dir.join("airlock-misuse");
    std::fs::copy(env!("CARGO_BIN_EXE_airlock-misuse"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs the misuser in the client namespace; its one line. A misuser
/// that could not even try (exit 2) fails the test.
fn run(lab: &Lab, bin: &Path, who: As, args: &[String]) -> String {
    let bin = bin.display().to_string();
    let mut argv: Vec<&str> = Vec::new();
    if who == As::Nobody {
        argv.extend([
            "setpriv",
            "--reuid",
            NOBODY,
            "--regid",
            NOBODY,
            "--clear-groups",
        ]);
    }
    argv.push(&bin);
    argv.extend(args.iter().map(String::as_str));
    lab.client_exec(&argv)
        .unwrap_or_else(|e| panic!("misuser {argv:?}: {e}"))
        .trim()
        .to_string()
}

/// The capture's packets `pred` matches (the meter's marker left out).
fn wire<'a>(
    capture: &'a Capture,
    pred: &dyn Fn(&PacketSummary, &[u8]) -> bool,
) -> Vec<&'a PacketSummary> {
    assert_eq!(capture.packets.len(), capture.frames.len());
    capture
        .packets
        .iter()
        .zip(&capture.frames)
        .filter(|(c, _): &(&Captured, _)| c.class != Class::Marker)
        .filter_map(|(c, (_, f))| Some((c.summary.as_ref()?, f)))
        .filter(|(p, f)| pred(p, f))
        .map(|(p, _)| p)
        .collect()
}

fn link_local(out: &str) -> Ipv6Addr {
    out.split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no link-local address in {out:?}"))
}

/// The neighbour entry for `ip` on the client's wire, if resolved (has a
/// link-layer address and is not FAILED/INCOMPLETE).
fn resolved(lab: &Lab, ip: Ipv6Addr) -> Option<String> {
    let out = lab
        .client_exec(&[
            "ip",
            "-6",
            "neigh",
            "show",
            &ip.to_string(),
            "dev",
            CLIENT_WAN,
        ])
        .ok()?;
    let line = out.lines().next()?.to_string();
    (line.contains("lladdr") && !line.contains("FAILED") && !line.contains("INCOMPLETE"))
        .then_some(line)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

#[test]
fn every_hole_misused_puts_nothing_on_the_wire_and_its_protocol_still_works() {
    let Some(mut lab) = start_lab() else { return };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    lab.start_dnsmasq().unwrap();
    al.start(&mut lab).unwrap();
    let bin = misuser(&lab);
    let lease = lab
        .dhcp_lease()
        .unwrap_or_else(|e| panic!("first lease: {e}"));
    assert_eq!(lease.address, addr::CLIENT_V4);
    for e in ["198.51.100.7:1194/udp", "[2001:db8:80::80]:7/udp"] {
        al.ctl(&lab, &["endpoints", "add", e]).unwrap();
    }
    let ll = link_local(
        &lab.client_exec(&[
            "ip", "-6", "-o", "addr", "show", "dev", CLIENT_WAN, "scope", "link",
        ])
        .unwrap(),
    );
    let router_ll = link_local(
        &lab.inet_exec(&[
            "ip", "-6", "-o", "addr", "show", "dev", INET_WIRE, "scope", "link",
        ])
        .unwrap(),
    );
    let rows = misuses(ll);

    // Control: with the kill switch off, every misuse is on the wire.
    let meter = lab.meter_start().unwrap();
    let mut said_off = Vec::new();
    for m in &rows {
        said_off.push(run(&lab, &bin, m.who, &m.args));
    }
    let off = meter.stop().unwrap();
    let seen_off: Vec<usize> = rows.iter().map(|m| wire(&off, &*m.on_wire).len()).collect();

    // Blocking.
    al.ctl(&lab, &["enable"]).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(5), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();
    let meter = lab.meter_start().unwrap();
    let mut said_on = Vec::new();
    for m in &rows {
        said_on.push(run(&lab, &bin, m.who, &m.args));
    }

    // The protocols, through the same rules, in the same capture.
    // DHCPv4: a whole new lease while blocking (udhcpc's first exchange
    // goes through packet sockets), then a renewal, which udhcpc sends as
    // unicast through the kernel's UDP stack to the server: the hole's
    // "subnet" destination.
    let t = Instant::now();
    let lease = lab.dhcp_lease().unwrap_or_else(|e| {
        panic!(
            "lease while blocking: {e}\n{}",
            lab.dnsmasq().unwrap().log()
        )
    });
    let lease_took = t.elapsed();
    assert_eq!(lease.address, addr::CLIENT_V4);
    let acks_before = lab.dnsmasq().unwrap().log().matches("DHCPACK(").count();
    let hook = lab.dir().join("udhcpc-hook.sh").display().to_string();
    let udhcpc = lab
        .spawn_in(
            Ns::Client,
            "udhcpc",
            &["udhcpc", "-i", CLIENT_WAN, "-f", "-s", &hook],
        )
        .unwrap();
    let obtained = "obtained from";
    lab.process(udhcpc)
        .unwrap()
        .wait_for_nth_line(obtained, 1, Duration::from_secs(10))
        .unwrap();
    // The hook re-adds the address; the renewal's destination is allowed
    // once the helper has seen it (it re-renders on address changes).
    // (The kernel lists the set in its own order.)
    let names_subnet = |rules: &str| {
        rules
            .lines()
            .any(|l| l.contains("udp sport 68") && l.contains("192.168.1.0/24"))
    };
    let seen = wait_for(
        "the subnet in the DHCPv4 rule",
        Duration::from_secs(5),
        || al.ctl(&lab, &["rules"]).is_ok_and(|r| names_subnet(&r)),
    );
    eprintln!("the helper's DHCPv4 rule names the leased subnet {seen:?} after the lease");
    let t = Instant::now();
    lab.process(udhcpc)
        .unwrap()
        .signal(Signal::SIGUSR1)
        .unwrap();
    let renew = lab
        .process(udhcpc)
        .unwrap()
        .wait_for_nth_line(obtained, 2, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("renewal while blocking: {e}"));
    let renew_took = t.elapsed();
    let udhcpc_log = lab.process(udhcpc).unwrap().output();
    lab.kill_process(udhcpc, Signal::SIGTERM, Duration::from_secs(2));
    let acks = lab.dnsmasq().unwrap().log().matches("DHCPACK(").count() - acks_before;
    eprintln!(
        "DHCPv4 while blocking: lease in {lease_took:?}; renewal in {renew_took:?} ({renew:?} to the line); \
         dnsmasq ACKs since: {acks}"
    );
    assert!(
        acks >= 2,
        "dnsmasq ACKed the lease and the renewal:\n{udhcpc_log}"
    );
    assert!(
        udhcpc_log.contains("sending renew to server") && !udhcpc_log.contains("write:"),
        "the renewal went out as unicast, not refused:\n{udhcpc_log}"
    );

    // DHCPv6: a solicit to the servers' group from the link-local address
    // (the lab has no DHCPv6 server: this shows the hole passes it).
    let solicit = run(
        &lab,
        &bin,
        As::BindsAsRootSendsAsNobody,
        &[
            "udp".into(),
            "--bind".into(),
            format!("[{ll}]:546"),
            "--dev".into(),
            CLIENT_WAN.into(),
            "--to".into(),
            "[ff02::1:2]:547".into(),
            "--as".into(),
            NOBODY.into(),
        ],
    );
    eprintln!("DHCPv6 solicit: {solicit}");

    // ND: the kernel's own, for the router's link-local address (DHCPv6
    // to a link-local server makes it resolve) and its global one (the
    // IPv6 default gateway, through which an IPv6 endpoint is reached).
    lab.client_exec(&["ip", "-6", "neigh", "flush", "dev", CLIENT_WAN])
        .unwrap();
    assert!(resolved(&lab, router_ll).is_none() && resolved(&lab, addr::ROUTER_V6).is_none());
    let to_router_ll = run(
        &lab,
        &bin,
        As::BindsAsRootSendsAsNobody,
        &[
            "udp".into(),
            "--bind".into(),
            format!("[{ll}]:546"),
            "--dev".into(),
            CLIENT_WAN.into(),
            "--to".into(),
            format!("[{router_ll}]:547"),
            "--as".into(),
            NOBODY.into(),
        ],
    );
    let nd_ll = wait_for(
        "ND for the router's link-local address",
        Duration::from_secs(5),
        || resolved(&lab, router_ll).is_some(),
    );
    let to_endpoint6 = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&["udp", "--bind", "[::]:40007", "--to", "[2001:db8:80::80]:7"]),
    );
    let nd_global = wait_for(
        "ND for the router's global address",
        Duration::from_secs(5),
        || resolved(&lab, addr::ROUTER_V6).is_some(),
    );
    eprintln!(
        "ND while blocking: {router_ll} resolved in {nd_ll:?} ({to_router_ll}); {} in {nd_global:?} ({to_endpoint6})\n  {}\n  {}",
        addr::ROUTER_V6,
        resolved(&lab, router_ll).unwrap_or_default(),
        resolved(&lab, addr::ROUTER_V6).unwrap_or_default(),
    );

    // MLD and IGMP: any program joins a group; the kernel reports it.
    let join6 = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&["join", "--group", "ff02::1:3:7", "--dev", CLIENT_WAN]),
    );
    let join4 = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&["join", "--group", "239.1.2.3", "--dev", CLIENT_WAN]),
    );
    // mDNS and the VPN server, as any program.
    let mdns4 = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&[
            "udp",
            "--bind",
            "0.0.0.0:5353",
            "--to",
            "224.0.0.251:5353",
            "--dev",
            CLIENT_WAN,
        ]),
    );
    let mdns6 = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&[
            "udp",
            "--bind",
            "[::]:5353",
            "--to",
            "[ff02::fb]:5353",
            "--dev",
            CLIENT_WAN,
        ]),
    );
    let vpn = run(
        &lab,
        &bin,
        As::Nobody,
        &s(&[
            "udp",
            "--bind",
            "0.0.0.0:40194",
            "--to",
            "198.51.100.7:1194",
        ]),
    );
    eprintln!("{join6}\n{join4}\n{mdns4}\n{mdns6}\n{vpn}");
    let on = meter.stop().unwrap();
    for p in wire(&on, &|p, _| p.sport == Some(68)) {
        eprintln!("DHCPv4 on the wire while blocking: {p}");
    }

    let client4 = IpAddr::V4(addr::CLIENT_V4);
    let works: Vec<(&str, String, usize)> = vec![
        (
            "DHCPv4",
            "lease + unicast renewal 68 -> 192.168.1.1:67".into(),
            wire(&on, &|p, _| {
                p.proto == Proto::Udp
                    && p.src == client4
                    && p.dst == IpAddr::V4(addr::ROUTER_V4)
                    && p.sport == Some(68)
                    && p.dport == Some(67)
            })
            .len(),
        ),
        (
            "DHCPv6",
            "solicit to ff02::1:2".into(),
            wire(&on, &*udp_to("ff02::1:2".parse().unwrap(), 546, 547)).len(),
        ),
        (
            "ND",
            "kernel NS for the router (link-local and global)".into(),
            wire(&on, &|p, _| {
                p.proto == Proto::Icmpv6 && p.icmp_type == Some(135)
            })
            .len(),
        ),
        (
            "MLD",
            "report for ff02::1:3:7".into(),
            wire(&on, &*icmpv6_to("ff02::16".parse().unwrap(), 143)).len(),
        ),
        (
            "IGMP",
            "report for 239.1.2.3".into(),
            wire(&on, &|p, _| {
                p.proto == Proto::Igmp
                    && (p.dst == IpAddr::V4(Ipv4Addr::new(224, 0, 0, 22))
                        || p.dst == IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)))
            })
            .len(),
        ),
        (
            "mDNS",
            "query to 224.0.0.251 and ff02::fb".into(),
            wire(&on, &|p, _| {
                p.proto == Proto::Udp
                    && p.dport == Some(5353)
                    && p.sport == Some(5353)
                    && p.dst.is_multicast()
            })
            .len(),
        ),
        (
            "VPN server",
            "UDP to 198.51.100.7:1194".into(),
            wire(&on, &*udp_to(IpAddr::V4(addr::VPN_SERVER), 40194, 1194)).len(),
        ),
    ];

    eprintln!("\n| hole | misuse | as | kill switch off: packets on wire | blocking: packets on wire | sender saw |");
    eprintln!("|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (i, m) in rows.iter().enumerate() {
        let on_n = wire(&on, &*m.on_wire).len();
        eprintln!(
            "| {} | {} | {} | {} | {} | {} |",
            m.hole,
            m.what,
            m.who.label(),
            seen_off[i],
            on_n,
            said_on[i]
        );
        if seen_off[i] == 0 {
            failures.push(format!(
                "{} {}: not seen even with the kill switch off ({})",
                m.hole, m.what, said_off[i]
            ));
        }
        if on_n != 0 {
            failures.push(format!(
                "{} {}: {on_n} packet(s) on the wire while blocking",
                m.hole, m.what
            ));
        }
    }
    eprintln!("\n| hole | protocol, while blocking | packets on wire | still works |");
    eprintln!("|---|---|---|---|");
    for (hole, what, n) in &works {
        eprintln!(
            "| {hole} | {what} | {n} | {} |",
            if *n > 0 { "yes" } else { "NO" }
        );
        if *n == 0 {
            failures.push(format!("{hole}: {what}: nothing on the wire"));
        }
    }
    eprintln!("\nwhile blocking: {}", on.report());
    assert!(
        failures.is_empty(),
        "{}\nairlockd:\n{}",
        failures.join("\n"),
        al.log(&lab)
    );
}

/// Each row's packets on the wire while `rows` run once.
fn measure(lab: &Lab, bin: &Path, rows: &[Misuse]) -> (Vec<usize>, Vec<String>) {
    let meter = lab.meter_start().unwrap();
    let said: Vec<String> = rows.iter().map(|m| run(lab, bin, m.who, &m.args)).collect();
    let capture = meter.stop().unwrap();
    let seen = rows
        .iter()
        .map(|m| wire(&capture, &*m.on_wire).len())
        .collect();
    (seen, said)
}

fn tcp_syn_to(dst: IpAddr, dport: u16) -> Pred {
    Box::new(move |p, _| {
        p.proto == Proto::Tcp && p.dst == dst && p.dport == Some(dport) && p.is_tcp_syn()
    })
}

/// The options (off by default): AirPrint and LAN, each turned on alone
/// while blocking, must open no more than their protocol; vpn-root-only
/// must close the VPN server's hole to every program but root's. Each row
/// is (misuse: must stay off the wire, protocol: must reach it). "Allow DNS" has no row: while blocking on
/// Linux every DNS query is redirected to Airlock's resolver first
/// (`lab/tests/resolver.rs`), so no port-53 packet of a program reaches
/// the option's rule. AirDrop's interfaces do not exist on Linux.
#[test]
fn the_options_holes_misused_put_nothing_on_the_wire() {
    let Some(mut lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    al.start(&mut lab).unwrap();
    al.ctl(&lab, &["endpoints", "add", "198.51.100.7:1194/udp"])
        .unwrap();
    let bin = misuser(&lab);
    let web4 = IpAddr::V4(addr::WEB_V4);
    let vpn = IpAddr::V4(addr::VPN_SERVER);
    let router = IpAddr::V4(addr::ROUTER_V4);
    let ssdp = IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250));
    let options: Vec<(&str, Vec<Misuse>, Vec<Misuse>)> = vec![
        (
            "vpn-root-only",
            vec![Misuse {
                hole: "VPN server",
                what: format!("UDP -> {vpn}:1194 (the allowed server, as nobody)"),
                who: As::Nobody,
                args: s(&[
                    "udp",
                    "--bind",
                    "0.0.0.0:40196",
                    "--to",
                    "198.51.100.7:1194",
                ]),
                on_wire: udp_to(vpn, 40196, 1194),
            }],
            vec![Misuse {
                hole: "VPN server",
                what: format!("UDP -> {vpn}:1194 (as root, like the VPN's daemon)"),
                who: As::Root,
                args: s(&[
                    "udp",
                    "--bind",
                    "0.0.0.0:40197",
                    "--to",
                    "198.51.100.7:1194",
                ]),
                on_wire: udp_to(vpn, 40197, 1194),
            }],
        ),
        (
            "allow-airprint",
            vec![Misuse {
                hole: "AirPrint",
                what: format!("TCP -> {web4}:631"),
                who: As::Nobody,
                args: s(&["tcp", "--to", "203.0.113.80:631"]),
                on_wire: tcp_syn_to(web4, 631),
            }],
            vec![Misuse {
                hole: "AirPrint",
                what: format!("TCP -> {router}:631 (a printer on the LAN)"),
                who: As::Nobody,
                args: s(&["tcp", "--to", "192.168.1.1:631"]),
                on_wire: tcp_syn_to(router, 631),
            }],
        ),
        (
            "allow-lan",
            vec![Misuse {
                hole: "LAN",
                what: format!("UDP -> {web4}:9"),
                who: As::Nobody,
                args: s(&["udp", "--bind", "0.0.0.0:40009", "--to", "203.0.113.80:9"]),
                on_wire: udp_to(web4, 40009, 9),
            }],
            vec![
                Misuse {
                    hole: "LAN",
                    what: format!("UDP -> {router}:9"),
                    who: As::Nobody,
                    args: s(&["udp", "--bind", "0.0.0.0:40010", "--to", "192.168.1.1:9"]),
                    on_wire: udp_to(router, 40010, 9),
                },
                Misuse {
                    hole: "LAN",
                    what: format!("SSDP -> {ssdp}:1900"),
                    who: As::Nobody,
                    args: s(&[
                        "udp",
                        "--bind",
                        "0.0.0.0:40011",
                        "--to",
                        "239.255.255.250:1900",
                        "--dev",
                        CLIENT_WAN,
                    ]),
                    on_wire: udp_to(ssdp, 40011, 1900),
                },
            ],
        ),
    ];
    eprintln!("\n| option | misuse / protocol | kill switch off: on wire | option on, blocking: on wire | sender saw |");
    eprintln!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (option, misuse, protocol) in &options {
        al.ctl(&lab, &["disable"]).unwrap();
        let (off, _) = measure(&lab, &bin, misuse);
        al.ctl(&lab, &["set", option, "on"]).unwrap();
        al.ctl(&lab, &["enable"]).unwrap();
        al.wait_status(&lab, "blocking", Duration::from_secs(5), |st| {
            st.protection == Protection::Blocking
        })
        .unwrap();
        let (on, said) = measure(&lab, &bin, misuse);
        let (works, said_works) = measure(&lab, &bin, protocol);
        for (i, m) in misuse.iter().enumerate() {
            eprintln!(
                "| {option} | misuse: {} | {} | {} | {} |",
                m.what, off[i], on[i], said[i]
            );
            if off[i] == 0 {
                failures.push(format!(
                    "{option} {}: not seen with the kill switch off",
                    m.what
                ));
            }
            if on[i] != 0 {
                failures.push(format!(
                    "{option} {}: {} on the wire while blocking",
                    m.what, on[i]
                ));
            }
        }
        for (i, m) in protocol.iter().enumerate() {
            eprintln!(
                "| {option} | protocol: {} | - | {} | {} |",
                m.what, works[i], said_works[i]
            );
            if works[i] == 0 {
                failures.push(format!(
                    "{option} {}: the protocol did not reach the wire",
                    m.what
                ));
            }
        }
        al.ctl(&lab, &["set", option, "off"]).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{}\nairlockd:\n{}",
        failures.join("\n"),
        al.log(&lab)
    );
}

/// vpn-root-only against the real OpenVPN client, which runs as root:
/// it still connects through the kill switch, and traffic then flows in
/// the tunnel, while an ordinary program's packets to the same server and
/// port stay off the wire.
#[test]
fn vpn_root_only_still_lets_openvpn_connect() {
    let Some(mut lab) = Lab::start_or_skip(LabOptions::default()) else {
        return;
    };
    let mut al = Airlock::for_lab(&lab).unwrap_or_else(|e| panic!("{e}"));
    al.start(&mut lab).unwrap();
    lab.start_vpn_server().unwrap();
    for args in [
        &["endpoints", "add", "198.51.100.7:1194/udp"][..],
        &["enable"],
    ] {
        al.ctl(&lab, args).unwrap();
    }
    let bin = misuser(&lab);
    let vpn = IpAddr::V4(addr::VPN_SERVER);
    let nobody = Misuse {
        hole: "VPN server",
        what: format!("UDP -> {vpn}:1194 as nobody"),
        who: As::Nobody,
        args: s(&[
            "udp",
            "--bind",
            "0.0.0.0:40198",
            "--to",
            "198.51.100.7:1194",
        ]),
        on_wire: udp_to(vpn, 40198, 1194),
    };
    // The hole this option closes: while blocking, without it, any
    // program reaches the allowed server.
    let (open, _) = measure(&lab, &bin, std::slice::from_ref(&nobody));
    assert_eq!(
        open,
        [1],
        "without vpn-root-only nobody's packet should pass"
    );
    al.ctl(&lab, &["set", "vpn-root-only", "on"]).unwrap();
    let meter = lab.meter_start().unwrap();
    let connect = lab
        .connect_vpn("tun0")
        .unwrap_or_else(|e| panic!("OpenVPN did not connect: {e}\n{}", lab.vpn_client_log()));
    let (st, _) = al
        .wait_status(&lab, "protected", Duration::from_secs(5), |st| {
            st.protection == Protection::Protected
        })
        .unwrap();
    assert!(st.options.vpn_root_only);
    // doctor finds the daemon in the process table and its user.
    let doctor = al.ctl(&lab, &["doctor"]).unwrap_or_else(|e| e.to_string());
    let line = doctor
        .lines()
        .find(|l| l.contains("vpn-root-only"))
        .unwrap_or_else(|| panic!("doctor says nothing of vpn-root-only:\n{doctor}"));
    assert!(
        line.starts_with("ok") && line.contains("OpenVPN (openvpn) runs as root"),
        "{line}"
    );
    let said = run(&lab, &bin, nobody.who, &nobody.args);
    let capture = meter.stop().unwrap();
    let vpn_packets = wire(&capture, &|p, _| {
        p.dst == vpn && p.dport == Some(addr::VPN_PORT) && p.sport != Some(40198)
    })
    .len();
    let misused = wire(&capture, &*nobody.on_wire).len();
    eprintln!(
        "vpn-root-only: OpenVPN connected in {connect:.0?} ({vpn_packets} of its packets on the wire); {}: {misused} on the wire ({said})",
        nobody.what
    );
    assert!(vpn_packets > 0, "no OpenVPN packet on the wire");
    assert_eq!(misused, 0, "{} reached the wire", nobody.what);
    lab.kill_vpn_client();
}
