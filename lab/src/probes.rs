//! The leaky probes: one packet (or handshake) of each kind an app sends —
//! TCP, UDP, ICMP echo, a DNS query to a public resolver — written in Rust
//! with plain sockets so the lab needs no ping/nc/dig. A probe runs in the
//! calling thread's network namespace (see [`crate::Lab::probe`]); what it
//! reports is how the *sender* saw it, while the meter reports what reached
//! the wire. A kill switch must make both say "nothing got out".

use std::fmt;
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recv, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol,
    SockType, SockaddrIn, SockaddrIn6,
};
use nix::sys::time::TimeVal;

use crate::addr;
use crate::classify::{PacketSummary, Proto};

/// The kinds of traffic the suite checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Tcp,
    Udp,
    Icmp,
    Dns,
}

/// One probe: a kind and a destination (the port is unused for ICMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Probe {
    pub kind: ProbeKind,
    pub dst: SocketAddr,
}

/// How the sending side saw a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The far end answered; for TCP/UDP to the web service, with the
    /// source address it saw (tunnel or wire).
    Answered { seen_as: Option<String> },
    /// Failed fast: refused, unreachable, or not permitted (what a kill
    /// switch's reject looks like), with the reason.
    Rejected(String),
    /// No answer within the timeout (what a silent drop looks like).
    TimedOut,
}

impl Outcome {
    /// The source address the web service reported, if it answered.
    pub fn seen_as(&self) -> Option<&str> {
        match self {
            Outcome::Answered { seen_as } => seen_as.as_deref(),
            _ => None,
        }
    }
}

impl Probe {
    /// TCP to the web service (which answers with the address it saw).
    pub fn tcp(ip: IpAddr) -> Self {
        Probe {
            kind: ProbeKind::Tcp,
            dst: SocketAddr::new(ip, addr::WEB_TCP_PORT),
        }
    }

    /// UDP to the web service's UDP port (also answers with the address).
    pub fn udp(ip: IpAddr) -> Self {
        Probe {
            kind: ProbeKind::Udp,
            dst: SocketAddr::new(ip, addr::WEB_UDP_PORT),
        }
    }

    /// ICMP / ICMPv6 echo request.
    pub fn icmp(ip: IpAddr) -> Self {
        Probe {
            kind: ProbeKind::Icmp,
            dst: SocketAddr::new(ip, 0),
        }
    }

    /// A DNS query over UDP port 53.
    pub fn dns(ip: IpAddr) -> Self {
        Probe {
            kind: ProbeKind::Dns,
            dst: SocketAddr::new(ip, 53),
        }
    }

    /// The leaky set: TCP, UDP and ICMP to the web service and DNS
    /// to the public resolver, each over IPv4 and IPv6.
    pub fn leaky_set() -> Vec<Probe> {
        let web = [IpAddr::V4(addr::WEB_V4), IpAddr::V6(addr::WEB_V6)];
        let resolver = [IpAddr::V4(addr::RESOLVER_V4), IpAddr::V6(addr::RESOLVER_V6)];
        let mut set = Vec::new();
        for i in 0..2 {
            set.push(Probe::tcp(web[i]));
            set.push(Probe::udp(web[i]));
            set.push(Probe::icmp(web[i]));
            set.push(Probe::dns(resolver[i]));
        }
        set
    }

    /// Short name such as `tcp6` for reports.
    pub fn class_name(&self) -> String {
        let kind = match self.kind {
            ProbeKind::Tcp => "tcp",
            ProbeKind::Udp => "udp",
            ProbeKind::Icmp => "icmp",
            ProbeKind::Dns => "dns",
        };
        format!("{kind}{}", if self.dst.is_ipv4() { 4 } else { 6 })
    }

    /// True if `packet` on the wire is (part of) this probe: same
    /// destination, protocol and port, or an echo request for ICMP.
    pub fn matches(&self, packet: &PacketSummary) -> bool {
        if packet.dst != self.dst.ip() {
            return false;
        }
        match self.kind {
            ProbeKind::Tcp => packet.proto == Proto::Tcp && packet.dport == Some(self.dst.port()),
            ProbeKind::Udp | ProbeKind::Dns => {
                packet.proto == Proto::Udp && packet.dport == Some(self.dst.port())
            }
            ProbeKind::Icmp => matches!(
                (packet.proto, packet.icmp_type),
                (Proto::Icmp, Some(8)) | (Proto::Icmpv6, Some(128))
            ),
        }
    }

    /// Sends the probe from the current thread's namespace and waits up to
    /// `timeout` for an answer.
    pub fn run(&self, timeout: Duration) -> Outcome {
        let result = match self.kind {
            ProbeKind::Tcp => tcp(self.dst, timeout),
            ProbeKind::Udp => udp(self.dst, b"airlock-lab-probe\n", timeout),
            ProbeKind::Dns => dns(self.dst, timeout),
            ProbeKind::Icmp => icmp_echo(self.dst.ip(), timeout),
        };
        result.unwrap_or_else(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Outcome::TimedOut,
            _ => Outcome::Rejected(e.to_string()),
        })
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ProbeKind::Icmp => write!(f, "{} {}", self.class_name(), self.dst.ip()),
            _ => write!(f, "{} {}", self.class_name(), self.dst),
        }
    }
}

