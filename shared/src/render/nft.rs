//! nftables renderer (Linux): [`Policy`] -> the script `nft -f` loads.
//!
//! Layout of the table, top to bottom as a reader meets it:
//! - named counters `blocked_in`/`blocked_out`, read by the helper for the
//!   "recently blocked" numbers;
//! - sets `endpoints_v4`/`endpoints_v6` (address . protocol . port), so a
//!   thousand VPN servers cost one hash lookup per packet;
//! - while paused, a set `paused` whose elements time out in the kernel:
//!   the lock comes back on time even if the helper is dead;
//! - regular chains `inbound`/`outbound`: the policy's rules in order, a
//!   pass is `return`, the chain ends in the default verdict;
//! - base chains `input`/`output`/`forward` (policy drop) that only jump.
//!
//! Forwarded packets jump through `inbound` and then `outbound`, which is
//! [`Policy::decides`]' "In on ingress AND Out on egress". There is no
//! `ct state established accept` on the way out (TunnelVision: an old
//! connection must not follow a new route out of the physical interface).

mod rule;
mod text;

use std::fmt::Write;
use std::net::IpAddr;

use crate::policy::{Direction, DnsCatch, Policy};

/// The table every script creates and replaces.
pub const TABLE: &str = "inet airlock";
/// Its owned copy ([`render_guard`]).
pub const GUARD_TABLE: &str = "inet airlock_guard";

/// Which of Airlock's two tables a script is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// `inet airlock`: the rules users read, count and see blocked
    /// packets in.
    Main,
    /// `inet airlock_guard`: the same rules, in a table only the helper's
    /// own netlink socket may change or delete.
    Guard,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Main => TABLE,
            Table::Guard => GUARD_TABLE,
        }
    }

    /// The base chains' priority. The guard's run just after the main
    /// table's: a packet the main table drops is counted and logged there
    /// and never reaches the guard; one it accepts must be accepted by the
    /// guard too (a drop in any table at a hook is final, an accept is
    /// not), which the same rules do. Only with the main table gone do the
    /// guard's own counters and log see anything.
    fn priority(self) -> &'static str {
        match self {
            Table::Main => "filter",
            Table::Guard => "filter + 1",
        }
    }

    /// The DNS redirect's nat priority. The kernel sets up a connection's
    /// address translation once, in the first nat chain that makes one,
    /// so the guard's copy only acts when the main table is gone.
    fn nat_priority(self) -> i32 {
        match self {
            Table::Main => -100,
            Table::Guard => -99,
        }
    }

    /// The lines that create the table if it is missing and delete it, so
    /// the definition after them replaces it in the same transaction. The
    /// guard must be named with its flag: an update that leaves `owner`
    /// out would try to clear it, which the kernel refuses.
    fn replace(self) -> String {
        let name = self.name();
        match self {
            Table::Main => format!("table {name}\ndelete table {name}\n"),
            Table::Guard => format!("table {name} {{\n\tflags owner\n}}\ndelete table {name}\n"),
        }
    }
}

/// The complete `nft -f` script for `policy`.
pub fn render(policy: &Policy) -> String {
    render_table(policy, Table::Main)
}

/// The script of the tamper guard: `inet airlock_guard`, the same rules as
/// [`render`]'s in a table created with the `owner` flag. The kernel lets
/// only the netlink socket that created such a table change or delete it,
/// and `nft flush ruleset` passes it by, so while the helper keeps that
/// socket open a root process that deletes or flushes `inet airlock` opens
/// nothing: the guard goes on blocking until the helper has put the main
/// table back. The kernel removes an owned table when its socket closes, so
/// the guard never stands alone: with the helper dead, `inet airlock`
/// (owned by no one) stays and blocks, as before. Loaded only by a helper
/// that runs nftables in its own process; the `nft` command's socket
/// closes when it exits, and the table with it.
pub fn render_guard(policy: &Policy) -> String {
    render_table(policy, Table::Guard)
}

