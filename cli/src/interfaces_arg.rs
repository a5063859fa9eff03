//! `--interfaces en0=192.168.1.20/24,utun4=10.8.0.2/24`: a described
//! network to render for instead of this machine's, so a ruleset for
//! another machine (or another OS) can be seen without being there.

use std::str::FromStr;

use airlock_shared::network::classify::{classify, valid_pattern};
use airlock_shared::network::{Interface, InterfaceFlags, InterfaceKind, NetworkSnapshot};
use airlock_shared::platform::Platform;
use ipnet::IpNet;

/// The parsed list: names and addresses, not yet classified (that needs
/// the platform and the settings' tunnel patterns, known later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described(pub Vec<(String, Vec<IpNet>)>);

pub const SYNTAX: &str = "NAME[=ADDR/PREFIX[+ADDR/PREFIX...]],...";

impl FromStr for Described {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out: Vec<(String, Vec<IpNet>)> = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(format!("empty entry in {s:?}; expected {SYNTAX}"));
            }
            let (name, addrs) = match item.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a)),
                None => (item, None),
            };
            if name.ends_with('*') || !valid_pattern(name) {
                return Err(format!(
                    "{name:?} is not an interface name (letters, digits, `_.-`, at most 15 characters)"
                ));
            }
            if out.iter().any(|(n, _)| n == name) {
                return Err(format!("interface {name:?} is listed twice"));
            }
            let nets = match addrs {
                None => Vec::new(),
                Some(list) => list
                    .split('+')
                    .map(|a| parse_net(name, a.trim()))
                    .collect::<Result<_, _>>()?,
            };
            out.push((name.to_string(), nets));
        }
        Ok(Described(out))
    }
}

fn parse_net(name: &str, text: &str) -> Result<IpNet, String> {
    if !text.contains('/') {
        return Err(format!(
            "{name}: {text:?} needs a prefix length, e.g. 192.168.1.20/24 or 2001:db8::20/64"
        ));
    }
    text.parse()
        .map_err(|_| format!("{name}: {text:?} is not ADDR/PREFIX, e.g. 192.168.1.20/24"))
}

impl Described {
    /// The snapshot these interfaces make on `platform`: all up and
    /// running, kinds classified as the live snapshot would, no routes
    /// and no resolvers.
    pub fn snapshot(&self, platform: Platform, extra_tunnels: &[String]) -> NetworkSnapshot {
        let interfaces = self
            .0
            .iter()
            .map(|(name, addresses)| {
                let kind = classify(platform, name, extra_tunnels);
                Interface {
                    name: name.clone(),
                    kind,
                    flags: InterfaceFlags {
                        up: true,
                        running: true,
                        loopback: kind == InterfaceKind::Loopback,
                        point_to_point: kind == InterfaceKind::Tunnel,
                        multicast: kind != InterfaceKind::Loopback,
                    },
                    addresses: addresses.clone(),
                }
            })
            .collect();
        NetworkSnapshot {
            interfaces,
            ..NetworkSnapshot::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        let d: Described = "en0=192.168.1.20/24+2001:db8::20/64, utun4=10.8.0.2/24,awdl0"
            .parse()
            .unwrap();
        let shown: Vec<(String, Vec<String>)> =
            d.0.iter()
                .map(|(n, a)| (n.clone(), a.iter().map(|x| x.to_string()).collect()))
                .collect();
        assert_eq!(
            shown,
            [
                (
                    "en0".to_string(),
                    vec!["192.168.1.20/24".to_string(), "2001:db8::20/64".to_string()]
                ),
                ("utun4".to_string(), vec!["10.8.0.2/24".to_string()]),
                ("awdl0".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn kinds_follow_platform_and_patterns() {
        let d: Described = "lo0,en0,utun4,zt1".parse().unwrap();
        let kinds = |p, extra: &[String]| -> Vec<InterfaceKind> {
            d.snapshot(p, extra)
                .interfaces
                .iter()
                .map(|i| i.kind)
                .collect()
        };
        use InterfaceKind::*;
        assert_eq!(
            kinds(Platform::Macos, &[]),
            [Loopback, Physical, Tunnel, Physical]
        );
        assert_eq!(
            kinds(Platform::Linux, &["zt*".into()]),
            [Physical, Physical, Physical, Tunnel]
        );
    }

    #[test]
    fn rejects_what_it_cannot_mean() {
        for bad in [
            "",
            "en0,",
            "=10.0.0.1/24",
            "en0=10.0.0.1",
            "en0=10.0.0.1/33",
            "en0=banana/24",
            "en0=10.0.0.1/24+",
            "tun*",
            "en0,en0",
            "a name",
            "sixteen_chars_xx",
        ] {
            assert!(
                bad.parse::<Described>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
