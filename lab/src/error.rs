//! The one error type of the lab, so a failing scenario says which step of
//! the topology broke and shows the tool's own words.

use std::time::Duration;

/// Why a lab step failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Namespaces, veths, tcpdump and nft all need root; tests skip on this.
    #[error("the lab needs root (network namespaces, tcpdump, nft)")]
    NotRoot,
    /// `airlockd`/`airlockctl` were not built (the suite runs the real ones).
    #[error("{0} is missing: run `cargo build -p airlock-helper -p airlock-cli` (`cargo test --workspace` builds them)")]
    MissingBinary(String),
    /// A tool scripts/deps should have installed is not on PATH.
    #[error("`{0}` is not installed (scripts/deps installs the lab's tools)")]
    MissingTool(String),
    /// A command ran and reported failure.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },
    /// A command could not be started at all.
    #[error("could not start `{cmd}`: {source}")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
    /// Something the lab waits for (a log line, a marker packet) never came.
    #[error("{what}: not seen after {waited:?}{log}")]
    Timeout {
        what: String,
        waited: Duration,
        log: String,
    },
    /// A process the lab depends on exited early.
    #[error("{what} exited before it was ready{log}")]
    Exited { what: String, log: String },
    /// Entering a namespace from a thread failed.
    #[error("entering network namespace {ns}: {source}")]
    Setns {
        ns: String,
        #[source]
        source: nix::Error,
    },
    /// Any other I/O, with what the lab was doing at the time.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl LabError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let what = what.into();
        move |source| LabError::Io { what, source }
    }
}

/// Result of a lab step.
pub type Result<T> = std::result::Result<T, LabError>;
