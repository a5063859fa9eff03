//! Why untrusted bytes are not a DNS message Airlock will act on; shared
//! by the message and name readers (its own file, so neither imports the
//! other for it).

use super::limits::{MAX_MESSAGE_LEN, MAX_POINTER_HOPS};

/// Why bytes are not a message the resolver will answer. The helper drops
/// the packet and logs this; it never panics on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message ends before its header or a section does")]
    Truncated,
    #[error("message is longer than {MAX_MESSAGE_LEN} bytes")]
    Oversized,
    #[error("a response where a query was expected")]
    NotAQuery,
    #[error("a query where a response was expected")]
    NotAResponse,
    #[error("opcode {0} (only standard queries are answered)")]
    Opcode(u8),
    #[error("{0} questions (exactly one is answered)")]
    QuestionCount(u16),
    #[error("a name is longer than 255 bytes")]
    NameTooLong,
    #[error("a compression pointer points forward or into its own name")]
    ForwardPointer,
    #[error("more than {} compression pointers in one name", MAX_POINTER_HOPS)]
    TooManyPointers,
    #[error("a reserved label type")]
    BadLabelType,
    #[error("the response's id does not match the query's")]
    IdMismatch,
    #[error("the response's question is not the query's")]
    QuestionMismatch,
}
