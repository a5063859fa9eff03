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
//! record then goes to [`super::pflog::parse`].

use thiserror::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

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
