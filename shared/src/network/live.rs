//! Reads the live network state (getifaddrs, routing table, resolv.conf).
//! Filled in by the live-snapshot work.
