//! The blocked list in plain words, one way for `airlockctl blocked` and
//! the app's "Recently Blocked" (its menu rows are the short form, its
//! "Show All…" document the long one).

use std::net::IpAddr;

use super::suggest::Suggestion;
use super::{BlockedDirection, BlockedEntry, BlockedReport, InterfaceRef, Sender};
use crate::policy::Protocol;

/// "mDNSResponder (88)", "uid 1000": the sender as precisely as known.
pub fn sender(s: &Sender) -> String {
    match (&s.process, s.pid, s.uid) {
        (Some(p), Some(pid), _) => format!("{p} ({pid})"),
        (Some(p), None, _) => p.clone(),
        (None, Some(pid), _) => format!("pid {pid}"),
        (None, None, Some(uid)) => format!("uid {uid}"),
        (None, None, None) => "unknown sender".into(),
    }
}

/// The sender's short name for the menu: the process name alone when
/// known ("mDNSResponder"), else as [`sender`].
pub fn sender_short(s: &Sender) -> String {
    match &s.process {
        Some(p) => p.clone(),
        None => sender(s),
    }
}

/// "192.168.1.1:53", "[2001:db8::1]:443", "router.lan (192.168.1.1):53".
pub fn destination(e: &BlockedEntry) -> String {
    let host = match &e.name {
        Some(n) => format!("{n} ({})", e.dst),
        None => e.dst.to_string(),
    };
    match (e.dst_port, e.dst) {
        (Some(p), IpAddr::V6(_)) if e.name.is_none() => format!("[{host}]:{p}"),
        (Some(p), _) => format!("{host}:{p}"),
        (None, _) => host,
    }
}

pub fn protocol(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp".to_string(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::Icmpv6 => "icmpv6".into(),
        Protocol::Igmp => "igmp".into(),
        Protocol::Other(n) => format!("proto {n}"),
    }
}

/// What a well-known port is for, when it says something to a person.
pub fn service(port: Option<u16>) -> Option<&'static str> {
    Some(match port? {
        53 => "DNS",
        443 => "HTTPS",
        80 => "HTTP",
        123 => "NTP",
        1194 => "OpenVPN?",
        51820 => "WireGuard?",
        500 | 4500 => "IKE?",
        _ => return None,
    })
}

/// "10 s", "3 min", "2 h", "4 d": how long ago, at the precision a
/// person reads a list with.
pub fn ago(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}

/// "uid 501 → 192.168.1.1:53 udp (DNS) out on en0 ×14, 10 s ago"
pub fn line(e: &BlockedEntry, now_ms: u64) -> String {
    let service = service(e.dst_port)
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let dir = match e.direction {
        BlockedDirection::In => "in",
        BlockedDirection::Out => "out",
        BlockedDirection::Forward => "forwarded",
    };
    let iface = match &e.interface {
        InterfaceRef::Name(n) => format!(" on {n}"),
        InterfaceRef::Index(i) => format!(" on interface #{i}"),
        InterfaceRef::Unknown => String::new(),
    };
    format!(
        "{} {} {} {}{service} {dir}{iface} ×{}, {} ago",
        sender(&e.sender),
        arrow(e.direction),
        destination(e),
        protocol(e.protocol),
        e.count,
        ago(now_ms.saturating_sub(e.last_seen_ms) / 1000)
    )
}

pub fn arrow(d: BlockedDirection) -> &'static str {
    if d == BlockedDirection::In {
        "←"
    } else {
        "→"
    }
}

/// The whole report in plain words, then the suggestions.
pub fn text(report: &BlockedReport, suggestions: &[Suggestion], now_ms: u64) -> String {
    let mut s = String::new();
    if !report.reading {
        let why = report.problem.as_deref().unwrap_or("unknown reason");
        s.push_str(&format!("Not reading the firewall's log: {why}.\n"));
    }
    if report.entries.is_empty() {
        s.push_str("Nothing blocked recently.\n");
    }
    for e in &report.entries {
        s.push_str(&line(e, now_ms));
        s.push('\n');
    }
    if report.rate_dropped > 0 || report.evicted > 0 {
        s.push_str(&format!(
            "({} events over the rate bound not counted, {} older rows dropped)\n",
            report.rate_dropped, report.evicted
        ));
    }
    if !suggestions.is_empty() {
        s.push_str("\nSuggested:\n");
        for x in suggestions {
            s.push_str(&format!("  {}\n", x.words()));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry() -> BlockedEntry {
        BlockedEntry {
            dst: "192.168.1.1".parse().unwrap(),
            dst_port: Some(53),
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
            count: 14,
            first_seen_ms: 1_000,
            last_seen_ms: 50_000,
        }
    }

    #[test]
    fn a_row_says_who_where_what_and_when() {
        assert_eq!(
            line(&entry(), 60_000),
            "mDNSResponder (88) → 192.168.1.1:53 udp (DNS) out on en0 ×14, 10 s ago"
        );
        let mut e = entry();
        e.sender = Sender {
            uid: Some(1000),
            ..Sender::default()
        };
        e.dst = "2001:db8::1".parse().unwrap();
        e.dst_port = Some(443);
        e.protocol = Protocol::Tcp;
        assert!(line(&e, 50_000).starts_with("uid 1000 → [2001:db8::1]:443 tcp (HTTPS) out"));
        assert_eq!(sender_short(&entry().sender), "mDNSResponder");
        assert_eq!(sender_short(&e.sender), "uid 1000");
    }

    #[test]
    fn ago_is_as_precise_as_a_list_needs() {
        for (secs, want) in [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (3_599, "59 min"),
            (7_200, "2 h"),
            (86_400 * 3, "3 d"),
        ] {
            assert_eq!(ago(secs), want);
        }
    }

    #[test]
    fn an_empty_or_unread_list_says_so_and_suggestions_come_last() {
        let r = BlockedReport::default();
        assert_eq!(
            text(&r, &[], 0),
            "Not reading the firewall's log: unknown reason.\nNothing blocked recently.\n"
        );
        let r = BlockedReport {
            reading: true,
            entries: vec![entry()],
            ..BlockedReport::default()
        };
        let s = [Suggestion::AllowDns {
            resolvers: vec![entry().dst],
        }];
        let t = text(&r, &s, 60_000);
        assert!(
            t.ends_with("\nSuggested:\n  DNS to 192.168.1.1 was blocked while the VPN is down: turn on DNS while disconnected (sudo airlockctl set allow-dns on), or add the VPN server\n"),
            "{t}"
        );
    }
}
