//! The JSON of a conformance run read back, and the parts of a split run (`--partition K/N`)
//! merged into one suite: `dhcplab report merge`. A merge refuses parts of different runs
//! (another stack, side, mode or level) and says which parts are missing or given twice, so
//! a CI pipeline cannot pass on half a suite.

use crate::{Case, Status, Suite};
use dhcplab_scenario::{Conformance, Level, UnderTest};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a conformance run was, written beside its results (`"run"` in its JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The side under test.
    pub tests: UnderTest,
    /// The stack under test (`reference`, `kea`, `dhclient`, ...).
    pub stack: String,
    /// `virtual` or `tap`.
    pub mode: String,
    /// The level asked for (`must`, `should` or `all`).
    pub level: String,
    /// Which part of how many (`(1, 1)` for a whole run).
    pub part: (u32, u32),
    /// Checks in the whole selection, before the split.
    pub selected: usize,
}

impl RunInfo {
    /// As JSON.
    pub fn json(&self) -> Value {
        json!({
            "tests": self.tests.name(),
            "stack": self.stack,
            "mode": self.mode,
            "level": self.level,
            "partition": format!("{}/{}", self.part.0, self.part.1),
            "selected": self.selected,
        })
    }
}

/// Why results could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{file}:{line}:{column}: not JSON: {message}")]
    Json {
        /// The file.
        file: PathBuf,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A value is missing or of the wrong kind.
    #[error("{file}: {path}: expected {expected}")]
    Shape {
        /// The file.
        file: PathBuf,
        /// The JSON path (`results[3].status`).
        path: String,
        /// What was expected there.
        expected: String,
    },
    /// Two parts are of different runs.
    #[error("{file}: run.{field} is {this:?}, but {first} has {that:?}: parts of different runs")]
    Mismatch {
        /// The later file.
        file: PathBuf,
        /// The field that differs.
        field: &'static str,
        /// Its value there.
        this: String,
        /// The first file.
        first: PathBuf,
        /// Its value in the first file.
        that: String,
    },
    /// The same part twice.
    #[error("{file}: part {part} is also in {other}")]
    Twice {
        /// The later file.
        file: PathBuf,
        /// The part (`2/4`).
        part: String,
        /// The file that has it already.
        other: PathBuf,
    },
    /// Parts missing.
    #[error("parts {missing} of {n} are missing: a merge needs every part of the run")]
    Missing {
        /// The missing parts, comma-separated.
        missing: String,
        /// How many parts the run has.
        n: u32,
    },
    /// Nothing to merge.
    #[error("no results to merge")]
    Empty,
}

