//! The Unix-socket server: handshake, authorization, limits, and the
//! `Subscribe` stream. It holds no state of its own: every request goes to
//! the engine thread and the answer comes back on a oneshot channel;
//! status events come from a `watch` channel the engine thread updates.
//!
//! One bad client must not stall or crash the helper: each connection is
//! its own task, reads and writes have deadlines, frames are capped at
//! 64 KiB before anything is buffered, and the number of connections is
//! bounded.

use std::sync::Arc;
use std::time::Duration;

use airlock_shared::ipc::frame::{self, FrameDecoder, FrameError};
use airlock_shared::ipc::protocol::{
    check_hello, ErrorCode, IpcError, Request, RequestBody, ResponseBody, ServerMessage,
    PROTOCOL_VERSION, UNKNOWN_REQUEST_ID,
};
use airlock_shared::status::Status;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{oneshot, watch, Semaphore};

use crate::auth::{self, Peer};
use crate::client_signature::{self, SigningPolicy};
use crate::inbox::{Job, Msg};

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// Time allowed for the first request (hello) to arrive.
    pub handshake: Duration,
    /// An unsubscribed connection with no request for this long is closed.
    pub idle: Duration,
    /// A frame started must be finished within this time.
    pub read: Duration,
    /// A client that does not read its answers for this long is dropped.
    pub write: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            handshake: Duration::from_secs(5),
            idle: Duration::from_secs(300),
            read: Duration::from_secs(5),
            write: Duration::from_secs(5),
        }
    }
}

/// What every connection task shares.
pub struct Shared {
    pub jobs: std::sync::mpsc::Sender<Msg>,
    pub status: watch::Receiver<Status>,
    pub admin_group: String,
    pub admin_gid: Option<u32>,
    /// Whether changes also need a code-signed client (macOS).
    pub signing: SigningPolicy,
    pub limits: Limits,
    pub server_name: String,
}

/// Accepts connections until the listener fails or the task is dropped.
pub async fn serve(listener: UnixListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(e) = connection(stream, &shared).await {
                        log_conn_end(&e);
                    }
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let busy = IpcError::new(
                        ErrorCode::Busy,
                        "too many connections to the helper; try again shortly",
                    );
                    let _ = send(
                        &mut stream,
                        &ServerMessage::err(UNKNOWN_REQUEST_ID, busy),
                        &shared.limits,
                    )
                    .await;
                });
            }
        }
    }
}

/// Why a connection ended; only unusual endings are logged.
#[derive(Debug)]
enum End {
    Closed,
    Io(std::io::Error),
    Frame(FrameError),
    Timeout(&'static str),
    Refused(String),
}

fn log_conn_end(e: &End) {
    match e {
        End::Closed => {}
        End::Io(e) => tracing::debug!("connection error: {e}"),
        End::Frame(e) => tracing::warn!("dropped a client that sent a bad frame: {e}"),
        End::Timeout(what) => tracing::info!("dropped a client: {what} timed out"),
        End::Refused(why) => tracing::warn!("refused a client: {why}"),
    }
}

async fn connection(mut stream: UnixStream, shared: &Shared) -> Result<(), End> {
    let peer = auth::peer_of(&stream).map_err(|e| End::Refused(e.to_string()))?;
    let limits = &shared.limits;
    let mut reader = Reader::default();

    // Handshake: the first request must be hello with our version.
    let first = match reader.next(&mut stream, limits, limits.handshake).await? {
        Incoming::Request(r) => r,
        Incoming::Garbage(err) => {
            send(
                &mut stream,
                &ServerMessage::err(UNKNOWN_REQUEST_ID, err),
                limits,
            )
            .await?;
            return Err(End::Refused("bad first message".into()));
        }
    };
    if let Err(err) = check_hello(&first.body) {
        send(
            &mut stream,
            &ServerMessage::err(first.id, err.clone()),
            limits,
        )
        .await?;
        return Err(End::Refused(err.message));
    }
    let hello = ResponseBody::Hello {
        version: PROTOCOL_VERSION,
        server: shared.server_name.clone(),
    };
    send(&mut stream, &ServerMessage::ok(first.id, hello), limits).await?;

    let mut status_rx = shared.status.clone();
    let mut subscribed = false;
    loop {
        let idle = if subscribed { None } else { Some(limits.idle) };
        tokio::select! {
            incoming = reader.next_opt(&mut stream, limits, idle) => {
                let request = match incoming? {
                    Incoming::Request(r) => r,
                    Incoming::Garbage(err) => {
                        send(&mut stream, &ServerMessage::err(UNKNOWN_REQUEST_ID, err), limits).await?;
                        continue;
                    }
                };
                if let RequestBody::Subscribe = request.body {
                    subscribed = true;
                    let now = status_rx.borrow_and_update().clone();
                    send(&mut stream, &ServerMessage::ok(request.id, ResponseBody::Subscribed(now)), limits).await?;
                    continue;
                }
                let reply = answer(request.body, &peer, shared).await;
                send(&mut stream, &ServerMessage::Response { id: request.id, result: reply.into() }, limits).await?;
            }
            changed = status_rx.changed(), if subscribed => {
                if changed.is_err() {
                    return Err(End::Closed); // the engine is shutting down
                }
                let status = status_rx.borrow_and_update().clone();
                send(&mut stream, &ServerMessage::Event { status }, limits).await?;
            }
        }
    }
}

/// Authorizes and forwards one request to the engine.
async fn answer(body: RequestBody, peer: &Peer, shared: &Shared) -> Result<ResponseBody, IpcError> {
    if let RequestBody::Hello { .. } = body {
        return Err(IpcError::new(
            ErrorCode::BadRequest,
            "hello was already exchanged on this connection",
        ));
    }
    if body.is_mutating() && !auth::may_change(peer, shared.admin_gid) {
        return Err(IpcError::new(
            ErrorCode::NotAuthorized,
            auth::refusal(peer, &shared.admin_group),
        ));
    }
    // Checked per request, not once per connection: the audit token
    // names the process generation, so a signed client that connected
    // and then exec'd something else fails here.
    client_signature::authorize(&shared.signing, body.is_mutating(), peer.uid, |req| {
        client_signature::check_peer(&peer.code, req, auth::verify_code)
    })
    .map_err(|why| IpcError::new(ErrorCode::NotAuthorized, format!("not authorized: {why}")))?;
    if let RequestBody::Resolve { host } = &body {
        return resolve(host, shared).await;
    }
    let (tx, rx) = oneshot::channel();
    shared
        .jobs
        .send(Msg::Request(Job { body, reply: tx }))
        .map_err(|_| IpcError::new(ErrorCode::Internal, "the helper is shutting down"))?;
    rx.await.unwrap_or_else(|_| {
        Err(IpcError::new(
            ErrorCode::Internal,
            "the helper is shutting down",
        ))
    })
}

/// `Resolve` is answered here, not by the engine thread: a lookup waits
/// on the network for up to seconds and the engine must not. Whether the
/// helper is blocking and which resolvers the network named come from the
/// engine's last status.
async fn resolve(host: &str, shared: &Shared) -> Result<ResponseBody, IpcError> {
    let (blocking, upstreams) = shared
        .status
        .borrow()
        .resolver
        .as_ref()
        .map(|r| (r.active, r.upstreams.clone()))
        .unwrap_or_default();
    let config = crate::resolver::Config::default();
    crate::resolver::resolve_host(host, blocking, &upstreams, &config)
        .await
        .map(ResponseBody::Addresses)
        .map_err(|e| IpcError::new(ErrorCode::Unresolved, e))
}

enum Incoming {
    Request(Request),
    /// A well-framed message that is not a valid request: answered with
    /// this error, the connection goes on.
    Garbage(IpcError),
}

#[derive(Default)]
struct Reader {
    decoder: FrameDecoder,
    buf: Vec<u8>,
}

impl Reader {
    async fn next(
        &mut self,
        s: &mut UnixStream,
        limits: &Limits,
        wait: Duration,
    ) -> Result<Incoming, End> {
        self.next_opt(s, limits, Some(wait)).await
    }

