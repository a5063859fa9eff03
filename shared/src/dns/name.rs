//! Domain names, read from the wire (with compression) or from settings.

use std::fmt;

use super::error::ParseError;
use super::limits::MAX_POINTER_HOPS;

/// RFC 1035 §2.3.4: a label is at most 63 bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// RFC 1035 §2.3.4: a name is at most 255 bytes in wire form.
pub const MAX_NAME_LEN: usize = 255;

/// A domain name in uncompressed wire form (length-prefixed labels, ending
/// with the root's zero byte), keeping the asker's letter case so an answer
/// can echo the question exactly (resolvers that randomise case check it).
/// Equality ignores ASCII case, as DNS does (RFC 4343).
#[derive(Clone)]
pub struct Name {
    wire: Vec<u8>,
}

/// Why a name written by a person (settings, a config's `remote`) is not a
/// domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{0:?}: empty name")]
    Empty(String),
    #[error("{0:?}: empty label (two dots in a row, or a leading dot)")]
    EmptyLabel(String),
    #[error("{0:?}: a label is longer than 63 characters")]
    LabelTooLong(String),
    #[error("{0:?}: longer than 255 bytes in wire form")]
    TooLong(String),
}

impl Name {
    /// Parses `vpn.example.net` or `vpn.example.net.` (one trailing dot is
    /// the fully-qualified spelling of the same name).
    pub fn from_dotted(text: &str) -> Result<Name, NameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Err(NameError::Empty(text.to_string()));
        }
        let mut wire = Vec::with_capacity(trimmed.len() + 2);
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(text.to_string()));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(text.to_string()));
            }
            // The length fits a byte: it is at most 63.
            wire.push(label.len() as u8);
            wire.extend_from_slice(label.as_bytes());
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(text.to_string()));
        }
        Ok(Name { wire })
    }

    /// Reads the name starting at `start` in `msg`, following compression
    /// pointers. Returns the name and the offset just after it *in place*
    /// (after the first pointer, if there is one).
    pub(crate) fn read(msg: &[u8], start: usize) -> Result<(Name, usize), ParseError> {
        let mut wire = Vec::new();
        let mut pos = start;
        // Where the run of labels being read began: a pointer must point
        // strictly before it, so every jump goes to a lower offset.
        let mut segment_start = start;
        let mut end = None;
        let mut hops = 0;
        loop {
            let len = *msg.get(pos).ok_or(ParseError::Truncated)?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    wire.push(0);
                    if wire.len() > MAX_NAME_LEN {
                        return Err(ParseError::NameTooLong);
                    }
                    return Ok((Name { wire }, end.unwrap_or(pos + 1)));
                }
                0x00 => {
                    let l = usize::from(len);
                    let label = msg.get(pos + 1..pos + 1 + l).ok_or(ParseError::Truncated)?;
                    // +1 for this length byte, +1 for the root still to come.
                    if wire.len() + 1 + l + 1 > MAX_NAME_LEN {
                        return Err(ParseError::NameTooLong);
                    }
                    wire.push(len);
                    wire.extend_from_slice(label);
                    pos += 1 + l;
                }
                0xC0 => {
                    let low = *msg.get(pos + 1).ok_or(ParseError::Truncated)?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                    if target >= segment_start {
                        return Err(ParseError::ForwardPointer);
                    }
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(ParseError::TooManyPointers);
                    }
                    end.get_or_insert(pos + 2);
                    pos = target;
                    segment_start = target;
                }
                // 0x40 (extended label types, RFC 6891 retired them) and
                // 0x80 (reserved) are never valid in a message.
                _ => return Err(ParseError::BadLabelType),
            }
        }
    }

    /// The uncompressed wire form, root byte included.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Length bytes are at most 63, below 'A' (65), so folding the whole
        // wire form only folds letters inside labels.
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl fmt::Display for Name {
    /// Dotted, without the trailing dot; bytes outside printable ASCII and
    /// dots inside labels are escaped as `\DDD` (RFC 1035 §5.1), so a
    /// hostile name cannot forge log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pos = 0;
        let mut first = true;
        while let Some(&len) = self.wire.get(pos) {
            if len == 0 {
                break;
            }
            if !first {
                f.write_str(".")?;
            }
            first = false;
            let label = self
                .wire
                .get(pos + 1..pos + 1 + usize::from(len))
                .unwrap_or_default();
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", char::from(b))?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
            pos += 1 + usize::from(len);
        }
        if first {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_ignore_case_and_one_trailing_dot() {
        let a = Name::from_dotted("Captive.Apple.COM.").unwrap();
        let b = Name::from_dotted("captive.apple.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_string(), "captive.apple.com");
        assert_ne!(b, Name::from_dotted("captive.apple.co").unwrap());
        assert_ne!(b, Name::from_dotted("xcaptive.apple.com").unwrap());
    }

    #[test]
    fn bad_dotted_names_are_typed_errors() {
        assert!(matches!(Name::from_dotted(""), Err(NameError::Empty(_))));
        assert!(matches!(Name::from_dotted("."), Err(NameError::Empty(_))));
        assert!(matches!(
            Name::from_dotted("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            Name::from_dotted(&"a".repeat(64)),
            Err(NameError::LabelTooLong(_))
        ));
        assert!(Name::from_dotted(&"a".repeat(63)).is_ok());
        // 4 labels of 63 = 4*64 + 1 = 257 bytes.
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(matches!(
            Name::from_dotted(&long),
            Err(NameError::TooLong(_))
        ));
        // 3*64 + 62 = 254, +1 root = 255: the longest legal name.
        let max = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "a".repeat(61));
        assert_eq!(Name::from_dotted(&max).unwrap().wire().len(), 255);
    }

    #[test]
    fn hostile_bytes_are_escaped_when_shown() {
        let msg = [3, b'a', b'\n', b'.', 0];
        let (n, end) = Name::read(&msg, 0).unwrap();
        assert_eq!(end, 5);
        assert_eq!(n.to_string(), "a\\010\\046");
    }

    #[test]
    fn pointers_are_followed_backwards_only() {
        // "example.com" at 0, then "www" + pointer to 0 at 13.
        let mut msg = vec![7];
        msg.extend_from_slice(b"example");
        msg.extend_from_slice(&[3, b'c', b'o', b'm', 0]);
        msg.extend_from_slice(&[3, b'w', b'w', b'w', 0xC0, 0]);
        let (n, end) = Name::read(&msg, 13).unwrap();
        assert_eq!(n, Name::from_dotted("www.example.com").unwrap());
        assert_eq!(end, msg.len());
        // A pointer to itself, or forward, is refused.
        assert_eq!(
            Name::read(&[0xC0, 0], 0).unwrap_err(),
            ParseError::ForwardPointer
        );
        assert_eq!(
            Name::read(&[0xC0, 2, 0], 0).unwrap_err(),
            ParseError::ForwardPointer
        );
    }

    #[test]
    fn a_two_pointer_loop_ends_with_an_error() {
        // At 2: label "a" then a pointer back to 2's own segment start
        // would loop; it points to 0, which points to 2: forward, refused.
        let msg = [0xC0, 2, 1, b'a', 0xC0, 0];
        assert_eq!(Name::read(&msg, 2).unwrap_err(), ParseError::ForwardPointer);
        // Back to the start of its own segment: refused too.
        let msg = [1, b'a', 0xC0, 0];
        assert_eq!(Name::read(&msg, 0).unwrap_err(), ParseError::ForwardPointer);
    }

    #[test]
    fn long_pointer_chains_stop_at_the_hop_bound() {
        // Offsets 0..=2*N: a zero-terminated name at 0, then N pointers each
        // to the previous one. Reading the last one hops N times.
        let mut msg = vec![0];
        let mut prev = 0usize;
        for _ in 0..=MAX_POINTER_HOPS {
            let here = msg.len();
            msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
            prev = here;
        }
        assert_eq!(
            Name::read(&msg, prev).unwrap_err(),
            ParseError::TooManyPointers
        );
        // One hop fewer is fine.
        let second_last = prev - 2;
        assert!(Name::read(&msg, second_last).is_ok());
    }

    #[test]
    fn over_long_wire_names_and_reserved_label_types_are_refused() {
        let mut msg = Vec::new();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(Name::read(&msg, 0).unwrap_err(), ParseError::NameTooLong);
        assert_eq!(
            Name::read(&[0x40], 0).unwrap_err(),
            ParseError::BadLabelType
        );
        assert_eq!(
            Name::read(&[0x80], 0).unwrap_err(),
            ParseError::BadLabelType
        );
        assert_eq!(
            Name::read(&[3, b'a'], 0).unwrap_err(),
            ParseError::Truncated
        );
        assert_eq!(Name::read(&[0xC0], 0).unwrap_err(), ParseError::Truncated);
        assert_eq!(Name::read(&[], 0).unwrap_err(), ParseError::Truncated);
    }
}
