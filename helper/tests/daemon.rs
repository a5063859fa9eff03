//! The real `airlockd` binary, end to end: started in a network namespace
//! of its own on a temp socket, driven through the shared client and raw
//! frames, with the kernel's nftables state checked after every change.
//! Needs root, `nft` and `ip`; skips with a message without them.

#![cfg(target_os = "linux")]

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use airlock_client::{Client, ClientError};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::frame::{self, FrameDecoder};
use airlock_shared::ipc::protocol::{
    ErrorCode, IpcError, OptionName, Outcome, Request, RequestBody, ResponseBody, ServerMessage,
    PROTOCOL_VERSION, UNKNOWN_REQUEST_ID,
};
use airlock_shared::settings::Settings;
use airlock_shared::status::{KillSwitch, Status, TunnelState};

use support::{open_tempdir, ready, Helper, Netns, Paths};

fn status(c: &mut Client) -> Status {
    match c.request(RequestBody::GetStatus).unwrap() {
        ResponseBody::Status(s) => s,
        other => panic!("expected a status, got {other:?}"),
    }
}

/// A change; returns the status it answered with.
fn done(c: &mut Client, body: RequestBody) -> Status {
    match c.request(body.clone()) {
        Ok(ResponseBody::Done(s)) => s,
        other => panic!("{body:?}: expected done, got {other:?}"),
    }
}

fn settings(c: &mut Client) -> Settings {
    match c.request(RequestBody::GetSettings).unwrap() {
        ResponseBody::Settings(s) => s,
        other => panic!("expected settings, got {other:?}"),
    }
}

/// The status minus what moves by itself (the blocked-packet counter).
fn steady(mut s: Status) -> Status {
    s.firewall.blocked_packets = 0;
    s
}

fn persisted(paths: &Paths) -> Settings {
    Settings::load(&paths.settings_file()).unwrap()
}

fn endpoint(s: &str) -> Endpoint {
    s.parse().unwrap()
}

// ---- raw frames ----

fn raw(socket: &Path) -> UnixStream {
    let s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn send_request(s: &mut UnixStream, id: u64, body: RequestBody) {
    frame::write_frame(s, &Request { id, body }).unwrap();
}

/// The next message, or `None` once the helper closed the connection.
fn receive(s: &mut UnixStream) -> Option<ServerMessage> {
    match frame::read_message::<ServerMessage>(s) {
        Ok(m) => m,
        // Linux reports a close with our bytes still unread as a reset.
        Err(frame::FrameError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        Err(e) => panic!("reading from the helper: {e}"),
    }
}

fn expect_error(s: &mut UnixStream, id: u64) -> IpcError {
    match receive(s) {
        Some(ServerMessage::Response {
            id: got,
            result: Outcome::Err(e),
        }) if got == id => e,
        other => panic!("expected an error for request {id}, got {other:?}"),
    }
}

fn assert_closed(s: &mut UnixStream) {
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the helper to close the connection, got {other:?}"),
    }
}

fn hello(s: &mut UnixStream) {
    send_request(
        s,
        1,
        RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: "raw test".into(),
        },
    );
    match receive(s) {
        Some(ServerMessage::Response {
            id: 1,
            result: Outcome::Ok(ResponseBody::Hello { version, .. }),
        }) => assert_eq!(version, PROTOCOL_VERSION),
        other => panic!("expected hello, got {other:?}"),
    }
}

fn setup() -> Option<(Netns, tempfile::TempDir, Paths)> {
    if !ready() {
        return None;
    }
    let ns = Netns::new();
    let dir = open_tempdir();
    let paths = Paths::in_dir(dir.path());
    Some((ns, dir, paths))
}

#[test]
fn persisted_state_is_in_the_kernel_before_the_socket_serves() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    std::fs::create_dir_all(&paths.state).unwrap();
    std::fs::write(paths.settings_file(), "kill_switch = true\n").unwrap();
    assert!(!ns.table_present());

    let mut helper = Helper::spawn(&ns, &paths);
    let start = Instant::now();
    while !paths.socket.exists() {
        helper.assert_alive();
        assert!(start.elapsed() < Duration::from_secs(10), "no socket");
        std::thread::sleep(Duration::from_millis(1));
    }
    // The socket is bound only after the start-up load: check at once.
    let present = ns.table_present();
    assert!(
        present,
        "socket up before the rules:\n{}",
        helper.log_text()
    );
    let mut c = helper.client();
    assert_eq!(status(&mut c).kill_switch, KillSwitch::On);
}

