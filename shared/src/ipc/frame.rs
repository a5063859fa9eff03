//! Length-prefixed frames: a `u32` big-endian payload length, then that
//! many bytes of UTF-8 JSON holding exactly one JSON object.
//!
//! The length is checked before a single payload byte is buffered, so a
//! peer (or a fuzzer) cannot make either side allocate more than
//! [`MAX_FRAME_LEN`] bytes per frame. The codec is pure: the helper wraps
//! [`FrameDecoder`] in its async reader, blocking clients use
//! [`read_frame`]/[`write_frame`] or the decoder directly.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest payload a frame may carry. A status, a settings file or a
/// ruleset is a few KiB; anything near this is a bug or an attack.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Bytes of the length prefix.
pub const HEADER_LEN: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge { len: usize },
    #[error("empty frame (length 0): every frame holds one JSON object")]
    Empty,
    #[error("connection closed mid-frame: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    #[error("bad message: {0}")]
    Json(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Serializes one message into a complete frame (prefix included).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let mut frame = vec![0; HEADER_LEN];
    serde_json::to_writer(&mut frame, message).map_err(|e| FrameError::Json(e.to_string()))?;
    let len = frame.len() - HEADER_LEN;
    let prefix = checked_len(len)?;
    frame[..HEADER_LEN].copy_from_slice(&prefix.to_be_bytes());
    Ok(frame)
}

/// Parses one frame's payload. The payload must be a single JSON object:
/// serde would otherwise also accept a struct written as an array, and
/// the protocol has exactly one spelling for each message.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(FrameError::Json("a frame must hold one JSON object".into()));
    }
    serde_json::from_slice(payload).map_err(|e| FrameError::Json(e.to_string()))
}

/// Validates a payload length for the wire.
fn checked_len(len: usize) -> Result<u32, FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    // Cannot fail: MAX_FRAME_LEN fits in a u32.
    u32::try_from(len).map_err(|_| FrameError::TooLarge { len })
}

/// Validates a declared length read off the wire.
fn declared_len(header: [u8; HEADER_LEN]) -> Result<usize, FrameError> {
    // u32 always fits in usize on the 32/64-bit targets Airlock supports;
    // saturating keeps the TooLarge path for anything else.
    let len = usize::try_from(u32::from_be_bytes(header)).unwrap_or(usize::MAX);
    checked_len(len).map(|_| len)
}

/// Incremental decoder for a byte stream that arrives in arbitrary pieces.
///
/// Push what the socket gave you, then pop frames until `None`. Popping
/// after each push keeps the buffer below one frame plus one read. A
/// length error poisons the decoder: the stream cannot be resynchronized,
/// so the connection must be dropped.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    poisoned: Option<Poison>,
}

#[derive(Debug, Clone, Copy)]
enum Poison {
    TooLarge(usize),
    Empty,
}

impl Poison {
    fn error(self) -> FrameError {
        match self {
            Poison::TooLarge(len) => FrameError::TooLarge { len },
            Poison::Empty => FrameError::Empty,
        }
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes. Fails as soon as the frame at the front declares a
    /// bad length, so an oversized frame is refused after its 4-byte
    /// prefix instead of after its payload has been buffered.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        if let Some(p) = self.poisoned {
            return Err(p.error());
        }
        self.buf.extend_from_slice(bytes);
        self.front_len().map(|_| ())
    }

    /// The payload of the next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(len) = self.front_len()? else {
            return Ok(None);
        };
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let payload = self.buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.buf.drain(..HEADER_LEN + len);
        Ok(Some(payload))
    }

    /// True when no partial frame is buffered, i.e. an EOF now would be a
    /// clean end of stream rather than a truncation.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty()
    }

    /// Call at EOF: `Truncated` if the peer stopped mid-frame.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(p) = self.poisoned {
            return Err(p.error());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let expected = match self.buf.get(..HEADER_LEN) {
            Some(h) => {
                let mut header = [0; HEADER_LEN];
                header.copy_from_slice(h);
                HEADER_LEN + declared_len(header)?
            }
            None => HEADER_LEN,
        };
        Err(FrameError::Truncated {
            expected,
            got: self.buf.len(),
        })
    }

    /// Declared payload length of the front frame, once its prefix is in.
    fn front_len(&mut self) -> Result<Option<usize>, FrameError> {
        if let Some(p) = self.poisoned {
            return Err(p.error());
        }
        let Some(h) = self.buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let mut header = [0; HEADER_LEN];
        header.copy_from_slice(h);
        match declared_len(header) {
            Ok(len) => Ok(Some(len)),
            Err(e) => {
                self.poisoned = Some(match e {
                    FrameError::TooLarge { len } => Poison::TooLarge(len),
                    _ => Poison::Empty,
                });
                // Nothing after a bad prefix will ever be read.
                self.buf = Vec::new();
                Err(e)
            }
        }
    }
}

