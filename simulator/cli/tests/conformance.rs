//! `dhcplab conformance` and `dhcplab report merge` on the project's own checks against the
//! reference stack in virtual mode: every MUST holds; the parts of a split run merge into the
//! whole; a broken check fails the run with its reference; bad input is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dhcplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run dhcplab")
}

/// `dhcplab conformance --server reference DIR`.
fn server_checks_in(dir: &Path) -> Output {
    dhcplab(&[
        "conformance",
        "--server",
        "reference",
        dir.to_str().expect("path"),
    ])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn results(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json")).expect("valid json")
}

fn names(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect();
    n.sort();
    n
}

/// The check files under conformance/ for one side, by their `tests` value.
fn checks(side: &str) -> usize {
    let mut n = 0;
    for dir in std::fs::read_dir(root().join("conformance")).expect("conformance/") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("folder") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "toml")
                && std::fs::read_to_string(&f)
                    .expect("check")
                    .contains(&format!("tests = \"{side}\""))
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn the_reference_server_and_client_hold_every_must_check() {
    let dir = tempfile::tempdir().expect("dir");
    for side in ["server", "client"] {
        let json = dir.path().join(format!("{side}.json"));
        let page = dir.path().join(format!("{side}.html"));
        let out = dhcplab(&[
            "conformance",
            &format!("--{side}"),
            "reference",
            "--json",
            json.to_str().expect("path"),
            "--html",
            page.to_str().expect("path"),
        ]);
        assert!(out.status.success(), "{side}: {}", text(&out));
        let v = results(&json);
        // Every MUST holds; a SHOULD the reference does not follow is a finding it shows
        // (conformance/RESULTS.md), not a failure of the run.
        let not_must: Vec<&serde_json::Value> = v["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|r| r["status"] == "failed")
            .collect();
        assert!(
            not_must.iter().all(|r| r["check"]["level"] != "MUST"),
            "{side}: {not_must:?}"
        );
        assert_eq!(v["run"]["tests"], side);
        let n = checks(side);
        assert!(n > 0, "{side} checks under conformance/");
        assert_eq!(v["results"].as_array().map(Vec::len), Some(n), "{side}");
        assert!(
            v["results"]
                .as_array()
                .expect("results")
                .iter()
                .all(|r| r["check"]["reference"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())),
            "every result carries its reference"
        );
        assert!(text(&out).contains("verdict: pass"), "{}", text(&out));
        let html = std::fs::read_to_string(&page).expect("html");
        assert!(html.contains("Pass: every MUST check held"));
    }
}

#[test]
fn three_parts_merge_into_the_whole_run() {
    let dir = tempfile::tempdir().expect("dir");
    let whole = dir.path().join("whole.json");
    let out = dhcplab(&[
        "conformance",
        "--server",
        "reference",
        "--json",
        whole.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let mut parts = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let p = dir.path().join(format!("part{k}.json"));
        let out = dhcplab(&[
            "conformance",
            "--server",
            "reference",
            "--partition",
            &format!("{k}/3"),
            "--json",
            p.to_str().expect("path"),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        sizes.push(results(&p)["results"].as_array().map_or(0, Vec::len));
        parts.push(p);
    }
    let total: usize = sizes.iter().sum();
    assert_eq!(total, names(&results(&whole)).len());
    assert!(
        sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1,
        "balanced parts: {sizes:?}"
    );
    let merged = dir.path().join("merged.json");
    let junit = dir.path().join("merged.xml");
    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(|p| p.to_str().expect("path")));
    args.extend(["--json", merged.to_str().expect("path")]);
    args.extend(["--junit", junit.to_str().expect("path")]);
    let out = dhcplab(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(names(&results(&merged)), names(&results(&whole)));
    assert_eq!(results(&merged)["run"]["partition"], "1/1");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert_eq!(xml.matches("<testcase ").count(), total);
    assert!(xml.contains("<property name=\"reference\" value=\"RFC "));
    // Two of three parts are refused: a gate must not pass on part of the suite.
    let out = dhcplab(&[
        "report",
        "merge",
        parts[0].to_str().expect("path"),
        parts[2].to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("parts 2 of 3 are missing"),
        "{}",
        text(&out)
    );
}

/// A copy of one check with its expectation broken fails the run (exit 1) and names the
/// check's level and reference; a SHOULD check broken the same way leaves the verdict.
#[test]
fn a_broken_must_check_fails_the_run_with_its_reference() {
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("server-x");
    std::fs::create_dir_all(&folder).expect("folder");
    let check = |level: &str| {
        format!(
            r#"[scenario]
description = "an OFFER comes back"

[check]
reference = "RFC 2131 4.3.1"
level = "{level}"
tests = "server"
quote = "If the server has an address to offer, it sends a DHCPOFFER"

[[host]]
name = "server"
role = "server"
address = "192.0.2.1"
config = '{{ "Dhcp4": {{ "subnet4": [ {{ "id": 1, "subnet": "192.0.2.0/24", "pools": [ {{ "pool": "192.0.2.10 - 192.0.2.20" }} ] }} ] }} }}'

[[host]]
name = "c"
role = "client"

[[step]]
expect = "message"
from = "server"
type = "NAK"
within = "10s"
"#
        )
    };
    std::fs::write(folder.join("broken.toml"), check("MUST")).expect("write");
    let out = server_checks_in(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("FAILED MUST RFC 2131 §4.3.1 server-x/broken"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("verdict: FAIL"));
    std::fs::write(folder.join("broken.toml"), check("SHOULD")).expect("write");
    let out = server_checks_in(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("FAILED SHOULD RFC 2131 §4.3.1"));
    // --level must leaves the SHOULD check out.
    let out = dhcplab(&[
        "conformance",
        "--server",
        "reference",
        "--level",
        "must",
        dir.path().to_str().expect("path"),
    ]);
    assert!(
        text(&out).contains("0 server checks of 0 selected"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_input_is_refused_with_its_place() {
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("server-x");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(
        folder.join("bad.toml"),
        "[check]\nreference = \"RFC 2131 4.1\"\nlevel = \"must\"\ntests = \"server\"\n\n[[host]]\nname = \"c\"\nrole = \"client\"\n",
    )
    .expect("write");
    let out = server_checks_in(dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("bad.toml:3:9: level \"must\": MUST, SHOULD or MAY"),
        "{}",
        text(&out)
    );
    // A scenario without [check] is not a check.
    std::fs::write(
        folder.join("bad.toml"),
        "[[host]]\nname = \"c\"\nrole = \"client\"\n",
    )
    .expect("write");
    let out = server_checks_in(dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a conformance check"),
        "{}",
        text(&out)
    );
    for (args, says) in [
        (
            vec!["conformance", "--server", "kea"],
            "virtual mode runs reference",
        ),
        (
            vec!["conformance", "--server", "reference", "--partition", "4/3"],
            "a partition is K/N",
        ),
        (vec!["conformance"], "--server"),
    ] {
        let out = dhcplab(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}
