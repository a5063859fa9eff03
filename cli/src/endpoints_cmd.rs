//! `airlockctl endpoints ...`: the VPN servers the kill switch lets
//! through on physical interfaces, so the VPN can connect at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use airlock_shared::endpoint::listing::{listing, Listed};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::time::Clock;
use anyhow::Context;
use clap::{Args, Subcommand};

use crate::helper::{unexpected, Helper};

const LONG_ABOUT: &str = "\
List or change the VPN servers (endpoints) the kill switch lets through outside the
tunnel. While the kill switch is on, the VPN can only connect to a server listed here
(or one the helper learned from a tunnel that was up).

An endpoint is ADDR:PORT[/udp|/tcp], protocol udp by default; IPv6 addresses go in
brackets. Listing is open to everyone; changes need sudo.";

const EXAMPLES: &str = "\
Examples:
  airlockctl endpoints list
  sudo airlockctl endpoints add 198.51.100.7:1194/udp [2001:db8::7]:443/tcp
  sudo airlockctl endpoints remove 198.51.100.7:1194/udp
  sudo airlockctl endpoints import ~/vpn/office.ovpn

Exit status: 0 done, 1 refused or failed (the message says why), 2 bad arguments.";

/// List, add, remove or import the VPN servers let through.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct EndpointsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Print the endpoints, one `ADDR:PORT/PROTO` a line (hostname in
    /// parentheses when it came from one), then how it came to be let
    /// through and since when: added, imported, learned (with when it was
    /// last seen and when it expires unless seen again) or pinned by a
    /// DNS answer (until when).
    List {
        /// Print a JSON array instead: per endpoint its address, port,
        /// protocol, host, origin (added, imported, learned, pinned),
        /// added_at, last_seen, expires_at (Unix seconds, when known).
        #[arg(long)]
        json: bool,
    },
    /// Let these VPN servers through (already listed ones are kept once).
    Add {
        /// e.g. 198.51.100.7:1194/udp or [2001:db8::7]:51820
        #[arg(value_name = "ADDR:PORT[/udp|/tcp]", required = true)]
        endpoints: Vec<Endpoint>,
    },
    /// Stop letting these VPN servers through; each must be listed.
    Remove {
        /// e.g. 198.51.100.7:1194/udp
        #[arg(value_name = "ADDR:PORT[/udp|/tcp]", required = true)]
        endpoints: Vec<Endpoint>,
    },
    /// Add the servers named in an OpenVPN (.ovpn/.conf) or WireGuard
    /// (.conf) config file, resolving host names now.
    Import {
        /// The VPN client's config file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub fn run(args: EndpointsArgs, socket: &Path) -> anyhow::Result<()> {
    match args.action {
        Action::List { json } => list(socket, json),
        Action::Add { endpoints } => change(socket, RequestBody::AddEndpoints { endpoints }),
        Action::Remove { endpoints } => change(socket, RequestBody::RemoveEndpoints { endpoints }),
        Action::Import { file } => {
            // Read the file before bothering the helper: a typo in the
            // path should not need the helper to be running.
            let specs = load_config(&file)?;
            let endpoints = resolve_with_helper(socket, &file, &specs)?;
            change(socket, RequestBody::AddEndpoints { endpoints })
        }
    }
}

/// The servers a VPN config file (OpenVPN, Viscosity, Tunnelblick or
/// WireGuard) names. A broken config is bad input (exit 2, the message
/// names file and line); an unreadable file is a failure (exit 1).
fn load_config(file: &Path) -> anyhow::Result<Vec<airlock_shared::import::RemoteSpec>> {
    use airlock_shared::import::{load, ImportError};
    load(file, None).map_err(|e| match e.innermost() {
        ImportError::Syntax(_) => crate::exit::BadInput(e.to_string()).into(),
        _ => anyhow::anyhow!("{e}"),
    })
}

