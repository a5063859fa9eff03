//! The bounded table of recently blocked traffic.
//!
//! One entry per (destination, port, protocol, direction, interface,
//! sender): a flood of identical packets is one entry with a large count.
//! Two bounds keep a hostile or broken machine from costing memory or CPU
//! here: at most `max_entries` entries (the least recently seen one is
//! evicted to make room), and at most `max_per_second` events recorded per
//! second (the rest are only counted as `rate_dropped`). The kernel rate
//! limit on the log rule is the first line; this is the second.
//!
//! Time is passed in (milliseconds since the Unix epoch) so the table is
//! pure and tests are deterministic.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{BlockedDirection, BlockedEvent, InterfaceRef, Sender};
use crate::policy::Protocol;

/// Names for addresses, when something (the helper's own DNS resolver)
/// saw a lookup answer with them. Asked once, when an entry is created.
pub trait NameHint {
    fn name_for(&self, addr: IpAddr) -> Option<String>;
}

/// No names known.
pub struct NoNames;

impl NameHint for NoNames {
    fn name_for(&self, _: IpAddr) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_per_second: u32,
}

impl Default for Limits {
    /// Enough to show what a person needs ("what service needs to be
    /// available?") and small enough to send whole over the IPC.
    fn default() -> Limits {
        Limits {
            max_entries: 256,
            max_per_second: 2000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    dst: IpAddr,
    dst_port: Option<u16>,
    protocol: Protocol,
    direction: BlockedDirection,
    interface: InterfaceRef,
    sender: Sender,
}

/// One aggregated row, as `airlockctl blocked` and the app show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedEntry {
    pub dst: IpAddr,
    pub dst_port: Option<u16>,
    pub protocol: Protocol,
    pub direction: BlockedDirection,
    pub interface: InterfaceRef,
    pub sender: Sender,
    /// A name for `dst` when one was known.
    pub name: Option<String>,
    /// The last source address seen (which local address was used).
    pub last_src: IpAddr,
    pub count: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

#[derive(Debug)]
pub struct BlockedTable {
    limits: Limits,
    entries: HashMap<Key, BlockedEntry>,
    window_start_ms: u64,
    in_window: u32,
    rate_dropped: u64,
    evicted: u64,
}

impl BlockedTable {
    pub fn new(limits: Limits) -> BlockedTable {
        BlockedTable {
            limits,
            entries: HashMap::with_capacity(limits.max_entries.min(4096)),
            window_start_ms: 0,
            in_window: 0,
            rate_dropped: 0,
            evicted: 0,
        }
    }

    /// Record one event at `now_ms`. Returns whether it was counted (false:
    /// over the rate bound, only `rate_dropped` moved).
    pub fn record(&mut self, e: &BlockedEvent, now_ms: u64, names: &dyn NameHint) -> bool {
        let f = &e.flow;
        if now_ms.saturating_sub(self.window_start_ms) >= 1000 {
            self.window_start_ms = now_ms;
            self.in_window = 0;
        }
        if self.in_window >= self.limits.max_per_second {
            self.rate_dropped += 1;
            return false;
        }
        self.in_window += 1;
        let key = Key {
            dst: f.dst,
            dst_port: f.dst_port,
            protocol: f.protocol,
            direction: e.direction,
            interface: e.interface.clone(),
            sender: e.sender.clone(),
        };
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.count += 1;
            entry.last_seen_ms = entry.last_seen_ms.max(now_ms);
            entry.last_src = f.src;
            return true;
        }
        if self.limits.max_entries == 0 {
            return true;
        }
        if self.entries.len() >= self.limits.max_entries {
            self.evict_oldest();
        }
        self.entries.insert(
            key,
            BlockedEntry {
                dst: f.dst,
                dst_port: f.dst_port,
                protocol: f.protocol,
                direction: e.direction,
                interface: e.interface.clone(),
                sender: e.sender.clone(),
                name: names.name_for(f.dst),
                last_src: f.src,
                count: 1,
                first_seen_ms: now_ms,
                last_seen_ms: now_ms,
            },
        );
        true
    }

    /// A linear scan: the table is small (hundreds) and this runs only when
    /// a new key arrives at a full table, within the rate bound.
    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, v)| v.last_seen_ms)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.entries.remove(&k);
            self.evicted += 1;
        }
    }

    /// The rows, most recently seen first (ties: the larger count first).
    pub fn snapshot(&self) -> Vec<BlockedEntry> {
        let mut v: Vec<BlockedEntry> = self.entries.values().cloned().collect();
        v.sort_by(|a, b| {
            b.last_seen_ms
                .cmp(&a.last_seen_ms)
                .then(b.count.cmp(&a.count))
                .then(a.dst.cmp(&b.dst))
                .then(a.dst_port.cmp(&b.dst_port))
        });
        v
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Events not recorded because of the rate bound.
    pub fn rate_dropped(&self) -> u64 {
        self.rate_dropped
    }

    /// Entries pushed out to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Flow;

    fn event(dst: &str, port: u16, uid: Option<u32>) -> BlockedEvent {
        BlockedEvent {
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Name("eth0".into()),
            flow: Flow {
                protocol: Protocol::Udp,
                src: "192.168.1.20".parse().unwrap(),
                dst: dst.parse().unwrap(),
                src_port: Some(40000),
                dst_port: Some(port),
                icmp_type: None,
            },
            sender: Sender {
                uid,
                pid: None,
                process: None,
            },
        }
    }

    struct OneName;
    impl NameHint for OneName {
        fn name_for(&self, addr: IpAddr) -> Option<String> {
            (addr.to_string() == "192.168.1.1").then(|| "router.lan".into())
        }
    }

    #[test]
    fn repeats_aggregate_with_first_and_last_seen() {
        let mut t = BlockedTable::new(Limits::default());
        for i in 0..14 {
            assert!(t.record(
                &event("192.168.1.1", 53, Some(501)),
                1000 + i * 10,
                &OneName
            ));
        }
        t.record(&event("192.168.1.1", 53, Some(0)), 2000, &OneName);
        let rows = t.snapshot();
        assert_eq!(rows.len(), 2, "a different sender is a different row");
        assert_eq!(rows[0].sender.uid, Some(0));
        let dns = &rows[1];
        assert_eq!(dns.count, 14);
        assert_eq!((dns.first_seen_ms, dns.last_seen_ms), (1000, 1130));
        assert_eq!(dns.name.as_deref(), Some("router.lan"));
    }

    #[test]
    fn full_table_evicts_the_least_recently_seen() {
        let mut t = BlockedTable::new(Limits {
            max_entries: 3,
            max_per_second: 1000,
        });
        t.record(&event("10.0.0.1", 1, None), 10, &NoNames);
        t.record(&event("10.0.0.2", 1, None), 20, &NoNames);
        t.record(&event("10.0.0.3", 1, None), 30, &NoNames);
        // 10.0.0.1 seen again: now 10.0.0.2 is the stalest.
        t.record(&event("10.0.0.1", 1, None), 40, &NoNames);
        t.record(&event("10.0.0.4", 1, None), 50, &NoNames);
        let dsts: Vec<String> = t.snapshot().iter().map(|e| e.dst.to_string()).collect();
        assert_eq!(dsts, ["10.0.0.4", "10.0.0.1", "10.0.0.3"]);
        assert_eq!(t.evicted(), 1);
    }

    #[test]
    fn rate_bound_counts_what_it_drops_and_resets_each_second() {
        let mut t = BlockedTable::new(Limits {
            max_entries: 10,
            max_per_second: 5,
        });
        let e = event("10.0.0.1", 1, None);
        let counted = (0..8).filter(|_| t.record(&e, 5000, &NoNames)).count();
        assert_eq!(counted, 5);
        assert_eq!(t.rate_dropped(), 3);
        assert!(t.record(&e, 6000, &NoNames));
        assert_eq!(t.snapshot()[0].count, 6);
    }

    #[test]
    fn a_flood_of_distinct_destinations_stays_bounded() {
        let limits = Limits::default();
        let mut t = BlockedTable::new(limits);
        for i in 0..100_000u32 {
            let dst = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            let mut e = event("10.0.0.1", 53, None);
            e.flow.dst = dst;
            t.record(&e, u64::from(i), &NoNames);
        }
        assert_eq!(t.len(), limits.max_entries);
        let rows = t.snapshot();
        assert_eq!(
            rows[0].dst,
            IpAddr::from((0x0a00_0000u32 + 99_999).to_be_bytes())
        );
    }
}
