//! One policy rule as pf text: a `# why` comment and its `pass` line(s).

use ipnet::IpNet;

use super::tables::Group;
use crate::network::classify::{self, InterfaceKind};
use crate::policy::{Direction, Family, IfaceSet, Interfaces, Protocol, Remote, Rule};

/// What `proto` says on one pass line.
#[derive(Clone, Copy)]
enum Proto {
    Any,
    One(Protocol),
    /// Ports without a protocol: the policy compares ports, which only
    /// TCP and UDP packets have, and pf only accepts ports with those two.
    TcpUdp,
}

/// The parts of a pass line that differ between the lines of one rule
/// (the VPN-server rule becomes one line per table).
struct Far {
    proto: Proto,
    hosts: Option<String>,
    port: Option<u16>,
}

/// Appends `rule`; the caller has written its `why` comment. `explain`
/// adds the notes on how pf spells it, once per group of rules sharing a
/// reason.
pub(super) fn write(out: &mut String, rule: &Rule, groups: &[Group], explain: bool) {
    if rule.replies_only {
        // pf looks a packet up in its state table before any rule, and
        // every pass rule here keeps state: replies to what these rules let
        // through pass that way, and nothing else is a reply.
        comment(
            out,
            "(no rule needed: pf passes replies through its state table before reading any rule)",
        );
        return;
    }
    if rule.hop_limit.is_some() {
        // pf.conf has no TTL / hop-limit match; `policy::build` asks for
        // none on macOS. Leaving a rule out only makes pf stricter.
        comment(out, "(skipped: pf cannot match a hop limit)");
        return;
    }
    let ifaces = match &rule.interfaces {
        Interfaces::Any => None,
        Interfaces::Only(set) => {
            let names = pf_names(set);
            if names.is_empty() {
                comment(out, "(skipped: no interface name pf can hold)");
                return;
            }
            if explain && set.patterns.iter().any(|p| p.ends_with('*')) {
                comment(
                    out,
                    &format!(
                        "(interfaces {}: pf has no wildcards, so they are listed by number)",
                        set.patterns.join(" ")
                    ),
                );
            }
            Some(names)
        }
    };
    let if_bound =
        matches!(&rule.interfaces, Interfaces::Only(s) if s.kind == InterfaceKind::Tunnel);
    if if_bound && explain {
        comment(
            out,
            "(states bound to the tunnel interface: a connection made inside the tunnel can never leave on another interface)",
        );
    }
    let Some(local) = nets(rule.local.as_deref(), rule.family) else {
        comment(out, "(skipped: no local address of this family)");
        return;
    };
    let proto = match rule.protocol {
        Some(p) => Proto::One(p),
        None if rule.remote_port.is_some() || rule.local_port.is_some() => Proto::TcpUdp,
        None => Proto::Any,
    };
    let fars: Vec<Far> = match &rule.remote {
        Remote::Any => vec![Far {
            proto,
            hosts: None,
            port: rule.remote_port,
        }],
        Remote::Nets(list) => match nets(Some(list), rule.family) {
            Some(hosts) => vec![Far {
                proto,
                hosts,
                port: rule.remote_port,
            }],
            None => {
                comment(out, "(skipped: no address of this family)");
                return;
            }
        },
        Remote::Endpoints => {
            let fars: Vec<Far> = groups
                .iter()
                .filter(|g| {
                    rule.protocol
                        .is_none_or(|p| p == Protocol::from(g.transport))
                        && rule.remote_port.is_none_or(|p| p == g.port)
                })
                .map(|g| Far {
                    proto: Proto::One(g.transport.into()),
                    hosts: Some(format!("<{}>", g.name())),
                    port: Some(g.port),
                })
                .collect();
            if fars.is_empty() {
                comment(out, "(no VPN servers configured: nothing to let through)");
            }
            fars
        }
    };
    for far in fars {
        let Some(line) = pass_line(rule, ifaces.as_deref(), &local, &far, if_bound) else {
            comment(
                out,
                "(skipped: ICMP types without ICMP cannot be written in pf)",
            );
            continue;
        };
        out.push_str(&line);
        out.push('\n');
    }
}

