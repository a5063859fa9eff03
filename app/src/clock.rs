//! Wall-clock helpers that need the C library's view of the local zone.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The local zone's offset from UTC, in seconds, at Unix time `at` (so a
/// pause that ends after a DST switch shows the right hour).
pub fn utc_offset_at(at: u64) -> i64 {
    let Ok(t) = libc::time_t::try_from(at) else {
        return 0;
    };
    // SAFETY: localtime_r only writes into the tm we own.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
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
