//! The HTML page of a conformance run: one self-contained file with the verdict, the results
//! by document section, and each check that did not hold with the document's words, what was
//! expected and what was seen, and links to its ladder diagram and pcap.

use crate::merge::RunInfo;
use crate::sections::{self, reference};
use crate::{Case, Status, Suite};
use dhcplab_scenario::Level;
use std::path::{Component, Path, PathBuf};

/// The page for `suite`, run as `run`; artifact links are made relative to `base`, the
/// folder the page is written in.
pub fn page(run: &RunInfo, suite: &Suite, base: &Path) -> String {
    let verdict = sections::every_must_held(suite);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>dhcplab conformance</title>\n<style>\n\
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#f3f3f3}.passed{color:#176b2c}.failed{color:#b00020;font-weight:bold}.skipped{color:#777}\
.differs{color:#a15c00}pre{background:#f7f7f7;padding:6px;white-space:pre-wrap}\
blockquote{border-left:3px solid #ccc;margin:0.5em 0;padding-left:8px;color:#444}\
.verdict-pass{color:#176b2c}.verdict-fail{color:#b00020}details{margin:2px 0}\n</style></head><body>\n",
    );
    out.push_str(&format!(
        "<h1>dhcplab conformance: {} {} ({} mode)</h1>\n<p>Level asked: {}; part {} of {}; {} checks run of {} selected.</p>\n<h2 class=\"{}\">{}</h2>\n",
        esc(run.tests.name()),
        esc(&run.stack),
        esc(&run.mode),
        esc(&run.level),
        run.part.0,
        run.part.1,
        suite.cases.len(),
        run.selected,
        if verdict { "verdict-pass" } else { "verdict-fail" },
        if verdict {
            "Pass: every MUST check held"
        } else {
            "Fail: a MUST check did not hold"
        },
    ));
    out.push_str("<h2>By section</h2>\n<table><tr><th>reference</th><th>level</th><th>passed</th><th>failed</th><th>skipped</th><th>differs</th><th>checks</th></tr>\n");
    for row in sections::rows(suite) {
        let cases: Vec<&Case> = suite
            .cases
            .iter()
            .filter(|c| {
                c.check.as_ref().is_some_and(|k| {
                    k.document == row.document && k.section == row.section && k.level == row.level
                })
            })
            .collect();
        let list: Vec<String> = cases
            .iter()
            .map(|c| {
                format!(
                    "<span class=\"{s}\">{}</span> {s}",
                    link_if_failed(c),
                    s = c.status.name()
                )
            })
            .collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"passed\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td><details><summary>{} checks</summary>{}</details></td></tr>\n",
            esc(&reference(&row.document, &row.section)),
            row.level.name(),
            row.counts.passed,
            if row.counts.failed > 0 { "failed" } else { "" },
            row.counts.failed,
            row.counts.skipped,
            row.counts.differs,
            cases.len(),
            list.join("<br>")
        ));
    }
    out.push_str("</table>\n");
    let not_held: Vec<&Case> = suite
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Differs))
        .collect();
    out.push_str(&format!("<h2>Did not hold ({})</h2>\n", not_held.len()));
    for level in [
        Some(Level::Must),
        Some(Level::Should),
        Some(Level::May),
        None,
    ] {
        for c in not_held
            .iter()
            .filter(|c| c.check.as_ref().map(|k| k.level) == level)
        {
            out.push_str(&failure(c, base));
        }
    }
    let skipped: Vec<&Case> = suite
        .cases
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    if !skipped.is_empty() {
        out.push_str(&format!(
            "<h2>Skipped ({})</h2>\n<table><tr><th>check</th><th>reason</th></tr>\n",
            skipped.len()
        ));
        for c in skipped {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(&c.name),
                esc(&c.message)
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn link_if_failed(c: &Case) -> String {
    if matches!(c.status, Status::Failed | Status::Differs) {
        format!("<a href=\"#{}\">{}</a>", anchor(&c.name), esc(&c.name))
    } else {
        esc(&c.name)
    }
}

fn failure(c: &Case, base: &Path) -> String {
    let (level, reference, quote) = match &c.check {
        Some(k) => (k.level.name(), k.reference(), k.quote.clone()),
        None => ("MUST", "not a readable check".to_string(), String::new()),
    };
    let (expected, seen) = expected_and_seen(&c.message);
    let mut out = format!(
        "<h3 id=\"{}\" class=\"{}\">{} {} — {} ({})</h3>\n",
        anchor(&c.name),
        c.status.name(),
        level,
        esc(&reference),
        esc(&c.name),
        c.status.name()
    );
    if !quote.is_empty() {
        out.push_str(&format!("<blockquote>{}</blockquote>\n", esc(&quote)));
    }
    out.push_str(&format!(
        "<table><tr><th>expected</th><td>{}</td></tr><tr><th>seen</th><td>{}</td></tr></table>\n<pre>{}</pre>\n<p>file {}, seed {}",
        esc(&expected),
        esc(&seen),
        esc(&c.message),
        esc(&c.file.display().to_string()),
        c.seed
    ));
    for a in &c.artifacts {
        let label = a.file_name().map_or_else(
            || a.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        out.push_str(&format!(
            " · <a href=\"{}\">{}</a>",
            esc(&relative(a, base).display().to_string()),
            esc(&label)
        ));
    }
    out.push_str("</p>\n");
    out
}

/// A failure message's expectation and what was seen instead. The runner writes `step N
/// (line L): expected X: saw Y` (or `...: none came`, or `expected no ... but saw Y`); a
/// recorded difference wraps it as `STACK differs as line N records: WHY [MESSAGE]`. Anything
/// else is all expectation, with nothing said of what was seen.
fn expected_and_seen(message: &str) -> (String, String) {
    let first = message.lines().next().unwrap_or_default();
    let inner = match (first.rfind('['), first.ends_with(']')) {
        (Some(open), true) if first.contains(" differs as line ") => {
            first.get(open + 1..first.len() - 1).unwrap_or(first)
        }
        _ => first,
    };
    let body = inner
        .split_once("): ")
        .map_or(inner, |(_, rest)| rest)
        .trim();
    let body = body.strip_prefix("expected ").unwrap_or(body);
    for sep in [": saw ", ", but saw ", ": ", "; later: "] {
        if let Some((e, s)) = body.split_once(sep) {
            return (e.trim().to_string(), s.trim().to_string());
        }
    }
    (body.to_string(), String::new())
}

fn relative(path: &Path, base: &Path) -> PathBuf {
    let (p, b) = (components(path), components(base));
    if path.is_absolute() != base.is_absolute() {
        return path.to_path_buf();
    }
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn components(p: &Path) -> Vec<Component<'_>> {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn esc(s: &str) -> String {
    crate::xml(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_scenario::{Conformance, UnderTest};
    use std::time::Duration;

    #[test]
    fn a_failure_shows_the_rfc_words_expected_seen_and_links() {
        let check = |level| Conformance {
            document: "RFC 2131".into(),
            section: "4.3.1".into(),
            level,
            tests: UnderTest::Server,
            quote: "The server MUST <echo> the xid".into(),
        };
        let suite = Suite {
            cases: vec![
                Case {
                    name: "server-rfc2131/offer-echoes-the-xid".into(),
                    file: PathBuf::from("conformance/server-rfc2131/offer-echoes-the-xid.toml"),
                    status: Status::Failed,
                    message: "step 2 (line 30): expected OFFER from server with xid 0x1: saw OFFER with xid 0x2".into(),
                    artifacts: vec![
                        PathBuf::from("out/art/server-rfc2131/offer-echoes-the-xid/ladder.html"),
                        PathBuf::from("out/art/server-rfc2131/offer-echoes-the-xid/capture.pcap"),
                    ],
                    covered: Duration::from_secs(2),
                    wall: Duration::from_millis(1),
                    seed: 1,
                    check: Some(check(Level::Must)),
                },
                Case {
                    name: "server-rfc2131/b".into(),
                    file: PathBuf::from("conformance/server-rfc2131/b.toml"),
                    status: Status::Passed,
                    message: "passed".into(),
                    artifacts: Vec::new(),
                    covered: Duration::from_secs(2),
                    wall: Duration::from_millis(1),
                    seed: 1,
                    check: Some(check(Level::Should)),
                },
            ],
        };
        let run = RunInfo {
            tests: UnderTest::Server,
            stack: "reference".into(),
            mode: "virtual".into(),
            level: "all".into(),
            part: (1, 1),
            selected: 2,
        };
        let html = page(&run, &suite, Path::new("out"));
        assert!(html.contains("Fail: a MUST check did not hold"), "{html}");
        assert!(html.contains("The server MUST &lt;echo&gt; the xid"));
        assert!(html.contains("<th>expected</th><td>OFFER from server with xid 0x1</td>"));
        assert!(html.contains("<th>seen</th><td>OFFER with xid 0x2</td>"));
        assert!(html.contains("href=\"art/server-rfc2131/offer-echoes-the-xid/ladder.html\""));
        assert!(html.contains("href=\"art/server-rfc2131/offer-echoes-the-xid/capture.pcap\""));
        assert!(html.contains("<td>RFC 2131 §4.3.1</td><td>SHOULD</td>"));
        assert!(html.contains("href=\"#server-rfc2131-offer-echoes-the-xid\""));
    }

    #[test]
    fn expectations_and_sightings_are_read_from_the_runners_words() {
        let e = |m: &str| expected_and_seen(m);
        assert_eq!(
            e(
                "step 4 (line 70): expected NAK from srv within 1s of +16ms: saw NAK sid 192.0.2.1 at +27ms: broadcast is 0, expected 1 (line 79)"
            ),
            (
                "NAK from srv within 1s of +16ms".to_string(),
                "NAK sid 192.0.2.1 at +27ms: broadcast is 0, expected 1 (line 79)".to_string()
            )
        );
        assert_eq!(
            e("step 2 (line 53): expected OFFER from srv to relay within 1s of +0s: none came"),
            (
                "OFFER from srv to relay within 1s of +0s".to_string(),
                "none came".to_string()
            )
        );
        assert_eq!(
            e(
                "step 2 (line 43): expected no message from srv for 5s after +0s, but saw REPLY xid 0x000011 at +17ms"
            ),
            (
                "no message from srv for 5s after +0s".to_string(),
                "REPLY xid 0x000011 at +17ms".to_string()
            )
        );
        assert_eq!(
            e(
                "kea differs as line 81 records: Kea copies flags [step 4 (line 70): expected NAK from srv within 1s: saw NAK at +27ms: broadcast is 0]"
            ),
            (
                "NAK from srv within 1s".to_string(),
                "NAK at +27ms: broadcast is 0".to_string()
            )
        );
    }

    #[test]
    fn paths_are_made_relative_to_the_page() {
        assert_eq!(
            relative(Path::new("a/b/c.pcap"), Path::new("a")),
            PathBuf::from("b/c.pcap")
        );
        assert_eq!(
            relative(Path::new("x/c.pcap"), Path::new("a/b")),
            PathBuf::from("../../x/c.pcap")
        );
        assert_eq!(
            relative(Path::new("/x/c"), Path::new("rel")),
            PathBuf::from("/x/c")
        );
    }
}
