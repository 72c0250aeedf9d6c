//! Wall-clock times in the local time zone, as the feedback pane and
//! `rvshell watch` print them (`HH:MM:SS`, `HH:MM:SS.mmm`, RFC 3339 with
//! milliseconds and the zone's offset).

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment broken down in the local time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
    /// Seconds east of UTC.
    pub offset: i64,
}

impl LocalTime {
    /// `at` in the local time zone (UTC where the zone cannot be read).
    pub fn of(at: SystemTime) -> LocalTime {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let millis = since.subsec_millis();
        let t = libc::time_t::try_from(secs).unwrap_or(0);
        // SAFETY: localtime_r writes into the zeroed `tm` we own and reads `t`.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        if ok {
            LocalTime {
                year: tm.tm_year + 1900,
                month: u32::try_from(tm.tm_mon + 1).unwrap_or(1),
                day: u32::try_from(tm.tm_mday).unwrap_or(1),
                hour: u32::try_from(tm.tm_hour).unwrap_or(0),
                minute: u32::try_from(tm.tm_min).unwrap_or(0),
                second: u32::try_from(tm.tm_sec).unwrap_or(0),
                millis,
                offset: tm.tm_gmtoff,
            }
        } else {
            utc(secs, millis)
        }
    }

    /// `HH:MM:SS`.
    pub fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }

    /// `HH:MM:SS.mmm`.
    pub fn hms_millis(&self) -> String {
        format!("{}.{:03}", self.hms(), self.millis)
    }

    /// RFC 3339 with milliseconds, e.g. `2026-12-07T17:44:34.123+01:00`.
    pub fn rfc3339(&self) -> String {
        let zone = if self.offset == 0 {
            "Z".to_owned()
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let off = self.offset.unsigned_abs();
            format!("{sign}{:02}:{:02}", off / 3600, off / 60 % 60)
        };
        format!(
            "{:04}-{:02}-{:02}T{}{zone}",
            self.year,
            self.month,
            self.day,
            self.hms_millis()
        )
    }
}

/// UTC from seconds since the epoch (Howard Hinnant's civil-from-days).
fn utc(secs: u64, millis: u32) -> LocalTime {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    LocalTime {
        year: i32::try_from(year).unwrap_or(1970),
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        millis,
        offset: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_dates_and_times_format_as_rfc3339() {
        let t = utc(1_796_665_474, 123);
        assert_eq!(t.rfc3339(), "2026-12-07T17:44:34.123Z");
        assert_eq!(utc(0, 0).rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400, 5).rfc3339(), "2000-02-29T00:00:00.005Z");
    }

    #[test]
    fn offsets_print_with_their_sign() {
        let mut t = utc(0, 0);
        t.offset = 5 * 3600 + 30 * 60;
        assert!(t.rfc3339().ends_with("+05:30"));
        t.offset = -3600;
        assert!(t.rfc3339().ends_with("-01:00"));
    }

    #[test]
    fn the_local_time_is_a_valid_time() {
        let t = LocalTime::of(UNIX_EPOCH + Duration::from_millis(1_796_665_474_123));
        assert_eq!(t.millis, 123);
        assert!(t.hour < 24 && t.minute < 60 && t.second < 61);
        assert_eq!(t.hms_millis().len(), 12);
    }
}
