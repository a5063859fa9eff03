//! Linux connection tracking, as text: parsing `conntrack -L -o extended`
//! (the same line format as /proc/net/nf_conntrack) into [`Flow`]s, and the
//! `conntrack -D` arguments that delete exactly one of them. Pure.

use std::net::IpAddr;

use airlock_shared::policy::Protocol;

use crate::firewall::flow::Flow;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::flow::allowed;
    use crate::firewall::test_support::{laptop, policy};

    /// Real `conntrack -L -o extended` / /proc/net/nf_conntrack lines, each
    /// with whether the kill switch (VPN up, LAN not allowed) keeps it.
    const SAMPLES: &[(&str, bool, &str)] = &[
        ("ipv4     2 udp      17 170 src=192.168.1.20 dst=198.51.100.7 sport=40000 dport=1194 src=198.51.100.7 dst=192.168.1.20 sport=1194 dport=40000 [ASSURED] mark=0 use=1",
         true, "the VPN's own connection"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.20 dst=203.0.113.80 sport=52000 dport=443 src=203.0.113.80 dst=192.168.1.20 sport=443 dport=52000 [ASSURED] mark=0 use=1",
         false, "HTTPS opened over Wi-Fi before the kill switch"),
        ("ipv4     2 tcp      6 300 ESTABLISHED src=192.168.1.20 dst=198.51.100.7 sport=43000 dport=443 src=198.51.100.7 dst=192.168.1.20 sport=443 dport=43000 [ASSURED] mark=0 use=1",
         false, "the VPN server's address on a port that is not the VPN"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=60668 dport=5000 src=127.0.0.1 dst=127.0.0.1 sport=5000 dport=60668 [ASSURED] mark=0 zone=0 use=2",
         true, "loopback"),
        ("ipv6     10 tcp      6 431999 ESTABLISHED src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=35896 dport=5001 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=5001 dport=35896 [ASSURED] mark=0 zone=0 use=2",
         true, "IPv6 loopback, /proc format"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.20 dst=192.168.1.20 sport=41000 dport=8080 src=192.168.1.20 dst=192.168.1.20 sport=8080 dport=41000 [ASSURED] mark=0 use=1",
         true, "to our own Wi-Fi address: travels over loopback"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=10.8.0.2 dst=203.0.113.80 sport=41000 dport=443 src=203.0.113.80 dst=10.8.0.2 sport=443 dport=41000 [ASSURED] mark=0 use=1",
         true, "inside the tunnel"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.50 dst=192.168.1.20 sport=50000 dport=22 src=192.168.1.20 dst=192.168.1.50 sport=22 dport=50000 [ASSURED] mark=0 use=1",
         false, "SSH in from the LAN, LAN not allowed"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.122.50 dst=203.0.113.80 sport=33000 dport=443 src=203.0.113.80 dst=192.168.1.20 sport=443 dport=33000 [ASSURED] mark=0 use=1",
         true, "a VM's connection forwarded into the tunnel (masqueraded)"),
        ("ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.122.50 dst=192.168.1.9 sport=33001 dport=445 src=192.168.1.9 dst=192.168.1.20 sport=445 dport=33001 [ASSURED] mark=0 use=1",
         false, "a VM's connection forwarded to the Wi-Fi LAN"),
        ("ipv4     2 udp      17 29 src=192.168.1.20 dst=192.168.1.1 sport=68 dport=67 src=192.168.1.1 dst=192.168.1.20 sport=67 dport=68 mark=0 use=1",
         true, "DHCP"),
        ("ipv4     2 udp      17 29 src=192.168.1.20 dst=224.0.0.251 sport=5353 dport=5353 [UNREPLIED] src=224.0.0.251 dst=192.168.1.20 sport=5353 dport=5353 mark=0 use=1",
         true, "mDNS"),
        ("ipv4     2 icmp     1 29 src=192.168.1.20 dst=203.0.113.80 type=8 code=0 id=4242 src=203.0.113.80 dst=192.168.1.20 type=0 code=0 id=4242 mark=0 use=1",
         false, "ping over Wi-Fi"),
        ("ipv6     10 tcp      6 431999 ESTABLISHED src=2001:db8:1::20 dst=2001:db8:ff::80 sport=52001 dport=443 src=2001:db8:ff::80 dst=2001:db8:1::20 sport=443 dport=52001 [ASSURED] mark=0 use=1",
         false, "IPv6 over Wi-Fi (the tunnel carries IPv4 only)"),
    ];

    #[test]
    fn decides_each_sample_like_the_policy() {
        let snap = laptop(true);
        let policy = policy(&snap, false);
        for (line, keep, what) in SAMPLES {
            let flow = parse_line(line).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(allowed(&policy, &snap, &flow), *keep, "{what}: {line}");
        }
    }

    #[test]
    fn lan_setting_keeps_lan_connections() {
        let snap = laptop(true);
        let with_lan = policy(&snap, true);
        let ssh_in = parse_line(SAMPLES[7].0).unwrap();
        assert!(allowed(&with_lan, &snap, &ssh_in));
    }

    #[test]
    fn forwarded_traffic_dies_with_the_tunnel() {
        let down = laptop(false);
        let policy = policy(&down, false);
        let vm = parse_line(SAMPLES[8].0).unwrap();
        assert!(
            !allowed(&policy, &down, &vm),
            "no tunnel route: out via Wi-Fi"
        );
        let vpn = parse_line(SAMPLES[0].0).unwrap();
        assert!(
            allowed(&policy, &down, &vpn),
            "the VPN may always reconnect"
        );
    }

    #[test]
    fn parses_the_original_tuple() {
        let f = parse_line(SAMPLES[8].0).unwrap();
        assert_eq!(f.protocol, Protocol::Tcp);
        assert_eq!(f.src.to_string(), "192.168.122.50");
        assert_eq!(f.dst.to_string(), "203.0.113.80");
        assert_eq!((f.src_port, f.dst_port), (Some(33000), Some(443)));
        let ping = parse_line(SAMPLES[12].0).unwrap();
        assert_eq!((ping.protocol, ping.icmp_type), (Protocol::Icmp, Some(8)));
        assert_eq!(ping.src_port, None);
        let plain = parse_line("tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=1").unwrap();
        assert_eq!(plain.dst_port, Some(2));
    }

    #[test]
    fn unreadable_lines_are_errors_not_skipped() {
        assert!(parse_listing("ipv4 2 tcp 6 10 ESTABLISHED dst=1.2.3.4 sport=1 dport=2").is_err());
        assert!(parse_line("ipv4 2 tcp six 10 src=1.2.3.4 dst=1.2.3.5").is_err());
        assert!(parse_line("ipv4 2 tcp 6 10 src=1.2.3.999 dst=1.2.3.5").is_err());
        assert_eq!(parse_listing("\n\n").unwrap(), vec![]);
    }

    #[test]
    fn delete_args_name_the_whole_tuple() {
        let f = parse_line(SAMPLES[1].0).unwrap();
        assert_eq!(
            delete_args(&f).join(" "),
            "-D -p tcp -s 192.168.1.20 -d 203.0.113.80 --sport 52000 --dport 443"
        );
        let ping = parse_line(SAMPLES[12].0).unwrap();
        assert_eq!(
            delete_args(&ping).join(" "),
            "-D -p icmp -s 192.168.1.20 -d 203.0.113.80"
        );
    }

    #[test]
    fn reads_the_deleted_count() {
        let msg = "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n";
        assert_eq!(deleted_count(msg), Some(2));
        assert_eq!(
            deleted_count("conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted."),
            Some(0)
        );
        assert_eq!(
            deleted_count(
                "conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters"
            ),
            None
        );
    }
}