#[test]
fn handshake_refusals_close_the_connection() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);

    let mut s = raw(&helper.socket);
    send_request(
        &mut s,
        7,
        RequestBody::Hello {
            version: PROTOCOL_VERSION + 1,
            client: "from the future".into(),
        },
    );
    let e = expect_error(&mut s, 7);
    assert_eq!(e.code, ErrorCode::VersionMismatch, "{e}");
    assert_closed(&mut s);

    let mut s = raw(&helper.socket);
    send_request(&mut s, 3, RequestBody::GetStatus);
    let e = expect_error(&mut s, 3);
    assert_eq!(e.code, ErrorCode::HandshakeRequired, "{e}");
    assert_closed(&mut s);

    // A second hello on an established connection is refused, not fatal.
    let mut s = raw(&helper.socket);
    hello(&mut s);
    send_request(
        &mut s,
        2,
        RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: "again".into(),
        },
    );
    assert_eq!(expect_error(&mut s, 2).code, ErrorCode::BadRequest);
    send_request(&mut s, 3, RequestBody::GetStatus);
    assert!(matches!(
        receive(&mut s),
        Some(ServerMessage::Response {
            id: 3,
            result: Outcome::Ok(ResponseBody::Status(_))
        })
    ));
}

#[test]
fn every_request_round_trips_and_reaches_the_kernel() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    assert!(c.server().starts_with("airlockd "), "{}", c.server());

    let s = status(&mut c);
    assert_eq!(s.kill_switch, KillSwitch::Off);
    assert_eq!(
        s.firewall.backend,
        airlock_shared::firewall_kind::FirewallKind::Nft
    );
    assert!(!ns.table_present());

    let s = done(&mut c, RequestBody::Enable);
    assert_eq!(s.kill_switch, KillSwitch::On);
    assert!(
        ns.table_present(),
        "enable answered before the rules were in"
    );
    assert!(persisted(&paths).kill_switch);
    assert_eq!(steady(status(&mut c)), steady(s));

    let rules = c.rules().unwrap();
    assert_eq!(rules.backend, "nft");
    assert!(rules.text.contains("table inet airlock"), "{}", rules.text);
    assert_eq!(rules.pages, 1);

    for option in [
        OptionName::AllowLan,
        OptionName::AllowAirdrop,
        OptionName::AllowAirprint,
        OptionName::AllowDns,
        OptionName::VpnRootOnly,
    ] {
        let before = settings(&mut c);
        let s = done(
            &mut c,
            RequestBody::SetOption {
                option,
                value: true,
            },
        );
        let after = settings(&mut c);
        let flag = |st: &Settings| match option {
            OptionName::AllowLan => st.allow_lan,
            OptionName::AllowAirdrop => st.allow_airdrop,
            OptionName::AllowAirprint => st.allow_airprint,
            OptionName::AllowDns => st.allow_dns,
            OptionName::VpnRootOnly => st.vpn_root_only,
            OptionName::PfRestoreHook => unreachable!("on by default: turned off below"),
        };
        assert!(!flag(&before) && flag(&after), "{option}");
        assert_eq!(persisted(&paths), after, "{option} not persisted");
        let shown = match option {
            OptionName::AllowLan => s.options.allow_lan,
            OptionName::AllowAirdrop => s.options.allow_airdrop,
            OptionName::AllowAirprint => s.options.allow_airprint,
            OptionName::AllowDns => s.options.allow_dns,
            OptionName::VpnRootOnly => s.options.vpn_root_only,
            OptionName::PfRestoreHook => unreachable!("not in the status"),
        };
        assert!(shown, "{option} not in the status");
        assert!(ns.table_present());
    }
    let table = ns.exec(&["nft", "list", "table", "inet", "airlock"]);
    assert!(
        table.contains("meta skuid 0 ip daddr . meta l4proto . th dport @endpoints_v4"),
        "vpn-root-only is not in the kernel's rules:\n{table}"
    );
    // The pf hook option is on by default; nft ignores it.
    assert!(settings(&mut c).pf_restore_hook);
    done(
        &mut c,
        RequestBody::SetOption {
            option: OptionName::PfRestoreHook,
            value: false,
        },
    );
    assert!(!settings(&mut c).pf_restore_hook);
    assert!(!persisted(&paths).pf_restore_hook, "not persisted");
    assert!(ns.table_present());

    let s = done(&mut c, RequestBody::Pause { seconds: 600 });
    assert_eq!(s.kill_switch, KillSwitch::Paused);
    assert!(s.paused_until.is_some());
    let paused = ns.exec(&["nft", "list", "set", "inet", "airlock", "paused"]);
    assert!(paused.contains("timeout"), "{paused}");
    let e = c.request(RequestBody::Pause { seconds: 0 }).unwrap_err();
    assert!(
        matches!(&e, ClientError::Remote(e) if e.code == ErrorCode::BadRequest),
        "{e}"
    );
    let s = done(&mut c, RequestBody::Resume);
    assert_eq!(s.kill_switch, KillSwitch::On);
    assert!(!ns.ok(&["nft", "list", "set", "inet", "airlock", "paused"]));

    let vpn = endpoint("198.51.100.7:1194/udp");
    let s = done(
        &mut c,
        RequestBody::AddEndpoints {
            endpoints: vec![vpn.clone()],
        },
    );
    assert_eq!(s.endpoints, 1);
    match c.request(RequestBody::ListEndpoints).unwrap() {
        ResponseBody::Endpoints(list) => assert_eq!(list, vec![vpn.clone()]),
        other => panic!("{other:?}"),
    }
    let set = ns.exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"]);
    assert!(set.contains("198.51.100.7"), "{set}");
    assert_eq!(persisted(&paths).endpoints, vec![vpn.clone()]);

    let e = c
        .request(RequestBody::RemoveEndpoints {
            endpoints: vec![endpoint("203.0.113.9:51820/udp")],
        })
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Remote(e) if e.code == ErrorCode::BadRequest),
        "{e}"
    );
    let s = done(
        &mut c,
        RequestBody::RemoveEndpoints {
            endpoints: vec![vpn],
        },
    );
    assert_eq!(s.endpoints, 0);
    let set = ns.exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"]);
    assert!(!set.contains("198.51.100.7"), "{set}");

    let s = done(&mut c, RequestBody::Disable);
    assert_eq!(s.kill_switch, KillSwitch::Off);
    assert!(!ns.table_present(), "disable answered with the rules in");
    let saved = persisted(&paths);
    assert!(!saved.kill_switch);
    assert_eq!(saved, settings(&mut c));
}

