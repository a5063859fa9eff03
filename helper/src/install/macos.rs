//! launchd: the steps of `airlockd install` / `uninstall` on macOS.
//! Only `launchctl` commands and files: no macOS API, so it compiles and
//! is tested on Linux. UNVERIFIED on a Mac (the argv follow launchctl(1)
//! of macOS 11+: `bootstrap system <plist>`, `bootout system/<label>`,
//! `enable system/<label>`).

use super::{argv, names, plists, remove_file, write_file, InstallError, Runner, Target, Warnings};

fn plist_path(target: &Target) -> std::path::PathBuf {
    target.path(&format!(
        "/{}/{}",
        names::MACOS_DAEMONS_DIR,
        names::launch_daemon_file()
    ))
}

/// Copies the helper to /Library/PrivilegedHelperTools (root-owned, as
/// SMJobBless would: the LaunchDaemon must not run a binary inside an app
/// bundle the user can modify), writes the LaunchDaemon plist and loads
/// it. A loaded old job is booted out first, since `bootstrap` refuses a
/// label that is already loaded; `enable` clears a `disable` left by an
/// earlier `launchctl disable`.
pub fn install(target: &Target, runner: &mut dyn Runner) -> Result<Warnings, InstallError> {
    let mut warnings = Warnings::new();
    let installed = plists::privileged_helper_path();
    let binary = std::fs::read(&target.helper).map_err(|source| InstallError::Write {
        path: target.helper.clone(),
        source,
    })?;
    write_file(&target.path(&installed), &binary, 0o755)?;
    // No client requirement: `airlockd install` cannot know whether (or by
    // whom) the app is signed; a signed bundle installs through
    // SMAppService or SMJobBless, whose plists carry it.
    let plist = plists::to_xml(&plists::launch_daemon(
        std::path::Path::new(&installed),
        None,
    ))?;
    let path = plist_path(target);
    write_file(&path, plist.as_bytes(), 0o644)?;
    let service = names::launchd_service_target();
    if runner
        .run(&argv(&["launchctl", "bootout", &service]))
        .is_ok()
    {
        warnings.push(format!("replaced the running {service}"));
    }
    runner.run(&argv(&["launchctl", "enable", &service]))?;
    runner.run(&[
        "launchctl".to_string(),
        "bootstrap".into(),
        "system".into(),
        path.display().to_string(),
    ])?;
    Ok(warnings)
}

/// Boots the job out (so it cannot restore the rules), removes the rules
/// (the caller's pf driver also releases the pf enable token), then the
/// plist and the helper binary.
pub fn uninstall(
    target: &Target,
    runner: &mut dyn Runner,
    remove_rules: &mut dyn FnMut() -> Result<(), String>,
) -> Result<Warnings, InstallError> {
    let mut warnings = Warnings::new();
    let service = names::launchd_service_target();
    if let Err(e) = runner.run(&argv(&["launchctl", "bootout", &service])) {
        warnings.push(format!("{e} (was the helper loaded?)"));
    }
    remove_rules().map_err(InstallError::Firewall)?;
    remove_file(&plist_path(target))?;
    remove_file(&target.path(&plists::privileged_helper_path()))?;
    Ok(warnings)
}