fn tcp(dst: SocketAddr, timeout: Duration) -> io::Result<Outcome> {
    let conn = WebConn::open(dst, timeout)?;
    Ok(Outcome::Answered {
        seen_as: Some(conn.seen_as.clone()),
    })
}

fn udp(dst: SocketAddr, payload: &[u8], timeout: Duration) -> io::Result<Outcome> {
    let local: SocketAddr = match dst {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    sock.connect(dst)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.send(payload)?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf)?;
    let text = String::from_utf8_lossy(&buf[..n]);
    // The web service answers with the peer address; a DNS server would
    // answer with a binary message, which says nothing about the source.
    let seen_as = text
        .trim()
        .parse::<SocketAddr>()
        .ok()
        .map(|a| a.to_string());
    Ok(Outcome::Answered { seen_as })
}

/// A DNS query. A REFUSED reply without answers is a refusal, not an
/// answer: Airlock's own resolver gives it at once while blocking, from
/// this machine, without anything reaching the wire (the meter checks
/// that part); any other reply is an answer.
fn dns(dst: SocketAddr, timeout: Duration) -> io::Result<Outcome> {
    let local: SocketAddr = match dst {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    sock.connect(dst)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.send(&dns_query(dst.is_ipv6()))?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf)?;
    let reply = &buf[..n];
    let refused = n >= 12 && reply[3] & 0x0F == 5 && reply[6..8] == [0, 0];
    if refused {
        return Ok(Outcome::Rejected("REFUSED, no answer".to_string()));
    }
    Ok(Outcome::Answered { seen_as: None })
}

/// A DNS query, A or AAAA, for a name under example.com.
fn dns_query(v6: bool) -> Vec<u8> {
    use airlock_shared::dns::{query, Name, TYPE_A, TYPE_AAAA};
    let name = Name::from_dotted("airlock-lab.example.com")
        .unwrap_or_else(|e| unreachable!("a valid literal name: {e}"));
    query(0x4c41, &name, if v6 { TYPE_AAAA } else { TYPE_A })
}

/// A TCP connection to the web service that stays open: scenarios check a
/// live connection through the tunnel keeps working, or is cut.
#[derive(Debug)]
pub struct WebConn {
    reader: BufReader<TcpStream>,
    /// The client address the web service saw (`ip:port`).
    pub seen_as: String,
}

impl WebConn {
    /// Connects (from the current thread's namespace) and reads the
    /// service's first line, the address it saw.
    pub fn open(dst: SocketAddr, timeout: Duration) -> io::Result<WebConn> {
        let stream = TcpStream::connect_timeout(&dst, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.is_empty() {
            return Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                "web service closed",
            ));
        }
        Ok(WebConn {
            reader,
            seen_as: line.trim().to_string(),
        })
    }

    /// Sends one line and waits for its echo; an error means the
    /// connection is cut (reset) or stalled (timeout).
    pub fn echo(&mut self, text: &str) -> io::Result<()> {
        let line = format!("{text}\n");
        self.reader.get_mut().write_all(line.as_bytes())?;
        let mut back = String::new();
        self.reader.read_line(&mut back)?;
        if back == line {
            Ok(())
        } else {
            Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("echo {back:?} for {line:?}"),
            ))
        }
    }

    /// Changes how long [`WebConn::echo`] waits.
    pub fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(timeout))
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.reader.get_ref().local_addr()
    }
}

static ICMP_IDS: AtomicU16 = AtomicU16::new(1);