    /// The next frame. `wait` bounds the time until its first byte (None:
    /// forever, for subscribers); once a frame has started it must finish
    /// within `limits.read`.
    async fn next_opt(
        &mut self,
        s: &mut UnixStream,
        limits: &Limits,
        wait: Option<Duration>,
    ) -> Result<Incoming, End> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; 8192];
        }
        loop {
            match self.decoder.next_frame() {
                Ok(Some(payload)) => {
                    return Ok(match frame::decode::<Request>(&payload) {
                        Ok(r) => Incoming::Request(r),
                        Err(e) => Incoming::Garbage(IpcError::new(
                            ErrorCode::BadRequest,
                            format!("not a valid request: {e}"),
                        )),
                    });
                }
                Ok(None) => {}
                Err(e) => return Err(self.fatal(s, e, limits).await),
            }
            let deadline = if self.decoder.is_idle() {
                wait
            } else {
                Some(limits.read)
            };
            let read = s.read(&mut self.buf);
            let n = match deadline {
                Some(d) => tokio::time::timeout(d, read).await.map_err(|_| {
                    End::Timeout(if self.decoder.is_idle() {
                        "waiting for a request"
                    } else {
                        "reading a frame"
                    })
                })?,
                None => read.await,
            }
            .map_err(End::Io)?;
            if n == 0 {
                return match self.decoder.finish() {
                    Ok(()) => Err(End::Closed),
                    Err(e) => Err(End::Frame(e)),
                };
            }
            if let Err(e) = self.decoder.push(&self.buf[..n]) {
                return Err(self.fatal(s, e, limits).await);
            }
        }
    }

    /// A framing error: the stream cannot be trusted any more. Say why,
    /// then close.
    async fn fatal(&mut self, s: &mut UnixStream, e: FrameError, limits: &Limits) -> End {
        let code = match e {
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            _ => ErrorCode::BadRequest,
        };
        let msg = ServerMessage::err(UNKNOWN_REQUEST_ID, IpcError::new(code, e.to_string()));
        let _ = send(s, &msg, limits).await;
        End::Frame(e)
    }
}

async fn send(s: &mut UnixStream, msg: &ServerMessage, limits: &Limits) -> Result<(), End> {
    let bytes = match frame::encode(msg) {
        Ok(b) => b,
        Err(e) => {
            // Our own message too big (e.g. a huge ruleset): say so instead.
            let err = IpcError::new(
                ErrorCode::Internal,
                format!("the answer does not fit in a frame: {e}"),
            );
            let id = match msg {
                ServerMessage::Response { id, .. } => *id,
                ServerMessage::Event { .. } => UNKNOWN_REQUEST_ID,
            };
            frame::encode(&ServerMessage::err(id, err)).map_err(End::Frame)?
        }
    };
    tokio::time::timeout(limits.write, s.write_all(&bytes))
        .await
        .map_err(|_| End::Timeout("writing an answer"))?
        .map_err(End::Io)
}