/// Resolves the servers' names through the helper (`Resolve`), which can
/// while the kill switch blocks DNS: the system's resolver cannot then,
/// since the kill switch refuses names it does not know yet. A name that
/// does not resolve is a failure (exit 1).
fn resolve_with_helper(
    socket: &Path,
    file: &Path,
    specs: &[airlock_shared::import::RemoteSpec],
) -> anyhow::Result<Vec<Endpoint>> {
    use airlock_shared::import::resolve_all;
    let helper = std::cell::RefCell::new(None::<Helper>);
    let resolver = |host: &str| -> std::io::Result<Vec<std::net::IpAddr>> {
        let mut slot = helper.borrow_mut();
        if slot.is_none() {
            *slot = Some(Helper::connect(socket).map_err(std::io::Error::other)?);
        }
        let Some(h) = slot.as_mut() else {
            return Err(std::io::Error::other("no connection to the helper"));
        };
        match h.request(RequestBody::Resolve { host: host.into() }) {
            Ok(ResponseBody::Addresses(a)) => Ok(a),
            Ok(other) => Err(std::io::Error::other(
                unexpected("the addresses", &other).to_string(),
            )),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    };
    resolve_all(specs, &resolver).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// `198.51.100.7:1194/udp (vpn.example.com)`.
pub fn endpoint_line(e: &Endpoint) -> String {
    match &e.host {
        Some(h) => format!("{e} ({h})"),
        None => e.to_string(),
    }
}

/// `198.51.100.7:1194/udp (vpn.example.com)  learned 2026-12-01 09:00:00
/// +01:00, last seen ...`: the endpoint first, so the first word of each
/// line is still the endpoint, then its record.
pub fn listed_line(l: &Listed, clock: &Clock) -> String {
    format!(
        "{}  {}",
        endpoint_line(&l.endpoint()),
        l.record_words(|t| clock.datetime(t))
    )
}

fn list(socket: &Path, json: bool) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let endpoints = match helper.request(RequestBody::ListEndpoints)? {
        ResponseBody::Endpoints(list) => list,
        other => return Err(unexpected("the endpoint list", &other)),
    };
    // The TTL, to say when a learned one expires; the pinned ones, which
    // live in the helper's memory only and come with the status.
    let ttl = match helper.request(RequestBody::GetSettings)? {
        ResponseBody::Settings(s) => s.learned_endpoint_ttl,
        other => return Err(unexpected("the settings", &other)),
    };
    let pins = match helper.request(RequestBody::GetStatus)? {
        ResponseBody::Status(s) => s.resolver.map(|r| r.pinned).unwrap_or_default(),
        other => return Err(unexpected("the status", &other)),
    };
    let rows = listing(&endpoints, Some(ttl), &pins);
    let mut text = if json {
        serde_json::to_string_pretty(&rows).context("encoding the endpoints")?
    } else {
        let clock = crate::clock::system();
        rows.iter()
            .map(|l| listed_line(l, &clock))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !text.is_empty() {
        text.push('\n');
    }
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}

fn change(socket: &Path, request: RequestBody) -> anyhow::Result<()> {
    let (verb, count) = match &request {
        RequestBody::AddEndpoints { endpoints } => ("Added", endpoints.len()),
        RequestBody::RemoveEndpoints { endpoints } => ("Removed", endpoints.len()),
        _ => ("Changed", 0),
    };
    let mut helper = Helper::connect(socket)?;
    let status = helper.status_of(request)?;
    let servers = |n: usize| {
        if n == 1 {
            "1 VPN server".to_string()
        } else {
            format!("{n} VPN servers")
        }
    };
    println!(
        "{verb} {}; {} let through now",
        servers(count),
        servers(status.endpoints)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_the_host_it_came_from() {
        let mut e: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        assert_eq!(endpoint_line(&e), "198.51.100.7:1194/udp");
        e.host = Some("vpn.example.com".into());
        assert_eq!(endpoint_line(&e), "198.51.100.7:1194/udp (vpn.example.com)");
        let v6: Endpoint = "[2001:db8::7]:443/tcp".parse().unwrap();
        assert_eq!(endpoint_line(&v6), "[2001:db8::7]:443/tcp");
    }

    #[test]
    fn listed_lines_say_where_each_came_from_in_local_time() {
        use airlock_shared::endpoint::expiry::LearnedTtl;
        use airlock_shared::endpoint::Origin;
        // 2026-12-03 11:02:00 UTC.
        let t = 1_796_295_720;
        let mut learned: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        learned = learned.with_origin(Origin::Learned);
        learned.added_at = Some(t);
        learned.last_seen = Some(t + 3600);
        let typed: Endpoint = "[2001:db8::7]:443/tcp".parse().unwrap();
        let rows = listing(&[typed, learned], Some(LearnedTtl::default()), &[]);
        let clock = Clock::fixed(t, 3600);
        let lines: Vec<String> = rows.iter().map(|l| listed_line(l, &clock)).collect();
        assert_eq!(
            lines,
            [
                "[2001:db8::7]:443/tcp  added, date unknown",
                "198.51.100.7:1194/udp  learned 2026-12-03 12:02:00 +01:00, \
                 last seen 2026-12-03 13:02:00 +01:00, \
                 expires 2027-01-02 13:02:00 +01:00 unless seen again",
            ]
        );
    }
}
