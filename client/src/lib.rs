//! The client side of Airlock's IPC: how `airlockctl` and the menu-bar app
//! talk to the privileged helper `airlockd` over its Unix socket.
//!
//! The messages, the framing and the version handshake are pure and live
//! in the core crate (`airlock_shared::ipc`), shared with the helper's
//! server. This crate adds what needs a socket: connecting with a timeout,
//! one request at a time with ids, reading the ruleset in pages, and the
//! pushed status stream. It is blocking on purpose: both clients make one
//! call at a time (the app from a worker thread), and a blocking client
//! needs no async runtime in the tray process.

mod client;
mod error;

pub use client::{
    Client, ClientOptions, LoadedRules, Subscription, MAX_RULES_ATTEMPTS, MAX_RULES_LEN,
};
pub use error::{ClientError, ConnectFailure};
