//! How airlockctl fails: exactly one line `airlockctl: MESSAGE` on stderr,
//! status 2 for input the user can fix (arguments, settings file), 1 for
//! anything else. One line, because scripts and people both read it.

use std::fmt;
use std::process;

/// An error caused by what the user typed or pointed us at.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Prints `airlockctl: MESSAGE` (newlines folded) and exits.
pub fn fail(status: i32, message: &str) -> ! {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("airlockctl: {line}");
    process::exit(status);
}

/// `--help` and `--version` print as clap wants (status 0); usage errors
/// become the one-line form with status 2 instead of clap's paragraph.
pub fn clap_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            fail(2, "missing command; try `airlockctl --help`")
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // "...were not provided:" names them on the indented lines after.
            let named: Vec<&str> = if first.ends_with(':') {
                lines
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect()
            } else {
                Vec::new()
            };
            let first = if named.is_empty() {
                first.to_string()
            } else {
                format!("{first} {}", named.join(", "))
            };
            // Clap lists the choices on a later line; keep them in the one.
            let choices = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) if !v.is_empty() => {
                    format!("; expected one of: {}", v.join(", "))
                }
                _ => String::new(),
            };
            fail(2, &format!("{first}{choices} (see --help)"))
        }
    }
}
