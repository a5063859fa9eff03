//! The one error of the pure parsers of routing tables and resolver
//! listings: which line, and what is wrong with it. The code that reads
//! the files or runs the commands (the helper) adds where the text came from.

/// A line a pure parser could not make sense of (1-based line number).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}