/// `n` distinct endpoints, numbered from `from`.
fn many_endpoints(from: usize, n: usize) -> Vec<Endpoint> {
    (from..from + n)
        .map(|i| endpoint(&format!("10.{}.{}.1:1194/udp", 1 + i / 250, 1 + i % 250)))
        .collect()
}

/// A user who imported a provider's whole config bundle: 6,000 endpoints
/// make a ruleset several frames long. `Client::rules` reads it in pages,
/// and what it assembles is exactly what `nft` lists in the namespace
/// (nothing sends packets there, so the counters in the listing hold
/// still between the helper's read and ours).
#[test]
fn a_ruleset_larger_than_a_frame_is_read_in_pages() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    const ENDPOINTS: usize = 6_000;
    const BATCH: usize = 500;
    for from in (0..ENDPOINTS).step_by(BATCH) {
        let body = RequestBody::AddEndpoints {
            endpoints: many_endpoints(from, BATCH),
        };
        let size = frame::encode(&Request {
            id: 1,
            body: body.clone(),
        })
        .map(|f| f.len());
        assert!(
            size.is_ok(),
            "a batch of {BATCH} does not fit a frame: {size:?}"
        );
        done(&mut c, body);
    }
    let s = done(&mut c, RequestBody::Enable);
    assert_eq!((s.kill_switch, s.endpoints), (KillSwitch::On, ENDPOINTS));

    let rules = c.rules().unwrap();
    let listed = ns.exec(&["nft", "list", "table", "inet", "airlock"]);
    eprintln!(
        "{ENDPOINTS} endpoints: {} bytes of rules in {} pages",
        rules.text.len(),
        rules.pages
    );
    assert_eq!(rules.backend, "nft");
    assert!(rules.text.len() > 150_000, "{} bytes", rules.text.len());
    assert!(rules.pages > 1, "{} pages", rules.pages);
    if rules.text != listed {
        let at = rules
            .text
            .bytes()
            .zip(listed.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(rules.text.len().min(listed.len()));
        let around = |t: &str| {
            t.get(at.saturating_sub(80)..(at + 80).min(t.len()))
                .map(String::from)
        };
        panic!(
            "client got {} bytes, nft lists {}; first difference at byte {at}:\n{:?}\nvs\n{:?}",
            rules.text.len(),
            listed.len(),
            around(&rules.text),
            around(&listed)
        );
    }
    for e in [many_endpoints(0, 1), many_endpoints(ENDPOINTS - 1, 1)] {
        let addr = e[0].address.to_string();
        assert!(rules.text.contains(&addr), "{addr} missing");
    }
}

