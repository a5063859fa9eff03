//! What the engine thread receives: its only input. The socket server,
//! the network monitor and the tamper watchdog each send these; keeping
//! them here, apart from `daemon` (which owns the thread) and `server`,
//! means none of those imports another.

use airlock_shared::ipc::protocol::{IpcError, RequestBody, ResponseBody};
use tokio::sync::oneshot;

/// Messages to the engine thread.
pub enum Msg {
    Request(Job),
    /// The kernel reported a link/address/route change.
    Network,
    /// The firewall may have been changed by someone else.
    CheckFirewall,
    Shutdown,
}

/// A client's request on its way to the engine thread, with where the
/// answer goes.
pub struct Job {
    pub body: RequestBody,
    pub reply: oneshot::Sender<Result<ResponseBody, IpcError>>,
}
