//! UTC calendar time, without a date-time dependency: capture timestamps in dissections and
//! sample times in the server's statistics.

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DD hh:mm:ss.nnnnnnnnn UTC`.
pub fn format_utc(ns: i128) -> String {
    let (date, nanos) = date_time(ns);
    format!("{date}.{nanos:09} UTC")
}

/// Formats nanoseconds since the Unix epoch as Kea prints statistics sample times:
/// `YYYY-MM-DD hh:mm:ss.uuuuuu` (microseconds; UTC here, where Kea uses local time).
pub fn format_kea(ns: i128) -> String {
    let (date, nanos) = date_time(ns);
    format!("{date}.{:06}", nanos / 1000)
}

/// `YYYY-MM-DD hh:mm:ss` and the nanoseconds past that second.
fn date_time(ns: i128) -> (String, i128) {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let date = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    (date, nanos)
}

/// Year, month and day of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00.000000000 UTC");
        assert_eq!(
            format_utc(951_782_400_000_000_001),
            "2000-02-29 00:00:00.000000001 UTC"
        );
        assert_eq!(
            format_utc(1_102_274_184_317_453_000),
            "2004-12-05 19:16:24.317453000 UTC"
        );
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59.999999999 UTC");
        assert_eq!(
            format_kea(1_102_274_184_317_453_999),
            "2004-12-05 19:16:24.317453"
        );
    }
}