/// A page that does not exist is the client's mistake, answered as such;
/// the connection stays usable.
#[test]
fn a_rules_offset_past_the_end_is_a_bad_request() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    done(&mut c, RequestBody::Enable);
    let total = match c.request(RequestBody::GetRules { offset: 0 }).unwrap() {
        ResponseBody::Rules { total, text, .. } => {
            assert_eq!(text.len() as u64, total, "a small ruleset is one page");
            total
        }
        other => panic!("{other:?}"),
    };
    for offset in [total + 1, u64::MAX] {
        match c.request(RequestBody::GetRules { offset }) {
            Err(ClientError::Remote(e)) => {
                assert_eq!(e.code, ErrorCode::BadRequest, "{e}");
                assert!(e.message.contains("no page at byte"), "{e}");
            }
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    assert_eq!(status(&mut c).kill_switch, KillSwitch::On);
    assert_eq!(c.rules().unwrap().text.len() as u64, total);
}

#[test]
fn subscribers_see_another_clients_change() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let (first, mut sub) = helper.client().subscribe().unwrap();
    assert_eq!(first.kill_switch, KillSwitch::Off);
    sub.set_timeout(Some(Duration::from_secs(5)));

    let mut other = helper.client();
    done(&mut other, RequestBody::Enable);
    let event = sub.next_event().unwrap().expect("an event");
    assert_eq!(event.kill_switch, KillSwitch::On);
}

#[test]
fn racing_clients_leave_kernel_disk_and_status_agreeing() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let barrier = Arc::new(Barrier::new(2));
    // A starts with enable, B with disable: their last requests differ.
    let threads: Vec<_> = [true, false]
        .into_iter()
        .map(|enable_first| {
            let mut c = helper.client();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut last = None;
                for i in 0..20 {
                    let body = if (i % 2 == 0) == enable_first {
                        RequestBody::Enable
                    } else {
                        RequestBody::Disable
                    };
                    let sent = Instant::now();
                    let s = done(&mut c, body);
                    last = Some((sent, Instant::now(), s.kill_switch));
                }
                last.unwrap()
            })
        })
        .collect();
    let lasts: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut c = helper.client();
    let fin = status(&mut c).kill_switch;
    let (a, b) = (lasts[0], lasts[1]);
    assert_ne!(a.2, b.2);
    // When one last request was answered before the other was sent, the
    // helper necessarily applied it first.
    if a.1 < b.0 {
        assert_eq!(fin, b.2);
    } else if b.1 < a.0 {
        assert_eq!(fin, a.2);
    } else {
        assert!(fin == a.2 || fin == b.2, "{fin:?}");
    }
    let on = fin == KillSwitch::On;
    assert_eq!(persisted(&paths).kill_switch, on, "disk disagrees");
    assert_eq!(ns.table_present(), on, "kernel disagrees");
}

