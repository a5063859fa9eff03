//! The app's one desktop API: notify, open a file, hide the Dock icon,
//! check the session before the toolkit starts. Every platform provides
//! the same functions (`linux.rs`, `macos/`), picked once here, so the
//! rest of the app never asks which platform it runs on. What to notify
//! is decided in `ui::notify_rules`; this only shows it.
//!
//! Child processes (notify-send, xdg-open, open, osascript) are built by
//! pure functions (tested) and spawned fire-and-forget on a reaper thread
//! so the UI never waits on a desktop service.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod notify_gate;
pub mod preflight;

#[cfg(not(target_os = "macos"))]
#[path = "linux.rs"]
mod imp;
#[cfg(target_os = "macos")]
pub mod macos;
#[cfg(target_os = "macos")]
use macos as imp;

pub use imp::{hide_dock_icon, notify};

/// The first `name` on `path` (a `PATH`-style list) that is a file.
pub fn find_in_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    find_in_path(name, std::env::var_os("PATH"))
}

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// Opens a file with the desktop's default application.
pub fn open(path: &Path) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let program = which(opener).ok_or_else(|| format!("{opener} is not installed"))?;
    spawn_detached(Invocation {
        program,
        args: vec![path.as_os_str().to_owned()],
    });
    Ok(())
}

/// Runs a command without blocking the caller; a thread reaps it so no
/// zombie is left behind.
pub fn spawn_detached(inv: Invocation) {
    let spawned = Command::new(&inv.program)
        .args(&inv.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let _ = std::thread::Builder::new()
                .name("reaper".into())
                .spawn(move || child.wait());
        }
        Err(e) => eprintln!("airlock: cannot run {}: {e}", inv.program.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_finds_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(a.join("tool")).unwrap(); // a folder, not a tool
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("tool"), "").unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(
            find_in_path("tool", Some(path.clone())),
            Some(b.join("tool"))
        );
        assert_eq!(find_in_path("other", Some(path)), None);
        assert_eq!(find_in_path("tool", None), None);
    }
}
