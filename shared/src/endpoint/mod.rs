//! A VPN endpoint: the one address, port and protocol the kill switch lets
//! through on physical interfaces so the VPN can (re)connect, and the
//! record of where it came from and when (see [`Origin`]; expiry of the
//! learned ones in [`expiry`], merging new ones into a list in [`book`],
//! how they are shown in [`listing`]).

pub mod book;
pub mod expiry;
pub mod listing;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Transport protocol of a VPN connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a saved endpoint came from. Pinned-by-answer endpoints are no
/// origin here: they never reach the settings file (`dns::pins`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Typed by the user (`airlockctl endpoints add`), or the user asked
    /// for the connected VPN's server (`LearnEndpoints`). Never expires.
    ///
    /// Also what a settings file written before origins existed means:
    /// such a file cannot say which entries were learned, and guessing
    /// "learned" would let the helper silently drop a server the user
    /// typed and relies on, so the VPN could no longer connect through the
    /// kill switch. Kept as before (never expiring) instead; the user can
    /// remove a stale one, and every endpoint learned from now on is
    /// marked as such.
    #[default]
    Added,
    /// From a VPN config file (`endpoints import`, the app's import and
    /// found connections). Never expires: the file says it is the server.
    Imported,
    /// Learned by the helper from the VPN client's host route while a
    /// tunnel was up (`helper/src/learn.rs`). Expires when not seen again
    /// for `learned_endpoint_ttl`.
    Learned,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Added => "added",
            Origin::Imported => "imported",
            Origin::Learned => "learned",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VPN server the kill switch lets through. `host` keeps the name it was
/// resolved from, so the address can be re-resolved later; the address is
/// what the firewall pins.
///
/// `origin`, `added_at` and `last_seen` are the record kept with it, not
/// part of what it is: equality, ordering and hashing look at address,
/// port, protocol and host only (as before they existed), so matching,
/// de-duplicating, the policy's "only looser" test and the rendered rules
/// never depend on them, and refreshing `last_seen` never reloads rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub address: IpAddr,
    pub port: u16,
    pub protocol: Transport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Missing in files written before origins existed: [`Origin::Added`].
    #[serde(default)]
    pub origin: Origin,
    /// When the helper added it (Unix seconds); unknown for endpoints
    /// saved before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<u64>,
    /// Learned ones: when the helper last saw the VPN use it (Unix
    /// seconds); the expiry counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
}

impl Endpoint {
    pub fn new(address: IpAddr, port: u16, protocol: Transport) -> Self {
        Endpoint {
            address,
            port,
            protocol,
            host: None,
            origin: Origin::Added,
            added_at: None,
            last_seen: None,
        }
    }

    /// Same server, ignoring the name it came from.
    pub fn same_target(&self, other: &Endpoint) -> bool {
        self.address == other.address && self.port == other.port && self.protocol == other.protocol
    }

    /// The same endpoint marked as coming from `origin`.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// What an endpoint is, the record left out: what the policy holds.
    pub fn bare(&self) -> Endpoint {
        Endpoint {
            host: self.host.clone(),
            ..Endpoint::new(self.address, self.port, self.protocol)
        }
    }

