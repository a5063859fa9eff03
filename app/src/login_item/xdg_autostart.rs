//! Start at login on Linux: an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/airlock.desktop` (`~/.config/...`).
//!
//! The check item reflects the file as it is on disk, read back after
//! every change, so a user who deletes the file by hand sees it unchecked.
//! Written for any Unix so the tests run everywhere; only Linux uses it.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::ui::model::LoginItem;

pub const FILE_NAME: &str = "airlock.desktop";

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("neither XDG_CONFIG_HOME nor HOME is set, so there is no autostart folder")]
    NoConfigDir,
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
}

/// The autostart folder per the XDG base directory spec: an absolute
/// `XDG_CONFIG_HOME`, else `$HOME/.config`. Relative values are invalid
/// per the spec and ignored.
pub fn autostart_dir(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(config.join("autostart"))
}

pub fn autostart_dir_from_env() -> Option<PathBuf> {
    autostart_dir(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// The entry's text. `Exec` gets the binary's absolute path, quoted per
/// the desktop entry spec so a path with spaces still starts.
pub fn desktop_entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Airlock\n\
         Comment=VPN kill switch status and controls\n\
         Exec={}\n\
         Icon=airlock\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        quote_exec(&exe.to_string_lossy())
    )
}

fn quote_exec(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
    if plain {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    // A literal `%` is `%%` in Exec (field codes start with it).
    out.replace('%', "%%")
}

/// Whether a desktop session will start the entry: present and not
/// switched off with `Hidden=true` or `X-GNOME-Autostart-enabled=false`
/// (what desktop settings panels write instead of deleting the file).
pub fn entry_enabled(text: &str) -> bool {
    let mut in_main = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_main = line == "[Desktop Entry]";
            continue;
        }
        if !in_main {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let (k, v) = (k.trim(), v.trim());
            if (k == "Hidden" && v == "true") || (k == "X-GNOME-Autostart-enabled" && v == "false")
            {
                return false;
            }
        }
    }
    true
}

/// System-wide autostart folders per the XDG spec (`$XDG_CONFIG_DIRS`,
/// default `/etc/xdg`), where the .deb installs its entry.
pub fn system_dirs(xdg_config_dirs: Option<OsString>) -> Vec<PathBuf> {
    let dirs = xdg_config_dirs
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/etc/xdg".into());
    dirs.split(':')
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|p| p.join("autostart"))
        .collect()
}

pub fn system_dirs_from_env() -> Vec<PathBuf> {
    system_dirs(std::env::var_os("XDG_CONFIG_DIRS"))
}

/// The first system-wide entry of ours, if any.
fn system_entry(system: &[PathBuf]) -> Option<String> {
    system
        .iter()
        .find_map(|d| fs::read_to_string(d.join(FILE_NAME)).ok())
}

/// The login item as the desktop session will see it: the user's entry in
/// `dir` if there is one (it overrides a system entry of the same name),
/// else a system-wide entry, else off.
pub fn read(dir: Option<&Path>, system: &[PathBuf]) -> LoginItem {
    let Some(dir) = dir else {
        return LoginItem::Unavailable(AutostartError::NoConfigDir.to_string());
    };
    let text = match fs::read_to_string(dir.join(FILE_NAME)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => system_entry(system),
        Err(e) => return LoginItem::Unavailable(format!("cannot read the autostart entry: {e}")),
    };
    match text {
        Some(t) if entry_enabled(&t) => LoginItem::Enabled,
        _ => LoginItem::Disabled,
    }
}

