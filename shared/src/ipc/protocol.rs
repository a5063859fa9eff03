//! The messages clients and the helper exchange, one per frame.
//!
//! Every enum is externally tagged (a unit variant is a bare string, any
//! other variant an object with exactly one key naming it) and every
//! struct denies unknown fields. Externally tagged is the one serde
//! representation that rejects extra keys on *every* variant; internally
//! tagged unit variants silently ignore them. A client and a helper of
//! different versions must fail loudly at the handshake, never act on a
//! field the other side did not mean.
//!
//! ```text
//! -> {"id":1,"body":{"hello":{"version":3,"client":"airlockctl 0.1.0"}}}
//! <- {"response":{"id":1,"result":{"ok":{"hello":{"version":3,"server":"airlockd 0.1.0"}}}}}
//! -> {"id":2,"body":{"set_option":{"option":"allow_lan","value":true}}}
//! <- {"response":{"id":2,"result":{"err":{"code":"not_authorized","message":"..."}}}}
//! -> {"id":3,"body":"subscribe"}
//! <- {"response":{"id":3,"result":{"ok":{"subscribed":{...status...}}}}}
//! <- {"event":{"status":{...}}}
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::settings::Settings;
use crate::status::Status;

/// Bumped on any change to the messages below, compatible or not: both
/// sides are shipped together, so an exact match is the only safe rule.
///
/// 2: `GetRules` takes an offset and `Rules` is one page of the ruleset
/// (with offset, total length and digest), so rulesets larger than a
/// frame can be read.
///
/// 3: the status's firewall health is typed: `backend` is a firewall
/// kind, `problems` are kernel problems and `faults` what Airlock failed
/// to do, each a tagged object instead of a sentence; the resolver's and
/// the blocked log's requests were added; `Resolve` / `Addresses` and the
/// `unresolved` error (the helper resolves a VPN config's server names,
/// so importing works while the kill switch blocks DNS); `GetCounters`
/// for the self-test; `LearnEndpoints` for the menu's "Allow the Server of
/// the VPN Connected Now".
pub const PROTOCOL_VERSION: u32 = 3;

/// Request id the helper uses when it cannot tell which request an error
/// belongs to (an unparsable or oversized frame). Clients start at 1.
pub const UNKNOWN_REQUEST_ID: u64 = 0;

/// Client -> helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub id: u64,
    pub body: RequestBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestBody {
    /// Must be the first request on a connection.
    Hello {
        version: u32,
        /// Who is asking (`airlockctl 0.1.0`), for the helper's log.
        client: String,
    },
    GetStatus,
    /// Turns the connection into a stream of `Status` events.
    Subscribe,
    Enable,
    Disable,
    SetOption {
        option: OptionName,
        value: bool,
    },
    Pause {
        seconds: u64,
    },
    Resume,
    ListEndpoints,
    AddEndpoints {
        endpoints: Vec<Endpoint>,
    },
    RemoveEndpoints {
        endpoints: Vec<Endpoint>,
    },
    /// The loaded ruleset from byte `offset` on; see [`ResponseBody::Rules`].
    GetRules {
        offset: u64,
    },
    GetSettings,
    /// What the final block rules refused recently, aggregated.
    GetBlocked,
    /// The block counters, read from the kernel now (not the status's
    /// once-a-second reading): the self-test tells Airlock's refusal of
    /// one attempt apart from a timeout or a missing route by them.
    GetCounters,
    /// Resolve a VPN server's name (A and AAAA) the way the helper itself
    /// can: while blocking, through its own allowed path to the network's
    /// resolvers (the only DNS the kill switch lets out); otherwise through
    /// the system's resolver. For importing a config with the kill switch
    /// on; nothing is pinned or saved. Answered with `Addresses`.
    Resolve {
        host: String,
    },
    /// Learn the servers of the tunnels up now (the VPN client's host
    /// route through a physical interface, with a connection to it from
    /// that interface's address) and add them, as on a network change:
    /// "Allow the Server of the VPN Connected Now" in the app, for when
    /// the connection was not visible yet when the route appeared.
    /// Appended last: the variants before it keep their meaning.
    LearnEndpoints,
}

impl RequestBody {
    /// Whether this request changes anything: the single input to the
    /// helper's authorization check (anyone local may read; changes need
    /// root or the admin group). Exhaustive on purpose: a new request
    /// does not compile until someone decides which side it is on.
    pub fn is_mutating(&self) -> bool {
        match self {
            RequestBody::Hello { .. }
            | RequestBody::GetStatus
            | RequestBody::Subscribe
            | RequestBody::ListEndpoints
            | RequestBody::GetRules { .. }
            | RequestBody::GetSettings
            // Metadata about this machine's own traffic, which any local
            // user can already observe (netstat, ss, their own failing
            // connections); see docs/security.md.
            | RequestBody::GetBlocked
            // The same number the status carries, only fresher.
            | RequestBody::GetCounters => false,
            RequestBody::Enable
            | RequestBody::Disable
            | RequestBody::SetOption { .. }
            | RequestBody::Pause { .. }
            | RequestBody::Resume
            | RequestBody::AddEndpoints { .. }
            | RequestBody::RemoveEndpoints { .. }
            // While blocking it sends a query out through the kill switch:
            // a way out that only those who may turn it off may use.
            | RequestBody::Resolve { .. } => true,
            | RequestBody::LearnEndpoints => true,
        }
    }
}

