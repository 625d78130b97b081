//! A conformance check's header (`[check]`): the document and section a scenario proves, how
//! strongly the document asks for it, and which side of the exchange is under test. Files with
//! one make up the conformance suite (`conformance/`, `dhcplab conformance`).

use std::fmt;

/// How strongly the document asks for the behaviour, in RFC 2119's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// MUST, MUST NOT, REQUIRED, SHALL: a failure fails the suite.
    Must,
    /// SHOULD, SHOULD NOT, RECOMMENDED: a failure is reported, the suite still passes.
    Should,
    /// MAY, OPTIONAL: reported only.
    May,
}

impl Level {
    /// Reads `MUST`, `SHOULD` or `MAY` (as written in the RFCs: upper case).
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "MUST" => Some(Level::Must),
            "SHOULD" => Some(Level::Should),
            "MAY" => Some(Level::May),
            _ => None,
        }
    }

    /// `MUST`, `SHOULD` or `MAY`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The side of the exchange a check judges; the harness plays the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnderTest {
    /// The scenario's server hosts are the stack under test (`dhcplab conformance --server`).
    Server,
    /// The scenario's client hosts are the stack under test (`dhcplab conformance --client`).
    Client,
}

impl UnderTest {
    /// `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            UnderTest::Server => "server",
            UnderTest::Client => "client",
        }
    }
}

/// A conformance check's header (`[check]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conformance {
    /// The document: `RFC 2131`, or a stack's own (`Kea ARM`, `dhcpagent(1M)`).
    pub document: String,
    /// The section within it (`4.3.1`); empty when the document has none.
    pub section: String,
    /// How strongly the document asks for it.
    pub level: Level,
    /// The side under test.
    pub tests: UnderTest,
    /// The document's words the check stands on (may be empty).
    pub quote: String,
}

impl Conformance {
    /// `RFC 2131 §4.3.1`, or the document alone when it has no section.
    pub fn reference(&self) -> String {
        if self.section.is_empty() {
            self.document.clone()
        } else {
            format!("{} §{}", self.document, self.section)
        }
    }
}

/// Splits a `reference` as written in a `[check]` table (`RFC 2131 4.3.1`, `RFC 8415 §18.2.4`,
/// `Kea ARM §9.2.5`) into document and section; `None` when no document is named.
pub fn split_reference(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some((document, section)) = text.split_once('§') {
        let document = document.trim();
        return (!document.is_empty()).then(|| (document.to_string(), section.trim().to_string()));
    }
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some("RFC"), Some(number)) if number.bytes().all(|b| b.is_ascii_digit()) => {
            let section = words.collect::<Vec<_>>().join(" ");
            Some((format!("RFC {number}"), section))
        }
        _ => Some((text.to_string(), String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_document_and_section() {
        let s = |t: &str| split_reference(t).map(|(d, s)| format!("{d}|{s}"));
        assert_eq!(s("RFC 2131 4.3.1").as_deref(), Some("RFC 2131|4.3.1"));
        assert_eq!(s("RFC 8415 §18.2.4").as_deref(), Some("RFC 8415|18.2.4"));
        assert_eq!(s("RFC 2132").as_deref(), Some("RFC 2132|"));
        assert_eq!(s("Kea ARM §9.2.5").as_deref(), Some("Kea ARM|9.2.5"));
        assert_eq!(s("dhcpagent(1M)").as_deref(), Some("dhcpagent(1M)|"));
        assert_eq!(s("  "), None);
        assert_eq!(s("§4"), None);
    }

    #[test]
    fn levels_are_read_as_the_rfcs_write_them() {
        assert_eq!(Level::parse("MUST"), Some(Level::Must));
        assert_eq!(Level::parse("SHOULD"), Some(Level::Should));
        assert_eq!(Level::parse("MAY"), Some(Level::May));
        assert_eq!(Level::parse("must"), None);
        assert!(Level::Must < Level::Should && Level::Should < Level::May);
    }
}
