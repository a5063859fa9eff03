//! The filtering resolver in the lab: real airlockd, real nft, in the
//! client namespace, with the kill switch on and no tunnel (Blocking).
//! An app's DNS query to the network's resolver is caught by the nft
//! redirect and answered by airlockd itself; nothing reaches the wire.

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
