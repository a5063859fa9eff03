//! Policy -> ruleset text. Pure functions; each policy rule becomes one
//! rule (or one small group) in the output, with its `why` as a comment.
//! A renderer makes no decisions of its own.

pub mod nft;
pub mod pf;
