//! The live snapshot against real kernels: this machine's loopback, and a
//! network namespace built to look like a laptop with a VPN up.

#![cfg(target_os = "linux")]

use std::net::IpAddr;
use std::process::Command;

use airlock_helper::network::live::snapshot;
use airlock_shared::network::{InterfaceKind, NetworkSnapshot};
use airlock_shared::platform::Platform;

#[test]
fn this_machine_has_loopback_with_127_0_0_1_slash_8() {
    let snap = snapshot(Platform::Linux, &[]).expect("live snapshot");
    let lo = snap.interface("lo").expect("lo listed");
    assert_eq!(lo.kind, InterfaceKind::Loopback);
    assert!(lo.flags.loopback && lo.flags.up, "{:?}", lo.flags);
    assert!(
        lo.addresses.contains(&"127.0.0.1/8".parse().unwrap()),
        "{:?}",
        lo.addresses
    );
}

/// Set in the child process that runs inside the namespace.
const CHILD_ENV: &str = "AIRLOCK_LIVE_NETNS_CHILD";
/// Marks the child's one line of output the parent reads.
const MARK: &str = "AIRLOCK-SNAPSHOT-JSON:";

/// A namespace holding: `eth0` (a veth, its peer `veth-peer0`) with
/// IPv4+IPv6 and default routes, `tun0` (a real tun device) with
/// OpenVPN's split default routes, a host route to the VPN server via
/// eth0's gateway, `zt0` (a tap the user's pattern `zt*` calls a tunnel)
/// and `nothing0` (a tap that is down and has no address at all).
/// `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over
/// /etc/resolv.conf, which gives the namespace its own resolver.
#[test]
fn snapshot_inside_a_namespace_sees_its_interfaces_routes_and_dns() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let snap = snapshot(Platform::Linux, &["zt*".to_string()]).expect("snapshot in netns");
        println!("{MARK}{}", serde_json::to_string(&snap).expect("json"));
        return;
    }
    if !nix::unistd::Uid::effective().is_root() || !have("ip") {
        eprintln!("SKIPPED: needs root and iproute2 to create a network namespace");
        return;
    }
    let ns = Netns::new();
    let sh = |args: &str| ns.ip(args);
    sh("link set lo up");
    sh("link add eth0 type veth peer name veth-peer0");
    sh("addr add 192.168.77.20/24 dev eth0");
    sh("addr add 2001:db8:77::20/64 dev eth0 nodad");
    sh("link set veth-peer0 up");
    sh("link set eth0 up");
    sh("route add default via 192.168.77.1 dev eth0");
    sh("-6 route add default via 2001:db8:77::1 dev eth0");
    sh("tuntap add dev tun0 mode tun");
    sh("addr add 10.8.0.2/24 dev tun0");
    sh("link set tun0 up");
    sh("route add 0.0.0.0/1 via 10.8.0.1 dev tun0 onlink");
    sh("route add 128.0.0.0/1 via 10.8.0.1 dev tun0 onlink");
    sh("route add 198.51.100.7/32 via 192.168.77.1 dev eth0");
    sh("tuntap add dev zt0 mode tap");
    sh("addr add 10.147.17.5/24 dev zt0");
    sh("link set zt0 up");
    sh("tuntap add dev nothing0 mode tap");
    ns.resolv_conf("# test resolver\nnameserver 192.168.77.53\nnameserver 2001:db8:77::53\n");

    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(exe)
        .args([
            "--exact",
            "snapshot_inside_a_namespace_sees_its_interfaces_routes_and_dns",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run child in netns");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, json)| json))
        .unwrap_or_else(|| panic!("no snapshot in child output: {stdout}"));
    let snap: NetworkSnapshot = serde_json::from_str(json).expect("child's json");
    check_namespace_snapshot(&snap);
}

fn check_namespace_snapshot(snap: &NetworkSnapshot) {
    let mut names: Vec<&str> = snap.interfaces.iter().map(|i| i.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["eth0", "lo", "nothing0", "tun0", "veth-peer0", "zt0"],
        "exactly the namespace's interfaces, none of the host's"
    );
    let kind = |n: &str| snap.interface(n).map(|i| i.kind);
    assert_eq!(kind("lo"), Some(InterfaceKind::Loopback));
    assert_eq!(kind("eth0"), Some(InterfaceKind::Physical));
    assert_eq!(kind("tun0"), Some(InterfaceKind::Tunnel));
    assert_eq!(kind("zt0"), Some(InterfaceKind::Tunnel), "user pattern zt*");
    assert_eq!(kind("veth-peer0"), Some(InterfaceKind::Virtual));
    assert_eq!(
        kind("nothing0"),
        Some(InterfaceKind::Physical),
        "unknown is physical"
    );

    let addrs = |n: &str| -> Vec<String> {
        let i = snap.interface(n).expect("listed");
        i.addresses.iter().map(|a| a.to_string()).collect()
    };
    assert!(addrs("lo").contains(&"127.0.0.1/8".to_string()));
    let eth0 = addrs("eth0");
    assert!(eth0.contains(&"192.168.77.20/24".to_string()), "{eth0:?}");
    assert!(eth0.contains(&"2001:db8:77::20/64".to_string()), "{eth0:?}");
    assert_eq!(
        addrs("tun0"),
        ["10.8.0.2/24"],
        "a tun has no link-local v6 by default"
    );
    assert!(addrs("nothing0").is_empty());

    let tun0 = snap.interface("tun0").expect("tun0");
    assert!(
        tun0.flags.up && tun0.flags.point_to_point,
        "{:?}",
        tun0.flags
    );
    assert!(!tun0.flags.running, "no process holds the tun: no carrier");
    let eth0 = snap.interface("eth0").expect("eth0");
    assert!(eth0.flags.up && eth0.flags.running && eth0.flags.multicast && !eth0.flags.loopback);
    assert!(!snap.interface("nothing0").expect("nothing0").flags.up);

    let routes: Vec<String> = snap
        .routes
        .iter()
        .map(|r| match r.gateway {
            Some(g) => format!("{} via {} dev {}", r.destination, g, r.interface),
            None => format!("{} dev {}", r.destination, r.interface),
        })
        .collect();
    for want in [
        "0.0.0.0/0 via 192.168.77.1 dev eth0",
        "0.0.0.0/1 via 10.8.0.1 dev tun0",
        "128.0.0.0/1 via 10.8.0.1 dev tun0",
        "198.51.100.7/32 via 192.168.77.1 dev eth0",
        "192.168.77.0/24 dev eth0",
        "10.8.0.0/24 dev tun0",
        "::/0 via 2001:db8:77::1 dev eth0",
        "2001:db8:77::/64 dev eth0",
    ] {
        assert!(
            routes.contains(&want.to_string()),
            "missing {want:?} in {routes:#?}"
        );
    }
    assert!(
        !routes.iter().any(|r| r.contains("2001:db8:77::20/128")),
        "local-table entries are not routes: {routes:#?}"
    );
    let learned: Vec<String> = snap
        .vpn_server_routes()
        .iter()
        .map(|r| r.destination.to_string())
        .collect();
    assert_eq!(learned, ["198.51.100.7/32"]);

    let dns: Vec<IpAddr> = vec![
        "192.168.77.53".parse().unwrap(),
        "2001:db8:77::53".parse().unwrap(),
    ];
    assert_eq!(snap.dns, dns);
}

fn have(program: &str) -> bool {
    Command::new(program).arg("-V").output().is_ok()
}

/// A network namespace (and its /etc/netns/NAME directory) that exists
/// for as long as this value does.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        let name = format!("airlock-test-live-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add")
            .success();
        assert!(ok, "ip netns add {name}");
        Netns { name }
    }

    /// Runs `ip -n NS ARGS`, failing the test on error.
    fn ip(&self, args: &str) {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args.split_whitespace())
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "ip -n {} {args}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn etc_dir(&self) -> std::path::PathBuf {
        std::path::Path::new("/etc/netns").join(&self.name)
    }

    fn resolv_conf(&self, text: &str) {
        let dir = self.etc_dir();
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NAME");
        std::fs::write(dir.join("resolv.conf"), text).expect("write resolv.conf");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.etc_dir());
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
