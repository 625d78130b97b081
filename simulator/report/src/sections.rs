//! A conformance run summed up by document and section, and its verdict: a run passes when
//! every MUST check it ran passed.

use crate::{Case, Status, Suite};
use dhcplab_scenario::Level;
use std::collections::BTreeMap;

/// The counts of one document section at one level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Checks that held.
    pub passed: usize,
    /// Checks that did not (or could not be read).
    pub failed: usize,
    /// Checks not run, each for a reason.
    pub skipped: usize,
    /// Checks a real stack fails as a record says (a finding).
    pub differs: usize,
}

impl Counts {
    fn add(&mut self, status: Status) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Differs => self.differs += 1,
        }
    }
}

/// One row of the summary: a document section at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `RFC 2131`.
    pub document: String,
    /// `4.3.1` (empty for a whole document).
    pub section: String,
    /// The level of the checks counted.
    pub level: Level,
    /// Their results.
    pub counts: Counts,
}

/// The rows of a suite's checks, in document order (documents by name, RFC numbers by
/// value; sections numerically, `4.10` after `4.9`), then by level. Cases without a check
/// header are left out.
pub fn rows(suite: &Suite) -> Vec<Row> {
    let mut by: BTreeMap<SortKey, (String, Counts)> = BTreeMap::new();
    for c in &suite.cases {
        let Some(k) = &c.check else { continue };
        let key = (
            k.document
                .trim_end_matches(|ch: char| ch.is_ascii_digit())
                .trim_end()
                .to_string(),
            document_number(&k.document),
            section_numbers(&k.section),
            k.section.clone(),
            k.level,
        );
        let entry = by
            .entry(key)
            .or_insert_with(|| (k.document.clone(), Counts::default()));
        entry.1.add(c.status);
    }
    by.into_iter()
        .map(|((_, _, _, section, level), (document, counts))| Row {
            document,
            section,
            level,
            counts,
        })
        .collect()
}

/// Documents by name, then number; sections by their numbers, then as written; then level.
type SortKey = (String, u64, Vec<u64>, String, Level);

fn document_number(document: &str) -> u64 {
    document
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn section_numbers(section: &str) -> Vec<u64> {
    section
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(u64::MAX))
        .collect()
}

/// The checks at `level` that did not hold: failed, or failed as a record says (a known
/// finding is still a failure of the document's requirement). Files that could not be read
/// as checks count at every level.
pub fn failed_at(suite: &Suite, level: Level) -> Vec<&Case> {
    suite
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Differs))
        .filter(|c| c.check.as_ref().is_none_or(|k| k.level == level))
        .collect()
}

/// True when every MUST check held (passed, or was skipped for a stated reason) and every
/// file could be read: the run's verdict for a CI gate.
pub fn every_must_held(suite: &Suite) -> bool {
    failed_at(suite, Level::Must).is_empty()
}

/// The summary printed on the terminal: one line per section and level with its counts,
/// then totals per level and the verdict.
pub fn table(suite: &Suite) -> String {
    let rows = rows(suite);
    let refs: Vec<String> = rows
        .iter()
        .map(|r| reference(&r.document, &r.section))
        .collect();
    let width = refs.iter().map(String::len).max().unwrap_or(9).max(9);
    let mut out = format!(
        "{:<width$}  {:<6}  {:>6}  {:>6}  {:>7}  {:>7}\n",
        "reference", "level", "passed", "failed", "skipped", "differs"
    );
    for (r, name) in rows.iter().zip(&refs) {
        out.push_str(&format!(
            "{name:<width$}  {:<6}  {:>6}  {:>6}  {:>7}  {:>7}\n",
            r.level.name(),
            r.counts.passed,
            r.counts.failed,
            r.counts.skipped,
            r.counts.differs
        ));
    }
    for level in [Level::Must, Level::Should, Level::May] {
        let mut total = Counts::default();
        for r in rows.iter().filter(|r| r.level == level) {
            total.passed += r.counts.passed;
            total.failed += r.counts.failed;
            total.skipped += r.counts.skipped;
            total.differs += r.counts.differs;
        }
        let n = total.passed + total.failed + total.skipped + total.differs;
        if n > 0 {
            out.push_str(&format!(
                "{:<6} {n} checks: {} passed, {} failed, {} skipped, {} differ as recorded\n",
                level.name(),
                total.passed,
                total.failed,
                total.skipped,
                total.differs
            ));
        }
    }
    let unread = suite.cases.iter().filter(|c| c.check.is_none()).count();
    if unread > 0 {
        out.push_str(&format!(
            "{unread} files could not be read as checks (counted as failed MUSTs)\n"
        ));
    }
    out.push_str(if every_must_held(suite) {
        "verdict: pass (every MUST check held)\n"
    } else {
        "verdict: FAIL (a MUST check failed)\n"
    });
    out
}

