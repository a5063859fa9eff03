//! systemd: the steps of `airlockd install` / `uninstall` on Linux.

use super::{argv, names, remove_file, unit, write_file, InstallError, Runner, Target, Warnings};

fn unit_path(target: &Target) -> std::path::PathBuf {
    target.path(&format!("/{}/{}", names::LINUX_UNIT_DIR, names::UNIT_NAME))
}

/// Writes the unit, reloads systemd, enables it for boot and (re)starts
/// it. `restart` rather than `enable --now`: on a reinstall (a new
/// binary) `--now` would leave the old process running.
pub fn install(target: &Target, runner: &mut dyn Runner) -> Result<Warnings, InstallError> {
    let text = unit::systemd_unit(&target.helper);
    write_file(&unit_path(target), text.as_bytes(), 0o644)?;
    runner.run(&argv(&["systemctl", "daemon-reload"]))?;
    runner.run(&argv(&["systemctl", "enable", names::UNIT_NAME]))?;
    runner.run(&argv(&["systemctl", "restart", names::UNIT_NAME]))?;
    Ok(Warnings::new())
}

/// Stops and disables the service first (a running helper would put the
/// rules back), then removes the rules, then the unit. A service that was
/// never installed is a warning, so uninstall also cleans up after a
/// half-finished install.
pub fn uninstall(
    target: &Target,
    runner: &mut dyn Runner,
    remove_rules: &mut dyn FnMut() -> Result<(), String>,
) -> Result<Warnings, InstallError> {
    let mut warnings = Warnings::new();
    if let Err(e) = runner.run(&argv(&["systemctl", "disable", "--now", names::UNIT_NAME])) {
        warnings.push(format!("{e} (was the service installed?)"));
    }
    remove_rules().map_err(InstallError::Firewall)?;
    remove_file(&unit_path(target))?;
    runner.run(&argv(&["systemctl", "daemon-reload"]))?;
    Ok(warnings)
}
