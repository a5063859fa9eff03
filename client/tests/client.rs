//! The blocking client against a scripted fake helper (airlock-test-support's
//! `ScriptedHelper`) on a socket in a temp dir: handshake, errors,
//! timeouts, subscriptions and rules pages.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use airlock_client::*;
use airlock_shared::ipc::*;
use airlock_shared::status::Status;
use airlock_test_support::fake_helper::{accept_hello, recv, send};
// The samples: distinct protected statuses, one per number.
use airlock_test_support::status::numbered as status;
// One connection, handled by a script on its own thread.
use airlock_test_support::ScriptedHelper as Fake;

// ------------------------------------------------------ client and server

fn quick() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Some(Duration::from_secs(5)),
        client_name: "ipc-test".into(),
    }
}

#[test]
fn handshake_request_and_remote_error() {
    let fake = Fake::start(|mut s| {
        let hello = recv(&mut s);
        assert_eq!(
            hello.body,
            RequestBody::Hello {
                version: PROTOCOL_VERSION,
                client: "ipc-test".into()
            }
        );
        send(
            &mut s,
            &ServerMessage::ok(
                hello.id,
                ResponseBody::Hello {
                    version: PROTOCOL_VERSION,
                    server: "fake-airlockd 9".into(),
                },
            ),
        );
        let req = recv(&mut s);
        assert_eq!(req.body, RequestBody::GetStatus);
        assert!(req.id > hello.id, "ids increase");
        // Noise the client must skip: an event and a stale answer.
        send(&mut s, &ServerMessage::Event { status: status(0) });
        send(
            &mut s,
            &ServerMessage::ok(hello.id, ResponseBody::Status(status(0))),
        );
        send(
            &mut s,
            &ServerMessage::ok(req.id, ResponseBody::Status(status(7))),
        );
        let req = recv(&mut s);
        assert_eq!(req.body, RequestBody::Enable);
        send(
            &mut s,
            &ServerMessage::err(
                req.id,
                IpcError::new(ErrorCode::NotAuthorized, "run as an administrator"),
            ),
        );
        // An error the helper cannot pin on a request id.
        recv(&mut s);
        send(
            &mut s,
            &ServerMessage::err(
                UNKNOWN_REQUEST_ID,
                IpcError::new(ErrorCode::BadRequest, "frame is not a request"),
            ),
        );
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    assert_eq!(client.server(), "fake-airlockd 9");
    assert_eq!(
        client.request(RequestBody::GetStatus).unwrap(),
        ResponseBody::Status(status(7))
    );
    match client.request(RequestBody::Enable) {
        Err(ClientError::Remote(e)) => {
            assert_eq!(e.code, ErrorCode::NotAuthorized);
            assert_eq!(e.message, "run as an administrator");
        }
        other => panic!("{other:?}"),
    }
    match client.request(RequestBody::GetRules { offset: 0 }) {
        Err(ClientError::Remote(e)) => assert_eq!(e.code, ErrorCode::BadRequest),
        other => panic!("{other:?}"),
    }
    fake.finish();
}

#[test]
fn subscription_yields_events_until_the_helper_closes() {
    let fake = Fake::start(|mut s| {
        accept_hello(&mut s);
        let req = recv(&mut s);
        assert_eq!(req.body, RequestBody::Subscribe);
        send(
            &mut s,
            &ServerMessage::ok(req.id, ResponseBody::Subscribed(status(0))),
        );
        for n in 1..=3 {
            send(&mut s, &ServerMessage::Event { status: status(n) });
        }
    });
    let client = Client::connect_with(&fake.path, &quick()).unwrap();
    let (now, events) = client.subscribe().unwrap();
    assert_eq!(now, status(0));
    let got: Vec<Status> = events.map(Result::unwrap).collect();
    assert_eq!(got, vec![status(1), status(2), status(3)]);
    fake.finish();
}

#[test]
fn helper_with_another_version_is_refused() {
    let fake = Fake::start(|mut s| {
        let req = recv(&mut s);
        send(
            &mut s,
            &ServerMessage::ok(
                req.id,
                ResponseBody::Hello {
                    version: PROTOCOL_VERSION + 1,
                    server: "airlockd 2.0".into(),
                },
            ),
        );
    });
    match Client::connect_with(&fake.path, &quick()) {
        Err(ClientError::VersionMismatch(m)) => {
            assert!(m.contains("airlockd 2.0"), "{m}");
            assert!(m.contains(&(PROTOCOL_VERSION + 1).to_string()), "{m}");
        }
        other => panic!("{other:?}"),
    }
    fake.finish();
}

#[test]
fn helper_refusing_our_version_is_a_version_mismatch() {
    let fake = Fake::start(|mut s| {
        let req = recv(&mut s);
        // What a helper speaking only version 2 says to us.
        let RequestBody::Hello { version, client } = req.body else {
            panic!("expected hello")
        };
        let e = check_hello(&RequestBody::Hello {
            version: version + 1,
            client,
        })
        .unwrap_err();
        send(&mut s, &ServerMessage::err(req.id, e));
    });
    match Client::connect_with(&fake.path, &quick()) {
        Err(ClientError::VersionMismatch(m)) => assert!(m.contains("protocol"), "{m}"),
        other => panic!("{other:?}"),
    }
    fake.finish();
}

#[test]
fn missing_helper_says_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("nobody.sock");
    let err = Client::connect(&absent).unwrap_err();
    assert_eq!(err.connect_failure(), Some(ConnectFailure::NotRunning));
    assert!(err.to_string().contains("not running"), "{err}");

    // A socket file left behind by a helper that died: ECONNREFUSED.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let err = Client::connect(&stale).unwrap_err();
    assert_eq!(
        err.connect_failure(),
        Some(ConnectFailure::NotRunning),
        "{err}"
    );
}

#[test]
fn silent_helper_times_out_the_handshake() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let fake = Fake::start(move |mut s| {
        recv(&mut s);
        // Hold the connection open, unanswered, until the client gave up.
        let _ = rx.recv();
    });
    let opts = ClientOptions {
        connect_timeout: Duration::from_millis(200),
        ..quick()
    };
    let err = Client::connect_with(&fake.path, &opts).unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { after } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    tx.send(()).unwrap();
    fake.finish();
}

