//! NFLOG netlink messages (Linux): what nft's `log group N` sends.
//!
//! A receive buffer holds one or more netlink messages. Each NFLOG packet
//! message is `nlmsghdr` (16 bytes, host order), `nfgenmsg` (family,
//! version, group in network order), then attributes (`nlattr`: length
//! and type in host order, value padded to 4 bytes). Attribute values are
//! in network order. Kernel source of truth: `nfnetlink_log.h` /
//! `nfnetlink_log.c`.
//!
//! The sender's uid: the kernel adds `NFULA_UID` (and `NFULA_GID`) to every
//! logged packet that still has a full socket with an open file — there is
//! no flag to ask for it, and packets without a local socket (inbound,
//! forwarded, a closed socket's late segments) simply have none.
//!
//! This is a small parser rather than `netlink-packet-netfilter` because
//! the core stays dependency-light and the five attributes read here are a
//! fixed kernel ABI; the builders below make the few configuration
//! messages the helper sends.

use thiserror::Error;

use super::ip::{self, IpError};
use super::{BlockedDirection, BlockedEvent, InterfaceRef, Sender};

const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;
const NLA_HDRLEN: usize = 4;
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NFNL_SUBSYS_ULOG: u16 = 4;
const NFULNL_MSG_PACKET: u16 = 0;
const NFULNL_MSG_CONFIG: u16 = 1;

const NFULA_PACKET_HDR: u16 = 1;
const NFULA_IFINDEX_INDEV: u16 = 4;
const NFULA_IFINDEX_OUTDEV: u16 = 5;
const NFULA_PAYLOAD: u16 = 9;
const NFULA_PREFIX: u16 = 10;
const NFULA_UID: u16 = 11;

const NFULA_CFG_CMD: u16 = 1;
const NFULA_CFG_MODE: u16 = 2;
/// `NFULNL_CFG_CMD_BIND`: attach this socket to a group.
pub const CMD_BIND: u8 = 1;
/// `NFULNL_CFG_CMD_UNBIND`.
pub const CMD_UNBIND: u8 = 2;
/// `NFULNL_COPY_PACKET`: send (the start of) the packet itself.
pub const COPY_PACKET: u8 = 2;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;

// Netfilter hooks (NF_INET_*), as NFULA_PACKET_HDR reports them.
const HOOK_PRE_ROUTING: u8 = 0;
const HOOK_LOCAL_IN: u8 = 1;
const HOOK_FORWARD: u8 = 2;
const HOOK_LOCAL_OUT: u8 = 3;
const HOOK_POST_ROUTING: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NflogError {
    #[error("netlink message header cut short at byte {0}")]
    ShortHeader(usize),
    #[error("netlink message length {len} at byte {at} runs past the buffer")]
    BadLength { at: usize, len: usize },
    #[error("netlink attribute cut short in message at byte {0}")]
    BadAttribute(usize),
    #[error("the kernel refused a request: errno {0}")]
    Kernel(i32),
    #[error("NFLOG packet without {0}")]
    Missing(&'static str),
    #[error("netfilter hook {0} is not an inet hook")]
    Hook(u8),
    #[error("logged packet: {0}")]
    Ip(#[from] IpError),
}

/// One NFLOG packet message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NflogPacket {
    /// The nft `log prefix`, which names the rule that logged it.
    pub prefix: Option<String>,
    pub hook: u8,
    pub indev: Option<u32>,
    pub outdev: Option<u32>,
    pub uid: Option<u32>,
    pub event: BlockedEvent,
}

/// What one netlink message in a buffer was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Packet(Box<NflogPacket>),
    /// An acknowledgement (errno 0) of a configuration request.
    Ack,
    /// Something the reader does not need (NOOP, DONE, other subsystems).
    Other,
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// Every message in one receive buffer, in order. A malformed message ends
/// the walk (its length cannot be trusted to find the next one).
pub fn parse_buffer(buf: &[u8]) -> Vec<Result<Message, NflogError>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let Some(h) = buf.get(at..at + NLMSG_HDRLEN) else {
            out.push(Err(NflogError::ShortHeader(at)));
            break;
        };
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let kind = u16::from_ne_bytes([h[4], h[5]]);
        if len < NLMSG_HDRLEN || at + len > buf.len() {
            out.push(Err(NflogError::BadLength { at, len }));
            break;
        }
        out.push(parse_message(kind, &buf[at + NLMSG_HDRLEN..at + len], at));
        at += (len + 3) & !3;
    }
    out
}

fn parse_message(kind: u16, body: &[u8], at: usize) -> Result<Message, NflogError> {
    match kind {
        NLMSG_ERROR => {
            let errno = body
                .get(..4)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(NflogError::ShortHeader(at))?;
            if errno == 0 {
                Ok(Message::Ack)
            } else {
                Err(NflogError::Kernel(-errno))
            }
        }
        NLMSG_NOOP | NLMSG_DONE => Ok(Message::Other),
        k if k == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET => {
            parse_packet(body, at).map(|p| Message::Packet(Box::new(p)))
        }
        _ => Ok(Message::Other),
    }
}

