//! `airlockd install` / `airlockd uninstall`: put the helper under the
//! system's service manager (systemd on Linux, launchd on macOS) and take
//! it out again, leaving the machine as it was (rules removed, pf token
//! released).
//!
//! Everything here is reachable from tests on Linux: files go under a
//! `root` prefix ("/" for real), commands go through a [`Runner`] (a
//! recording fake in tests), and removing the firewall rules is a closure
//! the caller supplies (the real driver in `main.rs`). The step lists for
//! both platforms live in `linux.rs` / `macos.rs`; neither calls an OS API
//! directly, so both compile and are tested everywhere.

pub mod desktop;
pub mod linux;
pub mod macos;
pub mod names;
pub mod plists;
pub mod unit;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use airlock_shared::platform::Platform;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
    #[error("cannot run `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("`{command}` failed ({status})")]
    Failed { command: String, status: String },
    #[error("cannot render a property list: {0}")]
    Plist(#[from] plist::Error),
    #[error("cannot remove the firewall rules: {0}")]
    Firewall(String),
    #[error("refusing to run {path} as root at boot: {why}")]
    UnsafeHelper { path: PathBuf, why: String },
}

/// Runs service-manager commands. The real one spawns them; tests record.
pub trait Runner {
    /// Runs `argv` to completion; a non-zero exit is an error.
    fn run(&mut self, argv: &[String]) -> Result<(), InstallError>;
}

/// Spawns the command with our stdout/stderr, so the admin sees what
/// systemctl/launchctl say.
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn run(&mut self, argv: &[String]) -> Result<(), InstallError> {
        let command = argv.join(" ");
        let (program, args) = argv.split_first().ok_or_else(|| InstallError::Spawn {
            command: command.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "empty command"),
        })?;
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .status()
            .map_err(|source| InstallError::Spawn {
                command: command.clone(),
                source,
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(InstallError::Failed {
                command,
                status: status.to_string(),
            })
        }
    }
}

/// A [`Runner`] that records every command and succeeds, except for
/// commands listed in `fail` (matched on the whole argv). For tests.
#[derive(Default)]
pub struct RecordingRunner {
    pub calls: Vec<Vec<String>>,
    pub fail: Vec<Vec<String>>,
}

impl Runner for RecordingRunner {
    fn run(&mut self, argv: &[String]) -> Result<(), InstallError> {
        self.calls.push(argv.to_vec());
        if self.fail.iter().any(|f| f == argv) {
            return Err(InstallError::Failed {
                command: argv.join(" "),
                status: "exit status: 1".into(),
            });
        }
        Ok(())
    }
}

/// Where and what to install.
pub struct Target {
    pub platform: Platform,
    /// "/" for real; a temporary folder in tests.
    pub root: PathBuf,
    /// The helper binary to run at boot (on macOS it is copied to
    /// /Library/PrivilegedHelperTools first).
    pub helper: PathBuf,
}

impl Target {
    /// `abs` (an absolute path like "/etc/x") under the root prefix.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }
}

/// What an uninstall could not do but went on past (e.g. the service was
/// not installed). Shown to the admin; not a failure.
pub type Warnings = Vec<String>;

pub fn install(target: &Target, runner: &mut dyn Runner) -> Result<Warnings, InstallError> {
    match target.platform {
        Platform::Linux => linux::install(target, runner),
        Platform::Macos => macos::install(target, runner),
    }
}

/// Stops and removes the service, then `remove_rules` (called once the
/// helper can no longer put them back), then the files.
pub fn uninstall(
    target: &Target,
    runner: &mut dyn Runner,
    remove_rules: &mut dyn FnMut() -> Result<(), String>,
) -> Result<Warnings, InstallError> {
    match target.platform {
        Platform::Linux => linux::uninstall(target, runner, remove_rules),
        Platform::Macos => macos::uninstall(target, runner, remove_rules),
    }
}

pub(crate) fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// Writes `contents` to `path` with `mode`, atomically (temp file in the
/// same folder, fsync, rename), creating the folder.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), InstallError> {
    let err = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Removes `path`; already gone is fine (uninstall is idempotent).
pub(crate) fn remove_file(path: &Path) -> Result<(), InstallError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(InstallError::Remove {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// A binary that root runs at every boot must not be replaceable by
/// anyone but root: the file and every folder above it owned by root and
/// not writable by group or others (sticky folders like /tmp excepted,
/// where others cannot replace root's file). Otherwise `airlockd install`
/// from a user's build folder would hand that user root.
///
/// Both the path as given and the file it resolves to are checked: a
/// root-owned symlink in /usr/local/bin pointing into a user's folder is
/// as replaceable as that folder.
pub fn check_helper_path(path: &Path) -> Result<(), InstallError> {
    let unsafe_because = |why: String| InstallError::UnsafeHelper {
        path: path.to_path_buf(),
        why,
    };
    check_chain(path, &unsafe_because)?;
    let real = fs::canonicalize(path).map_err(|e| unsafe_because(format!("{e}")))?;
    if real != path {
        check_chain(&real, &unsafe_because)?;
    }
    Ok(())
}

/// `path` and every folder above it: root's, and writable by no one else.
fn check_chain(
    path: &Path,
    unsafe_because: &dyn Fn(String) -> InstallError,
) -> Result<(), InstallError> {
    let mut current = Some(path);
    while let Some(p) = current {
        let meta = fs::metadata(p).map_err(|e| unsafe_because(format!("{}: {e}", p.display())))?;
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        if meta.uid() != 0 {
            return Err(unsafe_because(format!(
                "{} is owned by uid {}, not root",
                p.display(),
                meta.uid()
            )));
        }
        if mode & 0o022 != 0 && !sticky_dir {
            return Err(unsafe_because(format!(
                "{} is writable by group or others (mode {:o})",
                p.display(),
                mode & 0o7777
            )));
        }
        current = p.parent();
    }
    Ok(())
}
