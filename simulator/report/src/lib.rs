//! Results of a suite of runs, written for CI and for people: JSON (one shape for every
//! subcommand that runs cases), JUnit XML (one testsuite, one testcase per case, a failure
//! element with the message), and the short table printed on the terminal. Conformance runs
//! add each check's reference and level, a summary by RFC section ([`sections`]), an HTML
//! page ([`html`]), and JSON read back to merge the parts of a split run ([`merge`]).

pub mod html;
pub mod merge;
pub mod sections;

use dhcplab_scenario::{Conformance, format_duration};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It held.
    Passed,
    /// It did not, or it could not be run (a bad file).
    Failed,
    /// It was not run, for a reason given in the message.
    Skipped,
    /// A real stack failed it as a record in the scenario says it does (a finding, with
    /// the reason in the message): neither a pass nor a failure of the run.
    Differs,
}

impl Status {
    /// `passed`, `failed`, `skipped` or `differs`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Differs => "differs",
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `topic/NAME`.
    pub name: String,
    /// The scenario file.
    pub file: PathBuf,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped, or a summary.
    pub message: String,
    /// Files written for it (pcap, ladder).
    pub artifacts: Vec<PathBuf>,
    /// Virtual (or real, in TAP mode) time the run covered.
    pub covered: Duration,
    /// Wall-clock time it took.
    pub wall: Duration,
    /// The seed it ran with.
    pub seed: u64,
    /// The conformance check it is, when it is one: its reference and level.
    pub check: Option<Conformance>,
}

/// A suite's results, in run order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    /// The cases.
    pub cases: Vec<Case>,
}

impl Suite {
    /// How many cases ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }

    /// `{"passed": n, "failed": n, "skipped": n, "differs": n, "results": [{"name", "file", "status",
    /// "message", "artifacts", ...}]}`.
    pub fn json(&self) -> serde_json::Value {
        let results: Vec<_> = self
            .cases
            .iter()
            .map(|c| {
                let mut r = json!({
                    "name": c.name,
                    "file": c.file.display().to_string(),
                    "status": c.status.name(),
                    "message": c.message,
                    "artifacts": c.artifacts.iter().map(|a| a.display().to_string()).collect::<Vec<_>>(),
                    "seed": c.seed,
                    "covered_seconds": c.covered.as_secs_f64(),
                    "wall_seconds": c.wall.as_secs_f64(),
                });
                if let (Some(k), Some(map)) = (&c.check, r.as_object_mut()) {
                    map.insert("check".into(), check_json(k));
                }
                r
            })
            .collect();
        json!({
            "passed": self.count(Status::Passed),
            "failed": self.count(Status::Failed),
            "skipped": self.count(Status::Skipped),
            "differs": self.count(Status::Differs),
            "results": results,
        })
    }

    /// JUnit XML: one `testsuite` named `suite`, a `testcase` per case (classname the topic),
    /// `failure` and `skipped` elements with the message, and the artifacts in `system-out`.
    pub fn junit(&self, suite: &str) -> String {
        let wall: f64 = self.cases.iter().map(|c| c.wall.as_secs_f64()).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<testsuites name=\"{s}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{wall:.3}\">\n<testsuite name=\"{s}\" tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\" time=\"{wall:.3}\">\n",
            self.cases.len(),
            self.count(Status::Failed),
            self.count(Status::Skipped),
            s = xml(suite),
        ));
        for c in &self.cases {
            let (class, test) = c.name.rsplit_once('/').unwrap_or(("", &c.name));
            out.push_str(&format!(
                "  <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">\n",
                xml(class),
                xml(test),
                xml(&c.file.display().to_string()),
                c.wall.as_secs_f64()
            ));
            if let Some(k) = &c.check {
                out.push_str(&format!(
                    "    <properties><property name=\"reference\" value=\"{}\"/><property name=\"level\" value=\"{}\"/></properties>\n",
                    xml(&k.reference()),
                    k.level.name()
                ));
            }
            match c.status {
                Status::Failed => out.push_str(&format!(
                    "    <failure message=\"{}\">{}\nseed {}</failure>\n",
                    xml(c.message.lines().next().unwrap_or("")),
                    xml(&c.message),
                    c.seed
                )),
                Status::Skipped => {
                    out.push_str(&format!("    <skipped message=\"{}\"/>\n", xml(&c.message)))
                }
                Status::Passed | Status::Differs => {}
            }
            let mut out_lines: Vec<String> = Vec::new();
            if c.status == Status::Differs {
                out_lines.push(format!("known difference: {}", c.message));
            }
            out_lines.extend(c.artifacts.iter().map(|a| a.display().to_string()));
            if !out_lines.is_empty() {
                let list = out_lines;
                out.push_str(&format!(
                    "    <system-out>{}</system-out>\n",
                    xml(&list.join("\n"))
                ));
            }
            out.push_str("  </testcase>\n");
        }
        out.push_str("</testsuite>\n</testsuites>\n");
        out
    }

    /// The terminal table: scenario, result, virtual time covered, wall time; then totals.
    pub fn table(&self) -> String {
        let width = self
            .cases
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let mut out = format!(
            "{:<width$}  {:<7}  {:>12}  {:>9}\n",
            "scenario", "result", "covered", "wall"
        );
        for c in &self.cases {
            out.push_str(&format!(
                "{:<width$}  {:<7}  {:>12}  {:>8.3}s\n",
                c.name,
                c.status.name(),
                format_duration(c.covered),
                c.wall.as_secs_f64()
            ));
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} skipped",
            self.count(Status::Passed),
            self.count(Status::Failed),
            self.count(Status::Skipped)
        ));
        match self.count(Status::Differs) {
            0 => {}
            n => out.push_str(&format!(", {n} with a recorded difference")),
        }
        out.push('\n');
        out
    }
}

