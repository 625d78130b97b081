//! What both lease files share (`CSVFile` and `VersionedCSVFile` in Kea 2.2): the header
//! check, rows split at commas with no quoting, typed columns, and faults that name their line
//! and column.

use crate::escape::unescape;
use std::fmt;

/// A row that could not be read: its line number, the column when one is at fault, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RowError {
    /// Line number in the file, from 1.
    pub line: usize,
    /// The column at fault, when the fault is in one.
    pub column: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "line {}: column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// A fault in one row: the column when one is at fault, and why.
pub(crate) type Fault = (Option<&'static str>, String);

/// One lease file's schema: its columns in order, how many of them every version has, and the
/// family for the header error.
pub(crate) struct Schema {
    /// The columns of the newest schema this crate writes.
    pub(crate) columns: &'static [&'static str],
    /// Columns every schema version has (Kea's `setMinimumValidColumns`).
    pub(crate) min_columns: usize,
    /// `DHCPv4` or `DHCPv6`, for the header error.
    pub(crate) family: &'static str,
}

/// The rows of a file that could be read, with their line numbers; the rows that could not;
/// and how many columns the header names.
pub(crate) type Read<L> = (Vec<(usize, L)>, Vec<RowError>, usize);

impl Schema {
    /// Reads every row of a lease file's text in order with `parse`. A bad row is skipped and
    /// listed; a missing or foreign header fails the whole read (a file of an older schema has
    /// a prefix of the columns, one of a newer schema more columns after them). Empty text has
    /// no rows.
    pub(crate) fn read<L>(
        &self,
        text: &str,
        parse: impl Fn(&Fields<'_>) -> Result<L, Fault>,
    ) -> Result<Read<L>, RowError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.is_empty());
        let Some((header_line, header)) = lines.next() else {
            return Ok((Vec::new(), Vec::new(), 0));
        };
        let names: Vec<&str> = header.split(',').collect();
        let known = names
            .iter()
            .zip(self.columns)
            .take_while(|(a, b)| *a == *b)
            .count();
        if known < self.min_columns || (known < self.columns.len() && known < names.len()) {
            return Err(RowError {
                line: header_line,
                column: None,
                message: format!("not a Kea {} lease file header: {header:?}", self.family),
            });
        }
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for (line, row) in lines {
            let fields: Vec<&str> = row.split(',').collect();
            let result = if fields.len() == names.len() {
                parse(&Fields {
                    fields,
                    names: self.columns,
                })
            } else {
                Err((
                    None,
                    format!(
                        "{} fields where the header names {}",
                        fields.len(),
                        names.len()
                    ),
                ))
            };
            match result {
                Ok(lease) => rows.push((line, lease)),
                Err((column, message)) => errors.push(RowError {
                    line,
                    column,
                    message,
                }),
            }
        }
        Ok((rows, errors, names.len()))
    }
}

/// The fields of one row, read by column index.
pub(crate) struct Fields<'a> {
    fields: Vec<&'a str>,
    names: &'static [&'static str],
}

impl Fields<'_> {
    /// The column's name.
    pub(crate) fn name(&self, i: usize) -> &'static str {
        self.names.get(i).copied().unwrap_or("?")
    }

    /// True when the file has column `i` (older schemas lack the last ones).
    pub(crate) fn has(&self, i: usize) -> bool {
        i < self.fields.len()
    }

    /// The column's text as written (empty when the file lacks it).
    pub(crate) fn text(&self, i: usize) -> &str {
        self.fields.get(i).copied().unwrap_or_default()
    }

    /// The column as a number.
    pub(crate) fn number<T: std::str::FromStr>(&self, i: usize) -> Result<T, Fault> {
        let text = self.text(i);
        text.parse().map_err(|_| {
            (
                Some(self.name(i)),
                format!("{text:?} is not a number in range"),
            )
        })
    }

    /// The column as Kea's 0 or 1.
    pub(crate) fn flag(&self, i: usize) -> Result<bool, Fault> {
        match self.text(i) {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err((Some(self.name(i)), format!("{other:?} is neither 0 nor 1"))),
        }
    }

    /// The column as hex bytes, read as Kea's `HWAddr::fromText` and `DUID::fromText` do:
    /// colon-separated parts of one or two digits, or plain hex without colons. Empty text is
    /// no bytes.
    pub(crate) fn hex(&self, i: usize) -> Result<Vec<u8>, Fault> {
        let text = self.text(i);
        let bad = || (Some(self.name(i)), format!("{text:?} is not hex bytes"));
        if text.is_empty() {
            return Ok(Vec::new());
        }
        if text.contains(':') {
            text.split(':')
                .map(|part| match part.len() {
                    1 | 2 => u8::from_str_radix(part, 16).map_err(|_| bad()),
                    _ => Err(bad()),
                })
                .collect()
        } else if text.len() % 2 == 0 {
            (0..text.len())
                .step_by(2)
                .map(|i| {
                    text.get(i..i + 2)
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                        .ok_or_else(bad)
                })
                .collect()
        } else {
            Err(bad())
        }
    }

    /// The `user_context` column: a JSON map, unescaped; `None` when empty or absent.
    pub(crate) fn user_context(&self, i: usize) -> Result<Option<String>, Fault> {
        if self.text(i).is_empty() {
            return Ok(None);
        }
        let text = unescape(self.text(i));
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(_)) => Ok(Some(text)),
            _ => Err((Some(self.name(i)), format!("{text:?} is not a JSON map"))),
        }
    }
}

/// Bytes as Kea writes hardware addresses and DUIDs: two lowercase hex digits each, colons
/// between.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