/// A request that timed out must not poison the next one: its late
/// answer is skipped, and a frame cut by the timeout is completed.
#[test]
fn client_recovers_after_a_request_timeout() {
    let fake = Fake::start(|mut s| {
        accept_hello(&mut s);
        let slow = recv(&mut s);
        // Say nothing: the client times out and asks again.
        let cut = recv(&mut s);
        let frame = encode(&ServerMessage::ok(cut.id, ResponseBody::Done(status(3)))).unwrap();
        s.write_all(&frame[..10]).unwrap();
        // The client times out mid-frame and asks a third time.
        let last = recv(&mut s);
        s.write_all(&frame[10..]).unwrap();
        send(
            &mut s,
            &ServerMessage::ok(slow.id, ResponseBody::Done(status(1))),
        );
        send(
            &mut s,
            &ServerMessage::ok(last.id, ResponseBody::Status(status(4))),
        );
        // Then the helper dies.
    });
    let mut client = Client::connect_with(
        &fake.path,
        &ClientOptions {
            request_timeout: Some(Duration::from_millis(200)),
            ..quick()
        },
    )
    .unwrap();
    for _ in 0..2 {
        let err = client.request(RequestBody::Enable).unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    }
    assert_eq!(
        client.request(RequestBody::GetStatus).unwrap(),
        ResponseBody::Status(status(4))
    );
    let err = client.request(RequestBody::GetStatus).unwrap_err();
    assert!(matches!(err, ClientError::Disconnected), "{err:?}");
    fake.finish();
}

