//! What can go wrong when importing VPN endpoints, typed so the caller can
//! tell a broken config (show the line) from an unreachable DNS (retry or
//! skip) from an unreadable file.

use std::io;
use std::path::PathBuf;

use crate::policy::Family;

/// A config that does not say what a VPN client would connect to. Line
/// numbers are 1-based and count physical lines, as an editor shows them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("line {line}: {value:?} is not a port (expected a number from 1 to 65535)")]
    BadPort { line: usize, value: String },
    #[error(
        "line {line}: unknown protocol {value:?} (expected udp, udp4, udp6, tcp, tcp4, tcp6 or tcp-client)"
    )]
    UnknownProto { line: usize, value: String },
    #[error("line {line}: `{directive}` needs {what}")]
    MissingArgument {
        line: usize,
        directive: &'static str,
        what: &'static str,
    },
    #[error("line {line}: too many arguments to `{directive}`")]
    TooManyArguments {
        line: usize,
        directive: &'static str,
    },
    #[error("line {line}: unterminated quote")]
    UnterminatedQuote { line: usize },
    #[error("line {line}: <{tag}> is never closed with </{tag}>")]
    UnclosedBlock { line: usize, tag: String },
    #[error("line {line}: </connection> without a <connection> before it")]
    StrayConnectionEnd { line: usize },
    #[error("line {line}: a <connection> block cannot contain another one")]
    NestedConnection { line: usize },
    #[error("line {line}: this <connection> block has no `remote`, so it names no server")]
    ConnectionWithoutRemote { line: usize },
    #[error("no `remote` in this OpenVPN config, so it names no server to let through (is it a server config?)")]
    NoRemote,
    #[error("line {line}: Endpoint {value:?} is not HOST:PORT (IPv6 addresses go in brackets: [2001:db8::1]:51820)")]
    BadEndpoint { line: usize, value: String },
    #[error(
        "no [Peer] in this WireGuard config has an Endpoint, so it names no server to let through"
    )]
    NoEndpoint,
}

impl SyntaxError {
    /// The line the problem is on, when it is on one line.
    pub fn line(&self) -> Option<usize> {
        use SyntaxError::*;
        match self {
            BadPort { line, .. }
            | UnknownProto { line, .. }
            | MissingArgument { line, .. }
            | TooManyArguments { line, .. }
            | UnterminatedQuote { line }
            | UnclosedBlock { line, .. }
            | StrayConnectionEnd { line }
            | NestedConnection { line }
            | ConnectionWithoutRemote { line }
            | BadEndpoint { line, .. } => Some(*line),
            NoRemote | NoEndpoint => None,
        }
    }
}

/// A server name that could not be turned into an address the firewall can
/// pin. Kept apart from [`SyntaxError`] because it is usually temporary (no
/// network yet) and the caller may prefer to skip the one server and go on.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("could not resolve {host:?}: {error}")]
    Lookup { host: String, error: io::Error },
    #[error("{host:?} has no {} address (the config asks for {} only)", family_name(*family), family_name(*family))]
    NoAddressOfFamily { host: String, family: Family },
}

impl ResolveError {
    /// The name that failed, for "skip this one" messages.
    pub fn host(&self) -> &str {
        match self {
            ResolveError::Lookup { host, .. } | ResolveError::NoAddressOfFamily { host, .. } => {
                host
            }
        }
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// Any failure of the import API. Inner errors are part of each message
/// rather than `source()`, so a report shows them once, not twice.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    /// Any of the above, with the file it came from. The message carries the
    /// inner one too, because users see `Display`, not error chains.
    #[error("{}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<ImportError>,
    },
}

impl ImportError {
    /// The error under any [`ImportError::InFile`] wrapping, for matching.
    pub fn innermost(&self) -> &ImportError {
        match self {
            ImportError::InFile { error, .. } => error.innermost(),
            other => other,
        }
    }

    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> ImportError {
        match self {
            // Read errors already name the file.
            e @ (ImportError::Read { .. } | ImportError::InFile { .. }) => e,
            e => ImportError::InFile {
                path: path.into(),
                error: Box::new(e),
            },
        }
    }
}
