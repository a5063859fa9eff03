//! The IPC layer's pure half: wire format and frame limits. The blocking
//! client is tested against a fake helper in the airlock-client crate.

use std::io::{self, Read};

use airlock_shared::endpoint::Endpoint;
use airlock_shared::ipc::frame::HEADER_LEN;
use airlock_shared::ipc::*;
use airlock_shared::settings::Settings;
use airlock_test_support::status::numbered as status;

// ---------------------------------------------------------------- samples

fn endpoints() -> Vec<Endpoint> {
    let mut named: Endpoint = "[2001:db8::7]:443/tcp".parse().unwrap();
    named.host = Some("vpn.example.com".into());
    vec!["198.51.100.7:1194/udp".parse().unwrap(), named]
}

/// One sample per variant; `request_variant` fails to compile when a
/// variant is added, and the test below fails until it gets a sample.
fn all_requests() -> Vec<RequestBody> {
    use RequestBody as R;
    vec![
        R::Hello {
            version: PROTOCOL_VERSION,
            client: "airlockctl 0.1.0".into(),
        },
        R::GetStatus,
        R::Subscribe,
        R::Enable,
        R::Disable,
        R::SetOption {
            option: OptionName::AllowAirprint,
            value: true,
        },
        R::Pause { seconds: u64::MAX },
        R::Resume,
        R::ListEndpoints,
        R::AddEndpoints {
            endpoints: endpoints(),
        },
        R::RemoveEndpoints {
            endpoints: endpoints()[..1].to_vec(),
        },
        R::GetRules { offset: 24_576 },
        R::GetSettings,
        R::GetBlocked,
        R::GetCounters,
        R::Resolve {
            host: "vpn.lab.test".into(),
        },
        R::LearnEndpoints,
    ]
}

fn request_variant(b: &RequestBody) -> usize {
    use RequestBody as R;
    match b {
        R::Hello { .. } => 0,
        R::GetStatus => 1,
        R::Subscribe => 2,
        R::Enable => 3,
        R::Disable => 4,
        R::SetOption { .. } => 5,
        R::Pause { .. } => 6,
        R::Resume => 7,
        R::ListEndpoints => 8,
        R::AddEndpoints { .. } => 9,
        R::RemoveEndpoints { .. } => 10,
        R::GetRules { .. } => 11,
        R::GetSettings => 12,
        R::GetBlocked => 13,
        R::GetCounters => 14,
        R::Resolve { .. } => 15,
        R::LearnEndpoints => 16,
    }
}

fn all_bodies() -> Vec<ResponseBody> {
    use ResponseBody as B;
    let mut settings = Settings {
        kill_switch: true,
        pause_until: Some(1_700_000_600),
        endpoints: endpoints(),
        tunnel_patterns: vec!["zt*".into()],
        ..Settings::default()
    };
    settings.allow_dns = true;
    let rules = "table inet airlock {\n\t# \"quoted\" ✓\n}\n";
    vec![
        B::Hello {
            version: PROTOCOL_VERSION,
            server: "airlockd 0.1.0".into(),
        },
        B::Status(status(1)),
        B::Subscribed(status(2)),
        B::Done(status(3)),
        B::Endpoints(endpoints()),
        B::Rules {
            backend: "nft".into(),
            text: rules.into(),
            offset: 0,
            total: rules.len() as u64,
            digest: rules_page::digest(rules),
        },
        B::Settings(settings),
        B::Blocked(blocked_report()),
        B::Counters {
            blocked_packets: Some(u64::MAX),
        },
        B::Counters {
            blocked_packets: None,
        },
        B::Addresses(vec![
            "198.51.100.7".parse().unwrap(),
            "2001:db8::7".parse().unwrap(),
        ]),
    ]
}

fn blocked_report() -> airlock_shared::blocked::BlockedReport {
    use airlock_shared::blocked::{
        BlockedDirection, BlockedEntry, BlockedReport, InterfaceRef, Sender,
    };
    BlockedReport {
        reading: true,
        entries: vec![BlockedEntry {
            dst: "2001:db8::53".parse().unwrap(),
            dst_port: Some(53),
            protocol: airlock_shared::policy::Protocol::Udp,
            direction: BlockedDirection::Out,
            interface: InterfaceRef::Index(3),
            sender: Sender {
                uid: Some(501),
                pid: Some(77),
                process: Some("mDNSResponder".into()),
            },
            name: Some("dns.example".into()),
            last_src: "fd00::2".parse().unwrap(),
            count: u64::MAX,
            first_seen_ms: 1,
            last_seen_ms: 2,
        }],
        rate_dropped: 3,
        evicted: 4,
        problem: None,
    }
}

