//! "Recently Blocked": the decisions behind the submenu (its rows' words,
//! the suggestions' labels and what each does) and the "Show All…"
//! document. Pure; the view puts them in rows, the app writes the file.
//!
//! The list is polled (`GetBlocked`, see `helper_link::spawn_blocked_poller`
//! for the rate and why) only while the helper is connected.

use std::path::{Path, PathBuf};

use airlock_shared::blocked::suggest::Suggestion;
use airlock_shared::blocked::{words, BlockedEntry};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::protocol::OptionName;

use crate::ui::model::{Action, Allowing, Blocked};
use crate::ui::servers::Source;
use crate::ui::show_rules;

pub const LABEL: &str = "Recently Blocked";
pub const SHOW_ALL_LABEL: &str = "Show All…";
/// Rows in the submenu; "Show All…" has the rest. A menu taller than the
/// screen scrolls, which nobody reads.
pub const MAX_ROWS: usize = 8;

/// "mDNSResponder → 192.168.1.1:53 (DNS) ×14, 10 s ago"; the protocol
/// instead of a service name when the port has none ("…:5533/udp").
/// Under a minute the age is in steps of 10 s, so the row (a menu layout
/// update) changes at most every 10 s while nothing new is blocked.
pub fn menu_line(e: &BlockedEntry, now_ms: u64) -> String {
    let what = match words::service(e.dst_port) {
        Some(s) => format!(" ({s})"),
        None if e.dst_port.is_some() => format!("/{}", words::protocol(e.protocol)),
        None => format!(" {}", words::protocol(e.protocol)),
    };
    let secs = now_ms.saturating_sub(e.last_seen_ms) / 1000;
    let ago = match secs {
        s if s < 10 => "just now".to_string(),
        s if s < 60 => format!("{} s ago", s / 10 * 10),
        s => format!("{} ago", words::ago(s)),
    };
    format!(
        "{} {} {}{what} ×{}, {ago}",
        words::sender_short(&e.sender),
        words::arrow(e.direction),
        words::destination(e),
        e.count
    )
}

