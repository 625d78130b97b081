//! `dhcplab run` as a user and a CI job run it: the table, the exit codes, JSON, JUnit XML,
//! the artifacts (pcap and ladder), and how a failing or faulty scenario is reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dhcplab(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dhcplab")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PASSING: &str = r#"
# A client binds.
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''
{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] }, "valid-lifetime": 600,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ] } ] } }
'''

[[host]]
name = "c1"
role = "client"

[[step]]
expect = "message"
from = "srv"
to = "c1"
type = "ACK"
within = "10s"
"#;

fn write_suite(dir: &Path) -> PathBuf {
    let topic = dir.join("scenarios/demo");
    std::fs::create_dir_all(&topic).expect("mkdir");
    std::fs::write(topic.join("binds.toml"), PASSING).expect("write");
    let failing = PASSING.replace(
        "within = \"10s\"",
        "within = \"10s\"\n[step.options]\ndhcp-lease-time = 7200",
    );
    std::fs::write(topic.join("wrong-lease.toml"), failing).expect("write");
    topic
}

#[test]
fn the_shipped_suite_passes_from_the_repository_root() {
    // The hook-ordering scenarios load the example libraries from beside the binary.
    dhcplab_testkit::hooks::examples_dir();
    let out = dhcplab(&["run"], &repo());
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    for column in ["scenario", "result", "covered", "wall"] {
        assert!(first.contains(column), "{first}");
    }
    for topic in [
        "lease-expiry/",
        "suspend-resume/",
        "link-flap/",
        "hook-ordering/",
    ] {
        assert!(stdout.matches(topic).count() >= 6, "{topic}: {stdout}");
    }
    assert!(stdout.contains(" 0 failed, 0 skipped"), "{stdout}");
}

#[test]
fn a_failure_names_step_line_expected_and_seen_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_suite(dir.path());
    let out = dhcplab(
        &[
            "run",
            "--seed",
            "5",
            "--json",
            "out/r.json",
            "--junit",
            "out/r.xml",
            "--artifacts",
            "art",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED demo/wrong-lease"), "{stdout}");
    assert!(
        stdout.contains("step 1 (line 16): expected ACK from srv to c1 within 10s of +0s: saw ACK"),
        "{stdout}"
    );
    assert!(
        stdout.contains("option 51 (dhcp-lease-time) is 600, expected 7200 (line 23)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reproduce: dhcplab run scenarios/demo/wrong-lease.toml --seed 5"),
        "{stdout}"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/r.json")).expect("json"))
            .expect("parses");
    assert_eq!(
        (
            json["passed"].as_u64(),
            json["failed"].as_u64(),
            json["skipped"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    let results = json["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        for key in ["name", "file", "status", "message", "artifacts"] {
            assert!(r.get(key).is_some(), "{key} in {r}");
        }
        let artifacts = r["artifacts"].as_array().expect("artifacts");
        assert_eq!(artifacts.len(), 2);
        for a in artifacts {
            assert!(dir.path().join(a.as_str().expect("path")).is_file(), "{a}");
        }
    }
    let junit = text(&std::fs::read(dir.path().join("out/r.xml")).expect("junit"));
    assert!(
        junit.contains(r#"<testsuite name="dhcplab run" tests="2" failures="1" skipped="0""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="demo" name="wrong-lease""#),
        "{junit}"
    );
    assert!(dir.path().join("art/results.json").is_file());
    assert!(dir.path().join("art/junit.xml").is_file());
}

#[test]
fn the_ladder_draws_every_frame_of_the_pcap_between_the_host_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_suite(dir.path());
    let out = dhcplab(
        &["run", "scenarios/demo/binds.toml", "--artifacts", "art"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let here = dir.path().join("art/demo/binds");
    let pcap = std::fs::read(here.join("capture.pcap")).expect("pcap");
    let frames = dhcplab_capture::CaptureReader::new(std::io::Cursor::new(pcap))
        .expect("pcap reads")
        .collect::<Result<Vec<_>, _>>()
        .expect("records");
    assert_eq!(frames.len(), 4, "DISCOVER, OFFER, REQUEST, ACK");
    let html = text(&std::fs::read(here.join("ladder.html")).expect("ladder"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches(r#"<text class="host""#).count(),
        2,
        "a column per host"
    );
    assert_eq!(
        html.matches(r#"<g class="frame""#).count(),
        frames.len(),
        "an arrow per frame"
    );
    for label in [
        "DISCOVER (broadcast)",
        "OFFER 192.0.2.100",
        "REQUEST req 192.0.2.100",
        "ACK 192.0.2.100 lease 10m",
    ] {
        assert!(html.contains(label), "{label}");
    }
    assert!(html.contains(">BOUND<"), "the client event is marked");
    assert!(html.contains("+00:00:03.000"), "the clock is on the left");
    assert!(html.contains("✓ ACK from srv to c1"), "the check is marked");
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained"
    );
}

#[test]
fn a_faulty_file_is_reported_with_its_place_and_the_rest_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = write_suite(dir.path());
    std::fs::write(
        topic.join("bad.toml"),
        "[[host]]\nname = \"x\"\nrole = \"switch\"\n",
    )
    .expect("write");
    let out = dhcplab(&["run"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("scenarios/demo/bad.toml:3:8: role \"switch\""),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("demo/binds  "),
        "the good scenarios ran"
    );
    assert!(
        !text(&out.stdout).contains("reproduce: dhcplab run scenarios/demo/bad.toml"),
        "no seed to reproduce a file that does not read"
    );
}

#[test]
fn the_filter_selects_by_name_and_selecting_nothing_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = write_suite(dir.path());
    std::fs::write(topic.join("bad.toml"), "not toml").expect("write");
    let out = dhcplab(&["run", "--filter", "binds"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "a file the filter leaves out is not read: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("demo/binds"));
    assert!(!text(&out.stdout).contains("demo/wrong-lease"));
    let out = dhcplab(&["run", "--filter", "bnids"], dir.path());
    assert_eq!(out.status.code(), Some(2), "a typo must not turn CI green");
    assert!(
        text(&out.stderr).contains("no scenario name contains \"bnids\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_arguments_and_what_tap_mode_skips_before_it_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dhcplab(&["run", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nowhere"));
    write_suite(dir.path());
    let out = dhcplab(&["run", "--mode", "tap", "--server", "udhcpd"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("udhcpd"));
    let out = dhcplab(
        &["run", "--mode", "tap", "--max-real-time", "soon"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    // Nothing fits in no time: every scenario is skipped with the reason, and no namespace
    // is made (this test runs without root, beside the namespace tests).
    let out = dhcplab(
        &["run", "--mode", "tap", "--max-real-time", "0s"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 passed, 0 failed, 2 skipped"), "{stdout}");
    assert!(
        stdout.contains("more than 0s (--max-real-time)"),
        "{stdout}"
    );
}

#[test]
fn a_randomized_failure_prints_its_values_and_writes_a_minimized_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = dir.path().join("scenarios/rand");
    std::fs::create_dir_all(&topic).expect("mkdir");
    let template = PASSING
        .replace("[[host]]\nname = \"c1\"\nrole = \"client\"", "[vary]\nclients = { min = 1, max = 9 }\n\n[[host]]\nname = \"c\"\nrole = \"client\"\ncount = \"${clients}\"")
        .replace(
            "[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nto = \"c1\"\ntype = \"ACK\"\nwithin = \"10s\"\n",
            "[[step]]\nat = \"1m\"\nexpect = \"leases\"\nhost = \"srv\"\ncount = { max = 2 }\n",
        );
    std::fs::write(topic.join("too-many.toml"), &template).expect("write");
    let seed = (1..50)
        .find(|s| {
            let out = dhcplab(&["run", "--seed", &s.to_string()], dir.path());
            out.status.code() == Some(1)
        })
        .expect("some seed draws more than two clients");
    let out = dhcplab(
        &["run", "--seed", &seed.to_string(), "--artifacts", "art"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(clients = "), "{stdout}");
    assert!(stdout.contains("minimized in "), "{stdout}");
    assert!(
        stdout.contains("clients = 3, 0 of 1 steps left out"),
        "{stdout}"
    );
    let file = dir.path().join("art/rand/too-many/minimized.toml");
    assert!(
        stdout.contains(&format!(
            "minimized reproduction: dhcplab run {} --seed {seed}",
            Path::new("art/rand/too-many/minimized.toml").display()
        )),
        "{stdout}"
    );
    let again = dhcplab(
        &[
            "run",
            file.to_str().expect("utf-8"),
            "--seed",
            &seed.to_string(),
        ],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stdout));
    assert!(
        text(&again.stdout).contains("it has 3"),
        "{}",
        text(&again.stdout)
    );
}
