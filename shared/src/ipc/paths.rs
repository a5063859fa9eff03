//! Where the helper's socket lives.
//!
//! The defaults sit in directories only root can write, so an unprivileged
//! process cannot squat the path and impersonate the helper. The
//! `AIRLOCK_SOCKET` override exists for tests and development; the helper
//! and its clients must agree on it, which is the caller's business.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::platform::Platform;

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "AIRLOCK_SOCKET";

/// The socket path the installed helper listens on.
pub fn default_socket_path(platform: Platform) -> PathBuf {
    match platform {
        Platform::Macos => PathBuf::from("/var/run/airlock.sock"),
        // A directory of its own, so systemd's RuntimeDirectory= can own
        // the permissions and clean it up.
        Platform::Linux => PathBuf::from("/run/airlock/airlock.sock"),
    }
}

/// `AIRLOCK_SOCKET` if set and non-empty, else this platform's default.
pub fn socket_path_from_env() -> PathBuf {
    resolve_socket_path(None, std::env::var_os(SOCKET_ENV), Platform::current())
}

/// The precedence in one pure function: an explicit path (a `--socket`
/// flag) beats the environment, which beats the platform default. An
/// empty variable counts as unset, because `AIRLOCK_SOCKET= cmd` is how
/// people unset things in a shell.
pub fn resolve_socket_path(
    explicit: Option<&Path>,
    env: Option<OsString>,
    platform: Platform,
) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match env {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default_socket_path(platform),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_explicit_then_env_then_default() {
        let env = Some(OsString::from("/tmp/env.sock"));
        let explicit = Path::new("/tmp/flag.sock");
        assert_eq!(
            resolve_socket_path(Some(explicit), env.clone(), Platform::Linux),
            explicit
        );
        assert_eq!(
            resolve_socket_path(None, env, Platform::Linux),
            Path::new("/tmp/env.sock")
        );
        assert_eq!(
            resolve_socket_path(None, Some(OsString::new()), Platform::Macos),
            Path::new("/var/run/airlock.sock")
        );
        assert_eq!(
            resolve_socket_path(None, None, Platform::Linux),
            Path::new("/run/airlock/airlock.sock")
        );
    }
}
