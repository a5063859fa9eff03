//! pf renderer (macOS): the policy as the text of the anchor
//! `com.apple/0.airlock`, loaded with `pfctl -a com.apple/0.airlock -f -`.
//!
//! The text is meant to be read (`airlockctl rules`), so it reads like a
//! good hand-written pf.conf: a header, the endpoint tables, then one
//! commented block per policy rule in policy order, then the two block
//! rules. Every rule is `quick`, so the first match decides, exactly as in
//! [`Policy::decides`]. pf cannot express a few things the way the policy
//! states them; each translation is explained where it happens:
//! endpoints become tables grouped by (protocol, port) ([`tables`]),
//! interface wildcards become numbered lists ([`crate::policy::IfaceSet::expand`]),
//! "replies" become pf's state table, and a pause becomes a leading
//! `pass quick all` that the helper removes on a timer.

mod rule;
mod tables;

use std::fmt::Write;

use crate::policy::Policy;

/// The anchor below Apple's `com.apple/*` hook that holds our rules.
///
/// pf evaluates the children of `com.apple/*` in `strcmp` order of their
/// paths (xnu `pf_ruleset.c`, `pf_anchor_compare`), and a `pass quick` in
/// an earlier child decides before a later one is read. Apple numbers its
/// own children (`com.apple/200.AirDrop`, `com.apple/250.ApplicationFirewall`)
/// to order them; `0.` sorts before every such name: `'0'` is below every
/// other digit, and `'.'` (0x2e) is below `'0'` (0x30), so it also precedes
/// `000.x` or `050.x`. Only a name starting with a character below `'0'`
/// (punctuation), `0` alone, or `0` followed by one below `'.'` could sort earlier;
/// Apple uses none.
pub const ANCHOR: &str = "com.apple/0.airlock";

/// The last part of [`ANCHOR`]: what pf writes into a pflog record's
/// `ruleset` field for our rules (xnu copies `ruleset->anchor->name`).
pub const ANCHOR_NAME: &str = "0.airlock";

/// The anchor Airlock used before it was renamed to sort first; the helper
/// empties it when it finds rules there (an upgrade), since it would
/// otherwise keep an old copy of the kill switch evaluated after ours.
pub const LEGACY_ANCHOR: &str = "com.apple/airlock";

/// The anchor text for `pfctl -a com.apple/0.airlock -f -`.
pub fn render(policy: &Policy) -> String {
    let groups = tables::group(&policy.endpoints);
    // About 40 bytes per address plus a few kilobytes of rules.
    let mut out = String::with_capacity(4096 + 40 * policy.endpoints.len());
    header(&mut out);
    if !policy.enforce {
        out.push_str(
            "# The kill switch is off: this anchor holds no rules. Loading this text\n\
             # flushes whatever rules the anchor held before.\n",
        );
        return out;
    }
    tables::write_definitions(&mut out, &groups);
    if let Some(pause) = policy.pause {
        rule::comment(
            &mut out,
            &format!(
                "PAUSED until {} (captive-portal login): everything passes.",
                crate::time::utc(pause.until)
            ),
        );
        rule::comment(
            &mut out,
            "pf has no expiry: the helper loads the locked rules again on a timer.",
        );
        out.push_str("pass quick all flags any allow-opts keep state\n\n");
    }
    let mut last_why: Option<&str> = None;
    for r in &policy.rules {
        // The two directions of one hole share a reason: say it once.
        let first = last_why != Some(r.why.as_str());
        if first {
            if last_why.is_some() {
                out.push('\n');
            }
            rule::comment(&mut out, &r.why);
            last_why = Some(&r.why);
        }
        rule::write(&mut out, r, &groups, first);
    }
    if let Some(dns) = &policy.dns_catch {
        resolver_upstream(&mut out, dns);
    }
    // Logging changes no verdict; the policy says whether to log.
    // `log (user)` going out: pf looks up the sending socket, so the
    // record carries its uid and pid (who sent it); coming in there is
    // rarely a local socket to find. pf has no rate limit for `log`: see
    // `blocked::bpf::ReaderConfig` for what bounds the cost.
    let (log_out, log_in, logged_out, logged_in) = match policy.log_blocked {
        Some(_) => (
            " log (user)",
            " log",
            "\n# Logged to pflog0 with the sending socket's uid and pid.",
            " Logged to pflog0.",
        ),
        None => ("", "", "", ""),
    };
    let _ = write!(
        out,
        "\n# Everything else going out is refused at once (TCP reset, ICMP unreachable),\n\
         # so apps fail fast instead of hanging.{logged_out}\n\
         block return out{log_out} quick all\n\
         # Everything else coming in is dropped without an answer.{logged_in}\n\
         block drop in{log_in} quick all\n",
    );
    out
}

/// While blocking: the filtering resolver's own queries to the network's
/// resolvers. pf has no socket marks, so the sending socket's owner tells
/// them (`user`): the helper runs as root. The system's DNS points at the
/// resolver meanwhile (the helper's DNS switch), so nobody else asks
/// these resolvers directly; a root process could, and could also turn
/// pf off.
fn resolver_upstream(out: &mut String, dns: &crate::policy::DnsCatch) {
    if dns.upstreams.is_empty() {
        return;
    }
    let to: Vec<String> = dns.upstreams.iter().map(|n| n.addr().to_string()).collect();
    let to = if to.len() == 1 {
        to[0].clone()
    } else {
        format!("{{ {} }}", to.join(" "))
    };
    out.push('\n');
    rule::comment(
        out,
        "Blocking: Airlock's own resolver (root) asks the network's resolvers for the \
         VPN server's name",
    );
    let uid = dns.upstream_uid;
    let _ = writeln!(
        out,
        "pass out quick proto udp to {to} port 53 user {uid} keep state"
    );
    let _ = writeln!(
        out,
        "pass out quick proto tcp to {to} port 53 user {uid} flags any keep state"
    );
}

