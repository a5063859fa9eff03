//! The blocking connection to the helper: requests, pages, subscriptions.
//!
//! One request at a time; ids tell answers apart from stragglers. Reads go
//! through a [`FrameDecoder`], so a read that times out mid-frame keeps
//! the bytes it got and the next read carries on where it stopped.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use airlock_shared::ipc::frame::{decode, encode, FrameDecoder};
use airlock_shared::ipc::protocol::{
    ErrorCode, Outcome, Request, RequestBody, ResponseBody, ServerMessage, PROTOCOL_VERSION,
    UNKNOWN_REQUEST_ID,
};
use airlock_shared::ipc::rules_page;
use airlock_shared::status::Status;

use crate::error::{io_error, protocol, unexpected, ClientError};

/// How many times [`Client::rules`] reads the ruleset from the start
/// before giving up on one that keeps changing under it.
pub const MAX_RULES_ATTEMPTS: u32 = 3;

/// The largest ruleset [`Client::rules`] assembles (64 MiB, about two
/// million endpoints). Like the frame limit, it bounds what a confused
/// or hostile helper can make a client buffer.
pub const MAX_RULES_LEN: u64 = 64 * 1024 * 1024;

/// How long to wait, and what to call ourselves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Bounds connecting plus the hello exchange.
    pub connect_timeout: Duration,
    /// Bounds each request from send to answer; `None` waits forever.
    /// Changes wait for the rules to be in the kernel, so allow seconds.
    pub request_timeout: Option<Duration>,
    /// Sent in `Hello` for the helper's log.
    pub client_name: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Some(Duration::from_secs(15)),
            client_name: format!("airlock-client {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A connection that has completed the handshake.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    next_id: u64,
    server: String,
    request_timeout: Option<Duration>,
}

