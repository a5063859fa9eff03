//! The record pf writes to `pflog0` for each logged packet (macOS).
//!
//! Layout of `struct pfloghdr` from the macOS kernel's `net/if_pflog.h`
//! (`IFNAMSIZ` 16, `PFLOG_RULESET_NAME_SIZE` 16):
//!
//! ```text
//! off size field
//!   0    1 length      header length without the pad (61), a signature
//!   1    1 af          sa_family_t: AF_INET 2, AF_INET6 30 on macOS
//!   2    1 action      PF_PASS 0, PF_DROP 1, ...
//!   3    1 reason      PFRES_MATCH 0, ...
//!   4   16 ifname      NUL-padded
//!  20   16 ruleset     anchor name, NUL-padded
//!  36    4 rulenr      network byte order
//!  40    4 subrulenr   network byte order (-1: none)
//!  44    4 uid         host order; UID_MAX when pf did no socket lookup
//!  48    4 pid         host order; NO_PID (-1) likewise
//!  52    4 rule_uid    who loaded the rule
//!  56    4 rule_pid
//!  60    1 dir         PF_IN 1, PF_OUT 2
//!  61    3 pad
//! ```
//!
//! The IP packet follows at `length` rounded up to 4 (BPF word alignment),
//! as libpcap reads it. pf fills `uid`/`pid` only for rules that log with
//! a socket lookup (`log (user)`); otherwise they hold the "none" values
//! and are reported as unknown. Host order is little-endian on every Mac
//! (x86_64 and arm64). Unverified on a Mac: built from the header and
//! tested with constructed bytes.

use thiserror::Error;

use super::ip::{self, IpError};
use super::{BlockedDirection, BlockedEvent, InterfaceRef, Sender};

/// `offsetof(struct pfloghdr, pad)`.
pub const PFLOG_REAL_HDRLEN: usize = 61;
/// `sizeof(struct pfloghdr)`.
pub const PFLOG_HDRLEN: usize = 64;
const IFNAMSIZ: usize = 16;
const RULESET_NAME_SIZE: usize = 16;
const AF_INET: u8 = 2;
const AF_INET6_MACOS: u8 = 30;
const PF_DROP: u8 = 1;
const PF_IN: u8 = 1;
const PF_OUT: u8 = 2;
const UID_MAX: u32 = u32::MAX;
const NO_PID: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PflogError {
    #[error("pflog record of {0} bytes is shorter than its {PFLOG_HDRLEN}-byte header")]
    Short(usize),
    #[error("pflog header length {0} is not a known pfloghdr ({PFLOG_REAL_HDRLEN})")]
    Length(u8),
    #[error("pflog address family {0} is neither AF_INET nor AF_INET6")]
    Family(u8),
    #[error("pflog direction {0} is neither in nor out")]
    Direction(u8),
    #[error("logged packet: {0}")]
    Ip(#[from] IpError),
}

/// The decoded header, every field kept (the table uses a few; the rest are
/// for `--json` and for telling our rules from someone else's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PflogHeader {
    pub length: u8,
    pub af: u8,
    pub action: u8,
    pub reason: u8,
    pub ifname: String,
    pub ruleset: String,
    pub rulenr: u32,
    pub subrulenr: u32,
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    pub rule_uid: u32,
    pub rule_pid: u32,
    pub dir: u8,
}

