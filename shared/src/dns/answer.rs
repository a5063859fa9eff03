//! Checking an upstream resolver's answer before anything in it is trusted
//! or pinned.

use std::net::IpAddr;

use super::error::ParseError;
use super::limits::MAX_MESSAGE_LEN;
use super::message::{
    Header, Question, Rcode, CLASS_IN, HEADER_LEN, TYPE_A, TYPE_AAAA, TYPE_CNAME,
};
use super::name::Name;

/// Addresses taken from one answer. A VPN name has a handful; more than
/// this is not a VPN server list, and pinning stays bounded.
pub const MAX_ADDRESSES: usize = 16;
/// CNAME steps followed from the question's name.
const MAX_CNAMES: usize = 8;

/// What an upstream answer says, once it is known to answer our question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAnswer {
    pub rcode: Rcode,
    /// The resolver truncated its answer; the asker will retry over TCP.
    pub truncated: bool,
    /// A and AAAA records for the question's name (or a name it is an
    /// alias of), with their TTLs in seconds, in answer order, at most
    /// [`MAX_ADDRESSES`].
    pub addresses: Vec<(IpAddr, u32)>,
    /// Addresses of that kind the answer held beyond [`MAX_ADDRESSES`]:
    /// not pinned, so the answer must not reach the asker with them.
    pub omitted: usize,
}

/// Checks that `msg` is a response with id `expected_id` to `question`, and
/// extracts the addresses it gives for that name. Records for other names
/// are ignored unless the question's name is (through CNAMEs) an alias of
/// them, so an answer cannot pin addresses for names nobody asked about.
pub fn check_upstream(
    msg: &[u8],
    expected_id: u16,
    question: &Question,
) -> Result<UpstreamAnswer, ParseError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(ParseError::Oversized);
    }
    let header = Header::read(msg)?;
    if !header.is_response() {
        return Err(ParseError::NotAResponse);
    }
    if header.id != expected_id {
        return Err(ParseError::IdMismatch);
    }
    if header.qdcount != 1 {
        return Err(ParseError::QuestionCount(header.qdcount));
    }
    let (echoed, mut pos) = Question::read(msg, HEADER_LEN)?;
    if echoed != *question {
        return Err(ParseError::QuestionMismatch);
    }
    let mut owners: Vec<Name> = vec![question.name.clone()];
    let mut addresses = Vec::new();
    let mut omitted = 0;
    // Each record is at least 11 bytes, so the loop ends with the message
    // whatever ANCOUNT claims.
    for _ in 0..header.ancount {
        let (owner, after) = Name::read(msg, pos)?;
        let fixed = msg.get(after..after + 10).ok_or(ParseError::Truncated)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata_at = after + 10;
        let rdata = msg
            .get(rdata_at..rdata_at + rdlen)
            .ok_or(ParseError::Truncated)?;
        pos = rdata_at + rdlen;
        if class != CLASS_IN || !owners.contains(&owner) {
            continue;
        }
        let address = match (rtype, rdlen) {
            (TYPE_A, 4) => <[u8; 4]>::try_from(rdata).ok().map(IpAddr::from),
            (TYPE_AAAA, 16) => <[u8; 16]>::try_from(rdata).ok().map(IpAddr::from),
            (TYPE_CNAME, _) => {
                if owners.len() <= MAX_CNAMES {
                    // The target may be compressed against the whole message.
                    let (target, _) = Name::read(msg, rdata_at)?;
                    owners.push(target);
                }
                None
            }
            _ => None,
        };
        // Only the type asked for: an AAAA slipped into an A answer is not
        // what the asker will connect to.
        if let Some(a) = address {
            if rtype == question.qtype {
                if addresses.len() < MAX_ADDRESSES {
                    addresses.push((a, ttl));
                } else {
                    omitted += 1;
                }
            }
        }
    }
    Ok(UpstreamAnswer {
        rcode: header.rcode(),
        truncated: header.truncated(),
        addresses,
        omitted,
    })
}

#[cfg(test)]
mod tests {
    use super::super::message::parse_query;
    use super::super::message::tests::query_bytes;
    use super::*;