/// What the suggestion's menu item says: the change it makes.
pub fn suggestion_label(s: &Suggestion) -> String {
    match s {
        Suggestion::AllowDns { resolvers } => format!(
            "Turn On DNS While Disconnected (DNS to {} blocked)",
            resolvers
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
        Suggestion::AddVpnServer { endpoints, port } => format!(
            "Allow {} as a VPN Server? ({})",
            servers(endpoints),
            port.why()
        ),
    }
}

/// "203.0.113.9:500+4500/udp" for one server's ports, so the label fits
/// a menu; else each in full.
fn servers(endpoints: &[Endpoint]) -> String {
    let Some(first) = endpoints.first() else {
        return String::new();
    };
    let one_server = endpoints
        .iter()
        .all(|e| e.address == first.address && e.protocol == first.protocol);
    if !one_server {
        return endpoints
            .iter()
            .map(Endpoint::to_string)
            .collect::<Vec<_>>()
            .join(" + ");
    }
    let ports: Vec<String> = endpoints.iter().map(|e| e.port.to_string()).collect();
    let host = match first.address {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        a => a.to_string(),
    };
    format!("{host}:{}/{}", ports.join("+"), first.protocol)
}

/// The suggestion's key in its menu item's id, read back on a click.
pub fn suggestion_key(s: &Suggestion) -> String {
    match s {
        Suggestion::AllowDns { .. } => "dns".into(),
        Suggestion::AddVpnServer { endpoints, .. } => endpoints
            .iter()
            .map(Endpoint::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The one change a suggestion's click asks the helper for (which still
/// needs an administrator: a refusal is shown like any other).
pub fn action(s: &Suggestion) -> Action {
    match s {
        Suggestion::AllowDns { .. } => Action::SetOption(OptionName::AllowDns, true),
        Suggestion::AddVpnServer { endpoints, .. } => Action::Allow {
            what: Allowing::Endpoints {
                label: endpoints
                    .iter()
                    .map(Endpoint::to_string)
                    .collect::<Vec<_>>()
                    .join(" and "),
                endpoints: endpoints.clone(),
                source: Source::Blocked,
            },
            then_enable: false,
        },
    }
}

/// The "Show All…" document: every row in full, then the suggestions.
pub fn document(blocked: &Blocked, suggestions: &[Suggestion]) -> String {
    format!(
        "# What Airlock's kill switch blocked recently (as of the last read).\n\
         # Read-only copy: `airlockctl blocked --follow` shows it live.\n\n{}",
        words::text(&blocked.report, suggestions, blocked.at_ms)
    )
}

/// Writes the document, private to the user, next to the rules copy.
pub fn write(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    show_rules::write_private(dir, "airlock-blocked.txt", text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::blocked::suggest::VpnPort;
    use airlock_shared::blocked::{BlockedDirection, BlockedReport, InterfaceRef, Sender};
    use airlock_shared::policy::Protocol;

    pub(crate) fn entry(dst: &str, port: u16, count: u64, last_seen_ms: u64) -> BlockedEntry {
        BlockedEntry {
            dst: dst.parse().unwrap(),
            dst_port: Some(port),
            protocol: Protocol::Udp,
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Name("en0".into()),
            sender: Sender {
                uid: Some(501),
                pid: Some(88),
                process: Some("mDNSResponder".into()),
            },
            name: None,
            last_src: "192.168.1.20".parse().unwrap(),
            count,
            first_seen_ms: 0,
            last_seen_ms,
        }
    }

    #[test]
    fn a_row_names_sender_destination_count_and_age() {
        let e = entry("192.168.1.1", 53, 14, 50_000);
        assert_eq!(
            menu_line(&e, 60_000),
            "mDNSResponder → 192.168.1.1:53 (DNS) ×14, 10 s ago"
        );
        assert_eq!(
            menu_line(&e, 50_900),
            "mDNSResponder → 192.168.1.1:53 (DNS) ×14, just now"
        );
        assert_eq!(
            menu_line(&e, 50_000 + 59_999),
            "mDNSResponder → 192.168.1.1:53 (DNS) ×14, 50 s ago"
        );
        assert_eq!(
            menu_line(&e, 50_000 + 125_000),
            "mDNSResponder → 192.168.1.1:53 (DNS) ×14, 2 min ago"
        );
        // Linux: the uid; no service name: the protocol.
        let mut e = entry("10.66.0.9", 5533, 2, 0);
        e.sender = Sender {
            uid: Some(1000),
            ..Sender::default()
        };
        assert_eq!(
            menu_line(&e, 0),
            "uid 1000 → 10.66.0.9:5533/udp ×2, just now"
        );
        let mut e = entry("fe80::1", 0, 1, 0);
        e.dst_port = None;
        e.protocol = Protocol::Icmpv6;
        e.direction = BlockedDirection::In;
        assert!(menu_line(&e, 0).starts_with("mDNSResponder ← fe80::1 icmpv6 ×1"));
    }

    #[test]
    fn suggestions_say_what_the_click_changes_and_do_exactly_that() {
        let dns = Suggestion::AllowDns {
            resolvers: vec!["192.168.1.1".parse().unwrap()],
        };
        assert_eq!(
            suggestion_label(&dns),
            "Turn On DNS While Disconnected (DNS to 192.168.1.1 blocked)"
        );
        assert_eq!(action(&dns), Action::SetOption(OptionName::AllowDns, true));
        let eps: Vec<Endpoint> = ["203.0.113.9:500/udp", "203.0.113.9:4500/udp"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let ike = Suggestion::AddVpnServer {
            endpoints: eps.clone(),
            port: VpnPort::Ike,
        };
        assert_eq!(
            suggestion_label(&ike),
            "Allow 203.0.113.9:500+4500/udp as a VPN Server? \
             (IKEv2/IPsec's ports)"
        );
        let v6 = Suggestion::AddVpnServer {
            endpoints: vec!["[2001:db8::7]:51820/udp".parse().unwrap()],
            port: VpnPort::WireGuard,
        };
        assert_eq!(
            suggestion_label(&v6),
            "Allow [2001:db8::7]:51820/udp as a VPN Server? (WireGuard's usual port)"
        );
        assert_eq!(
            suggestion_key(&ike),
            "203.0.113.9:500/udp 203.0.113.9:4500/udp"
        );
        match action(&ike) {
            Action::Allow {
                what:
                    Allowing::Endpoints {
                        endpoints, source, ..
                    },
                then_enable: false,
            } => {
                assert_eq!(endpoints, eps);
                assert_eq!(source, Source::Blocked);
            }
            other => panic!("{other:?}"),
        }
        // One request: AddEndpoints with exactly these.
        assert_eq!(
            action(&ike).request(),
            Some(airlock_shared::ipc::protocol::RequestBody::AddEndpoints { endpoints: eps })
        );
    }

    #[test]
    fn the_document_has_every_row_and_the_suggestions() {
        let blocked = Blocked {
            report: BlockedReport {
                reading: true,
                entries: (0..20)
                    .map(|i| entry(&format!("192.168.1.{i}"), 53, 1, 0))
                    .collect(),
                ..BlockedReport::default()
            },
            at_ms: 10_000,
        };
        let s = [Suggestion::AllowDns {
            resolvers: vec!["192.168.1.1".parse().unwrap()],
        }];
        let doc = document(&blocked, &s);
        assert_eq!(doc.matches(" → 192.168.1.").count(), 20, "{doc}");
        assert!(
            doc.contains("mDNSResponder (88) → 192.168.1.19:53 udp (DNS) out on en0 ×1, 10 s ago")
        );
        assert!(doc.contains("Suggested:\n  DNS to 192.168.1.1 was blocked"));
    }
}
