//! Reading macOS `pfctl` output. Pure, so every format detail is unit
//! tested on Linux with text in the shapes pfctl prints.
//!
//! pfctl writes its chatter ("No ALTQ support in kernel", "pf enabled",
//! "Token : N", "killed N states ...") to stderr and listings to stdout.

use std::net::IpAddr;

use airlock_shared::policy::Protocol;

use crate::firewall::flow::Flow;

/// The enable token from `pfctl -E` output ("Token : 13580866039543779079").
pub fn enable_token(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let value = line.trim().strip_prefix("Token")?.trim_start();
        let token = value.strip_prefix(':')?.trim();
        is_token(token).then(|| token.to_string())
    })
}

/// Whether `text` has the shape of a pf enable token (decimal digits), so a
/// damaged token file is never handed to `pfctl -X` as if it were one.
pub fn is_token(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::flow::allowed;
    use crate::firewall::test_support::{laptop, policy};

    #[test]
    fn token_from_enable_output() {
        let stderr = "No ALTQ support in kernel\nALTQ related functions disabled\npf enabled\nToken : 13580866039543779079\n";
        assert_eq!(
            enable_token(stderr).as_deref(),
            Some("13580866039543779079")
        );
        assert_eq!(enable_token("pf enabled\n"), None);
        assert_eq!(enable_token("Token : abc"), None);
    }

    #[test]
    fn status_line() {
        let on = "Status: Enabled for 0 days 00:12:03           Debug: Urgent\n\nState Table                          Total             Rate\n  current entries                        4\n";
        assert_eq!(status_enabled(on), Some(true));
        assert_eq!(
            status_enabled("Status: Disabled for 0 days 00:00:00           Debug: Urgent\n"),
            Some(false)
        );
        assert_eq!(status_enabled("State Table\n"), None);
    }

    #[test]
    fn anchor_reference() {
        let stock =
            "scrub-anchor \"com.apple/*\" all fragment reassemble\nanchor \"com.apple/*\" all\n";
        assert!(references_anchor(stock, "com.apple/airlock"));
        let custom = "scrub-anchor \"com.apple/*\" all fragment reassemble\nblock drop all\npass out quick on utun0 all flags S/SA keep state\n";
        assert!(!references_anchor(custom, "com.apple/airlock"));
        assert!(references_anchor(
            "anchor \"com.apple/airlock\" all\n",
            "com.apple/airlock"
        ));
    }

    #[test]
    fn states_in_macos_format() {
        let listing = "\
ALL tcp 192.168.1.20:52000 -> 203.0.113.80:443       ESTABLISHED:ESTABLISHED
ALL udp 192.168.1.20:61000 -> 198.51.100.7:1194       MULTIPLE:MULTIPLE
en0 udp 192.168.1.20:5353 -> 224.0.0.251:5353       SINGLE:NO_TRAFFIC
ALL tcp 2001:db8:1::20[52100] -> 2001:db8:ff::80[443]       ESTABLISHED:ESTABLISHED
ALL icmp 192.168.1.20:4242 -> 203.0.113.80:4242       0:0
ALL tcp 192.168.2.5:49000 (192.168.1.20:62000) -> 203.0.113.80:443       ESTABLISHED:ESTABLISHED
ALL tcp 192.168.1.20:22 <- 192.168.1.50:50000       ESTABLISHED:ESTABLISHED
";
        let flows = parse_states(listing).unwrap();
        assert_eq!(flows.len(), 7);
        assert_eq!(flows[0].dst_port, Some(443));
        assert_eq!(flows[3].src.to_string(), "2001:db8:1::20");
        assert_eq!(
            (flows[3].src_port, flows[3].dst_port),
            (Some(52100), Some(443))
        );
        assert_eq!(
            (flows[4].protocol, flows[4].src_port),
            (Protocol::Icmp, None)
        );
        assert_eq!(
            flows[5].src.to_string(),
            "192.168.2.5",
            "NAT: the inside host"
        );
        assert_eq!(
            flows[6].src.to_string(),
            "192.168.1.50",
            "<-: the remote side began it"
        );
        assert_eq!(flows[6].dst_port, Some(22));

        let snap = laptop(false);
        let policy = policy(&snap, false);
        let keep: Vec<bool> = flows.iter().map(|f| allowed(&policy, &snap, f)).collect();
        assert_eq!(keep, [false, true, true, false, false, false, false]);
        assert!(parse_states("ALL tcp 192.168.1.20:52000 203.0.113.80:443 ESTABLISHED").is_err());
        assert!(parse_states("ALL tcp 192.168.1.20:x -> 203.0.113.80:443 ESTABLISHED").is_err());
    }

    #[test]
    fn killed_message() {
        assert_eq!(
            killed_count("killed 3 states from 1 sources and 1 destinations\n"),
            Some(3)
        );
        assert_eq!(
            killed_count(
                "No ALTQ support in kernel\nkilled 0 states from 1 sources and 0 destinations\n"
            ),
            Some(0)
        );
        assert_eq!(killed_count("pfctl: Permission denied\n"), None);
    }

    #[test]
    fn block_counters_from_verbose_rules() {
        let text = "\
pass quick on lo0 all flags S/SA keep state
  [ Evaluations: 900       Packets: 800       Bytes: 70000       States: 2     ]
  [ Inserted: uid 0 pid 321 State Creations: 2     ]
block return out log quick on en0 all
  [ Evaluations: 120       Packets: 17        Bytes: 1200        States: 0     ]
  [ Inserted: uid 0 pid 321 State Creations: 0     ]
block drop in log quick on en0 all
  [ Evaluations: 60        Packets: 5         Bytes: 300         States: 0     ]
  [ Inserted: uid 0 pid 321 State Creations: 0     ]
";
        assert_eq!(blocked_packets(text), Ok(22));
        assert_eq!(blocked_packets(""), Ok(0));
    }
}
