//! Creating the listening socket safely.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use tokio::net::UnixListener;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another airlockd is already serving {0}")]
    InUse(String),
    #[error("cannot create the socket directory {path}: {source}")]
    Dir { path: String, source: io::Error },
    #[error("refusing the socket directory {path}: {why}")]
    UnsafeDir { path: String, why: String },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: String, source: io::Error },
}

/// Binds `path`, replacing a stale socket left by a helper that died, but
/// never one a running helper still answers on. The socket is world
/// connectable (mode 0666) on purpose: anyone may read status, and what a
/// peer may change is decided per request from its kernel credentials.
///
/// The directory must be ours and writable by no one else: the stale-socket
/// removal and the chmod after binding go by path, so in a directory others
/// can write to, a symlink swapped in at the right moment would make root
/// chmod 0666 whatever file it points at.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    let shown = path.display().to_string();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|source| SocketError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    }
    check_dir(dir)?;
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

/// Refuses a socket directory someone other than us could change entries in.
fn check_dir(dir: &Path) -> Result<(), SocketError> {
    let unsafe_dir = |why: String| SocketError::UnsafeDir {
        path: dir.display().to_string(),
        why,
    };
    let meta = std::fs::metadata(dir).map_err(|source| SocketError::Dir {
        path: dir.display().to_string(),
        source,
    })?;
    let me = nix::unistd::Uid::effective().as_raw();
    if meta.uid() != me {
        return Err(unsafe_dir(format!(
            "owned by uid {}, not by us (uid {me})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_a_directory_others_can_write_to() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = bind(&dir.path().join("s.sock")).unwrap_err();
        assert!(matches!(err, SocketError::UnsafeDir { .. }), "{err}");
        assert!(!dir.path().join("s.sock").exists());
    }

    #[tokio::test]
    async fn binds_in_a_private_directory_and_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let _listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o666);
    }
}
