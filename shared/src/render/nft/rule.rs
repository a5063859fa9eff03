//! One policy [`Rule`] -> nft rule lines in the `inbound`/`outbound` chains.
//!
//! A pass is `return` (back to the base chain, which accepts), so the
//! chains read top to bottom exactly like the policy's rule list. Each
//! policy rule becomes one line, or one per address family when it names
//! addresses (nft's `ip`/`ip6` matches are per family).

use std::fmt::Write;

use ipnet::IpNet;

use super::text::{comment, icmp_type, icmpv6_type, proto_name};
use crate::policy::{Direction, Family, Interfaces, Protocol, Remote, Rule};

/// The nft words for "remote" and "local" in one direction.
struct Keys {
    iface: &'static str,
    remote_addr: &'static str,
    local_addr: &'static str,
    remote_port: &'static str,
}

fn keys(direction: Direction) -> Keys {
    match direction {
        Direction::Out => Keys {
            iface: "oifname",
            remote_addr: "daddr",
            local_addr: "saddr",
            remote_port: "dport",
        },
        Direction::In => Keys {
            iface: "iifname",
            remote_addr: "saddr",
            local_addr: "daddr",
            remote_port: "sport",
        },
    }
}

/// Appends `rule` as `return` lines (two tabs deep) to `out`. A rule that
/// can match no packet (no interfaces of its kind, no address of the
/// family it names) is written as a comment instead, so the reader still
/// sees it and nft is not handed an empty set.
pub fn write(out: &mut String, rule: &Rule) {
    match lines(rule) {
        Ok(lines) => {
            for line in lines {
                out.push_str("\t\t");
                out.push_str(&line);
                out.push_str("return");
                comment(out, &rule.why);
                out.push('\n');
            }
        }
        Err(reason) => {
            let why: String = rule
                .why
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = writeln!(out, "\t\t# not loaded, matches nothing ({reason}): {why}");
        }
    }
}

/// The match part of each line, each ending in a space (or empty: the
/// rule passes everything in its direction).
fn lines(rule: &Rule) -> Result<Vec<String>, &'static str> {
    let k = keys(rule.direction);
    let mut head = String::new();
    if let Interfaces::Only(set) = &rule.interfaces {
        // `policy::build` keeps only valid patterns (safe to quote).
        let names: Vec<&str> = set.patterns.iter().map(String::as_str).collect();
        match names.as_slice() {
            [] => return Err("no interface of this kind"),
            [one] => {
                let _ = write!(head, "{} \"{one}\" ", k.iface);
            }
            many => {
                let _ = write!(head, "{} {{ ", k.iface);
                for (i, n) in many.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let _ = write!(head, "{sep}\"{n}\"");
                }
                head.push_str(" } ");
            }
        }
    }
    if rule.replies_only {
        head.push_str("ct state established,related ");
    }
    if let Some(uid) = rule.sender_uid {
        // The sending socket's owner; a routed packet has no socket and
        // never matches.
        let _ = write!(head, "meta skuid {uid} ");
    }

    if matches!(rule.remote, Remote::Any) && rule.local.is_none() {
        let mut line = head;
        tail(&mut line, rule, None)?;
        return Ok(vec![line]);
    }

    let mut out = Vec::new();
    let mut reason = "no address of the rule's family";
    for family in [Family::V4, Family::V6] {
        if rule.family.is_some_and(|f| f != family) {
            continue;
        }
        let (ip, set) = match family {
            Family::V4 => ("ip", "endpoints_v4"),
            Family::V6 => ("ip6", "endpoints_v6"),
        };
        let mut line = head.clone();
        match &rule.remote {
            Remote::Any => {}
            Remote::Nets(nets) => {
                if !nets_match(&mut line, ip, k.remote_addr, nets, family) {
                    continue;
                }
            }
            Remote::Endpoints => {
                let _ = write!(
                    line,
                    "{ip} {} . meta l4proto . th {} @{set} ",
                    k.remote_addr, k.remote_port
                );
            }
        }
        if let Some(nets) = &rule.local {
            if !nets_match(&mut line, ip, k.local_addr, nets, family) {
                continue;
            }
        }
        match tail(&mut line, rule, Some(family)) {
            Ok(()) => out.push(line),
            Err(r) => reason = r,
        }
    }
    if out.is_empty() {
        Err(reason)
    } else {
        Ok(out)
    }
}

