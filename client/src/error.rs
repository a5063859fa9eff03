//! Why talking to the helper failed, in terms a user can act on: the
//! CLI prints these as they are and the app's model picks its status line
//! from them.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_shared::ipc::{FrameError, IpcError, ResponseBody};

/// Why a connection attempt failed, in the terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// No socket, or nobody listening on it: start the helper.
    NotRunning,
    /// The socket's permissions keep this user out.
    PermissionDenied,
    Other,
}

impl ConnectFailure {
    pub fn of(error: &io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ConnectFailure::NotRunning
            }
            io::ErrorKind::PermissionDenied => ConnectFailure::PermissionDenied,
            _ => ConnectFailure::Other,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{}", connect_message(path, source))]
    Connect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the Airlock helper did not answer within {after:?}")]
    Timeout { after: Duration },
    #[error("the Airlock helper closed the connection")]
    Disconnected,
    #[error("Airlock client and helper versions do not match: {0}")]
    VersionMismatch(String),
    #[error("protocol error talking to the Airlock helper: {0}")]
    Protocol(String),
    #[error("the Airlock helper refused: {0}")]
    Remote(IpcError),
    #[error("I/O error talking to the Airlock helper: {0}")]
    Io(io::Error),
    /// Every attempt to read the ruleset saw it change between pages
    /// (rules reloaded meanwhile, or another client reading at once).
    #[error(
        "the loaded rules kept changing while they were being read \
         ({attempts} attempts); try again"
    )]
    RulesKeptChanging { attempts: u32 },
}

impl ClientError {
    /// For `Connect` errors, what kind of failure it was.
    pub fn connect_failure(&self) -> Option<ConnectFailure> {
        match self {
            ClientError::Connect { source, .. } => Some(ConnectFailure::of(source)),
            _ => None,
        }
    }
}

fn connect_message(path: &Path, source: &io::Error) -> String {
    let path = path.display();
    match ConnectFailure::of(source) {
        ConnectFailure::NotRunning => {
            format!("the Airlock helper is not running (nothing listens on {path}: {source})")
        }
        ConnectFailure::PermissionDenied => {
            format!("permission denied connecting to the Airlock helper at {path} ({source})")
        }
        ConnectFailure::Other => {
            format!("cannot connect to the Airlock helper at {path}: {source}")
        }
    }
}

pub(crate) fn unexpected(wanted: &str, got: &ResponseBody) -> ClientError {
    ClientError::Protocol(format!("expected a {wanted} response, got {}", got.kind()))
}

pub(crate) fn protocol(e: FrameError) -> ClientError {
    match e {
        FrameError::Io(e) => io_error(e),
        other => ClientError::Protocol(other.to_string()),
    }
}

pub(crate) fn io_error(e: io::Error) -> ClientError {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => ClientError::Disconnected,
        _ => ClientError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_are_classified_for_the_user() {
        let cases = [
            (
                io::ErrorKind::NotFound,
                ConnectFailure::NotRunning,
                "not running",
            ),
            (
                io::ErrorKind::ConnectionRefused,
                ConnectFailure::NotRunning,
                "not running",
            ),
            (
                io::ErrorKind::PermissionDenied,
                ConnectFailure::PermissionDenied,
                "permission denied",
            ),
            (
                io::ErrorKind::InvalidInput,
                ConnectFailure::Other,
                "cannot connect",
            ),
        ];
        for (kind, failure, words) in cases {
            let e = ClientError::Connect {
                path: "/run/airlock/airlock.sock".into(),
                source: io::Error::from(kind),
            };
            assert_eq!(e.connect_failure(), Some(failure), "{kind:?}");
            let msg = e.to_string();
            assert!(msg.contains(words), "{msg}");
            assert!(msg.contains("/run/airlock/airlock.sock"), "{msg}");
        }
    }
}
