//! A stand-in for `airlockd` on a Unix socket, speaking the real protocol:
//! the frames of `airlock_shared::ipc::frame`, the handshake rule
//! ([`check_hello`]) and the rules pages ([`rules_page::response`]).
//!
//! Two ways to run it:
//! - [`FakeHelper`] serves every connection the way the helper would, from
//!   a status the test sets: the handshake, subscriptions (each
//!   [`FakeHelper::set`] is pushed to the subscribers), reads, and changes
//!   answered with `Done(status)`. Any answer can be scripted
//!   ([`FakeHelper::answer_with`]); every request is recorded.
//! - [`ScriptedHelper`] hands one connection to a closure that reads and
//!   writes frames itself (late answers, cut frames, silence), with
//!   [`recv`], [`send`] and [`accept_hello`] as its vocabulary.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use airlock_shared::ipc::frame::{read_message, write_frame};
use airlock_shared::ipc::protocol::{
    check_hello, ErrorCode, IpcError, OptionName, Outcome, Request, RequestBody, ResponseBody,
    ServerMessage, PROTOCOL_VERSION,
};
use airlock_shared::ipc::rules_page;
use airlock_shared::status::{KillSwitch, Status, TunnelState};

use crate::clock::now;
use crate::status::StatusBuilder;

/// What the fake helper calls itself in its `Hello` (name and version,
/// like the real `airlockd 0.1.0`).
pub const SERVER_NAME: &str = "fake-airlockd 0.0.0";

/// The ruleset a [`FakeHelper`] serves unless told otherwise.
pub const DEFAULT_RULES: &str = "table inet airlock {\n}\n";

/// Something with a folder of its own, where [`FakeHelper::beside`] puts
/// the socket.
pub trait PrivateDir {
    fn private_dir(&self) -> &Path;
}

/// A scripted answer: `Some` answers the request, `None` leaves it to the
/// fake's own answer. Never asked about `Hello` or `Subscribe`.
pub type Answer = dyn Fn(&RequestBody) -> Option<Outcome> + Send + Sync;

struct State {
    status: Status,
    tunnel_up: bool,
    subscribers: Vec<UnixStream>,
    /// Every request but the handshake, in arrival order.
    requests: Vec<RequestBody>,
    /// The `client` field of each `Hello`.
    hellos: Vec<String>,
    /// When each answer to a change was written (for the latency bench).
    replied: Vec<(RequestBody, Instant)>,
    refuse: Option<IpcError>,
    /// Simulates a stopped helper: connections are closed at once.
    down: bool,
    answer: Option<Arc<Answer>>,
    rules: String,
}

