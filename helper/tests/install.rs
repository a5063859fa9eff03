//! `airlockd install` / `uninstall` on both platforms, through a temp
//! root and a recording command runner (nothing here touches the real
//! /etc, /Library, systemctl or launchctl), and the committed resource
//! files against their single source of truth.
//!
//! After changing a generator, refresh the committed files with
//! `AIRLOCK_BLESS=1 cargo test -p airlock-helper --test install` and review the
//! diff.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use airlock_helper::install::{
    self, desktop, names, plists, unit, InstallError, RecordingRunner, Target,
};
use airlock_shared::platform::Platform;
use plist::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed file must equal what the generator renders now.
fn committed(rel: &str, rendered: &str) {
    let path = repo().join(rel);
    if std::env::var_os("AIRLOCK_BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, rendered).unwrap();
        return;
    }
    let on_disk = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e} (AIRLOCK_BLESS=1 writes it)"));
    assert!(
        on_disk == rendered,
        "{rel} differs from its generator; run AIRLOCK_BLESS=1 cargo test -p airlock-helper \
         --test install and review the diff"
    );
}

fn xml(v: &Value) -> String {
    plists::to_xml(v).unwrap()
}

fn parse(rel: &str) -> plist::Dictionary {
    Value::from_file(repo().join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .into_dictionary()
        .unwrap_or_else(|| panic!("{rel}: not a dictionary"))
}

fn string<'a>(d: &'a plist::Dictionary, key: &str) -> &'a str {
    d.get(key)
        .and_then(Value::as_string)
        .unwrap_or_else(|| panic!("no string {key}"))
}

#[test]
fn committed_resources_match_their_generators() {
    committed("resources/linux/airlockd.service", &unit::packaged_unit());
    let exec = desktop::packaged_exec();
    committed(
        "resources/linux/airlock.desktop",
        &desktop::applications_entry(&exec),
    );
    committed(
        "resources/linux/airlock-autostart.desktop",
        &desktop::autostart_entry(&exec),
    );
    committed(
        "resources/macos/Info.plist",
        &xml(&plists::app_info(
            plists::VERSION_PLACEHOLDER,
            plists::HELPER_REQUIREMENT_PLACEHOLDER,
        )),
    );
    committed(
        "resources/macos/helper-Info.plist",
        &xml(&plists::helper_info(
            plists::VERSION_PLACEHOLDER,
            plists::APP_REQUIREMENT_PLACEHOLDER,
        )),
    );
    committed(
        "resources/macos/helper-launchd.plist",
        &xml(&plists::helper_launchd()),
    );
    committed(
        &format!(
            "resources/macos/LaunchDaemons/{}",
            names::launch_daemon_file()
        ),
        &xml(&plists::bundled_launch_daemon()),
    );
}

/// Every `@PLACEHOLDER@` in the committed macOS plists is one that
/// `build-app.sh` fills; an unfilled one would ship literally (for the
/// client requirement: a helper demanding "@CLIENT_REQUIREMENT@", which
/// nothing satisfies).
#[test]
fn build_app_fills_every_placeholder() {
    let script = fs::read_to_string(repo().join("packaging/macos/build-app.sh")).unwrap();
    let mut seen = Vec::new();
    for rel in [
        "resources/macos/Info.plist",
        "resources/macos/helper-Info.plist",
        "resources/macos/helper-launchd.plist",
        "resources/macos/LaunchDaemons/org.airlock.helper.plist",
    ] {
        let text = fs::read_to_string(repo().join(rel)).unwrap();
        let mut rest = text.as_str();
        while let Some(start) = rest.find('@') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('@') else { break };
            let name = &after[..end];
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                let placeholder = format!("@{name}@");
                assert!(
                    script.contains(&format!("s|{placeholder}|")),
                    "{rel}: build-app.sh does not fill {placeholder}"
                );
                seen.push(placeholder);
                rest = &after[end + 1..];
            } else {
                rest = after;
            }
        }
    }
    for p in [
        plists::VERSION_PLACEHOLDER,
        plists::HELPER_REQUIREMENT_PLACEHOLDER,
        plists::APP_REQUIREMENT_PLACEHOLDER,
        plists::CLIENT_REQUIREMENT_PLACEHOLDER,
    ] {
        assert!(seen.iter().any(|s| s == p), "{p} is in no committed plist");
    }
}

