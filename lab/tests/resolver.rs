//! The filtering resolver in the lab: real airlockd, real nft, in the
//! client namespace, with the kill switch on and no tunnel (Blocking).
//! An app's DNS query to the network's resolver is caught by the nft
//! redirect and answered by airlockd itself; nothing reaches the wire.

#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use airlock_lab::{Airlock, Binaries, Lab, LabError, Ns};
use airlock_shared::dns::{
    check_upstream, parse_query, Header, Name, Rcode, PLACEHOLDER_V4, TYPE_A,
};
use airlock_shared::status::Protection;
use nix::sys::signal::Signal;

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(Name::from_dotted(name).unwrap().wire());
    m.extend_from_slice(&TYPE_A.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// Sends `q` to the lab network's resolver as any app would, and returns
/// the reply (if one came within a second) and how long it took.
fn ask(q: &[u8]) -> (Option<Vec<u8>>, Duration) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let to = SocketAddr::from((airlock_lab::addr::RESOLVER_V4, 53));
    let t = Instant::now();
    s.send_to(q, to)
        .expect("the query is redirected, not refused");
    let mut buf = [0u8; 1500];
    match s.recv(&mut buf) {
        Ok(n) => (Some(buf[..n].to_vec()), t.elapsed()),
        Err(_) => (None, t.elapsed()),
    }
}

#[test]
fn blocking_answers_the_network_check_refuses_the_rest_and_leaks_nothing() {
    let lab = match Lab::start() {
        Ok(l) => l,
        Err(e @ (LabError::NotRoot | LabError::MissingTool(_))) => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("lab: {e}"),
    };
    let mut lab = lab;
    let bins = Binaries::locate().unwrap_or_else(|e| panic!("{e}"));
    let mut al = Airlock::new(&lab, bins);
    al.start(&mut lab).unwrap();
    al.ctl(&lab, &["endpoints", "add", "198.51.100.7:1194/udp"])
        .unwrap();
    al.ctl(&lab, &["enable"]).unwrap();
    al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
        st.protection == Protection::Blocking
    })
    .unwrap();
    let rules = lab
        .client_exec(&["nft", "list", "table", "inet", "airlock"])
        .unwrap();
    assert!(
        rules.contains("chain dns_redirect"),
        "no DNS redirect while blocking:\n{rules}"
    );
    let meter = lab.meter_start().unwrap();
    let (check, other, placeholder) = lab
        .ns(Ns::Client)
        .enter(|| {
            let mut times = Vec::new();
            let mut last = None;
            for i in 0..20u16 {
                let (reply, took) = ask(&query(0x100 + i, "nmcheck.gnome.org"));
                times.push(took);
                last = reply;
            }
            times.sort();
            let other = ask(&query(0x200, "example.com"));
            let t = Instant::now();
            let tcp = TcpStream::connect_timeout(
                &SocketAddr::from((PLACEHOLDER_V4, 80)),
                Duration::from_secs(2),
            );
            (
                (last, times),
                other,
                (tcp.map(|_| ()).map_err(|e| e.kind()), t.elapsed()),
            )
        })
        .unwrap();
    let capture = meter.stop().unwrap();
    al.stop(&mut lab, Signal::SIGTERM);

    let ((reply, times), (other_reply, _), (tcp, tcp_took)) = (check, other, placeholder);
    let reply =
        reply.unwrap_or_else(|| panic!("the network check got no answer:\n{}", al.log(&lab)));
    let q = parse_query(&query(0x113, "nmcheck.gnome.org")).unwrap();
    let a = check_upstream(&reply, 0x113, &q.question).unwrap();
    assert_eq!(a.addresses[0].0, std::net::IpAddr::V4(PLACEHOLDER_V4));
    eprintln!(
        "network-check answer through the nft redirect: median {:?}, max {:?} (20 queries)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert!(times[times.len() - 1] < Duration::from_millis(200));
    let other_reply = other_reply.expect("other names are refused at once, not left to time out");
    assert_eq!(Header::read(&other_reply).unwrap().rcode(), Rcode::Refused);
    eprintln!("TCP connect to the placeholder: {tcp:?} after {tcp_took:?}");
    assert_eq!(tcp, Err(ErrorKind::ConnectionRefused));
    assert!(tcp_took < Duration::from_millis(200));
    assert!(
        capture.leaks.is_empty(),
        "leaks while blocking:\n{}",
        capture.report()
    );
}

