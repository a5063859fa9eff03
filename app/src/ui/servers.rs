//! The "VPN Servers" submenu's knowledge, pure: which connections found on
//! this machine are already allowed, where each allowed server came from
//! and since when, and how the allowed servers group into entries with one
//! "Remove" each.
//!
//! The helper keeps each endpoint's origin (added, imported, learned) and
//! dates, and those are what the menu says. The app's own record (the
//! [`Ledger`]) keeps only what the helper cannot know: which found
//! connection or imported file a server came from (so its servers form one
//! entry, named as the user knows it), and that a server was allowed from
//! the connected VPN rather than typed with `airlockctl`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use airlock_shared::dns::AnsweredPin;
use airlock_shared::endpoint::listing::{listing, Listed, Why};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::import::{Client, RemoteSpec};
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

/// Where the app itself allowed a server from: what the helper's origin
/// does not say.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A connection found on this machine, allowed from the menu.
    Found { client: String, name: String },
    /// A file picked with "Import VPN Configuration…".
    Imported { file: String },
    /// "Allow the Server of the VPN Connected Now": the helper learned it
    /// on request and keeps it as added (it never expires).
    Connected,
    /// Allowed from a suggestion in "Recently Blocked": the VPN client
    /// was seen trying to reach it.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub source: Source,
    /// Unix time the app allowed it; shown only when the helper has no
    /// date for it (an endpoint saved before the helper kept dates).
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

/// Forgets what the helper no longer allows. Returns whether it changed
/// (and so needs saving). What the app did not add needs no record: the
/// helper's origin says where it came from.
pub fn reconcile(ledger: &mut Ledger, allowed: &[Endpoint]) -> bool {
    let before = ledger.len();
    let keys: Vec<String> = allowed.iter().map(Endpoint::to_string).collect();
    ledger.retain(|k, _| keys.contains(k));
    ledger.len() != before
}

/// The servers newly in `after`: what "Allow the Server of the VPN
/// Connected Now" added, to record as [`Source::Connected`].
pub fn newly_allowed(before: &[Endpoint], after: &[Endpoint]) -> Vec<Endpoint> {
    after
        .iter()
        .filter(|e| !before.iter().any(|b| b.same_target(e)))
        .cloned()
        .collect()
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
    /// Pinned-by-answer ones are the helper's, in memory only, and go by
    /// themselves: no "Remove".
    pub removable: bool,
}

/// How [`entries`] groups: (pinned, the app's source, the endpoint when it
/// is an entry of its own; empty for a found or imported connection's).
type GroupKey = (bool, Option<Source>, String);

/// The allowed servers grouped by where they came from: a found or
/// imported connection the app allowed is one entry, every other server
/// its own, worded by the helper's origin (added by hand, imported,
/// learned with when it was last seen); the servers pinned from DNS
/// answers last. Ordered by since, then label. `utc_offset` words the
/// times.
pub fn entries(
    allowed: &[Endpoint],
    pins: &[AnsweredPin],
    ledger: &Ledger,
    utc_offset: i64,
) -> Vec<AllowedEntry> {
    let when = |t: u64| date_time(t, utc_offset);
    let since_words = |how: &str, t: Option<u64>| match t {
        Some(t) => format!("{how}, since {}", when(t)),
        None => how.to_string(),
    };
    let mut groups: BTreeMap<GroupKey, (u64, Vec<&Listed>)> = BTreeMap::new();
    let rows = listing(allowed, None, pins);
    for l in &rows {
        let key = l.endpoint().to_string();
        let app = ledger
            .get(&key)
            .filter(|_| l.origin != Why::Pinned)
            .filter(|p| p.source != Source::Connected || l.origin == Why::Added);
        let since = l
            .added_at
            .or(app.map(|p| p.since))
            .or(l.expires_at)
            .unwrap_or(0);
        let group_key = match app.map(|p| &p.source) {
            Some(s @ (Source::Found { .. } | Source::Imported { .. })) => {
                (false, Some(s.clone()), String::new())
            }
            Some(Source::Connected) => (false, Some(Source::Connected), key),
            // By server: IKE's two ports are one entry.
            Some(Source::Blocked) => (
                false,
                Some(Source::Blocked),
                l.endpoint().address.to_string(),
            ),
            None => (l.origin == Why::Pinned, None, key),
        };
        let group = groups.entry(group_key).or_insert((since, Vec::new()));
        group.0 = group.0.min(since);
        group.1.push(l);
    }
    let mut out: Vec<AllowedEntry> = groups
        .into_iter()
        .map(|((pinned, source, _), (since, members))| {
            let first = members[0];
            let dated = (since != 0).then_some(since);
            let (label, origin) = match &source {
                Some(Source::Found { client, name }) => {
                    (format!("{name} ({client})"), since_words(client, dated))
                }
                Some(Source::Imported { file }) => (file.clone(), since_words("Imported", dated)),
                Some(Source::Connected) => (
                    server_words(&first.endpoint()),
                    since_words("Allowed from the connected VPN", dated),
                ),
                Some(Source::Blocked) => (
                    server_words(&first.endpoint()),
                    since_words("Allowed from Recently Blocked", dated),
                ),
                None => (server_words(&first.endpoint()), helper_words(first, &when)),
            };
            AllowedEntry {
                label,
                origin,
                since,
                endpoints: members.iter().map(|l| l.endpoint()).collect(),
                removable: !pinned,
            }
        })
        .collect();
    out.sort_by(|a, b| (!a.removable, a.since, &a.label).cmp(&(!b.removable, b.since, &b.label)));
    out
}

