//! The framing of a BPF read buffer (macOS `/dev/bpf*` bound to `pflog0`):
//! one `read(2)` returns several captured packets, each behind a
//! `struct bpf_hdr`, each record starting on a 4-byte boundary
//! (`BPF_WORDALIGN`). For 64-bit processes macOS uses a 32-bit timeval in
//! the header:
//!
//! ```text
//! off size field
//!   0    4 tv_sec      (struct timeval32)
//!   4    4 tv_usec
//!   8    4 bh_caplen   bytes captured (what follows bh_hdrlen)
//!  12    4 bh_datalen  bytes on the wire
//!  16    2 bh_hdrlen   header length incl. padding (18 rounded up)
//! ```
//!
//! All host order (little-endian on every Mac). Unverified on a Mac: built
//! from `net/bpf.h` and tested with constructed buffers; each captured
//! record then goes to [`super::pflog::parse`] ([`events_from_bpf`]).

use thiserror::Error;

use super::pflog;
use super::BlockedEvent;

const BPF_HDR_MIN: usize = 18;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BpfError {
    #[error("BPF record at byte {0} is cut short")]
    Short(usize),
    #[error("BPF record at byte {at} claims header length {hdrlen}")]
    HeaderLength { at: usize, hdrlen: usize },
}

/// The captured bytes of each record in `buf`, in order. A malformed
/// record ends the walk (the next one cannot be found without it).
pub fn records(buf: &[u8]) -> Vec<Result<&[u8], BpfError>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let Some(h) = buf.get(at..at + BPF_HDR_MIN) else {
            out.push(Err(BpfError::Short(at)));
            break;
        };
        let caplen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let hdrlen = usize::from(u16::from_le_bytes([h[16], h[17]]));
        if hdrlen < BPF_HDR_MIN {
            out.push(Err(BpfError::HeaderLength { at, hdrlen }));
            break;
        }
        let Some(data) = buf.get(at + hdrlen..at + hdrlen + caplen) else {
            out.push(Err(BpfError::Short(at)));
            break;
        };
        out.push(Ok(data));
        at += (hdrlen + caplen + 3) & !3;
    }
    out
}

/// One classic BPF instruction, as `struct bpf_insn` (`net/bpf.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// `offsetof(struct pfloghdr, action)` and `ruleset`, `PF_DROP`, and the
/// size of the ruleset field (see [`super::pflog`]).
const PFLOG_ACTION_AT: u32 = 2;
const PFLOG_RULESET_AT: u32 = 20;
const PF_DROP: u32 = 1;
const RULESET_NAME_SIZE: usize = 16;

/// The filter the helper sets on its `pflog0` descriptor (`BIOCSETF`):
/// keep only records of packets our own anchor dropped, and only their
/// first `snaplen` bytes. pf logs every rule with `log` to `pflog0`, ours
/// and anyone else's; filtering in the kernel means other programs'
/// records, and the bodies of ours, are never copied to the helper.
///
/// `anchor_name` is the last part of the anchor's path (`0.airlock`), which
/// is what xnu's `pflog_packet` copies into the header (`strlcpy` of
/// `ruleset->anchor->name`, NUL-padded). The comparison covers the name
/// and at least one NUL after it, so `0.airlock2` does not match. `None`
/// when the name cannot be matched exactly (longer than 15 bytes).
pub fn pflog_filter(anchor_name: &str, snaplen: u32) -> Option<Vec<Insn>> {
    let name = anchor_name.as_bytes();
    if name.is_empty() || name.len() >= RULESET_NAME_SIZE {
        return None;
    }
    // The name, its terminating NUL, padded with NULs to whole words: BPF
    // loads 32-bit words in network (big-endian) order.
    let words = (name.len() + 1).div_ceil(4);
    let mut padded = name.to_vec();
    padded.resize(words * 4, 0);
    let fail_from = |at: usize, total: usize| -> u8 {
        // A jump's offset counts from the next instruction; the last one
        // is `ret #0`.
        (total - 1 - (at + 1)) as u8
    };
    let total = 2 + 2 * words + 2;
    let mut prog = vec![
        Insn {
            code: BPF_LD_B_ABS,
            jt: 0,
            jf: 0,
            k: PFLOG_ACTION_AT,
        },
        Insn {
            code: BPF_JEQ_K,
            jt: 0,
            jf: fail_from(1, total),
            k: PF_DROP,
        },
    ];
    for (i, w) in padded.chunks(4).enumerate() {
        let at = prog.len();
        prog.push(Insn {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: PFLOG_RULESET_AT + 4 * i as u32,
        });
        prog.push(Insn {
            code: BPF_JEQ_K,
            jt: 0,
            jf: fail_from(at + 1, total),
            k: u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        });
    }
    prog.push(Insn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: snaplen,
    });
    prog.push(Insn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: 0,
    });
    debug_assert_eq!(prog.len(), total);
    Some(prog)
}

/// How the helper reads `pflog0`, decided here so the macOS shim only
/// carries it out.
///
/// pf has no rate limit for `log` (nft's `limit rate` has no pf
/// counterpart), so the cost of a flood of blocked packets is bounded by:
/// - nothing at all while nobody listens: xnu's `pflog_packet` returns
///   before building a record when `pflog0` has no BPF reader;
/// - the kernel filter above: other rules' records and packet bodies are
///   never copied out;
/// - batched reads: no `BIOCIMMEDIATE`, so a read returns when the
///   kernel's buffer is full or after `read_timeout_ms`; one wake-up
///   carries hundreds of records, and a reader that falls behind makes the
///   kernel drop records (its buffer is `buffer_len`), not queue them;
/// - the table's own per-second limit ([`super::Limits`]), which drops
///   what is beyond it before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    /// `BIOCSBLEN`: the kernel's store buffer (and ours), bytes.
    pub buffer_len: u32,
    /// `BIOCSRTIMEOUT`: a read returns at the latest after this long.
    pub read_timeout_ms: u32,
    /// `BIOCIMMEDIATE`: off, see above; the list may lag by the timeout.
    pub immediate: bool,
    /// Bytes of each record kept: the pflog header and the IP and
    /// transport headers, never the contents.
    pub snaplen: u32,
}