impl PflogHeader {
    /// Whether pf refused the packet (what the blocked list is about).
    pub fn is_drop(&self) -> bool {
        self.action == PF_DROP
    }
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

pub fn parse_header(b: &[u8]) -> Result<PflogHeader, PflogError> {
    if b.len() < PFLOG_HDRLEN {
        return Err(PflogError::Short(b.len()));
    }
    if usize::from(b[0]) != PFLOG_REAL_HDRLEN {
        return Err(PflogError::Length(b[0]));
    }
    let uid = u32_at(b, 44, false);
    let pid = u32_at(b, 48, false);
    Ok(PflogHeader {
        length: b[0],
        af: b[1],
        action: b[2],
        reason: b[3],
        ifname: c_string(&b[4..4 + IFNAMSIZ]),
        ruleset: c_string(&b[20..20 + RULESET_NAME_SIZE]),
        rulenr: u32_at(b, 36, true),
        subrulenr: u32_at(b, 40, true),
        uid: (uid != UID_MAX).then_some(uid),
        pid: (pid != NO_PID).then_some(pid),
        rule_uid: u32_at(b, 52, false),
        rule_pid: u32_at(b, 56, false),
        dir: b[60],
    })
}

/// Whether a record is one of ours: a packet our anchor (its last path
/// part, `render::pf::ANCHOR_NAME`) dropped. The helper's kernel filter
/// already keeps only these; this holds on a descriptor without it too.
pub fn is_ours(h: &PflogHeader, anchor_name: &str) -> bool {
    h.is_drop() && h.ruleset == anchor_name
}

/// One pflog record (header + the start of the packet) to an event.
pub fn parse(b: &[u8]) -> Result<(PflogHeader, BlockedEvent), PflogError> {
    let h = parse_header(b)?;
    if h.af != AF_INET && h.af != AF_INET6_MACOS {
        return Err(PflogError::Family(h.af));
    }
    let direction = match h.dir {
        PF_IN => BlockedDirection::In,
        PF_OUT => BlockedDirection::Out,
        d => return Err(PflogError::Direction(d)),
    };
    let start = (usize::from(h.length) + 3) & !3;
    let s = ip::parse(b.get(start..).unwrap_or(&[]))?;
    let event = BlockedEvent {
        direction,
        interface: if h.ifname.is_empty() {
            InterfaceRef::Unknown
        } else {
            InterfaceRef::Name(h.ifname.clone())
        },
        flow: s,
        sender: Sender {
            uid: h.uid,
            pid: h.pid,
            process: None,
        },
    };
    Ok((h, event))
}

#[cfg(test)]
mod tests {
    use super::super::ip::tests::{ports, v4};
    use super::*;
    use crate::policy::Protocol;

    /// A pfloghdr as the macOS kernel lays it out, built field by field.
    fn header(af: u8, dir: u8, uid: u32, pid: u32) -> Vec<u8> {
        let mut h = vec![PFLOG_REAL_HDRLEN as u8, af, PF_DROP, 0];
        let mut ifname = [0u8; 16];
        ifname[..3].copy_from_slice(b"en0");
        h.extend_from_slice(&ifname);
        let mut ruleset = [0u8; 16];
        ruleset[..7].copy_from_slice(b"airlock");
        h.extend_from_slice(&ruleset);
        h.extend_from_slice(&7u32.to_be_bytes());
        h.extend_from_slice(&u32::MAX.to_be_bytes());
        h.extend_from_slice(&uid.to_le_bytes());
        h.extend_from_slice(&pid.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&321u32.to_le_bytes());
        h.push(dir);
        h.extend_from_slice(&[0, 0, 0]);
        assert_eq!(h.len(), PFLOG_HDRLEN);
        h
    }

    #[test]
    fn outbound_dns_from_a_known_process() {
        let mut rec = header(AF_INET, PF_OUT, 501, 4242);
        rec.extend(v4(
            17,
            [192, 168, 1, 20],
            [192, 168, 1, 1],
            &ports(5353, 53),
        ));
        let (h, e) = parse(&rec).unwrap();
        assert!(h.is_drop());
        assert_eq!(h.ruleset, "airlock");
        assert_eq!((h.rulenr, h.subrulenr), (7, u32::MAX));
        assert_eq!(h.rule_pid, 321);
        assert_eq!(e.direction, BlockedDirection::Out);
        assert_eq!(e.interface, InterfaceRef::Name("en0".into()));
        assert_eq!(e.flow.protocol, Protocol::Udp);
        assert_eq!(e.flow.dst.to_string(), "192.168.1.1");
        assert_eq!(e.flow.dst_port, Some(53));
        assert_eq!(e.sender.uid, Some(501));
        assert_eq!(e.sender.pid, Some(4242));
    }

    #[test]
    fn no_socket_lookup_means_unknown_sender() {
        let mut rec = header(AF_INET, PF_IN, u32::MAX, u32::MAX);
        rec.extend(v4(
            6,
            [203, 0, 113, 9],
            [192, 168, 1, 20],
            &ports(443, 50000),
        ));
        let (_, e) = parse(&rec).unwrap();
        assert_eq!(e.direction, BlockedDirection::In);
        assert_eq!(e.sender, Sender::default());
    }

