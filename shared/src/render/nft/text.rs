//! Small text helpers for the nft renderer: strings nft accepts verbatim,
//! and the names it prints back.

use std::fmt::Write;

use crate::policy::Protocol;

/// nft refuses comments longer than this many bytes (`NFTNL_UDATA_COMMENT_MAXLEN`).
pub const COMMENT_MAX: usize = 128;

/// Writes ` comment "<text>"` so that nft takes it whatever `text` holds:
/// nft's quoted strings have no escapes, so a `"` becomes `'` and control
/// characters become spaces; then it is cut to [`COMMENT_MAX`] bytes on a
/// character boundary (a comment that breaks the load would leave the old
/// ruleset in place, which is worse than a shortened comment).
pub fn comment(out: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    out.push_str(" comment \"");
    let mut used = 0;
    for c in text.chars() {
        let c = match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        };
        used += c.len_utf8();
        if used > COMMENT_MAX {
            break;
        }
        out.push(c);
    }
    out.push('"');
}

/// The name nft uses for `meta l4proto` (and prints back in `nft list`).
pub fn proto_name(p: Protocol) -> ProtoName {
    ProtoName(p)
}

pub struct ProtoName(Protocol);

impl std::fmt::Display for ProtoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("ipv6-icmp"),
            Protocol::Igmp => f.write_str("igmp"),
            Protocol::Other(n) => write!(f, "{n}"),
        }
    }
}

/// nft's symbolic name for an ICMPv6 type, so the ruleset reads as
/// `nd-router-solicit` rather than `133`; unknown types stay numbers.
pub fn icmpv6_type(out: &mut String, t: u8) {
    let name = match t {
        1 => "destination-unreachable",
        2 => "packet-too-big",
        3 => "time-exceeded",
        4 => "parameter-problem",
        128 => "echo-request",
        129 => "echo-reply",
        130 => "mld-listener-query",
        131 => "mld-listener-report",
        132 => "mld-listener-done",
        133 => "nd-router-solicit",
        134 => "nd-router-advert",
        135 => "nd-neighbor-solicit",
        136 => "nd-neighbor-advert",
        137 => "nd-redirect",
        143 => "mld2-listener-report",
        _ => {
            let _ = write!(out, "{t}");
            return;
        }
    };
    out.push_str(name);
}

/// Same as [`icmpv6_type`] for ICMP (IPv4).
pub fn icmp_type(out: &mut String, t: u8) {
    let name = match t {
        0 => "echo-reply",
        3 => "destination-unreachable",
        5 => "redirect",
        8 => "echo-request",
        9 => "router-advertisement",
        10 => "router-solicitation",
        11 => "time-exceeded",
        12 => "parameter-problem",
        _ => {
            let _ = write!(out, "{t}");
            return;
        }
    };
    out.push_str(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_safe_for_nft() {
        let mut s = String::new();
        comment(&mut s, "say \"hi\"\nthere");
        assert_eq!(s, " comment \"say 'hi' there\"");

        let mut s = String::new();
        comment(&mut s, &"é".repeat(100));
        let inner = s.trim_start_matches(" comment \"").trim_end_matches('"');
        assert_eq!(inner.len(), COMMENT_MAX);
        assert_eq!(inner.chars().count(), 64);

        let mut s = String::new();
        comment(&mut s, "  ");
        assert_eq!(s, "");
    }
}
