//! The helper's memory across restarts: the settings file in the state dir.
//!
//! Written atomically (temp file, fsync, rename, fsync of the directory) so
//! a power cut leaves either the old or the new file, never half of one.
//! A file that cannot be used is moved aside, so the next start does not
//! trip over it again (no crash loop), and the reason is reported.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use airlock_shared::settings::{Settings, SettingsError};

pub const SETTINGS_FILE: &str = "settings.toml";
/// The copy of the last settings that were applied and saved; restored
/// from when the main file turns out corrupt, so the user's endpoints
/// survive a damaged file.
pub const LAST_GOOD_FILE: &str = "settings.toml.last-good";

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot create state directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What was found at start-up.
#[derive(Debug)]
pub enum Loaded {
    /// A good file.
    Settings(Settings),
    /// No file yet: first start.
    Missing,
    /// The main file was unusable (moved to `moved_to`, `reason` says why)
    /// but the last-good copy loaded: these are the settings to use.
    Restored {
        settings: Settings,
        reason: String,
        moved_to: Option<PathBuf>,
    },
    /// A file that could not be used; it now lives at `moved_to` (if the
    /// move worked) and `reason` says what was wrong with it.
    Corrupt {
        reason: String,
        moved_to: Option<PathBuf>,
    },
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings_path(&self) -> PathBuf {
        self.dir.join(SETTINGS_FILE)
    }

    pub fn last_good_path(&self) -> PathBuf {
        self.dir.join(LAST_GOOD_FILE)
    }

    /// Reads the settings; `now` (Unix seconds) names a corrupt file's copy.
    pub fn load(&self, now: u64) -> Loaded {
        let path = self.settings_path();
        if !path.exists() {
            return Loaded::Missing;
        }
        match Settings::load(&path) {
            Ok(s) => Loaded::Settings(s),
            Err(e) => {
                let reason = describe(&e);
                let aside = self.dir.join(format!("{SETTINGS_FILE}.corrupt-{now}"));
                let moved_to = fs::rename(&path, &aside).ok().map(|_| aside);
                match Settings::load(&self.last_good_path()) {
                    Ok(settings) => Loaded::Restored {
                        settings,
                        reason,
                        moved_to,
                    },
                    Err(_) => Loaded::Corrupt { reason, moved_to },
                }
            }
        }
    }

    /// Persists `settings` atomically, then the last-good copy (the
    /// engine saves only after a successful apply).
    pub fn save(&self, settings: &Settings) -> Result<(), PersistError> {
        fs::create_dir_all(&self.dir).map_err(|source| PersistError::CreateDir {
            path: self.dir.clone(),
            source,
        })?;
        let text = settings.to_toml();
        self.write_atomic(SETTINGS_FILE, &text)?;
        self.write_atomic(LAST_GOOD_FILE, &text)
    }

    /// Temp file, fsync, rename, fsync of the directory.
    fn write_atomic(&self, name: &str, text: &str) -> Result<(), PersistError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let werr = |source| PersistError::Write {
            path: path.clone(),
            source,
        };
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(werr)?;
            f.write_all(text.as_bytes()).map_err(werr)?;
            f.sync_all().map_err(werr)?;
        }
        fs::rename(&tmp, &path).map_err(werr)?;
        // The rename is only durable once the directory entry is.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(werr)?;
        Ok(())
    }
}

fn describe(e: &SettingsError) -> String {
    format!("settings file unusable ({e})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        assert!(matches!(store.load(1), Loaded::Missing));
        let s = Settings {
            kill_switch: true,
            allow_lan: true,
            endpoints: vec!["198.51.100.7:1194/udp".parse().unwrap()],
            ..Settings::default()
        };
        store.save(&s).unwrap();
        match store.load(1) {
            Loaded::Settings(got) => assert_eq!(got, s),
            other => panic!("{other:?}"),
        }
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let mut names: Vec<_> = names
            .into_iter()
            .map(|n| n.into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [SETTINGS_FILE, LAST_GOOD_FILE]);
    }

    #[test]
    fn corrupt_file_is_restored_from_last_good_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = Settings {
            kill_switch: true,
            endpoints: vec!["198.51.100.7:1194/udp".parse().unwrap()],
            ..Settings::default()
        };
        store.save(&s).unwrap();
        fs::write(store.settings_path(), "kill_switch = maybe\n").unwrap();
        match store.load(7) {
            Loaded::Restored {
                settings,
                reason,
                moved_to,
            } => {
                assert_eq!(settings, s);
                assert!(reason.contains("settings.toml:1:"), "{reason}");
                assert!(moved_to.unwrap().ends_with("settings.toml.corrupt-7"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_file_and_corrupt_copy_is_still_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(store.settings_path(), "kill_switch = maybe\n").unwrap();
        fs::write(store.last_good_path(), "allow_lan = 3\n").unwrap();
        assert!(matches!(store.load(8), Loaded::Corrupt { .. }));
    }

    #[test]
    fn corrupt_file_is_moved_aside_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(store.settings_path(), "kill_switch = maybe\n").unwrap();
        match store.load(42) {
            Loaded::Corrupt { reason, moved_to } => {
                assert!(reason.contains("settings.toml:1:"), "{reason}");
                let moved = moved_to.unwrap();
                assert!(moved.ends_with("settings.toml.corrupt-42"));
                assert_eq!(fs::read_to_string(moved).unwrap(), "kill_switch = maybe\n");
            }
            other => panic!("{other:?}"),
        }
        // The next start sees a clean slate, not the same error again.
        assert!(matches!(store.load(43), Loaded::Missing));
    }
}
