//! The nft driver against the real kernel, inside network namespaces this
//! test creates (and always deletes): load, read back, replace, tamper
//! detection, remove, counters, and cutting conntrack entries a stricter
//! policy forbids. Needs root, `nft` and `conntrack`; skips with a message
//! without them.

#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};

use airlock_helper::firewall::nft::{self, NftConfig, NftDriver};
use airlock_helper::firewall::{Backend, Problem};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::firewall_kind::FirewallKind;
use airlock_shared::network::NetworkSnapshot;
use airlock_shared::platform::Platform;
use airlock_shared::policy;
use airlock_shared::settings::Settings;
use airlock_shared::status::{Guard, GuardGap};
use airlock_test_support::network;

mod support;
use support::{sh, Netns};

/// Loopback, replies, and everything on eth0: the "before" state.
const OPEN: &str = r#"table inet airlock
delete table inet airlock
table inet airlock {
	counter blocked_in {}
	counter blocked_out {}
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept comment "loopback"
		ct state established,related accept comment "replies"
		iifname "eth0" accept comment "test: LAN allowed"
		counter name blocked_in drop
	}
	chain output {
		type filter hook output priority filter; policy drop;
		oifname "lo" accept comment "loopback"
		oifname "eth0" accept comment "test: LAN allowed"
		counter name blocked_out reject
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		counter name blocked_out drop
	}
}
"#;

/// Loopback, replies and the "VPN server" 10.200.1.2:1194/tcp only.
const STRICT: &str = r#"table inet airlock
delete table inet airlock
table inet airlock {
	counter blocked_in {}
	counter blocked_out {}
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept comment "loopback"
		ct state established,related accept comment "replies"
		counter name blocked_in drop
	}
	chain output {
		type filter hook output priority filter; policy drop;
		oifname "lo" accept comment "loopback"
		ip daddr 10.200.1.2 tcp dport 1194 accept comment "VPN server"
		counter name blocked_out reject
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		counter name blocked_out drop
	}
}
"#;

fn ready() -> bool {
    support::ready_with(&["nft", "conntrack", "ip"])
}

fn driver(ns: &Netns) -> NftDriver {
    NftDriver::new(NftConfig {
        netns: Some(ns.0.clone()),
        ..NftConfig::default()
    })
}

/// Two namespaces joined by a veth pair named eth0 on both sides:
/// "laptop" 10.200.1.1/24, "server" 10.200.1.2/24.
fn laptop_and_server() -> (Netns, Netns) {
    let laptop = Netns::new();
    let server = Netns::new();
    sh(&[
        "ip", "-n", &laptop.0, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
        "netns", &server.0,
    ]);
    for (ns, addr) in [(&laptop, "10.200.1.1/24"), (&server, "10.200.1.2/24")] {
        ns.exec(&["ip", "addr", "add", addr, "dev", "eth0"]);
        ns.exec(&["ip", "link", "set", "eth0", "up"]);
    }
    for ns in [&laptop, &server] {
        ns.wait_carrier("eth0");
    }
    (laptop, server)
}

#[test]
fn load_replace_tamper_remove() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    let nft = driver(&ns);
    assert!(!nft.in_process(), "another namespace is the command's job");
    load_replace_tamper_remove_with(&ns, nft);
}

/// The same, with the helper's own path: libnftables in-process, from a
/// thread inside the namespace (as airlockd runs inside it).
#[test]
fn load_replace_tamper_remove_in_process() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    ns.within(|| {
        let nft = NftDriver::new(NftConfig::default());
        assert!(nft.in_process(), "libnftables did not open");
        load_replace_tamper_remove_with(&ns, nft);
    });
}

