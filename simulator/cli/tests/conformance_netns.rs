//! The conformance suite in TAP mode against real stacks (needs root and the stacks; ci/test
//! installs them): every check a stack fails must be a difference its file records with the
//! reason (a finding, conformance/RESULTS.md), so a new failure, or a recorded one that is
//! gone, fails the test. The reference stacks run the same way and must hold every MUST.

use dhcplab_testkit::netns::{can_create_namespaces, have};
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `dhcplab conformance --SIDE STACK --mode tap` on `paths` (default: all) and gives its
/// JSON and printed report.
fn conformance(side: &str, stack: &str, paths: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("dir");
    let json = dir.path().join("results.json");
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["conformance", &format!("--{side}"), stack, "--mode", "tap"])
        .args(["-j", "8", "--json"])
        .arg(&json)
        .args(paths)
        .current_dir(root())
        .output()
        .expect("run dhcplab conformance");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("no results from {stack}: {report}"));
    (v, report)
}

fn count(v: &serde_json::Value, status: &str) -> u64 {
    v[status].as_u64().unwrap_or(0)
}

/// kea-dhcp4 and kea-dhcp6 2.2 against every server check: what they fail is recorded, and
/// most checks run (the others are skipped with their reason: relays in TAP mode, long ones).
#[test]
fn kea_fails_only_the_server_checks_its_files_record() {
    if !can_create_namespaces() || !have("kea-dhcp4") || !have("kea-dhcp6") {
        return;
    }
    let (v, report) = conformance("server", "kea", &[]);
    assert_eq!(count(&v, "failed"), 0, "{report}");
    assert!(count(&v, "differs") >= 10, "{report}");
    assert!(count(&v, "passed") >= 140, "{report}");
}

/// The reference server in TAP mode (its daemon in a namespace, real sockets) holds every
/// MUST check, as it does in virtual mode.
#[test]
fn the_reference_server_holds_every_must_check_in_tap_mode() {
    if !can_create_namespaces() {
        return;
    }
    let (v, report) = conformance("server", "reference", &[]);
    let failed: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert!(
        failed.iter().all(|r| r["check"]["level"] != "MUST"),
        "{report}"
    );
    assert!(count(&v, "passed") >= 150, "{report}");
}
