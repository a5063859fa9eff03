//! "Recently blocked" on Linux against the real kernel, in a network
//! namespace this test creates (and deletes): Airlock's own rendered
//! ruleset logs what its final rules refuse to NFLOG, the helper's reader
//! decodes it, the table aggregates it. Needs root, `nft`, `ip`, `setpriv`;
//! skips with a message without them.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::net::{IpAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airlock_helper::blocked::{self, nflog_linux::NflogSocket};
use airlock_shared::blocked::nflog::Message;
use airlock_shared::blocked::{BlockedDirection, BlockedTable, InterfaceRef, Limits, NoNames};
use airlock_shared::endpoint::Endpoint;
use airlock_shared::network::{Interface, NetworkSnapshot, Route};
use airlock_shared::platform::Platform;
use airlock_shared::policy::{self, BlockLog, Protocol};
use airlock_shared::render::nft;
use airlock_shared::settings::Settings;
use airlock_test_support::network;

mod support;
use support::Netns;

const BLOCKED_DST: &str = "10.66.0.9";
const NOBODY: u32 = 65534;

fn iface(name: &str, addrs: &[&str]) -> Interface {
    network::iface(Platform::Linux, name, addrs)
}

/// A namespace with one "physical" interface (eth0, one end of a veth pair, on-link
/// 10.66.0.0/24) and Airlock's rendered ruleset for it loaded: the kill
/// switch on, no tunnel, one VPN server elsewhere.
fn locked_namespace() -> (Netns, BlockLog) {
    let ns = Netns::new();
    ns.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.exec(&["ip", "addr", "add", "10.66.0.2/24", "dev", "eth0"]);
    ns.exec(&["ip", "link", "set", "peer0", "up"]);
    ns.exec(&["ip", "link", "set", "eth0", "up"]);
    let snapshot = NetworkSnapshot {
        interfaces: vec![
            iface("lo", &["127.0.0.1/8"]),
            iface("eth0", &["10.66.0.2/24"]),
        ],
        routes: vec![Route {
            destination: "10.66.0.0/24".parse().unwrap(),
            gateway: None,
            interface: "eth0".into(),
        }],
        dns: vec![],
    };
    let settings = Settings {
        kill_switch: true,
        endpoints: vec!["198.51.100.7:1194/udp".parse::<Endpoint>().unwrap()],
        ..Settings::default()
    };
    let policy = policy::build(&settings, &snapshot, Platform::Linux, 1_795_694_400);
    let log = policy
        .log_blocked
        .expect("an enforcing policy logs what it blocks");
    let mut nft_cmd = Command::new("ip")
        .args(["netns", "exec", &ns.0, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    nft_cmd
        .stdin
        .take()
        .unwrap()
        .write_all(nft::render(&policy).as_bytes())
        .unwrap();
    assert!(nft_cmd.wait().unwrap().success(), "loading the ruleset");
    (ns, log)
}

fn blocked_out_packets(ns: &Netns) -> u64 {
    let text = ns.exec(&["nft", "list", "counter", "inet", "airlock", "blocked_out"]);
    // The last "packets N": the comment also says "packets".
    let after = text.rsplit("packets ").next().expect("a counter line");
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// Reads until `want` packets arrived or `limit` passed; records them.
fn collect(
    sock: &mut NflogSocket,
    table: &mut BlockedTable,
    want: usize,
    limit: Duration,
) -> usize {
    let start = Instant::now();
    let mut got = 0;
    while got < want && start.elapsed() < limit {
        for m in sock.read().unwrap() {
            if let Ok(Message::Packet(mut p)) = m {
                blocked::name_interface(&mut p.event);
                let now = start.elapsed().as_millis() as u64;
                table.record(&p.event, now, &NoNames);
                got += 1;
            }
        }
    }
    got
}

#[test]
fn blocked_udp_appears_with_destination_direction_count_and_uid() {
    if !support::ready_with(&["nft", "ip", "setpriv"]) {
        return;
    }
    let (ns, log) = locked_namespace();
    let entries = ns.within(|| {
        let mut sock = NflogSocket::open(log.group, log.snaplen).unwrap();
        sock.set_timeout(Duration::from_millis(200)).unwrap();
        // Three datagrams from a process running as nobody, each from its
        // own socket (bash opens /dev/udp afresh per redirection). Not to
        // port 53: while blocking, DNS goes to Airlock's resolver instead
        // of being refused.
        let script = format!(
            "for i in 1 2 3; do echo x 2>/dev/null > /dev/udp/{BLOCKED_DST}/5060; done; true"
        );
        let status = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["bash", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success());
        let mut table = BlockedTable::new(Limits::default());
        let got = collect(&mut sock, &mut table, 3, Duration::from_secs(5));
        assert_eq!(got, 3, "three blocked datagrams logged");
        table.snapshot()
    });
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let e = &entries[0];
    assert_eq!(e.dst, BLOCKED_DST.parse::<IpAddr>().unwrap());
    assert_eq!(e.dst_port, Some(5060));
    assert_eq!(e.protocol, Protocol::Udp);
    assert_eq!(e.direction, BlockedDirection::Out);
    assert_eq!(e.interface, InterfaceRef::Name("eth0".into()));
    assert_eq!(e.sender.uid, Some(NOBODY));
    assert_eq!(e.count, 3);
    assert_eq!(e.last_src, "10.66.0.2".parse::<IpAddr>().unwrap());
}

fn thread_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is valid on Linux.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 100,000 blocked datagrams to 100,000 (address, port) pairs: every one
/// is refused and counted by the kernel, only the rate-limited sample
/// reaches the reader, and the table stays within its bound. Prints the
/// reader's CPU time and the process RSS (figures, not assertions).
#[test]
fn flood_of_blocked_packets_is_limited_in_the_kernel_and_bounded_in_the_table() {
    if !support::ready() {
        return;
    }
    const FLOOD: u64 = 100_000;
    let (ns, log) = locked_namespace();
    let before = blocked_out_packets(&ns);
    let limits = Limits::default();
    let (got, table_len, cpu, rss0, rss1, secs) = ns.within(|| {
        let mut sock = NflogSocket::open(log.group, log.snaplen).unwrap();
        sock.set_timeout(Duration::from_millis(100)).unwrap();
        let rss0 = rss_kib();
        let start = Instant::now();
        let sender = std::thread::spawn(|| {
            let s = UdpSocket::bind("10.66.0.2:0").unwrap();
            for i in 0..FLOOD as u32 {
                let dst = format!("10.66.0.{}:{}", 10 + i % 200, 1024 + i % 50_000);
                let _ = s.send_to(b"x", dst.as_str());
            }
        });
        let cpu0 = thread_cpu_seconds();
        let mut table = BlockedTable::new(limits);
        let mut got = 0;
        while !sender.is_finished() {
            got += collect(
                &mut sock,
                &mut table,
                usize::MAX,
                Duration::from_millis(100),
            );
        }
        sender.join().unwrap();
        got += collect(
            &mut sock,
            &mut table,
            usize::MAX,
            Duration::from_millis(500),
        );
        let cpu = thread_cpu_seconds() - cpu0;
        (
            got,
            table.len(),
            cpu,
            rss0,
            rss_kib(),
            start.elapsed().as_secs_f64(),
        )
    });
    let counted = blocked_out_packets(&ns) - before;
    println!(
        "flood: {FLOOD} blocked datagrams in {secs:.2} s; kernel counter +{counted}; \
         {got} logged to the reader (limit {}/s burst {}); table {table_len}/{} entries; \
         reader CPU {cpu:.3} s; RSS {rss0} KiB -> {rss1} KiB",
        log.per_second,
        log.per_second * 2,
        limits.max_entries,
    );
    assert!(
        counted >= FLOOD,
        "every datagram was refused by our rule: +{counted}"
    );
    assert!(got > 0, "some were logged");
    assert!(
        (got as u64) < FLOOD / 10,
        "the kernel limit held the log to a sample: {got}"
    );
    assert!(table_len <= limits.max_entries);
}
