//! `airlockctl blocked`: what the kill switch refused recently, by whom.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use airlock_shared::blocked::{BlockedDirection, BlockedEntry, BlockedReport, InterfaceRef};
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::policy::Protocol;
use anyhow::Context;
use clap::Args;

use crate::helper::{unexpected, Helper};

/// Show what the kill switch blocked recently.
#[derive(Debug, Args)]
#[command(
    long_about = "Show what Airlock's firewall refused recently: destination, port, \
protocol, direction, interface, who sent it (the user id on Linux) and how often. \
The helper keeps a bounded table in memory (nothing is written to disk); the kernel \
logs at most a sample per second, so counts under a flood are a lower bound.",
    after_long_help = "Examples:\n  airlockctl blocked\n  airlockctl blocked --json\n  \
airlockctl blocked --follow\n\n\
Exit status: 0 printed, 1 the helper cannot be asked."
)]
pub struct BlockedArgs {
    /// Print the helper's answer as JSON.
    #[arg(long)]
    json: bool,
    /// Keep printing rows as they are blocked (every 2 seconds) until interrupted.
    #[arg(long)]
    follow: bool,
}

fn fetch(helper: &mut Helper) -> anyhow::Result<BlockedReport> {
    match helper.request(RequestBody::GetBlocked)? {
        ResponseBody::Blocked(r) => Ok(r),
        other => Err(unexpected("the blocked list", &other)),
    }
}

pub fn run(args: BlockedArgs, socket: &Path) -> anyhow::Result<()> {
    let mut helper = Helper::connect(socket)?;
    let mut out = std::io::stdout().lock();
    let report = fetch(&mut helper)?;
    let now = crate::clock::now_ms();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?).context("writing to stdout")?;
    } else {
        out.write_all(text(&report, now).as_bytes())
            .context("writing to stdout")?;
    }
    if !args.follow {
        return Ok(());
    }
    let mut seen = report
        .entries
        .iter()
        .map(|e| e.last_seen_ms)
        .max()
        .unwrap_or(0);
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let report = fetch(&mut helper)?;
        let now = crate::clock::now_ms();
        let mut fresh: Vec<&BlockedEntry> = report
            .entries
            .iter()
            .filter(|e| e.last_seen_ms > seen)
            .collect();
        fresh.reverse(); // oldest first, like a log
        for e in &fresh {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(e)?)
            } else {
                writeln!(out, "{}", line(e, now))
            }
            .context("writing to stdout")?;
        }
        seen = seen.max(fresh.iter().map(|e| e.last_seen_ms).max().unwrap_or(0));
    }
}

/// The whole report in plain words.
pub fn text(report: &BlockedReport, now_ms: u64) -> String {
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
    s
}

/// "uid 501 → 192.168.1.1:53 udp (DNS) out on en0 ×14, 10 s ago"
pub fn line(e: &BlockedEntry, now_ms: u64) -> String {
    let who = match (&e.sender.process, e.sender.pid, e.sender.uid) {
        (Some(p), Some(pid), _) => format!("{p} ({pid})"),
        (Some(p), None, _) => p.clone(),
        (None, Some(pid), _) => format!("pid {pid}"),
        (None, None, Some(uid)) => format!("uid {uid}"),
        (None, None, None) => "unknown sender".into(),
    };
    let host = match &e.name {
        Some(n) => format!("{n} ({})", e.dst),
        None => e.dst.to_string(),
    };
    let dst = match (e.dst_port, e.dst) {
        (Some(p), std::net::IpAddr::V6(_)) if e.name.is_none() => format!("[{host}]:{p}"),
        (Some(p), _) => format!("{host}:{p}"),
        (None, _) => host,
    };
    let proto = match e.protocol {
        Protocol::Tcp => "tcp".to_string(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::Icmpv6 => "icmpv6".into(),
        Protocol::Igmp => "igmp".into(),
        Protocol::Other(n) => format!("proto {n}"),
    };
    let service = match e.dst_port {
        Some(53) => " (DNS)",
        Some(443) => " (HTTPS)",
        Some(80) => " (HTTP)",
        Some(123) => " (NTP)",
        Some(1194) => " (OpenVPN?)",
        Some(51820) => " (WireGuard?)",
        _ => "",
    };
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
    let ago = now_ms.saturating_sub(e.last_seen_ms) / 1000;
    let arrow = if e.direction == BlockedDirection::In {
        "←"
    } else {
        "→"
    };
    format!(
        "{who} {arrow} {dst} {proto}{service} {dir}{iface} ×{}, {} ago",
        e.count,
        crate::duration::format_seconds(ago)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::blocked::Sender;

    fn entry() -> BlockedEntry {
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
            format!(
                "mDNSResponder (88) → 192.168.1.1:53 udp (DNS) out on en0 ×14, {} ago",
                crate::duration::format_seconds(10)
            )
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
    }

    #[test]
    fn an_empty_or_unread_list_says_so() {
        let r = BlockedReport::default();
        assert_eq!(
            text(&r, 0),
            "Not reading the firewall's log: unknown reason.\nNothing blocked recently.\n"
        );
        let r = BlockedReport {
            reading: true,
            ..BlockedReport::default()
        };
        assert_eq!(text(&r, 0), "Nothing blocked recently.\n");
    }
}
