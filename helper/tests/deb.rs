//! Builds the .deb with packaging/linux/build-deb.sh from the debug
//! binaries and checks what is in it: files, modes, control fields,
//! maintainer scripts, and that systemd accepts the unit
//! (`systemd-analyze verify`). Skips, saying why, where dpkg-deb or the
//! other crates' binaries are missing (CI builds the whole workspace).

use std::path::{Path, PathBuf};
use std::process::Command;

use airlock_helper::install::{desktop, unit};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn deb_holds_the_binaries_unit_entries_and_scripts() {
    if !have("dpkg-deb") {
        eprintln!("skipping: dpkg-deb is not installed (apt-get install dpkg)");
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_airlockd")).parent().unwrap();
    for b in ["airlockctl", "airlock"] {
        if !bin_dir.join(b).is_file() {
            eprintln!(
                "skipping: {} is not built (cargo build -p airlock-cli -p airlock-app)",
                bin_dir.join(b).display()
            );
            return;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = run(Command::new(repo().join("packaging/linux/build-deb.sh"))
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--out")
        .arg(tmp.path())
        .args(["--compress", "none"]));
    let deb = PathBuf::from(out.trim());
    assert!(deb.starts_with(tmp.path()) && deb.is_file(), "{out}");

    // Contents: path -> (mode, owner).
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} not in the .deb:\n{listing}"))
    };
    for bin in ["airlockd", "airlockctl", "airlock"] {
        let line = entry(&format!("/usr/bin/{bin}"));
        assert!(line.starts_with("-rwxr-xr-x root/root"), "{line}");
    }
    for file in [
        "/lib/systemd/system/airlockd.service",
        "/etc/xdg/autostart/airlock.desktop",
        "/usr/share/applications/airlock.desktop",
        "/usr/share/icons/hicolor/32x32/apps/airlock.png",
    ] {
        let line = entry(file);
        assert!(line.starts_with("-rw-r--r-- root/root"), "{line}");
    }

    let info = run(Command::new("dpkg-deb").arg("-I").arg(&deb));
    let depends = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: "))
        .expect("no Depends");
    let mut deps: Vec<_> = depends.split(", ").collect();
    deps.sort_unstable();
    assert_eq!(
        deps,
        [
            "conntrack",
            "libayatana-appindicator3-1",
            "libgtk-3-0",
            "nftables"
        ]
    );
    let version = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version: "))
        .unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));

    // Unpacked, the files are what the generators say.
    let root = tmp.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    assert_eq!(
        read("lib/systemd/system/airlockd.service"),
        unit::packaged_unit()
    );
    assert_eq!(
        read("etc/xdg/autostart/airlock.desktop"),
        desktop::autostart_entry("/usr/bin/airlock")
    );
    assert_eq!(
        std::fs::read(root.join("usr/bin/airlockd")).unwrap(),
        std::fs::read(bin_dir.join("airlockd")).unwrap()
    );

    // Maintainer scripts: present, valid sh, doing what they must.
    let control = tmp.path().join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh").arg("-n").arg(control.join(script)));
    }
    let prerm = std::fs::read_to_string(control.join("prerm")).unwrap();
    let stop = prerm
        .find("disable --now airlockd.service")
        .expect("prerm stops");
    let rules = prerm
        .find("airlockd uninstall --rules-only")
        .expect("prerm removes rules");
    assert!(stop < rules, "rules must go after the helper stopped");
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("systemctl enable airlockd.service"));

    verify_unit(&root);
}

/// `systemd-analyze verify` on the unpacked tree (`--root`, so it finds
/// /usr/bin/airlockd there and not on this machine).
fn verify_unit(root: &Path) {
    if !have("systemd-analyze") {
        eprintln!("skipping systemd-analyze verify: not installed (apt-get install systemd)");
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg("/lib/systemd/system/airlockd.service")
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Only complaints about our unit count; verify also reports
    // unrelated units of the (empty) root it was pointed at.
    let ours: Vec<_> = stderr.lines().filter(|l| l.contains("airlockd")).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}
