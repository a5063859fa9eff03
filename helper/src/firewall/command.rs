//! The firewall's command-line tools, run through [`crate::tool`] with
//! their failures as [`DriverError`]s that name the command and, when a
//! tool is missing, how to install it.

use super::DriverError;
pub(crate) use crate::tool::Output;
use crate::tool::{self, Failure};

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
    tool::run(program, args, stdin).map_err(|failure| match failure {
        Failure::Start(source) if source.kind() == std::io::ErrorKind::NotFound => {
            DriverError::NotFound {
                program: program.clone(),
                hint,
                source,
            }
        }
        Failure::Start(source) | Failure::Wait(source) => DriverError::Spawn {
            command: display(argv),
            source,
        },
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
