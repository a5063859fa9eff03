//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): every message is preceded by
//! its length as two bytes, network order. Stub resolvers retry over TCP
//! when a UDP answer is truncated, and some clients use TCP 53 directly,
//! so the resolver accepts TCP too; these are its decisions about the
//! untrusted length prefix and its limits.

use std::time::Duration;

use super::error::ParseError;
use super::limits::MAX_MESSAGE_LEN;
use super::message::HEADER_LEN;

/// Bytes of the length prefix.
pub const TCP_LEN_PREFIX: usize = 2;

/// Time a client has to deliver each whole query (prefix and message),
/// counted from the connection or from the previous answer. A stub sends
/// its query right after connecting; 5 s is the classic stub's own
/// per-try timeout (resolv.conf `timeout:5`), so no stub waits longer on
/// us than that, and a client that trickles bytes (slowloris) loses its
/// connection after it.
pub const TCP_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Time after which a connection takes no further query (RFC 7766 §6.2.3
/// asks servers to bound idle and total time). Stubs ask one or two
/// questions per connection and close it; a client that keeps one open by
/// sending a query every few seconds still gives its slot back after this.
pub const TCP_CONNECTION_LIFETIME: Duration = Duration::from_secs(15);

/// TCP connections served at once, over both loopback listeners. While
/// blocking only the network check and VPN server names are answered,
/// which stubs ask a few at a time; 16 leaves room for many, and caps
/// what a local flooder can hold: 16 buffers of 4 KiB and 16 tasks. A
/// connection over the cap is closed at once (the client fails fast
/// instead of waiting in the backlog). UDP has its own path and is not
/// affected.
pub const MAX_TCP_CONNECTIONS: usize = 16;

/// The length a TCP prefix announces, if the resolver will read that many
/// bytes: a message shorter than a header cannot be a query and one
/// longer than [`MAX_MESSAGE_LEN`] is not read at all (the connection is
/// closed: the stream cannot be resynchronised without reading it).
pub fn frame_len(prefix: [u8; TCP_LEN_PREFIX]) -> Result<usize, ParseError> {
    let len = usize::from(u16::from_be_bytes(prefix));
    if len < HEADER_LEN {
        return Err(ParseError::Truncated);
    }
    if len > MAX_MESSAGE_LEN {
        return Err(ParseError::Oversized);
    }
    Ok(len)
}

/// `message` with its length prefix, ready to write; `None` for a message
/// no prefix can announce (over 65535 bytes). The resolver only frames its
/// own answers and relayed upstream answers, at most [`MAX_MESSAGE_LEN`].
pub fn frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(message.len()).ok()?;
    let mut out = Vec::with_capacity(TCP_LEN_PREFIX + message.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_read_in_network_order_and_bounded_both_ways() {
        assert_eq!(frame_len([0, 29]), Ok(29));
        assert_eq!(frame_len([0x01, 0x00]), Ok(256));
        assert_eq!(frame_len([0x10, 0x00]), Ok(MAX_MESSAGE_LEN));
        assert_eq!(frame_len([0x10, 0x01]), Err(ParseError::Oversized));
        assert_eq!(frame_len([0xFF, 0xFF]), Err(ParseError::Oversized));
        assert_eq!(frame_len([0, 0]), Err(ParseError::Truncated));
        assert_eq!(frame_len([0, 11]), Err(ParseError::Truncated));
        assert_eq!(frame_len([0, 12]), Ok(12));
    }

    #[test]
    fn a_frame_is_the_length_then_the_message() {
        assert_eq!(frame(&[7, 8, 9]), Some(vec![0, 3, 7, 8, 9]));
        assert_eq!(frame(&[]), Some(vec![0, 0]));
        assert_eq!(frame(&vec![0; 65536]), None);
        let f = frame(&[1; 300]).unwrap();
        assert_eq!(frame_len([f[0], f[1]]), Ok(300));
    }
}
