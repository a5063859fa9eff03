//! Resolving a VPN server's name for a client of the helper
//! (`RequestBody::Resolve`): `airlockctl endpoints import` and the menu's
//! import must work with the kill switch on, when the system's resolver
//! is caught by the redirect and a name the helper does not know yet is
//! refused. While blocking, the helper asks the network's resolvers itself
//! over its marked upstream sockets, the one DNS path the rules let out;
//! otherwise Airlock leaves DNS alone and the system's resolver answers,
//! as it would for the VPN client.

use std::net::{IpAddr, SocketAddr};

use airlock_shared::dns::{self, parse_query, Name, TYPE_A, TYPE_AAAA};

use super::forward::{ask, MAX_UPSTREAMS};
use super::Config;

/// The addresses of `host` (A, then AAAA), deduplicated in answer order,
/// or why there are none. `blocking` and `upstreams` are the engine's
/// view (see `ResolverStatus`).
pub async fn resolve_host(
    host: &str,
    blocking: bool,
    upstreams: &[IpAddr],
    config: &Config,
) -> Result<Vec<IpAddr>, String> {
    if !blocking {
        let found = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| e.to_string())?;
        return nonempty(dedup(found.map(|s| s.ip())), None);
    }
    let name = Name::from_dotted(host).map_err(|e| format!("{host:?} is not a host name: {e}"))?;
    if upstreams.is_empty() {
        return Err(
            "the kill switch is blocking and the network named no resolvers \
                    (DHCP or resolv.conf) to ask"
                .to_string(),
        );
    }
    let mut found = Vec::new();
    let mut failure = None;
    for qtype in [TYPE_A, TYPE_AAAA] {
        let packet = dns::query(0, &name, qtype);
        let query = parse_query(&packet).map_err(|e| format!("building a query: {e}"))?;
        for &up in upstreams.iter().take(MAX_UPSTREAMS) {
            let server = SocketAddr::new(up, config.upstream_port);
            match ask(&packet, &query, server, config).await {
                Ok((_, answer)) => {
                    found.extend(answer.addresses.iter().map(|&(a, _)| a));
                    break;
                }
                Err(e) => failure = Some(format!("{server}: {e}")),
            }
        }
    }
    nonempty(dedup(found), failure)
}

/// The messages leave out "could not resolve NAME": the client says that.
fn nonempty(found: Vec<IpAddr>, failure: Option<String>) -> Result<Vec<IpAddr>, String> {
    if found.is_empty() {
        return Err(match failure {
            Some(f) => format!("no resolver answered ({f})"),
            None => "no addresses".to_string(),
        });
    }
    Ok(found)
}

fn dedup(addresses: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addresses {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}