/// Removes both tables in one transaction (one wait for the kernel to
/// unhook their chains instead of two), whether or not either exists.
pub fn removal() -> String {
    off(Table::Main) + &off(Table::Guard)
}

fn render_table(policy: &Policy, table: Table) -> String {
    if !policy.enforce {
        return off(table);
    }
    let name = table.name();
    // ~40 bytes per endpoint line; the rest is a few kilobytes.
    let mut out = String::with_capacity(4096 + 48 * policy.endpoints.len());
    match table {
        Table::Main => header(&mut out, policy),
        Table::Guard => guard_header(&mut out),
    }
    let _ = writeln!(out, "{}\ntable {name} {{", table.replace());
    if table == Table::Guard {
        out.push_str("\tflags owner\n\n");
    }
    counters(&mut out);
    endpoint_sets(&mut out, policy);
    if let Some(pause) = &policy.pause {
        let _ = write!(
            out,
            "\tset paused {{\n\
             \t\ttypeof meta nfproto\n\
             \t\tflags timeout\n\
             \t\tcomment \"pause: all traffic passes until these elements time out in the kernel\"\n\
             \t\telements = {{ ipv4 timeout {s}s, ipv6 timeout {s}s }}\n\
             \t}}\n\n",
            s = pause.remaining_secs.max(1)
        );
    }
    policy_chain(&mut out, policy, Direction::In);
    policy_chain(&mut out, policy, Direction::Out);
    let paused = policy
        .pause
        .map(|p| format!("paused until {}", crate::time::utc(p.until)));
    base_chain(
        &mut out,
        table,
        "input",
        "packets for this machine",
        paused.as_deref(),
        &["inbound"],
    );
    out.push('\n');
    base_chain(
        &mut out,
        table,
        "output",
        "packets from this machine",
        paused.as_deref(),
        &["outbound"],
    );
    out.push('\n');
    if let Some(dns) = &policy.dns_catch {
        dns_redirect(&mut out, table, dns);
    }
    base_chain(
        &mut out,
        table,
        "forward",
        "packets routed through this machine (VMs, containers): both ways must allow them",
        paused.as_deref(),
        &["inbound", "outbound"],
    );
    out.push_str("}\n");
    out
}

/// With the kill switch off the script only removes the table; creating
/// it first makes the delete succeed whether or not it exists.
fn off(table: Table) -> String {
    let what = match table {
        Table::Main => {
            "Airlock's\n\
         # nftables table"
        }
        Table::Guard => {
            "the owned\n\
         # copy of Airlock's nftables table"
        }
    };
    format!(
        "# Airlock VPN kill switch for Linux: the kill switch is OFF.\n\
         #\n\
         # Generated by airlockd; do not edit. This script only removes {what}, so nothing is blocked. Loaded with one `nft -f`\n\
         # transaction: creating the table first lets the delete work whether or\n\
         # not it exists.\n\
         \n\
         {}",
        table.replace()
    )
}

/// What the guard is, for whoever finds it in `nft list ruleset`.
fn guard_header(out: &mut String) {
    out.push_str(
        "# Airlock VPN kill switch for Linux: the tamper guard.\n\
         #\n\
         # The same rules as table inet airlock, in a table only airlockd may change\n\
         # or delete (flag \"owner\": the kernel refuses everyone else, and\n\
         # `nft flush ruleset` passes it by). If inet airlock is deleted or flushed,\n\
         # this goes on blocking until airlockd has put it back. The kernel removes\n\
         # this table when airlockd exits; inet airlock stays then and blocks alone.\n\
         # Its chains run just after inet airlock's, so packets are counted and\n\
         # logged there.\n\
         \n",
    );
}

