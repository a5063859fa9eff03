//! The I/O behind the "VPN Servers" submenu (its decisions are in
//! [`crate::ui::servers`]): finding the VPN connections on this machine,
//! keeping the app's record of where each allowed server came from, and
//! the file dialog of "Import VPN Configuration…".
//!
//! Test seams, read from the environment so the real app can be driven
//! under Xvfb:
//! - `HOME` is where Viscosity and Tunnelblick keep a user's connections;
//!   `AIRLOCK_VPN_CONFIG_ROOT` stands for `/` (Tunnelblick's shared
//!   folder, `/etc/wireguard`, Homebrew's `etc/wireguard`);
//! - `AIRLOCK_PICK_FILE` is the file the dialog "picks" instead of
//!   opening (empty: the user cancelled).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use airlock_shared::import::{self, locations};

use crate::ui::servers::{FoundConnection, Ledger};

pub const ROOT_ENV: &str = "AIRLOCK_VPN_CONFIG_ROOT";
pub const PICK_ENV: &str = "AIRLOCK_PICK_FILE";

/// The user's home folder, if the environment names one.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn root() -> PathBuf {
    std::env::var_os(ROOT_ENV)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Every VPN connection found on this machine, each with the servers
/// its config names or why they cannot be read (a WireGuard folder only
/// root may read, a broken line). Reads a few small files, no lookups.
pub fn scan() -> Vec<FoundConnection> {
    let home = home().unwrap_or_else(|| PathBuf::from("/nonexistent"));
    scan_in(&home, &root())
}

pub fn scan_in(home: &Path, root: &Path) -> Vec<FoundConnection> {
    import::discover(home, root)
        .into_iter()
        .map(|f| FoundConnection {
            servers: import::load(&f.path, None).map_err(|e| e.to_string()),
            client: f.client,
            name: f.name,
            path: f.path,
        })
        .collect()
}

/// Where the app keeps its record of the allowed servers' origins: the
/// per-user config folder (`~/Library/Application Support/Airlock` on
/// macOS, `$XDG_CONFIG_HOME/airlock` elsewhere).
pub fn ledger_path() -> Option<PathBuf> {
    let dir = if cfg!(target_os = "macos") {
        home()?.join("Library/Application Support/Airlock")
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home().map(|h| h.join(".config")))?
            .join("airlock")
    };
    Some(dir.join("allowed-servers.json"))
}

/// The record, or an empty one: it only words the menu, so a missing or
/// damaged file costs the history, never a server. Entries one by one: a
/// file of an earlier app also holds its guesses ("learned", "added"),
/// which the helper's origins replace; those are dropped, the rest kept.
pub fn load_ledger(path: &Path) -> Ledger {
    let entries: BTreeMap<String, serde_json::Value> = fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|(k, v)| Some((k, serde_json::from_value(v).ok()?)))
        .collect()
}

/// Writes the record whole (a temp file renamed over the old one).
pub fn save_ledger(path: &Path, ledger: &Ledger) -> io::Result<()> {
    let dir = path.parent().ok_or(io::ErrorKind::InvalidInput)?;
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(ledger).map_err(io::Error::other)?)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// The file to import: the native dialog's pick (rfd: GTK on Linux,
/// NSOpenPanel on macOS), or the test seam's. Blocks until the user
/// chooses; call it off the UI thread (rfd hands the dialog to the
/// toolkit's main loop and waits for it). A picked Tunnelblick bundle
/// means the config inside it.
pub fn pick_file() -> Option<PathBuf> {
    let picked = match std::env::var_os(PICK_ENV) {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => rfd::FileDialog::new()
            .set_title("Import VPN Configuration")
            .add_filter("VPN configuration", &["ovpn", "conf", "tblk"])
            .pick_file(),
    }?;
    if picked.is_dir() {
        return locations::tblk_config(&picked).or(Some(picked));
    }
    Some(picked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::servers::{Provenance, Source};

    #[test]
    fn the_ledger_round_trips_and_a_damaged_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/allowed-servers.json");
        assert!(load_ledger(&path).is_empty());
        let mut l = Ledger::new();
        l.insert(
            "198.51.100.7:1194/udp".into(),
            Provenance {
                source: Source::Imported {
                    file: "work.ovpn".into(),
                },
                since: 42,
            },
        );
        save_ledger(&path, &l).unwrap();
        assert_eq!(load_ledger(&path), l);
        fs::write(&path, "{not json").unwrap();
        assert!(load_ledger(&path).is_empty());
        // An earlier app's file: its guesses go, its own record stays.
        fs::write(
            &path,
            r#"{"198.51.100.7:1194/udp": {"source": {"imported": {"file": "work.ovpn"}}, "since": 42},
                "203.0.113.5:51820/udp": {"source": "learned", "since": 7}}"#,
        )
        .unwrap();
        assert_eq!(load_ledger(&path), l);
    }

    #[test]
    fn scan_reads_each_connections_servers_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let vis = home.join("Library/Application Support/Viscosity/OpenVPN/1");
        fs::create_dir_all(&vis).unwrap();
        fs::write(
            vis.join("config.conf"),
            "#viscosity name Office VPN\nremote 198.51.100.7 1194 udp\n",
        )
        .unwrap();
        let wg = dir.path().join("etc/wireguard");
        fs::create_dir_all(&wg).unwrap();
        fs::write(wg.join("wg0.conf"), "[Peer]\nEndpoint = nonsense\n").unwrap();
        let found = scan_in(&home, dir.path());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].label(), "Office VPN (Viscosity)");
        assert_eq!(found[0].servers.as_ref().unwrap()[0].host, "198.51.100.7");
        assert_eq!(found[1].label(), "wg0 (WireGuard)");
        let why = found[1].servers.as_ref().unwrap_err();
        assert!(why.contains("wg0.conf"), "{why}");
    }
}
