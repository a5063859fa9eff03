//! What can go wrong driving the firewall. Every message names the command
//! or file involved and why it failed, because these end up verbatim in
//! `airlockctl doctor` and in the helper's log.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot run `{program}`: not found ({source}); {hint}")]
    NotFound {
        program: String,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("the kernel does not hold what was loaded: {0}")]
    Verification(String),
    #[error("cannot understand the output of `{command}`: {reason}")]
    Parse { command: String, reason: String },
    #[error("cannot {action} {}: {source}", path.display())]
    State {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
