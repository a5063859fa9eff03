//! The macOS DNS switch, decided here and only carried out by the helper's
//! thin `scutil` shim: while Blocking, the system's resolvers point at
//! Airlock's resolver on loopback; when Blocking ends, or at the next
//! start after a crash, they are put back exactly as they were.
//!
//! Why this and not a pf redirect: pf's `rdr` only rewrites packets as
//! they come *in* on an interface, so outbound DNS would have to be bent
//! onto lo0 first (`route-to lo0` plus `rdr on lo0`), in the anchor's
//! `rdr-anchor` slot and for mDNSResponder's sockets, a path nobody here
//! can verify. The SystemConfiguration dynamic store is the documented
//! place the system takes its resolvers from.
//!
//! Mechanism (the same one OpenVPN 3's `MacDNS` uses): for every network
//! service, the dynamic-store key `Setup:/Network/Service/<id>/DNS`
//! gets `ServerAddresses = 127.0.0.1`. A `Setup:` entity overrides what
//! DHCP publishes under `State:` (configd's IPMonitor merges the two), for
//! the default and for the per-interface (scoped) resolvers alike, so the
//! network check macOS runs on a newly joined interface reaches us too.
//! What was there before is kept *in the same dictionary*
//! ([`KEY_ORIGINAL`], [`KEY_ORIGINAL_SERVERS`]), so the backup lives and
//! dies with the override:
//! - only the dynamic store is written, never the preferences file
//!   (`networksetup -setdnsservers` would write that): a reboot, or
//!   configd re-reading the preferences, drops override and backup
//!   together and the user's own settings come back by themselves;
//! - DHCP renewals and new networks rewrite `State:` keys, not these, so
//!   the override survives network changes; a service that appears while
//!   Blocking is switched at the helper's next pass (it runs on every
//!   network change);
//! - a helper that dies leaves the override; every lookup then fails at
//!   once on 127.0.0.1 (nothing listens), which is what blocking means,
//!   and the next start restores every dictionary that carries the marker
//!   unless it is Blocking again.
//!
//! UNVERIFIED on a Mac: merge order of `Setup:` over `State:` and that
//! configd keeps unknown keys in a DNS dictionary are taken from
//! OpenVPN 3's MacDNS and Apple's SCSchemaDefinitions, not tried here.

mod dict;
mod plan;
mod scutil;

pub use dict::{DnsDict, KEY_ORIGINAL, KEY_ORIGINAL_SERVERS, OVERRIDE_SERVERS};
pub use plan::{network_resolvers, plan, Original, Service, Step};
pub use scutil::{
    parse_list, parse_primary_service, parse_show, script, setup_dns_key, valid_service_id,
    ScutilParseError, LIST_SETUP_DNS, LIST_STATE_DNS, PRIMARY_KEY,
};
