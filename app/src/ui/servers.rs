//! The "VPN Servers" submenu's knowledge, pure: which connections found on
//! this machine are already allowed, where each allowed server came from
//! and since when (the [`Ledger`]), and how the allowed servers group into
//! entries with one "Remove" each.
//!
//! The helper keeps only the endpoints, not their history, so the app
//! remembers what it added itself (a found connection, an imported file)
//! and classifies what it did not: a server first seen while the tunnel
//! runs through it was learned by the helper; any other was added outside
//! the app (`airlockctl`, another user's app).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use airlock_shared::endpoint::Endpoint;
use airlock_shared::import::{Client, RemoteSpec};
use airlock_shared::status::{Tunnel, TunnelState};
use serde::{Deserialize, Serialize};

/// A VPN connection found on disk, with the servers it names (not yet
/// resolved) or why they cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundConnection {
    pub client: Client,
    /// What the VPN app calls it.
    pub name: String,
    pub path: PathBuf,
    pub servers: Result<Vec<RemoteSpec>, String>,
}

impl FoundConnection {
    /// `Office VPN (Viscosity)`: the name the user knows, and whose it is.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.client.name())
    }

    /// Whether every server it names is allowed already. An unreadable
    /// config or one naming no server is never "allowed".
    pub fn is_allowed(&self, allowed: &[Endpoint]) -> bool {
        match &self.servers {
            Ok(specs) if !specs.is_empty() => specs.iter().all(|s| spec_allowed(s, allowed)),
            _ => false,
        }
    }

    pub fn source(&self) -> Source {
        Source::Found {
            client: self.client.name().to_string(),
            name: self.name.clone(),
        }
    }
}

/// Whether the helper lets `spec` through: an IP literal by address, a
/// name by the name the endpoint was resolved from (the helper keeps it),
/// so no lookup is needed to tell.
pub fn spec_allowed(spec: &RemoteSpec, allowed: &[Endpoint]) -> bool {
    let literal: Option<IpAddr> = spec.host.parse().ok();
    allowed.iter().any(|e| {
        e.port == spec.port
            && e.protocol == spec.transport
            && match literal {
                Some(ip) => e.address == ip,
                None => e
                    .host
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&spec.host)),
            }
    })
}

/// Where an allowed server came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A connection found on this machine, allowed from the menu.
    Found { client: String, name: String },
    /// A file picked with "Import VPN Configuration…".
    Imported { file: String },
    /// The tunnel ran through it when the app first saw it: the helper
    /// learned it from the VPN client's route (or the user allowed the
    /// connected VPN's server).
    Learned,
    /// Already allowed when the app first saw it, with no tunnel through
    /// it: `airlockctl`, or another user's app.
    Added,
    /// Allowed from a suggestion in "Recently Blocked": the VPN client
    /// was seen trying to reach it.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub source: Source,
    /// Unix time it was allowed (or first seen allowed).
    pub since: u64,
}

/// Allowed endpoint (its `Display`, `198.51.100.7:1194/udp`) -> provenance.
pub type Ledger = BTreeMap<String, Provenance>;

/// Records what the app itself just allowed; an endpoint already known
/// keeps its older history.
pub fn record(ledger: &mut Ledger, added: &[Endpoint], source: &Source, now: u64) {
    for e in added {
        ledger.entry(e.to_string()).or_insert_with(|| Provenance {
            source: source.clone(),
            since: now,
        });
    }
}

/// Brings the ledger in line with the helper's list: forgets what is no
/// longer allowed, classifies what the app did not add. Returns whether it
/// changed (and so needs saving).
pub fn reconcile(ledger: &mut Ledger, allowed: &[Endpoint], tunnel: &Tunnel, now: u64) -> bool {
    let before = ledger.clone();
    let keys: Vec<String> = allowed.iter().map(Endpoint::to_string).collect();
    ledger.retain(|k, _| keys.contains(k));
    for key in keys {
        ledger.entry(key.clone()).or_insert_with(|| {
            let through_it =
                tunnel.state == TunnelState::Up && tunnel.endpoint.as_deref() == Some(key.as_str());
            Provenance {
                source: if through_it {
                    Source::Learned
                } else {
                    Source::Added
                },
                since: now,
            }
        });
    }
    *ledger != before
}

/// One entry of the allowed list: the servers of one source, removed
/// together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEntry {
    pub label: String,
    /// `Viscosity, since 2026-12-03 11:02`.
    pub origin: String,
    pub since: u64,
    pub endpoints: Vec<Endpoint>,
}