fn header(out: &mut String, policy: &Policy) {
    out.push_str(
        "# Airlock VPN kill switch for Linux: nftables ruleset.\n\
         #\n\
         # Generated by airlockd from its settings and the current network; do not\n\
         # edit, it is rewritten whenever either changes. Loaded with one `nft -f`\n\
         # transaction: the first two lines create the table if it is missing and\n\
         # delete it, and the definition below takes its place at the same instant,\n\
         # so there is never a moment without protection.\n\
         #\n\
         # What passes is listed in the chains \"inbound\" and \"outbound\", in order.\n\
         # Everything else is dropped coming in, and refused going out (TCP reset or\n\
         # ICMP unreachable, so apps fail at once instead of hanging).\n",
    );
    if let Some(pause) = &policy.pause {
        let _ = write!(
            out,
            "#\n\
             # PAUSED until {}: everything passes until then.\n\
             # The kernel ends the pause by itself when the elements of set\n\
             # \"paused\" time out, even if airlockd is not running.\n",
            crate::time::utc(pause.until)
        );
    }
    out.push('\n');
}

fn counters(out: &mut String) {
    out.push_str(
        "\tcounter blocked_in {\n\
         \t\tcomment \"packets coming in that no rule allowed (dropped)\"\n\
         \t}\n\n\
         \tcounter blocked_out {\n\
         \t\tcomment \"packets going out that no rule allowed (refused)\"\n\
         \t}\n\n",
    );
}

fn endpoint_sets(out: &mut String, policy: &Policy) {
    for (v4, name, ty, label) in [
        (true, "endpoints_v4", "ipv4_addr", "IPv4"),
        (false, "endpoints_v6", "ipv6_addr", "IPv6"),
    ] {
        let _ = write!(
            out,
            "\tset {name} {{\n\
             \t\ttype {ty} . inet_proto . inet_service\n\
             \t\tcomment \"VPN servers ({label}): address . protocol . port\"\n"
        );
        let mut first = true;
        for e in policy
            .endpoints
            .iter()
            .filter(|e| matches!(e.address, IpAddr::V4(_)) == v4)
        {
            out.push_str(if first {
                "\t\telements = {\n\t\t\t"
            } else {
                ",\n\t\t\t"
            });
            first = false;
            let _ = write!(out, "{} . {} . {}", e.address, e.protocol, e.port);
        }
        if !first {
            out.push_str("\n\t\t}\n");
        }
        out.push_str("\t}\n\n");
    }
}

/// `inbound` or `outbound`: the policy's rules for that direction in
/// policy order, then the default verdict with its counter.
fn policy_chain(out: &mut String, policy: &Policy, direction: Direction) {
    let (name, what) = match direction {
        Direction::In => ("inbound", "what may come in"),
        Direction::Out => ("outbound", "what may go out"),
    };
    let _ = write!(
        out,
        "\tchain {name} {{\n\
         \t\tcomment \"{what}: return = allowed, the last rules block the rest\"\n"
    );
    for r in policy.rules.iter().filter(|r| r.direction == direction) {
        rule::write(out, r);
    }
    if let (Direction::Out, Some(dns)) = (direction, &policy.dns_catch) {
        dns_upstream(out, dns);
    }
    if let Some(log) = policy.log_blocked {
        // A rule without a verdict: it logs a sample and the packet goes on
        // to the counted block below. The limit sits here, not on the block
        // rules, so nothing over the rate slips past unblocked.
        let side = match direction {
            Direction::In => "in",
            Direction::Out => "out",
        };
        let _ = writeln!(
            out,
            "\t\tlimit rate {rate}/second burst {burst} packets \
             log prefix \"airlock blocked {side}\" group {group} snaplen {snap} \
             comment \"report what is blocked to airlockd (at most {rate} a second)\"",
            rate = log.per_second,
            burst = log.per_second.saturating_mul(2),
            group = log.group,
            snap = log.snaplen,
        );
    }
    match direction {
        Direction::In => out.push_str(
            "\t\tcounter name \"blocked_in\" drop \
             comment \"everything else coming in: dropped without an answer\"\n",
        ),
        Direction::Out => out.push_str(
            "\t\tmeta l4proto tcp counter name \"blocked_out\" reject with tcp reset \
             comment \"everything else going out: TCP is reset at once\"\n\
             \t\tcounter name \"blocked_out\" reject with icmpx admin-prohibited \
             comment \"everything else going out: refused with ICMP, so apps fail fast\"\n",
        ),
    }
    out.push_str("\t}\n\n");
}

