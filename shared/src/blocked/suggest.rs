//! What to do about what was blocked, where the answer is obvious.
//!
//! Two cases only, both while the kill switch is Blocking (on, no tunnel
//! up), when blocked traffic is the likely reason something does not work:
//!
//! - **DNS** (port 53, UDP or TCP) to a resolver was blocked: the VPN
//!   client may be looking up its server's name. Either turn on "DNS while
//!   disconnected", or allow the VPN server (by address, or its name as a
//!   `vpn_server_names` entry, which Airlock's resolver forwards).
//! - Traffic to a **VPN-looking port** was blocked: probably the VPN
//!   client trying to reach its server. "Add this VPN server?" with the
//!   one command. The ports, and why each:
//!   - 1194 UDP and TCP: OpenVPN's IANA-assigned port, its default;
//!   - 51820 UDP: WireGuard's conventional port (wg-quick's examples,
//!     most providers);
//!   - 500 and 4500 UDP: IKE and IKE over NAT-T (IKEv2/IPsec, the VPN
//!     built into macOS and most phones). IKEv2 starts on 500 and moves to
//!     4500 behind NAT, so either one suggests both.
//!
//!   Not 443 (UDP or TCP): that is HTTPS and QUIC, sent by every browser
//!   and app; some VPNs use it, but suggesting "allow it as a VPN server"
//!   for every blocked web request would be advice to open a hole.
//!
//! Never for what the user cannot want to allow: traffic coming in or
//! routed through (only what this machine sent can be a VPN client's),
//! multicast and broadcast (not a server), link-local, loopback and
//! unspecified addresses, the self-test's own default targets
//! (192.0.2.1, 2001:db8::1: its attempts are blocked on purpose) and the
//! resolver's placeholder answers (RFC 7600's 192.0.0.8, RFC 6666's
//! 100::/64). Other documentation addresses are not excluded: labs and
//! examples (ours too) run real servers on them. Nothing already allowed
//! is suggested again (the blocked table keeps its history after the
//! server was added).

use std::net::IpAddr;

use super::{BlockedDirection, BlockedEntry};
use crate::endpoint::{Endpoint, Transport};
use crate::policy::Protocol;
use crate::selftest::Target;

/// What the suggestions are judged against: the helper's state now.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The kill switch is on and no tunnel is up ([`Protection::Blocking`]).
    ///
    /// [`Protection::Blocking`]: crate::status::Protection::Blocking
    pub blocking: bool,
    /// "DNS while disconnected" is on already.
    pub allow_dns: bool,
    /// The servers allowed now.
    pub allowed: &'a [Endpoint],
}

/// Which kind of VPN a port suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpnPort {
    OpenVpn,
    WireGuard,
    Ike,
}

impl VpnPort {
    /// Why this port looks like a VPN's, in words.
    pub fn why(self) -> &'static str {
        match self {
            VpnPort::OpenVpn => "OpenVPN's port",
            VpnPort::WireGuard => "WireGuard's usual port",
            VpnPort::Ike => "IKEv2/IPsec's ports",
        }
    }
}

/// One thing to do about what was blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// DNS to these resolvers was blocked while blocking.
    AllowDns { resolvers: Vec<IpAddr> },
    /// Traffic to a VPN-looking port was blocked: allow these endpoints
    /// (one, or IKE's two).
    AddVpnServer {
        endpoints: Vec<Endpoint>,
        port: VpnPort,
    },
}

/// The command-line form of "DNS while disconnected".
pub const ALLOW_DNS_COMMAND: &str = "sudo airlockctl set allow-dns on";

impl Suggestion {
    /// The one line `airlockctl blocked` prints and the menu's tooltip
    /// would say.
    pub fn words(&self) -> String {
        match self {
            Suggestion::AllowDns { resolvers } => format!(
                "DNS to {} was blocked while the VPN is down: turn on DNS while disconnected \
                 ({ALLOW_DNS_COMMAND}), or add the VPN server",
                list(resolvers.iter())
            ),
            Suggestion::AddVpnServer { endpoints, port } => format!(
                "Add this VPN server? Traffic to {} on {} was blocked: {}",
                endpoints
                    .first()
                    .map(|e| e.address.to_string())
                    .unwrap_or_default(),
                port.why(),
                self.command()
            ),
        }
    }