/// A driver made in one namespace and used from a thread in another acts
/// where it is used (the command), never in the namespace it was made in:
/// the library's socket belongs to its birthplace, here the host's.
#[test]
fn the_library_never_acts_outside_its_own_namespace() {
    if !ready() {
        return;
    }
    let host_has_table = || {
        std::process::Command::new("nft")
            .args(["list", "table", "inet", "airlock"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if host_has_table() {
        eprintln!("SKIPPED: this host already holds an `inet airlock` table");
        return;
    }
    let ns = Netns::new();
    let mut nft = NftDriver::new(NftConfig::default());
    ns.within(|| nft.load(STRICT).unwrap());
    let leaked_to_host = host_has_table();
    if leaked_to_host {
        // Never leave the machine running the tests blocked.
        let _ = std::process::Command::new("nft")
            .args(["delete", "table", "inet", "airlock"])
            .status();
    }
    assert!(!leaked_to_host, "the rules went into the host's kernel");
    assert!(ns.table_present(), "the rules are not in the namespace");
}

/// A library that cannot be opened: the command does the work instead.
#[test]
fn without_the_library_the_command_is_used() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    ns.within(|| {
        let mut nft = NftDriver::new(NftConfig {
            library: Some("/nonexistent/libnftables.so.1".into()),
            ..NftConfig::default()
        });
        assert!(!nft.in_process());
        nft.load(STRICT).unwrap();
        assert!(ns.table_present());
        nft.remove().unwrap();
        assert!(!ns.table_present());
    });
}

fn load_replace_tamper_remove_with(ns: &Netns, mut nft: NftDriver) {
    assert_eq!(nft.check(false).unwrap(), vec![]);
    assert_eq!(nft.check(true).unwrap(), vec![Problem::TableMissing]);

    nft.load(OPEN).unwrap();
    assert_eq!(nft.check(true).unwrap(), vec![]);
    assert!(nft.loaded_text().unwrap().contains("test: LAN allowed"));

    nft.load(STRICT).unwrap();
    assert_eq!(nft.check(true).unwrap(), vec![]);
    let text = nft.loaded_text().unwrap();
    assert!(
        text.contains("VPN server") && !text.contains("LAN allowed"),
        "{text}"
    );

    ns.exec(&["nft", "flush", "chain", "inet", "airlock", "output"]);
    assert_eq!(
        nft.check(true).unwrap(),
        vec![Problem::ChainChanged {
            chain: "output".into(),
            loaded: 3,
            found: 0
        }]
    );
    nft.load(STRICT).unwrap();
    assert_eq!(nft.check(true).unwrap(), vec![]);

    ns.exec(&["nft", "delete", "table", "inet", "airlock"]);
    assert_eq!(nft.check(true).unwrap(), vec![Problem::TableMissing]);
    assert_eq!(nft.blocked_packets().unwrap(), None);
    assert_eq!(nft.loaded_text().unwrap(), "");

    nft.load(STRICT).unwrap();
    assert_eq!(
        nft.check(false).unwrap(),
        vec![Problem::LeftOver {
            kind: FirewallKind::Nft
        }]
    );
    nft.remove().unwrap();
    assert_eq!(nft.check(false).unwrap(), vec![]);
    nft.remove().expect("removing a missing table is fine");
}

#[test]
fn a_rejected_script_leaves_the_old_rules_in_place() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    let mut nft = driver(&ns);
    nft.load(STRICT).unwrap();
    let broken = STRICT.replace("policy drop;", "policy dorp;");
    let err = nft.load(&broken).unwrap_err().to_string();
    assert!(err.contains("nft -f -") && err.contains("dorp"), "{err}");
    assert_eq!(
        nft.check(true).unwrap(),
        vec![],
        "one transaction: all or nothing"
    );
    nft.remove().unwrap();
    let missing_table = "table inet other {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n";
    let err = nft.load(missing_table).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

/// In-process, a broken script is refused with nft's own message, and the
/// rules in force stay.
#[test]
fn in_process_a_rejected_script_leaves_the_old_rules_and_says_why() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    ns.within(|| {
        let mut nft = NftDriver::new(NftConfig::default());
        assert!(nft.in_process());
        nft.load(STRICT).unwrap();
        let broken = STRICT.replace("policy drop;", "policy dorp;");
        let err = nft.load(&broken).unwrap_err().to_string();
        // libnftables 1.0.6 points at the script's first line for a
        // buffer, so the message names the error, not the line.
        assert!(
            err.contains("libnftables") && err.contains("syntax error"),
            "{err}"
        );
        assert_eq!(nft.check(true).unwrap(), vec![]);
        assert!(nft.blocked_packets().unwrap().is_some());
        nft.remove().unwrap();
    });
}

#[test]
fn counts_blocked_packets() {
    if !ready() {
        return;
    }
    let (laptop, _server) = laptop_and_server();
    let mut nft = driver(&laptop);
    nft.load(STRICT).unwrap();
    let before = nft.blocked_packets().unwrap().unwrap();
    laptop.within(|| {
        let sock = UdpSocket::bind("10.200.1.1:0").unwrap();
        for _ in 0..3 {
            let _ = sock.send_to(b"leak?", "10.200.1.2:9");
        }
    });
    let after = nft.blocked_packets().unwrap().unwrap();
    assert!(after >= before + 3, "before {before}, after {after}");
}

fn snapshot() -> NetworkSnapshot {
    let iface = |name, addrs| network::iface(Platform::Linux, name, addrs);
    NetworkSnapshot {
        interfaces: vec![
            iface("lo", &["127.0.0.1/8"]),
            iface("eth0", &["10.200.1.1/24"]),
        ],
        routes: vec![],
        dns: vec![],
    }
}

fn tracked(ns: &Netns, port: u16) -> usize {
    ns.exec(&["conntrack", "-L", "-o", "extended"])
        .lines()
        .filter(|l| l.contains(&format!("dport={port} ")))
        .count()
}

/// How the driver reaches the laptop's kernel in [`cut_scenario`].
#[derive(Clone, Copy)]
enum Reach {
    /// `ip netns exec` around each tool; flows from `conntrack -L`.
    NetnsOption,
    /// The driver runs on a thread inside the namespace, as airlockd
    /// runs on a machine; flows from /proc/thread-self/net/nf_conntrack.
    Inside,
}

#[test]
fn stricter_policy_cuts_forbidden_connections_and_keeps_vpn_and_loopback() {
    cut_scenario(Reach::NetnsOption);
}

#[test]
fn inside_the_namespace_flows_come_from_proc_and_are_cut_the_same() {
    cut_scenario(Reach::Inside);
}

fn cut_scenario(reach: Reach) {
    if !ready() {
        return;
    }
    let (laptop, server) = laptop_and_server();
    let mut nft = match reach {
        Reach::NetnsOption => driver(&laptop),
        // Made inside: in-process, its socket is the laptop's.
        Reach::Inside => laptop.within(|| NftDriver::new(NftConfig::default())),
    };
    let act = |nft: &mut NftDriver, f: &(dyn Fn(&mut NftDriver) + Sync)| match reach {
        Reach::NetnsOption => f(nft),
        Reach::Inside => laptop.within(|| f(nft)),
    };
    act(&mut nft, &|n| n.load(OPEN).unwrap());

    let (web, vpn) = server.within(|| {
        (
            TcpListener::bind("10.200.1.2:8080").unwrap(),
            TcpListener::bind("10.200.1.2:1194").unwrap(),
        )
    });
    let local = laptop.within(|| TcpListener::bind("127.0.0.1:7070").unwrap());
    let (web_client, vpn_client, local_client) = laptop.within(|| {
        (
            TcpStream::connect("10.200.1.2:8080").unwrap(),
            TcpStream::connect("10.200.1.2:1194").unwrap(),
            TcpStream::connect("127.0.0.1:7070").unwrap(),
        )
    });
    let accepted: Vec<TcpStream> = [&web, &vpn, &local]
        .iter()
        .map(|l| l.accept().unwrap().0)
        .collect();
    assert_eq!(
        (
            tracked(&laptop, 8080),
            tracked(&laptop, 1194),
            tracked(&laptop, 7070)
        ),
        (1, 1, 1)
    );

    if let Reach::Inside = reach {
        // What the driver reads instead of `conntrack -L` holds this
        // namespace's connections (not the host's: /proc/net would).
        let listing = laptop.within(|| std::fs::read_to_string(nft::PROC_CONNTRACK));
        let listing = listing.expect("the kernel's conntrack listing");
        assert!(listing.contains("dport=8080 "), "{listing}");
    }

    let settings = Settings {
        kill_switch: true,
        endpoints: vec!["10.200.1.2:1194/tcp".parse::<Endpoint>().unwrap()],
        ..Settings::default()
    };
    let snap = snapshot();
    let policy = policy::build(&settings, &snap, Platform::Linux, 1_795_694_400);
    let killed = std::sync::atomic::AtomicUsize::new(0);
    act(&mut nft, &|n| {
        n.load(STRICT).unwrap();
        let k = n.kill_forbidden(&policy, &snap).unwrap();
        killed.store(k, std::sync::atomic::Ordering::SeqCst);
    });
    let killed = killed.into_inner();

    assert_eq!(killed, 1, "only the web connection");
    assert_eq!(tracked(&laptop, 8080), 0, "web connection cut");
    assert_eq!(tracked(&laptop, 1194), 1, "VPN connection kept");
    assert_eq!(tracked(&laptop, 7070), 1, "loopback kept");

    // The kept ones still carry data.
    for (client, mut server_side) in [(&vpn_client, &accepted[1]), (&local_client, &accepted[2])] {
        let mut client = client;
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        server_side.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
    drop(web_client);
}

#[test]
fn a_missing_nft_says_what_and_how_to_get_it() {
    let mut nft = NftDriver::new(NftConfig {
        nft: "/nonexistent/nft".into(),
        library: None,
        ..NftConfig::default()
    });
    let err = nft.load(STRICT).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/nft"), "{err}");
    assert!(err.contains("apt-get install nftables"), "{err}");
}

/// The kill switch's policy for [`snapshot`]'s laptop: nothing but
/// loopback passes (10.200.1.2 is neither a VPN server nor allowed LAN).
fn blocking_policy() -> policy::Policy {
    let settings = Settings {
        kill_switch: true,
        ..Settings::default()
    };
    policy::build(&settings, &snapshot(), Platform::Linux, 0)
}

/// Whether a TCP connection from the laptop to the server's `listener`
/// gets through (the accept is what proves it: a refused or dropped SYN
/// never reaches it).
fn gets_through(laptop: &Netns, listener: &TcpListener) -> bool {
    let addr = listener.local_addr().unwrap();
    let connected = laptop.within(|| {
        TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300)).is_ok()
    });
    listener.set_nonblocking(true).unwrap();
    // The handshake has completed on the server's side once connect returned.
    let accepted = listener.accept().is_ok();
    connected && accepted
}