/// Runs as uid/gid 65534 in a forked child: connects, says hello, asks
/// to enable, asks for the status; returns the helper's answers. The
/// child only makes syscalls on buffers prepared before the fork.
fn as_nobody(socket: &Path) -> Vec<ServerMessage> {
    use std::os::unix::ffi::OsStrExt;
    let frames: Vec<Vec<u8>> = [
        RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: "nobody".into(),
        },
        RequestBody::Enable,
        RequestBody::GetStatus,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, body)| {
        frame::encode(&Request {
            id: i as u64 + 1,
            body,
        })
        .unwrap()
    })
    .collect();
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = socket.as_os_str().as_bytes();
    assert!(bytes.len() < addr.sun_path.len());
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut fds = [0; 2];
    // SAFETY: a two-int array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);

    // SAFETY: the child makes only async-signal-safe syscalls and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: raw syscalls on memory owned by this (child) process.
        unsafe {
            libc::close(rd);
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                libc::_exit(10);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            let tv = libc::timeval {
                tv_sec: 5,
                tv_usec: 0,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
            if libc::connect(
                fd,
                (&addr as *const libc::sockaddr_un).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            ) != 0
            {
                libc::_exit(11);
            }
            let mut got = 0usize;
            for f in &frames {
                if libc::write(fd, f.as_ptr().cast(), f.len()) != f.len() as isize {
                    libc::_exit(12);
                }
                // Read one whole answer frame.
                let start = got;
                loop {
                    if got >= start + 4 {
                        let len = u32::from_be_bytes([
                            buf[start],
                            buf[start + 1],
                            buf[start + 2],
                            buf[start + 3],
                        ]) as usize;
                        if got >= start + 4 + len {
                            break;
                        }
                    }
                    let n = libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got);
                    if n <= 0 {
                        libc::_exit(13);
                    }
                    got += n as usize;
                }
            }
            libc::write(wr, buf.as_ptr().cast(), got);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wr) };
    // SAFETY: rd is a pipe fd we own from here on.
    let mut pipe = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(rd) };
    let mut answer = Vec::new();
    pipe.read_to_end(&mut answer).unwrap();
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(
        libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
        "child as nobody failed: wait status {st}"
    );
    let mut d = FrameDecoder::new();
    d.push(&answer).unwrap();
    let mut out = Vec::new();
    while let Some(p) = d.next_frame().unwrap() {
        out.push(frame::decode(&p).unwrap());
    }
    out
}

#[test]
fn an_unprivileged_peer_may_read_but_not_change() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let answers = as_nobody(&helper.socket);
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(matches!(
        &answers[0],
        ServerMessage::Response {
            id: 1,
            result: Outcome::Ok(ResponseBody::Hello { .. })
        }
    ));
    match &answers[1] {
        ServerMessage::Response {
            id: 2,
            result: Outcome::Err(e),
        } => {
            assert_eq!(e.code, ErrorCode::NotAuthorized, "{e}");
            assert!(e.message.contains("uid 65534"), "{e}");
        }
        other => panic!("enable as nobody: {other:?}"),
    }
    match &answers[2] {
        ServerMessage::Response {
            id: 3,
            result: Outcome::Ok(ResponseBody::Status(s)),
        } => assert_eq!(s.kill_switch, KillSwitch::Off),
        other => panic!("status as nobody: {other:?}"),
    }
    assert!(!ns.table_present());
    assert!(!paths.settings_file().exists() || !persisted(&paths).kill_switch);
}

#[test]
fn garbage_is_refused_without_changing_anything() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    done(&mut c, RequestBody::Enable);
    let before = steady(status(&mut c));

    // The idle client runs alongside the rest: its timeout is 5 s.
    let idle_socket = helper.socket.clone();
    let idle = std::thread::spawn(move || {
        let mut s = raw(&idle_socket);
        let start = Instant::now();
        assert_closed(&mut s);
        start.elapsed()
    });

    // A 4 GiB length prefix: refused after the prefix, then closed.
    let mut s = raw(&helper.socket);
    hello(&mut s);
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let e = expect_error(&mut s, UNKNOWN_REQUEST_ID);
    assert_eq!(e.code, ErrorCode::FrameTooLarge, "{e}");
    assert_closed(&mut s);

    // 70,000 bytes: over the 64 KiB cap. The helper may close before we
    // finish writing, which is the point.
    let mut s = raw(&helper.socket);
    hello(&mut s);
    let mut big = 70_000u32.to_be_bytes().to_vec();
    big.resize(4 + 70_000, b' ');
    let _ = s.write_all(&big);
    match receive(&mut s) {
        None => {}
        Some(ServerMessage::Response {
            result: Outcome::Err(e),
            ..
        }) => {
            assert_eq!(e.code, ErrorCode::FrameTooLarge, "{e}");
            assert_closed(&mut s);
        }
        other => panic!("70,000-byte frame: {other:?}"),
    }

    // Not JSON in a well-formed frame: refused, the connection goes on.
    let mut s = raw(&helper.socket);
    hello(&mut s);
    let junk = b"this is not json";
    let mut f = (junk.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(junk);
    s.write_all(&f).unwrap();
    assert_eq!(
        expect_error(&mut s, UNKNOWN_REQUEST_ID).code,
        ErrorCode::BadRequest
    );
    send_request(&mut s, 5, RequestBody::GetStatus);
    match receive(&mut s) {
        Some(ServerMessage::Response {
            id: 5,
            result: Outcome::Ok(ResponseBody::Status(st)),
        }) => assert_eq!(steady(st), before),
        other => panic!("after junk: {other:?}"),
    }

    // Half a frame, then gone.
    let mut s = raw(&helper.socket);
    hello(&mut s);
    s.write_all(&[0, 0, 0, 100, b'{', b'"']).unwrap();
    drop(s);

    let waited = idle.join().unwrap();
    println!("a client that never said hello was dropped after {waited:?}");
    assert!(waited >= Duration::from_secs(4), "{waited:?}");

    let mut c = helper.client();
    assert_eq!(steady(status(&mut c)), before);
    assert!(ns.table_present());
}