/// One ICMP echo over a raw socket (we are root; the lab checks). An
/// unreachable for our own echo counts as a rejection.
fn icmp_echo(dst: IpAddr, timeout: Duration) -> io::Result<Outcome> {
    let v4 = dst.is_ipv4();
    let (family, proto) = if v4 {
        (AddressFamily::Inet, SockProtocol::Icmp)
    } else {
        (AddressFamily::Inet6, SockProtocol::IcmpV6)
    };
    let fd = socket(family, SockType::Raw, SockFlag::SOCK_CLOEXEC, proto)?;
    // Short receive timeout: the loop below re-checks its own deadline.
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 50_000))?;
    // A fresh id per probe, as a fresh `ping` would have: conntrack keys
    // ICMP flows by id, and reusing one would reuse an old flow's NAT
    // mapping (a guest echo would then leave the tunnel with the wire's
    // source address and the VPN server would drop it).
    let id = (std::process::id() as u16)
        .wrapping_mul(31)
        .wrapping_add(ICMP_IDS.fetch_add(1, Ordering::Relaxed));
    let seq: u16 = 1;
    let mut packet = vec![if v4 { 8 } else { 128 }, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(b"airlock-lab-icmp-probe");
    if v4 {
        // The kernel fills in the ICMPv6 checksum, not the ICMPv4 one.
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let raw = fd.as_raw_fd();
    match dst {
        IpAddr::V4(ip) => sendto(
            raw,
            &packet,
            &SockaddrIn::from(std::net::SocketAddrV4::new(ip, 0)),
            MsgFlags::empty(),
        ),
        IpAddr::V6(ip) => sendto(
            raw,
            &packet,
            &SockaddrIn6::from(std::net::SocketAddrV6::new(ip, 0, 0, 0)),
            MsgFlags::empty(),
        ),
    }?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    while Instant::now() < deadline {
        let n = match recv(raw, &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        // IPv4 raw sockets deliver the IP header, IPv6 ones do not.
        let msg = if v4 {
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            &buf[ihl.min(n)..n]
        } else {
            &buf[..n]
        };
        if let Some(outcome) = icmp_reply(msg, v4, id, seq) {
            return Ok(outcome);
        }
    }
    Ok(Outcome::TimedOut)
}

/// Reads one received ICMP message: our echo reply, an unreachable about
/// our echo, or `None` for anything else.
fn icmp_reply(msg: &[u8], v4: bool, id: u16, seq: u16) -> Option<Outcome> {
    let ours = |at: usize| {
        msg.get(at..at + 4)
            .is_some_and(|b| b[..2] == id.to_be_bytes() && b[2..] == seq.to_be_bytes())
    };
    let (reply, unreachable) = if v4 { (0, 3) } else { (129, 1) };
    let ty = *msg.first()?;
    if ty == reply && ours(4) {
        return Some(Outcome::Answered { seen_as: None });
    }
    if ty == unreachable {
        // Quoted original: IP header, then our echo's header.
        let inner = msg.get(8..)?;
        let inner_icmp = if v4 {
            8 + usize::from(inner.first()? & 0x0f) * 4
        } else {
            8 + 40
        };
        if ours(inner_icmp + 4) {
            let code = msg.get(1).copied().unwrap_or(0);
            return Some(Outcome::Rejected(format!("ICMP unreachable, code {code}")));
        }
    }
    None
}

/// The Internet checksum (RFC 1071), for the ICMP and IGMP messages the
/// lab builds by hand (the probes here, the misuser's raw packets).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_checksum_of_a_known_echo_request() {
        // Echo request id 1 seq 1, no payload: 0x0800 + 0x0001 + 0x0001.
        let packet = [8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(checksum(&packet), !0x0802);
        let mut with_sum = packet;
        with_sum[2..4].copy_from_slice(&checksum(&packet).to_be_bytes());
        assert_eq!(checksum(&with_sum), 0);
    }

    #[test]
    fn only_our_own_echo_reply_or_unreachable_counts() {
        let reply = [0, 0, 0, 0, 0x12, 0x34, 0, 7];
        assert_eq!(
            icmp_reply(&reply, true, 0x1234, 7),
            Some(Outcome::Answered { seen_as: None })
        );
        assert_eq!(icmp_reply(&reply, true, 0x1234, 8), None);
        assert_eq!(icmp_reply(&reply, false, 0x1234, 7), None);
        // Port unreachable quoting an IPv4 header (IHL 5) and our echo.
        let mut unreach = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45];
        unreach.resize(8 + 20, 0);
        unreach.extend_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 7]);
        assert_eq!(
            icmp_reply(&unreach, true, 0x1234, 7),
            Some(Outcome::Rejected("ICMP unreachable, code 3".into()))
        );
    }

    #[test]
    fn probes_match_only_their_own_packets() {
        let web: IpAddr = addr::WEB_V4.into();
        let pkt = |proto: Proto, dport: Option<u16>, icmp_type: Option<u8>| PacketSummary {
            time: 0.0,
            src: addr::CLIENT_V4.into(),
            dst: web,
            proto,
            sport: dport.map(|_| 40000),
            dport,
            icmp_type,
            tcp_flags: None,
            len: 60,
        };
        let syn = pkt(Proto::Tcp, Some(80), None);
        assert!(Probe::tcp(web).matches(&syn));
        assert!(!Probe::udp(web).matches(&syn));
        assert!(!Probe::tcp(addr::WEB_V6.into()).matches(&syn));
        let echo = pkt(Proto::Icmp, None, Some(8));
        assert!(Probe::icmp(web).matches(&echo));
        assert!(!Probe::icmp(web).matches(&pkt(Proto::Icmp, None, Some(0))));
        assert!(!Probe::dns(web).matches(&pkt(Proto::Udp, Some(7), None)));
    }

    #[test]
    fn dns_query_asks_one_question_of_the_right_type() {
        let q = dns_query(true);
        assert_eq!(&q[4..6], &[0, 1]);
        assert_eq!(&q[q.len() - 4..], &[0, 28, 0, 1]);
        assert_eq!(dns_query(false)[q.len() - 3], 1);
    }
}
