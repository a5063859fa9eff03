//! Linux connection tracking, as text: parsing `conntrack -L -o extended`
//! (the same line format as /proc/net/nf_conntrack) into [`Flow`]s, and the
//! `conntrack -D` arguments that delete exactly one of them. Pure.

use std::net::IpAddr;

use airlock::policy::Protocol;

use super::flow::Flow;

/// One tracked connection: its original direction.
///
/// Lines look like (the reply tuple repeats the keys; the first of each is
/// the original direction):
/// `ipv4 2 tcp 6 431999 ESTABLISHED src=192.168.1.20 dst=203.0.113.80 sport=52000 dport=443 src=203.0.113.80 dst=192.168.1.20 sport=443 dport=52000 [ASSURED] mark=0 use=1`
/// Lines without the leading family (plain `conntrack -L`) parse too.
pub fn parse_line(line: &str) -> Result<Flow, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let start = match tokens.first() {
        Some(&"ipv4") | Some(&"ipv6") => 2,
        Some(_) => 0,
        None => return Err("empty line".into()),
    };
    let number = tokens
        .get(start + 1)
        .and_then(|t| t.parse::<u8>().ok())
        .ok_or_else(|| format!("no protocol number in {line:?}"))?;
    let protocol = match number {
        1 => Protocol::Icmp,
        2 => Protocol::Igmp,
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        58 => Protocol::Icmpv6,
        n => Protocol::Other(n),
    };
    let first = |key: &str| {
        tokens
            .iter()
            .find_map(|t| t.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    let addr = |key: &str| -> Result<IpAddr, String> {
        let text = first(key).ok_or_else(|| format!("no {key}= in {line:?}"))?;
        text.parse()
            .map_err(|_| format!("bad address {key}={text} in {line:?}"))
    };
    let num = |key: &str| -> Result<Option<u16>, String> {
        first(key)
            .map(|v| {
                v.parse::<u16>()
                    .map_err(|_| format!("bad {key}={v} in {line:?}"))
            })
            .transpose()
    };
    let icmp_type = num("type")?
        .map(|t| u8::try_from(t).map_err(|_| format!("bad type={t} in {line:?}")))
        .transpose()?;
    Ok(Flow {
        protocol,
        src: addr("src")?,
        dst: addr("dst")?,
        src_port: num("sport")?,
        dst_port: num("dport")?,
        icmp_type,
    })
}

/// Every flow in a listing; a line we cannot read is an error rather than
/// skipped, because a skipped line is a connection we would fail to cut.
pub fn parse_listing(text: &str) -> Result<Vec<Flow>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// Arguments (after the program name) for `conntrack -D` matching `flow`'s
/// original tuple as closely as the tool allows.
pub fn delete_args(flow: &Flow) -> Vec<String> {
    let proto = match flow.protocol {
        Protocol::Tcp => "tcp".to_string(),
        Protocol::Udp => "udp".to_string(),
        Protocol::Icmp => "icmp".to_string(),
        Protocol::Icmpv6 => "icmpv6".to_string(),
        other => other.number().to_string(),
    };
    let mut args = vec![
        "-D".to_string(),
        "-p".to_string(),
        proto,
        "-s".to_string(),
        flow.src.to_string(),
        "-d".to_string(),
        flow.dst.to_string(),
    ];
    if let Some(p) = flow.src_port {
        args.extend(["--sport".to_string(), p.to_string()]);
    }
    if let Some(p) = flow.dst_port {
        args.extend(["--dport".to_string(), p.to_string()]);
    }
    args
}

/// `conntrack -D` reports "N flow entries have been deleted." on stderr.
pub fn deleted_count(stderr: &str) -> Option<usize> {
    let before = stderr.split(" flow entries have been deleted").next()?;
    if before.len() == stderr.len() {
        return None;
    }
    before.split_whitespace().last()?.parse().ok()
}
