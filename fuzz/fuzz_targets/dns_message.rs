//! Arbitrary bytes from any local process reach the helper's resolver.
//! Beyond "no panic":
//! - whatever parses as a query gets a placeholder, empty and REFUSED
//!   answer that reads back as an answer to that very question (id and
//!   question match), so the resolver never sends something it could not
//!   itself accept;
//! - the same bytes read as an upstream answer to a fixed question never
//!   yield more than `MAX_ADDRESSES` addresses.

#![no_main]

use airlock_shared::dns::{
    check_upstream, empty, parse_query, placeholder, refused, Name, Question, CLASS_IN,
    MAX_ADDRESSES, TYPE_A,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = parse_query(data) {
        for answer in [placeholder(&query), empty(&query), refused(&query)] {
            let back = check_upstream(&answer, query.header.id, &query.question)
                .expect("our own answer reads back");
            assert!(back.addresses.len() <= 1);
        }
    }
    let question = Question {
        name: Name::from_dotted("vpn.lab.test").expect("a valid name"),
        qtype: TYPE_A,
        qclass: CLASS_IN,
    };
    let id = data
        .get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .unwrap_or(0);
    if let Ok(a) = check_upstream(data, id, &question) {
        assert!(a.addresses.len() <= MAX_ADDRESSES);
    }
});