#[test]
fn two_hundred_subscribers_all_hear_one_enable() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut subs: Vec<_> = (0..200)
        .map(|_| {
            let (first, mut sub) = helper.client().subscribe().unwrap();
            assert_eq!(first.kill_switch, KillSwitch::Off);
            sub.set_timeout(Some(Duration::from_secs(10)));
            sub
        })
        .collect();
    let mut c = helper.client();
    let start = Instant::now();
    status(&mut c);
    let rtt = start.elapsed();
    done(&mut c, RequestBody::Enable);
    let start = Instant::now();
    for (i, sub) in subs.iter_mut().enumerate() {
        let s = sub
            .next_event()
            .unwrap()
            .unwrap_or_else(|| panic!("sub {i}"));
        assert_eq!(s.kill_switch, KillSwitch::On, "subscriber {i}");
    }
    let fanout = start.elapsed();
    let start = Instant::now();
    status(&mut c);
    println!(
        "200 subscribers: status round trip {rtt:?} before, {:?} after; all events read in {fanout:?}",
        start.elapsed()
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(ns.table_present());
}

#[test]
fn sigterm_keeps_the_rules_and_a_restart_reports_the_same_state() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let mut helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    done(
        &mut c,
        RequestBody::AddEndpoints {
            endpoints: vec![endpoint("198.51.100.7:1194/udp")],
        },
    );
    let on = steady(done(&mut c, RequestBody::Enable));
    drop(c);

    let (exit, took) = helper.signal_and_wait(libc::SIGTERM, Duration::from_secs(2));
    println!("SIGTERM: exited in {took:?}");
    assert!(exit.success(), "{exit}\n{}", helper.log_text());
    assert!(!paths.socket.exists(), "socket left behind");
    assert!(
        ns.table_present(),
        "SIGTERM removed the kill switch's rules"
    );

    let mut helper = Helper::start(&ns, &paths);
    assert_eq!(steady(status(&mut helper.client())), on);

    // The tamper watch is in-process: the helper has no child that a
    // SIGKILL could leave behind (it used to run `nft monitor`).
    helper.wait_watchdog();
    assert_eq!(helper.descendants(), Vec::<i32>::new(), "a child process");
    helper.signal_and_wait(libc::SIGKILL, Duration::from_secs(2));
    assert!(ns.table_present());
    let helper = Helper::start(&ns, &paths);
    assert_eq!(steady(status(&mut helper.client())), on);
}

#[test]
fn tampering_is_undone_within_a_second() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    let s = done(&mut c, RequestBody::Enable);
    assert_eq!(s.firewall.last_tamper, None);
    helper.wait_watchdog();

    for tamper in [
        &["nft", "delete", "table", "inet", "airlock"][..],
        &["nft", "flush", "ruleset"][..],
    ] {
        ns.exec(tamper);
        let back = ns.wait_table(true, Duration::from_secs(1));
        println!("{tamper:?}: rules back after {back:?}");
        assert!(
            back.is_some(),
            "{tamper:?} not undone:\n{}",
            helper.log_text()
        );
        let s = status(&mut c);
        assert!(s.firewall.last_tamper.is_some(), "{tamper:?}: {s:?}");
        assert_eq!(s.kill_switch, KillSwitch::On);
    }
}

