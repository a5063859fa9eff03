//! Linux sources for the live snapshot: files under /proc and /etc, read
//! and handed to the pure parsers.

use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::Path;

use airlock_shared::network::ParseError;

use super::error::LiveError;
use airlock_shared::network::{resolv, routes_linux, Route};

pub fn routes() -> Result<Vec<Route>, LiveError> {
    let mut routes = parsed("/proc/net/route", routes_linux::parse_ipv4)?;
    // No IPv6 in the kernel (ipv6.disable=1) means no file, and no routes.
    if let Some(text) = read_optional("/proc/net/ipv6_route")? {
        let v6 = routes_linux::parse_ipv6(&text);
        routes.extend(with_name("/proc/net/ipv6_route", v6)?);
    }
    Ok(routes)
}

/// A machine without /etc/resolv.conf (some containers) has no resolvers.
/// With systemd-resolved's stub there, its own upstreams are the network's
/// ([`resolv::network_resolvers`] decides).
pub fn dns() -> Result<Vec<IpAddr>, LiveError> {
    const PATH: &str = "/etc/resolv.conf";
    let listed = match read_optional(PATH)? {
        Some(text) => with_name(PATH, resolv::parse_resolv_conf(&text))?,
        None => Vec::new(),
    };
    // A second opinion only: if it cannot be read or parsed, the listed
    // resolvers stand (the snapshot must not fail over it).
    let stub = read_optional(resolv::RESOLVED_UPSTREAMS)
        .ok()
        .flatten()
        .and_then(|text| resolv::parse_resolv_conf(&text).ok());
    Ok(resolv::network_resolvers(listed, stub))
}

fn parsed<T>(path: &str, parse: fn(&str) -> Result<T, ParseError>) -> Result<T, LiveError> {
    let text = std::fs::read_to_string(path).map_err(|source| LiveError::Read {
        path: path.into(),
        source,
    })?;
    with_name(path, parse(&text))
}

fn read_optional(path: &str) -> Result<Option<String>, LiveError> {
    match std::fs::read_to_string(Path::new(path)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LiveError::Read {
            path: path.into(),
            source,
        }),
    }
}

fn with_name<T>(path: &str, r: Result<T, ParseError>) -> Result<T, LiveError> {
    r.map_err(|error| LiveError::Parse {
        source_name: path.to_string(),
        error,
    })
}
