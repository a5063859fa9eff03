//! The CLI's one reading of the clock and of the system's time zone.
//! Everything that prints a time takes the [`Clock`] built here, so it is
//! tested with fixed ones; the formatting and the rounding are the pure
//! core's ([`airlock_shared::time`]).

use std::time::SystemTime;

use airlock_shared::time::{self, Clock, TimeZone};

/// Now, in the user's zone: `TZ` if set, else `/etc/localtime`, read by
/// jiff from the system's zone database; UTC when neither says (as the
/// C library's `localtime_r` did before).
pub fn system() -> Clock {
    Clock {
        now: now(),
        zone: TimeZone::system(),
    }
}

/// Unix seconds now, rounded up like every "now" in Airlock (see
/// [`time::unix_secs`] for why).
pub fn now() -> u64 {
    time::unix_secs(SystemTime::now())
}

/// Unix milliseconds now, as the helper stamps blocked packets.
pub fn now_ms() -> u64 {
    time::unix_millis(SystemTime::now())
}
