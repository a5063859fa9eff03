//! Interface classification by name, per platform.
//!
//! The kill switch trusts an interface only if its name says it is a
//! loopback, a tunnel or a local virtual bridge; everything it does not
//! recognise is treated as physical, so an unknown interface is blocked
//! rather than trusted (fail closed).

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceKind {
    /// `lo`, `lo0`: always allowed.
    Loopback,
    /// Wi-Fi, Ethernet, USB tethering, anything unknown: only the VPN
    /// endpoints and network plumbing pass.
    Physical,
    /// Apple Wireless Direct Link (`awdl0`, `llw0`, `p2p*`): AirDrop.
    PeerToPeer,
    /// VPN tunnels: everything passes.
    Tunnel,
    /// Bridges and veths of local VMs/containers: their traffic to this
    /// machine passes, their forwarded traffic obeys the same rules.
    Virtual,
}

impl InterfaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceKind::Loopback => "loopback",
            InterfaceKind::Physical => "physical",
            InterfaceKind::PeerToPeer => "peer-to-peer",
            InterfaceKind::Tunnel => "tunnel",
            InterfaceKind::Virtual => "virtual",
        }
    }
}

/// Name patterns (`prefix*` or exact) for one kind on one platform.
pub fn patterns(platform: Platform, kind: InterfaceKind) -> &'static [&'static str] {
    use InterfaceKind::*;
    match (platform, kind) {
        (Platform::Macos, Loopback) => &["lo0"],
        (Platform::Macos, Tunnel) => &["utun*", "ipsec*", "ppp*", "tun*", "tap*"],
        (Platform::Macos, PeerToPeer) => &["awdl0", "llw0", "p2p*"],
        (Platform::Macos, Virtual) => &["vmenet*", "vmnet*", "vboxnet*"],
        (Platform::Macos, Physical) => &["en*", "bridge*"],
        (Platform::Linux, Loopback) => &["lo"],
        (Platform::Linux, Tunnel) => &["tun*", "tap*", "wg*", "ppp*"],
        (Platform::Linux, PeerToPeer) => &[],
        (Platform::Linux, Virtual) => &[
            "docker*", "br-*", "virbr*", "veth*", "vnet*", "lxcbr*", "lxdbr*", "cni*", "podman*",
            "vboxnet*", "vmnet*",
        ],
        (Platform::Linux, Physical) => &["eth*", "en*", "wl*", "ww*", "usb*", "ib*"],
    }
}

/// Classifies an interface name. `extra_tunnels` are the user's own tunnel
/// patterns from the settings; they win over the built-in physical list but
/// never turn loopback into something else.
pub fn classify(platform: Platform, name: &str, extra_tunnels: &[String]) -> InterfaceKind {
    use InterfaceKind::*;
    let hit = |kind| patterns(platform, kind).iter().any(|p| matches(p, name));
    if hit(Loopback) {
        Loopback
    } else if hit(Tunnel) || extra_tunnels.iter().any(|p| matches(p, name)) {
        Tunnel
    } else if hit(PeerToPeer) {
        PeerToPeer
    } else if hit(Virtual) {
        Virtual
    } else {
        // Known physical names and unknown names alike: fail closed.
        Physical
    }
}

/// `prefix*` matches any name starting with `prefix`; anything else must
/// match exactly. This is the one wildcard both pf expansion and nft's
/// `oifname "tun*"` understand.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// A pattern the renderers can put into a ruleset without quoting trouble:
/// an interface name (at most 15 characters, Linux's IFNAMSIZ - 1) of
/// letters, digits and `_.-`, optionally ending in one `*`.
pub fn valid_pattern(pattern: &str) -> bool {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    !body.is_empty()
        && pattern.len() <= 15
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::InterfaceKind::*;
    use super::*;

    #[test]
    fn macos_names() {
        let m = |n| classify(Platform::Macos, n, &[]);
        assert_eq!(m("lo0"), Loopback);
        assert_eq!(m("en0"), Physical);
        assert_eq!(m("bridge100"), Physical);
        for t in ["utun0", "utun12", "ipsec0", "ppp0", "tun3", "tap1"] {
            assert_eq!(m(t), Tunnel, "{t}");
        }
        for p in ["awdl0", "llw0", "p2p0"] {
            assert_eq!(m(p), PeerToPeer, "{p}");
        }
        assert_eq!(m("awdl1"), Physical, "only awdl0 is AWDL");
        assert_eq!(m("vmenet0"), Virtual);
        assert_eq!(m("gif0"), Physical, "unknown means physical");
    }

    #[test]
    fn linux_names() {
        let l = |n| classify(Platform::Linux, n, &[]);
        assert_eq!(l("lo"), Loopback);
        assert_eq!(l("lo0"), Physical, "lo0 is not loopback on Linux");
        for p in ["eth0", "enp3s0", "wlan0", "wlp2s0", "wwan0"] {
            assert_eq!(l(p), Physical, "{p}");
        }
        for t in ["tun0", "tap0", "wg0", "ppp0"] {
            assert_eq!(l(t), Tunnel, "{t}");
        }
        for v in ["docker0", "br-1a2b", "virbr0", "veth12ab", "vnet3"] {
            assert_eq!(l(v), Virtual, "{v}");
        }
        assert_eq!(l("utun0"), Physical, "utun is a macOS name");
        assert_eq!(l("awdl0"), Physical);
        assert_eq!(l("mystery9"), Physical);
    }

    #[test]
    fn user_tunnel_patterns_extend_but_never_replace_loopback() {
        let extra = vec!["zt*".to_string(), "nordlynx".to_string(), "lo".to_string()];
        assert_eq!(classify(Platform::Linux, "ztabc", &extra), Tunnel);
        assert_eq!(classify(Platform::Linux, "nordlynx", &extra), Tunnel);
        assert_eq!(classify(Platform::Linux, "nordlynx2", &extra), Physical);
        assert_eq!(classify(Platform::Linux, "lo", &extra), Loopback);
    }

    #[test]
    fn pattern_validation() {
        for ok in ["tun*", "wg0", "zt*", "my_vpn.1", "a-b"] {
            assert!(valid_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "*",
            "tun*x",
            "t*n",
            "eth0\"",
            "a b",
            "sixteen_chars_xx",
            "x;drop",
        ] {
            assert!(!valid_pattern(bad), "{bad}");
        }
    }
}
