//! Running the system's command-line tools (`nft`, `pfctl`, `scutil`, ...):
//! args in, stdout/stderr out, optional stdin. Rulesets and scripts go in
//! on stdin so no temporary file can be swapped under us; `LC_ALL=C` keeps
//! the messages we parse in English. Each caller turns a [`Failure`] into
//! its own error type.

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};

/// What a tool did.
pub(crate) struct Output {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
    pub status: String,
}

/// Why a tool did not run to the end.
#[derive(Debug)]
pub(crate) enum Failure {
    /// It could not be started (`NotFound`: not installed).
    Start(std::io::Error),
    /// It started, but waiting for it or feeding it failed.
    Wait(std::io::Error),
}

/// Runs `program args` to completion. A non-zero exit is not an error
/// here: [`Output::success`] says it, for the caller to judge.
pub(crate) fn run<A: AsRef<OsStr>>(
    program: impl AsRef<OsStr>,
    args: &[A],
    stdin: Option<&str>,
) -> Result<Output, Failure> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Failure::Start)?;
    // Feed stdin from another thread so a child that writes a lot before
    // reading all its input cannot deadlock against us.
    let output = std::thread::scope(|scope| {
        let writer = match (stdin, child.stdin.take()) {
            (Some(text), Some(mut pipe)) => {
                Some(scope.spawn(move || pipe.write_all(text.as_bytes())))
            }
            _ => None,
        };
        let output = child.wait_with_output();
        if let Some(handle) = writer {
            match handle.join() {
                // A child that exits without reading everything closes the
                // pipe; its exit status says what went wrong, not EPIPE.
                Ok(Err(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                _ => {}
            }
        }
        output
    })
    .map_err(Failure::Wait)?;
    Ok(Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
        status: output.status.to_string(),
    })
}
