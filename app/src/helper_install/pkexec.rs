//! "Install Helper…" on Linux: `pkexec airlockd install`, so polkit asks
//! for the administrator password.

use std::path::{Path, PathBuf};

use super::INSTALL_BY_HAND;
use crate::platform::{spawn_detached, which, Invocation};

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

/// Starts `pkexec airlockd install`; `Err` carries what to tell the user.
pub fn install_helper() -> Result<(), String> {
    let exe = std::env::current_exe().ok();
    match install_helper_invocation(exe.as_deref(), which("pkexec"), which("airlockd")) {
        Some(inv) => {
            spawn_detached(inv);
            Ok(())
        }
        None => Err(INSTALL_BY_HAND.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

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
