//! The filtering resolver's pure core: parsing untrusted DNS messages,
//! building the few answers Airlock gives, and deciding which answer a
//! question gets while the kill switch is blocking.
//!
//! Every query comes from any local process, so nothing here trusts its
//! input: every length is checked against the message, names are bounded
//! (labels ≤ 63, names ≤ 255 bytes), compression pointers must point
//! strictly backwards and are followed a bounded number of times, and a
//! message is read once, front to back. Bad input is a typed
//! [`ParseError`], never a panic.
//!
//! The sockets, the upstream forwarding and the pinning live in the helper;
//! this module decides and encodes only.

/// Loopback port of the helper's filtering resolver; the nft redirect
/// points here. Not 53, so it never competes with a local stub resolver
/// (systemd-resolved, dnsmasq) for the port.
pub const RESOLVER_PORT: u16 = 5354;
/// `SO_MARK` on the resolver's upstream sockets ("AL" in ASCII): the only
/// DNS the Linux rules let out while blocking.
pub const UPSTREAM_MARK: u32 = 0x414c;

mod answer;
mod build;
mod decide;
mod error;
mod limits;
mod message;
mod name;
mod pins;
mod tcp;

pub use answer::{check_upstream, UpstreamAnswer, MAX_ADDRESSES};
pub use build::{
    addresses, empty, placeholder, query, refused, relay, with_rcode, PLACEHOLDER_TTL,
};
pub use decide::{
    decide, default_network_check_names, Decision, ResolverNames, PLACEHOLDER_V4, PLACEHOLDER_V6,
};
pub use error::ParseError;
pub use limits::{MAX_MESSAGE_LEN, MAX_POINTER_HOPS};
pub use message::{
    parse_query, Header, Query, Question, Rcode, CLASS_IN, HEADER_LEN, TYPE_A, TYPE_AAAA,
    TYPE_CNAME,
};
pub use name::{Name, NameError, MAX_LABEL_LEN, MAX_NAME_LEN};
pub use pins::{AnsweredPin, PinTable, MAX_PINS, MAX_PIN_SECS, MIN_PIN_SECS};
pub use tcp::{
    frame, frame_len, MAX_TCP_CONNECTIONS, TCP_CONNECTION_LIFETIME, TCP_LEN_PREFIX,
    TCP_QUERY_TIMEOUT,
};
