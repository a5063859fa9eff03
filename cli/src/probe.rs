//! The self-test's attempts: one socket bound to one interface, one try,
//! and what the socket said, as a [`selftest::Outcome`]. Every judgement
//! is in `airlock_shared::selftest`; binding to an interface is the only
//! per-platform part (`probe_linux.rs`, `probe_macos.rs`).

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

use airlock_shared::dns::{self, Header, Name, Rcode, TYPE_A};
use airlock_shared::selftest::{Outcome, Planned, Probe, PROBE_NAME};
use socket2::{Domain, Protocol, Socket, Type};

#[cfg(target_os = "linux")]
#[path = "probe_linux.rs"]
mod bind;
#[cfg(target_os = "macos")]
#[path = "probe_macos.rs"]
mod bind;

/// The payload of the UDP probe: says what it is to anyone who sees it.
const UDP_PAYLOAD: &[u8] = b"airlock self-test: this datagram must not leave the machine";

/// What the DNS probe's answer was, when one came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsAnswer {
    Refused,
    Other,
}

/// Makes one attempt. `resolver_active`: Airlock's resolver answers DNS
/// now (blocking), so a REFUSED answer is its own.
pub fn attempt(p: &Planned, timeout: Duration, resolver_active: bool) -> Outcome {
    let result = match p.probe {
        Probe::Tcp => tcp(p, timeout),
        Probe::Udp => udp(p, timeout, UDP_PAYLOAD).map(|_| ()),
        Probe::Dns => match dns_probe(p, timeout) {
            Ok(DnsAnswer::Refused) if resolver_active => return Outcome::RefusedByResolver,
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => Outcome::Reached,
        Err(e) => outcome_of(&e),
    }
}

/// What an error from a socket means for the self-test. Airlock's Linux
/// rules reset TCP and answer UDP with ICMP "administratively prohibited",
/// which the kernel reports as ECONNREFUSED and EHOSTUNREACH; a local
/// drop is EPERM. Whether it was really Airlock is the counters' call.
pub fn outcome_of(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::PermissionDenied
        | io::ErrorKind::HostUnreachable => Outcome::Refused,
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => Outcome::NoRoute,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Outcome::TimedOut,
        _ => Outcome::Other(e.to_string()),
    }
}

fn socket(p: &Planned, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(p.to), ty, Some(proto))?;
    if let Some(interface) = &p.interface {
        bind::to_interface(&s, interface, p.to)?;
    }
    Ok(s)
}

fn tcp(p: &Planned, timeout: Duration) -> io::Result<()> {
    let s = socket(p, Type::STREAM, Protocol::TCP)?;
    s.connect_timeout(&p.to.into(), timeout)
}

/// Sends `payload` and waits for any answer. Errors the kernel learns
/// from ICMP come back on the connected socket's receive.
fn udp(p: &Planned, timeout: Duration, payload: &[u8]) -> io::Result<Vec<u8>> {
    let s = socket(p, Type::DGRAM, Protocol::UDP)?;
    s.connect(&p.to.into())?;
    s.set_read_timeout(Some(timeout))?;
    s.send(payload)?;
    let mut buf = [MaybeUninit::<u8>::uninit(); dns::MAX_MESSAGE_LEN];
    let n = s.recv(&mut buf)?;
    // SAFETY: recv initialised the first n bytes.
    Ok(buf[..n]
        .iter()
        .map(|b| unsafe { b.assume_init() })
        .collect())
}

fn dns_probe(p: &Planned, timeout: Duration) -> io::Result<DnsAnswer> {
    let name = Name::from_dotted(PROBE_NAME).map_err(io::Error::other)?;
    let id = std::process::id() as u16;
    let reply = udp(p, timeout, &dns::query(id, &name, TYPE_A))?;
    Ok(read_answer(&reply, id))
}

/// An answer with our id and REFUSED is [`DnsAnswer::Refused`]; anything
/// else that came back is an answer all the same (something reached a
/// resolver, or something answered for one).
pub fn read_answer(reply: &[u8], id: u16) -> DnsAnswer {
    match Header::read(reply) {
        Ok(h) if h.id == id && h.is_response() && h.rcode() == Rcode::Refused => DnsAnswer::Refused,
        _ => DnsAnswer::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_shared::dns::{parse_query, refused};

    #[test]
    fn socket_errors_map_to_outcomes() {
        use io::ErrorKind as K;
        for k in [
            K::ConnectionRefused,
            K::PermissionDenied,
            K::HostUnreachable,
        ] {
            assert_eq!(outcome_of(&io::Error::from(k)), Outcome::Refused, "{k:?}");
        }
        assert_eq!(
            outcome_of(&io::Error::from(K::NetworkUnreachable)),
            Outcome::NoRoute
        );
        assert_eq!(
            outcome_of(&io::Error::from(K::WouldBlock)),
            Outcome::TimedOut
        );
        assert!(matches!(
            outcome_of(&io::Error::from(K::InvalidInput)),
            Outcome::Other(_)
        ));
    }

    /// The resolver's own REFUSED (built by the helper's code) is read as
    /// such; another id, or another answer, is not.
    #[test]
    fn only_a_refused_answer_to_our_question_counts_as_refused() {
        let name = Name::from_dotted(PROBE_NAME).unwrap();
        let q = dns::query(0x1234, &name, TYPE_A);
        let answer = refused(&parse_query(&q).unwrap());
        assert_eq!(read_answer(&answer, 0x1234), DnsAnswer::Refused);
        assert_eq!(read_answer(&answer, 0x4321), DnsAnswer::Other);
        assert_eq!(
            read_answer(&q, 0x1234),
            DnsAnswer::Other,
            "a question is no answer"
        );
        assert_eq!(read_answer(&[1, 2], 0x1234), DnsAnswer::Other);
    }
}
