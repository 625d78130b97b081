//! `dhcplab agent` and `dhcplab info` refuse bad arguments with exit code 2 and a message
//! that names the problem, and `dhcplab info` without an agent fails with exit code 1. None
//! of these opens a socket on an interface.

use std::process::Command;

fn dhcplab(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(args)
        .output()
        .expect("run dhcplab");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn info_refuses_unknown_names_and_says_what_it_takes() {
    let (code, err) = dhcplab(&["info", "--control", "/nonexistent.sock", "Bogus"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown identifier \"Bogus\""), "{err}");
    let (code, _) = dhcplab(&["info", "--control", "/nonexistent.sock", "255"]);
    assert_eq!(code, Some(2), "255 (END) is no option");
}

#[test]
fn info_without_an_agent_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("agent.sock");
    let (code, err) = dhcplab(&["info", "--control", &socket.to_string_lossy(), "LeaseTim"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the agent is not reachable"), "{err}");
}

#[test]
fn agent_refuses_a_missing_configuration_file_and_interface() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("dhcpagent");
    let (code, err) = dhcplab(&[
        "agent",
        "-f",
        "--defaults",
        &missing.to_string_lossy(),
        "dltest-none0",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("No such file"), "{err}");
    std::fs::write(&missing, "OFFER_WAIT=99\n").expect("write");
    let (code, err) = dhcplab(&[
        "agent",
        "-f",
        "--defaults",
        &missing.to_string_lossy(),
        "--control",
        &dir.path().join("a.sock").to_string_lossy(),
        "dltest-none0",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(":1:12: OFFER_WAIT: \"99\" is not a number of seconds from 1 to 20"),
        "the file's fault is reported with line and column: {err}"
    );
    assert!(
        err.contains("interface \"dltest-none0\" does not exist"),
        "{err}"
    );
    let (code, err) = dhcplab(&["agent", "-f", "--event-timeouts", "5", "eth0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("expected TERM,KILL"), "{err}");
}

#[test]
fn agent_with_dhcpv6_refuses_a_missing_interface_and_reports_v6_faults_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let defaults = dir.path().join("dhcpagent");
    std::fs::write(
        &defaults,
        "# v6 lines\n.v6.RELEASE_ON_SIGTERM=yes\n.v6.DHCPLAB_IA_NA=9\ndltest-none0.v6.PARAM_REQUEST_LIST=DNSAddresses,Nope\n",
    )
    .expect("write");
    let (code, err) = dhcplab(&[
        "agent",
        "-f",
        "--defaults",
        &defaults.to_string_lossy(),
        "--control",
        &dir.path().join("a.sock").to_string_lossy(),
        "-6",
        "dltest-none0",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(":3:19: v6.DHCPLAB_IA_NA: \"9\" is not a count from 0 to 8"),
        "{err}"
    );
    assert!(
        err.contains(":4:36: v6.PARAM_REQUEST_LIST: unknown inittab6 name \"Nope\""),
        "{err}"
    );
    assert!(
        err.contains("interface \"dltest-none0\" does not exist"),
        "{err}"
    );
    let (code, err) = dhcplab(&["agent", "-f"]);
    assert_eq!(code, Some(2), "an interface is required: {err}");
}

#[test]
fn info_v6_refuses_unknown_names_and_protocols_and_fails_without_an_agent() {
    let (code, err) = dhcplab(&["info", "-v6", "--control", "/nonexistent.sock", "Bogus"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown identifier \"Bogus\""), "{err}");
    assert!(err.contains("inittab6 name"), "{err}");
    let (code, err) = dhcplab(&["info", "-v6", "--control", "/nonexistent.sock", "0"]);
    assert_eq!(code, Some(2), "option code 0 is no option: {err}");
    let (code, err) = dhcplab(&["info", "-v", "5", "DNSserv"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("the protocol is 4 or 6"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("agent.sock");
    let (code, err) = dhcplab(&[
        "info",
        "-v6",
        "--control",
        &socket.to_string_lossy(),
        "DNSAddresses",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the agent is not reachable"), "{err}");
}
