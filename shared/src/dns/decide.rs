//! Which answer a question gets while Airlock is blocking.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::message::{Question, CLASS_IN, TYPE_A, TYPE_AAAA};
use super::name::Name;
use crate::platform::Platform;

/// The IPv4 placeholder given for network-check names: `192.0.0.8`, the
/// IANA "IPv4 dummy address" (RFC 7600), in the special-purpose block
/// 192.0.0.0/24. It is not loopback (an answer of 127.0.0.1 would send the
/// check to whatever listens locally), not `0.0.0.0` (which Linux connects
/// to as loopback), not in a documentation range (labs and tests use those
/// for real servers) and never a LAN or VPN server address, so no Airlock
/// rule allows it and the kill switch's final reject rule refuses a
/// connection to it at once (TCP RST / ICMP unreachable) instead of letting
/// it hang.
pub const PLACEHOLDER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 8);
/// The IPv6 placeholder: `100::1`, in the discard-only prefix 100::/64
/// (RFC 6666), made for traffic that must go nowhere; refused at once for
/// the same reasons as [`PLACEHOLDER_V4`].
pub const PLACEHOLDER_V6: Ipv6Addr = Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 1);

/// What the resolver does with one question while blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A network-check name: answer at once with the placeholder.
    Placeholder,
    /// A VPN server's name, A or AAAA: forward to the network's resolvers,
    /// pin the answer's addresses, then relay it.
    Forward,
    /// A VPN server's name with another type: nothing to pin, nothing to
    /// forward; NOERROR with no answer.
    Empty,
    /// Anything else: REFUSED at once, nothing leaves the machine.
    Refuse,
}

/// The names the resolver knows, parsed once from the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverNames {
    pub network_check: Vec<Name>,
    pub vpn_servers: Vec<Name>,
}

/// The network-check names each platform's OS looks up when it joins a
/// network, used unless the settings list their own.
///
/// macOS: `captive.apple.com` is the name Mullvad found macOS resolving
/// before it publishes a default route (their
/// `docs/allow-macos-network-check.md`); `netcts.cdn-apple.com` is reported
/// by users as looked up in the same check (not verified on a Mac here).
///
/// Linux does not withhold routes for its check, so these only spare
/// NetworkManager a timeout: the connectivity-check hosts that GNOME,
/// Ubuntu, Debian, Arch and KDE configure it with (from each distribution's
/// NetworkManager configuration; not exhaustive).
pub fn default_network_check_names(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Macos => &["captive.apple.com", "netcts.cdn-apple.com"],
        Platform::Linux => &[
            "nmcheck.gnome.org",
            "connectivity-check.ubuntu.com",
            "network-test.debian.org",
            "ping.archlinux.org",
            "networkcheck.kde.org",
        ],
    }
}

/// The reference decision. Names compare without regard to ASCII case and
/// trailing dot. A name that is both a network-check name and a VPN
/// server's name is forwarded: the VPN must reach its real server.
pub fn decide(question: &Question, names: &ResolverNames) -> Decision {
    let name = &question.name;
    let address_type = question.qclass == CLASS_IN && matches!(question.qtype, TYPE_A | TYPE_AAAA);
    if names.vpn_servers.contains(name) {
        return if address_type {
            Decision::Forward
        } else {
            Decision::Empty
        };
    }
    if names.network_check.contains(name) {
        return Decision::Placeholder;
    }
    Decision::Refuse
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> ResolverNames {
        ResolverNames {
            network_check: default_network_check_names(Platform::Macos)
                .iter()
                .map(|n| Name::from_dotted(n).unwrap())
                .collect(),
            vpn_servers: vec![Name::from_dotted("vpn.lab.test").unwrap()],
        }
    }

    fn q(name: &str, qtype: u16) -> Question {
        Question {
            name: Name::from_dotted(name).unwrap(),
            qtype,
            qclass: CLASS_IN,
        }
    }

    #[test]
    fn network_check_names_get_the_placeholder_whatever_the_case_or_dot() {
        for n in [
            "captive.apple.com",
            "CAPTIVE.Apple.com.",
            "netcts.cdn-apple.com",
        ] {
            assert_eq!(
                decide(&q(n, TYPE_A), &names()),
                Decision::Placeholder,
                "{n}"
            );
            assert_eq!(decide(&q(n, TYPE_AAAA), &names()), Decision::Placeholder);
            assert_eq!(decide(&q(n, 65), &names()), Decision::Placeholder);
        }
    }

    #[test]
    fn vpn_names_are_forwarded_for_addresses_only() {
        assert_eq!(
            decide(&q("VPN.lab.test.", TYPE_A), &names()),
            Decision::Forward
        );
        assert_eq!(
            decide(&q("vpn.lab.test", TYPE_AAAA), &names()),
            Decision::Forward
        );
        assert_eq!(decide(&q("vpn.lab.test", 65), &names()), Decision::Empty);
        let mut chaos = q("vpn.lab.test", TYPE_A);
        chaos.qclass = 3;
        assert_eq!(decide(&chaos, &names()), Decision::Empty);
    }

    #[test]
    fn everything_else_is_refused_including_near_misses() {
        for n in [
            "example.com",
            "apple.com",
            "x.captive.apple.com",
            "captive.apple.com.evil.test",
            "lab.test",
            "www.vpn.lab.test",
        ] {
            assert_eq!(decide(&q(n, TYPE_A), &names()), Decision::Refuse, "{n}");
        }
    }

    #[test]
    fn a_vpn_name_wins_over_a_network_check_name() {
        let mut n = names();
        n.vpn_servers
            .push(Name::from_dotted("captive.apple.com").unwrap());
        assert_eq!(
            decide(&q("captive.apple.com", TYPE_A), &n),
            Decision::Forward
        );
    }

    #[test]
    fn placeholders_are_not_loopback_unspecified_or_documentation() {
        assert!(!PLACEHOLDER_V4.is_loopback() && !PLACEHOLDER_V4.is_unspecified());
        assert!(!PLACEHOLDER_V4.is_documentation() && !PLACEHOLDER_V4.is_private());
        assert!(!PLACEHOLDER_V6.is_loopback() && !PLACEHOLDER_V6.is_unspecified());
        assert_eq!(PLACEHOLDER_V6.segments()[..4], [0x100, 0, 0, 0]);
    }
}
