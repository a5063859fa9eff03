//! The rendered ruleset held to `Policy::decides` on a real kernel.
//!
//! Two namespaces joined by veth pairs: "laptop" (`wlan0` with the
//! addresses of `common::laptop`, and `tun0` standing in for the VPN
//! tunnel) and "network" (the LAN router, the VPN servers and a web
//! server, all on the far side). Each scenario's ruleset is loaded in the
//! laptop; then real packets are sent both ways and what happened to each
//! is read off the wire: an nft counter on the receiving side (at
//! prerouting in the network, after the filter hook in the laptop) says
//! whether it arrived, and the sender says whether it was refused at once.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use airlock_shared::platform::Platform;
use airlock_shared::policy::{Packet, Protocol, Verdict};
use airlock_shared::render::nft::render;
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
use nix::sys::time::{TimeVal, TimeValLike};

use super::common;
use super::lab::Netns;

/// How long a sender waits for an answer; anything refused by our own
/// ruleset is answered within microseconds.
const WAIT: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Laptop,
    Network,
}

struct Probe {
    what: &'static str,
    from: Side,
    /// The laptop's interface the packet crosses.
    iface: &'static str,
    proto: Protocol,
    src: &'static str,
    sport: u16,
    dst: &'static str,
    dport: u16,
    /// The laptop sends the reverse packet first, so this one is a reply.
    reply: bool,
}

const LAP: &str = "192.168.1.20";
const LAP6: &str = "2001:db8:1::20";

#[rustfmt::skip]
fn probes() -> Vec<Probe> {
    use Side::*;
    use Protocol::{Tcp, Udp};
    let p = |what, from, iface, proto, src, sport, dst, dport| Probe {
        what, from, iface, proto, src, sport, dst, dport, reply: false,
    };
    vec![
        p("web over Wi-Fi", Laptop, "wlan0", Tcp, LAP, 40001, "203.0.113.80", 80),
        p("VPN server", Laptop, "wlan0", Udp, LAP, 40002, "198.51.100.7", 1194),
        p("VPN server, other port", Laptop, "wlan0", Udp, LAP, 40003, "198.51.100.7", 53),
        p("VPN server, other protocol", Laptop, "wlan0", Tcp, LAP, 40004, "198.51.100.7", 1194),
        p("second VPN server", Laptop, "wlan0", Udp, LAP, 40005, "203.0.113.9", 51820),
        p("IPv6 VPN server", Laptop, "wlan0", Tcp, LAP6, 40006, "2001:db8:7::1", 443),
        p("IPv6 VPN server, web port", Laptop, "wlan0", Tcp, LAP6, 40007, "2001:db8:7::1", 80),
        p("DHCPv4 discover", Laptop, "wlan0", Udp, LAP, 68, "255.255.255.255", 67),
        p("DHCPv4 request to server", Laptop, "wlan0", Udp, LAP, 68, "192.168.1.1", 67),
        p("DHCPv4 misused, to the internet", Laptop, "wlan0", Udp, LAP, 68, "203.0.113.80", 67),
        p("DHCPv6 solicit", Laptop, "wlan0", Udp, LAP6, 546, "ff02::1:2", 547),
        p("DHCPv6 misused, to the internet", Laptop, "wlan0", Udp, LAP6, 546, "2001:db8:7::1", 547),
        p("mDNS port misused, to the internet", Laptop, "wlan0", Udp, LAP, 5353, "203.0.113.80", 5353),
        p("mDNS query", Laptop, "wlan0", Udp, LAP, 5353, "224.0.0.251", 5353),
        p("mDNS query IPv6", Laptop, "wlan0", Udp, LAP6, 5353, "ff02::fb", 5353),
        p("SSDP multicast", Laptop, "wlan0", Udp, LAP, 40016, "239.255.255.250", 1900),
        p("LAN ssh", Laptop, "wlan0", Tcp, LAP, 40012, "192.168.1.1", 22),
        p("LAN ssh IPv6", Laptop, "wlan0", Tcp, LAP6, 40013, "2001:db8:1::1", 22),
        p("LAN DNS", Laptop, "wlan0", Udp, LAP, 40014, "192.168.1.1", 53),
        p("LAN printer", Laptop, "wlan0", Tcp, LAP, 40015, "192.168.1.1", 631),
        p("inside the tunnel", Laptop, "tun0", Tcp, "10.8.0.2", 40017, "10.8.0.1", 443),
        p("DHCPv4 offer", Network, "wlan0", Udp, "192.168.1.1", 67, LAP, 68),
        p("DHCPv6 reply", Network, "wlan0", Udp, "2001:db8:1::1", 547, LAP6, 546),
        p("LAN ssh to us", Network, "wlan0", Tcp, "192.168.1.1", 40020, LAP, 22),
        p("LAN ssh to us IPv6", Network, "wlan0", Tcp, "2001:db8:1::1", 40021, LAP6, 22),
        p("unasked, from the VPN server", Network, "wlan0", Udp, "198.51.100.7", 1194, LAP, 40022),
        Probe { reply: true, ..p("reply from the VPN server", Network, "wlan0", Udp, "198.51.100.7", 1194, LAP, 40023) },
        p("into the tunnel", Network, "tun0", Tcp, "10.8.0.1", 40024, "10.8.0.2", 22),
    ]
}

