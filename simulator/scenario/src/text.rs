//! The small textual forms scenario files use: durations, link addresses, hex bytes, and
//! positions in the file.

use std::fmt;
use std::time::Duration;

/// A place in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl Place {
    /// The place of byte `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, column }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Reads a duration such as `90s`, `1h30m`, `250ms`, `1.5s` or `7d`; `0` alone is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("{text:?} is not a duration (write e.g. 90s, 1h30m, 250ms, 7d)");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total_ms: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, after) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let ms = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(bad)?;
        total_ms += value * ms as f64;
        rest = next;
    }
    if !total_ms.is_finite() || total_ms > 1e15 {
        return Err(bad());
    }
    Ok(Duration::from_micros((total_ms * 1000.0).round() as u64))
}

/// Writes a duration the way [`parse_duration`] reads it, to the millisecond: `1h30m`,
/// `2.5s`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        if ms % 1000 == 0 {
            out.push_str(&format!("{}s", ms / 1000));
        } else if ms < 1000 && out.is_empty() {
            out.push_str(&format!("{ms}ms"));
        } else {
            let s = format!("{:.3}", ms as f64 / 1000.0);
            out.push_str(s.trim_end_matches('0'));
            out.push('s');
        }
    }
    out
}

/// Reads a link address `02:00:5e:00:53:01` (or with `-`).
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let bytes = parse_hex(text)?;
    bytes
        .try_into()
        .map_err(|_| format!("{text:?} is not a link address (six bytes, 02:00:5e:00:53:01)"))
}

/// Reads bytes written as `0x0102ff`, `01:02:ff` or `01-02-ff`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let digits: String = if let Some(h) = t.strip_prefix("0x") {
        h.to_string()
    } else if t.contains([':', '-']) {
        let mut s = String::new();
        for part in t.split([':', '-']) {
            match part.len() {
                1 => s.push('0'),
                2 => {}
                _ => return Err(format!("{text:?}: each byte is one or two hex digits")),
            }
            s.push_str(part);
        }
        s
    } else {
        return Err(format!(
            "{text:?} is not hex bytes (write 0x0102ff or 01:02:ff)"
        ));
    };
    if digits.len() % 2 == 1 {
        return Err(format!("{text:?}: an odd number of hex digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("{text:?}: not a hex digit at {}", i + 1))
        })
        .collect()
}

/// The name of the table a line opens (`step.fields` for `[step.fields]`, `step` for
/// `[[step]]`), or `None` when the line is not a table header: a line inside a multi-line
/// string (`[ "eth0" ]` in a server's JSON) is not one.
pub fn table_header(line: &str) -> Option<&str> {
    let t = line.trim();
    let t = t.split_once(" #").map_or(t, |(h, _)| h).trim_end();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.strip_suffix("]]"))
        .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?
        .trim();
    let ok = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
    ok.then_some(inner)
}

/// Writes bytes as `01:02:ff`.
pub fn format_hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_write_back() {
        for (text, ms) in [
            ("90s", 90_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("1.5s", 1500),
            ("7d", 604_800_000),
            ("0", 0),
            ("2m0.5s", 120_500),
        ] {
            let d = parse_duration(text).expect(text);
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(parse_duration(&format_duration(d)).expect("round trip"), d);
        }
        assert_eq!(format_duration(Duration::from_millis(5_400_000)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(61_500)), "1m1.5s");
        for bad in ["", "10", "1x", "h", "1.2.3s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_and_macs() {
        assert_eq!(parse_hex("0x01ff").expect("hex"), vec![1, 255]);
        assert_eq!(parse_hex("1:ff").expect("hex"), vec![1, 255]);
        assert_eq!(
            parse_mac("02-00-5e-00-53-01").expect("mac"),
            [2, 0, 0x5e, 0, 0x53, 1]
        );
        assert!(parse_mac("02:00").is_err());
        assert!(parse_hex("0x1").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("0xzz").is_err());
        assert_eq!(format_hex(&[1, 255]), "01:ff");
    }

    #[test]
    fn table_headers_are_told_from_json_lines() {
        assert_eq!(table_header("[[step]]\n"), Some("step"));
        assert_eq!(
            table_header("  [step.fields]  # checks\n"),
            Some("step.fields")
        );
        assert_eq!(table_header("[vary]"), Some("vary"));
        assert_eq!(table_header("[ \"eth0\" ]"), None);
        assert_eq!(table_header("[ 1, 2 ]"), None);
        assert_eq!(table_header("[]"), None);
        assert_eq!(table_header("step = 1"), None);
    }

    #[test]
    fn places_count_lines_and_characters() {
        let t = "a\nbé = 1\n";
        assert_eq!(Place::of(t, 0), Place { line: 1, column: 1 });
        assert_eq!(Place::of(t, 2), Place { line: 2, column: 1 });
        assert_eq!(Place::of(t, 6), Place { line: 2, column: 4 });
        assert_eq!(Place::of(t, 999), Place { line: 3, column: 1 });
    }
}