/// Reads one frame's payload. `Ok(None)` is a clean EOF between frames;
/// EOF inside a frame is `Truncated`. A timeout surfaces as `Io` and
/// loses a partially read frame: callers that retry after timeouts use
/// [`FrameDecoder`] instead.
pub fn read_frame(reader: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0; HEADER_LEN];
    let got = read_full(reader, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated {
            expected: HEADER_LEN,
            got,
        });
    }
    let len = declared_len(header)?;
    let mut payload = vec![0; len];
    let got = read_full(reader, &mut payload)?;
    if got < len {
        return Err(FrameError::Truncated {
            expected: HEADER_LEN + len,
            got: HEADER_LEN + got,
        });
    }
    Ok(Some(payload))
}

/// Reads and decodes one message; `Ok(None)` on clean EOF.
pub fn read_message<T: DeserializeOwned>(reader: &mut impl Read) -> Result<Option<T>, FrameError> {
    read_frame(reader)?.map(|p| decode(&p)).transpose()
}

/// Encodes and writes one message as a single write, then flushes.
pub fn write_frame<T: Serialize>(writer: &mut impl Write, message: &T) -> Result<(), FrameError> {
    let frame = encode(message)?;
    writer.write_all(&frame)?;
    writer.flush()?;
    Ok(())
}

/// Fills `buf` unless EOF comes first; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn decoder_pops_frames_split_and_coalesced() {
        let mut stream = frame(b"{\"a\":1}");
        stream.extend(frame(b"{}"));
        let mut d = FrameDecoder::new();
        d.push(&stream[..3]).unwrap();
        assert_eq!(d.next_frame().unwrap(), None);
        assert!(!d.is_idle());
        d.push(&stream[3..]).unwrap();
        assert_eq!(d.next_frame().unwrap().as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(d.next_frame().unwrap().as_deref(), Some(&b"{}"[..]));
        assert_eq!(d.next_frame().unwrap(), None);
        assert!(d.is_idle());
        d.finish().unwrap();
    }

    #[test]
    fn decoder_finish_reports_truncation() {
        let mut d = FrameDecoder::new();
        d.push(&[0, 0]).unwrap();
        assert!(matches!(
            d.finish(),
            Err(FrameError::Truncated {
                expected: 4,
                got: 2
            })
        ));
        d.push(&[0, 5, b'{']).unwrap();
        assert!(matches!(
            d.finish(),
            Err(FrameError::Truncated {
                expected: 9,
                got: 5
            })
        ));
    }

    #[test]
    fn decoder_stays_poisoned_after_a_bad_length() {
        let mut d = FrameDecoder::new();
        assert!(matches!(d.push(&[0, 0, 0, 0]), Err(FrameError::Empty)));
        // Bytes that would form a valid frame cannot revive the stream.
        assert!(matches!(d.push(&frame(b"{}")), Err(FrameError::Empty)));
        assert!(matches!(d.next_frame(), Err(FrameError::Empty)));
    }

    #[test]
    fn decode_wants_exactly_one_object() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct P {
            a: u8,
        }
        assert!(decode::<P>(b" {\"a\":1} ").is_ok());
        assert!(matches!(decode::<P>(b"[1]"), Err(FrameError::Json(_))));
        assert!(matches!(
            decode::<P>(b"{\"a\":1}{\"a\":2}"),
            Err(FrameError::Json(_))
        ));
        assert!(matches!(decode::<P>(b"\xff"), Err(FrameError::Json(_))));
        assert!(matches!(decode::<P>(b""), Err(FrameError::Json(_))));
    }
}
