//! Time as Airlock counts and prints it, through one well-kept library
//! (jiff) instead of calendar arithmetic of our own: the one conversion
//! of a [`SystemTime`] to Unix seconds, the UTC stamps in rendered
//! rulesets, and the local times the CLI and the app show.
//!
//! Pure: nothing here reads the clock or the system's time zone (the
//! crate enables none of jiff's zone-database features). The edges (the
//! helper, the CLI, the app) read both and pass them in, as a
//! [`SystemTime`] and a [`TimeZone`], so every line here is tested with
//! fixed values.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::tz::Offset;
use jiff::Timestamp;

pub use jiff::tz::TimeZone;

/// Whole seconds since the Unix epoch at `t`, rounded UP (0 before 1970).
///
/// The one rounding every crate uses for "now". Up, because the helper
/// counts pauses from it and every use there errs toward closed: a pause
/// ends at or before the second it announces (the engine's deadline check
/// fires no later, and nft's kernel-side timeout, counted from this, never
/// outlasts it). The CLI and the app use the same rounding so they never
/// show more of a pause left than the helper granted (truncating, a
/// `status` right after `pause 5m` could read "5m 1s left").
pub fn unix_secs(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Milliseconds since the Unix epoch at `t`, truncated (0 before 1970):
/// the blocked-traffic log's first/last-seen times, where only order and
/// "how long ago" count, on both sides of the socket.
pub fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2026-11-26 12:05:00 UTC`: how the pf and nft rulesets stamp a pause's
/// end in their comments.
pub fn utc(unix: u64) -> String {
    instant(unix).strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The UTC offset, in seconds east, of `zone` at `unix`. Asked per
/// instant: it differs across a daylight-saving change, so a pause that
/// ends after one shows the right hour.
pub fn offset_at(zone: &TimeZone, unix: u64) -> i64 {
    i64::from(zone.to_offset(instant(unix)).seconds())
}

/// `2024-05-01 14:03:22 +02:00`, `offset` seconds east of UTC. The offset
/// is printed so a time copied into a bug report means the same thing to
/// whoever reads it.
pub fn datetime(unix: u64, offset: i64) -> String {
    local(unix, offset, "%Y-%m-%d %H:%M:%S %:z")
}

/// `14:03:22`, for times within the next day (a pause's end).
pub fn time_of_day(unix: u64, offset: i64) -> String {
    local(unix, offset, "%H:%M:%S")
}

/// `14:03`, as the menu shows a pause's end.
pub fn hour_minute(unix: u64, offset: i64) -> String {
    local(unix, offset, "%H:%M")
}

/// "Now" and the time zone, as whoever prints a time sees them. The
/// edges build it from the system; tests from fixed values.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Unix seconds, from [`unix_secs`].
    pub now: u64,
    pub zone: TimeZone,
}

impl Clock {
    /// A clock at `now` in a zone `offset` seconds east of UTC all year.
    pub fn fixed(now: u64, offset: i64) -> Clock {
        Clock {
            now,
            zone: TimeZone::fixed(offset_of(offset)),
        }
    }

    /// This zone's offset from UTC at `unix`, in seconds east.
    pub fn offset_at(&self, unix: u64) -> i64 {
        offset_at(&self.zone, unix)
    }

    /// [`datetime`] in this zone.
    pub fn datetime(&self, unix: u64) -> String {
        datetime(unix, self.offset_at(unix))
    }

    /// [`time_of_day`] in this zone.
    pub fn time_of_day(&self, unix: u64) -> String {
        time_of_day(unix, self.offset_at(unix))
    }
}

/// `unix` as a jiff instant. Seconds past jiff's range (late in 9999)
/// only come from malformed input; they are clamped to its last instant
/// (9999-12-30 22:00 UTC), since a comment or a status line must still
/// print.
fn instant(unix: u64) -> Timestamp {
    i64::try_from(unix)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::MAX)
}

/// An offset of `secs` seconds east, clamped to the ±25:59:59 jiff (and
/// every real zone) stays within.
fn offset_of(secs: i64) -> Offset {
    i32::try_from(secs)
        .ok()
        .and_then(|s| Offset::from_seconds(s).ok())
        .unwrap_or(if secs < 0 { Offset::MIN } else { Offset::MAX })
}

fn local(unix: u64, offset: i64, format: &str) -> String {
    instant(unix)
        .to_zoned_datetime(TimeZone::fixed(offset_of(offset)))
        .strftime(format)
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rounding_is_up_to_the_next_whole_second() {
        let at = |s, n| UNIX_EPOCH + Duration::new(s, n);
        assert_eq!(unix_secs(at(1_700_000_000, 0)), 1_700_000_000);
        assert_eq!(unix_secs(at(1_700_000_000, 1)), 1_700_000_001);
        assert_eq!(unix_secs(at(1_700_000_000, 999_999_999)), 1_700_000_001);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(
            unix_millis(at(1_700_000_000, 999_999_999)),
            1_700_000_000_999
        );
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }

    /// The instants the hand-written renderers' tests checked.
    #[test]
    fn utc_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_694_700), "2026-11-26 12:05:00 UTC");
        assert_eq!(utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
        assert_eq!(utc(4_107_542_400), "2100-03-01 00:00:00 UTC");
        assert_eq!(utc(u64::MAX), "9999-12-30 22:00:00 UTC");
    }

    /// The instants the CLI's hand-written local time checked.
    #[test]
    fn local_known_instants() {
        assert_eq!(datetime(0, 0), "1970-01-01 00:00:00 +00:00");
        // 2024-02-29 12:34:56 UTC: a leap day.
        assert_eq!(datetime(1_709_210_096, 0), "2024-02-29 12:34:56 +00:00");
        // The same instant in UTC+02:00 and UTC-05:30.
        assert_eq!(datetime(1_709_210_096, 7_200), "2024-02-29 14:34:56 +02:00");
        assert_eq!(
            datetime(1_709_210_096, -19_800),
            "2024-02-29 07:04:56 -05:30"
        );
        // Crossing midnight and a year boundary backwards.
        assert_eq!(
            datetime(1_704_067_200, -3_600),
            "2023-12-31 23:00:00 -01:00"
        );
        assert_eq!(time_of_day(1_709_210_096, 3_600), "13:34:56");
        // The app's menu clock: 14:05 UTC, east and west of it.
        assert_eq!(hour_minute(50_700, 0), "14:05");
        assert_eq!(hour_minute(50_700, 45 * 60 + 5 * 3600), "19:50");
        assert_eq!(hour_minute(50_700, -15 * 3600), "23:05");
    }

    /// Days in a row stay days in a row across leap years and centuries
    /// (what the CLI's own calendar test walked through).
    #[test]
    fn every_day_for_years_is_consecutive() {
        let start = 86_400 * 365 * 25; // 1995
        let day = |n: u64| datetime(start + n * 86_400, 0)[..10].to_string();
        let mut prev = day(0);
        for n in 1..(365 * 120) {
            let next = day(n);
            let (y, m, d) = (&prev[..4], &prev[5..7], &prev[8..10]);
            let days_in = match m {
                "02" => {
                    let y: i64 = y.parse().unwrap();
                    if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                        29
                    } else {
                        28
                    }
                }
                "04" | "06" | "09" | "11" => 30,
                _ => 31,
            };
            let (y, m, d): (u32, u32, u32) =
                (y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap());
            let want = if d < days_in {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(next, format!("{:04}-{:02}-{:02}", want.0, want.1, want.2));
            prev = next;
        }
    }

    #[test]
    fn offsets_come_from_the_zone_per_instant() {
        // A POSIX rule with a daylight-saving change (no database needed):
        // UTC+1 in winter, UTC+2 from the last Sunday of March.
        let zone = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(offset_at(&zone, 1_704_067_200), 3_600); // 2024-01-01
        assert_eq!(offset_at(&zone, 1_719_792_000), 7_200); // 2024-07-01
        let clock = Clock {
            now: 1_719_792_000,
            zone,
        };
        assert_eq!(clock.datetime(clock.now), "2024-07-01 02:00:00 +02:00");
        assert_eq!(clock.time_of_day(1_704_067_200), "01:00:00");
        let fixed = Clock::fixed(1_709_210_096, -19_800);
        assert_eq!(fixed.offset_at(0), -19_800);
        assert_eq!(fixed.datetime(fixed.now), "2024-02-29 07:04:56 -05:30");
        // Offsets no zone has are clamped, not a panic.
        assert_eq!(Clock::fixed(0, i64::MAX).offset_at(0), 93_599);
    }
}