/// The settings a client may toggle one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionName {
    AllowLan,
    AllowAirdrop,
    AllowAirprint,
    AllowDns,
    /// macOS: put pf's `com.apple/*` hook back when another program's main
    /// ruleset drops it (see `Settings::pf_restore_hook`).
    PfRestoreHook,
    /// VPN servers only for root's sockets (see `Settings::vpn_root_only`).
    VpnRootOnly,
}

impl OptionName {
    pub fn as_str(self) -> &'static str {
        match self {
            OptionName::AllowLan => "allow_lan",
            OptionName::AllowAirdrop => "allow_airdrop",
            OptionName::AllowAirprint => "allow_airprint",
            OptionName::AllowDns => "allow_dns",
            OptionName::PfRestoreHook => "pf_restore_hook",
            OptionName::VpnRootOnly => "vpn_root_only",
        }
    }
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Helper -> client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The answer to request `id`.
    Response { id: u64, result: Outcome },
    /// Pushed to subscribed connections whenever the status changes.
    Event { status: Status },
}

impl ServerMessage {
    pub fn ok(id: u64, body: ResponseBody) -> Self {
        ServerMessage::Response {
            id,
            result: Outcome::Ok(body),
        }
    }

    pub fn err(id: u64, error: IpcError) -> Self {
        ServerMessage::Response {
            id,
            result: Outcome::Err(error),
        }
    }
}

/// `Result<ResponseBody, IpcError>` with a wire form of its own, so the
/// protocol does not depend on how serde happens to spell `Result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(ResponseBody),
    Err(IpcError),
}

impl From<Outcome> for Result<ResponseBody, IpcError> {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Ok(b) => Ok(b),
            Outcome::Err(e) => Err(e),
        }
    }
}

