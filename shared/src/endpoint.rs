//! A VPN endpoint: the one address, port and protocol the kill switch lets
//! through on physical interfaces so the VPN can (re)connect.

use std::fmt;
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

/// A VPN server the kill switch lets through. `host` keeps the name it was
/// resolved from, so the address can be re-resolved later; the address is
/// what the firewall pins.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub address: IpAddr,
    pub port: u16,
    pub protocol: Transport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Endpoint {
    pub fn new(address: IpAddr, port: u16, protocol: Transport) -> Self {
        Endpoint {
            address,
            port,
            protocol,
            host: None,
        }
    }

    /// Same server, ignoring the name it came from.
    pub fn same_target(&self, other: &Endpoint) -> bool {
        self.address == other.address && self.port == other.port && self.protocol == other.protocol
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
}
