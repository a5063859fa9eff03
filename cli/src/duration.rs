//! `pause 90s`, `pause 5m`, `pause 1h30m`: the one duration syntax the CLI
//! reads, and the compact form it prints back (`1h 30m`).
//!
//! A bare number is refused rather than guessed at: "pause 5" could mean
//! seconds or minutes, and a wrong guess here is a hole in the kill switch
//! of the wrong size.

use std::fmt;

/// Why a duration did not parse; the text is shown after `airlockctl: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(pub String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

pub const SYNTAX: &str = "a number with a unit, e.g. 90s, 5m, 1h, 1h30m (units d, h, m, s)";

/// Parses `[Nd][Nh][Nm][Ns]` (at least one part, units largest first, each
/// at most once) into seconds. Zero is refused: a pause of nothing is a
/// mistake, and `resume` is how a pause is ended.
pub fn parse_seconds(text: &str) -> Result<u64, DurationError> {
    let bad = |why: &str| DurationError(format!("{text:?} {why}; expected {SYNTAX}"));
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("is empty"));
    }
    let mut total: u64 = 0;
    let mut last_rank = usize::MAX;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("is not a duration"));
        }
        let (number, after) = rest.split_at(digits);
        let Some(unit) = after.chars().next() else {
            return Err(bad("has a number without a unit"));
        };
        let (rank, scale) = match unit.to_ascii_lowercase() {
            'd' => (0, 86_400),
            'h' => (1, 3_600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(bad(&format!("has an unknown unit {unit:?}"))),
        };
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(bad("repeats a unit or has them out of order"));
        }
        last_rank = rank;
        let n: u64 = number.parse().map_err(|_| bad("is too long"))?;
        total = n
            .checked_mul(scale)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| bad("is too long"))?;
        rest = &after[unit.len_utf8()..];
    }
    if total == 0 {
        return Err(DurationError(format!(
            "{text:?} is no time at all; to end a pause use `airlockctl resume`"
        )));
    }
    Ok(total)
}

/// The shortest readable form: `45s`, `5m`, `1h 30m`, `2d 3h`. Seconds are
/// dropped once the duration is an hour or more (nobody needs them there).
pub fn format_seconds(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m")]
        .into_iter()
        .chain((secs < 3_600).then_some((s, "s")))
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for (text, want) in [
            ("90s", 90),
            ("5m", 300),
            ("1h", 3_600),
            ("1h30m", 5_400),
            ("1h30m15s", 5_415),
            ("2d", 172_800),
            ("1d1s", 86_401),
            ("10M", 600),
            (" 7s ", 7),
            ("0h5m", 300),
        ] {
            assert_eq!(parse_seconds(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn refused_forms_say_what_is_wrong() {
        for (text, mention) in [
            ("", "empty"),
            ("5", "without a unit"),
            ("5x", "unknown unit"),
            ("m5", "not a duration"),
            ("1.5h", "unknown unit"),
            ("-5m", "not a duration"),
            ("5m1h", "out of order"),
            ("5m5m", "out of order"),
            ("0s", "resume"),
            ("0h0m", "resume"),
            ("99999999999999999999s", "too long"),
            ("9999999999999999d", "too long"),
            ("1h 30m", "not a duration"),
        ] {
            let e = parse_seconds(text).expect_err(text);
            assert!(e.0.contains(mention), "{text:?}: {e}");
        }
    }

    #[test]
    fn formatting() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (300, "5m"),
            (301, "5m 1s"),
            (3_600, "1h"),
            (5_415, "1h 30m"),
            (90_000, "1d 1h"),
        ] {
            assert_eq!(format_seconds(secs), want, "{secs}");
        }
    }

    #[test]
    fn formatting_reads_back_for_whole_minutes() {
        for secs in [60, 300, 5_400, 86_400 + 60] {
            let text = format_seconds(secs).replace(' ', "");
            assert_eq!(parse_seconds(&text), Ok(secs), "{text}");
        }
    }
}
