//! `dhcplab matrix --v6` (issue 11): the DHCPv6 interop matrix from the command line, its
//! table, JSON and HTML, on a small selection of stacks (the whole matrix is
//! simulator/interop/tests/v6_netns.rs).

use dhcplab_interop::v6::{ADVERTISE_WINDOW, HINT_LIFETIMES};
use dhcplab_testkit::netns::{can_create_namespaces, have};
use std::process::Command;

/// kea-dhcp6 with dhcpcd -6 passes SARR, renew and release, with dhcpcd's two findings; the
/// stacks without DHCPv6 (udhcpc, the reference server until it has an adapter) are skipped
/// with their reason; no check failed, so the exit status is 0.
#[test]
fn the_v6_matrix_reports_sarr_renew_release_per_cell_with_skips_and_findings() {
    if !can_create_namespaces() || !have("kea-dhcp6") || !have("dhcpcd") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, html) = (dir.path().join("m.json"), dir.path().join("m.html"));
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["matrix", "--v6"])
        .args(["--server", "reference", "--server", "kea"])
        .args(["--client", "udhcpc", "--client", "dhcpcd"])
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--dir")
        .arg(dir.path().join("run"))
        .output()
        .expect("matrix");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["server", "udhcpc", "dhcpcd"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["reference", "---", "---"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["kea", "---", "SRL"]
    );
    assert!(
        lines[3].starts_with("S sarr, R renew, L release: passed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped kea x udhcpc sarr: busybox udhcpc has no DHCPv6"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped reference x dhcpcd sarr: the reference DHCPv6 server"),
        "{stdout}"
    );

    let cells: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parses");
    let cells = cells.as_array().expect("cells");
    assert_eq!(cells.len(), 4, "{stdout}");
    assert!(cells.iter().all(|c| c["family"] == "v6"));
    let kea_dhcpcd = cells
        .iter()
        .find(|c| c["server"] == "kea" && c["client"] == "dhcpcd")
        .expect("kea x dhcpcd");
    assert_eq!(kea_dhcpcd["passed"], true);
    let checks: Vec<(&str, &str)> = kea_dhcpcd["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|k| {
            (
                k["check"].as_str().unwrap_or(""),
                k["verdict"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [("sarr", "pass"), ("renew", "pass"), ("release", "pass")]
    );
    // The renew waits for T1 (10 s) after binding.
    let renew_seconds = kea_dhcpcd["checks"][1]["seconds"].as_f64().unwrap_or(0.0);
    assert!((8.0..16.0).contains(&renew_seconds), "{renew_seconds}");
    let findings: Vec<&str> = kea_dhcpcd["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings[0].starts_with(HINT_LIFETIMES), "{findings:?}");
    assert!(findings[1].starts_with(ADVERTISE_WINDOW), "{findings:?}");
    assert!(dir.path().join("run/kea-dhcpcd/capture.pcap").is_file());

    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.contains("<h1>Interop matrix (DHCPv6)</h1>"), "{page}");
    assert!(page.contains("sarr</span>") && page.contains("class=\"skip\""));
}

/// What a run under `dir` may leave: the lab's namespaces (every `dhcplab-` one: the netns
/// tests run one at a time), TAP devices in the default namespace, and processes naming `dir`.
fn left_by(dir: &std::path::Path) -> Vec<String> {
    let text = |program: &str, args: &[&std::ffi::OsStr]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let mut left: Vec<String> = text("ip", &["netns".as_ref(), "list".as_ref()])
        .lines()
        .filter(|l| l.starts_with(dhcplab_tap::PREFIX))
        .map(str::to_string)
        .collect();
    left.extend(
        text("ip", &["-o".as_ref(), "link".as_ref()])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .filter(|n| n.starts_with("dl"))
            .map(|n| format!("link {n}")),
    );
    left.extend(
        text("pgrep", &["-a".as_ref(), "-f".as_ref(), dir.as_os_str()])
            .lines()
            .map(|p| format!("process {p}")),
    );
    left
}

/// Ctrl-C (or SIGTERM) while the DHCPv6 stacks run (building the network, kea-dhcp6 starting,
/// dhcpcd soliciting, the wait for T1) removes the run's namespaces, TAP devices and stacks
/// before `dhcplab matrix --v6` exits with 128 + the signal.
#[test]
fn an_interrupted_v6_run_removes_what_it_made() {
    if !can_create_namespaces() || !have("kea-dhcp6") || !have("dhcpcd") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (run, (signal, after_ms)) in [("-INT", 300), ("-TERM", 1500), ("-INT", 4000)]
        .into_iter()
        .enumerate()
    {
        let run_dir = dir.path().join(format!("run{run}"));
        let mut m = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
            .args([
                "matrix", "--v6", "--server", "kea6", "--client", "dhcpcd", "--dir",
            ])
            .arg(&run_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("matrix starts");
        std::thread::sleep(std::time::Duration::from_millis(after_ms));
        let sent = Command::new("kill")
            .args([signal, &m.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = m.wait().expect("reaped");
        assert!(
            matches!(status.code(), Some(130 | 143)),
            "run {run} ({signal} after {after_ms} ms): {status:?}"
        );
        assert_eq!(
            left_by(&run_dir),
            Vec::<String>::new(),
            "run {run} ({signal} after {after_ms} ms)"
        );
    }
}