    /// The one command that makes the change (it needs an administrator).
    pub fn command(&self) -> String {
        match self {
            Suggestion::AllowDns { .. } => ALLOW_DNS_COMMAND.to_string(),
            Suggestion::AddVpnServer { endpoints, .. } => format!(
                "sudo airlockctl endpoints add {}",
                endpoints
                    .iter()
                    .map(Endpoint::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

fn list<'a>(addrs: impl Iterator<Item = &'a IpAddr>) -> String {
    addrs.map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

/// The suggestions for `entries` (most recent first, as the table gives
/// them), in that order, each once: at most one DNS suggestion (naming
/// every resolver), one per VPN server.
pub fn suggest(entries: &[BlockedEntry], ctx: &Context) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    if !ctx.blocking {
        return out;
    }
    for e in entries {
        if e.direction != BlockedDirection::Out || !could_be_a_server(e.dst) {
            continue;
        }
        let Some(port) = e.dst_port else { continue };
        let transport = match e.protocol {
            Protocol::Udp => Transport::Udp,
            Protocol::Tcp => Transport::Tcp,
            _ => continue,
        };
        if port == 53 {
            if ctx.allow_dns {
                continue;
            }
            match out
                .iter_mut()
                .find(|s| matches!(s, Suggestion::AllowDns { .. }))
            {
                Some(Suggestion::AllowDns { resolvers }) => {
                    if !resolvers.contains(&e.dst) {
                        resolvers.push(e.dst);
                    }
                }
                _ => out.push(Suggestion::AllowDns {
                    resolvers: vec![e.dst],
                }),
            }
            continue;
        }
        let Some(vpn) = vpn_port(port, transport) else {
            continue;
        };
        let endpoints: Vec<Endpoint> = match vpn {
            VpnPort::Ike => vec![
                Endpoint::new(e.dst, 500, Transport::Udp),
                Endpoint::new(e.dst, 4500, Transport::Udp),
            ],
            _ => vec![Endpoint::new(e.dst, port, transport)],
        };
        let allowed = |x: &Endpoint| ctx.allowed.iter().any(|a| a.same_target(x));
        let endpoints: Vec<Endpoint> = endpoints.into_iter().filter(|x| !allowed(x)).collect();
        if endpoints.is_empty() {
            continue;
        }
        let seen = out.iter().any(|s| match s {
            Suggestion::AddVpnServer { endpoints: had, .. } => had
                .iter()
                .any(|h| endpoints.iter().any(|x| h.same_target(x))),
            Suggestion::AllowDns { .. } => false,
        });
        if !seen {
            out.push(Suggestion::AddVpnServer {
                endpoints,
                port: vpn,
            });
        }
    }
    out
}

/// The VPN a destination port suggests (see the module doc for why these).
pub fn vpn_port(port: u16, transport: Transport) -> Option<VpnPort> {
    match (port, transport) {
        (1194, _) => Some(VpnPort::OpenVpn),
        (51820, Transport::Udp) => Some(VpnPort::WireGuard),
        (500 | 4500, Transport::Udp) => Some(VpnPort::Ike),
        _ => None,
    }
}

/// Whether `addr` can be a server someone means to reach: not multicast,
/// broadcast, link-local, loopback, unspecified, the self-test's target
/// or the resolver's placeholder.
pub fn could_be_a_server(addr: IpAddr) -> bool {
    let probe = Target::default();
    if addr == IpAddr::V4(probe.v4) || addr == IpAddr::V6(probe.v6) {
        return false;
    }
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_multicast()
                || a.is_broadcast()
                || a.is_link_local()
                || a.is_loopback()
                || a.is_unspecified()
                // RFC 7600's dummy address, the resolver's placeholder.
                || o[..3] == [192, 0, 0] && o[3] == 8)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_multicast()
                || a.is_loopback()
                || a.is_unspecified()
                || a.is_unicast_link_local()
                // RFC 6666 discard prefix 100::/64.
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])
                // An IPv4-mapped address: judged as the IPv4 address.
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| !could_be_a_server(IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocked::{InterfaceRef, Sender};

    fn entry(dst: &str, port: u16, protocol: Protocol) -> BlockedEntry {
        BlockedEntry {
            dst: dst.parse().unwrap(),
            dst_port: Some(port),
            protocol,
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Name("en0".into()),
            sender: Sender::default(),
            name: None,
            last_src: "192.168.1.20".parse().unwrap(),
            count: 3,
            first_seen_ms: 0,
            last_seen_ms: 1,
        }
    }

    const BLOCKING: Context = Context {
        blocking: true,
        allow_dns: false,
        allowed: &[],
    };

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn blocked_dns_while_blocking_suggests_dns_or_the_server_once() {
        let entries = [
            entry("192.168.1.1", 53, Protocol::Udp),
            entry("192.168.1.1", 53, Protocol::Tcp),
            entry("2001:470::1", 53, Protocol::Udp),
        ];
        let s = suggest(&entries, &BLOCKING);
        assert_eq!(
            s,
            [Suggestion::AllowDns {
                resolvers: vec![
                    "192.168.1.1".parse().unwrap(),
                    "2001:470::1".parse().unwrap()
                ]
            }]
        );
        assert_eq!(
            s[0].words(),
            "DNS to 192.168.1.1, 2001:470::1 was blocked while the VPN is down: turn on DNS \
             while disconnected (sudo airlockctl set allow-dns on), or add the VPN server"
        );
        // Already on, or not blocking (off, paused, protected): nothing.
        let on = Context {
            allow_dns: true,
            ..BLOCKING
        };
        assert!(suggest(&entries, &on).is_empty());
        let not_blocking = Context {
            blocking: false,
            ..BLOCKING
        };
        assert!(suggest(&entries, &not_blocking).is_empty());
    }

    #[test]
    fn vpn_ports_suggest_adding_the_server_with_the_one_command() {
        let cases = [
            (
                1194,
                Protocol::Udp,
                "198.51.100.7:1194/udp",
                VpnPort::OpenVpn,
            ),
            (
                1194,
                Protocol::Tcp,
                "198.51.100.7:1194/tcp",
                VpnPort::OpenVpn,
            ),
            (
                51820,
                Protocol::Udp,
                "198.51.100.7:51820/udp",
                VpnPort::WireGuard,
            ),
        ];
        for (port, proto, want, kind) in cases {
            let s = suggest(&[entry("198.51.100.7", port, proto)], &BLOCKING);
            assert_eq!(
                s,
                [Suggestion::AddVpnServer {
                    endpoints: vec![ep(want)],
                    port: kind
                }],
                "{port}/{proto:?}"
            );
            assert_eq!(
                s[0].command(),
                format!("sudo airlockctl endpoints add {want}")
            );
        }
        let s = suggest(&[entry("198.51.100.7", 51820, Protocol::Udp)], &BLOCKING);
        assert_eq!(
            s[0].words(),
            "Add this VPN server? Traffic to 198.51.100.7 on WireGuard's usual port was \
             blocked: sudo airlockctl endpoints add 198.51.100.7:51820/udp"
        );
    }

    #[test]
    fn ike_on_either_port_suggests_both_and_tcp_ike_or_443_is_no_vpn() {
        for port in [500, 4500] {
            let s = suggest(&[entry("203.0.113.9", port, Protocol::Udp)], &BLOCKING);
            assert_eq!(
                s[0].command(),
                "sudo airlockctl endpoints add 203.0.113.9:500/udp 203.0.113.9:4500/udp"
            );
        }
        // Both seen: still one suggestion.
        let both = [
            entry("198.51.100.9", 500, Protocol::Udp),
            entry("198.51.100.9", 4500, Protocol::Udp),
        ];
        assert_eq!(suggest(&both, &BLOCKING).len(), 1);
        for (port, proto) in [
            (443, Protocol::Udp),
            (443, Protocol::Tcp),
            (500, Protocol::Tcp),
            (51820, Protocol::Tcp),
            (80, Protocol::Tcp),
        ] {
            let s = suggest(&[entry("198.51.100.7", port, proto)], &BLOCKING);
            assert!(s.is_empty(), "{port}/{proto:?}: {s:?}");
        }
    }

    #[test]
    fn nothing_the_user_cannot_want() {
        for dst in [
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "169.254.1.1",
            "127.0.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "192.0.0.8",
            "ff02::fb",
            "fe80::1",
            "::1",
            "::",
            "2001:db8::1",
            "100::1",
            "::ffff:169.254.0.1",
        ] {
            assert!(!could_be_a_server(dst.parse().unwrap()), "{dst}");
            let s = suggest(
                &[
                    entry(dst, 53, Protocol::Udp),
                    entry(dst, 1194, Protocol::Udp),
                ],
                &BLOCKING,
            );
            assert!(s.is_empty(), "{dst}: {s:?}");
        }
        // The lab's VPN server is on a documentation address.
        for dst in [
            "192.168.1.1",
            "10.0.0.1",
            "198.51.100.7",
            "2001:db8::7",
            "2a00:1450::1",
        ] {
            assert!(could_be_a_server(dst.parse().unwrap()), "{dst}");
        }
        // Coming in, or routed through: not this machine's VPN client.
        for direction in [BlockedDirection::In, BlockedDirection::Forward] {
            let mut e = entry("192.168.1.1", 1194, Protocol::Udp);
            e.direction = direction;
            assert!(suggest(&[e], &BLOCKING).is_empty(), "{direction:?}");
        }
        // No port (ICMP): nothing.
        let mut e = entry("192.168.1.1", 53, Protocol::Icmp);
        e.dst_port = None;
        assert!(suggest(&[e], &BLOCKING).is_empty());
    }

    #[test]
    fn what_is_allowed_already_is_not_suggested_again() {
        let allowed = [ep("198.51.100.7:1194/udp"), ep("203.0.113.9:500/udp")];
        let ctx = Context {
            allowed: &allowed,
            ..BLOCKING
        };
        let entries = [
            entry("198.51.100.7", 1194, Protocol::Udp),
            entry("198.51.100.7", 1194, Protocol::Tcp),
            entry("203.0.113.9", 500, Protocol::Udp),
        ];
        let s = suggest(&entries, &ctx);
        assert_eq!(
            s,
            [
                Suggestion::AddVpnServer {
                    endpoints: vec![ep("198.51.100.7:1194/tcp")],
                    port: VpnPort::OpenVpn
                },
                // IKE half-allowed: the missing half only.
                Suggestion::AddVpnServer {
                    endpoints: vec![ep("203.0.113.9:4500/udp")],
                    port: VpnPort::Ike
                },
            ]
        );
    }
}
