//! The header and question of a DNS message (RFC 1035 §4.1), read from
//! untrusted bytes.

use super::error::ParseError;
use super::limits::MAX_MESSAGE_LEN;
use super::name::Name;

/// Fixed header size.
pub const HEADER_LEN: usize = 12;

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;
pub const CLASS_IN: u16 = 1;

/// Response codes Airlock sends or reads (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    ServFail,
    NxDomain,
    Refused,
    Other(u8),
}

impl Rcode {
    pub fn from_bits(bits: u8) -> Rcode {
        match bits & 0x0F {
            0 => Rcode::NoError,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            5 => Rcode::Refused,
            n => Rcode::Other(n),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Rcode::NoError => 0,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::Refused => 5,
            Rcode::Other(n) => n & 0x0F,
        }
    }
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z and RCODE, as on the wire.
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn read(msg: &[u8]) -> Result<Header, ParseError> {
        let h = msg.get(..HEADER_LEN).ok_or(ParseError::Truncated)?;
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Ok(Header {
            id: word(0),
            flags: word(2),
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        })
    }

    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0F) as u8
    }

    pub fn recursion_desired(&self) -> bool {
        self.flags & 0x0100 != 0
    }

    pub fn truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }

    pub fn rcode(&self) -> Rcode {
        Rcode::from_bits((self.flags & 0x0F) as u8)
    }
}

/// The one question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

impl Question {
    /// Reads a question at `start`; returns it and the offset after it.
    pub(crate) fn read(msg: &[u8], start: usize) -> Result<(Question, usize), ParseError> {
        let (name, pos) = Name::read(msg, start)?;
        let tail = msg.get(pos..pos + 4).ok_or(ParseError::Truncated)?;
        Ok((
            Question {
                name,
                qtype: u16::from_be_bytes([tail[0], tail[1]]),
                qclass: u16::from_be_bytes([tail[2], tail[3]]),
            },
            pos + 4,
        ))
    }
}

/// A standard query with exactly one question; whatever follows the
/// question (an EDNS record) is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub header: Header,
    pub question: Question,
}

/// Reads a query a local process sent. Only standard queries (opcode 0)
/// with one question are accepted: that is all a stub resolver sends, and
/// anything else is refused before any work is done on it.
pub fn parse_query(msg: &[u8]) -> Result<Query, ParseError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(ParseError::Oversized);
    }
    let header = Header::read(msg)?;
    if header.is_response() {
        return Err(ParseError::NotAQuery);
    }
    if header.opcode() != 0 {
        return Err(ParseError::Opcode(header.opcode()));
    }
    if header.qdcount != 1 {
        return Err(ParseError::QuestionCount(header.qdcount));
    }
    let (question, _) = Question::read(msg, HEADER_LEN)?;
    Ok(Query { header, question })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query as glibc's stub resolver sends it: RD set, one question,
    /// no EDNS.
    pub fn query_bytes(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        super::super::build::query(id, &Name::from_dotted(name).unwrap(), qtype)
    }

    #[test]
    fn a_plain_query_parses() {
        let q = parse_query(&query_bytes(0xBEEF, "Captive.apple.com", TYPE_AAAA)).unwrap();
        assert_eq!(q.header.id, 0xBEEF);
        assert!(q.header.recursion_desired());
        assert_eq!(q.question.name.to_string(), "Captive.apple.com");
        assert_eq!(q.question.qtype, TYPE_AAAA);
        assert_eq!(q.question.qclass, CLASS_IN);
    }

    #[test]
    fn an_edns_record_after_the_question_is_left_alone() {
        let mut m = query_bytes(1, "vpn.example.net", TYPE_A);
        m[11] = 1; // ARCOUNT = 1
        m.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        assert!(parse_query(&m).is_ok());
    }

    #[test]
    fn every_prefix_of_a_query_is_truncated_not_a_panic() {
        let m = query_bytes(7, "netcts.cdn-apple.com", TYPE_A);
        for cut in 0..m.len() {
            assert_eq!(
                parse_query(&m[..cut]).unwrap_err(),
                ParseError::Truncated,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn responses_other_opcodes_and_question_counts_are_refused() {
        let mut m = query_bytes(7, "a.b", TYPE_A);
        m[2] |= 0x80;
        assert_eq!(parse_query(&m).unwrap_err(), ParseError::NotAQuery);
        let mut m = query_bytes(7, "a.b", TYPE_A);
        m[2] |= 5 << 3; // UPDATE
        assert_eq!(parse_query(&m).unwrap_err(), ParseError::Opcode(5));
        for n in [0u16, 2, 0xFFFF] {
            let mut m = query_bytes(7, "a.b", TYPE_A);
            m[4..6].copy_from_slice(&n.to_be_bytes());
            assert_eq!(parse_query(&m).unwrap_err(), ParseError::QuestionCount(n));
        }
    }

    #[test]
    fn oversized_messages_are_refused_before_reading() {
        let mut m = query_bytes(7, "a.b", TYPE_A);
        m.resize(MAX_MESSAGE_LEN + 1, 0);
        assert_eq!(parse_query(&m).unwrap_err(), ParseError::Oversized);
        m.truncate(MAX_MESSAGE_LEN);
        assert!(parse_query(&m).is_ok());
    }

    #[test]
    fn a_question_name_that_points_at_itself_is_refused() {
        let mut m = query_bytes(7, "a.b", TYPE_A);
        m.truncate(HEADER_LEN);
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_query(&m).unwrap_err(), ParseError::ForwardPointer);
    }
}
