//! macOS: the process table from `ps -axo uid=,comm=`, which lists every
//! user's processes without root. Unverified on a Mac: the process names
//! of Viscosity's helper and WireGuard's network extension are as their
//! bundles name them, not as seen running.

/// (effective uid, name) of every process `ps` lists.
pub fn processes() -> Vec<(u32, String)> {
    std::process::Command::new("/bin/ps")
        .args(["-axo", "uid=,comm="])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| super::parse_ps(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default()
}