fn header(out: &mut String) {
    out.push_str(
        "# Airlock kill switch: pf rules for the anchor com.apple/0.airlock.\n\
         # Generated by Airlock from its policy; edits here are overwritten.\n\
         # Loaded with `pfctl -a com.apple/0.airlock -f -`; the stock /etc/pf.conf\n\
         # already evaluates `anchor \"com.apple/*\"`, so it is not edited.\n\
         # \"0.\" sorts before Apple's numbered anchors (200.AirDrop, ...): pf\n\
         # reads the children of com.apple/* in that order, so these rules decide first.\n\
         # Every rule is `quick`: the first rule that matches decides.\n\
         # pf options (`set skip on lo0`, `set block-policy`) are not honoured in an\n\
         # anchor, so loopback has its own pass rule and each block says how it blocks.\n\
         # `flags any`: pf would otherwise only track a TCP connection from its SYN,\n\
         # cutting connections these rules allow that were open before they loaded.\n\
         # `allow-opts`: IGMP and MLD carry the Router Alert IP option, which pf\n\
         # drops unless the rule that passes the packet allows options.\n\n",
    );
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::network::classify::InterfaceKind;
    use crate::policy::{Direction, Family, IfaceSet, Interfaces, Policy, Protocol, Remote, Rule};

    fn policy(rules: Vec<Rule>) -> Policy {
        let tunnels = IfaceSet {
            kind: InterfaceKind::Tunnel,
            patterns: vec!["utun*".into()],
            present: vec![],
        };
        Policy {
            enforce: true,
            pause: None,
            endpoints: vec![],
            rules,
            tunnels,
            dns_catch: None,
            log_blocked: Some(crate::policy::BlockLog::default()),
        }
    }

    fn statements(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    /// pf orders the children of `com.apple/*` by `strcmp` of their path,
    /// which is Rust's byte-wise `str` order.
    #[test]
    fn our_anchor_sorts_before_every_numbered_apple_anchor_and_the_old_one_did_not() {
        let apple = [
            "com.apple/200.AirDrop",
            "com.apple/250.ApplicationFirewall",
            "com.apple/100.x",
            "com.apple/050.x",
            "com.apple/000.x",
            "com.apple/01",
            "com.apple/999",
        ];
        for a in apple {
            assert!(super::ANCHOR < a, "{} must sort before {a}", super::ANCHOR);
        }
        assert!(apple[..2].iter().all(|a| super::LEGACY_ANCHOR > *a));
        assert!(super::ANCHOR.starts_with("com.apple/"));
        assert_eq!(super::ANCHOR.rsplit('/').next(), Some(super::ANCHOR_NAME));
    }

    #[test]
    fn ports_without_a_protocol_mean_tcp_and_udp() {
        let mut r = Rule::new(Direction::Out, "ports only");
        r.remote_port = Some(53);
        let text = render(&policy(vec![r]));
        assert_eq!(
            statements(&text)[0],
            "pass out quick proto { tcp udp } to any port 53 flags any keep state"
        );
    }

    #[test]
    fn a_family_rule_keeps_only_nets_of_its_family_and_fails_closed_without_any() {
        let mut r = Rule::new(Direction::Out, "v6 only");
        r.family = Some(Family::V6);
        r.protocol = Some(Protocol::Udp);
        r.remote = Remote::Nets(vec![
            "10.0.0.0/8".parse().unwrap(),
            "fd00::/8".parse().unwrap(),
        ]);
        let mut none = r.clone();
        none.remote = Remote::Nets(vec!["10.0.0.0/8".parse().unwrap()]);
        let text = render(&policy(vec![r, none]));
        let lines = statements(&text);
        assert_eq!(
            lines[0],
            "pass out quick inet6 proto udp to fd00::/8 keep state"
        );
        assert_eq!(
            lines.len(),
            3,
            "the rule with no v6 net is left out: {text}"
        );
    }

    #[test]
    fn no_endpoints_means_no_endpoint_rule_and_no_table() {
        let mut r = Rule::new(Direction::Out, "VPN servers");
        r.remote = Remote::Endpoints;
        let text = render(&policy(vec![r]));
        assert!(!text.contains("table <"), "{text}");
        assert!(text.contains("no VPN servers configured"), "{text}");
        assert_eq!(statements(&text).len(), 2, "only the blocks: {text}");
    }

    #[test]
    fn names_pf_cannot_hold_are_left_out_and_reasons_cannot_start_a_line() {
        let set = IfaceSet {
            kind: InterfaceKind::Virtual,
            patterns: vec!["br0".into()],
            present: vec!["evil }".into()],
        };
        let mut r = Rule::new(Direction::In, "line one\npass in quick all");
        r.interfaces = Interfaces::Only(set);
        let text = render(&policy(vec![r]));
        assert_eq!(
            statements(&text)[0],
            "pass in quick on br0 all flags any allow-opts keep state"
        );
        assert!(!text.contains("\npass in quick all"), "{text}");
    }
}
