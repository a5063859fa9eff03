//! Where the VPN clients keep their connections, so the user can pick one
//! from a list instead of hunting for files.
//!
//! - Viscosity: `~/Library/Application Support/Viscosity/OpenVPN/<n>/config.conf`,
//!   one numbered folder per connection; the name the user sees is the
//!   `#viscosity name ...` comment line in that file.
//! - Tunnelblick: `*.tblk` folders in `~/Library/Application Support/Tunnelblick/Configurations/`
//!   (private) and `/Library/Application Support/Tunnelblick/Shared/` (shared
//!   with every user), each with `Contents/Resources/config.ovpn`, or
//!   `config.ovpn` directly inside in the flat form. The name is the folder's
//!   without `.tblk`.
//! - WireGuard (`wg-quick`): `*.conf` in `/etc/wireguard` (Linux, and
//!   wireguard-tools' default), and Homebrew's `etc/wireguard` under
//!   `/opt/homebrew` (Apple silicon) or `/usr/local` (Intel). The name is
//!   the file's without `.conf`: the interface `wg-quick up NAME` brings up.
//!   These folders are usually readable by root only; an unprivileged app
//!   then finds nothing there, which is what it can honestly show.
//!
//! Everything is looked up under the `home` and `root` given, never at fixed
//! absolute paths, so the same code lists a real Mac and a test tree on Linux.

use std::fs;
use std::path::{Path, PathBuf};

/// The VPN client a config belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Viscosity,
    Tunnelblick,
    WireGuard,
}

impl Client {
    /// The app's name, as the user knows it.
    pub fn name(self) -> &'static str {
        match self {
            Client::Viscosity => "Viscosity",
            Client::Tunnelblick => "Tunnelblick",
            Client::WireGuard => "WireGuard",
        }
    }
}

/// One connection found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundConfig {
    pub client: Client,
    /// What the client calls the connection, for showing in a list.
    pub name: String,
    /// The OpenVPN or WireGuard config file itself.
    pub path: PathBuf,
    /// Installed for every user of the machine (Tunnelblick's Shared
    /// folder, the system-wide WireGuard folders).
    pub shared: bool,
}

const VISCOSITY: &str = "Library/Application Support/Viscosity/OpenVPN";
const TUNNELBLICK_PRIVATE: &str = "Library/Application Support/Tunnelblick/Configurations";
const TUNNELBLICK_SHARED: &str = "Library/Application Support/Tunnelblick/Shared";
/// wg-quick's folders, relative to the root: the system's, then
/// Homebrew's on Apple silicon and on Intel.
const WIREGUARD: [&str; 3] = [
    "etc/wireguard",
    "opt/homebrew/etc/wireguard",
    "usr/local/etc/wireguard",
];

/// Every Viscosity, Tunnelblick and WireGuard config under `home` (the
/// user's home folder) and `root` (the filesystem root, `/` on a real
/// machine). Folders that do not exist or cannot be read are simply
/// clients that are not there. Order: Viscosity in its own numbering,
/// then Tunnelblick private, then shared, then WireGuard folder by
/// folder, each by name.
pub fn discover(home: &Path, root: &Path) -> Vec<FoundConfig> {
    let mut found = viscosity(&home.join(VISCOSITY));
    found.extend(tunnelblick(&home.join(TUNNELBLICK_PRIVATE), false));
    found.extend(tunnelblick(&root.join(TUNNELBLICK_SHARED), true));
    for dir in WIREGUARD {
        found.extend(wireguard(&root.join(dir)));
    }
    found
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

fn viscosity(dir: &Path) -> Vec<FoundConfig> {
    let mut found: Vec<(Option<u64>, String, FoundConfig)> = subdirs(dir)
        .into_iter()
        .filter_map(|sub| {
            let path = sub.join("config.conf");
            if !path.is_file() {
                return None;
            }
            let folder = sub.file_name()?.to_string_lossy().into_owned();
            let name = fs::read(&path)
                .ok()
                .and_then(|bytes| viscosity_name(&String::from_utf8_lossy(&bytes)))
                .unwrap_or_else(|| folder.clone());
            let config = FoundConfig {
                client: Client::Viscosity,
                name,
                path,
                shared: false,
            };
            Some((folder.parse().ok(), folder, config))
        })
        .collect();
    // Numbered folders in number order (2 before 10), anything else after.
    found.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    found.into_iter().map(|(_, _, c)| c).collect()
}

/// The `#viscosity name My VPN` line Viscosity writes into each config.
pub fn viscosity_name(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#viscosity")?;
        let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
        let name = rest.strip_prefix("name")?;
        let name = name.strip_prefix(char::is_whitespace)?.trim();
        (!name.is_empty()).then(|| name.to_string())
    })
}

fn tunnelblick(dir: &Path, shared: bool) -> Vec<FoundConfig> {
    let mut found: Vec<FoundConfig> = subdirs(dir)
        .into_iter()
        .filter_map(|tblk| {
            let file_name = tblk.file_name()?.to_string_lossy().into_owned();
            let name = file_name.strip_suffix(".tblk")?.to_string();
            let path = tblk_config(&tblk)?;
            Some(FoundConfig {
                client: Client::Tunnelblick,
                name,
                path,
                shared,
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    found
}

/// The OpenVPN config inside a Tunnelblick `.tblk` bundle, in either form.
pub fn tblk_config(tblk: &Path) -> Option<PathBuf> {
    [
        tblk.join("Contents/Resources/config.ovpn"),
        tblk.join("config.ovpn"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn wireguard(dir: &Path) -> Vec<FoundConfig> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<FoundConfig> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.strip_suffix(".conf")?;
            // wg-quick takes the interface name from the file name, and
            // skips `.conf` alone.
            (!name.is_empty()).then(|| FoundConfig {
                client: Client::WireGuard,
                name: name.to_string(),
                path: path.clone(),
                shared: true,
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_viscosity_name_comment() {
        let text = "#-- Config Auto Generated By Viscosity --#\n\n#viscosity startonopen false\n#viscosity name  Office VPN \nremote a 1\n";
        assert_eq!(viscosity_name(text).as_deref(), Some("Office VPN"));
        assert_eq!(
            viscosity_name("#viscosity namely x\n#viscosityname y"),
            None
        );
    }
}