fn base_chain(
    out: &mut String,
    table: Table,
    hook: &str,
    what: &str,
    paused: Option<&str>,
    jumps: &[&str],
) {
    let _ = writeln!(
        out,
        "\tchain {hook} {{\n\
         \t\tcomment \"{what}\"\n\
         \t\ttype filter hook {hook} priority {}; policy drop;",
        table.priority()
    );
    if let Some(until) = paused {
        let _ = writeln!(out, "\t\tmeta nfproto @paused accept comment \"{until}\"");
    }
    for j in jumps {
        let _ = writeln!(out, "\t\tjump {j}");
    }
    let _ = writeln!(
        out,
        "\t\taccept comment \"allowed by {}\"\n\t}}",
        jumps.join(" and ")
    );
}

/// Redirected DNS to the resolver, and the resolver's own upstream
/// queries: marked sockets to the network's
/// resolvers, port 53. Nothing else of DNS passes while blocking.
fn dns_upstream(out: &mut String, dns: &DnsCatch) {
    // A redirected query still names the interface it was routed to
    // before the redirect (the hook's output device does not change
    // within the hook), so loopback's own rule does not see it.
    // `redirect` in the inet family rewrites IPv4 to 127.0.0.1 and IPv6
    // to ::1 (the kernel's choice for locally generated packets); the
    // resolver listens on both.
    let _ = writeln!(
        out,
        "\t\tip daddr 127.0.0.1 meta l4proto {{ tcp, udp }} th dport {port} return \
         comment \"DNS redirected to Airlock's resolver on loopback\"\n\
         \t\tip6 daddr ::1 meta l4proto {{ tcp, udp }} th dport {port} return \
         comment \"DNS over IPv6 redirected to Airlock's resolver on loopback\"",
        port = dns.resolver_port
    );
    for (family, key) in [(true, "ip"), (false, "ip6")] {
        let nets: Vec<String> = dns
            .upstreams
            .iter()
            .filter(|n| matches!(n, ipnet::IpNet::V4(_)) == family)
            .map(|n| n.to_string())
            .collect();
        if nets.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\t\tmeta mark {:#x} {key} daddr {{ {} }} meta l4proto {{ tcp, udp }} th dport 53 return \
             comment \"Airlock's resolver asking the network's resolvers for a VPN server's name\"",
            dns.upstream_mark,
            nets.join(", ")
        );
    }
}

/// While blocking, DNS from this machine goes to Airlock's resolver on
/// loopback instead of the network: it answers the OS's network check and
/// the VPN servers' names, and refuses the rest.
fn dns_redirect(out: &mut String, table: Table, dns: &DnsCatch) {
    let _ = write!(
        out,
        "\tchain dns_redirect {{\n\
         \t\tcomment \"while blocking: DNS from this machine goes to Airlock's resolver\"\n\
         \t\ttype nat hook output priority {nat}; policy accept;\n\
         \t\tmeta mark {mark:#x} return comment \"the resolver's own upstream queries go out as they are\"\n\
         \t\toifname \"lo\" return comment \"DNS to a local resolver stays local\"\n\
         \t\tmeta l4proto {{ tcp, udp }} th dport 53 redirect to :{port} \
         comment \"every other DNS query: to Airlock's resolver on port {port}\"\n\
         \t}}\n\n",
        mark = dns.upstream_mark,
        port = dns.resolver_port,
        nat = table.nat_priority(),
    );
}