/// The allowed servers grouped by where they came from: a found or
/// imported connection is one entry, each learned or added server its
/// own. Ordered by since, then label. `utc_offset` words the times.
pub fn entries(allowed: &[Endpoint], ledger: &Ledger, utc_offset: i64) -> Vec<AllowedEntry> {
    let mut groups: BTreeMap<(Source, Option<String>), (u64, Vec<Endpoint>)> = BTreeMap::new();
    for e in allowed {
        let key = e.to_string();
        let (source, since) = match ledger.get(&key) {
            Some(p) => (p.source.clone(), p.since),
            None => (Source::Added, 0),
        };
        // Learned and added servers have nothing in common but that; the
        // ones allowed from Recently Blocked go by server (IKE's two ports
        // are one entry).
        let single = match source {
            Source::Learned | Source::Added => Some(key),
            Source::Blocked => Some(e.address.to_string()),
            _ => None,
        };
        let group = groups
            .entry((source, single))
            .or_insert((since, Vec::new()));
        group.0 = group.0.min(since);
        group.1.push(e.clone());
    }
    let mut out: Vec<AllowedEntry> = groups
        .into_iter()
        .map(|((source, _), (since, endpoints))| {
            let (label, how) = match &source {
                Source::Found { client, name } => (format!("{name} ({client})"), client.clone()),
                Source::Imported { file } => (file.clone(), "Imported".to_string()),
                Source::Learned => (server_words(&endpoints[0]), "Learned from the VPN".into()),
                Source::Added => (server_words(&endpoints[0]), "Added outside the app".into()),
                Source::Blocked => (
                    server_words(&endpoints[0]),
                    "Allowed from Recently Blocked".into(),
                ),
            };
            let origin = if since == 0 {
                how
            } else {
                format!("{how}, since {}", date_time(since, utc_offset))
            };
            AllowedEntry {
                label,
                origin,
                since,
                endpoints,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.since, &a.label).cmp(&(b.since, &b.label)));
    out
}

/// `198.51.100.7:1194/udp (vpn.example.com)`.
pub fn server_words(e: &Endpoint) -> String {
    match &e.host {
        Some(h) => format!("{e} ({h})"),
        None => e.to_string(),
    }
}

/// `2026-12-03 11:02` in a zone `utc_offset` seconds east of UTC.
pub fn date_time(unix: u64, utc_offset: i64) -> String {
    let local = i64::try_from(unix)
        .unwrap_or(i64::MAX)
        .saturating_add(utc_offset);
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::endpoint::Transport;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    fn spec(host: &str, port: u16) -> RemoteSpec {
        RemoteSpec {
            host: host.into(),
            port,
            transport: Transport::Udp,
            family: None,
            line: 1,
        }
    }

    fn tunnel(endpoint: Option<&str>) -> Tunnel {
        Tunnel {
            state: if endpoint.is_some() {
                TunnelState::Up
            } else {
                TunnelState::Down
            },
            interface: endpoint.map(|_| "tun0".into()),
            endpoint: endpoint.map(Into::into),
        }
    }

    #[test]
    fn a_spec_is_allowed_by_address_or_by_the_name_it_was_resolved_from() {
        let mut named = ep("198.51.100.9:1194/udp");
        named.host = Some("VPN.example.com".into());
        let allowed = [ep("198.51.100.7:1194/udp"), named];
        assert!(spec_allowed(&spec("198.51.100.7", 1194), &allowed));
        assert!(!spec_allowed(&spec("198.51.100.7", 443), &allowed));
        assert!(spec_allowed(&spec("vpn.example.com", 1194), &allowed));
        assert!(!spec_allowed(&spec("other.example.com", 1194), &allowed));
        let mut tcp = spec("198.51.100.7", 1194);
        tcp.transport = Transport::Tcp;
        assert!(!spec_allowed(&tcp, &allowed));
    }

    #[test]
    fn a_connection_is_allowed_only_when_all_its_servers_are() {
        let mut c = FoundConnection {
            client: Client::Viscosity,
            name: "Office VPN".into(),
            path: "/x".into(),
            servers: Ok(vec![spec("198.51.100.7", 1194), spec("198.51.100.8", 1194)]),
        };
        assert_eq!(c.label(), "Office VPN (Viscosity)");
        assert!(!c.is_allowed(&[ep("198.51.100.7:1194/udp")]));
        assert!(c.is_allowed(&[ep("198.51.100.7:1194/udp"), ep("198.51.100.8:1194/udp")]));
        c.servers = Ok(vec![]);
        assert!(!c.is_allowed(&[]));
        c.servers = Err("permission denied".into());
        assert!(!c.is_allowed(&[]));
    }

    #[test]
    fn servers_allowed_from_recently_blocked_are_one_entry_per_server() {
        let mut l = Ledger::new();
        let ike = [ep("203.0.113.9:500/udp"), ep("203.0.113.9:4500/udp")];
        record(&mut l, &ike, &Source::Blocked, 100);
        record(
            &mut l,
            &[ep("198.51.100.7:1194/udp")],
            &Source::Blocked,
            200,
        );
        let mut allowed = ike.to_vec();
        allowed.push(ep("198.51.100.7:1194/udp"));
        let e = entries(&allowed, &l, 0);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].endpoints, ike);
        assert!(e[0]
            .origin
            .starts_with("Allowed from Recently Blocked, since "));
        assert_eq!(e[1].endpoints, [ep("198.51.100.7:1194/udp")]);
    }

    #[test]
    fn the_ledger_keeps_its_history_and_classifies_the_rest() {
        let office = Source::Found {
            client: "Viscosity".into(),
            name: "Office VPN".into(),
        };
        let mut l = Ledger::new();
        record(&mut l, &[ep("198.51.100.7:1194/udp")], &office, 100);
        // Recorded twice: the first time stays.
        record(&mut l, &[ep("198.51.100.7:1194/udp")], &Source::Added, 200);
        let allowed = [
            ep("198.51.100.7:1194/udp"),
            ep("203.0.113.5:51820/udp"),
            ep("203.0.113.6:443/tcp"),
        ];
        assert!(reconcile(
            &mut l,
            &allowed,
            &tunnel(Some("203.0.113.5:51820/udp")),
            300
        ));
        assert_eq!(l["198.51.100.7:1194/udp"].source, office);
        assert_eq!(l["198.51.100.7:1194/udp"].since, 100);
        assert_eq!(l["203.0.113.5:51820/udp"].source, Source::Learned);
        assert_eq!(l["203.0.113.6:443/tcp"].source, Source::Added);
        assert!(
            !reconcile(&mut l, &allowed, &tunnel(None), 400),
            "no change"
        );
        // Removed elsewhere: forgotten.
        assert!(reconcile(&mut l, &allowed[1..], &tunnel(None), 500));
        assert!(!l.contains_key("198.51.100.7:1194/udp"));
    }

    #[test]
    fn entries_group_by_source_with_their_time() {
        let office = Source::Found {
            client: "Viscosity".into(),
            name: "Office VPN".into(),
        };
        let mut l = Ledger::new();
        let two = [ep("198.51.100.7:1194/udp"), ep("198.51.100.8:1194/udp")];
        // 2026-12-03 11:02:00 UTC.
        let t = 1_796_295_720;
        record(&mut l, &two, &office, t);
        let mut named = ep("203.0.113.9:1194/udp");
        named.host = Some("vpn.example.com".into());
        record(
            &mut l,
            std::slice::from_ref(&named),
            &Source::Imported {
                file: "work.ovpn".into(),
            },
            t + 60,
        );
        let mut allowed = two.to_vec();
        allowed.push(named.clone());
        allowed.push(ep("203.0.113.5:51820/udp"));
        allowed.push(ep("203.0.113.6:51820/udp"));
        reconcile(
            &mut l,
            &allowed,
            &tunnel(Some("203.0.113.5:51820/udp")),
            t + 120,
        );
        let e = entries(&allowed, &l, 3600);
        let got: Vec<(&str, &str, usize)> = e
            .iter()
            .map(|e| (e.label.as_str(), e.origin.as_str(), e.endpoints.len()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Office VPN (Viscosity)",
                    "Viscosity, since 2026-12-03 12:02",
                    2
                ),
                ("work.ovpn", "Imported, since 2026-12-03 12:03", 1),
                (
                    "203.0.113.5:51820/udp",
                    "Learned from the VPN, since 2026-12-03 12:04",
                    1
                ),
                (
                    "203.0.113.6:51820/udp",
                    "Added outside the app, since 2026-12-03 12:04",
                    1
                ),
            ]
        );
        assert_eq!(
            server_words(&named),
            "203.0.113.9:1194/udp (vpn.example.com)"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(date_time(0, 0), "1970-01-01 00:00");
        assert_eq!(date_time(951_782_400, 0), "2000-02-29 00:00");
        assert_eq!(date_time(1_796_295_720, 0), "2026-12-03 11:02");
        assert_eq!(date_time(0, -60), "1969-12-31 23:59");
    }
}
