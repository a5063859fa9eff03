//! When learned endpoints expire: `learned_endpoint_ttl` after the helper
//! last saw the VPN use them. Pure: the engine passes the time and what
//! the network shows in use, and applies the outcome on its deadline.
//!
//! Only [`Origin::Learned`] endpoints ever expire. A learned endpoint is a
//! hole the helper opened by itself (a provider's server the VPN once
//! connected to, often through an address only a DNS pin allowed); kept
//! forever, every address a provider moves away from would stay allowed on
//! the physical interface, and might be somebody else's host a year later.
//! What the user added or imported is the user's to remove.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::{Endpoint, Origin};

const DAY: u64 = 86_400;

/// How long a learned endpoint stays after it was last seen; `never`
/// keeps them for good (as before this existed).
///
/// 30 days by default: long enough that a VPN used once a month, or not
/// during a holiday, still reconnects through the kill switch by itself;
/// short enough that a server the provider retired stops being a hole
/// within a month rather than never. A VPN whose config was imported needs
/// no learned endpoint at all, and a server it resolves by name is pinned
/// from the answer again (`dns::pins`), so expiry costs a user little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedTtl(Option<NonZeroU64>);

impl Default for LearnedTtl {
    fn default() -> Self {
        LearnedTtl(NonZeroU64::new(30 * DAY))
    }
}

impl LearnedTtl {
    pub const NEVER: LearnedTtl = LearnedTtl(None);

    /// `secs` seconds; 0 means never.
    pub fn from_secs(secs: u64) -> LearnedTtl {
        LearnedTtl(NonZeroU64::new(secs))
    }

    /// The TTL in seconds, `None` for never.
    pub fn secs(self) -> Option<u64> {
        self.0.map(NonZeroU64::get)
    }

    pub fn is_default(&self) -> bool {
        *self == LearnedTtl::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a time to keep learned endpoints: expected a duration such as \"30d\", \"12h\", \"90m\", \"45s\" or \"2w\", or \"never\" (or 0) to keep them"
)]
pub struct TtlParseError(String);

/// `never`, `0`, or a duration in jiff's friendly format (`30d`, `12h`,
/// `1d 12h`, `90 minutes`); days and weeks count 24 hours each. Months
/// and years are refused: their length depends on when they start.
impl FromStr for LearnedTtl {
    type Err = TtlParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.eq_ignore_ascii_case("never") || text == "0" {
            return Ok(LearnedTtl::NEVER);
        }
        let err = || TtlParseError(s.to_string());
        let span: jiff::Span = text.parse().map_err(|_| err())?;
        if span.is_negative() || span.get_months() != 0 || span.get_years() != 0 {
            return Err(err());
        }
        let total = span
            .total(jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours())
            .map_err(|_| err())?;
        if !(0.0..=u64::MAX as f64).contains(&total) || total.fract() != 0.0 {
            return Err(err());
        }
        // In range and whole, checked above.
        Ok(LearnedTtl::from_secs(total as u64))
    }
}

/// The largest whole unit: `30d`, `12h`, `90m`, `45s`, or `never`.
impl fmt::Display for LearnedTtl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(secs) = self.secs() else {
            return f.write_str("never");
        };
        for (unit, len) in [("d", DAY), ("h", 3600), ("m", 60)] {
            if secs % len == 0 {
                return write!(f, "{}{unit}", secs / len);
            }
        }
        write!(f, "{secs}s")
    }
}

