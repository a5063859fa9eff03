//! Turning server names into the addresses the firewall pins.
//!
//! The firewall can only match addresses, so every name is resolved at
//! import time; the name stays in [`Endpoint::host`] so the helper can
//! resolve it again when the provider moves the server. The resolver is a
//! parameter so tests (and callers with their own DNS policy) decide what a
//! name means.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};

use crate::endpoint::{Endpoint, Origin};
use crate::policy::Family;

use super::error::ResolveError;
use super::RemoteSpec;

/// Something that maps a host name to addresses. Any
/// `Fn(&str) -> io::Result<Vec<IpAddr>>` is one.
pub trait Resolve {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

impl<F> Resolve for F
where
    F: Fn(&str) -> io::Result<Vec<IpAddr>>,
{
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self(host)
    }
}

/// The operating system's resolver (`getaddrinfo` through std), which sees
/// /etc/hosts and the system's DNS settings just as the VPN client does.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        // Port 0 only satisfies the API; no connection is made.
        Ok((host, 0).to_socket_addrs()?.map(|s| s.ip()).collect())
    }
}

/// An address written where a name could be: as is, or IPv6 in brackets.
fn literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

impl RemoteSpec {
    /// Every address this server may be reached at, as endpoints. IP
    /// literals are used as they are (with no `host`, since there is nothing
    /// to re-resolve); names are looked up and kept in `host`. A family set
    /// by the config (`udp6`, `tcp4`, ...) filters the addresses, as OpenVPN
    /// would only try those.
    pub fn resolve<R: Resolve + ?Sized>(
        &self,
        resolver: &R,
    ) -> Result<Vec<Endpoint>, ResolveError> {
        let (addresses, host) = match literal(&self.host) {
            Some(ip) => (vec![ip], None),
            None => {
                let found = resolver
                    .resolve(&self.host)
                    .map_err(|error| ResolveError::Lookup {
                        host: self.host.clone(),
                        error,
                    })?;
                (found, Some(self.host.clone()))
            }
        };
        let mut endpoints = Vec::new();
        for address in addresses {
            if self.family.is_some_and(|f| f != Family::of(&address)) {
                continue;
            }
            let endpoint = Endpoint {
                host: host.clone(),
                ..Endpoint::new(address, self.port, self.transport).with_origin(Origin::Imported)
            };
            endpoints.push(endpoint);
        }
        let endpoints = dedup(endpoints);
        if endpoints.is_empty() {
            return Err(match self.family {
                Some(family) => ResolveError::NoAddressOfFamily {
                    host: self.host.clone(),
                    family,
                },
                None => ResolveError::Lookup {
                    host: self.host.clone(),
                    error: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
                },
            });
        }
        Ok(endpoints)
    }
}

/// Resolves every spec, failing on the first that cannot be resolved.
/// Callers that would rather skip such servers call
/// [`RemoteSpec::resolve`] one by one and feed the results to
/// [`dedup`].
pub fn resolve_all<R: Resolve + ?Sized>(
    specs: &[RemoteSpec],
    resolver: &R,
) -> Result<Vec<Endpoint>, ResolveError> {
    let mut out = Vec::new();
    for spec in specs {
        out.extend(spec.resolve(resolver)?);
    }
    Ok(dedup(out))
}

/// One endpoint per (address, port, protocol), first one kept, order kept:
/// configs often list the same server under two names, and the firewall
/// needs it once.
pub fn dedup(endpoints: impl IntoIterator<Item = Endpoint>) -> Vec<Endpoint> {
    let mut seen = HashSet::new();
    endpoints
        .into_iter()
        .filter(|e| seen.insert((e.address, e.port, e.protocol)))
        .collect()
}