fn body_variant(b: &ResponseBody) -> usize {
    use ResponseBody as B;
    match b {
        B::Hello { .. } => 0,
        B::Status(_) => 1,
        B::Subscribed(_) => 2,
        B::Done(_) => 3,
        B::Endpoints(_) => 4,
        B::Rules { .. } => 5,
        B::Settings(_) => 6,
        B::Blocked(_) => 7,
        B::Counters { .. } => 8,
        B::Addresses(_) => 9,
    }
}

const ERROR_CODES: [ErrorCode; 9] = [
    ErrorCode::VersionMismatch,
    ErrorCode::HandshakeRequired,
    ErrorCode::NotAuthorized,
    ErrorCode::BadRequest,
    ErrorCode::FrameTooLarge,
    ErrorCode::Firewall,
    ErrorCode::Busy,
    ErrorCode::Internal,
    ErrorCode::Unresolved,
];

fn all_server_messages() -> Vec<ServerMessage> {
    let mut out: Vec<ServerMessage> = all_bodies()
        .into_iter()
        .enumerate()
        .map(|(i, b)| ServerMessage::ok(i as u64 + 1, b))
        .collect();
    for (i, code) in ERROR_CODES.into_iter().enumerate() {
        out.push(ServerMessage::err(
            i as u64,
            IpcError::new(code, format!("because {i}")),
        ));
    }
    out.push(ServerMessage::Event { status: status(9) });
    out
}

// ------------------------------------------------------------- wire format