/// Answers every A query for `vpn.lab.test` with `addr`, REFUSED for the
/// rest; the lab network's resolver, in the "internet" namespace. Stops
/// when `stop` is set (checked every 100 ms).
fn stand_in_resolver(
    ns: String,
    addr: [u8; 4],
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        airlock_lab::netns::enter_by_name(&ns, || {
            let s = UdpSocket::bind((airlock_lab::addr::RESOLVER_V4, 53)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut served = 0;
            let mut buf = [0u8; 1500];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, from)) = s.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(q) = parse_query(&buf[..n]) else {
                    continue;
                };
                let mut m = buf[..n].to_vec();
                m[2] |= 0x80;
                m[3] |= 0x80;
                if q.question.name == Name::from_dotted("vpn.lab.test").unwrap() {
                    m[7] = 1;
                    m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
                    m.extend_from_slice(&addr);
                } else {
                    m[3] |= 5;
                }
                served += 1;
                let _ = s.send_to(&m, from);
            }
            served
        })
        .unwrap()
    })
}

#[test]
fn blocking_forwards_a_vpn_name_and_pins_the_answer_first() {
    let mut lab = match Lab::start() {
        Ok(l) => l,
        Err(e @ (LabError::NotRoot | LabError::MissingTool(_))) => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("lab: {e}"),
    };
    // The client's resolv.conf names the lab network's resolver (`ip netns
    // exec` shows this file as /etc/resolv.conf inside the namespace).
    let etc = std::path::PathBuf::from("/etc/netns").join(lab.ns(Ns::Client).name());
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("resolv.conf"),
        format!("nameserver {}\n", airlock_lab::addr::RESOLVER_V4),
    )
    .unwrap();
    let bins = Binaries::locate().unwrap_or_else(|e| panic!("{e}"));
    let mut al = Airlock::new(&lab, bins);
    std::fs::create_dir_all(&al.state_dir).unwrap();
    std::fs::write(
        al.state_dir.join("settings.toml"),
        "kill_switch = true\n\
         [[endpoints]]\n\
         address = \"198.51.100.7\"\nport = 1194\nprotocol = \"udp\"\nhost = \"vpn.lab.test\"\n",
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upstream = stand_in_resolver(
        lab.ns(Ns::Inet).name().to_string(),
        [198, 51, 100, 9],
        stop.clone(),
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        al.start(&mut lab).unwrap();
        al.wait_status(&lab, "blocking", Duration::from_secs(3), |st| {
            st.protection == Protection::Blocking
        })
        .unwrap();
        let (reply, took) = lab
            .ns(Ns::Client)
            .enter(|| ask(&query(0x4242, "vpn.lab.test")))
            .unwrap();
        let reply =
            reply.unwrap_or_else(|| panic!("no answer for the VPN name:\n{}", al.log(&lab)));
        let q = parse_query(&query(0x4242, "vpn.lab.test")).unwrap();
        let a = check_upstream(&reply, 0x4242, &q.question).unwrap();
        eprintln!("VPN name forwarded, pinned and relayed in {took:?}");
        assert_eq!(a.addresses[0].0.to_string(), "198.51.100.9");
        // Pinned before the asker saw the answer: the kernel has it now.
        let set = lab
            .client_exec(&["nft", "list", "set", "inet", "airlock", "endpoints_v4"])
            .unwrap();
        assert!(set.contains("198.51.100.9 . udp . 1194"), "{set}");
        let st = al.status(&lab).unwrap();
        let r = st.resolver.expect("status has the resolver");
        assert_eq!(r.pinned.len(), 1, "{r:?}");
        eprintln!("status: {}", r.summary());
    }));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = upstream.join().unwrap_or(0);
    al.stop(&mut lab, Signal::SIGTERM);
    let _ = std::fs::remove_dir_all(&etc);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert_eq!(
        served, 1,
        "the network's resolver saw exactly the helper's one query"
    );
}