    fn identity(&self) -> (&IpAddr, u16, Transport, Option<&str>) {
        (
            &self.address,
            self.port,
            self.protocol,
            self.host.as_deref(),
        )
    }
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for Endpoint {}

impl Hash for Endpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for Endpoint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Endpoint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.identity().cmp(&other.identity())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            SocketAddr::new(self.address, self.port),
            self.protocol
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointParseError {
    #[error("{0:?}: expected ADDR:PORT[/udp|/tcp], e.g. 198.51.100.7:1194/udp or [2001:db8::7]:51820/udp")]
    Syntax(String),
    #[error("{0:?}: unknown protocol {1:?} (expected udp or tcp)")]
    Protocol(String, String),
    #[error("{0:?}: port 0 is not a port a VPN server listens on")]
    PortZero(String),
}

/// Parses `ADDR:PORT[/udp|/tcp]`; the protocol defaults to UDP, which is
/// what OpenVPN and WireGuard use unless told otherwise.
impl FromStr for Endpoint {
    type Err = EndpointParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (addr_part, proto) = match text.rsplit_once('/') {
            Some((a, p)) => {
                let proto = match p.to_ascii_lowercase().as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    _ => return Err(EndpointParseError::Protocol(s.into(), p.into())),
                };
                (a, proto)
            }
            None => (text, Transport::Udp),
        };
        let sock: SocketAddr = addr_part
            .parse()
            .map_err(|_| EndpointParseError::Syntax(s.into()))?;
        if sock.port() == 0 {
            return Err(EndpointParseError::PortZero(s.into()));
        }
        Ok(Endpoint::new(sock.ip(), sock.port(), proto))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_v6_and_default_protocol() {
        let e: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        assert_eq!(e.address, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!((e.port, e.protocol), (1194, Transport::Udp));
        let e: Endpoint = "[2001:db8::7]:443/TCP".parse().unwrap();
        assert_eq!((e.port, e.protocol), (443, Transport::Tcp));
        assert!(e.address.is_ipv6());
        let e: Endpoint = "203.0.113.1:51820".parse().unwrap();
        assert_eq!(e.protocol, Transport::Udp);
    }

    #[test]
    fn round_trips_through_display() {
        for s in ["198.51.100.7:1194/udp", "[2001:db8::7]:443/tcp"] {
            let e: Endpoint = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            "vpn.example.com:1194".parse::<Endpoint>(),
            Err(EndpointParseError::Syntax(_))
        ));
        assert!(matches!(
            "198.51.100.7".parse::<Endpoint>(),
            Err(EndpointParseError::Syntax(_))
        ));
        assert!(matches!(
            "198.51.100.7:1194/sctp".parse::<Endpoint>(),
            Err(EndpointParseError::Protocol(_, _))
        ));
        assert!(matches!(
            "198.51.100.7:0".parse::<Endpoint>(),
            Err(EndpointParseError::PortZero(_))
        ));
        assert!("2001:db8::7:443".parse::<Endpoint>().is_err());
    }

    #[test]
    fn the_record_is_not_part_of_equality_order_or_hash() {
        use std::collections::hash_map::DefaultHasher;
        let plain: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        let mut learned = plain.clone().with_origin(Origin::Learned);
        learned.added_at = Some(5);
        learned.last_seen = Some(9);
        assert_eq!(plain, learned);
        assert_eq!(plain.cmp(&learned), Ordering::Equal);
        let hash = |e: &Endpoint| {
            let mut h = DefaultHasher::new();
            e.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&plain), hash(&learned));
        assert_eq!(learned.bare().origin, Origin::Added);
        assert_eq!(learned.bare().last_seen, None);
        // The host still counts, as it always did; same_target ignores it.
        let mut named = plain.clone();
        named.host = Some("vpn.example.com".into());
        assert_ne!(plain, named);
        assert!(plain.same_target(&named));
    }

    #[test]
    fn an_entry_without_a_record_reads_as_added_and_the_record_round_trips() {
        // A settings entry as written before origins existed.
        let old: Endpoint =
            toml::from_str("address = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\n")
                .unwrap();
        assert_eq!(
            (old.origin, old.added_at, old.last_seen),
            (Origin::Added, None, None)
        );
        let mut e = old.with_origin(Origin::Learned);
        e.added_at = Some(1_800_000_000);
        e.last_seen = Some(1_800_000_100);
        let text = toml::to_string(&e).unwrap();
        assert!(text.contains("origin = \"learned\""), "{text}");
        let back: Endpoint = toml::from_str(&text).unwrap();
        assert_eq!(
            (back.origin, back.added_at, back.last_seen),
            (Origin::Learned, Some(1_800_000_000), Some(1_800_000_100))
        );
        assert!(toml::from_str::<Endpoint>(
            "address = \"198.51.100.7\"\nport = 1\nprotocol = \"udp\"\norigin = \"pinned\"\n"
        )
        .is_err());
    }
}
