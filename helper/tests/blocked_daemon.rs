//! `GetBlocked` end to end: the real `airlockd` in a namespace this test
//! creates, the kill switch on, a process running as nobody sends what the
//! rules refuse, and any local client can read who sent what. Needs root,
//! `nft`, `ip`, `setpriv`; skips with a message without them.

#![cfg(target_os = "linux")]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use airlock_shared::blocked::{BlockedDirection, BlockedReport, InterfaceRef};
use airlock_shared::ipc::protocol::{RequestBody, ResponseBody};
use airlock_shared::policy::Protocol;

mod support;
use support::{open_tempdir, Helper, Netns, Paths};

fn blocked(c: &mut airlock_client::Client) -> BlockedReport {
    match c.request(RequestBody::GetBlocked).unwrap() {
        ResponseBody::Blocked(r) => r,
        other => panic!("expected the blocked list, got {other:?}"),
    }
}

#[test]
fn blocked_traffic_is_listed_with_its_sender() {
    if !support::ready_with(&["nft", "ip", "setpriv"]) {
        return;
    }
    let ns = Netns::new();
    ns.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.exec(&["ip", "addr", "add", "10.66.0.2/24", "dev", "eth0"]);
    ns.exec(&["ip", "link", "set", "peer0", "up"]);
    ns.exec(&["ip", "link", "set", "eth0", "up"]);
    let dir = open_tempdir();
    let paths = Paths::in_dir(dir.path());
    let helper = Helper::start(&ns, &paths);
    let mut c = helper.client();
    match c.request(RequestBody::Enable).unwrap() {
        ResponseBody::Done(_) => {}
        other => panic!("enable: {other:?}"),
    }
    let before = blocked(&mut c);
    assert!(before.reading, "the helper reads the log: {before:?}");

    ns.exec(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "bash",
        "-c",
        "for i in 1 2; do echo x 2>/dev/null > /dev/udp/10.66.0.9/5533; done; true",
    ]);
    let start = Instant::now();
    let entry = loop {
        let r = blocked(&mut c);
        let hit = r.entries.into_iter().find(|e| e.dst_port == Some(5533));
        match hit {
            Some(e) if e.count >= 2 => break e,
            _ if start.elapsed() > Duration::from_secs(5) => {
                panic!("not listed within 5 s:\n{}", helper.log_text())
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    assert_eq!(entry.dst, "10.66.0.9".parse::<IpAddr>().unwrap());
    assert_eq!(entry.protocol, Protocol::Udp);
    assert_eq!(entry.direction, BlockedDirection::Out);
    assert_eq!(entry.interface, InterfaceRef::Name("eth0".into()));
    assert_eq!(entry.sender.uid, Some(65534));
    assert_eq!(entry.count, 2);
}