#[test]
fn helper_dying_mid_frame_is_a_protocol_error() {
    let fake = Fake::start(|mut s| {
        accept_hello(&mut s);
        let req = recv(&mut s);
        let frame = encode(&ServerMessage::ok(req.id, ResponseBody::Status(status(1)))).unwrap();
        s.write_all(&frame[..frame.len() / 2]).unwrap();
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let err = client.request(RequestBody::GetStatus).unwrap_err();
    assert!(
        matches!(&err, ClientError::Protocol(m) if m.contains("mid-frame")),
        "{err:?}"
    );
    fake.finish();
}

// ------------------------------------------------------------ rules pages

/// A ruleset of `lines` nft-like lines, several pages long, with
/// multibyte text so pages end inside what would be a char if cut by
/// byte count. `tag` changes the content but not the length.
fn big_rules(lines: usize, tag: char) -> String {
    let mut text = String::from("table inet airlock {\n");
    for i in 0..lines {
        text.push_str(&format!(
            "\t\tip daddr 198.51.{}.{} udp dport 1194 accept # ✓{tag}\n",
            i / 256 % 256,
            i % 256
        ));
    }
    text.push_str("}\n");
    text
}

/// Serves `GetRules` requests until the client hangs up: `answer` gets
/// the request's number (from 0) and offset. Returns the offsets asked.
fn serve_rules(s: &mut UnixStream, mut answer: impl FnMut(usize, u64) -> ResponseBody) -> Vec<u64> {
    let mut asked = Vec::new();
    while let Ok(Some(req)) = read_message::<Request>(s) {
        let RequestBody::GetRules { offset } = req.body else {
            panic!("expected get_rules, got {:?}", req.body)
        };
        let body = answer(asked.len(), offset);
        asked.push(offset);
        if write_frame(s, &ServerMessage::ok(req.id, body)).is_err() {
            break;
        }
    }
    asked
}

/// What the real helper answers for `full` at `offset`.
fn page(full: &str, offset: u64) -> ResponseBody {
    rules_page::response("nft", full, offset).expect("valid offset")
}

#[test]
fn client_reads_a_large_ruleset_page_by_page() {
    let full = big_rules(4_000, 'a');
    assert!(full.len() > 3 * MAX_FRAME_LEN);
    let served = full.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let fake = Fake::start(move |mut s| {
        accept_hello(&mut s);
        tx.send(serve_rules(&mut s, |_, offset| page(&served, offset)))
            .unwrap();
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let rules = client.rules().unwrap();
    assert_eq!(rules.backend, "nft");
    assert!(rules.text == full, "the assembled text differs");
    drop(client);
    let asked = rx.recv().unwrap();
    assert_eq!(asked.len(), rules.pages);
    assert!(asked.len() > 1, "{asked:?}");
    // Each request starts where the previous page ended.
    let mut want = vec![0u64];
    for w in asked.windows(2) {
        let ResponseBody::Rules { text, .. } = page(&full, w[0]) else {
            unreachable!()
        };
        want.push(w[0] + text.len() as u64);
    }
    assert_eq!(asked, want);
    fake.finish();
}

#[test]
fn client_reads_an_empty_ruleset_in_one_page() {
    let fake = Fake::start(|mut s| {
        accept_hello(&mut s);
        assert_eq!(serve_rules(&mut s, |_, offset| page("", offset)), [0]);
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let rules = client.rules().unwrap();
    assert_eq!((rules.text.as_str(), rules.pages), ("", 1));
    drop(client);
    fake.finish();
}

/// The ruleset changes after the first page, to a text of the same
/// length (only the digest tells): the client starts over and returns
/// the new text whole, not a mix.
#[test]
fn client_restarts_when_the_rules_change_between_pages() {
    let old = big_rules(2_000, 'a');
    let new = big_rules(2_000, 'b');
    assert_eq!(old.len(), new.len());
    let served = new.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let fake = Fake::start(move |mut s| {
        accept_hello(&mut s);
        let asked = serve_rules(&mut s, |n, offset| {
            page(if n == 0 { &old } else { &served }, offset)
        });
        tx.send(asked).unwrap();
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let rules = client.rules().unwrap();
    assert!(rules.text == new, "not the new ruleset");
    drop(client);
    let asked = rx.recv().unwrap();
    assert_eq!(asked[..3], [asked[0], asked[1], 0], "{asked:?}");
    assert!(asked[1] > 0);
    assert_eq!(asked.iter().filter(|&&o| o == 0).count(), 2, "{asked:?}");
    fake.finish();
}

/// The rules shrink after the first page: the helper refuses the next
/// offset as past the end, and the client starts over instead of failing.
#[test]
fn client_restarts_when_the_rules_shrink_between_pages() {
    let old = big_rules(2_000, 'a');
    let new = big_rules(10, 'b');
    let served = new.clone();
    let fake = Fake::start(move |mut s| {
        accept_hello(&mut s);
        let mut n = 0;
        while let Ok(Some(req)) = read_message::<Request>(&mut s) {
            let RequestBody::GetRules { offset } = req.body else {
                panic!("expected get_rules")
            };
            let full = if n == 0 { &old } else { &served };
            n += 1;
            let reply = match rules_page::response("nft", full, offset) {
                Ok(body) => ServerMessage::ok(req.id, body),
                Err(e) => ServerMessage::err(req.id, e.into()),
            };
            if write_frame(&mut s, &reply).is_err() {
                break;
            }
        }
        assert_eq!(n, 3, "first page, refused offset, the new rules");
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let rules = client.rules().unwrap();
    assert!(rules.text == new, "not the new ruleset");
    assert_eq!(rules.pages, 1);
    drop(client);
    fake.finish();
}

#[test]
fn client_gives_up_on_rules_that_never_agree() {
    let texts = [big_rules(2_000, 'a'), big_rules(2_000, 'b')];
    let (tx, rx) = std::sync::mpsc::channel();
    let fake = Fake::start(move |mut s| {
        accept_hello(&mut s);
        // Every page comes from another version of the ruleset.
        tx.send(serve_rules(&mut s, |n, offset| page(&texts[n % 2], offset)))
            .unwrap();
    });
    let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
    let err = client.rules().unwrap_err();
    assert!(
        matches!(err, ClientError::RulesKeptChanging { attempts } if attempts == MAX_RULES_ATTEMPTS),
        "{err:?}"
    );
    assert!(err.to_string().contains("kept changing"), "{err}");
    drop(client);
    // Two requests per attempt: the first page, then the disagreeing one.
    let asked = rx.recv().unwrap();
    assert_eq!(asked.len(), 2 * MAX_RULES_ATTEMPTS as usize, "{asked:?}");
    fake.finish();
}

/// Helpers whose pages do not fit together: each is an error, never a
/// text that is not the ruleset.
#[test]
fn client_refuses_pages_that_do_not_add_up() {
    type Liar = fn(&str, usize, u64) -> ResponseBody;
    let liars: [(&str, Liar); 4] = [
        // The first page again, saying where it really is.
        ("got a page from byte 0", |full, _, _| page(full, 0)),
        // Pages of another text of the same length, under the digest of
        // the announced one: only the final digest check can tell.
        ("do not add up", |full, _, offset| {
            let mut body = page(&full.replace('a', "b"), offset);
            if let ResponseBody::Rules { digest, .. } = &mut body {
                *digest = rules_page::digest(full);
            }
            body
        }),
        // An empty page before the end: would loop forever.
        ("does not fit", |full, n, offset| {
            let mut body = page(full, offset);
            if let (1, ResponseBody::Rules { text, .. }) = (n, &mut body) {
                text.clear();
            }
            body
        }),
        // A page running past the total it announced.
        ("does not fit", |full, _, offset| {
            let mut body = page(full, offset);
            if let ResponseBody::Rules { total, .. } = &mut body {
                *total = 10;
            }
            body
        }),
    ];
    for (want, liar) in liars {
        let full = big_rules(2_000, 'a');
        let fake = Fake::start(move |mut s| {
            accept_hello(&mut s);
            serve_rules(&mut s, |n, offset| liar(&full, n, offset));
        });
        let mut client = Client::connect_with(&fake.path, &quick()).unwrap();
        let err = client.rules().unwrap_err();
        assert!(
            matches!(&err, ClientError::Protocol(m) if m.contains(want)),
            "{want}: {err:?}"
        );
        drop(client);
        fake.finish();
    }
}

/// On Linux a connect to a listener whose backlog is full sleeps; the
/// connect timeout must bound it.
#[cfg(target_os = "linux")]
#[test]
fn full_backlog_times_out_the_connect() {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
    };
    use std::os::fd::AsRawFd;
    use std::thread;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sock");
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    bind(fd.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    // Never accepted: fills the queue.
    let _first = UnixStream::connect(&path).unwrap();
    let opts = ClientOptions {
        connect_timeout: Duration::from_millis(200),
        ..quick()
    };
    // On a thread, so a regression fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(Client::connect_with(&path, &opts).map(|_| ())));
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("connect was not bounded by the connect timeout");
    assert!(
        matches!(result, Err(ClientError::Timeout { .. })),
        "{result:?}"
    );
    drop(fd);
}
