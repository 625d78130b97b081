//! Randomized scenarios: a `[vary]` table declares ranges (a number of clients, a fault rate, a
//! lifetime), the file uses them as `"${name}"` (a whole value) or `${name}` (inside a string,
//! such as the server's JSON), and the run's seed picks a value from each range. The file stays
//! valid TOML with the placeholders in it, and a picked instance is plain text: a failure's
//! minimized reproduction is that text, with nothing random left.

use crate::text::Place;
use crate::{Fault, raw::S};
use dhcplab_rng::Rng;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Value;

/// One range a scenario varies.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// Its name, used as `${name}`.
    pub name: String,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// Whole numbers only (both bounds were written as integers).
    pub integer: bool,
}

impl Vary {
    /// A value picked from the range by `rng`.
    pub fn draw(&self, rng: &mut Rng) -> f64 {
        if self.integer {
            rng.between(self.min as u64, self.max as u64) as f64
        } else {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            round(self.min + (self.max - self.min) * unit)
        }
    }

    /// `value` as it is written into the file.
    pub fn write(&self, value: f64) -> String {
        if self.integer {
            format!("{}", value as u64)
        } else {
            let mut s = format!("{:.4}", round(value));
            while s.ends_with('0') && !s.ends_with(".0") {
                s.pop();
            }
            s
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[derive(Debug, Deserialize)]
struct Only {
    vary: Option<BTreeMap<String, S<Value>>>,
}

/// The `[vary]` table of `text`; faults for bad ranges. A file whose TOML does not parse has
/// no ranges here: the full read reports its syntax.
pub(crate) fn ranges(text: &str) -> Result<Vec<Vary>, Vec<Fault>> {
    let Ok(only) = toml::from_str::<Only>(text) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut faults = Vec::new();
    for (name, v) in only.vary.unwrap_or_default() {
        let at = Place::of(text, v.span().start);
        if RUN_PLACEHOLDERS.contains(&name.as_str()) {
            faults.push(Fault {
                place: at,
                message: format!(
                    "vary {name}: ${{{name}}} is filled in by the run; name the range otherwise"
                ),
            });
            continue;
        }
        let bound = |t: &toml::Table, k: &str| -> Option<(f64, bool)> {
            match t.get(k)? {
                Value::Integer(i) if *i >= 0 => Some((*i as f64, true)),
                Value::Float(f) if f.is_finite() && *f >= 0.0 => Some((*f, false)),
                _ => None,
            }
        };
        let parsed = match v.get_ref() {
            Value::Table(t) if t.keys().all(|k| k == "min" || k == "max") => {
                bound(t, "min").zip(bound(t, "max"))
            }
            _ => None,
        };
        match parsed {
            Some(((min, i1), (max, i2))) if min <= max => out.push(Vary {
                name,
                min,
                max,
                integer: i1 && i2,
            }),
            _ => faults.push(Fault {
                place: at,
                message: format!(
                    "vary {name}: a range {{ min = ..., max = ... }} of numbers 0 or more, min not above max"
                ),
            }),
        }
    }
    if faults.is_empty() {
        Ok(out)
    } else {
        Err(faults)
    }
}

/// Placeholders a run fills in itself (`${hooks}`, `${trace}`, `${script}` in a server's
/// hooks libraries): a range may not take their names.
pub(crate) const RUN_PLACEHOLDERS: [&str; 3] = ["hooks", "trace", "script"];

/// `text` with every `"${name}"` replaced by the bare value and every other `${name}` by the
/// value; faults for placeholders no range declares.
pub(crate) fn substitute(text: &str, vary: &[Vary], values: &[f64]) -> Result<String, Vec<Fault>> {
    let mut out = String::with_capacity(text.len());
    let mut faults = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(k) = rest.find("${") {
        let Some(end) = rest[k..].find('}') else {
            break;
        };
        let name = &rest[k + 2..k + end];
        if RUN_PLACEHOLDERS.contains(&name) {
            // Filled in by the run (the server's hook files), not by a range.
            out.push_str(&rest[..=k + end]);
            rest = &rest[k + end + 1..];
            offset += k + end + 1;
            continue;
        }
        let quoted = rest[..k].ends_with('"') && rest[k + end + 1..].starts_with('"');
        let head = if quoted { &rest[..k - 1] } else { &rest[..k] };
        out.push_str(head);
        match vary.iter().position(|v| v.name == name) {
            Some(i) => out.push_str(&vary[i].write(values.get(i).copied().unwrap_or(vary[i].min))),
            None => {
                faults.push(Fault {
                    place: Place::of(text, offset + k),
                    message: format!("${{{name}}}: no [vary] range of that name"),
                });
                out.push_str(&rest[k..=k + end]);
            }
        }
        let skip = k + end + 1 + usize::from(quoted);
        rest = &rest[skip..];
        offset += skip;
    }
    out.push_str(rest);
    if faults.is_empty() {
        Ok(out)
    } else {
        Err(faults)
    }
}

/// `text` without its `[vary]` table: an instance, whose values are written in.
pub(crate) fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        if let Some(name) = crate::text::table_header(line) {
            inside = name == "vary";
        }
        if !inside {
            out.push_str(line);
        }
    }
    out
}

/// Values for every range, picked by `seed`.
pub(crate) fn draw(vary: &[Vary], seed: u64) -> Vec<f64> {
    let mut rng = Rng::fork(seed, "vary");
    vary.iter().map(|v| v.draw(&mut rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str, min: f64, max: f64, integer: bool) -> Vary {
        Vary {
            name: name.into(),
            min,
            max,
            integer,
        }
    }

    #[test]
    fn placeholders_are_replaced_quoted_or_inside_strings() {
        let vary = [v("n", 1.0, 9.0, true), v("loss", 0.0, 0.5, false)];
        let text =
            "count = \"${n}\"\nlink = { loss = \"${loss}\" }\nconfig = '''{ \"x\": ${n} }'''\n";
        let out = substitute(text, &vary, &[7.0, 0.25]).expect("known");
        assert_eq!(
            out,
            "count = 7\nlink = { loss = 0.25 }\nconfig = '''{ \"x\": 7 }'''\n"
        );
        let faults = substitute("a = \"${m}\"", &vary, &[1.0, 0.0]).expect_err("unknown");
        assert_eq!(faults[0].place, Place { line: 1, column: 6 });
    }

    #[test]
    fn values_are_written_as_toml_numbers() {
        assert_eq!(v("x", 0.0, 1.0, false).write(0.0), "0.0");
        assert_eq!(v("x", 0.0, 1.0, false).write(0.1234567), "0.1235");
        assert_eq!(v("x", 0.0, 1.0, false).write(1.0), "1.0");
        assert_eq!(v("x", 0.0, 9.0, true).write(3.0), "3");
    }

    #[test]
    fn draws_stay_in_range_and_follow_the_seed() {
        let vary = [v("n", 1.0, 9.0, true), v("loss", 0.1, 0.2, false)];
        for seed in 0..200 {
            let d = draw(&vary, seed);
            assert!((1.0..=9.0).contains(&d[0]) && d[0].fract() == 0.0);
            assert!((0.1..=0.2).contains(&d[1]));
            assert_eq!(d, draw(&vary, seed));
        }
    }

    #[test]
    fn an_instance_has_no_vary_table() {
        let text = "# c\n[vary]\nn = { min = 1, max = 2 }\n\n[[host]]\nname = \"a\"\n";
        assert_eq!(strip(text), "# c\n[[host]]\nname = \"a\"\n");
    }

    #[test]
    fn bad_ranges_are_placed() {
        let f = ranges("[vary]\nn = { min = 5, max = 1 }\nm = 3\n").expect_err("bad");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].place.line, 3);
        assert!(
            ranges(
                "[vary]
n = { min = 1, max = 5 }
"
            )
            .expect("good")[0]
                .integer
        );
    }
}
