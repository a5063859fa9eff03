//! Enough of `airlockd` for the app, on a temp socket: handshake,
//! subscribe + events, and the changes the menu makes, each answered with
//! `Done(status)`. The test sets the status it serves and reads back the
//! requests it got.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use airlock_shared::ipc::frame::{read_message, write_frame};
use airlock_shared::ipc::protocol::{
    ErrorCode, IpcError, OptionName, Request, RequestBody, ResponseBody, ServerMessage,
    PROTOCOL_VERSION,
};
use airlock_shared::status::{KillSwitch, Status, TunnelState};

use super::{status, Desktop};

#[derive(Default)]
struct FakeState {
    status: Option<Status>,
    tunnel_up: bool,
    subscribers: Vec<UnixStream>,
    requests: Vec<RequestBody>,
    /// When each answer to a change was written (for the latency bench).
    replied: Vec<(RequestBody, Instant)>,
    refuse: Option<IpcError>,
    /// Simulates a stopped helper: connections are closed at once.
    down: bool,
}

#[derive(Clone)]
pub struct FakeHelper {
    state: Arc<Mutex<FakeState>>,
    pub socket: PathBuf,
}

impl FakeHelper {
    /// Starts one on `airlock.sock` in the desktop's private folder.
    pub fn beside(desktop: &Desktop, initial: Status) -> FakeHelper {
        FakeHelper::start(&desktop.dir.path().join("airlock.sock"), initial)
    }

    pub fn start(socket: &Path, initial: Status) -> FakeHelper {
        let listener = UnixListener::bind(socket).expect("bind fake helper socket");
        let state = Arc::new(Mutex::new(FakeState {
            tunnel_up: initial.tunnel.state == TunnelState::Up,
            status: Some(initial),
            ..FakeState::default()
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
        }
    }

    /// Changes the status and pushes it to every subscriber.
    pub fn set(&self, status: Status) {
        let mut st = self.state.lock().unwrap();
        st.tunnel_up = status.tunnel.state == TunnelState::Up;
        st.status = Some(status);
        broadcast(&mut st);
    }

    pub fn status(&self) -> Status {
        self.state.lock().unwrap().status.clone().unwrap()
    }

    pub fn requests(&self) -> Vec<RequestBody> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Each change request and when its answer was written.
    pub fn replies(&self) -> Vec<(RequestBody, Instant)> {
        self.state.lock().unwrap().replied.clone()
    }

    pub fn refuse_changes(&self, error: Option<IpcError>) {
        self.state.lock().unwrap().refuse = error;
    }

    /// Stops answering (closes every connection), like a stopped helper.
    pub fn stop(&self) {
        let mut st = self.state.lock().unwrap();
        st.down = true;
        for s in st.subscribers.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restart(&self) {
        self.state.lock().unwrap().down = false;
    }

    pub fn subscribers(&self) -> usize {
        self.state.lock().unwrap().subscribers.len()
    }
}

fn broadcast(st: &mut FakeState) {
    let Some(status) = st.status.clone() else {
        return;
    };
    let event = ServerMessage::Event { status };
    st.subscribers
        .retain_mut(|s| write_frame(s, &event).is_ok());
}

fn serve(stream: UnixStream, state: &Mutex<FakeState>) {
    let Ok(mut reader) = stream.try_clone() else {
        return;
    };
    let mut writer = stream;
    loop {
        let req: Request = match read_message(&mut reader) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let mut st = state.lock().unwrap();
        if st.down {
            return;
        }
        st.requests.push(req.body.clone());
        let current = st.status.clone().unwrap();
        let refuse = st.refuse.clone();
        let change = |st: &mut FakeState, ks: KillSwitch, f: &dyn Fn(&mut Status)| {
            let mut s = status(ks, st.tunnel_up, true);
            s.options = current.options.clone();
            f(&mut s);
            st.status = Some(s.clone());
            broadcast(st);
            ServerMessage::ok(req.id, ResponseBody::Done(s))
        };
        let reply = match (&req.body, refuse) {
            (RequestBody::Hello { .. }, _) => ServerMessage::ok(
                req.id,
                ResponseBody::Hello {
                    version: PROTOCOL_VERSION,
                    server: "fake-airlockd".into(),
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
                match airlock_shared::ipc::rules_page::response(
                    "nft",
                    "table inet airlock {\n}\n",
                    *offset,
                ) {
                    Ok(body) => ServerMessage::ok(req.id, body),
                    Err(e) => ServerMessage::err(req.id, e.into()),
                }
            }
            (b, Some(e)) if b.is_mutating() => ServerMessage::err(req.id, e),
            (RequestBody::Enable | RequestBody::Resume, None) => {
                change(&mut st, KillSwitch::On, &|_| {})
            }
            (RequestBody::Disable, None) => change(&mut st, KillSwitch::Off, &|_| {}),
            (RequestBody::Pause { .. }, None) => change(&mut st, KillSwitch::Paused, &|_| {}),
            (RequestBody::SetOption { option, value }, None) => {
                let (option, value) = (*option, *value);
                let ks = current.kill_switch;
                change(&mut st, ks, &|s| match option {
                    OptionName::AllowLan => s.options.allow_lan = value,
                    OptionName::AllowAirdrop => s.options.allow_airdrop = value,
                    _ => {}
                })
            }
            _ => ServerMessage::err(
                req.id,
                IpcError::new(ErrorCode::BadRequest, "not in the fake helper"),
            ),
        };
        drop(st);
        if write_frame(&mut writer, &reply).is_err() {
            return;
        }
        if req.body.is_mutating() {
            let at = Instant::now();
            state.lock().unwrap().replied.push((req.body, at));
        }
    }
}