/// Read back as a Mac would: the ids that must agree do, across files
/// written by different people (the app's Info.plist included).
#[test]
fn plists_agree_on_names() {
    let app = parse("resources/macos/Info.plist");
    let helper = parse("resources/macos/helper-Info.plist");
    let launchd = parse("resources/macos/helper-launchd.plist");
    let bundled = parse("resources/macos/LaunchDaemons/org.airlock.helper.plist");

    let app_id = string(&app, "CFBundleIdentifier");
    assert_eq!(app_id, "org.airlock.app");
    assert_eq!(string(&app, "CFBundleExecutable"), "airlock");
    assert_eq!(
        app.get("LSUIElement").and_then(Value::as_boolean),
        Some(true)
    );
    assert_eq!(string(&app, "LSMinimumSystemVersion"), "11.0");

    let helper_id = string(&helper, "CFBundleIdentifier");
    assert_eq!(string(&launchd, "Label"), helper_id);
    assert_eq!(string(&bundled, "Label"), helper_id);
    let privileged = app
        .get("SMPrivilegedExecutables")
        .and_then(Value::as_dictionary)
        .unwrap();
    assert!(privileged.contains_key(helper_id));
    // SMJobBless copies the helper to PrivilegedHelperTools/<label>.
    let program = launchd
        .get("ProgramArguments")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(
        program[0].as_string(),
        Some(format!("/Library/PrivilegedHelperTools/{helper_id}").as_str())
    );
    assert_eq!(program[1].as_string(), Some("run"));
    assert_eq!(
        string(&bundled, "BundleProgram"),
        format!("Contents/Library/LaunchServices/{helper_id}")
    );
    let assoc = bundled
        .get("AssociatedBundleIdentifiers")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(assoc[0].as_string(), Some(app_id));
}

#[test]
fn desktop_entries_start_the_packaged_app() {
    for rel in [
        "resources/linux/airlock.desktop",
        "resources/linux/airlock-autostart.desktop",
    ] {
        let text = fs::read_to_string(repo().join(rel)).unwrap();
        assert_eq!(text.lines().next(), Some("[Desktop Entry]"), "{rel}");
        let keys: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |k: &str| keys.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        assert_eq!(get("Exec"), Some("/usr/bin/airlock"), "{rel}");
        assert_eq!(get("Icon"), Some(names::ICON_NAME), "{rel}");
        assert_eq!(get("Type"), Some("Application"), "{rel}");
        // Keys may appear once only (desktop entry spec).
        let mut names: Vec<_> = keys.iter().map(|(k, _)| *k).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), keys.len(), "{rel}: duplicate key");
    }
}

fn fake_helper(dir: &Path) -> PathBuf {
    let helper = dir.join("bin/airlockd");
    fs::create_dir_all(helper.parent().unwrap()).unwrap();
    fs::write(&helper, b"\x7fELF pretend helper").unwrap();
    helper
}

fn strs(calls: &[Vec<String>]) -> Vec<String> {
    calls.iter().map(|c| c.join(" ")).collect()
}

#[test]
fn linux_install_writes_the_unit_and_enables_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let target = Target {
        platform: Platform::Linux,
        root: root.clone(),
        helper: fake_helper(tmp.path()),
    };
    let mut runner = RecordingRunner::default();
    install::install(&target, &mut runner).unwrap();
    assert_eq!(
        strs(&runner.calls),
        [
            "systemctl daemon-reload",
            "systemctl enable airlockd.service",
            "systemctl restart airlockd.service",
        ]
    );
    let unit_path = root.join("etc/systemd/system/airlockd.service");
    let text = fs::read_to_string(&unit_path).unwrap();
    let exec: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(exec, [format!("{} run", target.helper.display())]);
    let mode = fs::metadata(&unit_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    // Nothing else was written under the root (no temp files left).
    let entries: Vec<_> = fs::read_dir(unit_path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["airlockd.service"]);
}

#[test]
fn linux_uninstall_stops_first_then_removes_rules_then_the_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let target = Target {
        platform: Platform::Linux,
        root: tmp.path().join("root"),
        helper: fake_helper(tmp.path()),
    };
    let mut runner = RecordingRunner::default();
    install::install(&target, &mut runner).unwrap();
    runner.calls.clear();
    let unit_path = target.path("/etc/systemd/system/airlockd.service");
    let mut seen = None;
    let mut remove = || {
        // The service must be stopped before, the unit still there.
        seen = Some(unit_path.exists());
        Ok(())
    };
    let warnings = install::uninstall(&target, &mut runner, &mut remove).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(seen, Some(true), "rules were not removed");
    assert_eq!(
        strs(&runner.calls),
        [
            "systemctl disable --now airlockd.service",
            "systemctl daemon-reload"
        ]
    );
    assert!(!unit_path.exists());
}

