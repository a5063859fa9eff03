//! "Test Protection" runs `airlockctl selftest --json` and reads its
//! report (`airlock_shared::selftest::Report`).
//!
//! Why a process and not a library call: the attempts need the live
//! interface list (`airlock_helper::network::live`) and sockets bound to
//! each interface (`cli/src/probe.rs`), which the app would otherwise
//! link the helper crate for; and the CLI's self-test is the one the lab
//! tests prove on the real kernel, so the menu runs exactly that. Every
//! package ships `airlockctl` beside the app's executable (the `.deb`'s
//! bin folder, `Airlock.app/Contents/MacOS/`), so it is found there, else
//! on PATH. It needs no privilege. It runs on a thread of its own, never
//! the UI's, and at most [`LIMIT`] long.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airlock_shared::selftest::Report;

use crate::platform::{which, Invocation};

/// Longest a run may take: a dozen attempts at 1.5 s each (the CLI's
/// timeout per attempt) fit with room to spare; past it the run is killed
/// and reported as such.
pub const LIMIT: Duration = Duration::from_secs(60);

/// `airlockctl` beside our own binary, else the one on PATH.
pub fn find_ctl(own_exe: Option<&Path>, on_path: Option<PathBuf>) -> Option<PathBuf> {
    own_exe
        .and_then(Path::parent)
        .map(|d| d.join("airlockctl"))
        .filter(|p| p.is_file())
        .or(on_path)
}

pub fn invocation(ctl: PathBuf, socket: &Path) -> Invocation {
    Invocation {
        program: ctl,
        args: vec![
            "--socket".into(),
            socket.as_os_str().to_owned(),
            "selftest".into(),
            "--json".into(),
        ],
    }
}

/// What a finished run means: exit 0 (passed) or 1 (failed or nothing
/// tested) with a report on stdout is a result; anything else is an
/// error, in the CLI's own words when it gave some.
pub fn parse(code: Option<i32>, stdout: &[u8], stderr: &[u8]) -> Result<Report, String> {
    let said = || {
        let e = String::from_utf8_lossy(stderr);
        let e = e.trim();
        let e = e.strip_prefix("airlockctl: ").unwrap_or(e);
        e.lines().next().unwrap_or("").to_string()
    };
    match code {
        Some(0 | 1) => serde_json::from_slice::<Report>(stdout).map_err(|e| {
            let why = said();
            if why.is_empty() {
                format!("airlockctl selftest gave no report ({e})")
            } else {
                why
            }
        }),
        Some(n) => Err(match said() {
            w if w.is_empty() => format!("airlockctl selftest failed (exit {n})"),
            w => w,
        }),
        None => Err("airlockctl selftest was killed".into()),
    }
}

/// Runs the self-test against `socket` and waits (on the caller's
/// thread, which must not be the UI's).
pub fn run(socket: &Path) -> Result<Report, String> {
    let exe = std::env::current_exe().ok();
    let ctl = find_ctl(exe.as_deref(), which("airlockctl"))
        .ok_or("airlockctl is not installed beside Airlock or on PATH")?;
    let inv = invocation(ctl, socket);
    let mut child = Command::new(&inv.program)
        .args(&inv.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", inv.program.display()))?;
    // Read both pipes while it runs, so a full pipe cannot stall it.
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the self-test took longer than {} s",
                    LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for airlockctl: {e}")),
        }
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    parse(status.code(), &stdout, &stderr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn airlockctl_beside_the_app_first_then_path() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("airlock");
        let on_path = Some(PathBuf::from("/usr/bin/airlockctl"));
        assert_eq!(find_ctl(Some(&exe), on_path.clone()), on_path);
        std::fs::write(tmp.path().join("airlockctl"), "").unwrap();
        assert_eq!(
            find_ctl(Some(&exe), on_path.clone()),
            Some(tmp.path().join("airlockctl"))
        );
        assert_eq!(find_ctl(None, None), None);
        let inv = invocation(tmp.path().join("airlockctl"), Path::new("/run/a.sock"));
        assert_eq!(
            inv.args,
            [
                OsString::from("--socket"),
                "/run/a.sock".into(),
                "selftest".into(),
                "--json".into()
            ]
        );
    }

    #[test]
    fn a_report_on_exit_0_or_1_else_the_cli_s_words() {
        let json = br#"{"pass":false,"checks":[{"what":"TCP over IPv4 on eth0 to 192.0.2.1:443","pass":false,"words":"got through"}],"skipped":[],"cannot":null}"#;
        let r = parse(Some(1), json, b"").unwrap();
        assert!(!r.pass && r.checks.len() == 1);
        let ok = br#"{"pass":true,"checks":[],"skipped":[],"cannot":null}"#;
        assert!(parse(Some(0), ok, b"").unwrap().pass);
        assert_eq!(
            parse(
                Some(1),
                b"",
                b"airlockctl: cannot reach the helper at /run/airlock/airlock.sock\nmore\n"
            ),
            Err("cannot reach the helper at /run/airlock/airlock.sock".into())
        );
        assert_eq!(
            parse(Some(2), b"", b""),
            Err("airlockctl selftest failed (exit 2)".into())
        );
        assert!(parse(Some(0), b"not json", b"")
            .unwrap_err()
            .contains("no report"));
        assert_eq!(
            parse(None, b"", b""),
            Err("airlockctl selftest was killed".into())
        );
    }
}
