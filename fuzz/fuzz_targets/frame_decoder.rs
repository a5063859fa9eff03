//! Arbitrary bytes from the socket must never panic the helper or a
//! client. Beyond "no panic", two properties the protocol relies on:
//! - the incremental decoder (fed in chunks whose size the input picks)
//!   and the blocking `read_frame` agree on every frame and on how the
//!   stream ends, so the helper and the clients split a stream alike;
//! - any message that decodes re-encodes to a frame that decodes to the
//!   same message, so nothing is accepted that cannot be said back.

#![no_main]

use airlock_shared::ipc::frame::HEADER_LEN;
use airlock_shared::ipc::{
    decode, encode, read_frame, FrameDecoder, FrameError, Request, ServerMessage, MAX_FRAME_LEN,
};
use libfuzzer_sys::fuzz_target;

/// How a stream ended, comparable across the two readers.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    TooLarge(usize),
    Empty,
    Truncated(usize, usize),
}

fn end_of(e: FrameError) -> End {
    match e {
        FrameError::TooLarge { len } => End::TooLarge(len),
        FrameError::Empty => End::Empty,
        FrameError::Truncated { expected, got } => End::Truncated(expected, got),
        other => panic!("framing produced a non-framing error: {other}"),
    }
}

fn with_decoder(bytes: &[u8], chunk: usize) -> (Vec<Vec<u8>>, End) {
    let mut d = FrameDecoder::new();
    let mut frames = Vec::new();
    for piece in bytes.chunks(chunk) {
        if let Err(e) = d.push(piece) {
            return (frames, end_of(e));
        }
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, end_of(e)),
            }
        }
    }
    match d.finish() {
        Ok(()) => (frames, End::Clean),
        Err(e) => (frames, end_of(e)),
    }
}

fn with_reader(mut bytes: &[u8]) -> (Vec<Vec<u8>>, End) {
    let mut frames = Vec::new();
    loop {
        match read_frame(&mut bytes) {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, End::Clean),
            Err(e) => return (frames, end_of(e)),
        }
    }
}

/// A macro rather than a generic fn, so the fuzz crate needs no serde.
macro_rules! round_trips {
    ($t:ty, $frame:expr) => {
        if let Ok(message) = decode::<$t>($frame) {
            // Re-encoding drops whitespace and escapes, so it never grows.
            let again = encode(&message).expect("a decoded message re-encodes");
            let back: $t = decode(&again[HEADER_LEN..]).expect("a re-encoded message decodes");
            assert_eq!(back, message);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let decoded = with_decoder(stream, chunk);
    assert_eq!(decoded, with_reader(stream));
    for f in &decoded.0 {
        assert!(!f.is_empty() && f.len() <= MAX_FRAME_LEN);
        round_trips!(Request, f);
        round_trips!(ServerMessage, f);
    }
});