impl Probe {
    fn packet(&self) -> Packet {
        let p = match self.from {
            Side::Laptop => Packet::out(self.iface, self.proto, self.src, self.dst),
            Side::Network => Packet::inbound(self.iface, self.proto, self.src, self.dst),
        };
        let p = p.ports(self.sport, self.dport);
        if self.reply {
            p.reply()
        } else {
            p
        }
    }

    fn src(&self) -> SocketAddr {
        SocketAddr::new(self.src.parse().unwrap(), self.sport)
    }

    fn dst(&self) -> IpAddr {
        self.dst.parse().unwrap()
    }

    /// Multicast and broadcast are never answered with ICMP (RFC 1122), so
    /// a refusal cannot reach the sender: for them Reject looks like Drop.
    fn group(&self) -> bool {
        match self.dst() {
            IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_multicast(),
        }
    }

    /// The nft match for exactly this packet, for the counting table.
    fn nft_match(&self) -> String {
        let ip = if self.dst().is_ipv4() { "ip" } else { "ip6" };
        let l4 = match self.proto {
            Protocol::Tcp => "tcp",
            _ => "udp",
        };
        format!(
            "{ip} saddr {} {ip} daddr {} {l4} sport {} {l4} dport {}",
            self.src, self.dst, self.sport, self.dport
        )
    }
}

/// What the sender saw.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sent {
    /// An error came back within [`WAIT`] (TCP reset, ICMP unreachable).
    Refused,
    /// Nothing came back.
    Silent,
}

fn send(ns: &Netns, probe: &Probe) -> Sent {
    let src = probe.src();
    let dst = probe.dst();
    let iface = match probe.from {
        Side::Laptop => probe.iface,
        Side::Network => "eth0",
    };
    ns.run(|| match probe.proto {
        Protocol::Tcp => tcp(src, SocketAddr::new(dst, probe.dport)),
        _ => udp(src, dst, probe.dport, iface),
    })
}

fn tcp(src: SocketAddr, dst: SocketAddr) -> Sent {
    let family = if src.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true).unwrap();
    // A connect that hears nothing gives up after WAIT instead of retrying.
    let wait = TimeVal::milliseconds(WAIT.as_millis() as i64);
    socket::setsockopt(&fd, sockopt::SendTimeout, &wait).unwrap();
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(src)).unwrap();
    let started = Instant::now();
    match socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(dst)) {
        Err(nix::errno::Errno::ECONNREFUSED) if started.elapsed() < WAIT => Sent::Refused,
        Ok(()) => panic!("nothing listens in these namespaces, yet {dst} accepted"),
        Err(_) => Sent::Silent,
    }
}

fn udp(src: SocketAddr, dst: IpAddr, port: u16, iface: &str) -> Sent {
    let sock = UdpSocket::bind(src).unwrap();
    sock.set_broadcast(true).unwrap();
    let to = match dst {
        IpAddr::V6(a) if a.is_multicast() => {
            let name = std::ffi::CString::new(iface).unwrap();
            // SAFETY: a NUL-terminated name; if_nametoindex only reads it.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            assert_ne!(index, 0, "no interface {iface}");
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, index))
        }
        _ => SocketAddr::new(dst, port),
    };
    sock.connect(to).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let started = Instant::now();
    // A packet our own output hook discards fails the send with EPERM,
    // whether it was dropped or rejected; only the ICMP error a reject
    // sends back (read below) tells the application "refused".
    let _ = sock.send(b"airlock probe");
    let mut buf = [0u8; 64];
    match sock.recv(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Sent::Silent,
        Err(_) if started.elapsed() < WAIT => Sent::Refused,
        _ => Sent::Silent,
    }
}

/// The laptop and the network, wired together.
struct Lab {
    laptop: Netns,
    network: Netns,
}