/// The helper stand-in for programs. Clones share one helper.
#[derive(Clone)]
pub struct FakeHelper {
    state: Arc<Mutex<State>>,
    pub socket: PathBuf,
    /// The folder holding `socket`, when the fake made it.
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl FakeHelper {
    /// Serves on `socket` (which must not exist yet), answering `initial`
    /// until told otherwise. Serves until the test process ends.
    pub fn start(socket: &Path, initial: Status) -> FakeHelper {
        let listener = UnixListener::bind(socket).expect("bind fake helper socket");
        let state = Arc::new(Mutex::new(State {
            tunnel_up: initial.tunnel.state == TunnelState::Up,
            status: initial,
            subscribers: Vec::new(),
            requests: Vec::new(),
            hellos: Vec::new(),
            replied: Vec::new(),
            refuse: None,
            down: false,
            answer: None,
            rules: DEFAULT_RULES.into(),
        }));
        let s = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                thread::spawn(move || serve(stream, &s));
            }
        });
        FakeHelper {
            state,
            socket: socket.to_path_buf(),
            _dir: None,
        }
    }

    /// Serves on `airlock.sock` in `place`'s private folder (a UI test's
    /// desktop, say).
    pub fn beside(place: &impl PrivateDir, initial: Status) -> FakeHelper {
        FakeHelper::start(&place.private_dir().join("airlock.sock"), initial)
    }

    /// Serves on `airlock.sock` in a temp folder of its own, removed when
    /// the last clone is dropped.
    pub fn in_temp_dir(initial: Status) -> FakeHelper {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fake = FakeHelper::start(&dir.path().join("airlock.sock"), initial);
        fake._dir = Some(Arc::new(dir));
        fake
    }

    /// Scripts answers: `answer` is asked first about every request but
    /// `Hello` and `Subscribe`.
    pub fn answer_with(
        self,
        answer: impl Fn(&RequestBody) -> Option<Outcome> + Send + Sync + 'static,
    ) -> Self {
        self.lock().answer = Some(Arc::new(answer));
        self
    }

    /// The ruleset `GetRules` pages through.
    pub fn set_rules(&self, text: &str) {
        self.lock().rules = text.into();
    }

    /// Changes the status and pushes it to every subscriber.
    pub fn set(&self, status: Status) {
        let mut st = self.lock();
        st.tunnel_up = status.tunnel.state == TunnelState::Up;
        st.status = status;
        broadcast(&mut st);
    }

    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Every request but the handshake, in arrival order.
    pub fn requests(&self) -> Vec<RequestBody> {
        self.lock().requests.clone()
    }

    /// The client name of each handshake.
    pub fn hellos(&self) -> Vec<String> {
        self.lock().hellos.clone()
    }

    /// Each change request and when its answer was written.
    pub fn replies(&self) -> Vec<(RequestBody, Instant)> {
        self.lock().replied.clone()
    }

    /// Refuses every change with `error` (or accepts them again: `None`).
    pub fn refuse_changes(&self, error: Option<IpcError>) {
        self.lock().refuse = error;
    }

    /// Ends every subscription (the helper closed the status stream).
    pub fn end_subscriptions(&self) {
        for s in self.lock().subscribers.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Stops answering (closes every connection), like a stopped helper.
    pub fn stop(&self) {
        self.lock().down = true;
        self.end_subscriptions();
    }

    pub fn restart(&self) {
        self.lock().down = false;
    }

    pub fn subscribers(&self) -> usize {
        self.lock().subscribers.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test thread that panicked holding the lock left sound data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn broadcast(st: &mut State) {
    let event = ServerMessage::Event {
        status: st.status.clone(),
    };
    st.subscribers
        .retain_mut(|s| write_frame(s, &event).is_ok());
}

fn serve(stream: UnixStream, state: &Mutex<State>) {
    let Ok(mut reader) = stream.try_clone() else {
        return;
    };
    let mut writer = stream;
    let mut greeted = false;
    loop {
        let req: Request = match read_message(&mut reader) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        if st.down {
            return;
        }
        // The real rule: the first request on a connection is a hello of
        // this protocol version, or the connection ends with the error.
        if !greeted {
            if let Err(e) = check_hello(&req.body) {
                let _ = write_frame(&mut writer, &ServerMessage::err(req.id, e));
                return;
            }
            greeted = true;
        }
        if let RequestBody::Hello { client, .. } = &req.body {
            st.hellos.push(client.clone());
        } else {
            st.requests.push(req.body.clone());
        }
        let scripted = match &req.body {
            RequestBody::Hello { .. } | RequestBody::Subscribe => None,
            body => st.answer.clone().and_then(|a| a(body)),
        };
        let reply = match scripted {
            Some(result) => ServerMessage::Response { id: req.id, result },
            None => answer(&mut st, &req, &writer),
        };
        drop(st);
        if write_frame(&mut writer, &reply).is_err() {
            return;
        }
        if req.body.is_mutating() {
            let at = Instant::now();
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.replied.push((req.body, at));
        }
    }
}

/// The fake's own answer, as the helper would give it.
fn answer(st: &mut State, req: &Request, writer: &UnixStream) -> ServerMessage {
    let current = st.status.clone();
    // A change answers with what the helper would then report: the app's
    // sample for the new kill switch (a pause ending in five minutes),
    // healthy, the options kept; subscribers see it too.
    let change = |st: &mut State, ks: KillSwitch, f: &dyn Fn(&mut Status)| {
        let mut s = StatusBuilder::app(ks, st.tunnel_up, true, now() + 300)
            .options(current.options.clone())
            .build();
        f(&mut s);
        st.status = s.clone();
        broadcast(st);
        ServerMessage::ok(req.id, ResponseBody::Done(s))
    };
    match (&req.body, st.refuse.clone()) {
        (RequestBody::Hello { .. }, _) => ServerMessage::ok(
            req.id,
            ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                server: SERVER_NAME.into(),
            },
        ),
        (RequestBody::Subscribe, _) => {
            if let Ok(s) = writer.try_clone() {
                st.subscribers.push(s);
            }
            ServerMessage::ok(req.id, ResponseBody::Subscribed(current))
        }
        (RequestBody::GetStatus, _) => ServerMessage::ok(req.id, ResponseBody::Status(current)),
        (RequestBody::GetRules { offset }, _) => {
            match rules_page::response("nft", &st.rules, *offset) {
                Ok(body) => ServerMessage::ok(req.id, body),
                Err(e) => ServerMessage::err(req.id, e.into()),
            }
        }
        // A helper reading the log with nothing blocked (script an
        // answer for more).
        (RequestBody::GetBlocked, _) => ServerMessage::ok(
            req.id,
            ResponseBody::Blocked(airlock_shared::blocked::BlockedReport {
                reading: true,
                ..Default::default()
            }),
        ),
        (b, Some(e)) if b.is_mutating() => ServerMessage::err(req.id, e),
        (RequestBody::Enable | RequestBody::Resume, None) => change(st, KillSwitch::On, &|_| {}),
        (RequestBody::Disable, None) => change(st, KillSwitch::Off, &|_| {}),
        (RequestBody::Pause { .. }, None) => change(st, KillSwitch::Paused, &|_| {}),
        (RequestBody::SetOption { option, value }, None) => {
            let (option, value) = (*option, *value);
            let ks = current.kill_switch;
            change(st, ks, &|s| match option {
                OptionName::AllowLan => s.options.allow_lan = value,
                OptionName::AllowAirdrop => s.options.allow_airdrop = value,
                OptionName::AllowAirprint => s.options.allow_airprint = value,
                OptionName::AllowDns => s.options.allow_dns = value,
                OptionName::VpnRootOnly => s.options.vpn_root_only = value,
                // Not in the status's options: nothing for a client to see.
                OptionName::PfRestoreHook => {}
            })
        }
        _ => ServerMessage::err(
            req.id,
            IpcError::new(ErrorCode::BadRequest, "not in the fake helper"),
        ),
    }
}

/// A fake helper for one connection, run by a script on its own thread.
pub struct ScriptedHelper {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedHelper {
    /// Listens on a socket in a temp folder; the first connection is
    /// handed to `script`.
    pub fn start(script: impl FnOnce(UnixStream) + Send + 'static) -> ScriptedHelper {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("airlock.sock");
        let listener = UnixListener::bind(&path).expect("bind scripted helper socket");
        let thread = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            script(stream);
        });
        ScriptedHelper {
            _dir: dir,
            path,
            thread: Some(thread),
        }
    }

    /// Joins the script's thread, so its assertions count.
    pub fn finish(mut self) {
        if let Some(t) = self.thread.take() {
            t.join().expect("fake helper panicked");
        }
    }
}

/// The next request; panics if the client hung up.
pub fn recv(s: &mut UnixStream) -> Request {
    read_message(s)
        .expect("a well-formed request")
        .expect("client closed early")
}

pub fn send(s: &mut UnixStream, m: &ServerMessage) {
    write_frame(s, m).expect("write a frame");
}

/// The helper's half of the handshake, by the real rule; returns the
/// hello's request id.
pub fn accept_hello(s: &mut UnixStream) -> u64 {
    let req = recv(s);
    check_hello(&req.body).expect("client sent a valid hello");
    send(
        s,
        &ServerMessage::ok(
            req.id,
            ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                server: SERVER_NAME.into(),
            },
        ),
    );
    req.id
}