/// The shape of table `name` in `ns`, as another process reads it.
fn shape_of(ns: &Netns, name: &str) -> nft::shape::TableShape {
    let json = ns.exec(&["nft", "-j", "list", "table", "inet", name]);
    nft::shape::parse(&json, name).unwrap()
}

/// The tamper guard (docs/security.md, "The tamper guard"): the same rules
/// in a table only the driver's socket may touch. Another root process
/// deleting or flushing `inet airlock` opens nothing, cannot delete the
/// guard, and the guard goes when its owner does, leaving `inet airlock`.
#[test]
fn the_guard_blocks_while_the_table_is_gone_and_dies_with_its_owner() {
    if !ready() {
        return;
    }
    let (laptop, server) = laptop_and_server();
    let web = server.within(|| TcpListener::bind("10.200.1.2:8080").unwrap());
    assert!(
        gets_through(&laptop, &web),
        "the probe must pass with no rules"
    );

    let policy = blocking_policy();
    let (main, guard) = (
        airlock_shared::render::nft::render(&policy),
        airlock_shared::render::nft::render_guard(&policy),
    );
    let mut nft = laptop.within(|| NftDriver::new(NftConfig::default()));
    let got = laptop.within(|| nft.load_with_guard(&main, &guard).unwrap());
    assert_eq!(got, Guard::On);
    assert_eq!(
        shape_of(&laptop, nft::GUARD),
        shape_of(&laptop, nft::TABLE),
        "the guard holds other rules than the table"
    );
    assert!(!gets_through(&laptop, &web), "blocked by both tables");

    laptop.exec(&["nft", "delete", "table", "inet", "airlock"]);
    assert!(!laptop.table_present());
    assert!(!gets_through(&laptop, &web), "the guard alone must block");
    assert_eq!(
        laptop.within(|| nft.check(true).unwrap()),
        vec![Problem::TableMissing]
    );

    let refused = support::run(&[
        "ip",
        "netns",
        "exec",
        &laptop.0,
        "nft",
        "delete",
        "table",
        "inet",
        nft::GUARD,
    ]);
    assert!(!refused.status.success(), "someone else deleted the guard");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Operation not permitted"),
        "{refused:?}"
    );
    laptop.exec(&["nft", "flush", "ruleset"]);
    assert!(
        !gets_through(&laptop, &web),
        "flush ruleset must pass the guard by"
    );

    let got = laptop.within(|| nft.load_with_guard(&main, &guard).unwrap());
    assert_eq!(got, Guard::On);
    assert_eq!(laptop.within(|| nft.check(true).unwrap()), vec![]);

    // The owner goes (as a crashed helper does): its socket closes, the
    // kernel removes the guard, and `inet airlock` stays and blocks. A
    // child the helper ran before (as it runs `conntrack`) still lives and
    // must not hold the owner's socket, or the guard would live on with it.
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep");
    drop(nft);
    let guard_left = laptop.ok(&["nft", "list", "table", "inet", nft::GUARD]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(!guard_left, "the guard outlived its owner in a child");
    assert!(
        laptop.table_present(),
        "the unowned table must outlive the helper"
    );
    assert!(!gets_through(&laptop, &web), "blocked with the owner gone");
    drop(server);
}