    /// An upstream answer to `query_bytes(id, name, qtype)` with `records`
    /// (owner pointer to the question, type, ttl, rdata).
    fn answer(
        id: u16,
        name: &str,
        qtype: u16,
        records: &[(Vec<u8>, u16, u32, Vec<u8>)],
    ) -> Vec<u8> {
        let mut m = query_bytes(id, name, qtype);
        m[2] |= 0x80;
        m[3] |= 0x80;
        m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        for (owner, rtype, ttl, rdata) in records {
            m.extend_from_slice(owner);
            m.extend_from_slice(&rtype.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    const AT_QUESTION: [u8; 2] = [0xC0, 12];

    fn question(name: &str, qtype: u16) -> Question {
        parse_query(&query_bytes(0, name, qtype)).unwrap().question
    }

    #[test]
    fn addresses_and_ttls_are_extracted() {
        let m = answer(
            9,
            "vpn.lab.test",
            TYPE_A,
            &[
                (AT_QUESTION.to_vec(), TYPE_A, 300, vec![10, 9, 0, 2]),
                (AT_QUESTION.to_vec(), TYPE_A, 60, vec![10, 9, 0, 3]),
            ],
        );
        let a = check_upstream(&m, 9, &question("VPN.lab.test", TYPE_A)).unwrap();
        assert_eq!(a.rcode, Rcode::NoError);
        assert_eq!(
            a.addresses,
            vec![
                ("10.9.0.2".parse().unwrap(), 300),
                ("10.9.0.3".parse().unwrap(), 60)
            ]
        );
    }

    #[test]
    fn a_cname_chain_is_followed_but_strangers_are_not_pinned() {
        let target = Name::from_dotted("edge.cdn.test").unwrap().wire().to_vec();
        let stranger = Name::from_dotted("evil.test").unwrap().wire().to_vec();
        let m = answer(
            9,
            "vpn.lab.test",
            TYPE_AAAA,
            &[
                (AT_QUESTION.to_vec(), TYPE_CNAME, 30, target.clone()),
                (
                    target,
                    TYPE_AAAA,
                    20,
                    "2001:db8::9"
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap()
                        .octets()
                        .to_vec(),
                ),
                (
                    stranger,
                    TYPE_AAAA,
                    20,
                    "2001:db8::666"
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap()
                        .octets()
                        .to_vec(),
                ),
                // An A record inside an AAAA answer is not what was asked.
                (AT_QUESTION.to_vec(), TYPE_A, 20, vec![10, 0, 0, 1]),
            ],
        );
        let a = check_upstream(&m, 9, &question("vpn.lab.test", TYPE_AAAA)).unwrap();
        assert_eq!(a.addresses, vec![("2001:db8::9".parse().unwrap(), 20)]);
    }

    #[test]
    fn a_wrong_id_or_question_is_refused() {
        let m = answer(9, "vpn.lab.test", TYPE_A, &[]);
        assert_eq!(
            check_upstream(&m, 10, &question("vpn.lab.test", TYPE_A)).unwrap_err(),
            ParseError::IdMismatch
        );
        assert_eq!(
            check_upstream(&m, 9, &question("other.lab.test", TYPE_A)).unwrap_err(),
            ParseError::QuestionMismatch
        );
        assert_eq!(
            check_upstream(&m, 9, &question("vpn.lab.test", TYPE_AAAA)).unwrap_err(),
            ParseError::QuestionMismatch
        );
        let q = query_bytes(9, "vpn.lab.test", TYPE_A);
        assert_eq!(
            check_upstream(&q, 9, &question("vpn.lab.test", TYPE_A)).unwrap_err(),
            ParseError::NotAResponse
        );
    }

    #[test]
    fn nxdomain_and_truncation_are_reported() {
        let mut m = answer(9, "gone.lab.test", TYPE_A, &[]);
        m[3] |= 3;
        m[2] |= 0x02;
        let a = check_upstream(&m, 9, &question("gone.lab.test", TYPE_A)).unwrap();
        assert_eq!(a.rcode, Rcode::NxDomain);
        assert!(a.truncated);
        assert!(a.addresses.is_empty());
    }

    #[test]
    fn every_prefix_of_an_answer_is_an_error_or_fewer_records() {
        let m = answer(
            9,
            "vpn.lab.test",
            TYPE_A,
            &[(AT_QUESTION.to_vec(), TYPE_A, 300, vec![10, 9, 0, 2])],
        );
        let q = question("vpn.lab.test", TYPE_A);
        for cut in 0..m.len() {
            assert!(check_upstream(&m[..cut], 9, &q).is_err(), "cut at {cut}");
        }
        assert_eq!(check_upstream(&m, 9, &q).unwrap().addresses.len(), 1);
    }

    #[test]
    fn a_huge_answer_count_ends_with_the_message() {
        let mut m = answer(9, "vpn.lab.test", TYPE_A, &[]);
        m[6] = 0xFF;
        m[7] = 0xFF;
        assert_eq!(
            check_upstream(&m, 9, &question("vpn.lab.test", TYPE_A)).unwrap_err(),
            ParseError::Truncated
        );
    }

    #[test]
    fn at_most_max_addresses_are_taken() {
        let records: Vec<_> = (0..40u8)
            .map(|i| (AT_QUESTION.to_vec(), TYPE_A, 60, vec![10, 0, 0, i]))
            .collect();
        let m = answer(9, "vpn.lab.test", TYPE_A, &records);
        let a = check_upstream(&m, 9, &question("vpn.lab.test", TYPE_A)).unwrap();
        assert_eq!(a.addresses.len(), MAX_ADDRESSES);
        assert_eq!(a.omitted, 40 - MAX_ADDRESSES);
        // What the asker gets instead: exactly the kept addresses, each
        // with its TTL, and an answer the same check reads the same.
        let q = parse_query(&query_bytes(9, "vpn.lab.test", TYPE_A)).unwrap();
        let trimmed = super::super::build::addresses(&q, &a.addresses);
        let again = check_upstream(&trimmed, 9, &q.question).unwrap();
        assert_eq!(again.addresses, a.addresses);
        assert_eq!(again.omitted, 0);
    }
}
