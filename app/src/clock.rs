//! The app's one reading of the clock and of the system's time zone; the
//! model and the view take both as arguments, and the rounding and the
//! formatting are the pure core's ([`airlock_shared::time`]).

use std::time::SystemTime;

use airlock_shared::time::{self, TimeZone};

/// Unix seconds now, rounded up like every "now" in Airlock (see
/// [`time::unix_secs`] for why).
pub fn now_unix() -> u64 {
    time::unix_secs(SystemTime::now())
}

/// Unix milliseconds now: the blocked list's ages ("10 s ago") are
/// counted from the helper's millisecond times.
pub fn now_ms() -> u64 {
    time::unix_millis(SystemTime::now())
}

/// The local zone's offset from UTC, in seconds, at Unix time `at` (so a
/// pause that ends after a DST switch shows the right hour): `TZ` if set,
/// else `/etc/localtime`, read by jiff from the system's zone database;
/// 0 (UTC) when neither says, as the C library's `localtime_r` did.
pub fn utc_offset_at(at: u64) -> i64 {
    time::offset_at(&TimeZone::system(), at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_a_plausible_zone() {
        // Any zone on Earth is within -12..+14 hours of UTC.
        let off = utc_offset_at(now_unix());
        assert!((-12 * 3600..=14 * 3600).contains(&off), "{off}");
    }
}
