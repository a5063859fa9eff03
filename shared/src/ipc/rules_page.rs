//! Paging the loaded ruleset over frames of at most [`MAX_FRAME_LEN`].
//!
//! The nft text grows by ~30 bytes per VPN endpoint, so a user who
//! imports a provider's whole config bundle (thousands of servers) has a
//! ruleset far larger than one frame. The frame limit stays: it bounds
//! what a hostile peer can make either side buffer. Instead the helper
//! answers `GetRules { offset }` with the part of the text from `offset`
//! on, sized so the frame always fits, plus the full length and a digest
//! of the full text; the client ([`Client::rules`]) asks until it has
//! `total` bytes and checks the digest.
//!
//! Pure functions: the helper and the tests' fake helpers use the same
//! cutting, so a fake cannot drift from the real one.
//!
//! [`MAX_FRAME_LEN`]: super::frame::MAX_FRAME_LEN
//! [`Client::rules`]: super::client::Client::rules

use std::io;

use super::protocol::{ErrorCode, IpcError, ResponseBody};

/// Bytes of ruleset text a page starts from before it is checked against
/// [`MAX_PAGE_JSON`]. Plain nft text escapes only its tabs and newlines
/// (~10% growth), so this is normally the page size.
pub const PAGE_TEXT_MAX: usize = 24 * 1024;

/// The most a page's text may take once JSON-escaped. JSON can make a
/// byte six (`\u0001`), so a page is halved until it fits; the other
/// fields of the response frame take well under the remaining 8 KiB of
/// the 64 KiB frame.
pub const MAX_PAGE_JSON: usize = 56 * 1024;

/// Why a page cannot be cut at the offset a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("the rules are {total} bytes long; there is no page at byte {offset}")]
    PastEnd { offset: u64, total: u64 },
    #[error(
        "byte {offset} is inside a UTF-8 character of the rules; \
         ask for the offset right after the previous page"
    )]
    NotCharBoundary { offset: u64 },
}

impl From<PageError> for IpcError {
    /// The client asked for a page that does not exist: its mistake, so
    /// `BadRequest`, and the connection stays usable.
    fn from(e: PageError) -> Self {
        IpcError::new(ErrorCode::BadRequest, e.to_string())
    }
}

/// The page of `full` starting at byte `offset`: at most
/// [`PAGE_TEXT_MAX`] bytes, ending on a char boundary, JSON-escaped to
/// at most [`MAX_PAGE_JSON`] bytes, and never empty unless `offset` is
/// the end of the text (so a client that moves on by the page's length
/// always makes progress). `offset == full.len()` is the empty last
/// page, which is what an empty ruleset answers at offset 0.
pub fn cut(full: &str, offset: u64) -> Result<&str, PageError> {
    let total = full.len() as u64;
    let start = usize::try_from(offset)
        .ok()
        .filter(|&s| s <= full.len())
        .ok_or(PageError::PastEnd { offset, total })?;
    let rest = full
        .get(start..)
        .ok_or(PageError::NotCharBoundary { offset })?;
    let Some(first) = rest.chars().next() else {
        return Ok(rest);
    };
    // One whole char always fits (at most 4 bytes, 12 once escaped).
    let min = first.len_utf8();
    let mut budget = PAGE_TEXT_MAX;
    loop {
        let end = floor_char_boundary(rest, budget).max(min);
        let page = &rest[..end];
        if end == min || json_len(page) <= MAX_PAGE_JSON {
            return Ok(page);
        }
        budget = end / 2;
    }
}

/// The helper's answer to `GetRules { offset }` for the ruleset `full`
/// (one page; a reader of many pages keeps a [`Listing`]).
pub fn response(backend: &str, full: &str, offset: u64) -> Result<ResponseBody, PageError> {
    page(backend, full, &digest(full), offset)
}

/// A ruleset as read from the kernel, with its digest computed once for
/// all the pages cut from it (it hashes the whole text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    text: String,
    digest: String,
}

impl Listing {
    pub fn new(text: String) -> Listing {
        let digest = digest(&text);
        Listing { text, digest }
    }

    /// The answer to `GetRules { offset }` from this listing.
    pub fn page(&self, backend: &str, offset: u64) -> Result<ResponseBody, PageError> {
        page(backend, &self.text, &self.digest, offset)
    }
}

fn page(backend: &str, full: &str, digest: &str, offset: u64) -> Result<ResponseBody, PageError> {
    let text = cut(full, offset)?;
    Ok(ResponseBody::Rules {
        backend: backend.to_string(),
        text: text.to_string(),
        offset,
        total: full.len() as u64,
        digest: digest.to_string(),
    })
}