impl Client {
    /// Connects with default options.
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_with(path, &ClientOptions::default())
    }

    /// Connects and performs the `Hello` handshake, so a version mismatch
    /// shows up here and not as a puzzling error on the first request.
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: &ClientOptions,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref();
        let deadline = Deadline::after(options.connect_timeout);
        let stream = connect_stream(path, options.connect_timeout)?;
        let mut client = Client {
            conn: Connection::new(stream),
            next_id: 1,
            server: String::new(),
            request_timeout: options.request_timeout,
        };
        let hello = RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: options.client_name.clone(),
        };
        match client.exchange(hello, Some(deadline)) {
            Ok(ResponseBody::Hello { version, server }) if version == PROTOCOL_VERSION => {
                client.server = server;
                Ok(client)
            }
            Ok(ResponseBody::Hello { version, server }) => {
                Err(ClientError::VersionMismatch(format!(
                    "this client speaks protocol {PROTOCOL_VERSION}, {server} speaks {version}"
                )))
            }
            Ok(other) => Err(unexpected("hello", &other)),
            Err(ClientError::Remote(e)) if e.code == ErrorCode::VersionMismatch => {
                Err(ClientError::VersionMismatch(e.message))
            }
            Err(e) => Err(e),
        }
    }

    /// The helper's name and version from the handshake.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one request and waits for its answer; status events that
    /// arrive meanwhile are skipped.
    pub fn request(&mut self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        let deadline = self.request_timeout.map(Deadline::after);
        self.exchange(body, deadline)
    }

    /// The whole loaded ruleset, read page by page (`GetRules` from offset
    /// 0, then from the end of each page). Every page must be where it
    /// was asked for and describe the same ruleset (length and digest);
    /// the assembled text must have that length and digest. If the
    /// ruleset changed between pages (another length or digest, or the
    /// next offset refused because the rules got shorter), starts over, at most
    /// [`MAX_RULES_ATTEMPTS`] times in all. A helper whose pages do not
    /// add up is a protocol error, never a wrong text.
    pub fn rules(&mut self) -> Result<LoadedRules, ClientError> {
        for _ in 0..MAX_RULES_ATTEMPTS {
            if let Some(rules) = self.rules_once()? {
                return Ok(rules);
            }
        }
        Err(ClientError::RulesKeptChanging {
            attempts: MAX_RULES_ATTEMPTS,
        })
    }

    /// One pass over the pages; `None` when the ruleset changed meanwhile.
    fn rules_once(&mut self) -> Result<Option<LoadedRules>, ClientError> {
        // (backend, total, digest) as the first page described them.
        let mut first: Option<(String, u64, String)> = None;
        let mut text = String::new();
        let mut pages = 0;
        loop {
            let asked = text.len() as u64;
            let (backend, page, offset, total, digest) =
                match self.request(RequestBody::GetRules { offset: asked }) {
                    // Rules that got shorter (or moved a multibyte char) since
                    // the previous page have no page where it ended: the
                    // helper refuses the offset. Only a change does that to
                    // offsets taken from its own pages, so start over.
                    Err(ClientError::Remote(e)) if asked > 0 && e.code == ErrorCode::BadRequest => {
                        return Ok(None)
                    }
                    Err(e) => return Err(e),
                    Ok(ResponseBody::Rules {
                        backend,
                        text,
                        offset,
                        total,
                        digest,
                    }) => (backend, text, offset, total, digest),
                    Ok(other) => return Err(unexpected("rules", &other)),
                };
            pages += 1;
            if offset != asked {
                return Err(ClientError::Protocol(format!(
                    "asked for the rules from byte {asked}, got a page from byte {offset}"
                )));
            }
            match &first {
                None if total > MAX_RULES_LEN => {
                    return Err(ClientError::Protocol(format!(
                        "the helper offers {total} bytes of rules, more than the \
                         {MAX_RULES_LEN}-byte limit"
                    )))
                }
                None => first = Some((backend, total, digest)),
                Some((b, t, d)) if *b != backend || *t != total || *d != digest => {
                    return Ok(None);
                }
                Some(_) => {}
            }
            let end = asked + page.len() as u64;
            if end > total || (page.is_empty() && end < total) {
                return Err(ClientError::Protocol(format!(
                    "a page of {} bytes at byte {asked} does not fit rules of {total} bytes",
                    page.len()
                )));
            }
            text.push_str(&page);
            if end == total {
                break;
            }
        }
        let Some((backend, _, digest)) = first else {
            return Err(ClientError::Protocol("no page of the rules".into()));
        };
        if rules_page::digest(&text) != digest {
            return Err(ClientError::Protocol(format!(
                "the pages of the rules do not add up: their digest is {}, the helper's {digest}",
                rules_page::digest(&text)
            )));
        }
        Ok(Some(LoadedRules {
            backend,
            text,
            pages,
        }))
    }

    /// Turns this connection into a status stream: the current status now,
    /// then one event per change.
    pub fn subscribe(mut self) -> Result<(Status, Subscription), ClientError> {
        match self.request(RequestBody::Subscribe)? {
            ResponseBody::Subscribed(status) => Ok((
                status,
                Subscription {
                    conn: self.conn,
                    timeout: None,
                    done: false,
                },
            )),
            other => Err(unexpected("subscribed", &other)),
        }
    }

    fn exchange(
        &mut self,
        body: RequestBody,
        deadline: Option<Deadline>,
    ) -> Result<ResponseBody, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.conn.send(&Request { id, body }, deadline)?;
        loop {
            let Some(message) = self.conn.receive(deadline)? else {
                return Err(ClientError::Disconnected);
            };
            match message {
                ServerMessage::Event { .. } => continue,
                ServerMessage::Response { id: got, result } if got == id => {
                    return Result::from(result).map_err(ClientError::Remote);
                }
                ServerMessage::Response {
                    id: UNKNOWN_REQUEST_ID,
                    result: Outcome::Err(e),
                } => return Err(ClientError::Remote(e)),
                // The answer to an earlier request we gave up waiting for.
                ServerMessage::Response { id: got, .. } if got < id => continue,
                ServerMessage::Response { id: got, .. } => {
                    return Err(ClientError::Protocol(format!(
                        "answer to request {got} while waiting for {id}"
                    )))
                }
            }
        }
    }
}

/// The loaded ruleset as [`Client::rules`] assembled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRules {
    /// `nft` or `pf`.
    pub backend: String,
    /// The full text, checked against the helper's length and digest.
    pub text: String,
    /// How many pages the successful pass took (for tests and logs).
    pub pages: usize,
}

/// Status events after [`Client::subscribe`]. Iteration ends when the
/// helper closes the connection, and after any error but a timeout.
#[derive(Debug)]
pub struct Subscription {
    conn: Connection,
    timeout: Option<Duration>,
    done: bool,
}