fn pass_line(
    rule: &Rule,
    ifaces: Option<&[String]>,
    local: &Option<String>,
    far: &Far,
    if_bound: bool,
) -> Option<String> {
    let mut s = String::from(match rule.direction {
        Direction::Out => "pass out quick",
        Direction::In => "pass in quick",
    });
    if let Some(names) = ifaces {
        s.push_str(" on ");
        s.push_str(&list(names));
    }
    match rule.family {
        Some(Family::V4) => s.push_str(" inet"),
        Some(Family::V6) => s.push_str(" inet6"),
        None => {}
    }
    match far.proto {
        Proto::Any => {}
        Proto::One(p) => {
            s.push_str(" proto ");
            s.push_str(&proto_name(p));
        }
        Proto::TcpUdp => s.push_str(" proto { tcp udp }"),
    }
    let (from, from_port, to, to_port) = match rule.direction {
        Direction::Out => (local, rule.local_port, &far.hosts, far.port),
        Direction::In => (&far.hosts, far.port, local, rule.local_port),
    };
    if from.is_none() && from_port.is_none() && to.is_none() && to_port.is_none() {
        s.push_str(" all");
    }
    for (word, hosts, port) in [("from", from, from_port), ("to", to, to_port)] {
        if hosts.is_none() && port.is_none() {
            continue;
        }
        s.push(' ');
        s.push_str(word);
        s.push(' ');
        s.push_str(hosts.as_deref().unwrap_or("any"));
        if let Some(p) = port {
            s.push_str(&format!(" port {p}"));
        }
    }
    if let Some(uid) = rule.sender_uid {
        // The sending socket's owner; pf looks it up for TCP and UDP only
        // (pf.conf(5)), which is all an endpoint rule names.
        s.push_str(&format!(" user {uid}"));
    }
    if !rule.icmp_types.is_empty() {
        let keyword = match far.proto {
            Proto::One(Protocol::Icmpv6) => "icmp6-type",
            Proto::One(Protocol::Icmp) => "icmp-type",
            _ => return None,
        };
        let types: Vec<String> = rule.icmp_types.iter().map(u8::to_string).collect();
        s.push_str(&format!(" {keyword} {}", list(&types)));
    }
    if matches!(
        far.proto,
        Proto::Any | Proto::TcpUdp | Proto::One(Protocol::Tcp)
    ) {
        // pf's default `flags S/SA` would track a TCP connection only from
        // its SYN; the policy has no such condition.
        s.push_str(" flags any");
    }
    if matches!(
        far.proto,
        Proto::Any | Proto::One(Protocol::Igmp) | Proto::One(Protocol::Icmpv6)
    ) {
        // IGMP and MLD travel with the Router Alert option; pf drops
        // packets with IP options unless the passing rule allows them,
        // and the policy never looks at options.
        s.push_str(" allow-opts");
    }
    s.push_str(if rule.no_way_back {
        // A state would pass the answer out to whoever sent this.
        " no state"
    } else if if_bound {
        " keep state (if-bound)"
    } else {
        " keep state"
    });
    Some(s)
}

/// The nets pf should match, or `None` when the rule can match nothing.
/// `Some(None)` means "any". A family-specific rule drops the other
/// family's nets, which it could never match anyway.
fn nets(given: Option<&[IpNet]>, family: Option<Family>) -> Option<Option<String>> {
    let Some(given) = given else {
        return Some(None);
    };
    let kept: Vec<String> = given
        .iter()
        .filter(|n| family.is_none_or(|f| f == Family::of(&n.addr())))
        .map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(Some(list(&kept)))
    }
}

/// Interface names pf can take unquoted; anything else is left out, which
/// only makes the rule stricter (fail closed).
fn pf_names(set: &IfaceSet) -> Vec<String> {
    set.expand()
        .into_iter()
        .filter(|n| !n.ends_with('*') && classify::valid_pattern(n))
        .collect()
}

fn proto_name(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::Icmpv6 => "icmp6".into(),
        Protocol::Igmp => "igmp".into(),
        Protocol::Other(n) => n.to_string(),
    }
}

fn list(items: &[String]) -> String {
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("{{ {} }}", items.join(" "))
    }
}

pub(super) fn comment(out: &mut String, text: &str) {
    out.push_str("# ");
    // A comment ends at the newline; never let text start a rule line.
    out.push_str(&text.replace(['\n', '\r'], " "));
    out.push('\n');
}