#[test]
fn tunnel_up_and_down_are_pushed() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    let helper = Helper::start(&ns, &paths);
    ns.exec(&["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"]);
    ns.exec(&["ip", "addr", "add", "10.66.0.2/24", "dev", "tun0"]);
    let (first, mut sub) = helper.client().subscribe().unwrap();
    assert_eq!(first.tunnel.state, TunnelState::Down);
    sub.set_timeout(Some(Duration::from_secs(2)));

    let wait_for = |sub: &mut airlock_client::Subscription, want: TunnelState| loop {
        let s = sub.next_event().unwrap().expect("an event");
        if s.tunnel.state == want {
            return (Instant::now(), s);
        }
    };

    sh_ns(&ns, &["ip", "link", "set", "tun0", "up"]);
    let returned = Instant::now();
    let (seen, s) = wait_for(&mut sub, TunnelState::Up);
    let delay = seen.saturating_duration_since(returned);
    println!("tunnel up seen {delay:?} after `ip link set tun0 up` returned");
    assert_eq!(s.tunnel.interface.as_deref(), Some("tun0"));
    assert!(delay < Duration::from_secs(1));

    sh_ns(&ns, &["ip", "link", "del", "tun0"]);
    let returned = Instant::now();
    let (seen, _) = wait_for(&mut sub, TunnelState::Down);
    println!(
        "tunnel down seen {:?} after `ip link del tun0` returned",
        seen.saturating_duration_since(returned)
    );
}

/// `ip -n`: no extra `ip netns exec` process, so the timing is the command's.
fn sh_ns(ns: &Netns, args: &[&str]) {
    let mut argv = vec![args[0], "-n", &ns.0];
    argv.extend(&args[1..]);
    support::sh(&argv);
}

/// The real helper drops a learned endpoint from the kernel by itself once
/// `learned_endpoint_ttl` has passed since it was last seen (a 3 s TTL
/// makes it cheap), and keeps the one the user added.
#[test]
fn a_learned_endpoint_leaves_the_kernel_and_the_file_after_its_ttl() {
    let Some((ns, _dir, paths)) = setup() else {
        return;
    };
    const TTL: u64 = 3;
    std::fs::create_dir_all(&paths.state).unwrap();
    let seen = airlock_shared::time::unix_secs(std::time::SystemTime::now());
    let written = Instant::now();
    std::fs::write(
        paths.settings_file(),
        format!(
            "kill_switch = true\nlearned_endpoint_ttl = \"{TTL}s\"\n\n\
             [[endpoints]]\naddress = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\n\
             origin = \"learned\"\nadded_at = {seen}\nlast_seen = {seen}\n\n\
             [[endpoints]]\naddress = \"203.0.113.1\"\nport = 443\nprotocol = \"tcp\"\n"
        ),
    )
    .unwrap();
    let helper = Helper::start(&ns, &paths);
    let rules = || ns.exec(&["nft", "list", "table", "inet", "airlock"]);
    let at_start = rules();
    assert!(
        at_start.contains("198.51.100.7") && at_start.contains("203.0.113.1"),
        "{at_start}"
    );
    let mut c = helper.client();
    let listed = match c.request(RequestBody::ListEndpoints).unwrap() {
        ResponseBody::Endpoints(l) => l,
        other => panic!("expected endpoints, got {other:?}"),
    };
    assert_eq!(listed[0].origin, airlock_shared::endpoint::Origin::Learned);
    assert_eq!(listed[0].last_seen, Some(seen));

    let gone = loop {
        if !rules().contains("198.51.100.7") {
            break written.elapsed();
        }
        assert!(
            written.elapsed() < Duration::from_secs(TTL + 10),
            "still allowed long after its TTL:\n{}",
            helper.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("learned endpoint (TTL {TTL}s) left the kernel {gone:?} after it was last seen");
    // The daemon wakes a quarter second ahead and counts whole seconds.
    assert!(gone >= Duration::from_secs(TTL - 1), "too early: {gone:?}");
    assert!(rules().contains("203.0.113.1"), "the added one stays");
    // The kernel changes first, then the file: a request is served only
    // after the whole change, so ask before reading the file.
    let s = status(&mut c);
    assert!(s.firewall.healthy, "{s:?}");
    assert_eq!(s.endpoints, 1);
    let saved = persisted(&paths).endpoints;
    assert_eq!(saved, vec![endpoint("203.0.113.1:443/tcp")]);
}
