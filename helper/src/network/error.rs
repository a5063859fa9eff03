//! Why the live network could not be read (its own file: the per-OS
//! readers and `live` all return it, none imports another for it).

use std::path::PathBuf;

use airlock_shared::network::ParseError;

/// Why the live network could not be read. Each variant says which source
/// failed, so `airlockctl doctor` can name it.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("listing interfaces (getifaddrs): {0}")]
    Interfaces(#[source] nix::Error),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a routing-table or resolver listing that does not have
    /// the shape its format promises; `source` names the file or command.
    #[error("{source_name}:{}: {}", .error.line, .error.message)]
    Parse {
        source_name: String,
        error: ParseError,
    },
    #[error("running `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
}