/// A check's header as JSON: `{"reference", "document", "section", "level", "tests", "quote"}`.
fn check_json(k: &Conformance) -> serde_json::Value {
    json!({
        "reference": k.reference(),
        "document": k.document,
        "section": k.section,
        "level": k.level.name(),
        "tests": k.tests.name(),
        "quote": k.quote,
    })
}

pub(crate) fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> Suite {
        let case = |name: &str, status, message: &str| Case {
            name: name.into(),
            file: PathBuf::from(format!("scenarios/{name}.toml")),
            status,
            message: message.into(),
            artifacts: vec![PathBuf::from("out/a.pcap")],
            covered: Duration::from_secs(3600),
            wall: Duration::from_millis(12),
            seed: 7,
            check: None,
        };
        Suite {
            cases: vec![
                case("lease-expiry/a", Status::Passed, "ok"),
                case(
                    "lease-expiry/b",
                    Status::Failed,
                    "step 2 (line 9): expected <ACK> & \"more\"",
                ),
                case("link-flap/c", Status::Skipped, "needs v6"),
            ],
        }
    }

    #[test]
    fn json_has_the_agreed_shape() {
        let j = suite().json();
        assert_eq!(
            (
                j["passed"].as_u64(),
                j["failed"].as_u64(),
                j["skipped"].as_u64()
            ),
            (Some(1), Some(1), Some(1))
        );
        let r = &j["results"][1];
        assert_eq!(r["name"], "lease-expiry/b");
        assert_eq!(r["file"], "scenarios/lease-expiry/b.toml");
        assert_eq!(r["status"], "failed");
        assert_eq!(r["artifacts"][0], "out/a.pcap");
        assert!(r["message"].as_str().is_some_and(|m| m.contains("line 9")));
    }

    #[test]
    fn junit_escapes_and_counts() {
        let x = suite().junit("dhcplab run");
        assert!(x.contains(r#"tests="3" failures="1" skipped="1""#));
        assert!(x.contains(r#"classname="lease-expiry" name="b""#));
        assert!(x.contains("expected &lt;ACK&gt; &amp; &quot;more&quot;"));
        assert!(x.contains(r#"<skipped message="needs v6"/>"#));
        assert!(x.contains("seed 7"));
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert_eq!(x.matches("</testcase>").count(), 3);
    }

    #[test]
    fn table_lists_every_case_and_totals() {
        let t = suite().table();
        assert!(t.lines().next().is_some_and(|l| l.starts_with("scenario")));
        assert!(t.contains("lease-expiry/a"));
        assert!(t.contains("1h"));
        assert!(t.ends_with("1 passed, 1 failed, 1 skipped\n"));
    }

    #[test]
    fn a_recorded_difference_is_counted_apart_and_shown_with_its_reason() {
        let mut s = suite();
        s.cases[0].status = Status::Differs;
        s.cases[0].message = "kea differs as line 40 records: kea OFFERs a cut DISCOVER".into();
        assert_eq!(s.json()["differs"].as_u64(), Some(1));
        assert_eq!(s.json()["results"][0]["status"], "differs");
        let x = s.junit("dhcplab run");
        assert!(x.contains(r#"failures="1" skipped="1""#), "{x}");
        assert!(
            x.contains("<system-out>known difference: kea differs as line 40"),
            "{x}"
        );
        assert!(
            s.table()
                .ends_with("0 passed, 1 failed, 1 skipped, 1 with a recorded difference\n")
        );
    }
}