impl Lab {
    fn new() -> Option<Lab> {
        let laptop = Netns::new("laptop")?;
        let network = Netns::new("net")?;
        let (l, n) = (laptop.name.as_str(), network.name.as_str());
        for (ours, theirs) in [("wlan0", "eth0"), ("tun0", "vpn0")] {
            let out = std::process::Command::new("ip")
                .args([
                    "link", "add", ours, "netns", l, "type", "veth", "peer", "name",
                ])
                .args([theirs, "netns", n])
                .output()
                .unwrap();
            assert!(out.status.success(), "veth {ours}: {out:?}");
        }
        let addr = |ns: &Netns, a: &str, dev: &str| ns.ip(&["addr", "add", a, "dev", dev]);
        addr(&laptop, "192.168.1.20/24", "wlan0");
        addr(&laptop, "2001:db8:1::20/64", "wlan0");
        addr(&laptop, "10.8.0.2/24", "tun0");
        addr(&network, "192.168.1.1/24", "eth0");
        addr(&network, "2001:db8:1::1/64", "eth0");
        addr(&network, "10.8.0.1/24", "vpn0");
        for a in [
            "198.51.100.7/32",
            "203.0.113.80/32",
            "203.0.113.9/32",
            "2001:db8:7::1/128",
        ] {
            addr(&network, a, "lo");
        }
        for (ns, devs) in [(&laptop, ["wlan0", "tun0"]), (&network, ["eth0", "vpn0"])] {
            for d in devs {
                ns.ip(&["link", "set", d, "up"]);
            }
        }
        laptop.ip(&[
            "route",
            "add",
            "default",
            "via",
            "192.168.1.1",
            "dev",
            "wlan0",
        ]);
        laptop.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:1::1",
            "dev",
            "wlan0",
        ]);
        Some(Lab { laptop, network })
    }

    /// A table counting each probe where it arrives: at prerouting in the
    /// network (before anything can drop it), and in the laptop after
    /// Airlock's input chain (priority filter + 10), so only what Airlock
    /// accepted is counted.
    fn count(&self, probes: &[Probe]) {
        for (ns, hook, prio) in [
            (&self.network, "prerouting", "-300"),
            (&self.laptop, "input", "10"),
        ] {
            let mut text = format!(
                "table inet probe {{\n\tchain c {{\n\t\ttype filter hook {hook} priority {prio}; policy accept;\n"
            );
            for (i, p) in probes.iter().enumerate() {
                text.push_str(&format!("\t\t{} counter comment \"p{i}\"\n", p.nft_match()));
            }
            text.push_str("\t}\n}\n");
            let out = ns.nft(&["-f", "-"], &text);
            assert!(out.ok, "probe table: {}", out.stderr);
        }
    }

    /// Packets counted per probe on its receiving side.
    fn arrived(&self, probes: &[Probe]) -> Vec<u64> {
        let read = |ns: &Netns| {
            let json = ns.nft_json(&["table", "inet", "probe"]);
            let mut counts = vec![0; probes.len()];
            for item in json["nftables"].as_array().unwrap() {
                let rule = &item["rule"];
                let Some(i) = rule["comment"]
                    .as_str()
                    .and_then(|c| c[1..].parse::<usize>().ok())
                else {
                    continue;
                };
                for e in rule["expr"].as_array().unwrap() {
                    if let Some(n) = e["counter"]["packets"].as_u64() {
                        counts[i] = n;
                    }
                }
            }
            counts
        };
        let (at_network, at_laptop) = (read(&self.network), read(&self.laptop));
        probes
            .iter()
            .enumerate()
            .map(|(i, p)| match p.from {
                Side::Laptop => at_network[i],
                Side::Network => at_laptop[i],
            })
            .collect()
    }
}

#[test]
fn packets_on_the_wire_do_what_the_policy_decides() {
    let started = Instant::now();
    let probes = probes();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for scenario in common::scenarios(Platform::Linux) {
        let Some(lab) = Lab::new() else { return };
        let policy = scenario.policy(Platform::Linux);
        lab.count(&probes);
        let out = lab.laptop.nft(&["-f", "-"], &render(&policy));
        assert!(out.ok, "{}: load: {}", scenario.name, out.stderr);

        let mut sent = Vec::new();
        for p in &probes {
            if p.reply {
                // The laptop opens the conversation (not counted: other ports).
                let opener = Probe {
                    from: Side::Laptop,
                    src: p.dst,
                    sport: p.dport,
                    dst: p.src,
                    dport: p.sport,
                    reply: false,
                    ..*p
                };
                send(&lab.laptop, &opener);
            }
            let ns = match p.from {
                Side::Laptop => &lab.laptop,
                Side::Network => &lab.network,
            };
            sent.push(send(ns, p));
        }
        let arrived = lab.arrived(&probes);

        for ((p, sent), arrived) in probes.iter().zip(sent).zip(arrived) {
            let mut want = policy.decides(&p.packet());
            if want == Verdict::Reject && p.group() {
                want = Verdict::Drop;
            }
            let got = match (arrived, sent) {
                (1.., _) => Verdict::Pass,
                (0, Sent::Refused) => Verdict::Reject,
                (0, Sent::Silent) => Verdict::Drop,
            };
            checked += 1;
            if got != want {
                wrong.push(format!(
                    "{}: {} ({} {}:{} -> {}:{}): policy says {want:?}, wire shows {got:?} \
                     (arrived {arrived}, sender {sent:?})",
                    scenario.name, p.what, p.iface, p.src, p.sport, p.dst, p.dport
                ));
            }
        }
    }
    eprintln!(
        "{checked} probe packets checked against Policy::decides in {:?}",
        started.elapsed()
    );
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