/// Reads the JSON a conformance run wrote: its run description and its cases.
pub fn read(file: &Path) -> Result<(RunInfo, Suite), MergeError> {
    let text = std::fs::read_to_string(file).map_err(|source| MergeError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| MergeError::Json {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let r = Reader { file };
    let run = r.run(&value)?;
    let results = r.array(&value, "results")?;
    let cases = results
        .iter()
        .enumerate()
        .map(|(i, c)| r.case(c, &format!("results[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((run, Suite { cases }))
}

/// Merges the parts of one split run: every part 1..N once, all of the same run. The cases
/// come out sorted by name; the run is described as whole (`1/1`).
pub fn merge(parts: Vec<(PathBuf, RunInfo, Suite)>) -> Result<(RunInfo, Suite), MergeError> {
    let Some((first_file, first, _)) = parts.first() else {
        return Err(MergeError::Empty);
    };
    let (first_file, first) = (first_file.clone(), first.clone());
    let n = first.part.1;
    let mut seen: Vec<Option<PathBuf>> = vec![None; usize::try_from(n).unwrap_or(0) + 1];
    let mut cases = Vec::new();
    for (file, run, suite) in parts {
        let fields: [(&'static str, String, String); 6] = [
            ("tests", run.tests.name().into(), first.tests.name().into()),
            ("stack", run.stack.clone(), first.stack.clone()),
            ("mode", run.mode.clone(), first.mode.clone()),
            ("level", run.level.clone(), first.level.clone()),
            ("partition", format!("K/{}", run.part.1), format!("K/{n}")),
            (
                "selected",
                run.selected.to_string(),
                first.selected.to_string(),
            ),
        ];
        for (field, this, that) in fields {
            if this != that {
                return Err(MergeError::Mismatch {
                    file,
                    field,
                    this,
                    first: first_file,
                    that,
                });
            }
        }
        let slot = usize::try_from(run.part.0)
            .ok()
            .and_then(|k| seen.get_mut(k))
            .ok_or_else(|| MergeError::Shape {
                file: file.clone(),
                path: "run.partition".into(),
                expected: format!("K/{n} with K from 1 to {n}"),
            })?;
        if let Some(other) = slot {
            return Err(MergeError::Twice {
                file,
                part: format!("{}/{n}", run.part.0),
                other: other.clone(),
            });
        }
        *slot = Some(file);
        cases.extend(suite.cases);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| {
            usize::try_from(*k)
                .ok()
                .and_then(|k| seen.get(k))
                .is_none_or(Option::is_none)
        })
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            n,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((
        RunInfo {
            part: (1, 1),
            ..first
        },
        Suite { cases },
    ))
}

struct Reader<'a> {
    file: &'a Path,
}

impl Reader<'_> {
    fn shape(&self, path: &str, expected: &str) -> MergeError {
        MergeError::Shape {
            file: self.file.to_path_buf(),
            path: path.to_string(),
            expected: expected.to_string(),
        }
    }

    fn array<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Vec<Value>, MergeError> {
        v.get(path)
            .and_then(Value::as_array)
            .ok_or_else(|| self.shape(path, "an array"))
    }

    fn text(&self, v: &Value, key: &str, at: &str) -> Result<String, MergeError> {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.shape(&format!("{at}.{key}"), "a string"))
    }

    fn number(&self, v: &Value, key: &str, at: &str) -> Result<f64, MergeError> {
        v.get(key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| self.shape(&format!("{at}.{key}"), "a number, 0 or more"))
    }

    fn run(&self, v: &Value) -> Result<RunInfo, MergeError> {
        let run = v.get("run").ok_or_else(|| {
            self.shape(
                "run",
                "the run's description (written by dhcplab conformance)",
            )
        })?;
        let tests = match self.text(run, "tests", "run")?.as_str() {
            "server" => UnderTest::Server,
            "client" => UnderTest::Client,
            _ => return Err(self.shape("run.tests", "server or client")),
        };
        let partition = self.text(run, "partition", "run")?;
        let part = parse_partition(&partition)
            .map_err(|_| self.shape("run.partition", "K/N with 1 <= K <= N"))?;
        let selected = run
            .get("selected")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.shape("run.selected", "a count"))?;
        Ok(RunInfo {
            tests,
            stack: self.text(run, "stack", "run")?,
            mode: self.text(run, "mode", "run")?,
            level: self.text(run, "level", "run")?,
            part,
            selected,
        })
    }

    fn case(&self, c: &Value, at: &str) -> Result<Case, MergeError> {
        let status = match self.text(c, "status", at)?.as_str() {
            "passed" => Status::Passed,
            "failed" => Status::Failed,
            "skipped" => Status::Skipped,
            "differs" => Status::Differs,
            _ => {
                return Err(self.shape(
                    &format!("{at}.status"),
                    "passed, failed, skipped or differs",
                ));
            }
        };
        let artifacts = self
            .array(c, "artifacts")
            .map_err(|_| self.shape(&format!("{at}.artifacts"), "an array"))?
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.as_str()
                    .map(PathBuf::from)
                    .ok_or_else(|| self.shape(&format!("{at}.artifacts[{i}]"), "a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let check = match c.get("check") {
            None | Some(Value::Null) => None,
            Some(k) => Some(self.check(k, &format!("{at}.check"))?),
        };
        Ok(Case {
            name: self.text(c, "name", at)?,
            file: PathBuf::from(self.text(c, "file", at)?),
            status,
            message: self.text(c, "message", at)?,
            artifacts,
            covered: Duration::try_from_secs_f64(self.number(c, "covered_seconds", at)?)
                .map_err(|_| self.shape(&format!("{at}.covered_seconds"), "a duration"))?,
            wall: Duration::try_from_secs_f64(self.number(c, "wall_seconds", at)?)
                .map_err(|_| self.shape(&format!("{at}.wall_seconds"), "a duration"))?,
            seed: c
                .get("seed")
                .and_then(Value::as_u64)
                .ok_or_else(|| self.shape(&format!("{at}.seed"), "a seed, 0 or more"))?,
            check,
        })
    }

    fn check(&self, k: &Value, at: &str) -> Result<Conformance, MergeError> {
        let level = Level::parse(&self.text(k, "level", at)?)
            .ok_or_else(|| self.shape(&format!("{at}.level"), "MUST, SHOULD or MAY"))?;
        let tests = match self.text(k, "tests", at)?.as_str() {
            "server" => UnderTest::Server,
            "client" => UnderTest::Client,
            _ => return Err(self.shape(&format!("{at}.tests"), "server or client")),
        };
        Ok(Conformance {
            document: self.text(k, "document", at)?,
            section: self.text(k, "section", at)?,
            level,
            tests,
            quote: self.text(k, "quote", at)?,
        })
    }
}

/// Reads `K/N` (`--partition 2/4`): part K of N, 1 <= K <= N.
pub fn parse_partition(text: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!("{text:?}: a partition is K/N, with 1 <= K <= N (2/4: the second of four parts)")
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(k: u32, n: u32) -> RunInfo {
        RunInfo {
            tests: UnderTest::Server,
            stack: "reference".into(),
            mode: "virtual".into(),
            level: "all".into(),
            part: (k, n),
            selected: 3,
        }
    }

    fn suite(names: &[&str]) -> Suite {
        Suite {
            cases: names
                .iter()
                .map(|n| Case {
                    name: (*n).into(),
                    file: PathBuf::from(format!("conformance/{n}.toml")),
                    status: Status::Passed,
                    message: "ok".into(),
                    artifacts: vec![PathBuf::from("a/capture.pcap")],
                    covered: Duration::from_millis(1500),
                    wall: Duration::from_millis(3),
                    seed: 1,
                    check: Some(Conformance {
                        document: "RFC 2131".into(),
                        section: "4.3.1".into(),
                        level: Level::Must,
                        tests: UnderTest::Server,
                        quote: "q".into(),
                    }),
                })
                .collect(),
        }
    }

    fn written(dir: &Path, name: &str, info: &RunInfo, s: &Suite) -> PathBuf {
        let mut v = s.json();
        if let Some(m) = v.as_object_mut() {
            m.insert("run".into(), info.json());
        }
        let p = dir.join(name);
        std::fs::write(&p, v.to_string()).expect("write");
        p
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let dir = tempfile::tempdir().expect("dir");
        let s = suite(&["a/x", "a/y"]);
        let p = written(dir.path(), "1.json", &run(1, 1), &s);
        let (info, back) = read(&p).expect("read");
        assert_eq!(info, run(1, 1));
        assert_eq!(back, s);
    }

    #[test]
    fn the_parts_merge_sorted_and_missing_or_doubled_parts_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let p1 = written(dir.path(), "1.json", &run(1, 2), &suite(&["a/z", "a/x"]));
        let p2 = written(dir.path(), "2.json", &run(2, 2), &suite(&["a/y"]));
        let load = |ps: &[&PathBuf]| {
            ps.iter()
                .map(|p| {
                    let (i, s) = read(p).expect("read");
                    ((*p).clone(), i, s)
                })
                .collect::<Vec<_>>()
        };
        let (info, merged) = merge(load(&[&p2, &p1])).expect("merge");
        assert_eq!(info.part, (1, 1));
        let names: Vec<&str> = merged.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a/x", "a/y", "a/z"]);
        let e = merge(load(&[&p1])).expect_err("part 2 missing");
        assert_eq!(
            e.to_string(),
            "parts 2 of 2 are missing: a merge needs every part of the run"
        );
        let e = merge(load(&[&p1, &p2, &p1])).expect_err("part 1 twice");
        assert!(e.to_string().contains("part 1/2 is also in"), "{e}");
        let mut other = run(2, 2);
        other.stack = "kea".into();
        let p3 = written(dir.path(), "3.json", &other, &suite(&["a/y"]));
        let e = merge(load(&[&p1, &p3])).expect_err("another stack");
        assert!(e.to_string().contains("run.stack is \"kea\""), "{e}");
    }

    #[test]
    fn bad_files_are_refused_with_the_place() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{\n  \"run\": 3,").expect("write");
        assert!(
            read(&p)
                .expect_err("not JSON")
                .to_string()
                .contains("bad.json:2:")
        );
        let mut v = suite(&["a/x"]).json();
        v["run"] = run(1, 1).json();
        v["results"][0]["status"] = json!("maybe");
        std::fs::write(&p, v.to_string()).expect("write");
        let e = read(&p).expect_err("bad status").to_string();
        assert!(
            e.ends_with("results[0].status: expected passed, failed, skipped or differs"),
            "{e}"
        );
        v["results"][0]["status"] = json!("passed");
        v["run"]["partition"] = json!("3/2");
        std::fs::write(&p, v.to_string()).expect("write");
        assert!(
            read(&p)
                .expect_err("bad part")
                .to_string()
                .contains("run.partition")
        );
    }

    #[test]
    fn partitions_are_k_of_n() {
        assert_eq!(parse_partition("2/4"), Ok((2, 4)));
        assert!(parse_partition("0/4").is_err());
        assert!(parse_partition("5/4").is_err());
        assert!(parse_partition("1").is_err());
        assert!(parse_partition("a/b").is_err());
    }
}