/// `RFC 2131 §4.3.1`, or the document alone.
pub fn reference(document: &str, section: &str) -> String {
    if section.is_empty() {
        document.to_string()
    } else {
        format!("{document} §{section}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_scenario::{Conformance, UnderTest};
    use std::path::PathBuf;
    use std::time::Duration;

    fn case(name: &str, doc: &str, section: &str, level: Level, status: Status) -> Case {
        Case {
            name: name.into(),
            file: PathBuf::from(format!("conformance/{name}.toml")),
            status,
            message: String::new(),
            artifacts: Vec::new(),
            covered: Duration::ZERO,
            wall: Duration::ZERO,
            seed: 1,
            check: Some(Conformance {
                document: doc.into(),
                section: section.into(),
                level,
                tests: UnderTest::Server,
                quote: String::new(),
            }),
        }
    }

    #[test]
    fn sections_sort_as_numbers_and_count_by_level() {
        let suite = Suite {
            cases: vec![
                case("a/x", "RFC 2131", "4.10", Level::Must, Status::Passed),
                case("a/y", "RFC 2131", "4.9", Level::Must, Status::Failed),
                case("a/z", "RFC 2131", "4.9", Level::Should, Status::Passed),
                case("a/w", "RFC 868", "1", Level::May, Status::Skipped),
                case("a/v", "RFC 2131", "4.9", Level::Must, Status::Passed),
            ],
        };
        let r = rows(&suite);
        let names: Vec<String> = r
            .iter()
            .map(|r| format!("{} {}", reference(&r.document, &r.section), r.level))
            .collect();
        assert_eq!(
            names,
            [
                "RFC 868 §1 MAY",
                "RFC 2131 §4.9 MUST",
                "RFC 2131 §4.9 SHOULD",
                "RFC 2131 §4.10 MUST"
            ]
        );
        assert_eq!((r[1].counts.passed, r[1].counts.failed), (1, 1));
        assert!(!every_must_held(&suite));
        let t = table(&suite);
        assert!(t.contains("MUST   3 checks: 2 passed, 1 failed"), "{t}");
        assert!(t.ends_with("verdict: FAIL (a MUST check failed)\n"), "{t}");
    }

    #[test]
    fn a_failed_should_or_a_skipped_must_keeps_the_verdict() {
        let mut suite = Suite {
            cases: vec![
                case("a/x", "RFC 8415", "18.2.1", Level::Should, Status::Failed),
                case("a/y", "RFC 8415", "18.2.1", Level::Must, Status::Skipped),
                case("a/z", "RFC 8415", "18.2.1", Level::Should, Status::Differs),
            ],
        };
        assert!(every_must_held(&suite));
        assert!(table(&suite).ends_with("verdict: pass (every MUST check held)\n"));
        // A recorded difference is a known finding, still a MUST not met.
        suite.cases[1].status = Status::Differs;
        assert!(!every_must_held(&suite));
    }

    #[test]
    fn a_file_that_is_no_check_fails_the_verdict() {
        let mut bad = case("a/x", "RFC 2131", "4.1", Level::May, Status::Failed);
        bad.check = None;
        let suite = Suite { cases: vec![bad] };
        assert!(!every_must_held(&suite));
        assert!(table(&suite).contains("1 files could not be read as checks"));
    }
}