#[test]
fn samples_cover_every_variant() {
    let mut seen: Vec<usize> = all_requests().iter().map(request_variant).collect();
    seen.sort();
    assert_eq!(seen, (0..17).collect::<Vec<_>>());
    let mut seen: Vec<usize> = all_bodies().iter().map(body_variant).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[test]
fn every_message_round_trips_through_a_frame() {
    for (i, body) in all_requests().into_iter().enumerate() {
        let req = Request {
            id: u64::MAX - i as u64,
            body,
        };
        let frame = encode(&req).unwrap();
        let payload = read_frame(&mut &frame[..]).unwrap().unwrap();
        assert_eq!(decode::<Request>(&payload).unwrap(), req);
    }
    for msg in all_server_messages() {
        let frame = encode(&msg).unwrap();
        let payload = read_frame(&mut &frame[..]).unwrap().unwrap();
        assert_eq!(decode::<ServerMessage>(&payload).unwrap(), msg);
    }
}

#[test]
fn exact_bytes_of_a_small_frame() {
    let frame = encode(&Request {
        id: 1,
        body: RequestBody::GetStatus,
    })
    .unwrap();
    let mut want = vec![0, 0, 0, 28];
    want.extend_from_slice(br#"{"id":1,"body":"get_status"}"#);
    assert_eq!(frame, want);
}

/// Pins the spelling other clients (and older helpers) rely on.
#[test]
fn hand_written_messages_decode() {
    let req: Request =
        decode(br#"{"id":7,"body":{"set_option":{"option":"allow_dns","value":true}}}"#).unwrap();
    assert_eq!(
        req,
        Request {
            id: 7,
            body: RequestBody::SetOption {
                option: OptionName::AllowDns,
                value: true
            }
        }
    );
    let msg: ServerMessage = decode(
        br#"{"response":{"id":3,"result":{"err":{"code":"not_authorized","message":"no"}}}}"#,
    )
    .unwrap();
    assert_eq!(
        msg,
        ServerMessage::err(3, IpcError::new(ErrorCode::NotAuthorized, "no"))
    );
}

#[test]
fn length_prefix_is_big_endian() {
    // 300 bytes: a valid request padded with JSON whitespace.
    let mut payload = br#"{"id":1,"body":"resume"}"#.to_vec();
    payload.resize(300, b' ');
    let mut stream = vec![0, 0, 1, 44];
    stream.extend_from_slice(&payload);
    let mut d = FrameDecoder::new();
    d.push(&stream).unwrap();
    let got = d.next_frame().unwrap().unwrap();
    assert_eq!(got.len(), 300);
    assert_eq!(decode::<Request>(&got).unwrap().body, RequestBody::Resume);
    assert!(d.is_idle());
}

#[test]
fn unknown_fields_and_variants_are_rejected() {
    // (valid, one edit away from valid): the valid one proves the failure
    // comes from the edit.
    let requests = [
        (
            r#"{"id":1,"body":"get_status"}"#,
            r#"{"id":1,"body":"get_status","extra":1}"#,
        ),
        (
            r#"{"id":1,"body":"get_status"}"#,
            r#"{"id":1,"body":"reboot"}"#,
        ),
        (
            r#"{"id":1,"body":"get_status"}"#,
            r#"{"id":-1,"body":"get_status"}"#,
        ),
        (
            r#"{"id":1,"body":{"pause":{"seconds":5}}}"#,
            r#"{"id":1,"body":{"pause":{"seconds":5,"minutes":1}}}"#,
        ),
        (
            r#"{"id":1,"body":{"pause":{"seconds":5}}}"#,
            r#"{"id":1,"body":{"pause":{"seconds":5},"resume":null}}"#,
        ),
        (
            r#"{"id":1,"body":{"set_option":{"option":"allow_lan","value":true}}}"#,
            r#"{"id":1,"body":{"set_option":{"option":"allow_ssh","value":true}}}"#,
        ),
        (
            r#"{"id":1,"body":{"add_endpoints":{"endpoints":[{"address":"198.51.100.7","port":1,"protocol":"udp"}]}}}"#,
            r#"{"id":1,"body":{"add_endpoints":{"endpoints":[{"address":"198.51.100.7","port":1,"protocol":"udp","weight":2}]}}}"#,
        ),
        (
            r#"{"id":1,"body":{"hello":{"version":2,"client":"x"}}}"#,
            r#"{"id":1,"body":{"hello":{"version":2}}}"#,
        ),
        // Protocol 1's GetRules had no offset.
        (
            r#"{"id":1,"body":{"get_rules":{"offset":0}}}"#,
            r#"{"id":1,"body":"get_rules"}"#,
        ),
        (
            r#"{"id":1,"body":{"get_rules":{"offset":0}}}"#,
            r#"{"id":1,"body":{"get_rules":{"offset":-1}}}"#,
        ),
    ];
    for (good, bad) in requests {
        decode::<Request>(good.as_bytes()).unwrap_or_else(|e| panic!("{good}: {e}"));
        let err = decode::<Request>(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, FrameError::Json(_)), "{bad}: {err:?}");
    }

    let status_json = serde_json::to_string(&status(1)).unwrap();
    let event = format!(r#"{{"event":{{"status":{status_json}}}}}"#);
    let tampered = event.replacen(r#""healthy":true"#, r#""healthy":true,"trusted":true"#, 1);
    assert_ne!(tampered, event);
    let server = [
        (event.clone(), tampered),
        (event.clone(), event.replacen("event", "evnt", 1)),
        (
            r#"{"response":{"id":1,"result":{"err":{"code":"busy","message":""}}}}"#.into(),
            r#"{"response":{"id":1,"result":{"err":{"code":"tired","message":""}}}}"#.into(),
        ),
        (
            r#"{"response":{"id":1,"result":{"err":{"code":"busy","message":""}}}}"#.into(),
            r#"{"response":{"id":1,"result":{"err":{"code":"busy","message":"","retry":1}}}}"#
                .into(),
        ),
        (
            r#"{"response":{"id":1,"result":{"ok":{"rules":{"backend":"pf","text":"","offset":0,"total":0,"digest":"cbf29ce484222325"}}}}}"#.into(),
            r#"{"response":{"id":1,"result":{"ok":{"rules":{"backend":"pf","text":"","offset":0,"total":0,"digest":"cbf29ce484222325"}},"err":null}}}"#
                .into(),
        ),
        // A protocol 1 answer: no offset, total or digest.
        (
            r#"{"response":{"id":1,"result":{"ok":{"rules":{"backend":"pf","text":"","offset":0,"total":0,"digest":"cbf29ce484222325"}}}}}"#.into(),
            r#"{"response":{"id":1,"result":{"ok":{"rules":{"backend":"pf","text":""}}}}}"#.into(),
        ),
    ];
    for (good, bad) in server {
        decode::<ServerMessage>(good.as_bytes()).unwrap_or_else(|e| panic!("{good}: {e}"));
        let err = decode::<ServerMessage>(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, FrameError::Json(_)), "{bad}: {err:?}");
    }
}

// ------------------------------------------------------------ frame limits

/// A reader that claims a huge frame and then never runs out of bytes,
/// counting what was taken from it.
struct Endless {
    header: [u8; 4],
    taken: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for b in buf.iter_mut() {
            *b = self.header.get(self.taken).copied().unwrap_or(b'x');
            self.taken += 1;
        }
        Ok(buf.len())
    }
}

#[test]
fn oversized_declared_length_is_refused_after_the_prefix() {
    let mut r = Endless {
        header: u32::MAX.to_be_bytes(),
        taken: 0,
    };
    let err = read_frame(&mut r).unwrap_err();
    assert!(
        matches!(err, FrameError::TooLarge { len } if len == u32::MAX as usize),
        "{err:?}"
    );
    assert_eq!(r.taken, HEADER_LEN, "nothing past the prefix is read");

    // One byte over the limit, offered together with its whole payload:
    // refused without keeping any of it.
    let mut stream = (MAX_FRAME_LEN as u32 + 1).to_be_bytes().to_vec();
    stream.resize(HEADER_LEN + MAX_FRAME_LEN + 1, b' ');
    let mut d = FrameDecoder::new();
    assert!(matches!(
        d.push(&stream),
        Err(FrameError::TooLarge { len }) if len == MAX_FRAME_LEN + 1
    ));
    assert!(d.is_idle());
}

#[test]
fn the_limit_itself_is_allowed() {
    let mut payload = br#"{"id":1,"body":"resume"}"#.to_vec();
    payload.resize(MAX_FRAME_LEN, b'\n');
    let mut stream = (MAX_FRAME_LEN as u32).to_be_bytes().to_vec();
    stream.extend_from_slice(&payload);
    let got = read_frame(&mut &stream[..]).unwrap().unwrap();
    assert_eq!(got.len(), MAX_FRAME_LEN);
    decode::<Request>(&got).unwrap();

    let huge = ServerMessage::ok(
        1,
        ResponseBody::Rules {
            backend: "pf".into(),
            text: "x".repeat(MAX_FRAME_LEN),
            offset: 0,
            total: MAX_FRAME_LEN as u64,
            digest: String::new(),
        },
    );
    assert!(matches!(encode(&huge), Err(FrameError::TooLarge { len }) if len > MAX_FRAME_LEN));
    let mut sink = Vec::new();
    assert!(write_frame(&mut sink, &huge).is_err());
    assert!(sink.is_empty(), "nothing of a refused frame is written");
}

#[test]
fn zero_length_frame_is_an_error() {
    assert!(matches!(
        read_frame(&mut &[0u8, 0, 0, 0][..]),
        Err(FrameError::Empty)
    ));
    assert!(matches!(
        FrameDecoder::new().push(&[0, 0, 0, 0]),
        Err(FrameError::Empty)
    ));
}

#[test]
fn clean_eof_between_frames_and_truncation_inside_one() {
    let one = encode(&Request {
        id: 1,
        body: RequestBody::GetRules { offset: 0 },
    })
    .unwrap();
    let mut two = one.clone();
    two.extend_from_slice(&one);

    let mut r = &two[..];
    assert!(read_frame(&mut r).unwrap().is_some());
    assert!(read_frame(&mut r).unwrap().is_some());
    assert!(read_frame(&mut r).unwrap().is_none());
    assert!(read_frame(&mut &[][..]).unwrap().is_none());

    for cut in 1..one.len() {
        let err = read_frame(&mut &one[..cut]).unwrap_err();
        let want = if cut < HEADER_LEN {
            HEADER_LEN
        } else {
            one.len()
        };
        assert!(
            matches!(err, FrameError::Truncated { expected, got } if expected == want && got == cut),
            "cut at {cut}: {err:?}"
        );
        let mut d = FrameDecoder::new();
        d.push(&one[..cut]).unwrap();
        assert_eq!(d.next_frame().unwrap(), None);
        assert!(matches!(d.finish(), Err(FrameError::Truncated { got, .. }) if got == cut));
    }
}

#[test]
fn decoder_fed_one_byte_at_a_time() {
    let messages = all_server_messages();
    let mut stream = Vec::new();
    for m in &messages {
        write_frame(&mut stream, m).unwrap();
    }
    let mut d = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &stream {
        d.push(std::slice::from_ref(b)).unwrap();
        while let Some(payload) = d.next_frame().unwrap() {
            got.push(decode::<ServerMessage>(&payload).unwrap());
        }
    }
    assert_eq!(got, messages);
    d.finish().unwrap();
}