#[test]
fn uninstall_goes_on_when_the_service_is_missing_but_not_when_rules_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let target = Target {
        platform: Platform::Linux,
        root: tmp.path().to_path_buf(),
        helper: fake_helper(tmp.path()),
    };
    let mut runner = RecordingRunner {
        fail: vec![["systemctl", "disable", "--now", "airlockd.service"]
            .map(String::from)
            .to_vec()],
        ..Default::default()
    };
    let warnings = install::uninstall(&target, &mut runner, &mut || Ok(())).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");

    let mut runner = RecordingRunner::default();
    let err =
        install::uninstall(&target, &mut runner, &mut || Err("nft: busy".into())).unwrap_err();
    assert!(
        matches!(err, InstallError::Firewall(ref m) if m == "nft: busy"),
        "{err}"
    );
    // Rules still loaded: the unit is not reloaded away either.
    assert_eq!(
        strs(&runner.calls),
        ["systemctl disable --now airlockd.service"]
    );
}

#[test]
fn macos_install_copies_the_helper_and_bootstraps_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let target = Target {
        platform: Platform::Macos,
        root: root.clone(),
        helper: fake_helper(tmp.path()),
    };
    let mut runner = RecordingRunner::default();
    install::install(&target, &mut runner).unwrap();
    let plist_path = root.join("Library/LaunchDaemons/org.airlock.helper.plist");
    assert_eq!(
        strs(&runner.calls),
        [
            "launchctl bootout system/org.airlock.helper".to_string(),
            "launchctl enable system/org.airlock.helper".to_string(),
            format!("launchctl bootstrap system {}", plist_path.display()),
        ]
    );
    let copied = root.join("Library/PrivilegedHelperTools/org.airlock.helper");
    assert_eq!(
        fs::read(&copied).unwrap(),
        fs::read(&target.helper).unwrap()
    );
    assert_eq!(
        fs::metadata(&copied).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let d = Value::from_file(&plist_path)
        .unwrap()
        .into_dictionary()
        .unwrap();
    assert_eq!(string(&d, "Label"), "org.airlock.helper");
    let args: Vec<_> = d
        .get("ProgramArguments")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    // The root-owned copy runs, never the binary the installer ran from.
    assert_eq!(
        args,
        ["/Library/PrivilegedHelperTools/org.airlock.helper", "run"]
    );
    assert_eq!(d.get("RunAtLoad").and_then(Value::as_boolean), Some(true));
    assert_eq!(d.get("KeepAlive").and_then(Value::as_boolean), Some(true));
    assert_eq!(
        string(&d, "StandardErrorPath"),
        "/Library/Logs/Airlock/airlockd.log"
    );
}

#[test]
fn macos_uninstall_boots_out_removes_rules_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let target = Target {
        platform: Platform::Macos,
        root: tmp.path().join("root"),
        helper: fake_helper(tmp.path()),
    };
    install::install(&target, &mut RecordingRunner::default()).unwrap();
    let mut runner = RecordingRunner::default();
    let mut removed = 0;
    install::uninstall(&target, &mut runner, &mut || {
        removed += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        strs(&runner.calls),
        ["launchctl bootout system/org.airlock.helper"]
    );
    assert!(!target
        .path("/Library/LaunchDaemons/org.airlock.helper.plist")
        .exists());
    assert!(!target
        .path("/Library/PrivilegedHelperTools/org.airlock.helper")
        .exists());
}

#[test]
fn helper_path_must_be_root_only() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipping: needs root to own the files it checks");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let helper = fake_helper(tmp.path());
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(helper.parent().unwrap(), fs::Permissions::from_mode(0o755)).unwrap();
    install::check_helper_path(&helper).unwrap();
    // A folder others may write to: they could swap the binary.
    fs::set_permissions(helper.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
    let err = install::check_helper_path(&helper).unwrap_err();
    assert!(err.to_string().contains("writable"), "{err}");
    fs::set_permissions(helper.parent().unwrap(), fs::Permissions::from_mode(0o755)).unwrap();
    // The binary itself group-writable.
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o775)).unwrap();
    assert!(install::check_helper_path(&helper).is_err());
    // Owned by someone else.
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    nix::unistd::chown(&helper, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let err = install::check_helper_path(&helper).unwrap_err();
    assert!(err.to_string().contains("65534"), "{err}");
    nix::unistd::chown(&helper, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    // A root-owned symlink in a safe folder, pointing into an unsafe one.
    let safe = tempfile::tempdir().unwrap();
    fs::set_permissions(safe.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let link = safe.path().join("airlockd");
    std::os::unix::fs::symlink(&helper, &link).unwrap();
    install::check_helper_path(&link).unwrap();
    fs::set_permissions(helper.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
    let err = install::check_helper_path(&link).unwrap_err();
    assert!(err.to_string().contains("writable"), "{err}");
}