/// Whatever goes wrong with the guard costs the guard, never the rules,
/// and never leaves a guard of older rules behind to block newer ones.
#[test]
fn a_guard_that_cannot_load_costs_the_guard_not_the_rules() {
    if !ready() {
        return;
    }
    let ns = Netns::new();
    let policy = blocking_policy();
    let main = airlock_shared::render::nft::render(&policy);
    let guard = airlock_shared::render::nft::render_guard(&policy);
    ns.within(|| {
        let mut nft = NftDriver::new(NftConfig::default());
        assert_eq!(nft.load_with_guard(&main, &guard).unwrap(), Guard::On);
        let broken = guard.replace("policy drop;", "policy nonsense;");
        let got = nft.load_with_guard(STRICT, &broken).unwrap();
        assert!(
            matches!(
                &got,
                Guard::Unavailable {
                    why: GuardGap::LoadFailed { error }
                } if error.contains("syntax error")
            ),
            "{got:?}"
        );
        assert!(
            nft.loaded_text().unwrap().contains("VPN server"),
            "STRICT is in"
        );
        assert_eq!(nft.check(true).unwrap(), vec![]);
    });
    assert!(
        !ns.ok(&["nft", "list", "table", "inet", nft::GUARD]),
        "a guard of the older rules was left behind"
    );

    // Through the command (here: another namespace) no table can be owned.
    let mut nft = driver(&ns);
    let got = nft.load_with_guard(&main, &guard).unwrap();
    assert_eq!(
        got,
        Guard::Unavailable {
            why: GuardGap::NoLibrary
        }
    );
    assert!(ns.table_present());
    assert!(!ns.ok(&["nft", "list", "table", "inet", nft::GUARD]));
    nft.remove().unwrap();
}
