//! Start at login on macOS through a per-user LaunchAgent
//! (`~/Library/LaunchAgents/org.airlock.app.plist`) that opens the app at
//! login: the mechanism before macOS 13 and for unsigned builds, and the
//! fallback when SMAppService refuses (`policy.rs` decides which).
//! The plist text is built here for every platform so the tests check
//! it; the file I/O compiles only on macOS.
//!
//! UNVERIFIED on macOS (the file I/O below is type-checked here, by
//! scripts/check-macos, but has never run).

use std::path::Path;

pub const LABEL: &str = "org.airlock.app";

/// The LaunchAgent: run the app at load (login), never keep it alive (a
/// user who quits it means it), and only in the GUI session.
pub fn launch_agent_plist(exe: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{LABEL}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{}</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<false/>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
"#,
        xml_escape(&exe.to_string_lossy())
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(target_os = "macos")]
fn plist_path() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(
        std::path::PathBuf::from(home)
            .join("Library/LaunchAgents")
            .join(format!("{LABEL}.plist")),
    )
}

/// Whether the LaunchAgent is there (launchd loads whatever is in the
/// folder at login).
#[cfg(target_os = "macos")]
pub fn agent_exists() -> Result<bool, String> {
    Ok(plist_path().ok_or("HOME is not set")?.is_file())
}

#[cfg(target_os = "macos")]
pub fn remove_agent() -> Result<(), String> {
    let path = plist_path().ok_or("HOME is not set")?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(target_os = "macos")]
pub fn write_agent() -> Result<(), String> {
    let path = plist_path().ok_or("HOME is not set")?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&path, launch_agent_plist(&exe))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plist_runs_the_app_once_at_login() {
        let p = launch_agent_plist(Path::new(
            "/Applications/Airlock & Co.app/Contents/MacOS/airlock",
        ));
        assert!(p.contains("<string>org.airlock.app</string>"));
        assert!(p.contains(
            "<string>/Applications/Airlock &amp; Co.app/Contents/MacOS/airlock</string>"
        ));
        assert!(p.contains("<key>RunAtLoad</key>\n\t<true/>"));
        assert!(p.contains("<key>KeepAlive</key>\n\t<false/>"));
    }
}