    /// A BPF frame around `data`, as macOS's `bpf_hdr` (18 bytes, padded
    /// to 20), word-aligned.
    fn bpf_frame(data: &[u8]) -> Vec<u8> {
        let mut r = vec![0; 8];
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(&20u16.to_le_bytes());
        r.extend_from_slice(&[0, 0]);
        r.extend_from_slice(data);
        while !r.len().is_multiple_of(4) {
            r.push(0);
        }
        r
    }

    fn with_ruleset(mut h: Vec<u8>, name: &[u8]) -> Vec<u8> {
        h[20..36].fill(0);
        h[20..20 + name.len()].copy_from_slice(name);
        h
    }

    #[test]
    fn a_bpf_read_yields_only_our_anchors_drops() {
        let packet = v4(17, [192, 168, 1, 20], [192, 168, 1, 1], &ports(5353, 53));
        let ours = {
            let mut r = with_ruleset(header(AF_INET, PF_OUT, 501, 4242), b"0.airlock");
            r.extend(&packet);
            r
        };
        let apple = {
            let mut r = with_ruleset(header(AF_INET, PF_OUT, 501, 4242), b"250.ApplicationF");
            r.extend(&packet);
            r
        };
        let passed = {
            let mut r = ours.clone();
            r[2] = 0; // PF_PASS
            r
        };
        let mut buf = bpf_frame(&ours);
        buf.extend(bpf_frame(&apple));
        buf.extend(bpf_frame(&passed));
        buf.extend(bpf_frame(&ours));
        buf.extend(bpf_frame(&[61, 2])); // cut short
        let batch = super::super::bpf::events_from_bpf(&buf, "0.airlock");
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.skipped, 3);
        assert_eq!(batch.events[0].flow.dst_port, Some(53));
        assert_eq!(batch.events[0].sender.pid, Some(4242));
        assert_eq!(
            super::super::bpf::events_from_bpf(&[], "0.airlock"),
            super::super::bpf::ReadBatch::default()
        );
    }

    /// What one batched read of a flood holds (the reader's 64 KiB
    /// buffer, records cut to the reader's snaplen), all decoded.
    #[test]
    fn a_full_read_buffer_of_a_flood_decodes_every_record() {
        let cfg = super::super::bpf::ReaderConfig::new(128);
        let mut rec = with_ruleset(header(AF_INET, PF_OUT, 501, 4242), b"0.airlock");
        rec.extend(v4(
            6,
            [192, 168, 1, 20],
            [203, 0, 113, 9],
            &ports(50000, 443),
        ));
        rec.resize(
            rec.len()
                .max(cfg.snaplen as usize)
                .min(cfg.snaplen as usize),
            0,
        );
        let frame = bpf_frame(&rec);
        let per_read = cfg.buffer_len as usize / frame.len();
        let buf: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(per_read * frame.len())
            .collect();
        // A full buffer of records decodes to exactly that many events.
        // (Its speed is not a test's business; the note has the figure.)
        let batch = super::super::bpf::events_from_bpf(&buf, "0.airlock");
        assert_eq!((batch.events.len(), batch.skipped), (per_read, 0));
    }

    #[test]
    fn bad_records_are_typed_errors() {
        assert_eq!(parse(&[0; 10]), Err(PflogError::Short(10)));
        let mut h = header(AF_INET, PF_OUT, 0, 0);
        h[0] = 45; // the old, pre-4.x header length
        assert_eq!(parse(&h), Err(PflogError::Length(45)));
        let h = header(17, PF_OUT, 0, 0);
        assert_eq!(parse(&h), Err(PflogError::Family(17)));
        let h = header(AF_INET, 0, 0, 0);
        assert_eq!(parse(&h), Err(PflogError::Direction(0)));
        let h = header(AF_INET6_MACOS, PF_OUT, 0, 0);
        assert_eq!(parse(&h), Err(PflogError::Ip(IpError::Empty)));
    }
}
