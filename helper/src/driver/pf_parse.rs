//! Reading macOS `pfctl` output. Pure, so every format detail is unit
//! tested on Linux with text in the shapes pfctl prints.
//!
//! pfctl writes its chatter ("No ALTQ support in kernel", "pf enabled",
//! "Token : N", "killed N states ...") to stderr and listings to stdout.

use std::net::IpAddr;

use airlock::policy::Protocol;

use super::flow::Flow;

/// The enable token from `pfctl -E` output ("Token : 13580866039543779079").
pub fn enable_token(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let value = line.trim().strip_prefix("Token")?.trim_start();
        let token = value.strip_prefix(':')?.trim();
        (!token.is_empty() && token.chars().all(|c| c.is_ascii_digit())).then(|| token.to_string())
    })
}

/// From `pfctl -s info`: `Some(true)` for "Status: Enabled for 0 days
/// 00:12:03 ...", `Some(false)` for "Status: Disabled ...".
pub fn status_enabled(info: &str) -> Option<bool> {
    info.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Status:")?.trim_start();
        if rest.starts_with("Enabled") {
            Some(true)
        } else if rest.starts_with("Disabled") {
            Some(false)
        } else {
            None
        }
    })
}

/// Whether the main ruleset (`pfctl -sr`) evaluates our anchor: through
/// Apple's `anchor "com.apple/*"` hook or by naming it directly.
pub fn references_anchor(main_rules: &str, anchor: &str) -> bool {
    let direct = format!("anchor \"{anchor}\"");
    main_rules
        .lines()
        .map(str::trim)
        .any(|line| line.starts_with("anchor \"com.apple/*\"") || line.starts_with(direct.as_str()))
}

/// The rule lines of a `pfctl -sr` listing, for comparing two reads.
pub fn rule_lines(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether an anchor text (what we load) holds any rule at all, as opposed
/// to comments and blank lines only.
pub fn has_rules(ruleset: &str) -> bool {
    ruleset
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The states of `pfctl -s states`, as flows in their original direction.
///
/// macOS prints one state per line: interface (`ALL` for floating states),
/// protocol, the initiator, `->`, the responder, the state, e.g.
/// `ALL tcp 192.168.1.20:52000 -> 203.0.113.80:443       ESTABLISHED:ESTABLISHED`.
/// A translated address follows its host in parentheses. IPv6 ports are
/// printed in brackets (`2001:db8::1[443]`). Newer pf prints inbound
/// states as `local <- remote`; that arrow is understood too.
pub fn parse_states(listing: &str) -> Result<Vec<Flow>, String> {
    listing
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_state)
        .collect()
}

fn parse_state(line: &str) -> Result<Flow, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let arrow = tokens
        .iter()
        .position(|t| *t == "->" || *t == "<-")
        .ok_or_else(|| format!("no -> in state line {line:?}"))?;
    let (Some(proto), Some(left), Some(right)) =
        (tokens.get(1), tokens.get(2), tokens.get(arrow + 1))
    else {
        return Err(format!("too few fields in state line {line:?}"));
    };
    let protocol = protocol(proto);
    let (left, right) = (host(left, line)?, host(right, line)?);
    let ((src, sport), (dst, dport)) = if tokens[arrow] == "->" {
        (left, right)
    } else {
        (right, left)
    };
    let ported = matches!(protocol, Protocol::Tcp | Protocol::Udp);
    Ok(Flow {
        protocol,
        src,
        dst,
        src_port: sport.filter(|_| ported),
        dst_port: dport.filter(|_| ported),
        icmp_type: None,
    })
}

fn protocol(name: &str) -> Protocol {
    match name {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "icmp" => Protocol::Icmp,
        "ipv6-icmp" | "icmp6" | "icmpv6" => Protocol::Icmpv6,
        "igmp" => Protocol::Igmp,
        other => Protocol::Other(other.parse().unwrap_or(0)),
    }
}

/// `1.2.3.4:443`, `1.2.3.4`, `2001:db8::1[443]`, `2001:db8::1`.
fn host(text: &str, line: &str) -> Result<(IpAddr, Option<u16>), String> {
    let bad = || format!("bad host {text:?} in state line {line:?}");
    let (addr, port) = if let Some(body) = text.strip_suffix(']') {
        let (addr, port) = body.rsplit_once('[').ok_or_else(bad)?;
        (addr, Some(port))
    } else if text.parse::<IpAddr>().is_ok() {
        (text, None)
    } else {
        let (addr, port) = text.rsplit_once(':').ok_or_else(bad)?;
        (addr, Some(port))
    };
    let addr = addr.split('%').next().unwrap_or(addr);
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| bad()))
        .transpose()?;
    Ok((addr, port))
}

/// "killed 3 states from 1 sources and 1 destinations" (pfctl -k).
pub fn killed_count(stderr: &str) -> Option<usize> {
    stderr.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("killed ")?;
        let (n, tail) = rest.split_once(' ')?;
        tail.starts_with("states").then(|| n.parse().ok())?
    })
}

/// Packets matched by block rules, from `pfctl -a ANCHOR -v -s rules`,
/// where each rule line is followed by
/// `[ Evaluations: 1234  Packets: 56  Bytes: 7890  States: 0 ]`.
pub fn blocked_packets(verbose_rules: &str) -> Result<u64, String> {
    let mut total = 0u64;
    let mut in_block_rule = false;
    for line in verbose_rules.lines().map(str::trim) {
        if let Some(stats) = line.strip_prefix('[') {
            if !in_block_rule {
                continue;
            }
            let Some(after) = stats.split("Packets:").nth(1) else {
                continue;
            };
            let n = after
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| format!("bad packet count in {line:?}"))?;
            total = total.saturating_add(n);
        } else if !line.is_empty() {
            in_block_rule = line.starts_with("block");
        }
    }
    Ok(total)
}
