//! UTC calendar time, without a date-time dependency: capture timestamps in dissections,
//! sample times in the server's statistics, and the HTTP dates HA peers exchange.

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

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats seconds since the Unix epoch as an HTTP date (RFC 1123, as RFC 9110 5.6.7 fixes
/// it): `Mon, 30 Nov 2026 21:41:07 GMT`, the `date-time` of Kea's HA heartbeat.
pub fn format_http(secs: i64) -> String {
    let secs = i128::from(secs);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1).clamp(0, 11) as usize];
    format!(
        "{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Reads an HTTP date in the RFC 1123 form [`format_http`] writes: seconds since the Unix
/// epoch, or `None` when the text is not such a date. The weekday is not checked.
pub fn parse_http(text: &str) -> Option<i64> {
    let (_, rest) = text.split_once(", ")?;
    let mut parts = rest.split(' ');
    let d: i128 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let m = MONTHS.iter().position(|n| *n == month)? as i128 + 1;
    let y: i128 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(str::parse::<i128>);
    let (h, mi, s) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&d) || !(0..=9999).contains(&y) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s;
    i64::try_from(secs).ok()
}

/// Day count from 1970-01-01 of a year, month and day (Howard Hinnant's algorithm).
fn days_from_civil(y: i128, m: i128, d: i128) -> i128 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn http_dates_round_trip() {
        // The heartbeat Kea 2.2 answered on 2026-11-30.
        let t = parse_http("Mon, 30 Nov 2026 21:41:07 GMT").expect("a date");
        assert_eq!(format_http(t), "Mon, 30 Nov 2026 21:41:07 GMT");
        assert_eq!(format_http(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_http(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        for secs in [0, 1, 86_399, 951_782_400, 1_796_078_456, -86_400] {
            assert_eq!(parse_http(&format_http(secs)), Some(secs));
        }
        for bad in [
            "",
            "Mon, 30 Nov 2026 21:41:07",
            "Mon, 30 Foo 2026 21:41:07 GMT",
            "Mon, 32 Nov 2026 21:41:07 GMT",
            "Mon, 30 Nov 2026 24:00:00 GMT x",
            "Mon, 30 Nov 99999999999999999999999999999999999999 21:41:07 GMT",
        ] {
            assert_eq!(parse_http(bad), None, "{bad}");
        }
    }
}
