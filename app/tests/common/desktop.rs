//! A private desktop: an Xvfb display with its own auth cookie, a private
//! D-Bus session, a private XDG_RUNTIME_DIR, HOME and XDG_CONFIG_HOME,
//! and a real tray host. Nothing else on the machine can reach it, and
//! it reaches nothing else. Every process started here is killed by PID
//! when the [`Desktop`] drops.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::procs::{with_environment, Proc};
use super::{wait_for, Image};

/// Which tray protocol the desktop offers the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayHost {
    /// Debian's `xfce4-panel` with its systray plugin, which is a
    /// StatusNotifierWatcher + host: libayatana-appindicator registers
    /// the icon over D-Bus and exports the menu as dbusmenu. What GNOME
    /// (with the AppIndicator extension), KDE and Xfce users get.
    StatusNotifier,
    /// `trayer`, an XEmbed system tray: no watcher on the bus, so the
    /// library falls back to a GtkStatusIcon. What bare window managers
    /// offer.
    XEmbed,
}

pub struct Desktop {
    pub dir: tempfile::TempDir,
    pub host: TrayHost,
    pub display: String,
    pub xauthority: PathBuf,
    pub dbus_address: String,
    pub runtime_dir: PathBuf,
    pub home: PathBuf,
    /// Where the fake `notify-send` appends what it was asked to show.
    pub notifications: PathBuf,
    /// Where the fake `xdg-open` appends what it was asked to open.
    pub opened: PathBuf,
    pub bin_dir: PathBuf,
    // Drop order: tray host, bus, then the X server.
    tray_host: Option<Proc>,
    dbus: Option<Proc>,
    xvfb: Option<Proc>,
}

const SCREEN: (u32, u32) = (640, 480);

/// The panel, white so the icon colours stand out, along the top with
/// only the tray in it; icons drawn at 24 px. Written before the panel
/// starts so it never asks its first-start question.
const PANEL_CONFIG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="background-style" type="uint" value="1"/>
      <property name="background-rgba" type="array">
        <value type="double" value="1.0"/>
        <value type="double" value="1.0"/>
        <value type="double" value="1.0"/>
        <value type="double" value="1.0"/>
      </property>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
    </property>
  </property>
</channel>
"#;