fn parse_packet(body: &[u8], at: usize) -> Result<NflogPacket, NflogError> {
    let attrs = body
        .get(NFGENMSG_LEN..)
        .ok_or(NflogError::ShortHeader(at))?;
    let (mut hook, mut payload, mut prefix) = (None, None, None);
    let (mut indev, mut outdev, mut uid) = (None, None, None);
    let mut i = 0usize;
    while i + NLA_HDRLEN <= attrs.len() {
        let len = usize::from(u16::from_ne_bytes([attrs[i], attrs[i + 1]]));
        let kind = u16::from_ne_bytes([attrs[i + 2], attrs[i + 3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || i + len > attrs.len() {
            return Err(NflogError::BadAttribute(at));
        }
        let v = &attrs[i + NLA_HDRLEN..i + len];
        match kind {
            // struct nfulnl_msg_packet_hdr { __be16 hw_protocol; u8 hook; u8 pad; }
            NFULA_PACKET_HDR => hook = v.get(2).copied(),
            NFULA_IFINDEX_INDEV => indev = be32(v),
            NFULA_IFINDEX_OUTDEV => outdev = be32(v),
            NFULA_PAYLOAD => payload = Some(v),
            NFULA_PREFIX => {
                let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
                prefix = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
            NFULA_UID => uid = be32(v),
            _ => {}
        }
        i += (len + 3) & !3;
    }
    if i < attrs.len() {
        return Err(NflogError::BadAttribute(at));
    }
    let hook = hook.ok_or(NflogError::Missing("NFULA_PACKET_HDR"))?;
    let payload = payload.ok_or(NflogError::Missing("NFULA_PAYLOAD"))?;
    let (direction, interface) = match hook {
        HOOK_PRE_ROUTING | HOOK_LOCAL_IN => (BlockedDirection::In, indev),
        HOOK_LOCAL_OUT | HOOK_POST_ROUTING => (BlockedDirection::Out, outdev),
        // Forwarded traffic is reported by where it was going.
        HOOK_FORWARD => (BlockedDirection::Forward, outdev.or(indev)),
        h => return Err(NflogError::Hook(h)),
    };
    let s = ip::parse(payload)?;
    Ok(NflogPacket {
        prefix,
        hook,
        indev,
        outdev,
        uid,
        event: BlockedEvent {
            direction,
            interface: interface.map_or(InterfaceRef::Unknown, InterfaceRef::Index),
            flow: s,
            sender: Sender {
                uid,
                pid: None,
                process: None,
            },
        },
    })
}

/// A configuration request to the NFLOG subsystem: `nlmsghdr`, `nfgenmsg`
/// (family `AF_UNSPEC`, version 0, `group` in network order) and one
/// attribute. Asks for an acknowledgement so errors are seen.
fn config(group: u16, attr: u16, value: &[u8], seq: u32) -> Vec<u8> {
    let attr_len = NLA_HDRLEN + value.len();
    let len = NLMSG_HDRLEN + NFGENMSG_LEN + ((attr_len + 3) & !3);
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&group.to_be_bytes());
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&attr.to_ne_bytes());
    m.extend_from_slice(value);
    m.resize(len, 0);
    m
}

/// `NFULNL_CFG_CMD_BIND` (or another command) for `group`.
pub fn command(group: u16, cmd: u8, seq: u32) -> Vec<u8> {
    config(group, NFULA_CFG_CMD, &[cmd], seq)
}

/// Copy the first `range` bytes of each packet (headers only: the blocked
/// list needs addresses and ports, never contents).
pub fn copy_packet(group: u16, range: u32, seq: u32) -> Vec<u8> {
    let mut v = range.to_be_bytes().to_vec();
    v.extend_from_slice(&[COPY_PACKET, 0]);
    config(group, NFULA_CFG_MODE, &v, seq)
}

#[cfg(test)]
mod tests {
    use super::super::ip::tests::{ports, v4};
    use super::*;
    use crate::policy::Protocol;

    fn attr(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut a = ((NLA_HDRLEN + v.len()) as u16).to_ne_bytes().to_vec();
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(v);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDRLEN + body.len();
        let mut m = (len as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(body);
        m
    }

    /// An NFLOG packet message laid out as the kernel's
    /// `__build_packet_message` does: header, prefix, devices, uid, payload.
    fn packet(hook: u8, dev: (u16, u32), uid: Option<u32>, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![2, 0, 0, 7]; // AF_INET, version 0, group 7
        b.extend(attr(NFULA_PACKET_HDR, &[0x08, 0x00, hook, 0]));
        b.extend(attr(NFULA_PREFIX, b"airlock blocked\0"));
        b.extend(attr(dev.0, &dev.1.to_be_bytes()));
        if let Some(u) = uid {
            b.extend(attr(NFULA_UID, &u.to_be_bytes()));
            b.extend(attr(14, &u.to_be_bytes())); // NFULA_GID: ignored
        }
        b.extend(attr(0x4000 | NFULA_PAYLOAD, payload)); // with the byte-order flag
        message(NFNL_SUBSYS_ULOG << 8, &b)
    }

    #[test]
    fn outbound_packet_with_uid() {
        let ip = v4(6, [10, 1, 0, 2], [198, 51, 100, 7], &ports(40000, 443));
        let buf = packet(HOOK_LOCAL_OUT, (NFULA_IFINDEX_OUTDEV, 3), Some(1000), &ip);
        let msgs = parse_buffer(&buf);
        let [Ok(Message::Packet(p))] = msgs.as_slice() else {
            panic!("{msgs:?}");
        };
        assert_eq!(p.prefix.as_deref(), Some("airlock blocked"));
        assert_eq!(p.event.direction, BlockedDirection::Out);
        assert_eq!(p.event.interface, InterfaceRef::Index(3));
        assert_eq!(p.event.flow.protocol, Protocol::Tcp);
        assert_eq!(p.event.flow.dst.to_string(), "198.51.100.7");
        assert_eq!(p.event.flow.dst_port, Some(443));
        assert_eq!(p.event.sender.uid, Some(1000));
    }

    #[test]
    fn several_messages_in_one_buffer() {
        let ip = v4(17, [203, 0, 113, 1], [10, 1, 0, 2], &ports(53, 5000));
        let mut buf = packet(HOOK_LOCAL_IN, (NFULA_IFINDEX_INDEV, 2), None, &ip);
        buf.extend(message(NLMSG_DONE, &[0; 4]));
        buf.extend(packet(HOOK_FORWARD, (NFULA_IFINDEX_OUTDEV, 9), None, &ip));
        let msgs = parse_buffer(&buf);
        assert_eq!(msgs.len(), 3);
        let Ok(Message::Packet(first)) = &msgs[0] else {
            panic!()
        };
        assert_eq!(first.event.direction, BlockedDirection::In);
        assert_eq!(first.event.interface, InterfaceRef::Index(2));
        assert_eq!(first.event.sender.uid, None);
        assert_eq!(msgs[1], Ok(Message::Other));
        let Ok(Message::Packet(third)) = &msgs[2] else {
            panic!()
        };
        assert_eq!(third.event.direction, BlockedDirection::Forward);
    }

    #[test]
    fn acks_and_kernel_errors() {
        let ack = message(NLMSG_ERROR, &[0; 20]);
        assert_eq!(parse_buffer(&ack), vec![Ok(Message::Ack)]);
        let mut body = (-1i32).to_ne_bytes().to_vec(); // -EPERM
        body.extend_from_slice(&[0; 16]);
        let err = message(NLMSG_ERROR, &body);
        assert_eq!(parse_buffer(&err), vec![Err(NflogError::Kernel(1))]);
    }

    #[test]
    fn malformed_buffers_are_typed_errors_never_panics() {
        let ip = v4(17, [1, 1, 1, 1], [2, 2, 2, 2], &ports(1, 2));
        let good = packet(HOOK_LOCAL_OUT, (NFULA_IFINDEX_OUTDEV, 1), Some(0), &ip);
        for n in 1..good.len() {
            let msgs = parse_buffer(&good[..n]);
            assert!(msgs.iter().all(|m| m.is_err()), "{n}: {msgs:?}");
        }
        let mut no_payload = vec![2, 0, 0, 7];
        no_payload.extend(attr(NFULA_PACKET_HDR, &[8, 0, 3, 0]));
        assert_eq!(
            parse_buffer(&message(NFNL_SUBSYS_ULOG << 8, &no_payload)),
            vec![Err(NflogError::Missing("NFULA_PAYLOAD"))]
        );
        let bad_hook = packet(9, (NFULA_IFINDEX_OUTDEV, 1), None, &ip);
        assert_eq!(parse_buffer(&bad_hook), vec![Err(NflogError::Hook(9))]);
    }

    #[test]
    fn config_messages_have_the_kernel_layout() {
        let bind = command(7, CMD_BIND, 1);
        assert_eq!(bind.len(), 16 + 4 + 8);
        assert_eq!(u32::from_ne_bytes(bind[0..4].try_into().unwrap()), 28);
        assert_eq!(u16::from_ne_bytes([bind[4], bind[5]]), 0x0401);
        assert_eq!(&bind[18..20], &7u16.to_be_bytes());
        assert_eq!(u16::from_ne_bytes([bind[20], bind[21]]), 5);
        assert_eq!(u16::from_ne_bytes([bind[22], bind[23]]), NFULA_CFG_CMD);
        assert_eq!(bind[24], CMD_BIND);
        let mode = copy_packet(7, 128, 2);
        assert_eq!(mode.len(), 16 + 4 + 12);
        assert_eq!(&mode[24..28], &128u32.to_be_bytes());
        assert_eq!(mode[28], COPY_PACKET);
    }
}