/// `ip daddr { 192.168.1.0/24, 169.254.0.0/16 } ` with the nets of
/// `family`; false when there are none (that line would match nothing).
fn nets_match(line: &mut String, ip: &str, key: &str, nets: &[IpNet], family: Family) -> bool {
    let of_family = || {
        nets.iter().filter(move |n| match family {
            Family::V4 => matches!(n, IpNet::V4(_)),
            Family::V6 => matches!(n, IpNet::V6(_)),
        })
    };
    let count = of_family().count();
    if count == 0 {
        return false;
    }
    let _ = write!(line, "{ip} {key} ");
    if count > 1 {
        line.push_str("{ ");
    }
    for (i, n) in of_family().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        // A host reads better as an address than as a /32 or /128.
        if n.prefix_len() == n.max_prefix_len() {
            let _ = write!(line, "{}", n.addr());
        } else {
            let _ = write!(line, "{n}");
        }
    }
    line.push_str(if count > 1 { " } " } else { " " });
    true
}

/// Protocol, ports, ICMP types and the hop limit. `line_family` is the
/// family the line's address matches already pin; otherwise the rule's own
/// family has to be said here, in the shortest form nft has for it.
fn tail(line: &mut String, rule: &Rule, line_family: Option<Family>) -> Result<(), &'static str> {
    transport(line, rule, line_family)?;
    // Last, after the match that names the family: `ip ttl` / `ip6
    // hoplimit` read the IP header of that family.
    if let Some(h) = rule.hop_limit {
        match line_family.or(rule.family) {
            Some(Family::V4) => {
                let _ = write!(line, "ip ttl {h} ");
            }
            Some(Family::V6) => {
                let _ = write!(line, "ip6 hoplimit {h} ");
            }
            None => return Err("a hop limit without an address family"),
        }
    }
    Ok(())
}

fn transport(
    line: &mut String,
    rule: &Rule,
    line_family: Option<Family>,
) -> Result<(), &'static str> {
    let family = line_family.or(rule.family);
    let unsaid = if line_family.is_some() {
        None
    } else {
        rule.family
    };
    let has_ports = rule.remote_port.is_some() || rule.local_port.is_some();

    if !rule.icmp_types.is_empty() {
        let (word, name): (&str, fn(&mut String, u8)) = match (rule.protocol, family) {
            (Some(Protocol::Icmp), Some(Family::V4) | None) => ("icmp", icmp_type),
            (Some(Protocol::Icmpv6), Some(Family::V6) | None) => ("icmpv6", icmpv6_type),
            _ => return Err("ICMP types without the matching ICMP protocol and family"),
        };
        if has_ports {
            return Err("ports on ICMP");
        }
        // `icmpv6 type` implies IPv6 (and `icmp type` IPv4): no nfproto needed.
        let _ = write!(line, "{word} type ");
        if rule.icmp_types.len() > 1 {
            line.push_str("{ ");
        }
        for (i, t) in rule.icmp_types.iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            name(line, *t);
        }
        line.push_str(if rule.icmp_types.len() > 1 {
            " } "
        } else {
            " "
        });
        return Ok(());
    }

    if has_ports {
        if let Some(f) = unsaid {
            nfproto(line, f);
        }
        let word = match rule.protocol {
            Some(Protocol::Tcp) => "tcp",
            Some(Protocol::Udp) => "udp",
            None => {
                line.push_str("meta l4proto { tcp, udp } ");
                "th"
            }
            Some(p) => {
                let _ = write!(line, "meta l4proto {} ", proto_name(p));
                "th"
            }
        };
        // Source port first, as a packet reads.
        let (sport, dport) = match rule.direction {
            Direction::Out => (rule.local_port, rule.remote_port),
            Direction::In => (rule.remote_port, rule.local_port),
        };
        if let Some(p) = sport {
            let _ = write!(line, "{word} sport {p} ");
        }
        if let Some(p) = dport {
            let _ = write!(line, "{word} dport {p} ");
        }
    } else if let Some(p) = rule.protocol {
        match unsaid {
            Some(Family::V4) => {
                let _ = write!(line, "ip protocol {} ", proto_name(p));
            }
            Some(Family::V6) => {
                nfproto(line, Family::V6);
                let _ = write!(line, "meta l4proto {} ", proto_name(p));
            }
            None => {
                let _ = write!(line, "meta l4proto {} ", proto_name(p));
            }
        }
    } else if let Some(f) = unsaid {
        nfproto(line, f);
    }
    Ok(())
}

fn nfproto(line: &mut String, family: Family) {
    line.push_str(match family {
        Family::V4 => "meta nfproto ipv4 ",
        Family::V6 => "meta nfproto ipv6 ",
    });
}