impl Subscription {
    /// Bounds the wait for each event (`None`, the default, blocks): a
    /// tray app uses it to notice a helper that hangs without closing.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The next status, or `None` when the helper closed the stream.
    pub fn next_event(&mut self) -> Result<Option<Status>, ClientError> {
        let deadline = self.timeout.map(Deadline::after);
        loop {
            match self.conn.receive(deadline)? {
                None => return Ok(None),
                Some(ServerMessage::Event { status }) => return Ok(Some(status)),
                Some(ServerMessage::Response {
                    result: Outcome::Err(e),
                    ..
                }) => return Err(ClientError::Remote(e)),
                // A late answer to a request made before subscribing.
                Some(ServerMessage::Response { .. }) => continue,
            }
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<Status, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_event() {
            Ok(Some(s)) => Some(Ok(s)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = !matches!(e, ClientError::Timeout { .. });
                Some(Err(e))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    after: Duration,
}

impl Deadline {
    /// `after` comes from the caller's options; `Instant + Duration::MAX`
    /// would panic, so a deadline past ~136 years is held at that.
    fn after(after: Duration) -> Self {
        let far = Duration::from_secs(u64::from(u32::MAX));
        Deadline {
            at: Instant::now() + after.min(far),
            after,
        }
    }

    /// Time left, or the timeout error once there is none.
    fn remaining(self) -> Result<Duration, ClientError> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(ClientError::Timeout { after: self.after })
        } else {
            Ok(left)
        }
    }
}

/// The socket plus whatever part of the next frame has arrived.
#[derive(Debug)]
struct Connection {
    stream: UnixStream,
    decoder: FrameDecoder,
    buf: Vec<u8>,
}

impl Connection {
    fn new(stream: UnixStream) -> Self {
        Connection {
            stream,
            decoder: FrameDecoder::new(),
            buf: vec![0; 16 * 1024],
        }
    }

    fn send(&mut self, request: &Request, deadline: Option<Deadline>) -> Result<(), ClientError> {
        let frame = encode(request).map_err(protocol)?;
        let timeout = deadline.map(Deadline::remaining).transpose()?;
        self.stream.set_write_timeout(timeout).map_err(io_error)?;
        self.stream
            .write_all(&frame)
            .map_err(|e| timeout_or_io(e, deadline))
    }

    /// The next message, or `None` at a clean end of stream.
    fn receive(
        &mut self,
        deadline: Option<Deadline>,
    ) -> Result<Option<ServerMessage>, ClientError> {
        loop {
            if let Some(payload) = self.decoder.next_frame().map_err(protocol)? {
                return decode(&payload).map(Some).map_err(protocol);
            }
            let timeout = deadline.map(Deadline::remaining).transpose()?;
            self.stream.set_read_timeout(timeout).map_err(io_error)?;
            match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    return match self.decoder.finish() {
                        Ok(()) => Ok(None),
                        Err(e) => Err(protocol(e)),
                    }
                }
                Ok(n) => self.decoder.push(&self.buf[..n]).map_err(protocol)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timeout_or_io(e, deadline)),
            }
        }
    }
}

/// `UnixStream::connect` with a bound: on Linux a connect to a helper
/// whose accept backlog is full sleeps until there is room, for as long
/// as `SO_SNDTIMEO` allows, so that option is set before connecting.
/// (macOS refuses such a connect at once instead.)
fn connect_stream(path: &Path, timeout: Duration) -> Result<UnixStream, ClientError> {
    use nix::sys::socket::{self, sockopt, AddressFamily, SockType, UnixAddr};
    use nix::sys::time::{TimeVal, TimeValLike};
    use std::os::fd::AsRawFd;

    let fail = |errno: nix::errno::Errno| ClientError::Connect {
        path: path.to_path_buf(),
        source: io::Error::from(errno),
    };
    let addr = UnixAddr::new(path).map_err(fail)?;
    let fd =
        socket::socket(AddressFamily::Unix, SockType::Stream, cloexec(), None).map_err(fail)?;
    #[cfg(not(target_os = "linux"))]
    {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(fail)?;
    }
    // Zero would mean "no timeout" to the kernel.
    let millis = i64::try_from(timeout.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    socket::setsockopt(&fd, sockopt::SendTimeout, &TimeVal::milliseconds(millis)).map_err(fail)?;
    match socket::connect(fd.as_raw_fd(), &addr) {
        Ok(()) => Ok(UnixStream::from(fd)),
        // What Linux returns when SO_SNDTIMEO ran out waiting for room.
        Err(nix::errno::Errno::EAGAIN) => Err(ClientError::Timeout { after: timeout }),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(target_os = "linux")]
fn cloexec() -> nix::sys::socket::SockFlag {
    nix::sys::socket::SockFlag::SOCK_CLOEXEC
}

#[cfg(not(target_os = "linux"))]
fn cloexec() -> nix::sys::socket::SockFlag {
    nix::sys::socket::SockFlag::empty()
}

/// Socket timeouts surface as `WouldBlock` on Unix (`TimedOut` elsewhere).
fn timeout_or_io(e: io::Error, deadline: Option<Deadline>) -> ClientError {
    match (e.kind(), deadline) {
        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, Some(d)) => {
            ClientError::Timeout { after: d.after }
        }
        _ => io_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_timeout_is_a_far_deadline_not_a_panic() {
        let d = Deadline::after(Duration::MAX);
        assert!(d.remaining().expect("time left") > Duration::from_secs(1 << 31));
        assert!(matches!(
            Deadline::after(Duration::ZERO).remaining(),
            Err(ClientError::Timeout { .. })
        ));
    }
}
