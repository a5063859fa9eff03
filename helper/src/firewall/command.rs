//! Running the firewall's command-line tools: argv in, stdout/stderr out,
//! optional stdin (rulesets go in on stdin so no temporary file can be
//! swapped under us). `LC_ALL=C` keeps the messages we parse in English.

use std::io::Write;
use std::process::{Command, Stdio};

use super::DriverError;

pub(crate) struct Output {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
    pub status: String,
}

/// `argv` as a person would type it, for error messages.
pub(crate) fn display(argv: &[String]) -> String {
    argv.join(" ")
}

/// Runs `argv` to completion. Only failing to start it is an error here;
/// use [`run_ok`] when a non-zero exit is one too. `hint` says how to get
/// the program when it is not installed.
pub(crate) fn run(
    argv: &[String],
    stdin: Option<&str>,
    hint: &'static str,
) -> Result<Output, DriverError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(DriverError::Spawn {
            command: String::new(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
        });
    };
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
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                DriverError::NotFound {
                    program: program.clone(),
                    hint,
                    source,
                }
            } else {
                DriverError::Spawn {
                    command: display(argv),
                    source,
                }
            }
        })?;
    let spawn_err = |source| DriverError::Spawn {
        command: display(argv),
        source,
    };
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
    .map_err(spawn_err)?;
    Ok(Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
        status: output.status.to_string(),
    })
}

/// Like [`run`], but a non-zero exit is a [`DriverError::Failed`] carrying
/// the tool's own stderr.
pub(crate) fn run_ok(
    argv: &[String],
    stdin: Option<&str>,
    hint: &'static str,
) -> Result<Output, DriverError> {
    let out = run(argv, stdin, hint)?;
    if out.success {
        Ok(out)
    } else {
        Err(failed(argv, &out))
    }
}

pub(crate) fn failed(argv: &[String], out: &Output) -> DriverError {
    let stderr = out.stderr.trim();
    DriverError::Failed {
        command: display(argv),
        status: out.status.clone(),
        stderr: if stderr.is_empty() {
            "(no error message)".to_string()
        } else {
            stderr.to_string()
        },
    }
}
