//! VPN endpoints as pf tables.
//!
//! A pf table holds addresses only, while an endpoint is (address,
//! protocol, port). Grouping the endpoints by (protocol, port) and pairing
//! each table with exactly that protocol and port in its rule keeps the
//! triple intact: `<airlock_udp_1194>` only ever meets `proto udp ... port
//! 1194`. The grouping is a translation, not a decision.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use crate::endpoint::{Endpoint, Transport};

/// The endpoints sharing one protocol and port.
pub(super) struct Group {
    pub transport: Transport,
    pub port: u16,
    pub addresses: Vec<IpAddr>,
}

impl Group {
    /// Names are at most 17 characters, well inside pf's 32-byte limit.
    pub fn name(&self) -> String {
        format!("airlock_{}_{}", self.transport, self.port)
    }
}

/// Every group, ordered by (protocol, port) so the text is deterministic.
pub(super) fn group(endpoints: &[Endpoint]) -> Vec<Group> {
    let mut by_key: BTreeMap<(Transport, u16), Vec<IpAddr>> = BTreeMap::new();
    for e in endpoints {
        by_key
            .entry((e.protocol, e.port))
            .or_default()
            .push(e.address);
    }
    by_key
        .into_iter()
        .map(|((transport, port), mut addresses)| {
            // The policy already sorts and de-duplicates; this keeps the
            // table right for a hand-made policy too.
            addresses.sort_unstable();
            addresses.dedup();
            Group {
                transport,
                port,
                addresses,
            }
        })
        .collect()
}

/// The `table` statements, one line each.
pub(super) fn write_definitions(out: &mut String, groups: &[Group]) {
    if groups.is_empty() {
        return;
    }
    out.push_str(
        "# VPN servers, one table per protocol and port: a pf table holds addresses\n\
         # only, so each table is paired with its own protocol and port below.\n",
    );
    for g in groups {
        out.push_str("table <");
        out.push_str(&g.name());
        out.push_str("> persist {");
        for a in &g.addresses {
            // Writing into a String cannot fail.
            let _ = write!(out, " {a}");
        }
        out.push_str(" }\n");
    }
    out.push('\n');
}