/// Writes (atomically, via a temp file and rename) or removes the entry.
/// Turning it off while a system-wide entry exists writes a user entry
/// with `Hidden=true`, because deleting the user's file would leave the
/// system one starting the app.
pub fn set(
    dir: &Path,
    enabled: bool,
    exe: &Path,
    system: &[PathBuf],
) -> Result<(), AutostartError> {
    let path = dir.join(FILE_NAME);
    let text = if enabled {
        desktop_entry(exe)
    } else if system_entry(system).is_some() {
        format!("{}Hidden=true\n", desktop_entry(exe))
    } else {
        return match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(AutostartError::Remove { path, source }),
        };
    };
    let write_err = |source| AutostartError::Write {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(write_err)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, &path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_config_home_wins_and_must_be_absolute() {
        let d =
            |x: Option<&str>, h: Option<&str>| autostart_dir(x.map(Into::into), h.map(Into::into));
        assert_eq!(
            d(Some("/cfg"), Some("/home/u")),
            Some(PathBuf::from("/cfg/autostart"))
        );
        assert_eq!(
            d(Some("rel"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.config/autostart"))
        );
        assert_eq!(
            d(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.config/autostart"))
        );
        assert_eq!(d(None, None), None);
        assert_eq!(d(None, Some("")), None);
    }

    #[test]
    fn exec_line_quotes_when_needed() {
        assert!(desktop_entry(Path::new("/usr/bin/airlock")).contains("\nExec=/usr/bin/airlock\n"));
        let e = desktop_entry(Path::new("/opt/My Apps/air\"lock%"));
        assert!(e.contains("\nExec=\"/opt/My Apps/air\\\"lock%%\"\n"), "{e}");
    }

    #[test]
    fn enabled_flags_in_the_file_are_honoured() {
        let base = desktop_entry(Path::new("/usr/bin/airlock"));
        assert!(entry_enabled(&base));
        assert!(!entry_enabled(&base.replace(
            "X-GNOME-Autostart-enabled=true",
            "X-GNOME-Autostart-enabled=false"
        )));
        assert!(!entry_enabled(&format!("{base}Hidden=true\n")));
        // Keys in another group do not count.
        assert!(entry_enabled(&format!(
            "{base}[Desktop Action x]\nHidden=true\n"
        )));
    }

    #[test]
    fn round_trip_through_the_file_system() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("config/autostart");
        let exe = Path::new("/usr/bin/airlock");
        assert_eq!(read(Some(&dir), &[]), LoginItem::Disabled);
        set(&dir, true, exe, &[]).unwrap();
        assert_eq!(read(Some(&dir), &[]), LoginItem::Enabled);
        let text = fs::read_to_string(dir.join(FILE_NAME)).unwrap();
        assert!(text.starts_with("[Desktop Entry]\n"));
        assert!(text.contains("Exec=/usr/bin/airlock"));
        // No temp file left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        set(&dir, false, exe, &[]).unwrap();
        assert_eq!(read(Some(&dir), &[]), LoginItem::Disabled);
        // Removing twice is fine: the goal state holds.
        set(&dir, false, exe, &[]).unwrap();
        // A user who disabled it in their desktop's settings sees it off.
        fs::write(
            dir.join(FILE_NAME),
            format!("{}Hidden=true\n", desktop_entry(exe)),
        )
        .unwrap();
        assert_eq!(read(Some(&dir), &[]), LoginItem::Disabled);
        assert!(matches!(read(None, &[]), LoginItem::Unavailable(_)));
    }

    #[test]
    fn unwritable_folder_is_an_error_not_a_lie() {
        let tmp = tempfile::tempdir().unwrap();
        // A file where the folder should be.
        let dir = tmp.path().join("autostart");
        fs::write(&dir, "not a folder").unwrap();
        let e = set(&dir, true, Path::new("/usr/bin/airlock"), &[]).unwrap_err();
        assert!(e.to_string().contains("autostart"), "{e}");
        assert!(!matches!(read(Some(&dir), &[]), LoginItem::Enabled));
    }

    #[test]
    fn a_system_wide_entry_counts_and_is_hidden_not_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("home/.config/autostart");
        let system = vec![tmp.path().join("etc/xdg/autostart")];
        let exe = Path::new("/usr/bin/airlock");
        fs::create_dir_all(&system[0]).unwrap();
        fs::write(system[0].join(FILE_NAME), desktop_entry(exe)).unwrap();
        assert_eq!(
            read(Some(&user), &system),
            LoginItem::Enabled,
            "the .deb's entry starts it"
        );
        set(&user, false, exe, &system).unwrap();
        assert_eq!(read(Some(&user), &system), LoginItem::Disabled);
        assert!(fs::read_to_string(user.join(FILE_NAME))
            .unwrap()
            .contains("Hidden=true"));
        assert!(
            system[0].join(FILE_NAME).exists(),
            "the system file is not ours to delete"
        );
        set(&user, true, exe, &system).unwrap();
        assert_eq!(read(Some(&user), &system), LoginItem::Enabled);
    }

    #[test]
    fn system_dirs_default_to_etc_xdg() {
        assert_eq!(system_dirs(None), vec![PathBuf::from("/etc/xdg/autostart")]);
        assert_eq!(
            system_dirs(Some("/a:rel:/b".into())),
            vec![PathBuf::from("/a/autostart"), PathBuf::from("/b/autostart")]
        );
    }
}