impl From<Result<ResponseBody, IpcError>> for Outcome {
    fn from(r: Result<ResponseBody, IpcError>) -> Self {
        match r {
            Ok(b) => Outcome::Ok(b),
            Err(e) => Outcome::Err(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseBody {
    Hello {
        version: u32,
        /// `airlockd 0.1.0`, shown by `airlockctl status --verbose`.
        server: String,
    },
    Status(Status),
    /// The status at the moment of subscribing; events follow.
    Subscribed(Status),
    /// After a change: the status with the new rules already in the
    /// kernel, so a client never shows a state that is not enforced yet.
    Done(Status),
    Endpoints(Vec<Endpoint>),
    /// One page of the ruleset as loaded, for `airlockctl rules`. A large
    /// ruleset does not fit one frame, so the client asks from offset 0
    /// and then from each page's end until it has `total` bytes
    /// (the client crate's `Client::rules` does this and checks the digest);
    /// pages are cut by [`crate::ipc::rules_page`].
    Rules {
        /// `nft` or `pf`.
        backend: String,
        /// The ruleset from byte `offset`, cut at a char boundary; empty
        /// only at the end.
        text: String,
        /// Echoes the request's offset, so a page cannot be misplaced.
        offset: u64,
        /// Length of the full ruleset in bytes.
        total: u64,
        /// [`crate::ipc::rules_page::digest`] of the full ruleset: differs
        /// between two pages when the ruleset changed in between.
        digest: String,
    },
    Settings(Settings),
    Blocked(crate::blocked::BlockedReport),
    /// Packets refused by the kill switch's rules so far; `None` when
    /// none of Airlock's rules are loaded.
    Counters {
        blocked_packets: Option<u64>,
    },
    /// The addresses a `Resolve` found, deduplicated, in answer order.
    Addresses(Vec<std::net::IpAddr>),
}

impl ResponseBody {
    /// The variant's wire name, for "expected X, got Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ResponseBody::Hello { .. } => "hello",
            ResponseBody::Status(_) => "status",
            ResponseBody::Subscribed(_) => "subscribed",
            ResponseBody::Done(_) => "done",
            ResponseBody::Endpoints(_) => "endpoints",
            ResponseBody::Rules { .. } => "rules",
            ResponseBody::Settings(_) => "settings",
            ResponseBody::Blocked(_) => "blocked",
            ResponseBody::Counters { .. } => "counters",
            ResponseBody::Addresses(_) => "addresses",
        }
    }
}

/// A refusal or failure the helper reports instead of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(deny_unknown_fields)]
#[error("{code}: {message}")]
pub struct IpcError {
    pub code: ErrorCode,
    /// For people: what went wrong and what to do about it.
    pub message: String,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

/// What a client can act on; the message carries the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Client and helper speak different protocol versions.
    VersionMismatch,
    /// The first request on a connection was not `Hello`.
    HandshakeRequired,
    /// A change was asked for by a user who may only read.
    NotAuthorized,
    /// Well-formed, but makes no sense (bad endpoint, frame not JSON...).
    BadRequest,
    /// The request frame exceeded the size limit; the connection closes.
    FrameTooLarge,
    /// The firewall refused the new rules; the old ones stay in force.
    Firewall,
    /// Too many connections, or another change is being applied.
    Busy,
    /// A bug in the helper.
    Internal,
    /// A name the helper could not resolve (no answer, no address).
    Unresolved,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::VersionMismatch => "version mismatch",
            ErrorCode::HandshakeRequired => "handshake required",
            ErrorCode::NotAuthorized => "not authorized",
            ErrorCode::BadRequest => "bad request",
            ErrorCode::FrameTooLarge => "frame too large",
            ErrorCode::Firewall => "firewall error",
            ErrorCode::Busy => "busy",
            ErrorCode::Internal => "internal error",
            ErrorCode::Unresolved => "unresolved",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The helper's half of the handshake, kept here so the rule lives next
/// to the version it protects: the first request must be `Hello` with
/// exactly [`PROTOCOL_VERSION`]. On `Ok`, answer with
/// [`ResponseBody::Hello`]; on `Err`, send the error and close.
pub fn check_hello(first: &RequestBody) -> Result<(), IpcError> {
    match first {
        RequestBody::Hello { version, .. } if *version == PROTOCOL_VERSION => Ok(()),
        RequestBody::Hello { version, .. } => Err(IpcError::new(
            ErrorCode::VersionMismatch,
            format!(
                "this client speaks protocol {version}, the helper speaks {PROTOCOL_VERSION}; \
                 install matching versions of Airlock and its helper"
            ),
        )),
        _ => Err(IpcError::new(
            ErrorCode::HandshakeRequired,
            "the first request on a connection must be hello",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_wire_name() {
        let bodies = [
            ResponseBody::Hello {
                version: 1,
                server: "s".into(),
            },
            ResponseBody::Endpoints(vec![]),
            ResponseBody::Rules {
                backend: "nft".into(),
                text: String::new(),
                offset: 0,
                total: 0,
                digest: crate::ipc::rules_page::digest(""),
            },
            ResponseBody::Settings(Settings::default()),
        ];
        for body in bodies {
            let wire = serde_json::to_value(&body).unwrap();
            let tag = wire.as_object().and_then(|o| o.keys().next().cloned());
            assert_eq!(tag.as_deref(), Some(body.kind()), "{wire}");
        }
    }

    #[test]
    fn hello_rule() {
        let hello = |version| RequestBody::Hello {
            version,
            client: "t".into(),
        };
        assert_eq!(check_hello(&hello(PROTOCOL_VERSION)), Ok(()));
        let e = check_hello(&hello(PROTOCOL_VERSION + 1)).unwrap_err();
        assert_eq!(e.code, ErrorCode::VersionMismatch);
        assert!(e.message.contains(&(PROTOCOL_VERSION + 1).to_string()));
        let e = check_hello(&RequestBody::GetStatus).unwrap_err();
        assert_eq!(e.code, ErrorCode::HandshakeRequired);
    }

    #[test]
    fn only_changes_are_mutating() {
        use RequestBody as R;
        let reads = [
            R::GetStatus,
            R::Subscribe,
            R::ListEndpoints,
            R::GetRules { offset: 0 },
            R::GetSettings,
            R::Hello {
                version: 1,
                client: String::new(),
            },
        ];
        let writes = [
            R::Enable,
            R::Disable,
            R::Resume,
            R::Pause { seconds: 60 },
            R::SetOption {
                option: OptionName::AllowLan,
                value: false,
            },
            R::AddEndpoints { endpoints: vec![] },
            R::RemoveEndpoints { endpoints: vec![] },
        ];
        for r in &reads {
            assert!(!r.is_mutating(), "{r:?}");
        }
        for w in &writes {
            assert!(w.is_mutating(), "{w:?}");
        }
    }

    #[test]
    fn option_names_match_their_wire_form() {
        for o in [
            OptionName::AllowLan,
            OptionName::AllowAirdrop,
            OptionName::AllowAirprint,
            OptionName::AllowDns,
            OptionName::PfRestoreHook,
            OptionName::VpnRootOnly,
        ] {
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
    }

    #[test]
    fn ipc_error_reads_as_a_sentence() {
        let e = IpcError::new(ErrorCode::NotAuthorized, "run as an administrator");
        assert_eq!(e.to_string(), "not authorized: run as an administrator");
    }
}
