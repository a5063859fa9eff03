//! The fake clock: a [`Clock`] fixed at an instant and in a zone of a
//! fixed offset, for everything that prints times from one; and the
//! instants the sample statuses carry.

use std::time::SystemTime;

use airlock_shared::time::{unix_secs, Clock};

/// 2024-02-29 12:34:56 UTC: a leap day, so a wrong calendar shows. The
/// sample tamper time and the CLI tests' "now".
pub const LEAP_DAY: u64 = 1_709_210_096;

/// A clock at `now` in a zone `offset` seconds east of UTC all year.
pub fn fixed(now: u64, offset: i64) -> Clock {
    Clock::fixed(now, offset)
}

/// A clock at `now` in UTC.
pub fn utc(now: u64) -> Clock {
    Clock::fixed(now, 0)
}

/// The real "now", rounded as Airlock rounds it, for tests that drive real
/// programs (whose own clocks are real): e.g. a pause that ends in five
/// minutes.
pub fn now() -> u64 {
    unix_secs(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_clock_reads_what_it_was_given() {
        assert_eq!(
            utc(LEAP_DAY).datetime(LEAP_DAY),
            "2024-02-29 12:34:56 +00:00"
        );
        let c = fixed(LEAP_DAY, 3_600);
        assert_eq!((c.now, c.offset_at(0)), (LEAP_DAY, 3_600));
        assert!(now() > LEAP_DAY);
    }
}
