//! macOS sources for the live snapshot: `netstat -rn` and `scutil --dns`,
//! run and handed to the pure parsers in [`super::netstat`] and
//! [`super::resolv`]. UNVERIFIED: type-checked and linted for macOS on the
//! development machines (Linux, scripts/check-macos) but never run; it
//! only runs two documented commands.

use std::net::IpAddr;
use std::process::Command;

use airlock_shared::network::ParseError;

use super::error::LiveError;
use airlock_shared::network::{netstat, resolv, Route};

pub fn routes() -> Result<Vec<Route>, LiveError> {
    let mut routes = parsed("/usr/sbin/netstat", &["-rn", "-f", "inet"], netstat::parse)?;
    routes.extend(parsed(
        "/usr/sbin/netstat",
        &["-rn", "-f", "inet6"],
        netstat::parse,
    )?);
    Ok(routes)
}

/// The resolvers `scutil --dns` names, and the network's own behind
/// Airlock's DNS switch: while Blocking, the switch points the services
/// at 127.0.0.1 (left out as loopback by the policy and the resolver), so
/// the filtering resolver's upstreams come from the services' DHCP and
/// backed-up manual servers ([`airlock_shared::dns_switch::network_resolvers`]).
/// A failure to read those is logged: `scutil --dns` alone is what the
/// system uses when the switch is off.
pub fn dns() -> Result<Vec<IpAddr>, LiveError> {
    let mut all = parsed("/usr/sbin/scutil", &["--dns"], resolv::parse_scutil_dns)?;
    let switch = crate::dns_switch_macos::DnsSwitch::new(Default::default());
    match switch.read() {
        Ok(services) => {
            for a in airlock_shared::dns_switch::network_resolvers(&services) {
                if !all.contains(&a) {
                    all.push(a);
                }
            }
        }
        Err(e) => tracing::warn!("reading the services' own DNS servers: {e}"),
    }
    Ok(all)
}

fn parsed<T>(
    program: &str,
    args: &[&str],
    parse: fn(&str) -> Result<T, ParseError>,
) -> Result<T, LiveError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| LiveError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(LiveError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    parse(&String::from_utf8_lossy(&out.stdout)).map_err(|error| LiveError::Parse {
        source_name: command,
        error,
    })
}