impl Serialize for LearnedTtl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A string as above, or a whole number of seconds (`0`: never).
impl<'de> Deserialize<'de> for LearnedTtl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = LearnedTtl;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30d\", \"never\", or whole seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LearnedTtl, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LearnedTtl, E> {
                Ok(LearnedTtl::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LearnedTtl, E> {
                u64::try_from(v)
                    .map(LearnedTtl::from_secs)
                    .map_err(|_| E::custom(format!("{v}: a time to keep cannot be negative")))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// When `e` expires (Unix seconds): `ttl` after it was last seen, or after
/// it was added if it never was. `None`: it never does (not learned, or
/// expiry off). A learned endpoint with neither date (only a hand-edited
/// file has one) is due at once: nothing says it is still used, and the
/// helper learns it again at the next connection through it.
pub fn expires_at(e: &Endpoint, ttl: LearnedTtl) -> Option<u64> {
    if e.origin != Origin::Learned {
        return None;
    }
    let ttl = ttl.secs()?;
    Some(
        e.last_seen
            .or(e.added_at)
            .map_or(0, |t| t.saturating_add(ttl)),
    )
}

/// The first expiry among `endpoints`, for the engine's deadline.
pub fn next_expiry(endpoints: &[Endpoint], ttl: LearnedTtl) -> Option<u64> {
    endpoints.iter().filter_map(|e| expires_at(e, ttl)).min()
}

/// What [`review`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reviewed {
    /// Dropped: not seen for the TTL.
    pub expired: Vec<Endpoint>,
    /// Due, but in use right now: kept and seen again at `now`.
    pub seen: Vec<Endpoint>,
}

impl Reviewed {
    pub fn changed(&self) -> bool {
        !(self.expired.is_empty() && self.seen.is_empty())
    }
}

/// Drops the learned endpoints due at `now` (an endpoint expires exactly
/// at [`expires_at`]), except those `in_use` says the VPN uses right now:
/// those are seen now instead, so a tunnel that stays up longer than the
/// TTL never loses its own server.
pub fn review(
    endpoints: &mut Vec<Endpoint>,
    ttl: LearnedTtl,
    now: u64,
    in_use: impl Fn(&Endpoint) -> bool,
) -> Reviewed {
    let mut out = Reviewed::default();
    endpoints.retain_mut(|e| {
        if expires_at(e, ttl).is_none_or(|t| t > now) {
            return true;
        }
        if in_use(e) {
            e.last_seen = Some(now);
            out.seen.push(e.clone());
            return true;
        }
        out.expired.push(e.clone());
        false
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    fn learned(s: &str, seen: u64) -> Endpoint {
        let mut e = s.parse::<Endpoint>().unwrap().with_origin(Origin::Learned);
        e.added_at = Some(seen - 10);
        e.last_seen = Some(seen);
        e
    }

    #[test]
    fn ttl_parses_words_and_numbers_and_prints_its_largest_unit() {
        let p = |s: &str| s.parse::<LearnedTtl>().map(LearnedTtl::secs);
        assert_eq!(p("30d"), Ok(Some(30 * DAY)));
        assert_eq!(p("2w"), Ok(Some(14 * DAY)));
        assert_eq!(p("1d 12h"), Ok(Some(36 * 3600)));
        assert_eq!(p("90 minutes"), Ok(Some(5400)));
        assert_eq!(p("2s"), Ok(Some(2)));
        assert_eq!(p("never"), Ok(None));
        assert_eq!(p("0"), Ok(None));
        for bad in ["", "soon", "1mo", "1y", "-3d", "1.5s", "30"] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
        let shown: Vec<String> = [30 * DAY, 36 * 3600, 5400, 61]
            .into_iter()
            .map(|s| LearnedTtl::from_secs(s).to_string())
            .collect();
        assert_eq!(shown, ["30d", "36h", "90m", "61s"]);
        assert_eq!(LearnedTtl::NEVER.to_string(), "never");
        assert_eq!(LearnedTtl::default().to_string(), "30d");
        for t in [
            LearnedTtl::default(),
            LearnedTtl::NEVER,
            LearnedTtl::from_secs(61),
        ] {
            assert_eq!(t.to_string().parse::<LearnedTtl>(), Ok(t));
        }
    }

    #[test]
    fn only_learned_endpoints_expire_counted_from_last_seen() {
        let ttl = LearnedTtl::from_secs(100);
        let l = learned("198.51.100.7:1194/udp", T0);
        assert_eq!(expires_at(&l, ttl), Some(T0 + 100));
        assert_eq!(expires_at(&l, LearnedTtl::NEVER), None);
        let mut never_seen = l.clone();
        never_seen.last_seen = None;
        assert_eq!(expires_at(&never_seen, ttl), Some(T0 - 10 + 100));
        let mut undated = never_seen.clone();
        undated.added_at = None;
        assert_eq!(expires_at(&undated, ttl), Some(0), "due at once");
        for origin in [Origin::Added, Origin::Imported] {
            assert_eq!(expires_at(&l.clone().with_origin(origin), ttl), None);
        }
    }

    #[test]
    fn review_expires_exactly_at_the_ttl_and_keeps_what_is_in_use() {
        let ttl = LearnedTtl::from_secs(100);
        let typed: Endpoint = "203.0.113.1:443/tcp".parse().unwrap();
        let old = learned("198.51.100.7:1194/udp", T0);
        let later = learned("198.51.100.8:1194/udp", T0 + 50);
        let mut list = vec![typed.clone(), old.clone(), later.clone()];
        assert_eq!(next_expiry(&list, ttl), Some(T0 + 100));

        let r = review(&mut list, ttl, T0 + 99, |_| false);
        assert!(!r.changed(), "one second early: nothing");
        assert_eq!(list.len(), 3);

        let r = review(&mut list, ttl, T0 + 100, |_| false);
        assert_eq!(r.expired, vec![old.clone()]);
        assert_eq!(list, vec![typed.clone(), later.clone()]);
        assert_eq!(next_expiry(&list, ttl), Some(T0 + 150));

        // Due, but the tunnel runs through it: seen now, kept.
        let r = review(&mut list, ttl, T0 + 150, |e| e.same_target(&later));
        assert_eq!((r.expired.len(), r.seen.len()), (0, 1));
        assert_eq!(list[1].last_seen, Some(T0 + 150));
        assert_eq!(next_expiry(&list, ttl), Some(T0 + 250));

        // Added and imported ones stay, however old.
        let mut kept = vec![typed, old.with_origin(Origin::Imported)];
        assert!(!review(&mut kept, ttl, u64::MAX, |_| false).changed());
        assert_eq!(kept.len(), 2);
    }
}
