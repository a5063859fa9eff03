//! The messages Airlock writes: a placeholder address, an empty answer,
//! REFUSED, an upstream answer relayed under the asker's id (or trimmed to
//! the pinned addresses), and the queries the helper and the self-test
//! send.

use std::net::IpAddr;

use super::decide::{PLACEHOLDER_V4, PLACEHOLDER_V6};
use super::message::{Query, Rcode, CLASS_IN, HEADER_LEN, TYPE_A, TYPE_AAAA};

/// Seconds an asker may cache the placeholder. Short, so the real address
/// is looked up as soon as the tunnel is up and Airlock no longer answers.
pub const PLACEHOLDER_TTL: u32 = 5;

/// A standard query (recursion desired) for `name`, type `qtype`, class
/// IN: what the helper sends when it resolves a name for itself.
pub fn query(id: u16, name: &super::name::Name, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER_LEN + name.wire().len() + 4);
    m.extend_from_slice(&id.to_be_bytes());
    // QR=0, opcode 0, RD=1; one question, no records.
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(name.wire());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// A response to `query` with `rcode`, echoing its question and carrying
/// `answers` (type, data, TTL: each a resource record for the question's
/// name).
fn response(query: &Query, rcode: Rcode, answers: &[(u16, &[u8], u32)]) -> Vec<u8> {
    let q = &query.question;
    let mut m = Vec::with_capacity(HEADER_LEN + q.name.wire().len() + 4 + answers.len() * 28);
    m.extend_from_slice(&query.header.id.to_be_bytes());
    // QR=1, opcode 0, AA=0, TC=0, RD echoed, RA=1, Z=0, RCODE.
    let rd = if query.header.recursion_desired() {
        0x01
    } else {
        0x00
    };
    m.push(0x80 | rd);
    m.push(0x80 | rcode.bits());
    m.extend_from_slice(&1u16.to_be_bytes());
    // At most MAX_ADDRESSES answers are ever built; the count fits.
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(q.name.wire());
    m.extend_from_slice(&q.qtype.to_be_bytes());
    m.extend_from_slice(&q.qclass.to_be_bytes());
    for (rtype, rdata, ttl) in answers {
        // Owner: a pointer to the question's name at offset 12.
        m.extend_from_slice(&[0xC0, HEADER_LEN as u8]);
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }
    m
}

/// The network-check answer: the placeholder address for A or AAAA in
/// class IN, and an empty NOERROR for any other type (HTTPS, SVCB, ...),
/// which tells the asker at once that there is nothing more to wait for.
pub fn placeholder(query: &Query) -> Vec<u8> {
    let q = &query.question;
    if q.qclass != CLASS_IN {
        return empty(query);
    }
    match q.qtype {
        TYPE_A => response(
            query,
            Rcode::NoError,
            &[(TYPE_A, &PLACEHOLDER_V4.octets(), PLACEHOLDER_TTL)],
        ),
        TYPE_AAAA => response(
            query,
            Rcode::NoError,
            &[(TYPE_AAAA, &PLACEHOLDER_V6.octets(), PLACEHOLDER_TTL)],
        ),
        _ => empty(query),
    }
}

/// An answer holding exactly `addresses` (with their TTLs) for the
/// question's name: what the asker gets when the upstream answer held
/// more addresses than were pinned, so that every address it can connect
/// to is one the firewall lets through.
pub fn addresses(query: &Query, addresses: &[(IpAddr, u32)]) -> Vec<u8> {
    let records: Vec<(u16, Vec<u8>, u32)> = addresses
        .iter()
        .map(|(a, ttl)| match a {
            IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec(), *ttl),
            IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec(), *ttl),
        })
        .collect();
    let borrowed: Vec<(u16, &[u8], u32)> = records
        .iter()
        .map(|(t, d, ttl)| (*t, d.as_slice(), *ttl))
        .collect();
    response(query, Rcode::NoError, &borrowed)
}

/// NOERROR with no answer ("the name exists, but not with this type").
pub fn empty(query: &Query) -> Vec<u8> {
    response(query, Rcode::NoError, &[])
}