/// The digest sent with every page: FNV-1a 64 of the full text, as 16
/// lowercase hex digits. It lets the client notice that the ruleset
/// changed between two pages (a reload, another client's request) and
/// that the pages add up to what the helper described. It is not a
/// defence against an attacker, who could forge it trivially: the
/// helper is already authenticated by the kernel (root-owned socket,
/// peer credentials), and a non-cryptographic hash costs nothing.
pub fn digest(text: &str) -> String {
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

/// The largest char boundary of `s` at or below `at` (`str::
/// floor_char_boundary` is unstable).
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Bytes `text` takes as a JSON string (quotes included), counted
/// without building it.
fn json_len(text: &str) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a &str into a counter cannot fail; if it somehow did, a
    // huge length makes `cut` halve the page, which is the safe side.
    match serde_json::to_writer(&mut count, text) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::frame::{encode, MAX_FRAME_LEN};
    use crate::ipc::protocol::ServerMessage;

    /// Cuts `full` into pages the way a client walks it, checking each
    /// page's frame fits; returns the pages.
    fn walk(full: &str) -> Vec<&str> {
        let mut pages = Vec::new();
        let mut offset = 0;
        loop {
            let page = cut(full, offset as u64).unwrap();
            // `encode` refuses a payload over MAX_FRAME_LEN.
            encode(&ServerMessage::ok(
                u64::MAX,
                response("nft", full, offset as u64).unwrap(),
            ))
            .unwrap_or_else(|e| panic!("page at {offset} of {MAX_FRAME_LEN}-byte frames: {e}"));
            pages.push(page);
            offset += page.len();
            if offset == full.len() {
                return pages;
            }
            assert!(!page.is_empty(), "no progress at {offset}");
        }
    }

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
        assert_eq!(digest(""), "cbf29ce484222325");
        assert_eq!(digest("a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn plain_text_pages_are_full_size_and_add_up() {
        let line = "\t\tip daddr 198.51.100.7 udp dport 1194 accept\n";
        let full = line.repeat(5_000);
        let pages = walk(&full);
        assert_eq!(pages.concat(), full);
        assert!(pages.len() > 1);
        assert_eq!(pages[0].len(), PAGE_TEXT_MAX);
        assert_eq!(pages.len(), full.len().div_ceil(PAGE_TEXT_MAX));
    }

    #[test]
    fn a_small_text_is_one_page() {
        let full = "table inet airlock {\n}\n";
        assert_eq!(cut(full, 0), Ok(full));
        assert_eq!(walk(full), [full]);
    }

    #[test]
    fn multibyte_chars_at_the_boundary_are_not_split() {
        // 'é' is 2 bytes, '✓' 3, '𝄞' 4: put each across byte PAGE_TEXT_MAX.
        for (pad, ch) in [(1, 'é'), (1, '✓'), (2, '✓'), (1, '𝄞'), (3, '𝄞')] {
            let mut full = "x".repeat(PAGE_TEXT_MAX - pad);
            full.push(ch);
            full.push_str("tail");
            let first = cut(&full, 0).unwrap();
            assert_eq!(first.len(), PAGE_TEXT_MAX - pad, "{ch:?} pad {pad}");
            let second = cut(&full, first.len() as u64).unwrap();
            assert!(second.starts_with(ch), "{ch:?} pad {pad}");
            assert_eq!(walk(&full).concat(), full);
        }
        let full = "𝄞".repeat(20_000);
        let pages = walk(&full);
        assert_eq!(pages.concat(), full);
        assert!(pages.iter().all(|p| p.len() % 4 == 0));
    }

    #[test]
    fn text_that_escapes_six_fold_still_fits_a_frame() {
        // Control characters become \u00XX: six bytes of JSON per byte.
        let full = "\u{1}".repeat(200_000);
        assert_eq!(json_len("\u{1}"), 8);
        let pages = walk(&full);
        assert_eq!(pages.concat(), full);
        assert!(pages[0].len() < PAGE_TEXT_MAX);
        assert!(json_len(pages[0]) <= MAX_PAGE_JSON);
        // Quotes and backslashes double.
        let full = "\"\\".repeat(60_000);
        assert_eq!(walk(&full).concat(), full);
    }

    #[test]
    fn empty_text_is_one_empty_page() {
        assert_eq!(cut("", 0), Ok(""));
        match response("pf", "", 0).unwrap() {
            ResponseBody::Rules {
                backend,
                text,
                offset,
                total,
                digest,
            } => {
                assert_eq!((backend.as_str(), text.as_str()), ("pf", ""));
                assert_eq!((offset, total), (0, 0));
                assert_eq!(digest, "cbf29ce484222325");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_offset_past_the_end_is_refused() {
        assert_eq!(
            cut("abc", 4),
            Err(PageError::PastEnd {
                offset: 4,
                total: 3
            })
        );
        assert_eq!(
            cut("", u64::MAX),
            Err(PageError::PastEnd {
                offset: u64::MAX,
                total: 0
            })
        );
        // The end itself is the (empty) last page.
        assert_eq!(cut("abc", 3), Ok(""));
        let e = IpcError::from(cut("abc", 9).unwrap_err());
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("3 bytes") && e.message.contains('9'));
    }

    #[test]
    fn an_offset_inside_a_char_is_refused() {
        let full = "a✓b";
        assert_eq!(cut(full, 1), Ok("✓b"));
        for offset in [2, 3] {
            assert_eq!(
                cut(full, offset),
                Err(PageError::NotCharBoundary { offset })
            );
        }
        let e = IpcError::from(cut(full, 2).unwrap_err());
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("inside a UTF-8 character"), "{e}");
    }
}
