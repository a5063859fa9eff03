//! Creating the listening socket safely.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::net::UnixListener;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another airlockd is already serving {0}")]
    InUse(String),
    #[error("cannot create the socket directory {path}: {source}")]
    Dir { path: String, source: io::Error },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: String, source: io::Error },
}

/// Binds `path`, replacing a stale socket left by a helper that died, but
/// never one a running helper still answers on. The socket is world
/// connectable (mode 0666) on purpose: anyone may read status, and what a
/// peer may change is decided per request from its kernel credentials.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|source| SocketError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(SocketError::InUse(shown));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path).map_err(|source| SocketError::Bind {
        path: shown.clone(),
        source,
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(|source| {
        SocketError::Bind {
            path: shown,
            source,
        }
    })?;
    Ok(listener)
}
