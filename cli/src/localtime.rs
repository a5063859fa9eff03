//! Unix times shown as the user's local wall-clock time. The calendar
//! arithmetic is pure (and tested); only the UTC offset comes from the C
//! library, which knows the time zone rules (`TZ`, /etc/localtime).

/// Calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// `unix + offset` seconds as a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil inverse, exact for every representable day).
pub fn civil(unix: i64, offset_secs: i64) -> Civil {
    let t = unix.saturating_add(offset_secs);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // All of these are small and non-negative by construction.
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    Civil {
        year,
        month: small(month),
        day: small(day),
        hour: small(secs / 3_600),
        minute: small(secs % 3_600 / 60),
        second: small(secs % 60),
    }
}

/// `2024-05-01 14:03:22 +02:00`: the offset is printed so a time copied
/// into a bug report means the same thing to whoever reads it.
pub fn format_datetime(unix: u64, offset_secs: i64) -> String {
    let c = civil(i64::try_from(unix).unwrap_or(i64::MAX), offset_secs);
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let off = offset_secs.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        off / 3_600,
        off % 3_600 / 60
    )
}

/// `14:03:22`, for times within the next day (a pause's end).
pub fn format_time_of_day(unix: u64, offset_secs: i64) -> String {
    let c = civil(i64::try_from(unix).unwrap_or(i64::MAX), offset_secs);
    format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
}

/// The local time zone's offset from UTC at `unix` (it differs across a
/// daylight-saving change, so it is asked per instant). 0 if the C
/// library cannot say.
pub fn local_offset(unix: u64) -> i64 {
    let Ok(t) = libc::time_t::try_from(unix) else {
        return 0;
    };
    // SAFETY: localtime_r only writes into the `tm` we own and reads `t`;
    // an all-zero `tm` is a valid value of that plain C struct.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        // c_long: i64 here, i32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        i64::from(tm.tm_gmtoff)
    }
}

/// Seconds since the Unix epoch now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_datetime(0, 0), "1970-01-01 00:00:00 +00:00");
        // 2024-02-29 12:34:56 UTC: a leap day.
        assert_eq!(
            format_datetime(1_709_210_096, 0),
            "2024-02-29 12:34:56 +00:00"
        );
        // The same instant in UTC+02:00 and UTC-05:30.
        assert_eq!(
            format_datetime(1_709_210_096, 7_200),
            "2024-02-29 14:34:56 +02:00"
        );
        assert_eq!(
            format_datetime(1_709_210_096, -19_800),
            "2024-02-29 07:04:56 -05:30"
        );
        // Crossing midnight and a year boundary backwards.
        assert_eq!(
            format_datetime(1_704_067_200, -3_600),
            "2023-12-31 23:00:00 -01:00"
        );
        assert_eq!(format_time_of_day(1_709_210_096, 3_600), "13:34:56");
    }

    #[test]
    fn every_day_for_years_is_consecutive() {
        // Walks day by day across leap years and a century, checking
        // each date follows the previous one in the calendar.
        let days_in = |y: i64, m: u32| match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let start = -86_400 * 365 * 75; // 1895
        let mut prev = civil(start, 0);
        for day in 1..(365 * 210) {
            let c = civil(start + day * 86_400, 0);
            let expected = if prev.day < days_in(prev.year, prev.month) {
                (prev.year, prev.month, prev.day + 1)
            } else if prev.month < 12 {
                (prev.year, prev.month + 1, 1)
            } else {
                (prev.year + 1, 1, 1)
            };
            assert_eq!((c.year, c.month, c.day), expected, "{c:?} after {prev:?}");
            prev = c;
        }
    }
}
