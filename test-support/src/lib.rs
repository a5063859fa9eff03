//! What Airlock's tests share, in one place instead of files included by
//! `#[path]` into each crate's tests: sample helper answers, a fake helper
//! on a Unix socket, and a fixed clock.
//!
//! - [`status`]: sample [`Status`](airlock_shared::status::Status)es,
//!   built the way the helper builds them (the protection is derived, never
//!   chosen) by one [`StatusBuilder`], so a change to `Status` touches this
//!   crate and the tests' own tweaks, nothing else.
//! - [`fake_helper`]: a stand-in for `airlockd` that speaks the real
//!   protocol (the frames and the handshake rule of `airlock_shared::ipc`):
//!   [`FakeHelper`] serves programs (the CLI, the app) with scriptable
//!   answers and records what they asked; [`ScriptedHelper`] runs one
//!   connection frame by frame for the client's edge cases.
//! - [`network`]: interfaces and routes for test snapshots.
//! - [`clock`]: the fake clock (a [`Clock`](airlock_shared::time::Clock)
//!   fixed at an instant and a zone) and the instants the samples use.
//!
//! A dev-dependency only (`publish = false`). It depends on
//! `airlock-shared` alone, so every crate's integration and unit tests can
//! use it; `airlock-shared`'s own unit tests cannot (its types would be a
//! second copy of the crate), its integration tests can.

pub mod clock;
pub mod fake_helper;
pub mod network;
pub mod status;

pub use fake_helper::{FakeHelper, ScriptedHelper};
pub use status::StatusBuilder;
