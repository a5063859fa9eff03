//! What a DNS dictionary of the dynamic store holds for the switch, and
//! the values and marker keys Airlock writes into it: the data both the
//! plan and the `scutil` text speak about.

/// What the system's resolvers are set to while Blocking. Port 53: a
/// `ServerPort` key exists in Apple's schema, but whether mDNSResponder
/// honours it for the default resolver is unverified, so the helper's
/// resolver listens on 127.0.0.1:53 on macOS (mDNSResponder itself does
/// not bind port 53; it serves apps over its own socket and mDNS on 5353).
pub const OVERRIDE_SERVERS: &[&str] = &["127.0.0.1"];
/// Marker key in an overridden dictionary, saying what was there before:
/// `created` (no such dictionary), `none` (one without `ServerAddresses`)
/// or `servers` (see [`KEY_ORIGINAL_SERVERS`]).
pub const KEY_ORIGINAL: &str = "AirlockOriginal";
/// The `ServerAddresses` the dictionary had before the override.
pub const KEY_ORIGINAL_SERVERS: &str = "AirlockOriginalServerAddresses";

/// The parts of one DNS dictionary the switch reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsDict {
    /// `ServerAddresses`, `None` when the key is absent.
    pub servers: Option<Vec<String>>,
    /// [`KEY_ORIGINAL`]'s value, when Airlock overrode this dictionary.
    pub original: Option<String>,
    /// [`KEY_ORIGINAL_SERVERS`].
    pub original_servers: Option<Vec<String>>,
}
