//! What the firewall blocked, by whom: the pure half.
//!
//! The kernel tells the helper about each packet a final block/reject rule
//! refused (Linux: NFLOG over netlink; macOS: pf's `pflog0` read with BPF).
//! Everything that turns those bytes into a [`BlockedEvent`], and the bounded
//! table that aggregates the events, lives here so it is tested with
//! captured and constructed bytes on any platform. The helper's thin
//! platform files only read the bytes and hand them over.

use serde::{Deserialize, Serialize};

use crate::policy::{Flow, Protocol};

pub mod bpf;
pub mod ip;
pub mod nflog;
pub mod pflog;
pub mod suggest;
pub mod table;
pub mod words;

pub use table::{BlockedEntry, BlockedTable, Limits, NameHint, NoNames};

/// Which way the refused packet was going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockedDirection {
    /// Arriving for this machine.
    In,
    /// Sent by this machine.
    Out,
    /// Routed through this machine (a VM, a container, sharing).
    Forward,
}

/// The interface the packet crossed, as precisely as the kernel said it.
/// NFLOG gives an index (the helper turns it into a name); pflog a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceRef {
    Name(String),
    Index(u32),
    Unknown,
}

/// Who sent the packet, as far as the platform tells it. Every field is
/// optional: the kernel knows the socket's owner only for locally sent
/// packets, and only some platforms give a pid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sender {
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    /// The process name, when the helper could look the pid up.
    pub process: Option<String>,
}

/// One refused packet, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedEvent {
    pub direction: BlockedDirection,
    pub interface: InterfaceRef,
    /// The packet's ends, as the IP parser read them (flattened: the
    /// fields stand beside `direction` in JSON).
    #[serde(flatten)]
    pub flow: Flow,
    pub sender: Sender,
}

/// What `GetBlocked` answers: the table's rows and how much was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedReport {
    /// Whether the helper is reading the kernel's log at all (false on a
    /// platform without a reader yet, or when the log could not be opened).
    pub reading: bool,
    /// Most recently seen first.
    pub entries: Vec<BlockedEntry>,
    /// Events not recorded because of the table's rate bound.
    pub rate_dropped: u64,
    /// Rows pushed out of the full table.
    pub evicted: u64,
    /// Why the log is not being read, when it is not.
    pub problem: Option<String>,
}

/// The protocol named by an IP protocol number (the inverse of
/// [`Protocol::number`]).
pub fn protocol_from_number(n: u8) -> Protocol {
    match n {
        1 => Protocol::Icmp,
        2 => Protocol::Igmp,
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        58 => Protocol::Icmpv6,
        other => Protocol::Other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(protocol_from_number(n).number(), n);
        }
    }
}