impl Desktop {
    pub fn start(host: TrayHost) -> Desktop {
        let dir = tempfile::Builder::new()
            .prefix("airlock-ui-")
            .tempdir()
            .expect("temp dir");
        let runtime_dir = dir.path().join("run");
        let home = dir.path().join("home");
        let bin_dir = dir.path().join("bin");
        let panel_dir = home.join(".config/xfce4/xfconf/xfce-perchannel-xml");
        for d in [&runtime_dir, &home, &bin_dir, &panel_dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(panel_dir.join("xfce4-panel.xml"), PANEL_CONFIG).unwrap();
        std::fs::set_permissions(
            &runtime_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // A notify-send and an xdg-open that record instead of showing.
        let notifications = dir.path().join("notifications.log");
        let opened = dir.path().join("opened.log");
        for (tool, log) in [("notify-send", &notifications), ("xdg-open", &opened)] {
            let fake = bin_dir.join(tool);
            std::fs::write(
                &fake,
                format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", log.display()),
            )
            .unwrap();
            std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }

        let xauthority = dir.path().join("Xauthority");
        let (display, xvfb) = start_xvfb(&xauthority);

        let mut desktop = Desktop {
            dir,
            host,
            display,
            xauthority,
            dbus_address: String::new(),
            runtime_dir,
            home,
            notifications,
            opened,
            bin_dir,
            tray_host: None,
            dbus: None,
            xvfb: Some(xvfb),
        };
        // The bus gets the desktop's environment: the services it
        // activates (the panel's `xfconfd`) inherit it and so read the
        // private config, not root's.
        let mut dbus = desktop
            .command("dbus-daemon")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut line = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:"), "dbus said {line:?}");
        desktop.dbus_address = line.trim().to_string();
        desktop.dbus = Some(Proc::new("dbus-daemon", dbus));
        desktop.tray_host = Some(match host {
            TrayHost::StatusNotifier => desktop.start_panel(),
            TrayHost::XEmbed => desktop.start_trayer(),
        });
        desktop
    }

    fn start_panel(&self) -> Proc {
        let panel = self
            .command("xfce4-panel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xfce4-panel");
        let panel = Proc::new("xfce4-panel", panel);
        // The systray plugin registers as the watcher's host once its
        // wrapper process is up (a second or two).
        wait_for(Duration::from_secs(20), "the StatusNotifier host", || {
            self.busctl(&[
                "get-property",
                "org.kde.StatusNotifierWatcher",
                "/StatusNotifierWatcher",
                "org.kde.StatusNotifierWatcher",
                "IsStatusNotifierHostRegistered",
            ])
            .is_ok_and(|v| v["data"] == true)
        });
        panel
    }

    fn start_trayer(&self) -> Proc {
        let trayer = self
            .command("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                "32",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
                "--tint",
                "0xffffff",
                "--expand",
                "false",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("trayer");
        // trayer owns the system tray selection once its window exists.
        wait_for(Duration::from_secs(10), "the tray host", || {
            self.command("xdotool")
                .args(["search", "--class", "trayer"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        Proc::new("trayer", trayer)
    }

    /// A command that runs inside this private desktop.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env_clear()
            .env("PATH", path)
            .env("DISPLAY", &self.display)
            .env("XAUTHORITY", &self.xauthority)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.dbus_address)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("LANG", "C.UTF-8")
            .env("NO_AT_BRIDGE", "1")
            .env("GTK_A11Y", "none");
        c
    }

    /// `busctl --json=short` on the private bus: the parsed answer, or
    /// what busctl said.
    pub fn busctl(&self, args: &[&str]) -> Result<serde_json::Value, String> {
        let out = self
            .command("busctl")
            .arg(format!("--address={}", self.dbus_address))
            .args(["--json=short", "--"])
            .args(args)
            .output()
            .map_err(|e| format!("busctl: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        if out.stdout.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("busctl output: {e}"))
    }

    /// Starts the real app binary `exe` against `socket`.
    pub fn start_app(&self, exe: &Path, socket: &Path) -> Proc {
        self.start_app_with(exe, socket, &[])
    }

    /// [`Desktop::start_app`] with more environment: the app's seams
    /// (`AIRLOCK_VPN_CONFIG_ROOT`, `AIRLOCK_PICK_FILE`).
    pub fn start_app_with(&self, exe: &Path, socket: &Path, env: &[(&str, &Path)]) -> Proc {
        let mut command = self.command(exe);
        command.env("AIRLOCK_SOCKET", socket);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("airlock.stderr")).unwrap())
            .spawn()
            .expect("airlock");
        Proc::new("airlock", child)
    }

    pub fn app_stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("airlock.stderr")).unwrap_or_default()
    }

    /// A full-screen screenshot, saved as `path` and decoded.
    pub fn screenshot(&self, path: &Path) -> Image {
        let ok = self
            .command("import")
            .args(["-window", "root"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "import failed");
        Image::load(path)
    }

    pub fn xdotool(&self, args: &[&str]) {
        let ok = self
            .command("xdotool")
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "xdotool {args:?} failed");
    }

    pub fn notifications(&self) -> String {
        std::fs::read_to_string(&self.notifications).unwrap_or_default()
    }

    /// The paths the app asked `xdg-open` to open, one per line.
    pub fn opened(&self) -> String {
        std::fs::read_to_string(&self.opened).unwrap_or_default()
    }
}

impl Drop for Desktop {
    /// Processes first (the fields would drop the temp dir first), then
    /// anything else that still runs with this desktop's HOME: the app
    /// and the tray host start their own helpers, and the bus activates
    /// services that nobody is the parent of.
    fn drop(&mut self) {
        self.tray_host.take();
        for pid in with_environment("HOME", &self.home.to_string_lossy()) {
            // SAFETY: kill(2) by PID on a process of this desktop (its
            // environment names our private HOME).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.dbus.take();
        self.xvfb.take();
        // The document portal, which the bus activates for the file
        // dialog, mounts a FUSE file system at $XDG_RUNTIME_DIR/doc;
        // killed, it leaves the mount behind. Detach it (EINVAL when
        // nothing is mounted there).
        let doc = self.runtime_dir.join("doc");
        if let Ok(path) = std::ffi::CString::new(doc.to_string_lossy().as_bytes()) {
            // SAFETY: umount2 with a valid C string; MNT_DETACH never
            // blocks on a dead FUSE server.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Starts Xvfb on the first display number it can really own, with a
/// fresh cookie in `xauthority`. Checking for a free number first is not
/// enough: tests in one binary start desktops at the same time. Xvfb's
/// own lock file (`/tmp/.X<n>-lock`, created exclusively, holding its
/// PID) says who won; a loser exits and the next number is tried.
fn start_xvfb(xauthority: &Path) -> (String, Proc) {
    let cookie: String = std::fs::read("/proc/sys/kernel/random/uuid")
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('-', "")
                .trim()
                .to_string()
        })
        .unwrap();
    for number in 100..400 {
        let lock = PathBuf::from(format!("/tmp/.X{number}-lock"));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        if lock.exists() || socket.exists() {
            continue;
        }
        let display = format!(":{number}");
        std::fs::write(xauthority, b"").unwrap();
        let ok = Command::new("xauth")
            .args(["-q", "-f"])
            .arg(xauthority)
            .args(["add", &display, ".", &cookie])
            .status()
            .unwrap()
            .success();
        assert!(ok, "xauth add failed");
        let child = Command::new("Xvfb")
            .arg(&display)
            .arg("-auth")
            .arg(xauthority)
            .args(["-nolisten", "tcp", "-noreset", "-screen", "0"])
            .arg(format!("{}x{}x24", SCREEN.0, SCREEN.1))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb");
        let mut xvfb = Proc::new("Xvfb", child);
        let pid = xvfb.child.id().to_string();
        let start = std::time::Instant::now();
        loop {
            let ours = std::fs::read_to_string(&lock).is_ok_and(|l| l.trim() == pid);
            if ours && socket.exists() {
                return (display, xvfb);
            }
            if xvfb.child.try_wait().unwrap().is_some() {
                break; // lost the race for this number
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Xvfb {display} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("no free X display number in 100..400");
}