/// REFUSED: Airlock will not resolve this name while blocking.
pub fn refused(query: &Query) -> Vec<u8> {
    response(query, Rcode::Refused, &[])
}

/// Any other code without answers (NXDOMAIN, SERVFAIL when upstream fails).
pub fn with_rcode(query: &Query, rcode: Rcode) -> Vec<u8> {
    response(query, rcode, &[])
}

/// An upstream answer, already checked by [`super::check_upstream`],
/// returned to the asker under the asker's id (the helper sends upstream
/// under an id of its own choosing).
pub fn relay(upstream: &[u8], asker_id: u16) -> Vec<u8> {
    let mut m = upstream.to_vec();
    if let Some(id) = m.get_mut(..2) {
        id.copy_from_slice(&asker_id.to_be_bytes());
    }
    m
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::answer::check_upstream;
    use super::super::message::tests::query_bytes;
    use super::super::message::{parse_query, Header};
    use super::*;

    fn query(id: u16, name: &str, qtype: u16) -> Query {
        parse_query(&query_bytes(id, name, qtype)).unwrap()
    }

    #[test]
    fn the_helpers_own_query_parses_as_the_question_it_asks() {
        let name = super::super::name::Name::from_dotted("vpn.lab.test").unwrap();
        let bytes = super::query(0xBEEF, &name, TYPE_AAAA);
        let q = parse_query(&bytes).unwrap();
        assert_eq!(q.header.id, 0xBEEF);
        assert!(q.header.recursion_desired());
        assert_eq!(q.question.name, name);
        assert_eq!((q.question.qtype, q.question.qclass), (TYPE_AAAA, CLASS_IN));
    }

    #[test]
    fn the_placeholder_reads_back_as_an_answer_to_the_question() {
        let q = query(0x1234, "Captive.Apple.com", TYPE_A);
        let a = check_upstream(&placeholder(&q), 0x1234, &q.question).unwrap();
        assert_eq!(a.rcode, Rcode::NoError);
        assert_eq!(
            a.addresses,
            vec![(IpAddr::V4(PLACEHOLDER_V4), PLACEHOLDER_TTL)]
        );
        let q = query(7, "captive.apple.com", TYPE_AAAA);
        let a = check_upstream(&placeholder(&q), 7, &q.question).unwrap();
        assert_eq!(
            a.addresses,
            vec![(IpAddr::V6(PLACEHOLDER_V6), PLACEHOLDER_TTL)]
        );
    }

    #[test]
    fn the_question_is_echoed_with_the_askers_case() {
        let q = query(1, "CaPtIvE.apple.com", TYPE_A);
        let m = placeholder(&q);
        let sent = query_bytes(1, "CaPtIvE.apple.com", TYPE_A);
        assert_eq!(m[HEADER_LEN..sent.len()], sent[HEADER_LEN..]);
    }

    #[test]
    fn other_types_get_an_empty_noerror_and_refused_is_refused() {
        let q = query(3, "captive.apple.com", 65);
        let a = check_upstream(&placeholder(&q), 3, &q.question).unwrap();
        assert_eq!((a.rcode, a.addresses.len()), (Rcode::NoError, 0));
        let q = query(4, "example.com", TYPE_A);
        let m = refused(&q);
        let h = Header::read(&m).unwrap();
        assert!(h.is_response() && h.recursion_desired());
        assert_eq!((h.rcode(), h.ancount), (Rcode::Refused, 0));
        let m = with_rcode(&q, Rcode::ServFail);
        assert_eq!(Header::read(&m).unwrap().rcode(), Rcode::ServFail);
    }

    #[test]
    fn relaying_puts_back_the_askers_id_and_nothing_else() {
        let q = query(0xAAAA, "vpn.lab.test", TYPE_A);
        let upstream = placeholder(&q);
        let out = relay(&upstream, 0x0102);
        assert_eq!(out[..2], [1, 2]);
        assert_eq!(out[2..], upstream[2..]);
        assert!(relay(&[9], 5).len() == 1);
    }
}