/// The helper's origin in the menu's words.
fn helper_words(l: &Listed, when: &dyn Fn(u64) -> String) -> String {
    let since = |how: &str| match l.added_at {
        Some(t) => format!("{how}, since {}", when(t)),
        None => how.to_string(),
    };
    match l.origin {
        Why::Added => since("Added by hand"),
        Why::Imported => since("Imported"),
        Why::Learned => {
            let mut s = since("Learned from the VPN");
            if let Some(t) = l.last_seen.filter(|&t| Some(t) != l.added_at) {
                s.push_str(&format!(", last seen {}", when(t)));
            }
            s
        }
        Why::Pinned => match l.expires_at {
            Some(t) => format!("Pinned by a DNS answer until {}", when(t)),
            None => "Pinned by a DNS answer".into(),
        },
    }
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
    use airlock_shared::endpoint::{Origin, Transport};

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
        let e = entries(&allowed, &[], &l, 0);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].endpoints, ike);
        assert!(e[0]
            .origin
            .starts_with("Allowed from Recently Blocked, since "));
        assert_eq!(e[1].endpoints, [ep("198.51.100.7:1194/udp")]);
    }

    #[test]
    fn the_ledger_keeps_its_history_and_forgets_what_is_gone() {
        let office = Source::Found {
            client: "Viscosity".into(),
            name: "Office VPN".into(),
        };
        let mut l = Ledger::new();
        record(&mut l, &[ep("198.51.100.7:1194/udp")], &office, 100);
        // Recorded twice: the first time stays.
        record(
            &mut l,
            &[ep("198.51.100.7:1194/udp")],
            &Source::Connected,
            200,
        );
        assert_eq!(l["198.51.100.7:1194/udp"].source, office);
        assert_eq!(l["198.51.100.7:1194/udp"].since, 100);
        let allowed = [ep("198.51.100.7:1194/udp"), ep("203.0.113.5:51820/udp")];
        assert!(!reconcile(&mut l, &allowed), "nothing to classify");
        assert_eq!(l.len(), 1);
        // Removed elsewhere: forgotten.
        assert!(reconcile(&mut l, &allowed[1..]));
        assert!(l.is_empty());
        assert_eq!(
            newly_allowed(&allowed[..1], &allowed),
            vec![ep("203.0.113.5:51820/udp")]
        );
    }

    fn dated(s: &str, origin: Origin, added: Option<u64>, seen: Option<u64>) -> Endpoint {
        let mut e = ep(s).with_origin(origin);
        e.added_at = added;
        e.last_seen = seen;
        e
    }

    #[test]
    fn entries_group_by_source_and_word_the_helpers_origin_and_dates() {
        let office = Source::Found {
            client: "Viscosity".into(),
            name: "Office VPN".into(),
        };
        // 2026-12-03 11:02:00 UTC.
        let t = 1_796_295_720;
        let two = [
            dated("198.51.100.7:1194/udp", Origin::Imported, Some(t), None),
            dated("198.51.100.8:1194/udp", Origin::Imported, Some(t), None),
        ];
        let mut l = Ledger::new();
        record(&mut l, &two, &office, t);
        let mut named = dated("203.0.113.9:1194/udp", Origin::Imported, None, None);
        named.host = Some("vpn.example.com".into());
        // Saved before the helper kept dates: the app's own time is shown.
        record(
            &mut l,
            std::slice::from_ref(&named),
            &Source::Imported {
                file: "work.ovpn".into(),
            },
            t + 60,
        );
        let connected = dated("203.0.113.7:1194/udp", Origin::Added, Some(t + 90), None);
        record(
            &mut l,
            std::slice::from_ref(&connected),
            &Source::Connected,
            t + 90,
        );
        let mut allowed = two.to_vec();
        allowed.push(named.clone());
        allowed.push(connected);
        allowed.push(dated(
            "203.0.113.5:51820/udp",
            Origin::Learned,
            Some(t + 120),
            Some(t + 3600),
        ));
        allowed.push(dated(
            "203.0.113.6:51820/udp",
            Origin::Added,
            Some(t + 120),
            None,
        ));
        // Typed long ago, no date, no record: first, and undated.
        allowed.push(ep("192.0.2.1:443/tcp"));
        let mut pinned = ep("10.9.0.5:1194/udp");
        pinned.host = Some("vpn.example.com".into());
        let pins = [AnsweredPin {
            endpoint: pinned,
            expires_at: t + 300,
        }];
        let e = entries(&allowed, &pins, &l, 3600);
        let got: Vec<(&str, &str, usize, bool)> = e
            .iter()
            .map(|e| {
                (
                    e.label.as_str(),
                    e.origin.as_str(),
                    e.endpoints.len(),
                    e.removable,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("192.0.2.1:443/tcp", "Added by hand", 1, true),
                (
                    "Office VPN (Viscosity)",
                    "Viscosity, since 2026-12-03 12:02",
                    2,
                    true
                ),
                ("work.ovpn", "Imported, since 2026-12-03 12:03", 1, true),
                (
                    "203.0.113.7:1194/udp",
                    "Allowed from the connected VPN, since 2026-12-03 12:03",
                    1,
                    true
                ),
                (
                    "203.0.113.5:51820/udp",
                    "Learned from the VPN, since 2026-12-03 12:04, last seen 2026-12-03 13:02",
                    1,
                    true
                ),
                (
                    "203.0.113.6:51820/udp",
                    "Added by hand, since 2026-12-03 12:04",
                    1,
                    true
                ),
                (
                    "10.9.0.5:1194/udp (vpn.example.com)",
                    "Pinned by a DNS answer until 2026-12-03 12:07",
                    1,
                    false
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
