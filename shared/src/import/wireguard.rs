//! The servers a WireGuard config (`wg0.conf`, as `wg` and `wg-quick` read
//! it) would send its handshakes to: each `[Peer]`'s `Endpoint`.
//!
//! Read the way `wg setconf` reads it: `#` starts a comment anywhere, all
//! whitespace in a line is dropped, section names and keys are matched
//! without regard to case, and a second `Endpoint` in the same peer replaces
//! the first. A peer without an `Endpoint` is one that connects to us, so it
//! adds nothing to allow. WireGuard only speaks UDP.

use std::net::Ipv6Addr;

use crate::endpoint::Transport;

use super::error::SyntaxError;
use super::RemoteSpec;

#[derive(PartialEq)]
enum Section {
    Other,
    Peer,
}

/// The peers' endpoints, one per peer that has one, in file order.
pub fn parse(text: &str) -> Result<Vec<RemoteSpec>, SyntaxError> {
    let mut peers: Vec<Option<RemoteSpec>> = Vec::new();
    let mut section = Section::Other;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = squeeze(raw);
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = if line.eq_ignore_ascii_case("[peer]") {
                peers.push(None);
                Section::Peer
            } else {
                Section::Other
            };
            continue;
        }
        if section != Section::Peer {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.eq_ignore_ascii_case("endpoint") {
            let (host, port) = split_endpoint(value, n)?;
            if let Some(peer) = peers.last_mut() {
                *peer = Some(RemoteSpec {
                    host,
                    port,
                    transport: Transport::Udp,
                    family: None,
                    line: n,
                });
            }
        }
    }
    let found: Vec<RemoteSpec> = peers.into_iter().flatten().collect();
    if found.is_empty() {
        return Err(SyntaxError::NoEndpoint);
    }
    Ok(found)
}

/// A line without its comment and without any whitespace, as `wg` sees it.
fn squeeze(raw: &str) -> String {
    let text = raw.split('#').next().unwrap_or("");
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .collect()
}

/// `HOST:PORT` or `[V6]:PORT`. Unbracketed IPv6 is taken only when the part
/// before the last colon is a whole IPv6 address (which `wg` accepts too);
/// anything else with colons is ambiguous and refused.
fn split_endpoint(value: &str, line: usize) -> Result<(String, u16), SyntaxError> {
    let bad = || SyntaxError::BadEndpoint {
        line,
        value: value.to_string(),
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':').ok_or_else(bad)?)
    } else {
        let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
        if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
            return Err(bad());
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port.parse::<u16>() {
        Ok(p) if p != 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => {
            return Err(SyntaxError::BadPort {
                line,
                value: port.to_string(),
            })
        }
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let ok = |s: &str| split_endpoint(s, 1).unwrap();
        assert_eq!(
            ok("vpn.example.com:51820"),
            ("vpn.example.com".into(), 51820)
        );
        assert_eq!(ok("[2001:db8::1]:51820"), ("2001:db8::1".into(), 51820));
        assert_eq!(ok("2001:db8::1:51820"), ("2001:db8::1".into(), 51820));
        for bad in [
            "vpn.example.com",
            "[2001:db8::1]",
            "[2001:db8::1",
            ":51820",
            "2001:db8::1",
        ] {
            assert!(split_endpoint(bad, 1).is_err(), "{bad:?}");
        }
        assert!(matches!(
            split_endpoint("vpn.example.com:0", 4),
            Err(SyntaxError::BadPort { line: 4, .. })
        ));
    }
}