impl ReaderConfig {
    /// `snaplen` is the policy's (bytes of the packet), to which the
    /// 64-byte pflog header is added.
    pub fn new(packet_snaplen: u32) -> ReaderConfig {
        ReaderConfig {
            buffer_len: 64 * 1024,
            read_timeout_ms: 1000,
            immediate: false,
            snaplen: packet_snaplen.saturating_add(pflog::PFLOG_HDRLEN as u32),
        }
    }
}

/// What one BPF read of `pflog0` holds, as events: the records of
/// packets our anchor dropped. `skipped` counts the rest (other rules'
/// records, should no kernel filter have kept them out; records that do
/// not decode); a malformed BPF frame ends the buffer (see [`records`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadBatch {
    pub events: Vec<BlockedEvent>,
    pub skipped: usize,
}

pub fn events_from_bpf(buf: &[u8], anchor_name: &str) -> ReadBatch {
    let mut batch = ReadBatch::default();
    for rec in records(buf) {
        match rec.map(pflog::parse) {
            Ok(Ok((h, event))) if pflog::is_ours(&h, anchor_name) => batch.events.push(event),
            _ => batch.skipped += 1,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic BPF machine, for the few instructions [`pflog_filter`]
    /// uses: enough to run the program on captured-shape bytes.
    fn run(prog: &[Insn], pkt: &[u8]) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_B_ABS => match pkt.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0, // out of bounds: the kernel rejects
                },
                BPF_LD_W_ABS => match pkt.get(i.k as usize..i.k as usize + 4) {
                    Some(w) => a = u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
                    None => return 0,
                },
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                other => panic!("instruction {other:#x} not modelled"),
            }
        }
    }

    /// A pflog header with `action` and `ruleset`, then a few packet bytes.
    fn pflog_record(action: u8, ruleset: &[u8]) -> Vec<u8> {
        let mut r = vec![61, 2, action, 0];
        r.extend_from_slice(&[0; 16]); // ifname
        let mut rs = [0u8; 16];
        rs[..ruleset.len()].copy_from_slice(ruleset);
        r.extend_from_slice(&rs);
        r.resize(64, 0);
        r.extend_from_slice(&[0x45; 40]);
        r
    }

    #[test]
    fn the_pflog_filter_keeps_only_our_drops_and_cuts_them_short() {
        let prog = pflog_filter("0.airlock", 192).unwrap();
        assert_eq!(run(&prog, &pflog_record(1, b"0.airlock")), 192);
        // Someone else's anchor, another name sharing our prefix, a pass
        // that logs, a record logged by a main-ruleset rule (no ruleset).
        assert_eq!(run(&prog, &pflog_record(1, b"250.Application")), 0);
        assert_eq!(run(&prog, &pflog_record(1, b"0.airlock2")), 0);
        assert_eq!(run(&prog, &pflog_record(1, b"0.airloc")), 0);
        assert_eq!(run(&prog, &pflog_record(0, b"0.airlock")), 0);
        assert_eq!(run(&prog, &pflog_record(1, b"")), 0);
        assert_eq!(run(&prog, &[1, 2]), 0, "a short record");
        assert_eq!(prog.last().map(|i| i.k), Some(0));
        // `0.airlock` + NUL is 10 bytes: three words compared.
        assert_eq!(prog.len(), 2 + 2 * 3 + 2);
    }

    #[test]
    fn names_the_header_cannot_hold_exactly_get_no_filter() {
        assert!(pflog_filter("", 100).is_none());
        assert!(pflog_filter("sixteen-bytes-xx", 100).is_none());
        assert!(pflog_filter("fifteen-bytes-x", 100).is_some());
    }

    #[test]
    fn reads_are_batched_and_records_cut_after_the_headers() {
        let c = ReaderConfig::new(128);
        assert!(!c.immediate);
        assert_eq!(c.snaplen, 192);
        assert!(c.buffer_len as usize >= 100 * c.snaplen as usize);
    }

    fn record(data: &[u8]) -> Vec<u8> {
        let mut r = vec![0; 8]; // timestamp
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(&(data.len() as u32 + 100).to_le_bytes());
        r.extend_from_slice(&20u16.to_le_bytes());
        r.extend_from_slice(&[0, 0]); // padding to bh_hdrlen 20
        r.extend_from_slice(data);
        while !r.len().is_multiple_of(4) {
            r.push(0xee);
        }
        r
    }

    #[test]
    fn walks_aligned_records() {
        let mut buf = record(b"first");
        buf.extend(record(b"second!!"));
        buf.extend(record(b"3"));
        let got: Vec<&[u8]> = records(&buf).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, [&b"first"[..], b"second!!", b"3"]);
    }

    #[test]
    fn truncated_or_bad_headers_are_typed_errors() {
        let buf = record(b"payload");
        for n in 1..buf.len() - 1 {
            let r = records(&buf[..n]);
            assert!(r.last().unwrap().is_err(), "{n}: {r:?}");
        }
        let mut bad = record(b"x");
        bad[16] = 4;
        assert_eq!(
            records(&bad),
            vec![Err(BpfError::HeaderLength { at: 0, hdrlen: 4 })]
        );
    }
}
