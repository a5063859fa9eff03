//! Small desktop integrations run as child processes: notifications,
//! opening a file, installing the helper. The commands are built by pure
//! functions (tested); spawning is fire-and-forget on a reaper thread so
//! the UI never waits on a desktop service.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::notify_rules::Notification;

/// The first `name` on `path` (a `PATH`-style list) that is a file.
pub fn find_in_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn which(name: &str) -> Option<PathBuf> {
    find_in_path(name, std::env::var_os("PATH"))
}

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// `notify-send` arguments: urgent notifications stay until dismissed,
/// because they mean the internet is off or unprotected.
pub fn notify_send(program: PathBuf, n: &Notification) -> Invocation {
    let urgency = if n.urgent { "critical" } else { "normal" };
    Invocation {
        program,
        args: vec![
            "--app-name=Airlock".into(),
            format!("--urgency={urgency}").into(),
            "--icon=network-vpn".into(),
            "--".into(),
            n.title.clone().into(),
            n.body.clone().into(),
        ],
    }
}

/// Shows a desktop notification if the desktop can; silently skips when
/// there is no `notify-send` (the icon and menu already tell the state).
pub fn notify(n: &Notification) {
    #[cfg(target_os = "macos")]
    {
        crate::platform_macos::notify(n);
    }
    #[cfg(not(target_os = "macos"))]
    {
        if let Some(program) = which("notify-send") {
            spawn_detached(notify_send(program, n));
        } else {
            eprintln!(
                "airlock: {}: {} (notify-send not installed)",
                n.title, n.body
            );
        }
    }
}

/// Opens a file with the desktop's default application.
pub fn open(path: &Path) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let program = which(opener).ok_or_else(|| format!("{opener} is not installed"))?;
    spawn_detached(Invocation {
        program,
        args: vec![path.as_os_str().to_owned()],
    });
    Ok(())
}

/// How to install the helper from the app: `pkexec airlockd install` next
/// to our own binary (packages put both in one folder), else from PATH.
/// `None`: tell the user the command instead.
pub fn install_helper_invocation(
    own_exe: Option<&Path>,
    pkexec: Option<PathBuf>,
    path_airlockd: Option<PathBuf>,
) -> Option<Invocation> {
    let sibling = own_exe
        .and_then(Path::parent)
        .map(|d| d.join("airlockd"))
        .filter(|p| p.is_file());
    let airlockd = sibling.or(path_airlockd)?;
    Some(Invocation {
        program: pkexec?,
        args: vec![airlockd.into_os_string(), "install".into()],
    })
}

pub const INSTALL_BY_HAND: &str = "Install the helper from a terminal: sudo airlockd install";

/// Starts the helper's installation; `Err` carries what to tell the user.
/// macOS: SMAppService on 13+ with a signed bundle, else SMJobBless, and
/// `airlockd install` as root if that fails (`helper_install` decides).
pub fn install_helper() -> Result<(), String> {
    #[cfg(target_os = "macos")]
    {
        use crate::install_helper_macos::{smappservice_usable, MacInstallers};
        let exe = std::env::current_exe().ok();
        crate::helper_install::install_helper(
            smappservice_usable(exe.as_deref()),
            &mut MacInstallers {
                own_exe: exe.as_deref(),
            },
        )
    }
    #[cfg(not(target_os = "macos"))]
    {
        let exe = std::env::current_exe().ok();
        match install_helper_invocation(exe.as_deref(), which("pkexec"), which("airlockd")) {
            Some(inv) => {
                spawn_detached(inv);
                Ok(())
            }
            None => Err(INSTALL_BY_HAND.to_string()),
        }
    }
}

/// Runs a command without blocking the caller; a thread reaps it so no
/// zombie is left behind.
pub fn spawn_detached(inv: Invocation) {
    let spawned = Command::new(&inv.program)
        .args(&inv.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let _ = std::thread::Builder::new()
                .name("reaper".into())
                .spawn(move || child.wait());
        }
        Err(e) => eprintln!("airlock: cannot run {}: {e}", inv.program.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify_rules::NotificationKind;

    #[test]
    fn path_lookup_finds_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(a.join("tool")).unwrap(); // a folder, not a tool
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("tool"), "").unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(
            find_in_path("tool", Some(path.clone())),
            Some(b.join("tool"))
        );
        assert_eq!(find_in_path("other", Some(path)), None);
        assert_eq!(find_in_path("tool", None), None);
    }

    #[test]
    fn notify_send_arguments() {
        let n = Notification {
            kind: NotificationKind::VpnDropped,
            title: "-VPN down".into(),
            body: "blocked".into(),
            urgent: true,
        };
        let inv = notify_send("/usr/bin/notify-send".into(), &n);
        let args: Vec<_> = inv.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--app-name=Airlock",
                "--urgency=critical",
                "--icon=network-vpn",
                "--",
                "-VPN down",
                "blocked"
            ]
        );
    }

    #[test]
    fn helper_install_prefers_the_sibling_binary() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("airlock");
        let pkexec = Some(PathBuf::from("/usr/bin/pkexec"));
        let on_path = Some(PathBuf::from("/usr/sbin/airlockd"));
        // No sibling: the one on PATH.
        let inv = install_helper_invocation(Some(&exe), pkexec.clone(), on_path.clone()).unwrap();
        assert_eq!(
            inv.args,
            [OsString::from("/usr/sbin/airlockd"), "install".into()]
        );
        std::fs::write(tmp.path().join("airlockd"), "").unwrap();
        let inv = install_helper_invocation(Some(&exe), pkexec.clone(), on_path.clone()).unwrap();
        assert_eq!(inv.program, PathBuf::from("/usr/bin/pkexec"));
        assert_eq!(inv.args[0], tmp.path().join("airlockd").into_os_string());
        // No pkexec, or no helper binary anywhere: the user is told.
        assert_eq!(install_helper_invocation(Some(&exe), None, on_path), None);
        assert_eq!(install_helper_invocation(None, pkexec, None), None);
    }
}
