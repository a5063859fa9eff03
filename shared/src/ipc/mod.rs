//! How clients (CLI, tray app) talk to the privileged helper `airlockd`.
//!
//! XPC-like: request/response plus a pushed stream of status events, over
//! a Unix socket. Layers, each usable alone:
//! - [`frame`]: length-prefixed JSON frames, the size limit, a pure
//!   incremental decoder (the helper wraps it in its async reader);
//! - [`protocol`]: the messages, the version, the handshake rule and which
//!   requests need authorization;
//! - [`rules_page`]: cutting the ruleset into pages that fit a frame;
//! - [`paths`]: where the socket is.
//!
//! The helper's side (peer credentials, authorization, connection limits)
//! lives in the helper and the socket-owning client in the `airlock-client`
//! crate; nothing here opens a socket.

pub mod frame;
pub mod paths;
pub mod protocol;
pub mod rules_page;

pub use frame::{
    decode, encode, read_frame, read_message, write_frame, FrameDecoder, FrameError, MAX_FRAME_LEN,
};
pub use paths::{default_socket_path, resolve_socket_path, socket_path_from_env, SOCKET_ENV};
pub use protocol::{
    check_hello, ErrorCode, IpcError, OptionName, Outcome, Request, RequestBody, ResponseBody,
    ServerMessage, PROTOCOL_VERSION, UNKNOWN_REQUEST_ID,
};
